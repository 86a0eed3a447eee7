"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from ..config import LOCALES
from ..extensions import db, limiter
from ..operations.users import authenticate
from ..security import login_rate_key, public

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


def safe_next(target: str | None) -> str:
    """A same-site path to return to, never another host (no open redirect), else the dashboard.
    Browsers read ``/\\host`` as ``//host`` and drop tabs and newlines from a URL, and a CR/LF
    would break the Location header: a path with a control character is not taken either."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return url_for("shell.dashboard")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return url_for("shell.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("shell.dashboard")
    return target


def _login_limit() -> str:
    return current_app.config["RIADO_LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=login_rate_key)
@public
def login():
    """The sign-in form; on success, a fresh session and back to where the user was going."""
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            lang = session.get("lang")
            session.clear()  # no session fixation: a new session for the new identity
            if lang:
                session["lang"] = lang
            login_user(user)
            session.permanent = True
            db.session.commit()
            return redirect(safe_next(request.args.get("next")))
        db.session.rollback()
        error = _("Wrong email or password.")
    elif current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    status = 401 if error else 200
    return render_template("incident/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@public
def logout():
    """Sign out (a POST with the CSRF token, so a link elsewhere cannot sign anybody out)."""
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>")
@public
def set_language(code: str):
    """Switch the interface language for this browser session."""
    if code in LOCALES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))
