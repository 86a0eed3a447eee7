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
from ..extensions import db
from ..operations.sessions import end_session, start_session
from ..operations.sign_in import DEVICE_COOKIE, TooManyAttempts, device_cookie, set_device_cookie, sign_in
from ..security import SESSION_KEY, current_session, public

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


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """The sign-in form (within the sign-in limits); on success, a fresh session, recorded on the
    server (the browser's previous one ended), a device cookie for the limits, and back to where
    the user was going."""
    form = LoginForm()
    error, status, headers = None, 200, {}
    if form.validate_on_submit():
        cookie = request.cookies.get(DEVICE_COOKIE)
        try:
            user = sign_in(form.email.data, form.password.data, request.remote_addr,
                           current_app.config["RIADO_SIGN_IN_LIMIT"], cookie)
        except TooManyAttempts as exc:
            db.session.rollback()
            error, status, headers = exc.message(), 429, {"Retry-After": str(exc.retry_after)}
        else:
            if user is not None:
                previous = current_session()
                if previous is not None:
                    end_session(previous, "signed-in-again")  # its cookie copied elsewhere dies too
                lang = session.get("lang")
                session.clear()  # no session fixation: a new session for the new identity
                if lang:
                    session["lang"] = lang
                login_user(user)
                session.permanent = True
                session[SESSION_KEY] = start_session(user, request.remote_addr, request.user_agent.string,
                                                     current_app.permanent_session_lifetime)
                db.session.commit()
                response = redirect(safe_next(request.args.get("next")))
                set_device_cookie(response, device_cookie(cookie, user))
                return response
            error, status = _("Wrong email or password."), 401
    elif current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    return render_template("incident/login.html", form=form, error=error), status, headers


@bp.route("/logout", methods=["POST"])
@public
def logout():
    """Sign out (a POST with the CSRF token, so a link elsewhere cannot sign anybody out): the
    session ends on the server too, so a copy of its cookie is dead as well."""
    lang = session.get("lang")
    row = current_session()
    if row is not None:
        end_session(row, "sign-out")
        db.session.commit()
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
