"""The case actions the JSON API and the console both offer: decide, release, escalate, reassign.

Each router parses its own input (a JSON body, a form) into a `CaseAction` and renders its own
output; the call into fraud.review, made as the authenticated caller, lives here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from fraud.review.views import CaseView
    from moesuite.web.state import WebState

ActionKind = Literal["decide", "release", "escalate", "reassign"]


@dataclass(frozen=True)
class CaseAction:
    """What a caller asks to do to a case.

    Attributes:
        kind: Which action.
        note: Why (kept in the audit trail).
        label: ``fraud`` or ``legit`` (decide).
        version: Refuse when the case changed since this version (decide).
        analyst: Who gets the case (reassign).
    """

    kind: ActionKind
    note: str | None = None
    label: str | None = None
    version: int | None = None
    analyst: str | None = None


def take_case_action(state: WebState, case_id: int, actor: str, action: CaseAction) -> CaseView:
    """Apply ``action`` to case ``case_id`` as ``actor`` and return the case after it.

    Raises:
        fraud.review.errors.ReviewError: The case does not exist, the actor may not act on it
            (lease expired, another holder), or it changed since ``action.version``.
    """
    # Imported per call: the review queue's modules load only when a case is acted on.
    if action.kind == "decide":
        from fraud.review.queue import decide

        return decide(
            state.engine, case_id, actor, action.label or "", note=action.note,
            expected_version=action.version, config=state.review,
        )  # fmt: skip
    if action.kind == "reassign":
        from fraud.review.assignment import reassign

        return reassign(
            state.engine, case_id, actor, action.analyst or "", note=action.note,
            config=state.review,
        )  # fmt: skip
    from fraud.review.queue import escalate, release

    move = {"release": release, "escalate": escalate}[action.kind]
    return move(state.engine, case_id, actor, note=action.note, config=state.review)
