"""pylint's inference checks as an engine, run in process through its API.

pylint reads what ruff cannot: astroid infers the types of names, so it knows an attribute an
object never has (E1101), a call with the wrong arguments (E1120, E1121, E1123), a name used
before it is bound on some path (E0601, E0606). Its checks are slower than ruff's (about 1,600
lines/s on a quiet machine against ruff's 300,000), so the engine is optional (``--pylint``);
the checks it runs were chosen on the training and validation repositories' real fixes
(docs/benchmarks.md, issue 17). The analysed files are parsed by astroid, never imported or run.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from codeassist.defects.errors import StaticEngineError
from codeassist.defects.findings import Finding

# The checks and their confidences, measured with `bench/defects_rules.py` on 400 of the
# training and validation repositories' fixes and 20 of their released modules (8,969 lines).
# Shown by default (>= 0.75): those that hit buggy lines with at most as many fixed files
# flagged and no alarm on the released code. The calls and use-before-assignment checks the
# issue names had no hit there; E1101 raised 4.6 alarms per 1,000 clean lines. They run only
# with ``--min-confidence`` low enough.
PYLINT_CONFIDENCE: dict[str, float] = {
    "E0602": 0.9,  # undefined variable: 11 hits, 6 fixed files flagged (ruff's F821 sees most)
    "W0101": 0.8,  # unreachable code: 1 hit, none flagged
    "E1102": 0.6,  # not callable: 1 hit, 10 flagged
    "E1120": 0.6,  # no value for a parameter
    "E1121": 0.6,  # too many positional arguments
    "E1123": 0.6,  # unexpected keyword argument
    "E1124": 0.6,  # argument given twice
    "E1128": 0.6,  # assigning the result of a function that returns None
    "E0601": 0.6,  # used before assignment
    "E0606": 0.6,  # possibly used before assignment
    "E1101": 0.5,  # no member: 1 hit, 14 flagged, 4.6 alarms per 1k clean lines
}


@dataclass(frozen=True)
class PylintOptions:
    """Which pylint messages to run, with their confidences (message ids like ``E1101``)."""

    checks: tuple[tuple[str, float], ...] = tuple(PYLINT_CONFIDENCE.items())


@dataclass(frozen=True)
class PylintMessage:
    """One pylint message: its line and column (1-based), id, symbol and text."""

    line: int
    column: int
    msg_id: str
    symbol: str
    message: str


def run_pylint(sources: list[str], enable: tuple[str, ...]) -> list[list[PylintMessage]]:
    """pylint's messages `enable` for each source, in one in-process run over all of them.

    Raises:
        StaticEngineError: pylint is missing or failed.
    """
    try:
        import astroid
        from pylint.lint import Run
        from pylint.reporters import CollectingReporter
    except ImportError as exc:
        raise StaticEngineError(f"pylint is not installed (needed for --pylint): {exc}") from exc
    found: list[list[PylintMessage]] = [[] for _ in sources]
    if not sources or not enable:
        return found
    with tempfile.TemporaryDirectory(prefix="moesuite-pylint-") as tmp:
        names = [f"case_{i:05d}.py" for i in range(len(sources))]
        for name, source in zip(names, sources, strict=True):
            (Path(tmp) / name).write_text(source, encoding="utf-8")
        # An empty rcfile: the analysed project's own settings must not switch checks off.
        (Path(tmp) / "pylintrc").write_text("[MAIN]\n", encoding="utf-8")
        reporter = CollectingReporter()
        args = [
            f"--rcfile={Path(tmp) / 'pylintrc'}", "--disable=all",
            f"--enable={','.join(enable)}", "--score=n", "--persistent=n", "--jobs=1",
            *(str(Path(tmp) / n) for n in names),
        ]  # fmt: skip
        try:
            Run(args, reporter=reporter, exit=False)
        except Exception as exc:  # pylint's own crash: report it as the engine's failure
            raise StaticEngineError(f"pylint failed: {exc}") from exc
        finally:
            # astroid caches modules by name across runs; the next run's case_00000.py is
            # another file.
            astroid.MANAGER.clear_cache()
        index = {name: i for i, name in enumerate(names)}
        for message in reporter.messages:
            i = index.get(Path(message.path).name)
            if i is not None and message.msg_id[0] != "F":  # F: pylint could not parse
                found[i].append(
                    PylintMessage(
                        message.line, message.column + 1, message.msg_id, message.symbol,
                        message.msg,
                    )
                )  # fmt: skip
    return found


def check_pylint(source: str, path: str, options: PylintOptions | None = None) -> list[Finding]:
    """pylint's chosen checks on one file's text, as findings (`PylintOptions`)."""
    return check_pylint_files([source], [path], options)[0]


def check_pylint_files(
    sources: list[str], paths: list[str], options: PylintOptions | None = None
) -> list[list[Finding]]:
    """`check_pylint` for many files in one pylint run (it takes ~2 s to start)."""
    options = options or PylintOptions()
    confidence = dict(options.checks)
    return [
        [
            Finding(
                path=path,
                line=m.line,
                column=m.column,
                rule_id=f"pylint/{m.msg_id}",
                kind=m.symbol,
                message=f"{m.message} (pylint {m.symbol})",
                confidence=confidence.get(m.msg_id, 0.0),
                engine="pylint",
            )
            for m in messages
        ]
        for path, messages in zip(paths, run_pylint(sources, tuple(confidence)), strict=True)
    ]
