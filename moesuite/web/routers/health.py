"""Liveness, readiness and Prometheus metrics.

``/healthz`` and ``/readyz`` answer anonymously (orchestrators probe them) and reveal only
up/down per dependency; ``/metrics`` needs a token with the ``admin`` scope.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from moesuite.web.schemas import ERROR_RESPONSES, Health
from moesuite.web.security import require_scope
from moesuite.web.state import WebState, web_state

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(state: WebState = Depends(web_state)) -> Health | JSONResponse:
    """Ready to serve: the database answers (and the fraud model is loaded, once it was asked)."""
    checks = {}
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means not ready; details go to the log
        checks["database"] = "unavailable"
    checks["fraud_model"] = "loaded" if state.bundle_loaded else "not loaded yet"
    if checks["database"] != "ok":
        return JSONResponse(Health(status="unavailable", checks=checks).model_dump(), 503)
    return Health(status="ok", checks=checks)


@router.get(
    "/metrics",
    responses={**ERROR_RESPONSES, 200: {"content": {"text/plain": {}}}},
    dependencies=[Depends(require_scope("admin"))],
)
def metrics(state: WebState = Depends(web_state)) -> Response:
    """Prometheus metrics (text format)."""
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
