"""Rule ``undefined-self-attribute``: ``self.X`` read in a method when neither the class nor any
of its ancestors sets or defines ``X`` (``return self.balanse`` where only ``self.balance`` is
ever set).

Only classes whose own ``__init__`` (or an ancestor's in the file) sets up the instance: one
that initialises nothing is a mixin, read against state other classes supply. Held back
whenever the class could gain attributes the file does not show (see
`FileFacts.class_is_closed`), when ``X`` is assigned on anything anywhere in the file, appears as a
string (``getattr(self, "X")``, ``hasattr``), is bound in any class body of the file (a subclass
may supply it), or the read sits under ``except AttributeError``. A misspelling of a name the
class does set (an edit or two away) is reported at high confidence with the fix; a name with no
near neighbour (a mixin may expect a subclass in another file to supply it) only at a lower one.
A class without bases that calls ``super()`` is a mixin too.
"""

from __future__ import annotations

import ast
import difflib

from codeassist.defects.findings import Finding
from codeassist.defects.semantic.model import (
    BUILTIN_TYPES,
    OBJECT_ATTRIBUTES,
    FileFacts,
    body_names,
    decorator_name,
    make_finding,
)

RULE = "undefined-self-attribute"
TYPO_CONFIDENCE = 0.9
UNKNOWN_CONFIDENCE = 0.55


def _guarded_reads(method: ast.AST) -> set[int]:
    """ids of nodes inside ``try`` bodies that catch AttributeError (or everything)."""
    guarded: set[int] = set()
    for node in ast.walk(method):
        if not isinstance(node, ast.Try):
            continue
        names = set()
        for handler in node.handlers:
            if handler.type is None:
                names.add("AttributeError")
            else:
                for t in ast.walk(handler.type):
                    if isinstance(t, ast.Name | ast.Attribute):
                        names.add(t.id if isinstance(t, ast.Name) else t.attr)
        if names & {"AttributeError", "Exception", "BaseException"}:
            for statement in node.body:
                guarded.update(id(n) for n in ast.walk(statement))
    return guarded


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def closest_name(name: str, names: set[str]) -> str | None:
    """The one name `name` looks like a misspelling of: at most one edit in four characters
    (two at most), the nearest by difflib's ratio among those. ``_print`` is not a misspelling
    of ``_print_Min``; ``balanse`` is one of ``balance``."""
    budget = max(1, min(2, len(name) // 4))
    near = [n for n in names if not n.startswith("__") and edit_distance(name, n) <= budget]
    if not near:
        return None
    return max(sorted(near), key=lambda n: difflib.SequenceMatcher(None, name, n).ratio())


def _cooperative(chain: list) -> bool:
    """A class of the chain without bases calls ``super()``: it is written to sit before other
    classes in an MRO this file does not show (a mixin)."""
    return any(
        isinstance(c, ast.ClassDef)
        and not c.bases
        and any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "super"
            for n in ast.walk(c)
        )
        for c in chain
    )


def _defined(chain: list, facts: FileFacts) -> set[str]:
    names: set[str] = set(OBJECT_ATTRIBUTES)
    for item in chain:
        if isinstance(item, str):
            names |= BUILTIN_TYPES[item]
        else:
            names |= body_names(item)
            names.update(
                n.attr
                for n in ast.walk(item)
                if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store | ast.Del)
            )
    return names


def _instance_methods(node: ast.ClassDef):
    for item in node.body:
        if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if any(decorator_name(d) in ("staticmethod", "classmethod") for d in item.decorator_list):
            continue
        args = item.args.posonlyargs + item.args.args
        if args and args[0].arg == "self":
            yield item


def check_self_attributes(facts: FileFacts, path: str) -> list[Finding]:
    """Findings of this rule for one file."""
    findings = []
    for node in facts.nodes:
        if not isinstance(node, ast.ClassDef):
            continue
        chain = facts.ancestry(node)
        if (
            chain is None
            or _cooperative(chain)
            or not any(isinstance(c, ast.ClassDef) and "__init__" in body_names(c) for c in chain)
        ):
            continue  # a class that initialises nothing itself is a mixin: others supply state
        defined = _defined(chain, facts)
        # Names spelled in the file some other way keep a read quiet: the rule only speaks when
        # nothing in the file could supply the attribute.
        quiet = defined | facts.stored_attributes | facts.strings | facts.class_body_names
        for method in _instance_methods(node):
            if any(
                isinstance(n, ast.Name) and n.id == "self" and not isinstance(n.ctx, ast.Load)
                for n in ast.walk(method)
            ):
                continue  # `self` rebound: reads are not on the instance
            guarded = _guarded_reads(method)
            for n in ast.walk(method):
                if not (
                    isinstance(n, ast.Attribute)
                    and isinstance(n.ctx, ast.Load)
                    and isinstance(n.value, ast.Name)
                    and n.value.id == "self"
                    and n.attr not in quiet
                    and id(n) not in guarded
                ):
                    continue
                close = closest_name(n.attr, defined)
                message = f"`self.{n.attr}` is never set or defined in `{node.name}` or its bases"
                findings.append(
                    make_finding(
                        facts,
                        path,
                        n,
                        RULE,
                        f"{message}; did you mean `self.{close}`?" if close else message,
                        TYPO_CONFIDENCE if close else UNKNOWN_CONFIDENCE,
                        fix=f"self.{close}" if close else None,
                    )
                )
    return findings
