"""Fix proposals for learned findings: invert the mutation pattern of the predicted kind.

The candidate edits inside the flagged statement are the generator's own mutations of that kind
(they are their own inverses: swap back, flip the operator, drop or add ``not``, +/- 1, another
name), plus ``return`` put back for a dropped return. Each candidate must parse; they are ranked
by the code model's surprisal of the surrounding lines, all candidates in one batched pass.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections import Counter

from codeassist.defects.mutate import Mutation, list_mutations
from codeassist.defects.statements import Statement
from core_model.config import FeatureOptions
from core_model.features import extract_features
from core_model.load import Model

MAX_CANDIDATES = 12
CONTEXT_LINES = 15
# A fix a person can read at a glance; a long statement gets the finding without one (issue 17:
# a 15-line dict literal offered as the fix of an operator).
MAX_FIX_LINES = 3
MAX_FIX_CHARS = 200
_ARITHMETIC = frozenset({"+", "-", "*", "/", "//", "%", "**", "@"})
_BITWISE = frozenset({"<<", ">>", "&", "|", "^", "~"})


def _operators(text: str) -> Counter[str] | None:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    return Counter(t.string for t in tokens if t.type == tokenize.OP)


def reads_as_fix(original: str, fixed: str) -> bool:
    """Whether `fixed` (a statement's text with one edit) is worth offering for `original`:
    it changes something, is short enough to read, and does not swap arithmetic for bit
    twiddling or back (issue 17: ``np.empty(1) << 34`` offered for ``* 34``), a change no
    one makes to fix a typo."""
    if fixed.strip() == original.strip():
        return False
    if fixed.count("\n") + 1 > MAX_FIX_LINES or len(fixed) > MAX_FIX_CHARS:
        return False
    before, after = _operators(original), _operators(fixed)
    if before is None or after is None:
        return True
    added, removed = set(after - before), set(before - after)
    crosses = (added & _BITWISE and removed & _ARITHMETIC) or (
        added & _ARITHMETIC and removed & _BITWISE
    )
    return not crosses


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
