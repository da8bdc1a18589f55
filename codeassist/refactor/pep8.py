"""PEP 8 fixers for what formatters leave behind, each a pure ``str -> str`` that keeps the
syntax tree equal (or changes it only by a rewrite `codeassist.refactor.verify` allows by name).

- ``fix_slice_spacing``: black/ruff style ``x[a + 1 :]`` is pycodestyle E203; drop the space
  before a slice colon.
- ``fix_bare_except``: E722 ``except:`` -> ``except BaseException:``, which catches exactly the
  same exceptions.
- ``fix_long_lines``: E501 that formatters cannot split — comments are re-wrapped (inline ones
  move above their line), docstring lines are re-wrapped (whitespace inside a docstring is an
  allowed rewrite), and long string literals are split into implicitly concatenated pieces,
  parenthesised when they are not already inside brackets (the tree keeps one constant).
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from collections.abc import Iterator

_KEEP_COMMENT = re.compile(r"#\s*(noqa|type:|pragma|pylint:|fmt:|isort:|ruff:)|^#!|coding[:=]")
# a ruler: "#####", "# -----", "#=====": shortened to fit rather than wrapped
_RULER = re.compile(r"#[#\s]*([^\w\s])\1*\s*")
_STRING_PREFIX = re.compile(r"^([rRbBuUfF]{0,2})(['\"])")


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(source).readline))


def _offsets(source: str) -> list[int]:
    """Character offset of the start of each line (1-based lines -> index line-1)."""
    starts, total = [], 0
    for line in source.splitlines(keepends=True):
        starts.append(total)
        total += len(line)
    starts.append(total)
    return starts


def _apply(source: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace character ranges [start, end) with text; edits must not overlap."""
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def fix_slice_spacing(source: str) -> str:
    starts = _offsets(source)
    edits, stack, prev = [], [], None
    for tok in _tokens(source):
        if tok.type == tokenize.OP and tok.string in "([{":
            stack.append(tok.string)
        elif tok.type == tokenize.OP and tok.string in ")]}":
            if stack:
                stack.pop()
        elif (
            tok.type == tokenize.OP
            and tok.string == ":"
            and stack
            and stack[-1] == "["
            and prev is not None
            and prev.end[0] == tok.start[0]
            and prev.end[1] < tok.start[1]
            # "a[1, :2]": pycodestyle wants the space after a comma (E231), not E203
            and prev.string != ","
        ):
            row = tok.start[0] - 1
            edits.append((starts[row] + prev.end[1], starts[row] + tok.start[1], ""))
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            prev = tok
    return _apply(source, edits)


def fix_bare_except(source: str) -> str:
    toks = [t for t in _tokens(source) if t.type not in (tokenize.NL, tokenize.COMMENT)]
    starts = _offsets(source)
    edits = []
    for a, b in zip(toks, toks[1:], strict=False):
        if a.type == tokenize.NAME and a.string == "except" and b.string == ":":
            pos = starts[a.end[0] - 1] + a.end[1]
            edits.append((pos, pos, " BaseException"))
    return _apply(source, edits)


def _is_ellipsis_body(body: list[ast.stmt]) -> bool:
    return (
        len(body) == 1
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and body[0].value.value is Ellipsis
    )


def fix_class_ellipsis(source: str) -> str:
    """E701: ruff format writes an empty class as ``class A: ...`` on one line, which
    pycodestyle flags; the body becomes ``pass`` on its own line (the verifier's
    ``ellipsis-body-to-pass`` rewrite), which the formatter leaves alone."""
    if ": ..." not in source:
        return source
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines(keepends=True)
    for node in sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and _is_ellipsis_body(n.body)),
        key=lambda n: n.body[0].lineno,
        reverse=True,
    ):
        stmt = node.body[0]
        row = stmt.lineno - 1
        raw = lines[row].encode("utf-8")  # ast columns are UTF-8 byte offsets
        head, tail = raw[: stmt.col_offset], raw[stmt.end_col_offset :]
        if not head.rstrip().endswith(b":"):
            continue  # "..." already on its own line: nothing pycodestyle objects to
        indent = raw[: len(raw) - len(raw.lstrip())].decode("utf-8")
        newline = "\r\n" if raw.endswith(b"\r\n") else "\n"
        lines[row] = (
            head.rstrip().decode("utf-8") + newline + indent + "    pass" + tail.decode("utf-8")
        )
    return "".join(lines)


def fix_comment_prefixes(source: str) -> str:
    """E262/E265/E266: comments start with exactly ``# `` (shebang, ``#:`` and separator lines
    such as ``#####`` are left alone). Comments are not in the syntax tree: always safe."""
    starts = _offsets(source)
    edits = []
    significant_rows = set()
    toks = _tokens(source)
    for tok in toks:
        if tok.type not in (
            tokenize.COMMENT,
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENDMARKER,
        ):
            significant_rows.add(tok.start[0])
    for tok in toks:
        if tok.type != tokenize.COMMENT:
            continue
        text = tok.string
        if (tok.start[0] == 1 and text.startswith("#!")) or text.startswith("#:"):
            continue
        body = text.lstrip("#")
        inline = tok.start[0] in significant_rows
        if not body.strip():
            if inline and text.rstrip() != "#":
                # an inline '###' is E262; as a block comment it is a separator, left alone
                edits.append(_edit(starts, tok, "# " + text.rstrip()[1:]))
            continue
        if inline:
            fixed = "# " + body.strip()
        else:
            fixed = "# " + body.strip() if (text[1:2] != " " or text.startswith("##")) else text
        if fixed != text:
            edits.append(_edit(starts, tok, fixed))
    return _apply(source, edits)


def _edit(starts: list[int], tok: tokenize.TokenInfo, text: str) -> tuple[int, int, str]:
    row = tok.start[0] - 1
    return starts[row] + tok.start[1], starts[row] + tok.end[1], text


def _wrap_comment(indent: str, text: str, width: int) -> list[str]:
    body = text.lstrip("#").strip()
    hashes = "#" * (len(text) - len(text.lstrip("#")))
    room = max(width - len(indent) - len(hashes) - 1, 20)
    lines = textwrap.wrap(body, room, break_long_words=False, break_on_hyphens=False)
    return [f"{indent}{hashes} {line}" for line in lines] or [f"{indent}{hashes}"]


def _fix_comments(source: str, width: int) -> str:
    lines = source.splitlines(keepends=True)
    comments = {t.start[0]: t for t in _tokens(source) if t.type == tokenize.COMMENT}
    out = []
    for number, line in enumerate(lines, start=1):
        body = line.rstrip("\r\n")
        newline = line[len(body) :]
        tok = comments.get(number)
        if tok is None or len(body) <= width or _KEEP_COMMENT.search(tok.string):
            out.append(line)
            continue
        code = body[: tok.start[1]].rstrip()
        indent = body[: len(body) - len(body.lstrip())]
        if _RULER.fullmatch(tok.string) and len(body) - width < len(tok.string) - 2:
            out.append(body[:width].rstrip() + newline)
            continue
        wrapped = _wrap_comment(indent, tok.string, width)
        out.extend(w + (newline or "\n") for w in wrapped)
        if code.strip():  # an inline comment moves above the code it annotated
            out.append(code + newline)
    return "".join(out)


_TRIPLE = re.compile(r"""^[rRuU]?(\"\"\"|''')""")


def docstrings(tree: ast.AST) -> Iterator[ast.Constant]:
    """The docstring of every module, class and function in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                yield body[0].value


def _docstring_lines(tree: ast.AST, source_lines: list[str]) -> set[int]:
    """Lines of triple-quoted docstrings (a one-quote docstring cannot be wrapped in place)."""
    lines: set[int] = set()
    for expr in docstrings(tree):
        start = source_lines[expr.lineno - 1].encode("utf-8")[expr.col_offset :]
        if not _TRIPLE.match(start.decode("utf-8", "replace")):
            continue
        # every line but the closing one, which ends in the quotes
        lines.update(range(expr.lineno, expr.end_lineno))
        if expr.lineno == expr.end_lineno:
            lines.add(expr.lineno)
    return lines


def _split_at_space(text: str, limit: int, fstring: bool = False) -> int | None:
    """Index of the last space before ``limit`` that is safe to break at: not escaped, and in
    an f-string outside any replacement field."""
    outside = [True] * len(text)
    if fstring:
        depth, i, quote = 0, 0, ""
        while i < len(text):
            pair = text[i : i + 2]
            if depth == 0 and pair in ("{{", "}}"):
                i += 2
                continue
            if depth and quote:  # a string literal inside a replacement field: '}' is text
                quote = "" if text[i] == quote else quote
                outside[i] = False
                i += 1
                continue
            if depth and text[i] in "'\"":
                quote = text[i]
            depth += text[i] == "{"
            outside[i] = depth == 0
            depth -= text[i] == "}" and depth > 0
            i += 1
    for i in range(min(limit, len(text) - 1), 0, -1):
        if text[i] == " " and outside[i] and text[i - 1] not in " \\" and text[:i].strip():
            return i
    return None


_ESCAPE = re.compile(
    r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|[0-7]{1,3}|.)", re.S
)


def _split_anywhere(text: str, limit: int, fstring: bool) -> int | None:
    """A cut before ``limit`` that keeps escape sequences whole (for strings with no spaces);
    returns the index of the first character of the second piece."""
    if fstring and "{" in text:
        return None
    boundaries, i = [], 0
    while i < len(text):
        match = _ESCAPE.match(text, i)
        i = match.end() if match else i + 1
        boundaries.append(i)
    cuts = [b for b in boundaries if 0 < b <= limit and b < len(text)]
    return cuts[-1] if cuts else None


def _fix_docstrings(source: str, width: int) -> str:
    try:
        lines = source.splitlines(keepends=True)
        inner = _docstring_lines(ast.parse(source), lines)
    except SyntaxError:
        return source
    out = []
    for number, line in enumerate(lines, start=1):
        body = line.rstrip("\r\n")
        newline = line[len(body) :] or "\n"
        if number not in inner or len(body) <= width:
            out.append(line)
            continue
        indent = body[: len(body) - len(body.lstrip())]
        rest, pieces = body, []
        while len(rest) > width:
            cut = _split_at_space(rest, width)
            if cut is None or cut <= len(indent):
                break
            pieces.append(rest[:cut].rstrip())
            rest = indent + rest[cut + 1 :].lstrip()
        pieces.append(rest)
        out.extend(p + newline for p in pieces[:-1])
        out.append(pieces[-1] + line[len(body) :])
    return "".join(out)


def _split_string_token(tok: tokenize.TokenInfo, width: int, column: int) -> list[str] | None:
    match = _STRING_PREFIX.match(tok.string)
    if not match or tok.string[len(match.group(1)) :].startswith(match.group(2) * 3):
        return None
    prefix, quote = match.group(1), match.group(2)
    # Adjacent f-strings that each keep the prefix parse to the same JoinedStr.
    fstring = "f" in prefix.lower()
    content = tok.string[len(prefix) + 1 : -1]
    room = width - column - len(prefix) - 2 - 1  # quotes, and a space for a trailing comma/paren
    pieces = []
    while len(content) > room:
        cut = _split_at_space(content, room, fstring)
        if cut is not None:
            cut += 1  # the space stays at the end of the first piece
        else:
            cut = _split_anywhere(content, room, fstring)
        if cut is None:
            break
        pieces.append(content[:cut])
        content = content[cut:]
    if not pieces:
        return None
    pieces.append(content)
    split = [f"{prefix}{quote}{p}{quote}" for p in pieces]
    # The pieces must concatenate to the very same constant: a split inside an f-string's
    # replacement field, or between the halves of an escape, would not.
    try:
        same = ast.dump(ast.parse(" ".join(split), mode="eval")) == ast.dump(
            ast.parse(tok.string, mode="eval")
        )
    except SyntaxError:
        same = False
    return split if same else None


def _fix_strings(source: str, width: int) -> str:
    toks = _tokens(source)
    lines = source.splitlines(keepends=True)
    starts = _offsets(source)
    edits, depth = [], 0
    significant = [t for t in toks if t.type not in (tokenize.NL, tokenize.COMMENT)]
    for i, tok in enumerate(significant):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        if tok.type != tokenize.STRING or tok.start[0] != tok.end[0]:
            continue
        line = lines[tok.start[0] - 1].rstrip("\r\n")
        if len(line) <= width:
            continue
        prev = significant[i - 1] if i else None
        nxt = significant[i + 1] if i + 1 < len(significant) else None
        newline = "\r\n" if lines[tok.start[0] - 1].endswith("\r\n") else "\n"
        line_indent = line[: len(line) - len(line.lstrip())]
        if depth > 0:
            pieces = _split_string_token(tok, width, tok.start[1])
            if pieces is None:
                continue
            text = (newline + " " * tok.start[1]).join(pieces)
        else:
            # Not inside brackets: wrap in parentheses. Only a lone string atom, never one
            # piece of an implicit concatenation (("a") "b" would not parse the same).
            if (prev is not None and prev.type == tokenize.STRING) or (
                nxt is not None and nxt.type == tokenize.STRING
            ):
                continue
            if prev is not None and (
                prev.type in (tokenize.NAME, tokenize.NUMBER)
                and prev.string
                not in (
                    "return",
                    "yield",
                    "in",
                    "not",
                    "and",
                    "or",
                    "if",
                    "else",
                    "assert",
                    "await",
                    "lambda",
                    "is",
                )
                or prev.string in (")", "]", "}")
            ):
                continue
            inner_indent = line_indent + "    "
            pieces = _split_string_token(tok, width, len(inner_indent))
            if pieces is None:
                continue
            text = (
                "("
                + newline
                + inner_indent
                + (newline + inner_indent).join(pieces)
                + newline
                + line_indent
                + ")"
            )
        row = tok.start[0] - 1
        edits.append((starts[row] + tok.start[1], starts[row] + tok.end[1], text))
    return _apply(source, edits)


_MAYBE_BAD_COMMENT = re.compile(r"#(?![ \n:!])|#  |##")


def fix_long_lines(source: str, width: int) -> str:
    # Each step tokenizes the whole file, so each runs only where a long line (or a badly
    # prefixed comment) gives it something to do.
    steps = []
    if _MAYBE_BAD_COMMENT.search(source):
        steps.append(lambda text: fix_comment_prefixes(text))
    long_lines = [line for line in source.split("\n") if len(line) > width]
    if any("#" in line for line in long_lines):
        steps.append(lambda text: _fix_comments(text, width))
    if long_lines:
        steps.append(lambda text: _fix_docstrings(text, width))
    if any("'" in line or '"' in line for line in long_lines):
        steps.append(lambda text: _fix_strings(text, width))
    for step in steps:
        try:
            source = step(source)
        except (tokenize.TokenError, IndentationError, SyntaxError):
            continue
    return source
