"""Candidate statements of a Python file: the units the learned detector scores.

A simple statement is its whole span; a compound statement (``if``, ``for``, ``def`` ...) is only
its header, so a bug in a body line is charged to that line and not to the block around it.
Positions are character offsets into the source (ast reports UTF-8 byte columns; converted here).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True)
class Statement:
    """One candidate statement.

    Attributes:
        start: Character offset of the first character.
        end: Character offset just after the last character.
        line: 1-based first line.
        column: 1-based first column.
        end_line: 1-based last line.
        node_type: The ast class name (``Assign``, ``If`` ...).
        depth: Nesting depth in the statement tree (module level is 0).
    """

    start: int
    end: int
    line: int
    column: int
    end_line: int
    node_type: str
    depth: int


class SourceIndex:
    """Converts ast (line, UTF-8 byte column) positions into character offsets."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.line_starts = [0]
        for line in self.lines:
            self.line_starts.append(self.line_starts[-1] + len(line))
        self._ascii = [line.isascii() for line in self.lines]

    def offset(self, lineno: int, col_offset: int) -> int:
        """Character offset of ast position (1-based line, UTF-8 byte column)."""
        if lineno - 1 >= len(self.lines):
            return len(self.source)
        line = self.lines[lineno - 1]
        if self._ascii[lineno - 1]:
            return self.line_starts[lineno - 1] + col_offset
        chars = len(line.encode("utf-8")[:col_offset].decode("utf-8", errors="ignore"))
        return self.line_starts[lineno - 1] + chars

    def span(self, node: ast.AST) -> tuple[int, int]:
        """Character span of a node that has positions."""
        return (
            self.offset(node.lineno, node.col_offset),
            self.offset(node.end_lineno, node.end_col_offset),
        )

    def position(self, offset: int) -> tuple[int, int]:
        """(1-based line, 1-based character column) of a character offset."""
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self.line_starts[lo] + 1


_BODY_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def _header_end(node: ast.stmt, index: SourceIndex) -> int:
    first_child = None
    for name in _BODY_FIELDS:
        children = getattr(node, name, None)
        if children:
            first_child = children[0]
            break
    if first_child is None or not hasattr(first_child, "lineno"):
        return index.span(node)[1]
    start = index.offset(first_child.lineno, first_child.col_offset)
    text = index.source[index.span(node)[0] : start].rstrip()
    if text.endswith(":"):
        return index.span(node)[0] + len(text)
    # A comment or docstring sits between the header and the body: cut at the first line end.
    header = text.split("\n", 1)[0]
    return index.span(node)[0] + len(header.rstrip())


def _is_compound(node: ast.stmt) -> bool:
    return any(getattr(node, name, None) for name in _BODY_FIELDS)


def list_statements(tree: ast.Module, index: SourceIndex) -> list[Statement]:
    """Every statement in `tree` as a `Statement`, in source order."""
    result: list[Statement] = []

    def visit(nodes: list, depth: int) -> None:
        for node in nodes:
            if isinstance(node, ast.ExceptHandler | ast.match_case):
                visit(node.body, depth)
                continue
            if not isinstance(node, ast.stmt):
                continue
            start = index.offset(node.lineno, node.col_offset)
            end = _header_end(node, index) if _is_compound(node) else index.span(node)[1]
            line, column = index.position(start)
            end_line = index.position(max(start, end - 1))[0]
            result.append(Statement(start, end, line, column, end_line, type(node).__name__, depth))
            for name in _BODY_FIELDS:
                children = getattr(node, name, None)
                if children:
                    visit(children, depth + 1)

    visit(tree.body, 0)
    result.sort(key=lambda s: s.start)
    return result


def statement_at(statements: list[Statement], offset: int) -> Statement | None:
    """The innermost statement whose span contains `offset`."""
    best = None
    for statement in statements:
        if statement.start <= offset < statement.end:
            if best is None or statement.start >= best.start:
                best = statement
    return best
