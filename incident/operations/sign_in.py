"""Sign-in limits, one rule for the form and ``POST /api/v1/tokens``, counted in the database so
that every web process (and machine) shares them.

- Per address: at most N failed sign-ins per window from one address, whatever the account.
- Per account: failures against an account from addresses that never signed in to it
  successfully (in the last 90 days) spend the account's budget of N per window; once it is
  spent, such unknown addresses are refused for that account until the window moves on. An
  address that did sign in to the account before is held back only by its own budget, so an
  attacker slows themselves and strangers, never the owner at their usual computer.

Refused attempts are not checked nor counted: hammering does not push the window forward."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from sqlalchemy import and_, delete, exists, insert, or_, select

from ..config import ConfigurationError
from ..database import utcnow
from ..extensions import db
from ..models import SignInAttempt, User
from .users import authenticate, password_matches

KNOWN_ADDRESS_DAYS = 90
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_LIMIT_RE = re.compile(r"^\s*(\d+)\s*(?:per|/)\s*(\d+)?\s*(second|minute|hour|day)s?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SignInLimit:
    """At most ``failures`` failed sign-ins per ``window`` (per address, and per account from
    unknown addresses)."""

    failures: int
    window: dt.timedelta


def parse_limit(text: str) -> SignInLimit:
    """``"10 per minute"``, ``"5 per 15 minutes"``, ``"20/hour"``."""
    match = _LIMIT_RE.match(text or "")
    if not match or int(match.group(1)) < 1 or (match.group(2) is not None and int(match.group(2)) < 1):
        raise ConfigurationError(
            f"RIADO_LOGIN_RATE_LIMIT must read like '10 per minute' or '5 per 15 minutes', not '{text}'."
        )
    seconds = int(match.group(2) or 1) * _UNITS[match.group(3).lower()]
    return SignInLimit(int(match.group(1)), dt.timedelta(seconds=seconds))


class TooManyAttempts(Exception):
    """The address, or the account from an unknown address, has no sign-ins left for now."""

    def __init__(self, retry_after: int):
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def account_key(email: str) -> str:
    return (email or "").strip().lower()[:254]


def _retry_after(condition, limit: SignInLimit, now: dt.datetime) -> int | None:
    """Seconds until fewer than ``limit.failures`` failures matching ``condition`` are in the
    window, or None if there already are."""
    nth_newest = db.session.execute(
        select(SignInAttempt.at)
        .where(condition, SignInAttempt.succeeded.is_(False), SignInAttempt.at > now - limit.window)
        .order_by(SignInAttempt.at.desc())
        .offset(limit.failures - 1)
        .limit(1)
    ).scalar_one_or_none()
    if nth_newest is None:
        return None
    return max(1, math.ceil((nth_newest + limit.window - now).total_seconds()))


def check_limits(email: str, remote_addr: str, limit: SignInLimit) -> bool:
    """Raise TooManyAttempts if this sign-in may not be tried now; return whether the address is
    known to the account (signed in to it successfully in the last 90 days)."""
    now = utcnow()
    wait = _retry_after(SignInAttempt.remote_addr == remote_addr, limit, now)
    if wait is not None:
        raise TooManyAttempts(wait)
    known = db.session.execute(select(exists().where(
        SignInAttempt.email == email, SignInAttempt.remote_addr == remote_addr, SignInAttempt.succeeded.is_(True),
        SignInAttempt.at > now - dt.timedelta(days=KNOWN_ADDRESS_DAYS),
    ))).scalar_one()
    if not known:
        wait = _retry_after(and_(SignInAttempt.email == email, SignInAttempt.known_address.is_(False)), limit, now)
        if wait is not None:
            raise TooManyAttempts(wait)
    return known


def _prune_condition(limit: SignInLimit, now: dt.datetime):
    return or_(
        and_(SignInAttempt.succeeded.is_(False), SignInAttempt.at < now - limit.window),
        SignInAttempt.at < now - dt.timedelta(days=KNOWN_ADDRESS_DAYS),
    )


def record_failure(email: str, remote_addr: str, known: bool, limit: SignInLimit) -> None:
    """Record a failed sign-in in a short transaction of its own, so that the request's rollback
    cannot drop it (call it when the request's own transaction has ended: on SQLite a second
    writer would wait for the first); old attempts are pruned on the way."""
    now = utcnow()
    with db.engine.begin() as conn:
        conn.execute(insert(SignInAttempt), {"at": now, "email": email, "remote_addr": remote_addr,
                                             "succeeded": False, "known_address": known})
        conn.execute(delete(SignInAttempt).where(_prune_condition(limit, now)))


def record_success(email: str, remote_addr: str, known: bool, limit: SignInLimit) -> None:
    """Record a successful sign-in in the request's transaction (committed with the sign-in)."""
    now = utcnow()
    db.session.add(SignInAttempt(at=now, email=email, remote_addr=remote_addr, succeeded=True, known_address=known))
    db.session.execute(delete(SignInAttempt).where(_prune_condition(limit, now)))


def sign_in(email: str, password: str, remote_addr: str | None, limit: SignInLimit) -> User | None:
    """The active user with these credentials, within the sign-in limits: raise TooManyAttempts
    (the password is not even checked), return None for wrong credentials (the failure recorded,
    the request's transaction rolled back), or the user (the success is committed with the caller's
    transaction)."""
    key, addr = account_key(email), (remote_addr or "")[:64]
    known = check_limits(key, addr, limit)
    user = authenticate(email, password)
    if user is None:
        db.session.rollback()
        record_failure(key, addr, known, limit)
        return None
    record_success(key, addr, known, limit)
    return user


def confirm_password(user: User, password: str, remote_addr: str | None, limit: SignInLimit) -> bool:
    """Check a signed-in user's current password (before changing it) under the same limits, so
    that a stolen session cannot guess it without them; raise TooManyAttempts."""
    key, addr = account_key(user.email), (remote_addr or "")[:64]
    known = check_limits(key, addr, limit)
    if password_matches(user, password):
        return True
    db.session.rollback()
    record_failure(key, addr, known, limit)
    return False

