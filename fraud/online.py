"""Online scoring: one transaction scored like `score_one` and, in the review band, queued.

What an HTTP scoring endpoint needs in one call: the decision and the id of the review case it
opened (or re-scored), so a backend can link its transaction to the analyst's work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fraud.bundle import Bundle
from fraud.pipeline import create_review_cases, score_one
from fraud.routing import REVIEW, Decision


@dataclass(frozen=True)
class OnlineDecision:
    """A scored transaction and the review case it landed in (None outside the review band)."""

    decision: Decision
    case_id: int | None


def score_transaction(txn: Mapping[str, Any], bundle: Bundle, engine: Any) -> OnlineDecision:
    """Score one transaction with its customer's stored history and queue it if it needs review.

    The score, band, reasons and model version are exactly `score_one`'s; the transaction is
    recorded in the history. A review-band transaction becomes (or re-scores) its case.

    Raises:
        FraudError: A required field is missing or malformed.
    """
    from sqlalchemy import select

    from fraud.review.models import Case

    decision = score_one(txn, bundle, engine, record=True)
    if decision.band != REVIEW:
        return OnlineDecision(decision, None)
    row = {k: v for k, v in txn.items() if v is not None}
    row["timestamp"] = pd.Timestamp(row["timestamp"])
    if row["timestamp"].tzinfo is None:
        row["timestamp"] = row["timestamp"].tz_localize("UTC")
    row["amount"] = float(row["amount"])
    row["transaction_id"] = decision.transaction_id
    frame = pd.DataFrame([row])
    frame["score"] = decision.score
    frame["band"] = decision.band
    create_review_cases(engine, frame, [list(decision.reasons)], decision.model_version)
    with engine.connect() as conn:
        case_id = conn.execute(
            select(Case.id).where(Case.transaction_id == decision.transaction_id)
        ).scalar_one()
    return OnlineDecision(decision, int(case_id))
