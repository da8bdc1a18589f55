"""Semantic engine: deterministic rules for bugs a reviewer sees at once, read off one file's
syntax tree (a ``self`` attribute no code sets, a loop variable where its collection was meant, a
``clamp`` returning the wrong bound, a call that does not fit the function the file defines, a
pure call's result dropped).

Each rule speaks only when the file shows everything it needs; anything that could make the code
right at run time (an unresolvable base class, a decorator, ``setattr``, ``__getattr__``) keeps it
quiet. Rule ids are ``semantic/<rule>``; a fix is replacement text for the flagged span and is
offered only when the fixed file parses. The analysed code is never imported or run.
"""

from __future__ import annotations

import ast
from typing import Any

from codeassist.defects.findings import Finding
from codeassist.defects.semantic.attributes import RULE as ATTRIBUTE_RULE
from codeassist.defects.semantic.attributes import check_self_attributes
from codeassist.defects.semantic.calls import (
    ARITY_RULE,
    DISCARD_RULE,
    check_call_arity,
    check_discarded_calls,
)
from codeassist.defects.semantic.flow import (
    LOOP_RULE,
    RETURN_RULE,
    check_branch_returns,
    check_loop_variables,
)
from codeassist.defects.semantic.model import FileFacts

# One line per rule, for people and for SARIF rule descriptors.
RULE_DESCRIPTIONS: dict[str, str] = {
    ATTRIBUTE_RULE: "An attribute read on `self` that the class and its bases never set or define.",
    LOOP_RULE: "A loop variable used after its loop where the collection looks meant.",
    RETURN_RULE: "A branch returns the parameter another branch returns, not the one it "
    "compares with.",
    ARITY_RULE: "A call that does not fit the signature of the function this file defines.",
    DISCARD_RULE: "The result of a call without side effects is dropped.",
}

_CHECKS = (
    check_self_attributes,
    check_loop_variables,
    check_branch_returns,
    check_call_arity,
    check_discarded_calls,
)


def check_semantic(source: str, path: str, tree: ast.Module | None = None) -> list[Finding]:
    """The semantic rules over one file, findings by position (all confidences; the caller
    applies its threshold).

    Args:
        source: The file's text.
        path: The name to report.
        tree: Its parsed module, when the caller has it already.

    Raises:
        SyntaxError: the text is not valid Python (only when `tree` is None).
    """
    facts = FileFacts(tree if tree is not None else ast.parse(source), source)
    findings = [f for check in _CHECKS for f in check(facts, path)]
    unique = {(f.line, f.column, f.rule_id): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.line, f.column, f.rule_id))


def describe_sarif_rules(document: dict[str, Any]) -> dict[str, Any]:
    """Give the semantic rules of a SARIF document (built by `codeassist.defects.sarif.build_sarif`,
    which describes every non-learned rule as ruff's) their own descriptions, in place."""
    for run in document.get("runs", []):
        for rule in run["tool"]["driver"].get("rules", []):
            name = rule["id"].removeprefix("semantic/")
            if name not in RULE_DESCRIPTIONS or not rule["id"].startswith("semantic/"):
                continue
            text = RULE_DESCRIPTIONS[name]
            rule["shortDescription"] = {"text": text}
            rule["fullDescription"] = {
                "text": f"{text} A deterministic rule of moesuite's semantic engine; it stays "
                "quiet whenever the file does not show everything it needs."
            }
            rule["properties"] = {"tags": ["correctness", "semantic", name], "precision": "high"}
            rule.pop("helpUri", None)
    return document
