"""Re-indent comment lines inside brackets that pycodestyle names (E12x).

A hand-aligned table often has comment lines at column 0 between its rows (fontTools'
instruction tables); inside brackets they are continuation lines, and pycodestyle flags them
(E122). Formatters leave such tables alone (they sit in ``# fmt: off`` regions, or the
minimal mode does not format them). A comment is not behaviour, so moving it is always safe:
each named comment line takes the indentation of the next code line in the same brackets (the
row it annotates), or of the code line above it when the next line closes the bracket.
Only comment-only lines that pycodestyle names are touched, so the rest keeps its layout.
"""

from __future__ import annotations

import bisect
import io
import tokenize
from collections.abc import Collection

_OPEN = "([{"
_CLOSE = ")]}"


def _bracket_rows(source: str) -> tuple[dict[int, int], dict[int, tuple[int, bool]]]:
    """For comment-only rows inside brackets: row -> id of the innermost open bracket; and
    for every row that starts with code inside or closing a bracket: row -> (that bracket's
    id, whether the row starts by closing it)."""
    comments: dict[int, int] = {}
    code: dict[int, tuple[int, bool]] = {}
    stack: list[int] = []
    last_row = 0
    counter = 0
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            continue
        first_on_row = tok.start[0] != last_row
        last_row = tok.end[0]
        if first_on_row and stack:
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = stack[-1]
            else:
                closing = tok.type == tokenize.OP and tok.string in _CLOSE
                code[tok.start[0]] = (stack[-1], closing)
        if tok.type == tokenize.OP and tok.string in _OPEN:
            counter += 1
            stack.append(counter)
        elif tok.type == tokenize.OP and tok.string in _CLOSE and stack:
            stack.pop()
    return comments, code


def fix_bracket_comments(source: str, rows: Collection[int]) -> str:
    """Re-indent the comment-only lines among ``rows`` (1-based) that sit inside brackets;
    other rows, and sources that do not tokenize, are returned as they are."""
    if not rows:
        return source
    try:
        comments, code = _bracket_rows(source)
    except (tokenize.TokenError, SyntaxError):
        return source
    lines = source.split("\n")
    code_rows = sorted(code)
    changed = False
    for row in sorted(set(rows) & comments.keys()):
        bracket = comments[row]
        later = code_rows[bisect.bisect_right(code_rows, row) :]
        after = next((r for r in later if code[r][0] == bracket), None)
        if after is not None and code[after][1]:  # the next line closes the bracket
            above = [r for r in code if r < row and code[r][0] == bracket and not code[r][1]]
            after = max(above) if above else None
        if after is None:
            continue
        indent = lines[after - 1][: len(lines[after - 1]) - len(lines[after - 1].lstrip())]
        text = lines[row - 1].lstrip()
        if lines[row - 1] != indent + text:
            lines[row - 1] = indent + text
            changed = True
    return "\n".join(lines) if changed else source
