"""Sign-in limits, one rule for the form, ``POST /api/v1/tokens`` and the current password asked
on ``/account``, counted in the database so that every web process (and machine) shares them.
After OWASP's "Slow Down Online Guessing Attacks with Device Cookies":

- A successful browser sign-in gives the browser a device cookie: a random device id bound to
  the account, signed with SECRET_KEY. An attempt presenting a valid one for the account is a
  trusted client, held back only by its own budget (N failures per window for that device and
  account), never by what others did.
- Every other attempt (a new browser, a script) is untrusted: it spends the account's budget for
  untrusted clients and its address's (N failures per window each); once either is spent,
  untrusted attempts on that account, or from that address, are refused until the window moves on.

An attempt is recorded first, in a committed transaction of its own, then counted with every
other: so parallel guesses cannot all pass one check. Refused attempts are removed again (they do
not push the window forward), successful ones too; failures stay a day (KEEP_FAILURES)."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import secrets
from dataclasses import dataclass

from flask import current_app
from flask_babel import ngettext
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import and_, delete, func, insert, select

from ..config import ConfigurationError
from ..database import utcnow
from ..extensions import db
from ..models import SignInAttempt, User
from .sessions import digest, prune_sessions
from .users import authenticate, login_key, password_matches

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
# ASCII digits only (``\d`` would take ``١٠``); a few digits at most, so that no number overflows.
_LIMIT_RE = re.compile(r"^\s*([0-9]{1,6})\s*(?:per|/)\s*([0-9]{1,5})?\s*(second|minute|hour|day)s?\s*$",
                       re.IGNORECASE | re.ASCII)
MAX_FAILURES = 100_000
MAX_WINDOW = dt.timedelta(days=1)
# Failures are kept this long (the window is never longer): the admin's page of a user shows them.
KEEP_FAILURES = dt.timedelta(days=1)

DEVICE_COOKIE = "riado_device"
DEVICE_COOKIE_DAYS = 365
# Accounts one browser is trusted for (a shared office computer); the oldest is forgotten first.
DEVICE_ACCOUNTS = 8
_DEVICE_SALT = "riado.device"


@dataclass(frozen=True)
class SignInLimit:
    """At most ``failures`` failed sign-ins per ``window``, for each budget."""

    failures: int
    window: dt.timedelta


def parse_limit(text: str) -> SignInLimit:
    """``"10 per minute"``, ``"5 per 15 minutes"``, ``"20/hour"``."""
    match = _LIMIT_RE.match(text or "")
    limit = None
    if match:
        failures, count = int(match.group(1)), int(match.group(2) or 1)
        window = dt.timedelta(seconds=count * _UNITS[match.group(3).lower()])
        if 1 <= failures <= MAX_FAILURES and dt.timedelta(0) < window <= MAX_WINDOW:
            limit = SignInLimit(failures, window)
    if limit is None:
        raise ConfigurationError(
            f"RIADO_LOGIN_RATE_LIMIT must read like '10 per minute' or '5 per 15 minutes' (at most "
            f"{MAX_FAILURES} per at most a day), not '{(text or '')[:80]}'."
        )
    return limit


class TooManyAttempts(Exception):
    """A budget this attempt would spend is spent: ``scope`` says which (``device``: this browser's
    for the account; ``account``: the account's for untrusted clients; ``address``: the
    address's for untrusted clients)."""

    def __init__(self, retry_after: int, scope: str):
        super().__init__(f"{scope}: retry after {retry_after} s")
        self.retry_after = retry_after
        self.scope = scope

    def message(self) -> str:
        """What to tell the person signing in (in the request's language; the API's is English)."""
        minutes = max(1, math.ceil(self.retry_after / 60))
        if self.scope == "account":
            return ngettext(
                "Sign-in to this account from a new browser is paused for %(num)d minute because of repeated "
                "failed attempts. A browser you have signed in from before still works, and an administrator "
                "can lift the pause.",
                "Sign-in to this account from a new browser is paused for %(num)d minutes because of repeated "
                "failed attempts. A browser you have signed in from before still works, and an administrator "
                "can lift the pause.",
                minutes,
            )
        return ngettext("Too many failed sign-ins. Try again in %(num)d minute.",
                        "Too many failed sign-ins. Try again in %(num)d minutes.", minutes)


# --- device cookies -----------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_DEVICE_SALT)


def _account_tag(key: str) -> str:
    """The account as the cookie names it: a digest, so that the cookie holds no e-mail address."""
    return hashlib.sha256(("riado-device:" + key).encode()).hexdigest()[:32]


def _devices(cookie: str | None) -> list[tuple[str, str]]:
    """The (account tag, device id) pairs of a validly signed, unexpired device cookie, else none."""
    if not cookie or len(cookie) > 4096:
        return []
    try:
        pairs = _serializer().loads(cookie, max_age=DEVICE_COOKIE_DAYS * 86400)
    except BadData:
        return []
    if not isinstance(pairs, list):
        return []
    return [(p[0], p[1]) for p in pairs[:DEVICE_ACCOUNTS]
            if isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) and x for x in p)]


def device_id(cookie: str | None, email: str) -> str | None:
    """The device id that this browser's cookie holds for the account ``email`` signs in to."""
    tag = _account_tag(login_key(email)[:254])
    return next((device for account, device in _devices(cookie) if account == tag), None)


def device_cookie(cookie: str | None, user: User) -> str:
    """The browser's device cookie after ``user`` signed in with it: this account's device id (kept
    if it had one, so that its budget goes on) first, freshly signed, then the other accounts'."""
    tag = _account_tag(login_key(user.email))
    pairs = _devices(cookie)
    mine = next((device for account, device in pairs if account == tag), None) or secrets.token_urlsafe(16)
    others = [[account, device] for account, device in pairs if account != tag]
    return _serializer().dumps([[tag, mine], *others][:DEVICE_ACCOUNTS])


def set_device_cookie(response, value: str) -> None:
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_COOKIE_DAYS * 86400, path="/", httponly=True,
                        samesite="Lax", secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))


# --- the budgets --------------------------------------------------------------------------------

def _budgets(key: str, addr: str, device: str | None) -> list[tuple[str, object]]:
    """The budgets an attempt spends, each as (scope, which failures count against it)."""
    if device is not None:
        return [("device", and_(SignInAttempt.device == device, SignInAttempt.email == key))]
    untrusted = SignInAttempt.device.is_(None)
    return [("account", and_(SignInAttempt.email == key, untrusted)),
            ("address", and_(SignInAttempt.remote_addr == addr, untrusted))]


def _retry_after(conn, condition, limit: SignInLimit, now: dt.datetime, other_than: int = 0) -> int | None:
    """Seconds until fewer than ``limit.failures`` failures matching ``condition`` (other than the
    attempt ``other_than``) are in the window, or None if there already are."""
    nth_newest = conn.execute(
        select(SignInAttempt.at)
        .where(condition, SignInAttempt.id != other_than, SignInAttempt.at > now - limit.window)
        .order_by(SignInAttempt.at.desc())
        .offset(limit.failures - 1)
        .limit(1)
    ).scalar_one_or_none()
    if nth_newest is None:
        return None
    return max(1, math.ceil((nth_newest + limit.window - now).total_seconds()))


def take_attempt(key: str, addr: str, device: str | None, limit: SignInLimit) -> int:
    """Record an attempt (committed at once, old rows pruned on the way), then count it with every
    other: if a budget it spends is over, remove it and raise TooManyAttempts; else return its id.
    The row stands as a failure until the caller removes it on success. Call it with no write
    transaction of the request open (on SQLite it would wait for that one)."""
    now = utcnow()
    device_hash = None if device is None else digest(device)  # only a digest is stored
    with db.engine.begin() as conn:
        attempt = conn.execute(insert(SignInAttempt).values(
            at=now, email=key, remote_addr=addr, device=device_hash,
        )).inserted_primary_key[0]
        conn.execute(delete(SignInAttempt).where(SignInAttempt.at < now - KEEP_FAILURES))
        prune_sessions(conn, now)
    with db.engine.begin() as conn:  # a new transaction: it sees every attempt committed before
        now = utcnow()
        waits = {}
        for scope, condition in _budgets(key, addr, device_hash):
            wait = _retry_after(conn, condition, limit, now, attempt)
            if wait is not None:
                waits[scope] = wait
        if waits:
            conn.execute(delete(SignInAttempt).where(SignInAttempt.id == attempt))
    if waits:
        raise TooManyAttempts(max(waits.values()), "account" if "account" in waits else next(iter(waits)))
    return attempt


def _forget(attempt: int) -> None:
    """A successful attempt is no failure: its row goes, with the request's transaction."""
    db.session.execute(delete(SignInAttempt).where(SignInAttempt.id == attempt))


def sign_in(email: str, password: str, remote_addr: str | None, limit: SignInLimit,
            cookie: str | None = None) -> User | None:
    """The active user with these credentials, within the sign-in limits (``cookie``: the
    browser's device cookie, if any): raise TooManyAttempts (the password is not even checked),
    return None for wrong credentials (the failure stays recorded, the request's transaction is
    rolled back), or the user (the success is committed with the caller's transaction)."""
    from ..metrics import SIGN_IN_FAILURES

    key, addr = login_key(email)[:254], (remote_addr or "")[:64]
    db.session.rollback()  # the request's transaction ends: the attempt is written in one of its own
    try:
        attempt = take_attempt(key, addr, device_id(cookie, email), limit)
    except TooManyAttempts:
        SIGN_IN_FAILURES.labels("limited").inc()
        raise
    user = authenticate(email, password)
    if user is None:
        SIGN_IN_FAILURES.labels("wrong").inc()
        db.session.rollback()
        return None
    _forget(attempt)
    return user


def confirm_password(user: User, password: str, remote_addr: str | None, limit: SignInLimit,
                     cookie: str | None = None) -> bool:
    """Check a signed-in user's current password (before changing it) under the same limits, so
    that a stolen session cannot guess it without them; raise TooManyAttempts."""
    email = user.email
    db.session.rollback()
    attempt = take_attempt(login_key(email)[:254], (remote_addr or "")[:64], device_id(cookie, email), limit)
    if password_matches(user, password):
        _forget(attempt)
        return True
    db.session.rollback()
    return False


# --- what admins see and do -------------------------------------------------------------------

@dataclass(frozen=True)
class FailedSignIns:
    count: int
    last_at: dt.datetime | None
    last_addr: str | None
    paused_minutes: int | None  # how long sign-in from new browsers stays paused, if it is


def failed_sign_ins(user: User, limit: SignInLimit) -> FailedSignIns:
    """The failed sign-ins to ``user``'s account kept (the last 24 hours), from any client, and
    whether untrusted clients are refused for it now."""
    key = login_key(user.email)
    now = utcnow()
    since = now - KEEP_FAILURES
    count = db.session.execute(
        select(func.count()).select_from(SignInAttempt).where(SignInAttempt.email == key, SignInAttempt.at > since)
    ).scalar_one()
    last = db.session.execute(
        select(SignInAttempt.at, SignInAttempt.remote_addr)
        .where(SignInAttempt.email == key, SignInAttempt.at > since)
        .order_by(SignInAttempt.at.desc(), SignInAttempt.id.desc()).limit(1)
    ).first()
    wait = _retry_after(db.session, _budgets(key, "", None)[0][1], limit, now)
    return FailedSignIns(count, last[0] if last else None, last[1] if last else None,
                         None if wait is None else math.ceil(wait / 60))


def lift_pause(user: User) -> int:
    """Clear the recorded failures against ``user``'s account (every budget of it starts again);
    audited; not committed. Returns how many were cleared."""
    from ..audit import record

    result = db.session.execute(delete(SignInAttempt).where(SignInAttempt.email == login_key(user.email)))
    record(db.session, "lift-pause", "users", user.id, {"failed_sign_ins_cleared": result.rowcount})
    return result.rowcount
