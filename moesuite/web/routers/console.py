"""The analyst console: queue, case page, decisions and dashboard, rendered on the server.

Handlers parse the form or query, call one review function as the signed-in user, and render a
template; conflicts (lease expired, someone else decided first) re-render the case with a
message saying what happened.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from fraud.review.errors import (
    InvalidTransition,
    LeaseExpired,
    NotCaseHolder,
    ReviewError,
    StaleCaseVersion,
)
from moesuite.web.case_actions import CaseAction, take_case_action
from moesuite.web.charts import bar_chart, timeline
from moesuite.web.pages import render
from moesuite.web.security import checked_form, require_user, signed_in
from moesuite.web.state import WebState, web_state
from moesuite.web.store import Principal

# Ids fit the database's integer column (larger ones would overflow the driver).
CaseId = Annotated[int, PathParam(ge=1, le=2_147_483_647)]
router = APIRouter(prefix="/console", include_in_schema=False)
leads = require_user("lead", "admin")
# Fixed texts for redirects (?done=...): nothing from the query is echoed into the page.
DONE_MESSAGES = {
    "decided": "Decision recorded.",
    "released": "Case released back to the queue.",
    "escalated": "Case escalated for senior review.",
    "empty": "The queue is empty: no case to take.",
    "reassigned": "Case reassigned.",
}
_STATUSES = ("active", "open", "claimed", "escalated", "resolved", "all")


def error_page(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    return render(
        request, "error.html", {"status": status, "error": message}, status=status, headers=headers
    )


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


@router.get("/")
def queue(
    request: Request,
    me: Principal = Depends(signed_in),
    state: WebState = Depends(web_state),
) -> Response:
    from fraud.review.stats import review_stats
    from fraud.review.worklist import SORTS, CaseQuery, search_cases

    q = request.query_params
    filters = {
        "status": q.get("status") if q.get("status") in _STATUSES else "active",
        "band": q.get("band") or None,
        "min_score": _float(q.get("min_score")),
        "max_score": _float(q.get("max_score")),
        "min_age_hours": _float(q.get("min_age_hours")),
        "analyst": q.get("analyst") or None,
        "sort": q.get("sort") if q.get("sort") in SORTS else "priority",
    }
    found = search_cases(state.engine, CaseQuery(**filters, limit=100), config=state.review)
    stats = review_stats(state.engine, config=state.review)
    message = DONE_MESSAGES.get(q.get("done", ""), "")
    return render(
        request,
        "queue.html",
        {
            "cases": found.cases,
            "total": found.total,
            "filters": filters,
            "stats": stats,
            "message": message,
            "sorts": SORTS,
            "statuses": _STATUSES,
        },
    )


@router.post("/next")
def take_next(
    form: dict = Depends(checked_form),
    me: Principal = Depends(signed_in),
    state: WebState = Depends(web_state),
) -> Response:
    from fraud.review.queue import claim_next

    view = claim_next(state.engine, me.identity, config=state.review)
    if view is None:
        return RedirectResponse("/console/?done=empty", status_code=303)
    return RedirectResponse(f"/console/cases/{view.id}", status_code=303)


def _case_page(
    request: Request,
    state: WebState,
    case_id: int,
    *,
    message: str = "",
    alert: str = "",
    status: int = 200,
) -> Response:
    from fraud.review.views import describe_case
    from fraud.review.worklist import related_open_cases

    detail = describe_case(state.engine, case_id, config=state.review)
    case = detail.case
    rows: list[dict[str, Any]] = detail.history.drop(columns=["extras"], errors="ignore").to_dict(
        "records"
    )
    moments = [r["timestamp"].to_pydatetime() for r in rows] + [case.occurred_at]
    amounts = [float(r["amount"]) if r["amount"] == r["amount"] else 0.0 for r in rows]
    chart = timeline(
        "Amount over time (the flagged transaction is the large diamond)",
        moments,
        [*amounts, case.amount],
        len(rows),
    )
    return render(
        request,
        "case.html",
        {
            "case": case,
            "events": detail.events,
            "history": rows,
            "chart": chart,
            "related": related_open_cases(state.engine, case, config=state.review),
            "message": message,
            "alert": alert,
        },
        status=status,
    )


@router.get("/cases/{case_id}")
def case_page(
    request: Request,
    case_id: CaseId,
    me: Principal = Depends(signed_in),
    state: WebState = Depends(web_state),
) -> Response:
    message = DONE_MESSAGES.get(request.query_params.get("done", ""), "")
    return _case_page(request, state, case_id, message=message)


def _conflict_text(exc: ReviewError) -> str:
    if isinstance(exc, LeaseExpired):
        return (
            "Your lease on this case expired and it went back to the queue; nothing was "
            "recorded. Take it again with “Next case” if it is still open."
        )
    if isinstance(exc, NotCaseHolder):
        if exc.holder:
            return f"{exc.holder} holds this case now; your action was not recorded."
        return "You do not hold this case (it is back in the queue); your action was not recorded."
    if isinstance(exc, InvalidTransition) and exc.status == "resolved":
        return "Someone else decided this case first; your decision was not recorded."
    if isinstance(exc, StaleCaseVersion):
        return (
            "This case changed since you opened it; your decision was not recorded. "
            "Review the current state below and decide again."
        )
    return str(exc)


def _note(form: dict) -> str | None:
    return (form.get("note") or "").strip()[:4000] or None


def _act(
    request: Request, state: WebState, case_id: int, me: Principal, action: CaseAction, done: str
) -> Response:
    """Take ``action`` as the signed-in user, then go to ``done``; a conflict re-renders the
    case saying what happened."""
    try:
        take_case_action(state, case_id, me.identity, action)
    except (LeaseExpired, NotCaseHolder, InvalidTransition, StaleCaseVersion) as exc:
        return _case_page(request, state, case_id, alert=_conflict_text(exc), status=409)
    return RedirectResponse(done, status_code=303)


@router.post("/cases/{case_id}/decide")
def decide(
    request: Request,
    case_id: CaseId,
    form: dict = Depends(checked_form),
    me: Principal = Depends(signed_in),
    state: WebState = Depends(web_state),
) -> Response:
    label = form.get("label", "")
    if label not in ("fraud", "legit"):
        return _case_page(
            request, state, case_id, alert="Choose fraud or legitimate first.", status=422
        )
    version = int(form["version"]) if form.get("version", "").isdigit() else None
    action = CaseAction("decide", note=_note(form), label=label, version=version)
    return _act(request, state, case_id, me, action, f"/console/cases/{case_id}?done=decided")


@router.post("/cases/{case_id}/release")
def release(
    request: Request,
    case_id: CaseId,
    form: dict = Depends(checked_form),
    me: Principal = Depends(signed_in),
    state: WebState = Depends(web_state),
) -> Response:
    action = CaseAction("release", note=_note(form))
    return _act(request, state, case_id, me, action, "/console/?done=released")


@router.post("/cases/{case_id}/escalate")
def escalate(
    request: Request,
    case_id: CaseId,
    form: dict = Depends(checked_form),
    me: Principal = Depends(signed_in),
    state: WebState = Depends(web_state),
) -> Response:
    action = CaseAction("escalate", note=_note(form))
    return _act(request, state, case_id, me, action, "/console/?done=escalated")


@router.post("/cases/{case_id}/reassign")
def reassign(
    request: Request,
    case_id: CaseId,
    form: dict = Depends(checked_form),
    me: Principal = Depends(leads),
    state: WebState = Depends(web_state),
) -> Response:
    analyst = (form.get("analyst") or "").strip()[:128]
    if not analyst:
        return _case_page(request, state, case_id, alert="Name the analyst first.", status=422)
    action = CaseAction("reassign", note=_note(form), analyst=analyst)
    return _act(request, state, case_id, me, action, f"/console/cases/{case_id}?done=reassigned")


@router.get("/dashboard")
def dashboard(
    request: Request,
    me: Principal = Depends(signed_in),
    state: WebState = Depends(web_state),
) -> Response:
    from fraud.review.dashboard import dashboard_figures
    from fraud.review.stats import review_stats

    stats = review_stats(state.engine, config=state.review)
    figures = dashboard_figures(state.engine)
    # Analysts see their own decisions; leads and admins see every analyst's.
    per_analyst = {
        name: counts
        for name, counts in figures.decisions_per_day.items()
        if me.role in ("lead", "admin") or name == me.identity
    }
    day_labels = [f"{d:%d}" for d in figures.days]  # day of month; the caption names the span
    span = f"{figures.days[0]:%Y-%m-%d} to {figures.days[-1]:%Y-%m-%d}, UTC"
    totals = [sum(c[i] for c in per_analyst.values()) for i in range(len(figures.days))]
    charts = {
        "backlog": bar_chart(
            "Backlog by age", list(stats.backlog_by_age), list(stats.backlog_by_age.values())
        ),
        "sla": bar_chart(
            "SLA of pending cases",
            ["at risk", "breached", "resolved late"],
            [stats.sla_at_risk, stats.sla_breached, stats.resolved_late],
            tones=["warn", "bad", "bad"],
        ),
        "decisions": bar_chart(f"Decisions per day ({span})", day_labels, totals),
        "fraud": bar_chart(
            f"Fraud found per day ({span})",
            day_labels,
            figures.fraud_per_day,
            tones=["bad"] * len(day_labels),
        ),
        "scores": bar_chart(
            f"Score distribution of cases (model {figures.current_model or '—'})",
            [f"{i / 10:.1f}" for i in range(10)],
            figures.score_histogram,
        ),
        "precision": bar_chart(
            "Review-band precision per model version",
            [p.model_version for p in figures.precision],
            [round(p.precision or 0.0, 3) for p in figures.precision],
            fmt="{:.0%}",
        ),
    }
    return render(
        request,
        "dashboard.html",
        {
            "stats": stats,
            "figures": figures,
            "per_analyst": per_analyst,
            "day_labels": day_labels,
            "charts": charts,
        },
    )
