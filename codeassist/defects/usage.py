"""How a statement's names and attributes are used elsewhere: the facts a reviewer checks first
when a variable or attribute looks wrong.

A wrong variable usually leaves a trace: the name read instead of the right one may only be
assigned further down in the function (a read before any assignment), be read nowhere else, now
appear twice in one expression, or be used in a role it has nowhere else in the function (a
name only ever passed to ``len`` now added to a number; in the manner of DeepBugs, the role
stands in for the type a reviewer would infer). A wrong attribute may be called where
everywhere else it is read as data (or the reverse), be read on ``self`` without ever being set
or defined in the file, or be used in a role it has nowhere else in the file. An argument named
like another parameter of the function the file defines is the classic sign of swapped
arguments. The code model sees only a window of a few lines, so these facts come from the
enclosing function and the file. They are computed from the syntax tree alone, the same
way for a mutant at training time and a user's file at detection time.
"""

from __future__ import annotations

import ast
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from codeassist.defects.statements import SourceIndex, Statement

# Column order of `usage_features`.
USAGE_FEATURES: tuple[str, ...] = (
    "reads_before_assignment",  # local names read here before any assignment in the function
    "names_read_once",  # local names read here and nowhere else in the function
    "repeated_name",  # most reads of one local name in this statement, minus one
    "local_reads",  # reads of local names in this statement
    "name_role_unseen",  # names read here in a role (see `_role`) they have nowhere else
    "argument_named_as_other_parameter",  # f(b, a) where the file defines f(a, b)
    "attribute_call_mismatch",  # base.attr called here, only read elsewhere (or the reverse)
    "self_attribute_never_set",  # self.attr read here, never set or defined in the file
    "repeated_attribute",  # most uses of one base.attr in this statement, minus one
    "attribute_role_unseen",  # base.attr read here in a role it has nowhere else in the file
    "attribute_fewest_other_uses",  # fewest uses elsewhere of a base.attr used here (NaN: none)
)
N_USAGE = len(USAGE_FEATURES)
N_NAME_FACTS = 5  # the columns about names in a function come first
_ARGUMENTS = N_NAME_FACTS  # then the call fact, then the attribute facts


_Parents = dict[int, tuple[ast.AST, str, int | None]]  # id(node): (parent, field, list index)


def _parents(tree: ast.Module) -> _Parents:
    found: _Parents = {}
    for node in ast.walk(tree):
        for name, value in ast.iter_fields(node):
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        found[id(item)] = (node, name, i)
            elif isinstance(value, ast.AST):
                found[id(value)] = (node, name, None)
    return found


def _role(node: ast.expr, parents: _Parents) -> tuple:
    """How an expression is used: where it sits in its parent, with the detail that tells
    uses apart (the attribute taken of it, the callee and position it is passed at, the
    keyword, the operator)."""
    parent, name, position = parents.get(id(node), (None, "", None))
    role: tuple = (type(parent).__name__, name)
    if isinstance(parent, ast.Attribute):
        return (*role, parent.attr)
    if isinstance(parent, ast.Call) and name == "args":
        callee = _argument_name(parent.func)
        return (*role, callee, position)
    if isinstance(parent, ast.keyword):
        return (*role, parent.arg)
    if isinstance(parent, ast.BinOp):
        return (*role, type(parent.op).__name__)
    if isinstance(parent, ast.Compare):
        return (*role, *(type(op).__name__ for op in parent.ops))
    return role


@dataclass
class _Function:
    body_start: int
    end: int
    params: set[str]
    outer: set[str] = field(default_factory=set)  # declared global or nonlocal
    stores: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    loads: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    # every name read (locals and others alike) with its role, by offset
    roles: dict[int, tuple[str, tuple]] = field(default_factory=dict)
    role_count: Counter = field(default_factory=Counter)  # (name, role)
    read_count: Counter = field(default_factory=Counter)  # name


def _bound_names(node: ast.AST) -> list[str]:
    """Names a non-Name node binds (except handlers, imports, match patterns)."""
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [node.name]
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
        return [node.name]
    if isinstance(node, ast.MatchMapping) and node.rest:
        return [node.rest]
    return []


def _function(
    node: ast.FunctionDef | ast.AsyncFunctionDef, index: SourceIndex, parents: _Parents
) -> _Function:
    args = node.args
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    first = node.body[0]
    record = _Function(index.offset(first.lineno, first.col_offset), index.span(node)[1], params)
    for stmt in node.body:
        for child in ast.walk(stmt):
            if isinstance(child, ast.Global | ast.Nonlocal):
                record.outer.update(child.names)
            elif isinstance(child, ast.Name):
                at = index.offset(child.lineno, child.col_offset)
                if isinstance(child.ctx, ast.Store):
                    record.stores[child.id].append(at)
                else:  # Load and Del both need the name bound
                    record.loads[child.id].append(at)
                if isinstance(child.ctx, ast.Load) and child.id not in ("self", "cls"):
                    role = _role(child, parents)
                    record.roles[at] = (child.id, role)
                    record.role_count[child.id, role] += 1
                    record.read_count[child.id] += 1
            else:
                for name in _bound_names(child):
                    at = index.offset(child.lineno, child.col_offset)
                    record.stores[name].append(at)
    return record


@dataclass(frozen=True)
class _AttributeUse:
    offset: int
    base: str
    attr: str
    called: bool
    stored: bool
    role: tuple


def _attribute_uses(
    tree: ast.Module, index: SourceIndex, parents: _Parents
) -> tuple[list[_AttributeUse], set[str]]:
    """Every ``base.attr`` with its base's source text, and the names the file defines in class
    bodies (methods, class attributes) or sets on ``self``."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    uses: list[_AttributeUse] = []
    defined: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            start, end = index.span(node.value)
            stored = isinstance(node.ctx, ast.Store | ast.Del)
            base = index.source[start:end]
            uses.append(
                _AttributeUse(
                    index.offset(node.end_lineno, node.end_col_offset) - len(node.attr),
                    base,
                    node.attr,
                    id(node) in called,
                    stored,
                    _role(node, parents),
                )
            )
            if stored and base == "self":
                defined.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    defined.add(item.name)
                elif isinstance(item, ast.Assign | ast.AnnAssign | ast.AugAssign):
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    for target in targets:
                        defined |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    uses.sort(key=lambda u: u.offset)
    return uses, defined


def _positional_parameters(tree: ast.Module) -> dict[str, list[str]]:
    """Positional parameter names (without self/cls) of each function or method the file
    defines, by name; a name defined twice with different parameters is left out."""
    found: dict[str, list[str] | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = [a.arg for a in node.args.posonlyargs + node.args.args]
            if names and names[0] in ("self", "cls"):
                names = names[1:]
            if node.name in found and found[node.name] != names:
                found[node.name] = None
            else:
                found[node.name] = names
    return {k: v for k, v in found.items() if v}


def _argument_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _call_sites(tree: ast.Module, index: SourceIndex) -> list[tuple[int, int]]:
    """(offset, misplaced arguments) of every call to a function the file defines: arguments
    named like another of its parameters (positionally, or passed as another keyword)."""
    parameters = _positional_parameters(tree)
    sites = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = _argument_name(node.func)
        params = parameters.get(callee) if callee else None
        if not params:
            continue
        misplaced = 0
        for i, arg in enumerate(node.args):
            name = _argument_name(arg)
            misplaced += name in params and params.index(name) != i
        for keyword in node.keywords:
            name = _argument_name(keyword.value)
            misplaced += keyword.arg is not None and name in params and name != keyword.arg
        sites.append((index.offset(node.lineno, node.col_offset), misplaced))
    sites.sort()
    return sites


def usage_features(tree: ast.Module, index: SourceIndex, statements: list[Statement]) -> np.ndarray:
    """``[len(statements), N_USAGE]`` usage facts (columns named in `USAGE_FEATURES`)."""
    parents = _parents(tree)
    functions = [
        _function(node, index, parents)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.body
    ]
    # innermost first: the shortest function whose body holds the statement
    functions.sort(key=lambda f: f.end - f.body_start)
    uses, defined = _attribute_uses(tree, index, parents)
    offsets = np.array([u.offset for u in uses], np.int64)
    pair_count = Counter((u.base, u.attr) for u in uses)
    pair_called = Counter((u.base, u.attr) for u in uses if u.called)
    pair_read = Counter((u.base, u.attr) for u in uses if not u.called and not u.stored)
    pair_loaded = Counter((u.base, u.attr) for u in uses if not u.stored)
    role_loaded = Counter((u.base, u.attr, u.role) for u in uses if not u.stored)
    calls = _call_sites(tree, index)
    call_offsets = np.array([at for at, _ in calls], np.int64)
    out = np.full((len(statements), N_USAGE), np.nan, np.float32)
    for row, statement in enumerate(statements):
        # name facts stay NaN outside a function (no locals); counts start at 0
        out[row, _ARGUMENTS : N_USAGE - 1] = 0
        lo, hi = np.searchsorted(call_offsets, [statement.start, statement.end])
        out[row, _ARGUMENTS] = sum(n for _, n in calls[lo:hi])
        scope = next((f for f in functions if f.body_start <= statement.start < f.end), None)
        if scope is not None:
            out[row, :N_NAME_FACTS] = _name_facts(scope, statement)
        lo, hi = np.searchsorted(offsets, [statement.start, statement.end])
        mine = uses[lo:hi]
        if mine:
            mismatch = never_set = 0
            for u in mine:
                key = (u.base, u.attr)
                elsewhere_called = pair_called[key] - u.called
                elsewhere_read = pair_read[key] - (not u.called and not u.stored)
                if u.called and elsewhere_read and not elsewhere_called:
                    mismatch += 1
                elif not u.called and not u.stored and elsewhere_called and not elsewhere_read:
                    mismatch += 1
                if u.base == "self" and not u.stored and u.attr not in defined:
                    never_set += 1
            pairs = Counter((u.base, u.attr) for u in mine)
            loaded = Counter((u.base, u.attr) for u in mine if not u.stored)
            roles = Counter((u.base, u.attr, u.role) for u in mine if not u.stored)
            role_unseen = sum(
                1
                for (base, attr, role), n in roles.items()
                if role_loaded[base, attr, role] == n
                and pair_loaded[base, attr] > loaded[base, attr]
            )
            out[row, _ARGUMENTS + 1 :] = [
                mismatch,
                never_set,
                max(pairs.values()) - 1,
                role_unseen,
                min(pair_count[p] - n for p, n in pairs.items()),
            ]
    return out


def _name_facts(scope: _Function, statement: Statement) -> list[float]:
    """The first `N_NAME_FACTS` columns for a statement inside `scope`."""
    local = (scope.params | scope.stores.keys()) - scope.outer
    reads = [
        (name, at)
        for name, ats in scope.loads.items()
        if name in local and name not in ("self", "cls")
        for at in ats
        if statement.start <= at < statement.end
    ]
    before_assignment = sum(
        1 for name, at in reads if name not in scope.params and min(scope.stores[name]) > at
    )
    counts = Counter(name for name, _ in reads)
    read_once = sum(1 for name in counts if len(scope.loads[name]) == counts[name])
    repeated = max(counts.values()) - 1 if counts else 0
    # any name read here (not only locals): used here in a way it is used nowhere else
    mine = [use for at, use in scope.roles.items() if statement.start <= at < statement.end]
    names = Counter(name for name, _ in mine)
    roles = Counter(mine)
    role_unseen = sum(
        1
        for (name, role), n in roles.items()
        if scope.role_count[name, role] == n and scope.read_count[name] > names[name]
    )
    return [before_assignment, read_once, repeated, len(reads), role_unseen]
