"""The ASGI app: `create_app(settings)` wires routers, the limits, metrics and error answers."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moesuite.settings import Settings
from moesuite.web.config import WebOptions, web_options_from_mapping
from moesuite.web.errors import WebError, domain_error_answer
from moesuite.web.limits import BodySizeLimit, RateLimiter
from moesuite.web.metrics import ServiceMetrics
from moesuite.web.security import LoginRequired, RateLimited
from moesuite.web.state import WebState

logger = logging.getLogger("moesuite.web")
STATIC_DIR = Path(__file__).resolve().parent / "static"
# The console's pages load nothing from elsewhere; inline SVG charts need no script or style.
_CONSOLE_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def suite_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("moesuite")
    except PackageNotFoundError:
        return "0.1.0+local"


class RequestMetrics:
    """Times every request by route template and adds the security headers (pure ASGI: cheap)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        console = scope.get("path", "").startswith("/console")

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                if console:
                    headers.extend(_CONSOLE_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.latency.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - start
            )


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None):
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def _wants_html(request: Request) -> bool:
    return request.url.path.startswith("/console")


def _install_error_handlers(app: FastAPI) -> None:
    from moesuite.web.routers.console import error_page

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError) -> Response:
        headers = {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if _wants_html(request):
            return error_page(request, exc.status, exc.message, headers)
        return _error(exc.status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors()[:10]:
            where = ".".join(str(p) for p in err.get("loc", ()))
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        message = "invalid request: " + "; ".join(problems)
        if _wants_html(request):
            return error_page(request, 422, message)
        return _error(422, "validation_error", message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed"}
        message = {
            404: f"no such endpoint {request.url.path}; see /docs for the API",
            405: f"{request.method} is not allowed on {request.url.path}; see /docs",
        }.get(exc.status_code, str(exc.detail))
        if _wants_html(request):
            return error_page(request, exc.status_code, message)
        return _error(exc.status_code, codes.get(exc.status_code, "http_error"), message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        answer = domain_error_answer(exc)
        if answer is not None:
            if _wants_html(request):
                return error_page(request, answer.status, str(exc))
            return _error(answer.status, answer.code, str(exc))
        incident = uuid.uuid4().hex[:12]
        logger.exception("unexpected error (incident %s) on %s", incident, request.url.path)
        message = f"internal error (incident {incident}); the server log has the details"
        if _wants_html(request):
            return error_page(request, 500, message)
        return _error(500, "internal_error", message)


def _domain_errors() -> tuple[type[Exception], ...]:
    from codeassist.errors import CodeassistError
    from fraud.errors import FraudError
    from workers.errors import WorkersError

    return (FraudError, CodeassistError, WorkersError)


def create_app(
    settings: Settings,
    options: WebOptions | None = None,
    *,
    bundle_loader: Callable[[], Any] | None = None,
    job_client_factory: Callable[[], Any] | None = None,
) -> FastAPI:
    """The service for ``settings``: review and web tables migrated, nothing else loaded yet.

    Args:
        options: Limits and cookie settings; default from the settings file's ``[web]``.
        bundle_loader: Loads the fraud bundle on first use; default: the configured bundle.
        job_client_factory: Makes the job client on first use; default: `JobClient(settings)`.

    Raises:
        ReviewDatabaseError: The database cannot be reached or migrated.
    """
    from fraud.review.config import review_config_from_mapping
    from fraud.review.stats import review_stats
    from moesuite.web.routers import code, console, health, jobs, login, review, score
    from moesuite.web.store import open_store

    options = options or web_options_from_mapping(settings.section("web"))
    engine = open_store(settings.database_url)
    review_config = review_config_from_mapping(settings.section("review"))

    def default_bundle() -> Any:
        from fraud.bundle import default_bundle_path, load_bundle

        configured = settings.section("fraud").get("bundle")
        return load_bundle(Path(configured) if configured else default_bundle_path(settings.home))

    def default_jobs() -> Any:
        from workers.client import JobClient

        return JobClient(settings)

    metrics = ServiceMetrics(lambda: review_stats(engine, config=review_config))
    app = FastAPI(
        title="moesuite",
        version=suite_version(),
        summary="Fraud scoring, the manual-review queue, code assistance and jobs over HTTP",
        openapi_url="/openapi.json",
        docs_url=None,  # FastAPI's page loads Swagger UI from a CDN: blank offline
        redoc_url=None,
    )
    app.state.web = WebState(
        settings=settings,
        options=options,
        engine=engine,
        review=review_config,
        bundle_loader=bundle_loader or default_bundle,
        job_client_factory=job_client_factory or default_jobs,
        limiter=RateLimiter(options.rate_per_minute, options.rate_burst),
        login_limiter=RateLimiter(options.login_attempts_per_minute, 5),
        metrics=metrics,
    )
    for router in (health, score, review, code, jobs, login, console):
        app.include_router(router.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=303)

    @app.get("/docs", include_in_schema=False)
    def api_docs(request: Request) -> HTMLResponse:
        from moesuite.web.api_docs import describe_openapi
        from moesuite.web.pages import render

        return render(request, "api_docs.html", describe_openapi(app.openapi()))

    _install_error_handlers(app)
    for cls in _domain_errors():
        app.add_exception_handler(cls, app.exception_handlers[Exception])
    app.add_middleware(
        BodySizeLimit,
        limit=options.max_body_bytes,
        upload_limit=options.max_upload_bytes,
        upload_prefix="/v1/jobs/",
    )
    app.add_middleware(RequestMetrics, metrics=metrics)
    return app
