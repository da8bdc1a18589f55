"""Violations that no behaviour-preserving rewrite can remove: reported, never refused.

Two kinds, each proved on the source itself rather than assumed from the code:

- an ambiguous name (E741-E743) that `codeassist.refactor.renames` cannot prove safe to rename
  (a parameter, a global, a function that reads its frame ...);
- a physical-line finding about the *content* of a string literal (W291/W293 trailing
  whitespace, W191/E101 tabs) on a line whose end lies inside a multi-line string that is not
  a docstring: the characters belong to the string's value, so removing them changes what the
  program computes. (A docstring's whitespace is normalised by the formatter, and the gate
  allows that rewrite, so a finding left in a docstring is not on this list.)

The pipeline gives a file with such findings every other fix and lists these with the reason
(`split_unfixable`); anything else left makes the gate refuse the file.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from codeassist.refactor.pep8 import docstrings
from codeassist.refactor.renames import plan_renames

AMBIGUOUS_CODES = ("E741", "E742", "E743")
# pycodestyle's physical-line checks that read a string's content when run on its lines
STRING_CONTENT_CODES = ("W291", "W293", "W191", "E101")
_IN_STRING = "inside a multi-line string (not a docstring): part of the string's value"
_AFTER_STRING = (
    "pycodestyle's E101 after a string with tab-indented content (the line itself is "
    "indented consistently)"
)
_NAME = re.compile(r"'(\w+)'")
_TRAILING_CODES = ("W291", "W293")
_INDENT_CODES = ("W191", "E101")


# a line that ends in whitespace (the cheap test before tokenizing)
_TRAILING = re.compile(r"[ \t\v]\n")


class Violation(Protocol):
    """What `split_unfixable` reads of a finding (pycodestyle's `StyleViolation`)."""

    line: int
    column: int
    code: str
    message: str


def _docstring_rows(tree: ast.AST) -> set[tuple[int, int]]:
    """(first, last) rows of every docstring."""
    return {(expr.lineno, expr.end_lineno or 0) for expr in docstrings(tree)}


def string_content_rows(
    source: str, tree: ast.AST | None = None, leading: bool = False
) -> set[int]:
    """Rows (1-based) whose end lies inside a multi-line string literal other than a
    docstring: every row of such a token but its last, as pycodestyle checks them. With
    ``leading``, the rows whose *start* lies inside one (every row but its first): where a
    finding about indentation (W191, E101) reads the string's content."""
    tree = tree if tree is not None else ast.parse(source)
    docstrings = _docstring_rows(tree)
    fstring_end = getattr(tokenize, "FSTRING_END", None)  # Python 3.12+: f-strings split up
    fstring_start = getattr(tokenize, "FSTRING_START", None)
    rows: set[int] = set()
    opened: list[int] = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == fstring_start:
            opened.append(tok.start[0])
            continue
        if tok.type == fstring_end and opened:
            first, last = opened.pop(), tok.end[0]
        elif tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
            first, last = tok.start[0], tok.end[0]
        else:
            continue
        if (first, last) not in docstrings:
            rows.update(range(first + 1, last + 1) if leading else range(first, last))
    return rows


@dataclass(frozen=True)
class _Finding:
    line: int
    column: int
    code: str
    message: str


def _string_whitespace(source: str, rows: set[int]) -> list[_Finding]:
    """W291/W293 (as pycodestyle words them) on the string-content ``rows``: found here as
    well because a ``# noqa`` on a string's last line hides every physical finding inside it
    from pycodestyle, and the user should still be told the whitespace is there."""
    found = []
    lines = source.split("\n")
    for row in sorted(rows):
        line = lines[row - 1]
        stripped = line.rstrip(" \t\v")
        if stripped != line:
            if stripped:
                found.append(_Finding(row, len(stripped) + 1, "W291", "trailing whitespace"))
            else:
                found.append(_Finding(row, 1, "W293", "whitespace on blank line"))
    return found


def _scopes(node: ast.AST, scope: str = "module"):
    """(node, kind of the scope it is evaluated in) for every node under ``node``."""
    for child in ast.iter_child_nodes(node):
        yield child, scope
        if isinstance(child, ast.ClassDef):
            inner = "class"
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inner = "function"
        else:
            inner = scope
        yield from _scopes(child, inner)


def _why_not_renamed(tree: ast.AST, v: Violation) -> str:
    """Why an ambiguous name that `plan_renames` did not consider (not a plain function
    local) is kept."""
    match = _NAME.search(v.message)
    name = match.group(1) if match else ""
    for node, scope in _scopes(tree):
        if getattr(node, "lineno", None) != v.line:
            continue
        if isinstance(node, ast.arg) and node.arg == name:
            return f"'{name}' is a parameter (keyword callers would break)"
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name == name:
                return f"'{name}' names a definition other code may use by name"
        if isinstance(node, ast.Name) and node.id == name and scope != "function":
            return f"'{name}' is a {'module global' if scope == 'module' else 'class attribute'}"
    return f"'{name}' is declared global or nonlocal"


def _indentation_in_strings(
    source: str, tree: ast.AST, found: Sequence[Violation]
) -> list[tuple[Violation, str]]:
    """W191/E101 about a string's content. pycodestyle also reports E101 on the first line
    after a string whose lines it found mixed: after each E101 it takes the offending line's
    indentation character as the file's, so a correctly indented line below is "mixed"; that
    finding is kept too when the line is indented with the file's own character alone."""
    rows = string_content_rows(source, tree, leading=True)
    lines = source.split("\n")
    own = next((line[:1] for line in lines if line[:1] in (" ", "\t")), " ")
    kept: list[tuple[Violation, str]] = []
    after_string = False
    for v in sorted(found, key=lambda v: v.line):
        if v.code not in _INDENT_CODES:
            continue
        if v.line in rows:
            kept.append((v, _IN_STRING))
            after_string = v.code == "E101" or after_string
        elif v.code == "E101" and after_string:
            line = lines[v.line - 1]
            indent = line[: len(line) - len(line.lstrip())]
            if indent and set(indent) == {own}:
                kept.append((v, _AFTER_STRING))
            after_string = False
    return kept


def split_unfixable(
    source: str, left: Sequence[Violation]
) -> tuple[tuple[str, ...], list[Violation]]:
    """Split what pycodestyle left in ``source`` into the documented unfixable findings, each
    rendered ``"line:col CODE message: kept, <why>"``, and the rest (which the gate refuses).
    Trailing whitespace inside a string literal is listed even where a ``# noqa`` for
    another code (E501 on the string's last line) hides it from pycodestyle."""
    names = [v for v in left if v.code in AMBIGUOUS_CODES]
    in_strings = [v for v in left if v.code in STRING_CONTENT_CODES]
    if not names and not in_strings and not _TRAILING.search(source):
        return (), list(left)
    tree = ast.parse(source)
    kept: list[tuple[Violation, str]] = []
    if names:
        why_at = dict(plan_renames(tree)[1])
        kept += [(v, why_at.get(v.line) or _why_not_renamed(tree, v)) for v in names]
    rows = string_content_rows(source, tree) if in_strings or _TRAILING.search(source) else set()
    kept += [(v, _IN_STRING) for v in in_strings if v.code in _TRAILING_CODES and v.line in rows]
    if any(v.code in _INDENT_CODES for v in in_strings):
        kept += _indentation_in_strings(source, tree, in_strings)
    named = {(v.line, v.code) for v, _ in kept}
    kept_ids = {id(v) for v, _ in kept}
    kept += [
        (f, _IN_STRING) for f in _string_whitespace(source, rows) if (f.line, f.code) not in named
    ]
    kept.sort(key=lambda pair: (pair[0].line, pair[0].column))
    rendered = tuple(f"{v.line}:{v.column} {v.code} {v.message}: kept, {why}" for v, why in kept)
    return rendered, [v for v in left if id(v) not in kept_ids]
