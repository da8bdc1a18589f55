"""The one place that resolves callers: bearer tokens for the API, sessions for the console.

Handlers declare what they need (``Depends(require_scope("review"))``,
``Depends(require_user())``, ``Depends(checked_form)``) and receive a `Principal`; nothing else
reads credentials. Rate limits are charged here too, per caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from moesuite.web.errors import AuthError, ForbiddenError, WebError
from moesuite.web.state import WebState, web_state
from moesuite.web.store import (
    Principal,
    same_secret,
    session_principal,
    token_digest,
    token_principal,
)

SESSION_COOKIE = "moesuite_session"
LOGIN_CSRF_COOKIE = "moesuite_login_csrf"
_bearer = HTTPBearer(auto_error=False, description="An API token from `moesuite auth create-token`")


class RateLimited(WebError):
    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, int(retry_after + 0.999))
        super().__init__(f"too many requests; retry in {self.retry_after} s")


class LoginRequired(WebError):
    """A console page was asked for without a live session: answered with a redirect."""

    status = 303
    code = "login_required"

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in first")
        self.location = f"/console/login?next={quote(next_path, safe='/')}"


def _charge(state: WebState, key: str) -> None:
    wait = state.limiter.allow(key)
    if wait > 0:
        raise RateLimited(wait)


async def _verified_token(state: WebState, secret: str) -> Principal | None:
    """The token's principal; verified ones are kept ``token_cache_s`` seconds (async: no
    thread hop on the hot path of every API call)."""
    key = token_digest(secret)
    now = time.monotonic()
    cached = state.token_cache.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    principal = await run_in_threadpool(token_principal, state.engine, secret)
    if principal is not None and state.options.token_cache_s > 0:
        if len(state.token_cache) > 10_000:
            state.token_cache.clear()
        state.token_cache[key] = (now + state.options.token_cache_s, principal)
    return principal


def require_scope(scope: str) -> Callable[..., Principal]:
    """Dependency: a bearer token with ``scope`` (or ``admin``); 401 without one, 403 if lacking."""

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
        state: WebState = Depends(web_state),
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            client = request.client.host if request.client else "unknown"
            _charge(state, f"anon:{client}")
            raise AuthError(
                "this endpoint needs an API token: send 'Authorization: Bearer <token>' "
                "(create one with `moesuite auth create-token`)"
            )
        principal = await _verified_token(state, credentials.credentials)
        if principal is None:
            client = request.client.host if request.client else "unknown"
            _charge(state, f"anon:{client}")
            raise AuthError("the API token is unknown, revoked or expired")
        _charge(state, principal.key)
        if not principal.allows(scope):
            raise ForbiddenError(
                f"this token lacks the {scope!r} scope "
                f"(it has {', '.join(sorted(principal.scopes))}); "
                f"create one with `moesuite auth create-token --scope {scope}`"
            )
        request.state.principal = principal
        return principal

    return dependency


def require_user(*roles: str) -> Callable[..., Principal]:
    """Dependency: a signed-in console user (with one of ``roles`` if given), else sign-in."""

    def dependency(request: Request, state: WebState = Depends(web_state)) -> Principal:
        secret = request.cookies.get(SESSION_COOKIE, "")
        principal = session_principal(state.engine, secret) if secret else None
        if principal is None:
            target = request.url.path if request.method == "GET" else "/console/"
            raise LoginRequired(target)
        _charge(state, principal.key)
        if roles and principal.role not in roles:
            raise ForbiddenError(f"this page needs the role {' or '.join(roles)}")
        request.state.principal = principal
        return principal

    return dependency


signed_in = require_user()


async def checked_form(
    request: Request, principal: Principal = Depends(signed_in)
) -> dict[str, Any]:
    """Dependency for console POSTs: the signed-in user's form, refused without its CSRF token."""
    form = await request.form()
    if not same_secret(str(form.get("csrf_token", "")), principal.csrf_token):
        raise ForbiddenError(
            "the form's security token is missing or stale; reload the page and submit again",
            code="csrf_failed",
        )
    return {key: value for key, value in form.items() if isinstance(value, str)}
