"""Users: creation, authentication, role changes, the password policy."""

from __future__ import annotations

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import utcnow
from ..errors import ConflictError, FieldError
from ..extensions import db
from ..models import ROLES, ApiToken, Municipality, User, UserSession
from ..validation import clean_name, fold, name_taken
from .sessions import end_sessions, revoke_tokens

MIN_PASSWORD_LENGTH = 10
# zxcvbn's score (0-4): 0 and 1 fall within a million guesses (common passwords, a word with a few
# digits, keyboard walks, dates); 2 and above hold out far longer against the sign-in limits.
MIN_PASSWORD_SCORE = 2
# zxcvbn refuses longer input (its matching grows fast); the characters beyond only add strength.
ZXCVBN_MAX_LENGTH = 72
# An e-mail name shorter than this says nothing about a password that contains it.
MIN_EMAIL_NAME_LENGTH = 3
# zxcvbn knows English words only: Hungarian ones that passwords are made of are its hints.
PASSWORD_HINTS = ("jelszo", "jelszó", "titok", "riado", "riadó", "budapest", "magyar")
# Compared against when the email is unknown, so that both paths cost one hash.
_DUMMY_HASH = generate_password_hash("riado-timing-equaliser")


class UserError(FieldError):
    """A user cannot be created or changed as asked; ``field`` names the offending input."""


def normalise_email(email: str) -> str:
    """Lower-case and syntax-check an email address (no DNS lookup), without invisible
    characters and composed (``clean_name``), so that a look-alike is the same address."""
    try:
        return validate_email(clean_name(email or ""), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise UserError("email", _l("Enter a valid email address.")) from None


def _words(text: str) -> list[str]:
    """The words of a name as hints for zxcvbn: as written and without accents (as typed on a
    keyboard without Hungarian letters)."""
    words = [w for w in re.split(r"[\W_]+", (text or "").casefold()) if len(w) >= MIN_EMAIL_NAME_LENGTH]
    return [*words, *(fold(w) for w in words if fold(w) != w)]


def place_names() -> str:
    """The municipality's names (a password hint: people use their town's name)."""
    row = db.session.execute(select(Municipality.name, Municipality.short_name).limit(1)).first()
    return " ".join(row) if row else ""


def check_password(password: str, email: str = "", name: str = "", place: str = "") -> None:
    """Refuse a password that is short, one character over and over, common or easily guessed
    (zxcvbn, also with Hungarian words, the user's names and the municipality's ``place`` as
    hints), or that contains the name of the user's e-mail address (with or without its dots)."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError("password", _l("The password must be at least %(n)s characters long.", n=MIN_PASSWORD_LENGTH))
    if len(set(password)) == 1:
        raise UserError("password", _l("The password cannot be one character over and over."))
    local = (email or "").rpartition("@")[0].casefold()
    compact = re.sub(r"[\W_]+", "", local)  # kovacs.janos → kovacsjanos, as in KovacsJanos-ablak
    folded = password.casefold()
    if (len(local) >= MIN_EMAIL_NAME_LENGTH and local in folded) or (
            len(compact) >= MIN_EMAIL_NAME_LENGTH and compact in re.sub(r"[\W_]+", "", folded)):
        raise UserError("password", _l("The password cannot contain the name of the e-mail address (%(name)s).",
                                       name=local))
    from zxcvbn import zxcvbn  # loads its word lists: only when a password is set

    hints = [*PASSWORD_HINTS, *_words(place), *_words(name), *_words(local), compact]
    if zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=list(dict.fromkeys(h for h in hints if h)))["score"] \
            < MIN_PASSWORD_SCORE:
        raise UserError("password", _l("This password is too common or too easy to guess: use a longer one, "
                                       "for example a few unrelated words."))


def check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError("role", _l("The role must be one of %(roles)s.", roles=", ".join(ROLES)))


def login_key(email: str) -> str:
    """What an address typed at sign-in is looked up by (``find_user``) and counted under by the
    sign-in limits: as shown (``clean_name``: no invisible characters, composed), lower case. Every
    spelling that finds a user thus spends that user's budget."""
    return clean_name(email or "").lower()


def find_user(email: str) -> User | None:
    return db.session.execute(
        select(User).where(func.lower(User.email) == login_key(email))
    ).scalar_one_or_none()


def email_taken(email: str) -> bool:
    """Whether a user already has this address or one it would be taken for (compared in Python:
    SQLite's lower() folds ASCII letters only)."""
    return name_taken(email, db.session.execute(select(User.email)).scalars())


def create_user(email: str, password: str, role: str = "viewer", name: str = "", position: str = "") -> User:
    """Add a user (not committed); raise UserError naming the bad field, ConflictError (email)
    if the address is taken."""
    email = normalise_email(email)
    check_role(role)
    check_password(password, email, name, place_names())
    if email_taken(email):
        raise ConflictError(_l("A user with this email address already exists."), "email")
    user = User(
        email=email,
        role=role,
        name=clean_name(name or ""),
        position=(position or "").strip(),
        password_hash=generate_password_hash(password),
    )
    db.session.add(user)
    return user


def set_password(user: User, password: str, keep: UserSession | None = None,
                 keep_token: ApiToken | None = None) -> tuple[int, int]:
    """Change ``user``'s password: end their sessions and revoke their tokens, which were got with
    the old one, all but the session or token making the change (``keep``, ``keep_token``).
    Returns (sessions ended, tokens revoked)."""
    check_password(password, user.email, user.name, place_names())
    user.password_hash = generate_password_hash(password)
    return end_sessions(user, "password-changed", keep=keep), revoke_tokens(user, keep=keep_token)


def set_active(user: User, active: bool) -> tuple[int, int]:
    """Let ``user`` sign in or not. Deactivating ends every session and revokes every token, so
    that reactivating later revives none of them. Returns (sessions ended, tokens revoked)."""
    ended = (0, 0)
    if user.active and not active:
        ended = end_sessions(user, "deactivated"), revoke_tokens(user)
    user.active = active
    return ended


@dataclass(frozen=True)
class Ended:
    """What a change of a user ended: browser sessions signed out, API tokens revoked."""

    sessions: int = 0
    tokens: int = 0

    def __add__(self, other: tuple[int, int]) -> Ended:
        return Ended(self.sessions + other[0], self.tokens + other[1])


def update_user(user: User, changes: dict, actor: User, keep: UserSession | None = None,
                keep_token: ApiToken | None = None) -> Ended:
    """An admin's change of a user (not committed): ``name``, ``position``, ``role``, ``active``,
    ``password`` (only those given). Admins cannot take their own admin rights away nor
    deactivate themselves (UserError naming ``role`` or ``active``). A new password ends the
    user's sessions and tokens but the ones making the change (``keep``, ``keep_token``); a
    deactivation ends them all."""
    if user.id == actor.id and changes.get("role", "admin") != "admin":
        raise UserError("role", _l("You cannot remove your own admin rights."))
    if user.id == actor.id and changes.get("active", True) is False:
        raise UserError("active", _l("You cannot deactivate yourself."))
    if "role" in changes:
        check_role(changes["role"])
    ended = Ended()
    if changes.get("password"):
        ended += set_password(user, changes["password"], keep=keep, keep_token=keep_token)
    if "name" in changes:
        user.name = clean_name(changes["name"] or "")
    if "position" in changes:
        user.position = (changes["position"] or "").strip()
    if "role" in changes:
        user.role = changes["role"]
    if "active" in changes:
        ended += set_active(user, bool(changes["active"]))
    return ended


def password_matches(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password or "")


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same cost whether or not the email exists)."""
    user = find_user(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.is_active:
        return None
    user.last_login_at = utcnow()
    return user
