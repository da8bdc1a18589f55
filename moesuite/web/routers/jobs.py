"""Jobs API: submit score / train / refactor / detect with the file as the request body
(streamed to disk under a size limit), follow, fetch the result, cancel.

Jobs go through `workers.client.JobClient`, as `moesuite jobs` does; files land under
``$MOESUITE_HOME/web-jobs/<upload id>/`` where the workers (on a shared filesystem) read them.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from moesuite.web.errors import WebError
from moesuite.web.schemas import ERROR_RESPONSES, JobResultOut, JobStatusOut, JobSubmitted
from moesuite.web.security import require_scope
from moesuite.web.state import WebState, web_state

router = APIRouter(
    prefix="/v1/jobs",
    tags=["jobs"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(require_scope("jobs"))],
)
JOB_ID = PathParam(pattern=r"^[0-9a-fA-F-]{8,64}$")
_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


async def _receive_upload(request: Request, target: Path, limit: int) -> int:
    """Stream the request body into ``target``; refuse (and delete) it past ``limit`` bytes."""
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        async with await anyio.open_file(target, "wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise WebError(
                        f"the upload exceeds {limit} bytes; split the file or raise "
                        "[web] max_upload_bytes",
                        status=413,
                        code="request_too_large",
                    )
                await fh.write(chunk)
    except BaseException:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise
    if size == 0:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise WebError("the request body is empty; send the file as the body", code="empty_upload")
    return size


@router.post(
    "/{kind}",
    response_model=JobSubmitted,
    status_code=202,
    openapi_extra=_BODY,
)
async def submit(
    request: Request,
    kind: Literal["score", "train", "refactor", "detect"],
    format: Literal["csv", "jsonl", "parquet", "py"] = Query(  # noqa: A002
        default="csv", description="The uploaded file's format (py for refactor and detect)"
    ),
    state: WebState = Depends(web_state),
) -> JobSubmitted:
    """Submit a job on the uploaded file (the raw request body)."""
    if (kind in ("refactor", "detect")) != (format == "py"):
        expected = "py" if kind in ("refactor", "detect") else "csv, jsonl or parquet"
        raise WebError(f"a {kind} job takes format={expected}", code="bad_format")
    folder = state.uploads_dir / uuid.uuid4().hex
    source = folder / f"input.{format}"
    await _receive_upload(request, source, state.options.max_upload_bytes)
    client = await run_in_threadpool(state.jobs)
    if kind == "score":
        submit_call = lambda: client.submit_score(source, folder / "scored.csv")  # noqa: E731
    elif kind == "train":
        submit_call = lambda: client.submit_train(source, folder / "bundle")  # noqa: E731
    elif kind == "refactor":
        submit_call = lambda: client.submit_refactor(source, folder / "refactored.py")  # noqa: E731
    else:
        submit_call = lambda: client.submit_detect(source)  # noqa: E731
    job_id = await run_in_threadpool(submit_call)
    state.metrics.jobs.labels(kind=kind).inc()
    return JobSubmitted(id=job_id, kind=kind, status_url=f"/v1/jobs/{job_id}")


@router.get("/{job_id}", response_model=JobStatusOut)
def status(job_id: str = JOB_ID, state: WebState = Depends(web_state)) -> JobStatusOut:
    """The job's state (PENDING, STARTED, PROGRESS, SUCCESS, FAILURE, REVOKED) and progress."""
    return JobStatusOut(**state.jobs().status(job_id).to_dict())


@router.get("/{job_id}/result", response_model=JobResultOut)
def result(
    job_id: str = JOB_ID,
    wait: float = Query(default=0.0, ge=0, le=600, description="Seconds to wait for it"),
    state: WebState = Depends(web_state),
) -> JobResultOut:
    """A finished job's result; 409 ``job_error`` while it runs, failed or was cancelled."""
    timeout = min(wait, state.options.result_wait_max_s) or 0.01
    return JobResultOut(id=job_id, result=state.jobs().result(job_id, timeout=timeout))


@router.post("/{job_id}/cancel", response_model=JobStatusOut)
def cancel(job_id: str = JOB_ID, state: WebState = Depends(web_state)) -> JobStatusOut:
    """Cancel a queued or running job."""
    client = state.jobs()
    client.cancel(job_id)
    return JobStatusOut(**client.status(job_id).to_dict())
