"""The signed-in user's own page (every role): password, API tokens, sessions."""

from __future__ import annotations

import secrets

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from ..errors import FieldError
from ..extensions import db
from ..operations.sessions import (
    MAX_TOKEN_DAYS,
    end_sessions,
    find_token,
    issue_token,
    live_sessions,
    revoke_token,
    tokens_query,
)
from ..operations.sign_in import DEVICE_COOKIE, TooManyAttempts, confirm_password
from ..operations.users import UserError, set_password
from ..security import current_session, require_role
from ..web.display import ended_message
from ..validation import whole_number

bp = Blueprint("account", __name__, url_prefix="/account")


class PasswordChangeForm(FlaskForm):
    # InputRequired, not DataRequired: a password of spaces gets the policy's own message.
    current_password = PasswordField(_l("Current password"), validators=[InputRequired(), Length(max=1000)])
    new_password = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=1000)])


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    days = StringField(_l("Valid for (days)"), validators=[Length(max=20)])  # read by whole_number
    # One per page shown: the same form posted again (a reload) makes no second token.
    nonce = HiddenField()

    def days_value(self) -> int | None:
        """The days asked for (None: until revoked); FieldError naming ``days`` if unusable."""
        text = (self.days.data or "").strip()
        if not text:
            return None
        days = whole_number(text, "days", minimum=1)
        if days > MAX_TOKEN_DAYS:
            raise FieldError("days", _l("At most %(n)s.", n=MAX_TOKEN_DAYS))
        return days


# The nonces of the token forms already used, kept in the session (the last few).
USED_NONCES = "_riado_token_nonces"


def _page(status: int = 200, password_form=None, token_form=None, new_token: str | None = None, headers=None):
    """The page; the form that was not posted is shown empty."""
    user = current_user._get_current_object()
    return render_template(
        "incident/account.html", user=user,
        password_form=password_form or PasswordChangeForm(formdata=None),
        token_form=token_form or _fresh_token_form(),
        tokens=db.session.execute(tokens_query(user.id)).scalars().all(),
        sessions=live_sessions(user.id), this_session=current_session(), new_token=new_token,
    ), status, headers or {}


def _fresh_token_form() -> TokenForm:
    form = TokenForm(formdata=None)
    form.nonce.data = secrets.token_urlsafe(12)
    return form


@bp.route("")
@require_role("viewer")
def index():
    """Who I am, my password, my tokens and my sessions."""
    return _page()


@bp.route("/password", methods=["POST"])
@require_role("viewer")
def change_password():
    """Change my own password (the current one is asked for, under the sign-in limits): my other
    sessions end and my tokens are revoked; this session stays."""
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _page(422, password_form=form)
    user = current_user._get_current_object()
    try:
        matches = confirm_password(user, form.current_password.data, request.remote_addr,
                                   current_app.config["RIADO_SIGN_IN_LIMIT"], request.cookies.get(DEVICE_COOKIE))
    except TooManyAttempts as exc:
        db.session.rollback()
        form.current_password.errors.append(exc.message())
        return _page(429, password_form=form, headers={"Retry-After": str(exc.retry_after)})
    if not matches:
        form.current_password.errors.append(_("This is not your current password."))
        return _page(422, password_form=form)
    if form.new_password.data == form.current_password.data:
        form.new_password.errors.append(_("The new password is the same as the current one: choose another."))
        return _page(422, password_form=form)
    try:
        sessions, tokens = set_password(user, form.new_password.data, keep=current_session())
    except UserError as exc:
        db.session.rollback()
        form.new_password.errors.append(exc.message)
        return _page(422, password_form=form)
    db.session.commit()
    flash(_("Your password was changed.") + " " + ended_message(sessions, tokens, others=True), "success")
    return redirect(url_for("account.index"))


@bp.route("/tokens", methods=["GET", "POST"])
@require_role("viewer")
def create_token():
    """Make an API token for myself; it is shown once, on the answer to this POST (never stored
    in a flashed message: the cookie is signed, not secret). Posting the same form again (a
    reload) makes no second token."""
    if request.method == "GET":  # the address of the answer, from the history or a bookmark
        return redirect(url_for("account.index"))
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(422, token_form=form)
    try:
        days = form.days_value()
    except FieldError as exc:
        form.days.errors = [*form.days.errors, exc.message]
        return _page(422, token_form=form)
    used = session.get(USED_NONCES, [])
    if form.nonce.data and form.nonce.data in used:
        flash(_("This token was created already and its secret shown once; revoke it if it was not copied."),
              "error")
        return redirect(url_for("account.index"))
    token = issue_token(current_user._get_current_object(), form.name.data.strip(), days)
    db.session.commit()
    if form.nonce.data:
        session[USED_NONCES] = [*used, form.nonce.data][-10:]
    return _page(new_token=token)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@require_role("viewer")
def revoke(token_id: int):
    """Revoke one of my tokens (another user's is 404)."""
    token = find_token(token_id, current_user.id)
    revoke_token(token)
    db.session.commit()
    flash(_("Token “%(name)s” revoked.", name=token.name or token.prefix), "success")
    return redirect(url_for("account.index"))


@bp.route("/sessions/end-others", methods=["POST"])
@require_role("viewer")
def end_other_sessions():
    """Sign out my other sessions (another computer, a phone); this one stays."""
    ended = end_sessions(current_user._get_current_object(), "ended-by-user", keep=current_session())
    db.session.commit()
    flash(ngettext("%(num)d other session was signed out.", "%(num)d other sessions were signed out.", ended),
          "success")
    return redirect(url_for("account.index"))
