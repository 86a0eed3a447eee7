"""Users of the service, their roles and API tokens."""

from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db

# Ordered from least to most privileged: each role may do all a lower one may. The press officer
# (press) reads what a viewer reads; what else a press officer may do (public notices, the media
# log) is granted route by route (``require_role("press")``); officers also write everything else.
ROLES = ("viewer", "press", "officer", "admin")


class User(UserMixin, db.Model):
    """A person who signs in: an admin, an officer (writes), a press officer (reads, writes public
    notices and the media log) or a viewer (reads)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('viewer', 'press', 'officer', 'admin')", name="role"),)
    __audit__ = {"exclude": {"password_hash"}, "quiet": {"last_login_at"}}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")
    sessions: Mapped[list[UserSession]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def has_role(self, role: str) -> bool:
        """Whether this user's role is ``role`` or a more privileged one."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 digest is stored, the token is shown once."""

    __tablename__ = "api_tokens"
    __audit__ = {"exclude": {"token_hash"}, "quiet": {"last_used_at"}}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # None: until revoked
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def state(self) -> str:
        """valid, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "valid"


# Why a session ended (user_sessions.ended_reason).


class UserSession(db.Model):
    """A signed-in browser. Its cookie carries a random key of which only the SHA-256 digest is
    stored, so that a session ends on the server (sign-out, a password change, a deactivation)
    wherever its cookie was copied to."""

    __tablename__ = "user_sessions"
    __audit__ = {"exclude": {"key_hash"}, "quiet": {"last_seen_at", "expires_at"}}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # slides with use, as the cookie's does
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(32))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship(back_populates="sessions")


class SignInAttempt(db.Model):
    """A failed sign-in through the form, ``POST /api/v1/tokens`` or the current password asked on
    ``/account`` (or one whose password is being checked), for the sign-in limits
    (``operations.sign_in``). A successful or refused attempt leaves no row; failures are kept a
    day, for the limits' window and the admin's page of the user."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_email_at", "email", "at"),
        Index("ix_sign_in_attempts_remote_addr_at", "remote_addr", "at"),
        Index("ix_sign_in_attempts_device_at", "device", "at"),
    )
    __audit__ = False  # a log of its own; failures are not writes of the data

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    email: Mapped[str] = mapped_column(String(254))  # the account key (users.login_key): also unknown ones
    remote_addr: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the device id of a valid device cookie for this account (a trusted client: only
    # its own budget counts); None for an untrusted client (the account's and the address's).
    device: Mapped[str | None] = mapped_column(String(64))
