"""POST /v1/score: one transaction scored with its customer's history, queued if in review."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from moesuite.web.schemas import ERROR_RESPONSES, ScoreOut, TransactionIn
from moesuite.web.security import require_scope
from moesuite.web.state import WebState, web_state

router = APIRouter(prefix="/v1", tags=["score"], responses=ERROR_RESPONSES)


@router.post("/score", response_model=ScoreOut, dependencies=[Depends(require_scope("score"))])
def score(body: TransactionIn, state: WebState = Depends(web_state)) -> ScoreOut:
    """Score one transaction: the same score, band and reasons as `score_one`, plus the review
    case id when it lands in review."""
    from fraud.online import score_transaction

    txn = {**body.extra, **body.model_dump(exclude={"extra"})}
    outcome = score_transaction(txn, state.bundle(), state.engine)
    decision = outcome.decision
    state.metrics.scores.labels(band=decision.band).inc()
    return ScoreOut(
        transaction_id=decision.transaction_id,
        score=decision.score,
        band=decision.band,
        reasons=list(decision.reasons),
        model_version=decision.model_version,
        case_id=outcome.case_id,
    )
