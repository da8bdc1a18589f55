"""Code API: POST /v1/refactor (formatted source and diff) and POST /v1/detect (findings/SARIF)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends

from moesuite.web.schemas import (
    ERROR_RESPONSES,
    DetectIn,
    FindingsOut,
    RefactorIn,
    RefactorOut,
)
from moesuite.web.security import require_scope

router = APIRouter(
    prefix="/v1",
    tags=["code"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(require_scope("code"))],
)


@router.post("/refactor", response_model=RefactorOut)
def refactor(body: RefactorIn) -> RefactorOut:
    """Refactor one source (`refactor --style`): the verified output and a unified diff."""
    from codeassist.config import RefactorOptions
    from codeassist.refactor.pipeline import refactor_source

    result = refactor_source(
        body.source, RefactorOptions(style=body.style, line_length=body.line_length), body.path
    )
    diff = "".join(
        difflib.unified_diff(
            result.original.splitlines(keepends=True),
            result.output.splitlines(keepends=True),
            f"a/{body.path}",
            f"b/{body.path}",
        )
    )
    return RefactorOut(
        status=result.status,
        output=result.output,
        diff=diff,
        reason=result.reason,
        rewrites=[name for name, _ in result.rewrites],
        violations=list(result.violations),
    )


@router.post(
    "/detect",
    response_model=FindingsOut,
    responses={200: {"content": {"application/sarif+json": {}}}},
)
def detect(body: DetectIn, format: Literal["json", "sarif"] = "json") -> Any:  # noqa: A002
    """Likely defects in one source (`detect-defects`); ``?format=sarif`` for SARIF 2.1.0."""
    from codeassist.defects.detect import detect_source
    from codeassist.defects.findings import DetectOptions

    options = DetectOptions(
        static=body.static, learned=body.learned, min_confidence=body.min_confidence
    )
    findings = detect_source(body.source, body.path, options)
    if format == "sarif":
        from fastapi.responses import JSONResponse

        from codeassist.defects.sarif import build_sarif, validate_sarif
        from moesuite.web.app import suite_version

        lines = body.source.splitlines()
        texts = {(f.path, f.line): lines[f.line - 1] for f in findings if 0 < f.line <= len(lines)}
        document = build_sarif(findings, Path("."), suite_version(), texts)
        validate_sarif(document)
        return JSONResponse(document, media_type="application/sarif+json")
    return FindingsOut(findings=[f.to_dict() for f in findings])
