"""Review API: list, claim next, show, decide, release, escalate, stats, export labels.

Every action is taken as the authenticated identity (the token's), never a name in the body.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi import Path as PathParam

from fraud.review.views import CaseView
from moesuite.web.case_actions import CaseAction, take_case_action
from moesuite.web.schemas import (
    ERROR_RESPONSES,
    CaseDetailOut,
    CaseList,
    CaseOut,
    DecisionIn,
    LabelOut,
    NoteIn,
    ReassignIn,
    StatsOut,
)
from moesuite.web.security import require_scope
from moesuite.web.state import WebState, web_state
from moesuite.web.store import Principal

# Ids fit the database's integer column (larger ones would overflow the driver).
CaseId = Annotated[int, PathParam(ge=1, le=2_147_483_647)]
router = APIRouter(prefix="/v1/review", tags=["review"], responses=ERROR_RESPONSES)
reviewer = require_scope("review")
administrator = require_scope("admin")
Status = Literal["open", "claimed", "escalated", "resolved", "active", "all"]


def case_out(view: CaseView) -> CaseOut:
    data = asdict(view)
    data.pop("as_of")
    data["reasons"] = list(view.reasons)
    return CaseOut(**data)


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif value != value:  # NaN from the history frame
            value = None
        out[key] = value
    return out


@router.get("/cases", response_model=CaseList)
def list_cases(
    status: Status = "active",
    band: str | None = Query(default=None, max_length=32),
    min_score: float | None = Query(default=None, ge=0, le=1),
    max_score: float | None = Query(default=None, ge=0, le=1),
    min_age_hours: float | None = Query(default=None, ge=0, le=1e6),
    max_age_hours: float | None = Query(default=None, ge=0, le=1e6),
    analyst: str | None = Query(default=None, max_length=128),
    sort: Literal["priority", "sla", "newest"] = "priority",
    limit: int = Query(default=50, ge=1, le=1000),
    _: Principal = Depends(reviewer),
    state: WebState = Depends(web_state),
) -> CaseList:
    """Cases matching the filters, pending ones by priority (or SLA deadline), with the total."""
    from fraud.review.worklist import CaseQuery, search_cases

    query = CaseQuery(
        status=status,
        band=band,
        min_score=min_score,
        max_score=max_score,
        min_age_hours=min_age_hours,
        max_age_hours=max_age_hours,
        analyst=analyst,
        sort=sort,
        limit=limit,
    )
    found = search_cases(state.engine, query, config=state.review)
    return CaseList(cases=[case_out(c) for c in found.cases], total=found.total)


@router.post(
    "/next",
    response_model=CaseOut,
    responses={204: {"description": "The queue is empty"}},
)
def claim_next(
    principal: Principal = Depends(reviewer), state: WebState = Depends(web_state)
) -> Any:
    """Claim the highest-priority open case for the caller (a lease of `lease_minutes`)."""
    from fraud.review.queue import claim_next

    view = claim_next(state.engine, principal.identity, config=state.review)
    if view is None:
        return Response(status_code=204)
    return case_out(view)


@router.get("/cases/{case_id}", response_model=CaseDetailOut)
def show(
    case_id: CaseId, _: Principal = Depends(reviewer), state: WebState = Depends(web_state)
) -> CaseDetailOut:
    """The case, its audit trail and the customer's recent history."""
    from fraud.review.views import describe_case

    detail = describe_case(state.engine, case_id, config=state.review)
    history = detail.history.drop(columns=["extras"], errors="ignore")
    return CaseDetailOut(
        case=case_out(detail.case),
        events=[asdict(e) for e in detail.events],
        history=[_plain_row(r) for r in history.to_dict("records")],
    )


@router.post("/cases/{case_id}/decide", response_model=CaseOut)
def decide(
    case_id: CaseId,
    body: DecisionIn,
    principal: Principal = Depends(reviewer),
    state: WebState = Depends(web_state),
) -> CaseOut:
    """Resolve a case the caller holds; pass the `version` you read to refuse stale decisions."""
    action = CaseAction("decide", note=body.note, label=body.label, version=body.version)
    return case_out(take_case_action(state, case_id, principal.identity, action))


@router.post("/cases/{case_id}/release", response_model=CaseOut)
def release(
    case_id: CaseId,
    body: NoteIn | None = None,
    principal: Principal = Depends(reviewer),
    state: WebState = Depends(web_state),
) -> CaseOut:
    """Give a held case back to the queue."""
    action = CaseAction("release", note=body.note if body else None)
    return case_out(take_case_action(state, case_id, principal.identity, action))


@router.post("/cases/{case_id}/escalate", response_model=CaseOut)
def escalate(
    case_id: CaseId,
    body: NoteIn | None = None,
    principal: Principal = Depends(reviewer),
    state: WebState = Depends(web_state),
) -> CaseOut:
    """Hand a held case to senior review."""
    action = CaseAction("escalate", note=body.note if body else None)
    return case_out(take_case_action(state, case_id, principal.identity, action))


@router.post("/cases/{case_id}/reassign", response_model=CaseOut)
def reassign(
    case_id: CaseId,
    body: ReassignIn,
    principal: Principal = Depends(administrator),
    state: WebState = Depends(web_state),
) -> CaseOut:
    """Give a pending case to another analyst with a fresh lease (admin scope: a lead's act)."""
    action = CaseAction("reassign", note=body.note, analyst=body.analyst)
    return case_out(take_case_action(state, case_id, principal.identity, action))


@router.get("/stats", response_model=StatsOut)
def stats(_: Principal = Depends(reviewer), state: WebState = Depends(web_state)) -> StatsOut:
    """Backlog by age, SLA at risk and breached, decisions per analyst, fraud found."""
    from fraud.review.stats import review_stats

    result = review_stats(state.engine, config=state.review)
    return StatsOut(**asdict(result), fraud_rate=result.fraud_rate)


@router.get("/labels", response_model=list[LabelOut])
def labels(
    since: datetime | None = None,
    _: Principal = Depends(reviewer),
    state: WebState = Depends(web_state),
) -> list[LabelOut]:
    """Decisions as training labels, oldest first (``since``: decided after this time)."""
    from fraud.review.queue import export_labels

    if since is not None and since.tzinfo is None:
        from datetime import UTC

        since = since.replace(tzinfo=UTC)
    return [LabelOut(**asdict(row)) for row in export_labels(state.engine, since)]
