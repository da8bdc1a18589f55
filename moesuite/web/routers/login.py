"""Console sign-in and sign-out: argon2-checked passwords, session cookies, login CSRF.

The sign-in form is protected by a double-submit token (a random value in a SameSite=Strict
cookie and in the form); once signed in, forms carry the session's own token.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from moesuite.web.errors import ForbiddenError
from moesuite.web.pages import render
from moesuite.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    RateLimited,
    checked_form,
)
from moesuite.web.state import WebState, web_state
from moesuite.web.store import authenticate, close_session, open_session, same_secret

router = APIRouter(prefix="/console", include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only local console paths: never redirect to another site after sign-in.
    if target and target.startswith("/console/") and "//" not in target and "\\" not in target:
        return target
    return "/console/"


def _login_page(
    request: Request, state: WebState, next_path: str, error: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", {"csrf": token, "next": next_path, "error": error}, status=status
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=state.options.cookie_secure,
        path="/console/login",
        max_age=3600,
    )
    return response


@router.get("/login")
def login_form(
    request: Request,
    next: str | None = None,
    state: WebState = Depends(web_state),  # noqa: A002
) -> Response:
    return _login_page(request, state, _safe_next(next))


@router.post("/login")
def login(
    request: Request,
    username: str = Form(max_length=128),
    password: str = Form(max_length=1024),
    csrf_token: str = Form(default="", max_length=200),
    next: str = Form(default="/console/", max_length=500),  # noqa: A002
    state: WebState = Depends(web_state),
) -> Response:
    if not same_secret(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        raise ForbiddenError(
            "the sign-in form's security token is missing or stale; reload the page",
            code="csrf_failed",
        )
    client = request.client.host if request.client else "unknown"
    wait = state.login_limiter.allow(f"{client}:{username}")
    if wait > 0:
        raise RateLimited(wait)
    user_id = authenticate(state.engine, username, password)
    if user_id is None:
        return _login_page(
            request, state, _safe_next(next), "Wrong user name or password.", status=401
        )
    secret = open_session(state.engine, user_id, state.options.session_hours)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=state.options.cookie_secure,
        path="/",
        max_age=int(state.options.session_hours * 3600),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


@router.post("/logout")
def logout(
    request: Request, _: dict = Depends(checked_form), state: WebState = Depends(web_state)
) -> Response:
    close_session(state.engine, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
