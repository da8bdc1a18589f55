"""The context window a statement is scored in, and the candidate edits it is compared with.

Every statement is scored in the same kind of window at training and at detection time: a few
lines before it (the code model's context), the statement, and the line after it (a header's
first body line tells the model what the condition was for). The window depends only on the
file's text around the statement, so a crop or a whole file give identical features.

The candidate edits are the seeded-bug generator's own mutations inside the statement (they are
their own inverses: swap back, flip the operator, drop or add ``not``, +/- 1, another name) plus
``return`` put back in front of a bare expression. In the manner of DeepBugs the detector asks
"is a nearby variant much more natural than what is written?": each variant is scored in the
same window and the surprisal differences are features.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from codeassist.defects.findings import BUG_KINDS
from codeassist.defects.mutate import Mutation
from codeassist.defects.statements import SourceIndex, Statement

CONTEXT_LINES = 6  # lines before the statement
CONTEXT_CHARS = 360  # ... but at most this many characters of them
TAIL_CHARS = 100  # of the line after the statement
MAX_VARIANTS = 7  # per statement (cost: one window each)
PER_KIND = 2  # per bug kind and statement


@dataclass(frozen=True)
class StatementWindow:
    """Character span ``[start, end)`` of the source scored for one statement."""

    start: int
    end: int


def statement_window(index: SourceIndex, statement: Statement) -> StatementWindow:
    """The statement, up to `CONTEXT_LINES` lines before it and the line after it."""
    first_line = max(1, statement.line - CONTEXT_LINES)
    start = index.line_starts[first_line - 1]
    line_start = index.line_starts[statement.line - 1]
    if line_start - start > CONTEXT_CHARS:
        # Keep whole lines: cut at the first line start within the budget.
        cut = index.source.find("\n", line_start - CONTEXT_CHARS, line_start)
        start = cut + 1 if cut >= 0 else line_start
    # The rest of the statement's last line (a header's colon, a comment), then one more line.
    after = index.source.find("\n", statement.end)
    if after < 0:
        return StatementWindow(start, len(index.source))
    tail_end = index.source.find("\n", after + 1)
    tail_end = len(index.source) if tail_end < 0 else tail_end + 1
    return StatementWindow(start, min(tail_end, after + 1 + TAIL_CHARS))


NAME_KINDS = ("wrong_variable", "wrong_attribute")


def candidate_edits(
    source: str, statement: Statement, mutations: dict[str, list[Mutation]]
) -> list[Mutation]:
    """Every generator edit inside the statement, plus ``return`` put back before a bare
    expression (the inverse of a dropped return)."""
    found = [
        m
        for kind in BUG_KINDS
        for m in mutations.get(kind, [])
        if statement.start <= m.start and m.end <= statement.end
    ]
    if statement.node_type == "Expr":
        text = source[statement.start : statement.end]
        if not text.startswith(("yield", '"', "'")):
            found.append(
                Mutation("dropped_return", statement.start, statement.end, text, f"return {text}")
            )
    return found


def choose_variants(
    candidates: list[Mutation], local_gain: Callable[[Mutation], float | None]
) -> list[Mutation]:
    """At most `MAX_VARIANTS` of the candidates, at most `PER_KIND` a kind.

    `local_gain` is the code model's preference for the edit at its first token (left context
    only, so it costs nothing beyond the pass over the written window); edits are tried in that
    order. Unscored names (wrong variable or attribute) are never tried: there are too many
    names in scope; other unscored edits come last, one per spot in source order.
    """
    per_kind: list[list[Mutation]] = []
    for kind in BUG_KINDS:
        mine = [m for m in candidates if m.kind == kind]
        scored = [(local_gain(m), m) for m in mine]
        ranked = sorted(
            ((v, m) for v, m in scored if v is not None), key=lambda p: (-p[0], p[1].start)
        )
        ordered = [m for _, m in ranked]
        if kind not in NAME_KINDS:
            by_spot: dict[int, list[Mutation]] = {}
            for v, m in scored:
                if v is None:
                    by_spot.setdefault(m.start, []).append(m)
            spots = [by_spot[k] for k in sorted(by_spot)]
            depth = max((len(g) for g in spots), default=0)
            ordered += [g[i] for i in range(depth) for g in spots if i < len(g)]
        per_kind.append(ordered[:PER_KIND])
    # Round robin over kinds, so that a statement with many names still gets its operators tried.
    chosen = [group[i] for i in range(PER_KIND) for group in per_kind if i < len(group)]
    return chosen[:MAX_VARIANTS]
