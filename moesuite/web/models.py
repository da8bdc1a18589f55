"""Typed SQLAlchemy 2.0 tables of the web layer: API tokens, console users and their sessions.

They live in the suite's database beside the review queue but in their own metadata and Alembic
history (version table ``web_alembic_version``), so fraud's migrations never see them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from fraud.review.tables import NAMING_CONVENTION, UTCDateTime

SCOPES = ("score", "jobs", "review", "code", "admin")
ROLES = ("analyst", "lead", "admin")


class WebBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), list[str]: JSON()}


class ApiToken(WebBase):
    """A bearer token; only the SHA-256 of its secret is stored (the secret has 256 bits)."""

    __tablename__ = "web_api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The identity decisions made with this token are recorded under (a user name or the token's).
    identity: Mapped[str] = mapped_column(String(128))
    scopes: Mapped[list[str]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class User(WebBase):
    """A console user; the password is stored as an argon2id hash."""

    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class WebSession(WebBase):
    """A signed-in console session; the cookie holds the secret, the table its SHA-256."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
