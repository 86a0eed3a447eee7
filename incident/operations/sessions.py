"""Sessions and API tokens: how they start, how they are found, how they end."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets

from flask import current_app
from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.orm import contains_eager

from ..database import UTCDateTime, utcnow
from ..errors import NotFound
from ..extensions import db
from ..models import ApiToken, User, UserSession

TOKEN_PREFIX = "riado_"
# Bookkeeping writes (last_used_at, last_seen_at) at most this often: reads stay reads.
TOKEN_TOUCH_SECONDS = 600
SESSION_TOUCH_SECONDS = 300
# A token's lifetime in days, when one is asked for (at most about ten years).
MAX_TOKEN_DAYS = 3650
USER_AGENT_LENGTH = 200
# Ended and expired sessions (their address and browser are personal data) are kept this long,
# for the user's and the admin's look back, then deleted (``prune_sessions``).
KEEP_ENDED_SESSIONS = dt.timedelta(days=90)


def digest(secret: str) -> str:
    """SHA-256 of a token or session key: only this is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


# --- sessions -----------------------------------------------------------------------------------

def max_age() -> dt.timedelta:
    """A session's absolute lifetime (``RIADO_SESSION_MAX_AGE``): it ends this long after sign-in,
    however much it is used; the idle expiry (PERMANENT_SESSION_LIFETIME) ends it sooner unused."""
    return current_app.config["RIADO_SESSION_MAX_AGE"]


def _live(now: dt.datetime):
    return (UserSession.ended_at.is_(None), UserSession.expires_at > now, UserSession.created_at > now - max_age())


def start_session(user: User, remote_addr: str | None, user_agent: str, lifetime: dt.timedelta) -> str:
    """Record a new signed-in browser of ``user`` (not committed); return its key for the cookie."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(UserSession(
        user=user, key_hash=digest(key), created_at=now, last_seen_at=now, expires_at=now + min(lifetime, max_age()),
        remote_addr=(remote_addr or "")[:64] or None, user_agent=(user_agent or "")[:USER_AGENT_LENGTH],
    ))
    return key


def live_session(user_id: int, key: str) -> UserSession | None:
    """The unended, unexpired session with this key of this (active) user, its user loaded with it."""
    return db.session.execute(
        select(UserSession)
        .join(UserSession.user)
        .options(contains_eager(UserSession.user))
        .where(UserSession.key_hash == digest(key), UserSession.user_id == user_id, *_live(utcnow()),
               User.active.is_(True))
    ).scalar_one_or_none()


def touch_session(row: UserSession, lifetime: dt.timedelta) -> bool:
    """Slide the session's expiry with use (as the cookie's slides), never past its absolute
    lifetime; True if anything changed."""
    now = utcnow()
    if (now - row.last_seen_at).total_seconds() < SESSION_TOUCH_SECONDS:
        return False
    row.last_seen_at = now
    row.expires_at = min(now + lifetime, row.created_at + max_age())
    return True


def live_sessions(user_id: int) -> list[UserSession]:
    """The user's sessions that still let a browser in, the most recently used first."""
    return list(db.session.execute(
        select(UserSession)
        .where(UserSession.user_id == user_id, *_live(utcnow()))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ).scalars())


def end_session(row: UserSession, reason: str) -> None:
    if row.ended_at is None:
        row.ended_at = utcnow()
        row.ended_reason = reason


def end_sessions(user: User, reason: str, keep: UserSession | None = None) -> int:
    """End the user's live sessions except ``keep``; return how many ended."""
    ended = 0
    for row in live_sessions(user.id):
        if keep is not None and row.id == keep.id:
            continue
        end_session(row, reason)
        ended += 1
    return ended


def prune_sessions(conn, now: dt.datetime) -> None:
    """Delete the sessions that ended or expired more than KEEP_ENDED_SESSIONS ago (on ``conn``,
    a connection in a transaction: pruning is bookkeeping, not an act to audit)."""
    cutoff = now - KEEP_ENDED_SESSIONS
    conn.execute(delete(UserSession).where(or_(
        UserSession.ended_at < cutoff, UserSession.expires_at < cutoff, UserSession.created_at < cutoff - max_age(),
    )))


# --- tokens ---------------------------------------------------------------------------------------

def issue_token(user: User, name: str = "", days: int | None = None) -> str:
    """Create an API token for ``user`` (not committed), valid for ``days`` or until revoked;
    return the token (only its digest is stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = None if days is None else utcnow() + dt.timedelta(days=days)
    db.session.add(ApiToken(user=user, name=(name or "")[:100], token_hash=digest(token), prefix=token[:12],
                            expires_at=expires))
    return token


def live_token(token: str) -> ApiToken | None:
    """The unrevoked, unexpired token with this value, its user loaded with it."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return db.session.execute(_live_token_statement(), {"digest": digest(token), "now": utcnow()}).scalar_one_or_none()


@functools.cache
def _live_token_statement():
    """``live_token``'s query, built once (every API request runs it; only the values change)."""
    return (
        select(ApiToken)
        .join(ApiToken.user)
        .options(contains_eager(ApiToken.user))
        .where(
            ApiToken.token_hash == bindparam("digest"),
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > bindparam("now", type_=UTCDateTime())),
            User.active.is_(True),
        )
    )


def tokens_query(user_id: int):
    """A user's tokens, newest first (revoked and expired ones too: the list is their history)."""
    return select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())


def find_token(token_id: int, owner_id: int | None) -> ApiToken:
    """The token with this id, if it belongs to ``owner_id`` (None: whoever's it is, for admins);
    NotFound otherwise (another user's token is not told apart from one that does not exist)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or (owner_id is not None and token.user_id != owner_id):
        raise NotFound("token", token_id)
    return token


def revoke_token(token: ApiToken) -> bool:
    """Revoke one token; False if it already was."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    return True


def revoke_tokens(user: User, keep: ApiToken | None = None) -> int:
    """Revoke every unrevoked token of the user except ``keep``; return how many."""
    rows = db.session.execute(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).scalars()
    return sum(revoke_token(row) for row in rows if keep is None or row.id != keep.id)
