"""The refactor core: ``refactor_many(sources, options) -> [RefactorResult]``, pure functions.

Pipeline, repeated to a fixed point (ruff's format and fixes are not idempotent together on
some files, FIELD_NOTES): ruff's safe fixes for pycodestyle rules it can fix, ruff's formatter,
then (``--style pep8``) the fixers in `.pep8` and `.renames` for what
formatters leave behind. ruff runs once per pass for a whole batch of sources (starting it
costs as much as formatting a file); the Python fixers run only on sources a cheap textual
test says they could change.

Then the gate, always on: the result parses, its syntax tree equals the original's up to the
named rewrites of `codeassist.refactor.verify`, a second pass changes nothing, and under pep8
pycodestyle finds nothing — after ``# noqa`` for the few codes that have no behaviour-preserving
fix (`.noqa`; ``add_noqa=False`` turns it off), and except ambiguous names that no
rename can safely fix (a parameter, a global), which are reported. A source that fails any
check is returned unchanged with the reason. pep8-naming findings are reported, never fixed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from codeassist.config import RefactorOptions
from codeassist.refactor.complexity import FunctionComplexity, function_complexities
from codeassist.refactor.errors import FormatterError, SourceParseError
from codeassist.refactor.noqa import add_noqa, added_noqa, strip_added_noqa
from codeassist.refactor.pep8 import (
    fix_bare_except,
    fix_class_ellipsis,
    fix_long_lines,
    fix_slice_spacing,
)
from codeassist.refactor.renames import fix_ambiguous_names, plan_renames
from codeassist.refactor.verify import check_equivalent, parse_source, pycodestyle_violations
from codeassist.ruff_runner import NamingFinding, fix_and_format, naming_findings

# Cheap necessary conditions for each fixer to have anything to do (false positives only cost
# a fixer run): whitespace before a colon, a bare except.
# ruff format writes " : " only in slices (the subscript may have opened lines above)
_MAYBE_SLICE_SPACE = re.compile(r"[^\s,][ \t]+:")
# blank lines at the end of a comment-only file survive ruff format (W391)
_TRAILING_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*\Z")
_MAYBE_BARE_EXCEPT = re.compile(r"\bexcept\s*:")
_AMBIGUOUS_CODES = ("E741", "E742", "E743")
_NOQA_ROUNDS = 3


@dataclass(frozen=True)
class RefactorResult:
    """What happened to one source.

    ``status`` is "unchanged", "changed", "failed" (the gate refused; ``output`` is then the
    original and ``reason`` says why) or "error" (the input does not parse). ``rewrites`` names
    the behaviour-preserving rewrites used; ``violations`` are pycodestyle findings left (only
    when failed); ``annotated`` the (line, code) pairs given a ``# noqa``; ``naming`` the
    pep8-naming findings in the output and ``kept_names`` the ambiguous names (E741-E743)
    that no rename could safely fix, both reported for a human to decide.
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
    annotated: tuple[tuple[int, str], ...] = ()
    naming: tuple[NamingFinding, ...] = ()
    kept_names: tuple[str, ...] = ()
    error_line: int = 0

    @property
    def changed(self) -> bool:
        return self.status == "changed"


def _normalise_newlines(source: str) -> tuple[str, str]:
    newline = "\r\n" if "\r\n" in source else "\n"
    return source.replace("\r\n", "\n"), newline


def _python_fixers(source: str, options: RefactorOptions) -> str:
    width = options.line_length
    if _MAYBE_SLICE_SPACE.search(source):
        source = fix_slice_spacing(source)
    if _MAYBE_BARE_EXCEPT.search(source):
        source = fix_bare_except(source)
    source = fix_long_lines(source, width)
    if _TRAILING_BLANK_LINES.search(source):
        source = source.rstrip() + "\n"
    return fix_ambiguous_names(fix_class_ellipsis(source))


class _Pipeline:
    """Sources moving through the pipeline together; ``current`` holds the texts."""

    def __init__(self, texts: list[str], suffixes: list[str], options: RefactorOptions) -> None:
        self.current = list(texts)
        self.suffixes = suffixes
        self.options = options
        self.problem: dict[int, str] = {}

    def converge(self, indices: list[int]) -> None:
        """Run passes until a pass changes nothing (which is also the idempotence check)."""
        todo = [i for i in indices if i not in self.problem]
        pep8 = self.options.style == "pep8"
        for _ in range(self.options.max_iterations):
            if not todo:
                return
            ruffed = fix_and_format(
                [self.current[i] for i in todo],
                [self.suffixes[i] for i in todo],
                self.options.line_length,
                pep8,
            )
            still = []
            for i, text in zip(todo, ruffed, strict=True):
                if text is None:
                    self.problem[i] = "ruff could not parse an intermediate result"
                    continue
                if pep8:
                    text = _python_fixers(text, self.options)
                if text != self.current[i]:
                    still.append(i)
                self.current[i] = text
            todo = still
        for i in todo:
            self.problem[i] = f"no fixed point after {self.options.max_iterations} passes"


def _kept_names(source: str, kept: list) -> tuple[str, ...]:
    """Each ambiguous name left, with why no rename was safe."""
    if not kept:
        return ()
    _, refused = plan_renames(parse_source(source))
    why_at = dict(refused)
    return tuple(
        f"{v.line}:{v.column} {v.code} {v.message}: kept, "
        + why_at.get(v.line, "no provably safe rename (parameter, global or class attribute)")
        for v in kept
    )


def _failed(
    path: str,
    source: str,
    reason: str,
    complexity: tuple[FunctionComplexity, ...],
    options: RefactorOptions,
    violations: tuple[str, ...] = (),
) -> RefactorResult:
    return RefactorResult(
        path,
        source,
        source,
        "failed",
        reason,
        violations=violations,
        complexity=complexity,
        over_target=tuple(f for f in complexity if f.complexity > options.max_complexity),
    )


def refactor_many(
    sources: Sequence[tuple[str, str]], options: RefactorOptions
) -> list[RefactorResult]:
    """Refactor (path, text) pairs to ``options.style``; no output ever failed the gate.

    ``path`` is used for messages and its suffix (``.pyi`` is formatted as a stub); inputs that
    do not parse get status "error".
    """
    results: list[RefactorResult | None] = [None] * len(sources)
    texts, newlines, suffixes, live = [], [], [], []
    complexity: list[tuple[FunctionComplexity, ...]] = []
    for i, (path, source) in enumerate(sources):
        text, newline = _normalise_newlines(source)
        texts.append(text)
        newlines.append(newline)
        suffixes.append(".pyi" if PurePath(path).suffix == ".pyi" else ".py")
        try:
            parse_source(text)
            complexity.append(tuple(function_complexities(text)))
            live.append(i)
        except SyntaxError as exc:
            complexity.append(())
            results[i] = RefactorResult(
                path,
                source,
                source,
                "error",
                f"cannot parse: {exc.msg}",
                error_line=exc.lineno or 0,
            )
    pipeline = _Pipeline(texts, suffixes, options)
    pipeline.converge(live)
    pep8 = options.style == "pep8"
    annotated: set[int] = set()
    # pycodestyle findings per source, valid while the text is the one they were taken on.
    checked: dict[int, tuple[str, list]] = {}
    if pep8 and options.add_noqa:
        # Formatting after annotating can move a comment off the line it must be on (a
        # multi-line string's closing line followed by "% (", say): annotate again.
        again = [i for i in live if i not in pipeline.problem]
        for _ in range(_NOQA_ROUNDS):
            todo, again = again, []
            for i in todo:
                before = pipeline.current[i]
                if i in annotated:
                    pipeline.current[i] = strip_added_noqa(texts[i], before)
                left = pycodestyle_violations(pipeline.current[i], options.line_length)
                checked[i] = (pipeline.current[i], left)
                new, done = add_noqa(pipeline.current[i], [(v.line, v.code) for v in left])
                pipeline.current[i] = new
                if done:
                    annotated.add(i)
                if new != before:
                    again.append(i)
            pipeline.converge(again)
            again = [i for i in again if i not in pipeline.problem]

    for i in live:
        path, source = sources[i]
        if i in pipeline.problem:
            results[i] = _failed(path, source, pipeline.problem[i], complexity[i], options)
            continue
        current = pipeline.current[i]
        equivalence = check_equivalent(texts[i], current)
        if not equivalence.equal:
            reason = f"syntax tree changed: {equivalence.reason}"
            results[i] = _failed(path, source, reason, complexity[i], options)
            continue
        kept_names: tuple[str, ...] = ()
        if pep8:
            text_checked, left = checked.get(i, (None, []))
            if text_checked != current:
                left = pycodestyle_violations(current, options.line_length)
            # E741-E743 with no safe rename are the one exception the gate reports rather
            # than refuses: renaming a parameter, global or class attribute could break code
            # elsewhere, and refusing would leave every other fix in the file undone.
            kept = [v for v in left if v.code in _AMBIGUOUS_CODES]
            left = [v for v in left if v.code not in _AMBIGUOUS_CODES]
            if left:
                shown = tuple(f"{v.line}:{v.column} {v.code} {v.message}" for v in left)
                reason = f"{len(left)} pycodestyle violation(s) cannot be fixed safely"
                results[i] = _failed(path, source, reason, complexity[i], options, shown)
                continue
            kept_names = _kept_names(current, kept)
        output = current.replace("\n", newlines[i]) if newlines[i] != "\n" else current
        results[i] = RefactorResult(
            path,
            source,
            output,
            "unchanged" if output == source else "changed",
            rewrites=equivalence.rewrites,
            complexity=complexity[i],
            over_target=tuple(f for f in complexity[i] if f.complexity > options.max_complexity),
            annotated=tuple(added_noqa(texts[i], current)) if i in annotated else (),
            kept_names=kept_names if pep8 else (),
        )
    if pep8:
        _attach_naming(results, suffixes)
    return [r for r in results if r is not None]


def _attach_naming(results: list[RefactorResult | None], suffixes: list[str]) -> None:
    idx = [i for i, r in enumerate(results) if r is not None and r.status != "error"]
    found = naming_findings([results[i].output for i in idx], [suffixes[i] for i in idx])
    for i, findings in zip(idx, found, strict=True):
        if findings:
            results[i] = dataclasses.replace(results[i], naming=tuple(findings))


def refactor_source(source: str, options: RefactorOptions, path: str = "-") -> RefactorResult:
    """Refactor one source (see `refactor_many`).

    Raises:
        SourceParseError: the input itself is not valid Python.
        FormatterError: ruff could not be run.
    """
    (result,) = refactor_many([(path, source)], options)
    if result.status == "error":
        reason = result.reason.removeprefix("cannot parse: ")
        raise SourceParseError(path, result.error_line, reason)
    return result


__all__ = [
    "FormatterError",
    "RefactorOptions",
    "RefactorResult",
    "refactor_many",
    "refactor_source",
]
