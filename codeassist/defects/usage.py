"""How a statement's names and attributes are used elsewhere: the facts a reviewer checks first
when a variable or attribute looks wrong.

A wrong variable usually leaves a trace: the name read instead of the right one may only be
assigned further down in the function (a read before any assignment), be read nowhere else, or
now appear twice in one expression. A wrong attribute may be called where everywhere else it is
read as data (or the reverse), or be read on ``self`` without ever being set or defined in the
file. An argument named like another parameter of the function the file defines is the classic
sign of swapped arguments. The code model sees only a window of a few lines, so these facts come
from the enclosing function and the file. They are computed from the syntax tree alone, the same
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
    "argument_named_as_other_parameter",  # f(b, a) where the file defines f(a, b)
    "attribute_call_mismatch",  # base.attr called here, only read elsewhere (or the reverse)
    "self_attribute_never_set",  # self.attr read here, never set or defined in the file
    "repeated_attribute",  # most uses of one base.attr in this statement, minus one
    "attribute_fewest_other_uses",  # fewest uses elsewhere of a base.attr used here (NaN: none)
)
N_USAGE = len(USAGE_FEATURES)
N_NAME_FACTS = 4  # the columns about local names come first
_ARGUMENTS = N_NAME_FACTS  # then the call fact, then the attribute facts


@dataclass
class _Function:
    body_start: int
    end: int
    params: set[str]
    outer: set[str] = field(default_factory=set)  # declared global or nonlocal
    stores: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    loads: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


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


def _function(node: ast.FunctionDef | ast.AsyncFunctionDef, index: SourceIndex) -> _Function:
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


def _attribute_uses(tree: ast.Module, index: SourceIndex) -> tuple[list[_AttributeUse], set[str]]:
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
    functions = [
        _function(node, index)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.body
    ]
    # innermost first: the shortest function whose body holds the statement
    functions.sort(key=lambda f: f.end - f.body_start)
    uses, defined = _attribute_uses(tree, index)
    offsets = np.array([u.offset for u in uses], np.int64)
    pair_count = Counter((u.base, u.attr) for u in uses)
    pair_called = Counter((u.base, u.attr) for u in uses if u.called)
    pair_read = Counter((u.base, u.attr) for u in uses if not u.called and not u.stored)
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
            out[row, _ARGUMENTS + 1 :] = [
                mismatch,
                never_set,
                max(pairs.values()) - 1,
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
    return [before_assignment, read_once, repeated, len(reads)]
