"""``# noqa`` annotations for violations that have no behaviour-preserving fix.

Only the codes in `NOQA_CODES` are annotated: an import after code (E402: moving it changes
execution order), a line nothing can split (E501: a long URL or name), ``== True`` (E712: ``is``
or truthiness would change behaviour), ``type(a) == type(b)`` (E721: ``is`` differs under a
metaclass ``__eq__``). Anything else left is a failure of the engine and fails the gate. This
mirrors ``ruff check --add-noqa``; ``--no-add-noqa`` turns it off.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable

NOQA_CODES = ("E402", "E501", "E712", "E721")
_PHYSICAL = ("E501",)
_EXISTING = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.I)


def _anchor_lines(source: str) -> tuple[dict[int, int], dict[int, int]]:
    """For each line, where a comment that covers it can go: the line itself, or for lines
    inside a multi-line string or bracketed statement, the line that ends the token or the
    logical line. Returns (physical anchor, logical anchor) maps, 1-based."""
    physical: dict[int, int] = {}
    logical: dict[int, int] = {}
    start = None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.NL, tokenize.COMMENT):
            continue
        if start is None and tok.type not in (
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.NEWLINE,
            tokenize.ENDMARKER,
        ):
            start = tok.start[0]
        if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
            for row in range(tok.start[0], tok.end[0]):
                physical[row] = tok.end[0]
        if tok.type == tokenize.NEWLINE and start is not None:
            for row in range(start, tok.end[0] + 1):
                logical[row] = tok.start[0]
            start = None
    return physical, logical


def add_noqa(
    source: str, violations: Iterable[tuple[int, str]]
) -> tuple[str, list[tuple[int, str]]]:
    """Append ``# noqa: CODE`` for each (line, code) whose code is in `NOQA_CODES`.

    Returns the new source and the (line, code) pairs annotated; lines are those of the
    returned source (annotating never adds or removes lines)."""
    wanted = [(line, code) for line, code in violations if code in NOQA_CODES]
    if not wanted:
        return source, []
    physical, logical = _anchor_lines(source)
    targets: dict[int, set[str]] = {}
    for line, code in wanted:
        anchor = physical.get(line, line) if code in _PHYSICAL else logical.get(line, line)
        targets.setdefault(anchor, set()).add(code)
    lines = source.splitlines(keepends=True)
    done = []
    for row, codes in sorted(targets.items()):
        text = lines[row - 1]
        body = text.rstrip("\r\n")
        newline = text[len(body) :]
        existing = _EXISTING.search(body)
        if existing and existing.group("codes"):
            merged = sorted(set(re.split(r"[,\s]+", existing.group("codes"))) | codes)
            noqa = "# noqa: " + ", ".join(merged)
            body = body[: existing.start()] + noqa + body[existing.end() :]
        elif existing:
            continue  # a bare noqa comment already silences every code on the line
        else:
            body = body.rstrip() + "  # noqa: " + ", ".join(sorted(codes))
        lines[row - 1] = body + newline
        done.extend((row, code) for code in sorted(codes))
    return "".join(lines), done


def _noqa_comments(source: str) -> list[tuple[int, int, str, tuple[str, ...]]]:
    """(line, column, the line without whitespace, codes) of each ``# noqa: CODES`` comment."""
    lines = source.splitlines()
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        match = _EXISTING.search(tok.string) if tok.type == tokenize.COMMENT else None
        if match and match.group("codes"):
            codes = tuple(c for c in re.split(r"[,\s]+", match.group("codes")) if c in NOQA_CODES)
            if codes:
                row = tok.start[0]
                # the noqa may follow other text in the same comment ("#### # noqa: E501")
                column = tok.start[1] + match.start()
                found.append((row, column, "".join(lines[row - 1].split()), codes))
    return found


def _added(original: str, final: str) -> list[tuple[int, int, tuple[str, ...]]]:
    before: dict[str, int] = {}
    for _, _, key, _ in _noqa_comments(original):
        before[key] = before.get(key, 0) + 1
    added = []
    for row, column, key, codes in _noqa_comments(final):
        if before.get(key, 0):
            before[key] -= 1
            continue
        added.append((row, column, codes))
    return added


def added_noqa(original: str, final: str) -> list[tuple[int, str]]:
    """The (line, code) annotations in ``final`` that ``original`` did not carry.

    Taken from the final text rather than from each round of annotating, because formatting
    after annotating moves lines."""
    return [(row, code) for row, _, codes in _added(original, final) for code in codes]


def strip_added_noqa(original: str, current: str) -> str:
    """``current`` without the annotations it has and ``original`` has not, so that a new
    round annotates afresh instead of leaving comments that formatting stranded."""
    lines = current.splitlines(keepends=True)
    for row, column, _ in _added(original, current):
        text = lines[row - 1]
        body = text.rstrip("\r\n")
        lines[row - 1] = body[:column].rstrip() + text[len(body) :]
    return "".join(lines)
