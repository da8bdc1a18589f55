"""Fix proposals for learned findings: invert the mutation pattern of the predicted kind.

The candidate edits inside the flagged statement are the generator's own mutations of that kind
(they are their own inverses: swap back, flip the operator, drop or add ``not``, +/- 1, another
name), plus ``return`` put back for a dropped return. Each candidate must parse; they are ranked
by the code model's surprisal of the surrounding lines, all candidates in one batched pass.
"""

from __future__ import annotations

import ast

from codeassist.defects.mutate import Mutation, list_mutations
from codeassist.defects.statements import Statement
from core_model.config import FeatureOptions
from core_model.features import extract_features
from core_model.load import Model

MAX_CANDIDATES = 12
CONTEXT_LINES = 15


def _candidates(source: str, statement: Statement, kind: str) -> list[Mutation]:
    found = [
        m
        for m in list_mutations(source).get(kind, [])
        if statement.start <= m.start and m.end <= statement.end
    ]
    if kind == "dropped_return":
        text = source[statement.start : statement.end]
        if statement.node_type == "Expr" and not text.startswith(("return", "await")):
            found.append(Mutation(kind, statement.start, statement.end, text, f"return {text}"))
    return found[:MAX_CANDIDATES]


def propose_fix(model: Model, source: str, statement: Statement, kind: str) -> str | None:
    """Replacement text for the statement that the code model finds most natural, or None."""
    candidates = []
    for mutation in _candidates(source, statement, kind):
        fixed = mutation.apply(source)
        try:
            ast.parse(fixed)
        except (SyntaxError, ValueError):
            continue
        candidates.append((mutation, fixed))
    if not candidates:
        return None
    lines = source.splitlines(keepends=True)
    first = max(0, statement.line - 1 - CONTEXT_LINES)
    prefix = "".join(lines[:first])
    texts = []
    for _mutation, fixed in candidates:
        after = fixed.splitlines(keepends=True)
        extra = len(after) - len(lines)
        texts.append("".join(after[first : statement.end_line + CONTEXT_LINES + extra]))
    features = extract_features(model, texts, FeatureOptions(batch_size=8, max_length=512))
    best = int(features.mean_surprisal.argmin())
    mutation, fixed = candidates[best]
    delta = len(mutation.mutated) - len(mutation.original)
    assert fixed.startswith(prefix)
    return fixed[statement.start : statement.end + delta]
