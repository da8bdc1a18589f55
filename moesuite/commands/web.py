"""`serve` (the HTTP API and analyst console) and `auth` (API tokens and console users).

Imports of the web stack live inside the commands, so other commands never pay for them.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

from moesuite.commands.context import pass_settings
from moesuite.formats import echo_json, format_option
from moesuite.settings import Settings

if TYPE_CHECKING:
    from moesuite.web.store import TokenInfo  # the web stack loads only inside the commands

_SCOPES = ("score", "jobs", "review", "code", "admin")


class AuthCommandError(click.ClickException):
    """A token or user could not be made: one line, exit code 2 (as cli.py's domain errors)."""

    exit_code = 2


class _AuthGroup(click.Group):
    def invoke(self, ctx: click.Context):  # noqa: ANN201
        from moesuite.web.errors import WebError

        try:
            return super().invoke(ctx)
        except WebError as exc:
            raise AuthCommandError(exc.message) from exc


_ROLES = ("analyst", "lead", "admin")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes (each loads the fraud model once).",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@pass_settings
def serve(settings: Settings, host: str, port: int, workers: int, log_level: str) -> None:
    """Serve the JSON API (/v1, docs at /docs) and the analyst console (/console)."""
    import uvicorn

    from moesuite.web.app import create_app

    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
        return
    # Several processes need an import string; settings travel through the environment.
    import os

    os.environ.update(
        {
            "MOESUITE_HOME": str(settings.home),
            "MOESUITE_DATABASE_URL": settings.database_url,
            "MOESUITE_BROKER_URL": settings.broker_url,
            "MOESUITE_RESULT_BACKEND": settings.result_backend,
        }
    )
    if settings.config_file is not None:
        os.environ["MOESUITE_CONFIG"] = str(settings.config_file)
    uvicorn.run(
        "moesuite.web.serving:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )


@click.group("auth", cls=_AuthGroup)
def auth() -> None:
    """API tokens and console users of `moesuite serve`."""


@auth.command("create-token")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(_SCOPES),
    help="What the token may do; repeat for several.",
)
@click.option("--identity", help="Name review actions are recorded under [token:NAME].")
@click.option(
    "--expires-days",
    type=click.FloatRange(min=0, min_open=True),
    help="Lifetime in days [until revoked].",
)
@format_option("text", "json")
@pass_settings
def create_token_command(settings: Settings, name, scopes, identity, expires_days, fmt) -> None:
    """Create an API token NAME and print its secret (shown once; only a hash is stored)."""
    from moesuite.web.store import create_token, list_tokens, open_store

    engine = open_store(settings.database_url)
    secret = create_token(engine, name, tuple(scopes), identity=identity, expires_days=expires_days)
    if fmt == "json":
        # The one time the secret is shown; the rest is the stored record, as list-tokens has it.
        token = next(t for t in list_tokens(engine) if t.name == name and not t.revoked)
        echo_json({"token": _token_json(token), "secret": secret})
        return
    click.echo(secret)
    click.echo(
        f"token {name!r} with scopes {', '.join(sorted(set(scopes)))}: keep the secret "
        "above; it cannot be shown again",
        err=True,
    )


@auth.command("revoke-token")
@click.argument("name")
@format_option("text", "json")
@pass_settings
def revoke_token_command(settings: Settings, name: str, fmt: str) -> None:
    """Revoke the API token NAME at once."""
    from moesuite.web.store import open_store, revoke_token

    revoke_token(open_store(settings.database_url), name)
    if fmt == "json":
        echo_json({"name": name, "revoked": True})
    else:
        click.echo(f"revoked {name}")


def _token_json(token: TokenInfo) -> dict[str, Any]:
    return asdict(token)  # TokenInfo holds no secret: only its hash is stored, and not there


@auth.command("list-tokens")
@format_option("text", "json")
@pass_settings
def list_tokens_command(settings: Settings, fmt: str) -> None:
    """List API tokens (names, scopes, state; never secrets)."""
    from moesuite.web.store import list_tokens, open_store

    tokens = list_tokens(open_store(settings.database_url))
    if fmt == "json":
        echo_json([_token_json(token) for token in tokens])
        return
    for token in tokens:
        state = "revoked" if token.revoked else "live"
        expires = token.expires_at.isoformat() if token.expires_at else "never"
        click.echo(
            f"{token.name}\t{','.join(token.scopes)}\t{token.identity}\t{state}\texpires {expires}"
        )


@auth.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(_ROLES), default="analyst", show_default=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="MOESUITE_NEW_PASSWORD",
    help="At least 10 characters [prompted; env MOESUITE_NEW_PASSWORD].",
)
@format_option("text", "json")
@pass_settings
def create_user_command(
    settings: Settings, username: str, role: str, password: str, fmt: str
) -> None:
    """Add a console user (the password is stored as an argon2id hash)."""
    from moesuite.web.store import create_user, open_store

    create_user(open_store(settings.database_url), username, role, password)
    if fmt == "json":
        echo_json({"username": username, "role": role, "created": True})  # never the password
    else:
        click.echo(f"user {username} ({role}) created")


COMMANDS: list[click.Command] = [serve, auth]
