"""Request and response bodies of the JSON API v1 (pydantic; they define the OpenAPI schema)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable error code")
    message: str = Field(description="What went wrong and what to do about it")


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Bad request"),
        (401, "No valid API token"),
        (403, "The token lacks the scope"),
        (404, "Not found"),
        (409, "Conflict with the current state"),
        (413, "Request body too large"),
        (422, "Invalid input"),
        (429, "Rate limited"),
        (503, "A backing service is unavailable"),
    )
}


_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class TransactionIn(BaseModel):
    """One transaction in the canonical fraud schema."""

    model_config = ConfigDict(extra="forbid")

    transaction_id: str = Field(min_length=1, max_length=128)
    timestamp: datetime
    customer_id: str = Field(min_length=1, max_length=128)
    amount: float = Field(ge=0, le=1e12)
    currency: str | None = Field(default=None, max_length=8)
    merchant_id: str | None = Field(default=None, max_length=128)
    mcc: str | None = Field(default=None, max_length=8)
    terminal_id: str | None = Field(default=None, max_length=128)
    country: str | None = Field(default=None, max_length=8)
    channel: str | None = Field(default=None, max_length=32)
    device_id: str | None = Field(default=None, max_length=128)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    extra: dict[str, str | float | int | bool | None] = Field(
        default_factory=dict,
        max_length=64,
        description="The file's own columns the bundle was trained on, by their column names "
        "(e.g. a category, a date of birth, coordinates); a bundle that reads a column this "
        "transaction lacks answers 422 naming it",
    )

    @field_validator("extra")
    @classmethod
    def _extra_columns(
        cls, value: dict[str, str | float | int | bool | None]
    ) -> dict[str, str | float | int | bool | None]:
        # A canonical field sent twice would be ambiguous; long keys or strings are no column.
        for key, item in value.items():
            if key in cls.model_fields:
                raise ValueError(f"{key!r} is a transaction field: send it at the top level")
            if not key or len(key) > 64:
                raise ValueError("column names are 1 to 64 characters")
            if isinstance(item, str) and len(item) > 256:
                raise ValueError(f"{key!r}: values are at most 256 characters")
        return value

    @field_validator("timestamp")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        # Naive times are UTC (as in files); the feature code works in pandas' nanosecond
        # range, so far-off years are refused here with a clear message instead.
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if not _EARLIEST <= value <= _LATEST:
            raise ValueError(f"must be between {_EARLIEST:%Y-%m-%d} and {_LATEST:%Y-%m-%d}")
        return value


class ScoreOut(BaseModel):
    transaction_id: str
    score: float
    band: str
    reasons: list[str]
    model_version: str
    case_id: int | None = Field(description="The review case, when the band is review")


class CaseOut(BaseModel):
    id: int
    transaction_id: str
    customer_id: str
    amount: float
    currency: str | None
    score: float
    band: str
    reasons: list[str]
    model_version: str
    occurred_at: datetime
    transaction: dict[str, Any]
    status: str
    escalated: bool
    analyst: str | None
    lease_expires_at: datetime | None
    resolution: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    sla_due_at: datetime
    version: int
    priority: float
    sla: str


class CaseList(BaseModel):
    cases: list[CaseOut]
    total: int


class CaseEventOut(BaseModel):
    at: datetime
    actor: str
    kind: str
    from_status: str | None
    to_status: str | None
    note: str | None
    changes: dict[str, Any]


class CaseDetailOut(BaseModel):
    case: CaseOut
    events: list[CaseEventOut]
    history: list[dict[str, Any]]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Literal["fraud", "legit"]
    version: int | None = Field(
        default=None, ge=1, description="The case version you read; a newer one answers 409"
    )
    note: str | None = Field(default=None, max_length=4000)


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    analyst: str = Field(min_length=1, max_length=128)
    note: str | None = Field(default=None, max_length=4000)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=4000)


class AnalystStatsOut(BaseModel):
    analyst: str
    decided: int
    fraud: int


class StatsOut(BaseModel):
    as_of: datetime
    by_status: dict[str, int]
    backlog_by_age: dict[str, int]
    sla_at_risk: int
    sla_breached: int
    resolved_late: int
    analysts: list[AnalystStatsOut]
    resolved: int
    fraud_found: int
    fraud_rate: float | None


class LabelOut(BaseModel):
    transaction_id: str
    is_fraud: int
    decided_at: datetime
    analyst: str
    model_version: str


class RefactorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(max_length=500_000)
    style: Literal["pep8", "black"] = "pep8"
    line_length: int | None = Field(default=None, ge=20, le=400)
    path: str = Field(default="input.py", min_length=1, max_length=256)


class RefactorOut(BaseModel):
    status: str = Field(description="unchanged, changed or failed (the gate refused)")
    output: str
    diff: str
    reason: str
    rewrites: list[str]
    violations: list[str]


class DetectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(max_length=500_000)
    path: str = Field(default="input.py", min_length=1, max_length=256)
    static: bool = True
    learned: bool = True
    min_confidence: float | None = Field(default=None, ge=0, le=1)


class FindingOut(BaseModel):
    path: str
    line: int
    column: int
    rule_id: str
    kind: str
    message: str
    confidence: float
    engine: str
    end_line: int | None
    end_column: int | None
    fix: str | None


class FindingsOut(BaseModel):
    findings: list[FindingOut]


class JobSubmitted(BaseModel):
    id: str
    kind: str
    status_url: str


class JobStatusOut(BaseModel):
    id: str
    state: str
    progress: dict[str, Any] | None
    ok: bool | None
    task: str | None


class JobResultOut(BaseModel):
    id: str
    result: dict[str, Any]


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}
