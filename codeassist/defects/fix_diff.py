"""Is a before/after pair of one file a small bug fix inside one function? (`mining`'s core)

`analyse_change` takes the file before and after a commit and returns the changed function
before and after, its buggy lines and what kind of change it is, or the reason it is not kept:
changes outside one function, formatting or comment-only changes, changes only to strings or
imports, consistent renames, pure insertions (no line of the buggy version to point at), too
many statements, or a function that does not compile on its own.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import warnings
from dataclasses import dataclass

from codeassist.defects.findings import BUG_KINDS
from codeassist.defects.statements import SourceIndex, list_statements

# What a fix changed, named like the seeded kinds where it is one of them (`findings.BUG_KINDS`).
FIX_CATEGORIES = (*BUG_KINDS, "call_arguments", "condition", "other")
_MODULE_NAMES = {"__file__", "__name__", "__doc__", "__spec__", "__path__", "__loader__"}
_BUILTINS = set(dir(builtins)) | _MODULE_NAMES


@dataclass(frozen=True)
class DiffLimits:
    """How small a change must be.

    Attributes:
        max_statements: Statements touched, in each version.
        max_function_lines: Longest function kept (either version).
    """

    max_statements: int = 3
    max_function_lines: int = 120


@dataclass(frozen=True)
class FunctionChange:
    """A kept change: the function (qualified name), its text before and after (dedented), the
    statements' lines and the changed lines of `before` (1-based in the function), the file
    line where it starts, the kind of change and the module names it reads."""

    function: str
    before: str
    after: str
    buggy_lines: tuple[int, ...]
    changed_lines: tuple[int, ...]
    file_line: int
    category: str
    context: tuple[str, ...]


class Rejected(Exception):
    """Not a small fix inside one function; ``reason`` says why (counted by the miner)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _functions(tree: ast.Module) -> list[tuple]:
    """Every function with its qualified name, first line (decorators included) and the
    functions that enclose it (closures read their names)."""
    out = []

    def visit(node: ast.AST, prefix: str, outer: tuple) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([d.lineno for d in child.decorator_list] + [child.lineno])
                out.append((prefix + child.name, child, start, outer))
                visit(child, prefix + child.name + ".", (*outer, child))
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".", outer)
            elif isinstance(child, ast.stmt):
                visit(child, prefix, outer)

    visit(tree, "", ())
    return out


def _innermost(functions, lines: set[int], insert_at: set[int]):
    """The innermost function whose lines hold every changed line and insertion point."""
    best = None
    for item in functions:
        _, node, start, _ = item
        end = node.end_lineno or node.lineno
        inside = all(start <= n <= end for n in lines) and all(start < n <= end for n in insert_at)
        if inside and (best is None or start >= best[2]):
            best = item
    return best


def _dedent(lines: list[str]) -> str:
    """The function's lines moved to the top level (a line inside a string that is indented
    less than the ``def`` keeps its text)."""
    first = lines[0]
    indent = first[: len(first) - len(first.lstrip())]
    return "".join(line[len(indent) :] if line.startswith(indent) else line for line in lines)


class _Normalise(ast.NodeTransformer):
    """Strings emptied: two functions equal after this differ only in strings."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str | bytes):
            return ast.copy_location(ast.Constant(value=""), node)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        return ast.copy_location(ast.Constant(value=""), node)


class _NoAnnotations(ast.NodeTransformer):
    """Annotations dropped: two functions equal after this differ only in type hints."""

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.annotation = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.returns = None
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        node.annotation = ast.Name("_")
        self.generic_visit(node)
        return node


def _differ_beyond(before: str, after: str, transformer: type) -> bool:
    """Whether two functions' trees still differ once `transformer` has normalised both."""

    def normalised(text: str) -> str:
        return ast.dump(transformer().visit(ast.parse(text)))

    return normalised(before) != normalised(after)


def _identifiers(node: ast.AST) -> list[str]:
    out = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            out.append(sub.id)
        elif isinstance(sub, ast.Attribute):
            out.append(sub.attr)
        elif isinstance(sub, ast.arg):
            out.append(sub.arg)
        elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.append(sub.name)
    return out


def _shape(text: str) -> str:
    """The tree with identifiers blanked: equal shapes differ only in names."""
    clone = ast.parse(text)
    for sub in ast.walk(clone):
        if isinstance(sub, ast.Name):
            sub.id = "_"
        elif isinstance(sub, ast.Attribute):
            sub.attr = "_"
        elif isinstance(sub, ast.arg):
            sub.arg = "_"
        elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            sub.name = "_"
    return ast.dump(clone)


def _is_rename(text_before: str, text_after: str) -> bool:
    """The same code with one name replaced by another in more than one place (a rename, not
    one wrong name put right)."""
    if _shape(text_before) != _shape(text_after):
        return False
    before, after = ast.parse(text_before), ast.parse(text_after)
    pairs = [(a, b) for a, b in zip(_identifiers(before), _identifiers(after), strict=False)]
    changed = [(a, b) for a, b in pairs if a != b]
    return len(changed) >= 2 and all(
        dict(changed).get(a) == b for a, b in changed
    )  # one consistent mapping


def _bound_names(nodes: list[ast.stmt], nested: bool) -> tuple[set[str], bool]:
    """Names a block binds, and whether it star-imports. Functions and classes it defines are
    named, and looked into only when `nested` (a module's names are not their locals)."""
    names: set[str] = set()
    star = False
    pending: list[ast.AST] = list(nodes)
    while pending:
        sub = pending.pop()
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store | ast.Del):
            names.add(sub.id)
        elif isinstance(sub, ast.Import | ast.ImportFrom):
            for alias in sub.names:
                if alias.name == "*":
                    star = True
                else:
                    names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(sub, ast.arg) and nested:
            names.add(sub.arg)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            names.add(sub.name)
        if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(sub.name)
            if not nested:
                pending.extend(sub.decorator_list)
                continue
        elif isinstance(sub, ast.Lambda) and not nested:
            continue
        pending.extend(ast.iter_child_nodes(sub))
    return names, star


def _annotation_strings(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names read inside string annotations (``def f(app: "App")``): a linter resolves them
    (ruff's F821), and they often name what the module imports under ``if TYPE_CHECKING:``."""
    annotations: list[ast.expr | None] = []
    for node in ast.walk(function):  # nested functions' annotations are read too
        if isinstance(node, ast.arg | ast.AnnAssign):
            annotations.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
    names: set[str] = set()
    for annotation in annotations:
        for node in ast.walk(annotation) if annotation is not None else ():
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                try:
                    parsed = ast.parse(node.value.strip(), mode="eval")
                except (SyntaxError, ValueError):
                    continue  # a string that is not an annotation: nothing to resolve
                names.update(n.id for n in ast.walk(parsed) if isinstance(n, ast.Name))
    return names


def _free_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    loaded = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
    loaded |= _annotation_strings(function)
    bound, _ = _bound_names([*function.body, function.args], nested=True)
    # The case file defines the function at its top level, so its own name (a recursive call,
    # or a method calling the module function of the same name) is bound there: importing it
    # too would be a redefinition (ruff's F811) no one wrote.
    return loaded - bound - _BUILTINS - {function.name}


def _context(tree: ast.Module, function, enclosing: list[ast.AST]) -> set[str]:
    module, star = _bound_names(tree.body, nested=False)
    for outer in enclosing:
        names, _ = _bound_names(outer.body, nested=False)
        module |= names | {a.arg for a in ast.walk(outer.args) if isinstance(a, ast.arg)}
    free = _free_names(function)
    return free if star else free & module


def _code_lines(lines: list[str], numbers: set[int]) -> set[int]:
    """The lines that are neither blank nor only a comment."""
    return {n for n in numbers if lines[n - 1].strip() and not lines[n - 1].strip().startswith("#")}


def _touched(statements, lines: set[int]) -> list:
    """The innermost statement holding each line (compound statements: the header only)."""
    out = []
    for n in sorted(lines):
        holding = [s for s in statements if s.line <= n <= s.end_line]
        if holding:
            best = max(holding, key=lambda s: (s.line, s.depth))
            if best not in out:
                out.append(best)
    return out


def classify_change(before: ast.AST, after: ast.AST) -> str:
    """What one changed statement's fix did (`FIX_CATEGORIES`), from the first place the two
    trees differ."""
    if isinstance(before, ast.Expr) and isinstance(after, ast.Return):
        if ast.dump(before.value) == ast.dump(after.value or ast.Constant(None)):
            return "dropped_return"
    pending = [(before, after)]
    while pending:
        a, b = pending.pop(0)
        if ast.dump(a) == ast.dump(b):
            continue
        if type(a) is not type(b):
            if isinstance(b, ast.UnaryOp) and isinstance(b.op, ast.Not):
                if ast.dump(b.operand) == ast.dump(a):
                    return "negated_condition"
            if isinstance(a, ast.UnaryOp) and isinstance(a.op, ast.Not):
                if ast.dump(a.operand) == ast.dump(b):
                    return "negated_condition"
            if isinstance(a, ast.Name | ast.Attribute) and isinstance(b, ast.Name | ast.Attribute):
                return "wrong_variable"
            return "other"
        if isinstance(a, ast.Compare) and [type(o) for o in a.ops] != [type(o) for o in b.ops]:
            return "wrong_comparison"
        if isinstance(a, ast.BinOp | ast.AugAssign) and type(a.op) is not type(b.op):
            return "wrong_binary_operator"
        if isinstance(a, ast.BoolOp) and type(a.op) is not type(b.op):
            return "wrong_boolean_operator"
        if isinstance(a, ast.Name) and a.id != b.id:
            return "wrong_variable"
        if isinstance(a, ast.Attribute) and a.attr != b.attr:
            return "wrong_attribute"
        if isinstance(a, ast.Constant) and a.value != b.value:
            numbers = all(type(v) is int for v in (a.value, b.value))
            return "off_by_one" if numbers and abs(a.value - b.value) == 1 else "other"
        if isinstance(a, ast.Call) and ast.dump(a.func) == ast.dump(b.func):
            old = sorted(ast.dump(x) for x in a.args)
            if old == sorted(ast.dump(x) for x in b.args) and old:
                return "swapped_args"
            if len(a.args) != len(b.args) or len(a.keywords) != len(b.keywords):
                return "call_arguments"
        if isinstance(a, ast.If | ast.While) and ast.dump(a.test) != ast.dump(b.test):
            pending = [(a.test, b.test)]
            found = classify_change(ast.Expr(a.test), ast.Expr(b.test))
            return found if found != "other" else "condition"
        children_a, children_b = list(ast.iter_child_nodes(a)), list(ast.iter_child_nodes(b))
        if len(children_a) != len(children_b):
            return "call_arguments" if isinstance(a, ast.Call) else "other"
        pending.extend(zip(children_a, children_b, strict=True))
    return "other"


def changed_lines(before: list[str], after: list[str]) -> tuple[set[int], set[int], set[int]]:
    """Lines of `before` removed or replaced, lines of `after` added, and insertion points
    (the `before` line an insertion goes before), 1-based. Common ends are cut first, so a
    small change in a long file costs little."""
    head = 0
    while head < min(len(before), len(after)) and before[head] == after[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(before), len(after)) - head
        and before[len(before) - 1 - tail] == after[len(after) - 1 - tail]
    ):
        tail += 1
    a, b = before[head : len(before) - tail], after[head : len(after) - tail]
    removed, added, inserted = set(), set(), set()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed.update(range(head + i1 + 1, head + i2 + 1))
        added.update(range(head + j1 + 1, head + j2 + 1))
        if i1 == i2:
            inserted.add(head + i1 + 1)
    return removed, added, inserted


def _compiles(text: str) -> ast.Module:
    try:
        with warnings.catch_warnings():  # the code's own warnings are not ours to print
            warnings.simplefilter("ignore")
            compile(text, "<fix>", "exec", dont_inherit=True)
            return ast.parse(text)
    except (SyntaxError, ValueError) as exc:
        raise Rejected("function does not compile on its own") from exc


def analyse_change(before: str, after: str, limits: DiffLimits) -> FunctionChange:
    """The changed function of a small bug fix between two versions of a file.

    Raises:
        Rejected: not a small change inside one function (the reason names which rule).
    """
    lines_before = before.splitlines(keepends=True)
    lines_after = after.splitlines(keepends=True)
    removed, added, inserted = changed_lines(lines_before, lines_after)
    if not _code_lines(lines_before, removed):
        raise Rejected("no code line of the buggy version changed")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree_before = ast.parse(before)
    except (SyntaxError, ValueError) as exc:
        raise Rejected("file does not parse") from exc
    hit = _innermost(_functions(tree_before), removed | {n - 1 for n in inserted}, set())
    if hit is None:
        raise Rejected("change not inside one function")
    name, node_before, start, outer = hit
    end_before = node_before.end_lineno or start
    # The rest of the file is unchanged, so the function after the fix is the same span moved
    # by the lines the fix added or removed (parsing only the function, not the whole file).
    start_after, end_after = start, end_before + len(lines_after) - len(lines_before)
    if end_after < start_after:
        raise Rejected("change not inside one function")
    if max(end_before - start, end_after - start_after) + 1 > limits.max_function_lines:
        raise Rejected("function too long")
    text_before = _dedent(lines_before[start - 1 : end_before])
    text_after = _dedent(lines_after[start_after - 1 : end_after])
    func_before, func_after = _compiles(text_before), _compiles(text_after)
    node_after = func_after.body[0] if func_after.body else None
    if (
        not isinstance(node_after, ast.FunctionDef | ast.AsyncFunctionDef)
        or len(func_after.body) != 1
        or node_after.name != node_before.name
    ):
        raise Rejected("change not inside one function")
    if ast.dump(func_before.body[0]) == ast.dump(node_after):
        raise Rejected("formatting or comments only")
    if not _differ_beyond(text_before, text_after, _Normalise):
        raise Rejected("strings only")
    if not _differ_beyond(text_before, text_after, _NoAnnotations):
        raise Rejected("annotations only")
    if _is_rename(text_before, text_after):
        raise Rejected("rename")
    shift = start - 1
    local_removed = {n - shift for n in _code_lines(lines_before, removed)}
    local_added = {n - start_after + 1 for n in _code_lines(lines_after, added)}
    statements_before = list_statements(func_before, SourceIndex(text_before))
    statements_after = list_statements(func_after, SourceIndex(text_after))
    touched_before = _touched(statements_before, local_removed)
    touched_after = _touched(statements_after, local_added)
    if max(len(touched_before), len(touched_after)) > limits.max_statements:
        raise Rejected("too many statements")
    kinds = {s.node_type for s in touched_before + touched_after}
    if kinds <= {"Import", "ImportFrom"}:
        raise Rejected("imports only")
    buggy: set[int] = set(local_removed)
    for statement in touched_before:
        buggy.update(range(statement.line, statement.end_line + 1))
    category = "other"
    if len(touched_before) == 1 and len(touched_after) == 1:
        category = classify_change(
            _statement_node(func_before, touched_before[0]),
            _statement_node(func_after, touched_after[0]),
        )
    elif not touched_before and touched_after:
        category = "other"
    context = _context(tree_before, node_before, outer)
    context |= _context(tree_before, node_after, outer)
    return FunctionChange(
        function=name,
        before=text_before,
        after=text_after,
        buggy_lines=tuple(sorted(buggy)),
        changed_lines=tuple(sorted(local_removed)),
        file_line=start,
        category=category,
        context=tuple(sorted(context)),
    )


def _statement_node(tree: ast.Module, statement) -> ast.AST:
    """The ast statement a `Statement` stands for."""
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno == statement.line:
            if type(node).__name__ == statement.node_type:
                return node
    raise AssertionError("a listed statement has a node")
