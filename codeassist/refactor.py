"""The refactor core: ``refactor_source(source, options) -> RefactorResult``, a pure function.

Pipeline, repeated to a fixed point (ruff's format and fixes are not idempotent together on
some files, FIELD_NOTES): ruff's safe fixes for pycodestyle rules it can fix, ruff's formatter,
then (``--style pep8``) the fixers in `codeassist.pep8` for what formatters leave behind.
Then the gate, always on: the result parses, its syntax tree equals the original's up to the
named rewrites of `codeassist.verify`, a second run changes nothing, and under pep8 pycodestyle
finds nothing. A source that fails any check is returned unchanged with the reason.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from functools import lru_cache

from codeassist.complexity import FunctionComplexity, function_complexities
from codeassist.config import RefactorOptions
from codeassist.pep8 import fix_bare_except, fix_long_lines, fix_slice_spacing
from codeassist.refactor_errors import FormatterError, SourceParseError
from codeassist.verify import check_equivalent, parse_source, pycodestyle_violations

# pycodestyle rules ruff fixes without changing behaviour beyond the gate's named rewrites:
# E711/E712 comparisons to None/True, E713/E714 `not x in`, E731 lambda assignment, E401
# multiple imports on one line, W291/W293 trailing whitespace, W605 invalid escapes.
RUFF_FIXES = (
    "E401",
    "E701",
    "E702",
    "E703",
    "E711",
    "E713",
    "E714",
    "E731",
    "W291",
    "W293",
    "W605",
)


@lru_cache(maxsize=1)
def _ruff() -> str:
    from ruff.__main__ import find_ruff_bin

    return find_ruff_bin()


def _run_ruff(args: list[str], source: str, path: str) -> str:
    result = subprocess.run(
        [_ruff(), *args, "--isolated", "--stdin-filename", path or "stdin.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1) or (result.returncode == 1 and not result.stdout):
        raise FormatterError(f"{path}: ruff {args[0]} failed: {result.stderr.strip()[:300]}")
    return result.stdout


def _one_pass(source: str, options: RefactorOptions, path: str) -> str:
    width = str(options.line_length)
    if options.style == "pep8":
        source = _run_ruff(
            [
                "check",
                "--fix",
                "--unsafe-fixes",
                "--exit-zero",
                "--select",
                ",".join(RUFF_FIXES),
                "--line-length",
                width,
            ],
            source,
            path,
        )
    source = _run_ruff(["format", "--line-length", width], source, path)
    if options.style == "pep8":
        source = fix_bare_except(fix_slice_spacing(source))
        source = fix_long_lines(source, options.line_length)
    return source


@dataclass(frozen=True)
class RefactorResult:
    """What happened to one source.

    ``status`` is "unchanged", "changed" or "failed" (the gate refused; ``output`` is then the
    original and ``reason`` says why). ``rewrites`` names the behaviour-preserving rewrites
    used; ``violations`` are pycodestyle findings left (only when failed).
    """

    path: str
    original: str
    output: str
    status: str
    reason: str = ""
    rewrites: tuple[tuple[str, int], ...] = ()
    violations: tuple[str, ...] = ()
    complexity: tuple[FunctionComplexity, ...] = ()
    over_target: tuple[FunctionComplexity, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return self.status == "changed"


def _normalise_newlines(source: str) -> tuple[str, str]:
    newline = "\r\n" if "\r\n" in source else "\n"
    return source.replace("\r\n", "\n"), newline


def refactor_source(source: str, options: RefactorOptions, path: str = "-") -> RefactorResult:
    """Refactor ``source`` to ``options.style``; never returns code that failed the gate.

    Raises:
        SourceParseError: the input itself is not valid Python.
    """
    text, newline = _normalise_newlines(source)
    try:
        parse_source(text)
    except SyntaxError as exc:
        raise SourceParseError(path, exc.lineno or 0, exc.msg) from exc
    complexity = tuple(function_complexities(text))
    over = tuple(f for f in complexity if f.complexity > options.max_complexity)

    def failed(reason: str, violations: tuple[str, ...] = ()) -> RefactorResult:
        return RefactorResult(
            path,
            source,
            source,
            "failed",
            reason,
            violations=violations,
            complexity=complexity,
            over_target=over,
        )

    current = text
    for _ in range(options.max_iterations):
        nxt = _one_pass(current, options, path)
        if nxt == current:
            break
        current = nxt
    else:
        return failed(f"no fixed point after {options.max_iterations} passes")
    equivalence = check_equivalent(text, current)
    if not equivalence.equal:
        return failed(f"syntax tree changed: {equivalence.reason}")
    # The loop above stopped on a pass that changed nothing: a second run is a no-op.
    if options.style == "pep8":
        left = pycodestyle_violations(current, options.line_length)
        if left:
            shown = tuple(f"{v.line}:{v.column} {v.code} {v.message}" for v in left)
            return failed(f"{len(left)} pycodestyle violation(s) cannot be fixed safely", shown)
    output = current.replace("\n", newline) if newline != "\n" else current
    status = "unchanged" if output == source else "changed"
    return RefactorResult(
        path,
        source,
        output,
        status,
        rewrites=equivalence.rewrites,
        complexity=complexity,
        over_target=over,
    )
