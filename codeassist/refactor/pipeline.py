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
The same goes for what no behaviour-preserving rewrite can remove (`.unfixable`: ambiguous
names no rename can safely fix, whitespace inside a multi-line string literal): the file gets
every other fix, and those findings are listed with the reason.
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
from codeassist.refactor.indent import fix_bracket_comments
from codeassist.refactor.noqa import add_noqa, added_noqa, strip_added_noqa
from codeassist.refactor.pep8 import (
    fix_bare_except,
    fix_class_ellipsis,
    fix_long_lines,
    fix_slice_spacing,
)
from codeassist.refactor.renames import fix_ambiguous_names
from codeassist.refactor.unfixable import AMBIGUOUS_CODES, split_unfixable
from codeassist.refactor.verify import check_equivalent, parse_source, pycodestyle_violations
from codeassist.ruff_runner import (
    NamingFinding,
    NamingRun,
    StyleFinding,
    fix_and_format,
    fix_named,
    format_lines,
    naming_findings,
    style_findings,
)

# Cheap necessary conditions for each fixer to have anything to do (false positives only cost
# a fixer run): whitespace before a colon, a bare except.
# ruff format writes " : " only in slices (the subscript may have opened lines above)
_MAYBE_SLICE_SPACE = re.compile(r"[^\s,][ \t]+:")
# blank lines at the end of a comment-only file survive ruff format (W391)
_TRAILING_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*\Z")
_MAYBE_BARE_EXCEPT = re.compile(r"\bexcept\s*:")
_NOQA_ROUNDS = 3


@dataclass(frozen=True)
class RefactorResult:
    """What happened to one source.

    ``status`` is "unchanged", "changed", "failed" (the gate refused; ``output`` is then the
    original and ``reason`` says why) or "error" (the input does not parse). ``rewrites`` names
    the behaviour-preserving rewrites used; ``violations`` are pycodestyle findings left (only
    when failed); ``annotated`` the (line, code) pairs given a ``# noqa``; ``naming`` the
    pep8-naming findings in the output and ``kept`` the pycodestyle findings no
    behaviour-preserving rewrite can remove (`codeassist.refactor.unfixable`), each with the
    reason, both reported for a human to decide.
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
    kept: tuple[str, ...] = ()
    error_line: int = 0

    @property
    def changed(self) -> bool:
        return self.status == "changed"

    @property
    def kept_names(self) -> tuple[str, ...]:
        """The ambiguous names (E741-E743) among ``kept``."""
        return tuple(k for k in self.kept if k.split(" ", 2)[1] in AMBIGUOUS_CODES)


def _normalise_newlines(source: str) -> tuple[str, str]:
    newline = "\r\n" if "\r\n" in source else "\n"
    return source.replace("\r\n", "\n"), newline


# Which ruff findings (pycodestyle codes) can give each Python fixer something to do; a fixer
# runs on a source only when the last ruff check named one of its codes there.
_EXCEPT_CODES = frozenset({"E722"})
_COMMENT_CODES = frozenset({"E262", "E265", "E266"})
_LONG_CODES = frozenset({"E501"})
_BLANK_END_CODES = frozenset({"W391"})


def _python_fixers(source: str, options: RefactorOptions, codes: frozenset[str] | None) -> str:
    """The fixers for what formatters leave behind. ``codes`` are the pycodestyle codes a
    check found in ``source``: only the fixers for those run (``None``: no check was made,
    each fixer's own cheap textual test decides)."""
    width = options.line_length
    # ruff accepts black's "x[a + 1 :]" that pycodestyle flags (E203): the textual test decides
    if _MAYBE_SLICE_SPACE.search(source):
        source = fix_slice_spacing(source)
    if (codes is None or codes & _EXCEPT_CODES) and _MAYBE_BARE_EXCEPT.search(source):
        source = fix_bare_except(source)
    if codes is None or codes & (_LONG_CODES | _COMMENT_CODES):
        source = fix_long_lines(source, width)
    if (codes is None or codes & _BLANK_END_CODES) and _TRAILING_BLANK_LINES.search(source):
        source = source.rstrip() + "\n"
    # ruff does not flag `class A: ...` (E701 for pycodestyle): the fixer's own test decides
    source = fix_class_ellipsis(source)
    if codes is None or codes & set(AMBIGUOUS_CODES):
        source = fix_ambiguous_names(source)
    return source


# Codes that formatting a statement cannot mend (the minimal mode leaves them to the fixers,
# renames and noqa comments): imports after code, comparisons to True, type comparisons, bare
# except, ambiguous names, W605 escapes.
_UNFORMATTABLE = frozenset({"E402", "E712", "E721", "E722", "W605", *AMBIGUOUS_CODES})


def _spans(lines: list[int]) -> list[tuple[int, int]]:
    """Runs of consecutive line numbers as (first, last) spans."""
    spans: list[tuple[int, int]] = []
    for line in sorted(set(lines)):
        if spans and line <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], line)
        else:
            spans.append((line, line))
    return spans


class _Pipeline:
    """Sources moving through the pipeline together; ``current`` holds the texts and
    ``findings`` ruff's pycodestyle findings on them (valid while the text is unchanged)."""

    def __init__(self, texts: list[str], suffixes: list[str], options: RefactorOptions) -> None:
        self.current = list(texts)
        self.suffixes = suffixes
        self.options = options
        self.problem: dict[int, str] = {}
        self.findings: dict[int, tuple[str, list[StyleFinding]]] = {}
        # sources where pycodestyle named what ruff's check did not: judged by pycodestyle only
        self.disputed: set[int] = set()

    def converge(self, indices: list[int]) -> None:
        """Run passes until a pass changes nothing (which is also the idempotence check).

        Each pass is one ruff fix + format (+ check, under pep8) process for the whole batch;
        the Python fixers then run only where ruff's check named their codes (or on every
        source in ``disputed``: the fallback where pycodestyle saw what ruff did not).
        """
        todo = [i for i in indices if i not in self.problem]
        pep8 = self.options.style == "pep8"
        for _ in range(self.options.max_iterations):
            if not todo:
                return
            if self.options.minimal:
                ruffed, found = fix_named(
                    [self.current[i] for i in todo],
                    [self.suffixes[i] for i in todo],
                    self.options.line_length,
                )
            else:
                ruffed, found = fix_and_format(
                    [self.current[i] for i in todo],
                    [self.suffixes[i] for i in todo],
                    self.options.line_length,
                    pep8,
                    quote_style=self.options.quote_style,
                    check=pep8,
                )
            still = []
            for i, text, findings in zip(todo, ruffed, found, strict=True):
                if text is None:
                    self.problem[i] = "ruff could not parse an intermediate result"
                    continue
                if pep8:
                    gated = i not in self.disputed
                    codes = frozenset(f.code for f in findings) if gated else None
                    named, fixed = findings, text
                    if not gated:  # ruff lacks E12x: pycodestyle names the lines
                        named = pycodestyle_violations(text, self.options.line_length)
                        fixed = fix_bracket_comments(
                            text, [v.line for v in named if v.code.startswith("E12")]
                        )
                    fixed = _python_fixers(fixed, self.options, codes)
                    if fixed == text and self.options.minimal:
                        # what neither ruff's fixes nor the fixers mended: format just the
                        # statements on those lines
                        spans = _spans([f.line for f in named if f.code not in _UNFORMATTABLE])
                        if spans:
                            fixed = format_lines(
                                text, self.suffixes[i], spans, self.options.line_length
                            )
                    if fixed == text:
                        self.findings[i] = (text, findings)
                    text = fixed
                if text != self.current[i]:
                    still.append(i)
                self.current[i] = text
            todo = still
        for i in todo:
            self.problem[i] = f"no fixed point after {self.options.max_iterations} passes"
        # Where the last pass's fixers undid what ruff did (black-style slice spaces), the
        # check saw ruff's text, not the result: check the results once more, one process.
        if pep8:
            self.refresh_findings(indices)

    def refresh_findings(self, indices: list[int]) -> None:
        """ruff's findings for those sources whose stored findings are not for their current
        text, in one ruff process (disputed sources are judged by pycodestyle instead)."""
        stale = [
            i
            for i in indices
            if i not in self.problem
            and i not in self.disputed
            and self.findings.get(i, ("",))[0] != self.current[i]
        ]
        found = style_findings(
            [self.current[i] for i in stale],
            [self.suffixes[i] for i in stale],
            self.options.line_length,
        )
        for i, findings in zip(stale, found, strict=True):
            self.findings[i] = (self.current[i], findings)

    def annotate(self, texts: list[str], indices: list[int], annotated: set[int]) -> None:
        """Give the violations with no behaviour-preserving fix a ``# noqa``, format, and
        annotate again until formatting no longer moves a comment off its line (a multi-line
        string's closing line followed by "% ("). The violations are ruff's findings of the
        last pass where they are valid for the text, pycodestyle's otherwise."""
        again = [i for i in indices if i not in self.problem]
        for _ in range(_NOQA_ROUNDS):
            todo, again = again, []
            previous = {i: self.current[i] for i in todo}
            for i in todo:
                if i in annotated:
                    self.current[i] = strip_added_noqa(texts[i], self.current[i])
            self.refresh_findings(todo)  # one ruff process for the stripped texts
            for i in todo:
                before = previous[i]
                left = self.violations(i)
                new, done = add_noqa(self.current[i], [(v.line, v.code) for v in left])
                self.current[i] = new
                if done:
                    annotated.add(i)
                if new != before:
                    again.append(i)
            self.converge(again)
            again = [i for i in again if i not in self.problem]

    def violations(self, i: int) -> list[StyleFinding]:
        text, found = self.findings.get(i, (None, []))
        if text == self.current[i] and i not in self.disputed:
            return found
        checked = [
            StyleFinding(v.line, v.code)
            for v in pycodestyle_violations(self.current[i], self.options.line_length)
        ]
        if i in self.disputed:
            return checked
        self.findings[i] = (self.current[i], checked)
        return checked


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
    if pep8 and options.add_noqa:
        pipeline.annotate(texts, live, annotated)
    # The judge: pycodestyle itself, once per source. Where it names what ruff's check did not
    # (the two disagree on a few cases), the fixers run ungated and pycodestyle's own findings
    # are annotated, then it judges again.
    judged: dict[int, list] = {}
    naming: NamingRun | None = None
    if pep8:
        # ruff reads the names of the texts as they stand while pycodestyle judges them
        named = [i for i in live if i not in pipeline.problem]
        naming = NamingRun([pipeline.current[i] for i in named], [suffixes[i] for i in named])
        judged = {
            i: _judge(pipeline.current[i], options) for i in live if i not in pipeline.problem
        }
        disputed = [i for i, left in judged.items() if _unresolved(pipeline.current[i], left)]
        if disputed:
            pipeline.disputed.update(disputed)
            pipeline.converge(disputed)
            if options.add_noqa:
                pipeline.annotate(texts, disputed, annotated)
            for i in disputed:
                if i not in pipeline.problem:
                    judged[i] = _judge(pipeline.current[i], options)

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
        kept: tuple[str, ...] = ()
        if pep8:
            # What no behaviour-preserving rewrite can remove is the one exception the gate
            # reports rather than refuses (renaming a parameter could break its keyword
            # callers; whitespace inside a string is part of its value): refusing would leave
            # every other fix in the file undone.
            kept, left = split_unfixable(current, judged[i])
            if left:
                shown = tuple(f"{v.line}:{v.column} {v.code} {v.message}" for v in left)
                reason = f"{len(left)} pycodestyle violation(s) cannot be fixed safely"
                results[i] = _failed(path, source, reason, complexity[i], options, shown)
                continue
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
            kept=kept,
        )
    if naming is not None:
        _attach_naming(results, suffixes, naming)
    return [r for r in results if r is not None]


def _judge(text: str, options: RefactorOptions) -> list:
    return pycodestyle_violations(text, options.line_length)


def _unresolved(text: str, left: list) -> bool:
    """Violations the gate would refuse (all but the documented unfixable ones)."""
    return bool(left) and bool(split_unfixable(text, left)[1])


def _attach_naming(
    results: list[RefactorResult | None], suffixes: list[str], early: NamingRun
) -> None:
    """pep8-naming findings on each output: those of the ``early`` run where it read the
    output's text, a second ruff process for the others (refused or re-fixed sources)."""
    by_text: dict[str, list] = dict(zip(early.sources, early.result(), strict=True))
    idx = [i for i, r in enumerate(results) if r is not None and r.status != "error"]
    texts = {i: results[i].output.replace("\r\n", "\n") for i in idx}
    late = [i for i in idx if texts[i] not in by_text]
    for i, findings in zip(
        late,
        naming_findings([results[i].output for i in late], [suffixes[i] for i in late]),
        strict=True,
    ):
        by_text[texts[i]] = findings
    for i in idx:
        findings = by_text[texts[i]]
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
