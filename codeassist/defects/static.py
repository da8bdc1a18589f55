"""Static engine: ruff configured for bugs rather than style, merged into `Finding`s.

ruff runs as a subprocess on the source text (stdin, JSON output, ``--isolated`` so a project's
own ruff settings cannot switch the bug rules off). It never imports or runs the analysed code.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from codeassist.defects.errors import StaticEngineError
from codeassist.defects.findings import Finding
from codeassist.refactor.errors import FormatterError
from codeassist.ruff_runner import ruff_binary

# Rules that point at defects (wrong behaviour), not at style. Each entry is a rule code prefix and
# the confidence a finding of that class gets: pyflakes' undefined names and pylint's errors are
# nearly always real bugs, bugbear's and the warnings are likelier to be deliberate. Findings below
# `STATIC_THRESHOLD` are shown only on request (``--min-confidence``). Three confidences were
# revised against ruff on 200 unmodified training-split files (60,862 lines, 1,108 seeded bugs;
# docs/benchmarks.md): B018 caught 42 seeded dropped returns for 7 alarms; F822 raised 13 alarms
# (names a module adds to its globals at run time) and PLW0127 3, and neither caught a bug.
# On real bug fixes (issue 17; `bench/defects_rules.py` on the training and validation
# repositories' 2,392 fixes, never the test repositories) the rules that hit buggy lines for
# few flagged fixed files and few alarms on those repositories' released code were raised to
# the shown tier: F841, B006, B011, PLW0128, the new RUF071, PLW0133 and LOG014
# (`CHOSEN_ON_FIXES`); RUF021 was chosen too and then held back by its alarms on the standard
# library (below).
RULE_CONFIDENCE: dict[str, float] = {
    "F821": 0.95,  # undefined name
    "F822": 0.7,  # undefined name in __all__
    "F823": 0.9,  # local variable referenced before assignment
    "F63": 0.9,  # is-literal, assert-tuple, invalid comparisons
    "F70": 0.9,  # misplaced break/continue/yield/return
    "F50": 0.85,  # % format mismatches
    "F52": 0.85,  # str.format mismatches
    "F601": 0.7,  # repeated dict key
    "F602": 0.7,
    "F811": 0.6,  # redefinition of an unused name
    "F841": 0.8,  # assigned but never used: a wrong-variable bug on real fixes (6 hits, 28 flagged)
    "PLE": 0.9,
    "B002": 0.8,
    "B006": 0.8,  # mutable default: 4 hits on real fixes, 3 fixed files flagged
    "B011": 0.8,  # assert False: 3 hits, 3 flagged
    "B012": 0.8,
    "B014": 0.6,
    "B015": 0.8,
    "B016": 0.85,
    "B018": 0.8,  # useless expression: a value computed and dropped
    "B020": 0.7,
    "B023": 0.6,
    "B025": 0.7,
    "B026": 0.6,
    "B029": 0.8,
    "B030": 0.8,
    "B031": 0.7,
    "B032": 0.7,
    "B033": 0.7,
    "B034": 0.7,
    "B035": 0.7,
    "PLW0127": 0.7,  # self-assigning variable
    "PLW0128": 0.8,  # a name assigned twice in one unpacking: 2 hits, none flagged
    "PLW0129": 0.85,
    "PLW0131": 0.7,
    "PLW0177": 0.85,  # comparison with NaN
    "PLW0211": 0.7,
    "PLW0642": 0.6,
    "PLW0711": 0.85,  # `except A or B`
    "PLW1501": 0.85,  # bad open mode
    "PLW1508": 0.7,
    "PLW2101": 0.8,
    "PLW3301": 0.5,
    "RUF006": 0.7,  # dangling asyncio task
    "RUF016": 0.85,  # invalid index type
    "RUF018": 0.7,  # assignment in assert
    "RUF024": 0.7,  # mutable fromkeys value
    "RUF026": 0.8,
    "RUF033": 0.6,
    # `a and b or c` unparenthesised: chosen on the fixes (10 hits, 29 flagged, 0.04 alarms per
    # 1k lines of those repositories' code), but 0.42 per 1k on a standard-library sample, which
    # took the default engines past 1 per 1k there: shown only on request.
    "RUF021": 0.7,
    "RUF071": 0.8,  # os.path.commonprefix (character-wise, not by path parts): 2 hits, 3 flagged
    # One hit each on the fixes, no fixed file flagged, no alarm on clean code, and a wrong
    # behaviour by their very name: an exception built and dropped, exc_info outside a handler.
    "PLW0133": 0.8,
    "LOG014": 0.8,
}
# Chosen on the training and validation fixes by `bench/defects_rules.py`'s greedy selection and
# shown by default (RUF021, chosen too, is held back: see its entry).
CHOSEN_ON_FIXES = ("F821", "F632", "PLW0128", "B006", "B011", "RUF071", "F841", "PLW0133", "LOG014")

# An undefined name (F821) that the module may well define after all: it binds the name at module
# level (and deletes it, or binds it conditionally), or it writes its own namespace at run time
# (``globals().update(...)``, an enum's ``_convert_(..., __name__)``), which pyflakes cannot see,
# much as it cannot see through ``import *``. On unmodified training-split files every F821 alarm
# was of these two sorts.
UNSURE_UNDEFINED_NAME_CONFIDENCE = 0.6

# Shown by default: the "nearly always a bug" tier. A static finding's confidence is its rule's, so
# this is a choice of rules, made once; the learned detector has its own calibrated threshold.
STATIC_THRESHOLD = 0.75
_UNDEFINED = re.compile(r"Undefined name `([^`]+)`")


@dataclass(frozen=True)
class StaticOptions:
    """How the static engine runs.

    Attributes:
        rules: Rule codes or prefixes to select, with their confidences.
        timeout_s: Subprocess time limit per file.
    """

    rules: tuple[tuple[str, float], ...] = tuple(RULE_CONFIDENCE.items())
    timeout_s: float = 60.0


def find_ruff() -> str:
    """Path of the ruff executable (`codeassist.ruff_runner.ruff_binary`)."""
    try:
        return ruff_binary()
    except FormatterError as exc:
        raise StaticEngineError(f"{exc} (needed for --static)") from exc


def _confidence(code: str, rules: tuple[tuple[str, float], ...]) -> float | None:
    best: tuple[int, float] | None = None
    for prefix, confidence in rules:
        if code.startswith(prefix) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), confidence)
    return None if best is None else best[1]


def _offset(line_starts: list[int], location: dict) -> int:
    return line_starts[location["row"] - 1] + location["column"] - 1


def _fix_text(item: dict, source: str, line_starts: list[int]) -> tuple[str | None, str | None]:
    """ruff's fix as replacement text for the flagged span, when every edit lies inside it."""
    fix = item.get("fix") or {}
    description = fix.get("message")
    edits = fix.get("edits") or []
    start = _offset(line_starts, item["location"])
    end = _offset(line_starts, item["end_location"])
    spans = [
        (_offset(line_starts, e["location"]), _offset(line_starts, e["end_location"]), e)
        for e in edits
    ]
    if not spans or any(a < start or b > end for a, b, _ in spans):
        return None, description
    text = source[start:end]
    for a, b, edit in sorted(spans, key=lambda s: s[0], reverse=True):
        text = text[: a - start] + edit["content"] + text[b - start :]
    return text, description


def _module_level_names(tree: ast.Module) -> set[str]:
    """Names bound by module-level statements (including inside top-level if/try/with/for)."""
    names: set[str] = set()
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
            continue
        if isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt | ast.excepthandler | ast.match_case):
                todo.append(child)  # a nested def or class is bound, its body is not entered
            else:
                names.update(
                    n.id
                    for n in ast.walk(child)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del)
                )
    return names


def _writes_own_namespace(tree: ast.Module) -> bool:
    """A call to ``globals()`` or a call handed ``__name__`` (a namespace or module to fill)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in ("globals", "vars", "exec"):
            return True
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if any(isinstance(a, ast.Name) and a.id == "__name__" for a in arguments):
            return True
    return False


def _unsure_undefined(source: str) -> Callable[[str], bool]:
    """Whether an F821 name may be defined at run time after all (see the constant)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return lambda name: False
    if _writes_own_namespace(tree):
        return lambda name: True
    bound = _module_level_names(tree)
    return lambda name: name in bound


def check_source(source: str, path: str, options: StaticOptions | None = None) -> list[Finding]:
    """Run the bug rules over one file's text.

    Args:
        source: The file's text.
        path: The name to report (also tells ruff whether the file is a stub).
        options: Rule selection; None for the defaults.

    Returns:
        Findings sorted by position, with a replacement text for the flagged span in ``fix``
        when ruff's fix edits only inside that span.

    Raises:
        StaticEngineError: ruff is missing, failed, or printed something other than JSON.
    """
    options = options or StaticOptions()
    command = [
        find_ruff(),
        "check",
        "--isolated",
        "--no-cache",
        "--output-format",
        "json",
        "--select",
        ",".join(prefix for prefix, _ in options.rules),
        "--stdin-filename",
        path if path.endswith((".py", ".pyi")) else "stdin.py",
        "-",
    ]
    try:
        done = subprocess.run(
            command,
            input=source,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=options.timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StaticEngineError(f"{path}: ruff could not run: {exc}") from exc
    # ruff: 0 clean, 1 violations, 2 its own error (bad option, crash).
    if done.returncode not in (0, 1):
        raise StaticEngineError(f"{path}: ruff failed: {done.stderr.strip()[:300]}")
    try:
        items = json.loads(done.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise StaticEngineError(f"{path}: ruff printed no JSON: {done.stdout[:200]!r}") from exc

    line_starts = [0]
    for line in source.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    findings = []
    unsure: Callable[[str], bool] | None = None
    for item in items:
        code = item.get("code")
        if code is None:  # a syntax error: reported with code None by ruff
            findings.append(
                Finding(
                    path=path,
                    line=item["location"]["row"],
                    column=item["location"]["column"],
                    rule_id="ruff/syntax-error",
                    kind="syntax-error",
                    message=item["message"],
                    confidence=1.0,
                    engine="static",
                )
            )
            continue
        confidence = _confidence(code, options.rules)
        if confidence is None:
            continue
        name = _UNDEFINED.search(item["message"]) if code == "F821" else None
        if name:
            unsure = unsure or _unsure_undefined(source)
            if unsure(name.group(1)):
                confidence = min(confidence, UNSURE_UNDEFINED_NAME_CONFIDENCE)
        fix, description = _fix_text(item, source, line_starts)
        message = item["message"] + (f" (fix: {description})" if description else "")
        findings.append(
            Finding(
                path=path,
                line=item["location"]["row"],
                column=item["location"]["column"],
                rule_id=f"ruff/{code}",
                kind=item.get("name") or code,
                message=message,
                confidence=confidence,
                engine="static",
                end_line=item["end_location"]["row"],
                end_column=item["end_location"]["column"],
                fix=fix,
            )
        )
    findings.sort(key=lambda f: (f.line, f.column, f.rule_id))
    return findings
