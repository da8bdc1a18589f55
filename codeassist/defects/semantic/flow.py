"""Rules about values flowing to the wrong place inside one function.

``loop-variable-after-loop``: after ``for item in items:`` (no ``break``), the loop variable is
handed to a collection function (``len(item)``, ``sum(item)``, ``for x in item``) before anything
rebinds it: the collection was meant. Confident when the two names are singular and plural of
each other (``item``/``items``, ``entry``/``entries``).

``same-return-in-branches``: two ``if``s compare the same value with different parameters and
return a parameter, and one of them returns the other branch's parameter while the parameter it
compares with is returned nowhere (``clamp``: ``if value > high: return low``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from codeassist.defects.findings import Finding
from codeassist.defects.semantic.model import FileFacts, make_finding, walk_scope

LOOP_RULE = "loop-variable-after-loop"
RETURN_RULE = "same-return-in-branches"
RELATED_CONFIDENCE = 0.85
UNRELATED_CONFIDENCE = 0.55
RETURN_CONFIDENCE = 0.85
# Builtins that take a collection as their first argument.
COLLECTION_FUNCTIONS = frozenset(
    {"len", "sum", "max", "min", "sorted", "enumerate", "reversed", "any", "all", "zip"}
)
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def _statement_lists(tree: ast.AST):
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            value = getattr(node, field, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield value
        if isinstance(node, ast.Try | ast.TryStar):
            for handler in node.handlers:
                yield handler.body
        if isinstance(node, ast.Match):
            for case in node.cases:
                yield case.body


def _breaks(loop: ast.For | ast.AsyncFor) -> bool:
    todo: list[ast.AST] = list(loop.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Break):
            return True
        if isinstance(node, ast.For | ast.AsyncFor | ast.While):
            todo.extend(node.orelse)  # a nested loop's own break ends only that loop
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return False


def _related(variable: str, collection: str) -> bool:
    """``item``/``items``, ``entry``/``entries``, ``child``/``children``: one names an element
    of the other."""
    v, c = variable.lower(), collection.lower()
    if c in (v + "s", v + "es", v + "_list", v + "list") or c.startswith(v + "_"):
        return True
    prefix = 0
    for a, b in zip(v, c, strict=False):
        if a != b:
            break
        prefix += 1
    return len(c) > len(v) and prefix >= max(3, len(v) - 1)


def _stores(statement: ast.stmt, name: str) -> bool:
    return any(
        isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)
        for n in walk_scope_with(statement)
    )


def walk_scope_with(statement: ast.stmt):
    """The statement and its nodes in the same scope (a def or class: only itself)."""
    yield statement
    if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield from walk_scope(statement)


def _collection_uses(statement: ast.stmt, name: str):
    """Nodes that hand the name to a collection function or iterate it."""
    for n in walk_scope_with(statement):
        if (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name)
            and n.func.id in COLLECTION_FUNCTIONS
            and n.args
            and isinstance(n.args[0], ast.Name)
            and n.args[0].id == name
        ):
            yield n, n.args[0]
        elif (
            isinstance(n, ast.For | ast.AsyncFor | ast.comprehension)
            and isinstance(n.iter, ast.Name)
            and n.iter.id == name
        ):
            yield n.iter, n.iter


def check_loop_variables(facts: FileFacts, path: str) -> list[Finding]:
    """Findings of ``loop-variable-after-loop`` for one file."""
    findings = []
    for body in _statement_lists(facts.tree):
        for i, loop in enumerate(body):
            if not isinstance(loop, ast.For | ast.AsyncFor) or not isinstance(
                loop.target, ast.Name
            ):
                continue
            if not isinstance(loop.iter, ast.Name | ast.Attribute) or _breaks(loop):
                continue
            variable = loop.target.id
            collection = ast.unparse(loop.iter)
            last = loop.iter.id if isinstance(loop.iter, ast.Name) else loop.iter.attr
            if last == variable or variable == "_":
                continue
            related = _related(variable, last)
            for statement in body[i + 1 :]:
                if _stores(statement, variable):
                    break  # rebound (a later loop over the same name): its uses are new
                uses = list(_collection_uses(statement, variable))
                for _, argument in uses:
                    findings.append(
                        make_finding(
                            facts,
                            path,
                            argument,
                            LOOP_RULE,
                            f"`{variable}` is the last element of the loop over `{collection}` "
                            f"(line {loop.lineno}); `{collection}` itself looks meant",
                            RELATED_CONFIDENCE if related else UNRELATED_CONFIDENCE,
                            fix=collection,
                        )
                    )
                if uses:
                    break
    return findings


@dataclass(frozen=True)
class _Guard:
    statement: ast.Return
    returned: str
    compared: frozenset[str]


def _guards(function: ast.FunctionDef | ast.AsyncFunctionDef, parameters: set[str]):
    for node in walk_scope(function):
        if not isinstance(node, ast.If) or len(node.body) != 1:
            continue
        statement = node.body[0]
        test = node.test
        if not (
            isinstance(statement, ast.Return)
            and isinstance(statement.value, ast.Name)
            and statement.value.id in parameters
            and isinstance(test, ast.Compare)
            and all(isinstance(op, _ORDERING) for op in test.ops)
        ):
            continue
        compared = frozenset(
            n.id for n in ast.walk(test) if isinstance(n, ast.Name) and n.id in parameters
        )
        yield _Guard(statement, statement.value.id, compared)


def check_branch_returns(facts: FileFacts, path: str) -> list[Finding]:
    """Findings of ``same-return-in-branches`` for one file."""
    findings = []
    for function in facts.nodes:
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        args = function.args
        parameters = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        guards = list(_guards(function, parameters))
        if len(guards) < 2:
            continue
        returned = {
            n.id
            for r in walk_scope(function)
            if isinstance(r, ast.Return) and r.value is not None
            for n in ast.walk(r.value)
            if isinstance(n, ast.Name)
        }
        for guard in guards:
            if guard.returned in guard.compared:
                continue
            partners = [
                g
                for g in guards
                if g is not guard and g.returned == guard.returned and g.returned in g.compared
            ]
            meant = sorted(guard.compared - returned - {guard.returned})
            for other in partners:
                shared = (guard.compared & other.compared) - {guard.returned, *meant}
                if len(meant) == 1 and shared:
                    findings.append(
                        make_finding(
                            facts,
                            path,
                            guard.statement,
                            RETURN_RULE,
                            f"returns `{guard.returned}` in the branch that compares with "
                            f"`{meant[0]}`, as the branch at line {other.statement.lineno} "
                            f"does; `{meant[0]}` is returned nowhere",
                            RETURN_CONFIDENCE,
                            fix=f"return {meant[0]}",
                        )
                    )
                    break
    return findings
