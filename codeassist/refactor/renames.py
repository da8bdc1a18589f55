"""Safe renames of ambiguous local names (pycodestyle E741: ``l``, ``O``, ``I``).

A rename is safe only where nothing outside the function can observe the name: the name is a
plain local variable of a function (never a parameter, which keyword callers may use, never a
module global or class attribute, which other code may import or read), the function reads no
frame or namespace dynamically (``locals()``, ``eval`` ...), and the new name occurs nowhere in
the module. Where any of that fails, the name is left alone and reported.

The new name is fixed (``l`` -> ``l_``), so the verification gate can undo a rename on the
rewritten tree and compare it with the original without trusting the fixer
(`reverse_renames`, used by `codeassist.refactor.verify`).
"""

from __future__ import annotations

import ast
import re
from collections import deque

AMBIGUOUS = ("l", "O", "I")
_QUICK = re.compile(r"\b[lOI]\b")
# Anything that can read a function's variables by name defeats a rename.
_DYNAMIC_NAMES = frozenset({"locals", "vars", "eval", "exec", "dir", "globals"})
# ... but dir(x) and vars(x) read x's attributes: only the bare calls read the local namespace
_DYNAMIC_WITHOUT_ARGUMENTS = frozenset({"vars", "dir"})
# names no other API uses: a frame is being read, whatever the object
_FRAME_ATTRS = frozenset({"_getframe", "currentframe", "f_locals", "f_back", "_current_frames"})
# functions of inspect and traceback that hand out frames, under names other libraries use too
# (torch.stack, np.stack, self.stack): frame readers only when reached through those modules
_FRAME_FUNCTIONS = frozenset({"stack", "trace", "getouterframes", "getinnerframes", "walk_stack"})
_FRAME_MODULES = frozenset({"inspect", "traceback"})
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def new_name(old: str) -> str:
    return old + "_"


def module_identifiers(tree: ast.AST) -> set[str]:
    """Every identifier spelled anywhere in the module (names, attributes, keywords ...)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        for attr in ("id", "arg", "name", "asname", "attr", "rest"):
            value = getattr(node, attr, None)
            if isinstance(value, str):
                found.add(value)
        if isinstance(node, ast.Global | ast.Nonlocal):
            found.update(node.names)
        if isinstance(node, ast.MatchClass):
            found.update(node.kwd_attrs)
    return found


def _own_scope_nodes(func: ast.AST):
    """Nodes evaluated in ``func``'s own scope (nested scopes excluded, but a walrus inside a
    comprehension binds in the function, so comprehensions are entered)."""
    stack = list(ast.iter_child_nodes(func))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _SCOPES):
            continue
        stack.extend(ast.iter_child_nodes(node))


def binds_locally(func: ast.AST, name: str) -> bool:
    for node in _own_scope_nodes(func):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            return True
    return False


def frame_module_names(tree: ast.AST) -> frozenset[str]:
    """Names under which the module reaches a frame-reading module (``import inspect as
    ins``) or one of its frame functions (``from inspect import stack``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in _FRAME_MODULES:
                    names.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module in _FRAME_MODULES:
            names.update(alias.asname or alias.name for alias in node.names)
    return frozenset(names)


def _reads_namespace(node: ast.AST, parent_call: ast.Call | None) -> str | None:
    """The dynamic namespace read ``node`` makes, if it makes one."""
    if isinstance(node, ast.Name) and node.id in _DYNAMIC_NAMES:
        called_with_args = parent_call is not None and (parent_call.args or parent_call.keywords)
        if node.id in _DYNAMIC_WITHOUT_ARGUMENTS and called_with_args:
            return None
        return f"the function calls {node.id}(), which can read '{{old}}' by name"
    return None


def rename_is_safe(
    func: ast.AST, old: str, module_ids: set[str], frame_names: frozenset[str] = frozenset()
) -> str | None:
    """Why renaming ``old`` across ``func``'s subtree is unsafe, or None when it is safe.

    ``frame_names`` are the module's names for inspect/traceback and their frame functions
    (`frame_module_names`); a module that has none cannot reach a frame through them."""
    callee = {id(n.func): n for n in ast.walk(func) if isinstance(n, ast.Call)}
    if new_name(old) in module_ids:
        return f"'{new_name(old)}' is already used in the module"
    if not binds_locally(func, old):
        return f"'{old}' is not a local variable of {getattr(func, 'name', '?')}"
    for node in ast.walk(func):
        if isinstance(node, ast.arg) and node.arg == old:
            return f"'{old}' is a parameter (keyword callers would break)"
        if isinstance(node, ast.Global | ast.Nonlocal) and old in node.names:
            return f"'{old}' is declared global/nonlocal"
        if isinstance(node, ast.ExceptHandler | ast.alias | ast.MatchAs | ast.MatchStar):
            if old in (getattr(node, "name", None), getattr(node, "asname", None)):
                return f"'{old}' is bound by except/import/match"
        if isinstance(node, ast.MatchMapping) and node.rest == old:
            return f"'{old}' is bound by match"
        if isinstance(node, (*_FUNCTIONS, ast.ClassDef)) and node is not func and node.name == old:
            return f"'{old}' names a nested definition"
        if isinstance(node, ast.ClassDef) and any(
            isinstance(n, ast.Name) and n.id == old for n in ast.walk(node)
        ):
            return f"'{old}' is used in a nested class body"
        why = _reads_namespace(node, callee.get(id(node)))
        if why is not None:
            return why.format(old=old)
        if isinstance(node, ast.Attribute) and (
            node.attr in _FRAME_ATTRS
            or node.attr in _FRAME_FUNCTIONS
            and isinstance(node.value, ast.Name)
            and node.value.id in frame_names
        ):
            return f"the function inspects frames ({node.attr}), which can read '{old}'"
        if isinstance(node, ast.Name) and (
            node.id in _FRAME_ATTRS or node.id in _FRAME_FUNCTIONS and node.id in frame_names
        ):
            return f"the function inspects frames ({node.id}), which can read '{old}'"
    return None


def _functions_outermost_first(tree: ast.AST):
    queue = deque([tree])
    while queue:
        node = queue.popleft()
        if isinstance(node, _FUNCTIONS):
            yield node
        queue.extend(ast.iter_child_nodes(node))


def plan_renames(tree: ast.AST) -> tuple[list[tuple[ast.Name, str]], list[tuple[int, str]]]:
    """Name nodes to rename (node, new name) and, for ambiguous names that stay, why."""
    module_ids = module_identifiers(tree)
    frame_names = frame_module_names(tree)
    renames: list[tuple[ast.Name, str]] = []
    done: set[int] = set()  # ids of Name nodes already covered by an outer function
    refused: list[tuple[int, str]] = []
    for func in _functions_outermost_first(tree):
        for old in AMBIGUOUS:
            names = [n for n in ast.walk(func) if isinstance(n, ast.Name) and n.id == old]
            if not names or id(names[0]) in done or not binds_locally(func, old):
                continue
            why = rename_is_safe(func, old, module_ids, frame_names)
            if why is not None:
                refused.append((names[0].lineno, why))
                continue
            renames.extend((n, new_name(old)) for n in names)
            done.update(id(n) for n in names)
    return renames, refused


def fix_ambiguous_names(source: str) -> str:
    """Rename ambiguous local variables where `rename_is_safe`; everything else is kept."""
    if not _QUICK.search(source):
        return source
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    if not any(isinstance(n, ast.Name) and n.id in AMBIGUOUS for n in ast.walk(tree)):
        return source
    renames, _ = plan_renames(tree)
    if not renames:
        return source
    lines = [line.encode("utf-8") for line in source.splitlines(keepends=True)]
    # ast offsets are UTF-8 byte columns; edit right to left so earlier offsets stay valid.
    for node, name in sorted(renames, key=lambda r: (r[0].lineno, r[0].col_offset), reverse=True):
        row = node.lineno - 1
        line = lines[row]
        if node.end_lineno != node.lineno or line[node.col_offset : node.end_col_offset] != (
            node.id.encode()
        ):
            return source  # positions we cannot trust: change nothing
        lines[row] = line[: node.col_offset] + name.encode() + line[node.end_col_offset :]
    return b"".join(lines).decode("utf-8")


def reverse_renames(original: ast.AST, rewritten: ast.AST) -> int:
    """Undo, in ``rewritten``, every ambiguous-name rename that is safe judged on the code
    itself; returns how many functions were reversed. The caller then compares the trees:
    a rename that was not a faithful, safe alpha-renaming leaves them different."""
    renamed = {new_name(old) for old in AMBIGUOUS}
    if not any(isinstance(n, ast.Name) and n.id in renamed for n in ast.walk(rewritten)):
        return 0
    module_ids = module_identifiers(original)
    frame_names = frame_module_names(original)
    count = 0
    for func in _functions_outermost_first(rewritten):
        for old in AMBIGUOUS:
            new = new_name(old)
            names = [n for n in ast.walk(func) if isinstance(n, ast.Name)]
            if not any(n.id == new for n in names) or any(n.id == old for n in names):
                continue
            for n in names:
                if n.id == new:
                    n.id = old
            # Judge safety on the reversed function, i.e. on what the original must have been
            # for the trees to compare equal.
            if rename_is_safe(func, old, module_ids, frame_names) is not None:
                for n in names:
                    if n.id == old:
                        n.id = new
                continue
            count += 1
    return count
