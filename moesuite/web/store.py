"""Identities of the web layer: API tokens, console users and sessions, in the suite's database.

Token and session secrets are 256-bit random values, so a SHA-256 of them is enough to store
(nothing to brute-force); passwords are low-entropy and get argon2id (argon2-cffi's defaults,
RFC 9106's second recommended profile). Sign-in costs the same whether or not the user exists.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from fraud.review.db import get_engine, write_transaction
from moesuite.web.errors import IdentityError
from moesuite.web.models import ROLES, SCOPES, ApiToken, User, WebSession

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
TOKEN_PREFIX = "mst_"
_hasher = PasswordHasher()
_PG_LOCK = 7_214_623_018


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token or a signed-in user, with what they may do.

    Attributes:
        identity: The name actions are recorded under (audit log, case holder).
        kind: ``"token"`` or ``"session"``.
        scopes: API scopes (tokens); a session's role grants the console only.
        role: The console role (sessions), or None for tokens.
        key: A stable key for rate limiting.
        csrf_token: The session's CSRF token (sessions only).
    """

    identity: str
    kind: str
    scopes: frozenset[str] = frozenset()
    role: str | None = None
    key: str = ""
    csrf_token: str = ""

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


@dataclass(frozen=True)
class TokenInfo:
    """A stored token, without its secret."""

    name: str
    identity: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked: bool


def token_digest(secret: str) -> str:
    """The stored form of a token or session secret (SHA-256, hex)."""
    return _digest(secret)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _migrate(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


_migrated: weakref.WeakSet[Engine] = weakref.WeakSet()


def open_store(database_url: str) -> Engine:
    """The suite's engine for ``database_url`` with the review and web tables migrated.

    Raises:
        ReviewDatabaseError: The database cannot be reached or migrated.
    """
    engine = get_engine(database_url)
    if engine not in _migrated:
        try:
            _migrate(engine)
        except SQLAlchemyError as exc:
            from fraud.review.errors import ReviewDatabaseError

            raise ReviewDatabaseError(
                f"cannot migrate the web tables: {str(exc).splitlines()[0]}"
            ) from exc
        _migrated.add(engine)
    return engine


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the user does not exist, so timing does not reveal user names.
    return _hasher.hash(secrets.token_urlsafe(16))


def _now() -> datetime:
    return datetime.now(UTC)


def create_token(
    engine: Engine,
    name: str,
    scopes: tuple[str, ...],
    *,
    identity: str | None = None,
    expires_days: float | None = None,
) -> str:
    """Store a new token and return its secret (shown once, never stored).

    Args:
        name: A unique label (``"payments-backend"``).
        scopes: Some of `SCOPES`.
        identity: The name review actions are recorded under; default ``token:<name>``.
        expires_days: Lifetime; None = until revoked.

    Raises:
        IdentityError: Unknown scope, empty name or a name already taken.
    """
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise IdentityError(
            f"scopes {', '.join(unknown) or '(none)'} not allowed; use some of {', '.join(SCOPES)}"
        )
    if not name.strip():
        raise IdentityError("a token needs a name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = _now()
    values = dict(
        name=name,
        token_hash=_digest(secret),
        identity=identity or f"token:{name}",
        scopes=sorted(set(scopes)),
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days else None,
        revoked_at=None,
    )
    try:
        with write_transaction(engine) as conn:
            conn.execute(insert(ApiToken).values(**values))
    except IntegrityError as exc:
        raise IdentityError(f"a token named {name!r} exists; revoke it or pick another") from exc
    return secret


def revoke_token(engine: Engine, name: str) -> None:
    """Revoke the token called ``name``.

    Raises:
        IdentityError: No live token has this name.
    """
    with write_transaction(engine) as conn:
        result = conn.execute(
            update(ApiToken)
            .where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
    if result.rowcount != 1:
        raise IdentityError(f"no live token named {name!r}; `moesuite auth list-tokens` shows them")


def list_tokens(engine: Engine) -> list[TokenInfo]:
    """Every token, oldest first (secrets are not stored, so none is shown)."""
    with engine.connect() as conn:
        rows = conn.execute(select(ApiToken.__table__).order_by(ApiToken.id)).all()
    return [
        TokenInfo(
            r.name, r.identity, tuple(r.scopes), r.created_at, r.expires_at, bool(r.revoked_at)
        )
        for r in rows
    ]


def token_principal(engine: Engine, secret: str) -> Principal | None:
    """The caller a bearer secret stands for, or None when it is unknown, revoked or expired."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    digest = _digest(secret)
    with engine.connect() as conn:
        row = conn.execute(select(ApiToken.__table__).where(ApiToken.token_hash == digest)).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= _now():
        return None
    return Principal(
        identity=row.identity, kind="token", scopes=frozenset(row.scopes), key=f"token:{row.id}"
    )


def create_user(engine: Engine, username: str, role: str, password: str) -> None:
    """Add a console user with an argon2id password hash.

    Raises:
        IdentityError: Unknown role, a short password or a name already taken.
    """
    if role not in ROLES:
        raise IdentityError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not username.strip() or len(username) > 128:
        raise IdentityError("a user name needs 1 to 128 characters")
    if len(password) < 10:
        raise IdentityError("a password needs at least 10 characters")
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                insert(User).values(
                    username=username,
                    role=role,
                    password_hash=_hasher.hash(password),
                    disabled=False,
                    created_at=_now(),
                )
            )
    except IntegrityError as exc:
        raise IdentityError(f"user {username!r} exists") from exc


def authenticate(engine: Engine, username: str, password: str) -> int | None:
    """The user's id when the password matches an enabled user, else None (same cost either way)."""
    with engine.connect() as conn:
        row = conn.execute(select(User.__table__).where(User.username == username)).first()
    stored = row.password_hash if row is not None else _dummy_hash()
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    return int(row.id)


def open_session(engine: Engine, user_id: int, hours: float) -> str:
    """Start a session for ``user_id``; returns the cookie secret."""
    secret = secrets.token_urlsafe(32)
    now = _now()
    with write_transaction(engine) as conn:
        # Expired sessions are dropped here rather than by a sweeper process.
        conn.execute(delete(WebSession).where(WebSession.expires_at <= now))
        conn.execute(
            insert(WebSession).values(
                session_hash=_digest(secret),
                user_id=user_id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + timedelta(hours=hours),
            )
        )
    return secret


def session_principal(engine: Engine, secret: str) -> Principal | None:
    """The signed-in user a session cookie stands for, or None when unknown or expired."""
    if not secret or len(secret) > 200:
        return None
    stmt = (
        select(
            WebSession.id,
            WebSession.csrf_token,
            WebSession.expires_at,
            User.username,
            User.role,
            User.disabled,
        )
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.session_hash == _digest(secret))
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None or row.disabled or row.expires_at <= _now():
        return None
    return Principal(
        identity=row.username,
        kind="session",
        role=row.role,
        key=f"session:{row.id}",
        csrf_token=row.csrf_token,
    )


def close_session(engine: Engine, secret: str) -> None:
    """End a session (sign out)."""
    with write_transaction(engine) as conn:
        conn.execute(delete(WebSession).where(WebSession.session_hash == _digest(secret)))


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets (CSRF tokens)."""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())
