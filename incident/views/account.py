"""The signed-in user's own page (every role): password, API tokens, sessions."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..extensions import db
from ..models import ApiToken
from ..operations.sessions import MAX_TOKEN_DAYS, end_sessions, issue_token, live_sessions, revoke_token, tokens_query
from ..operations.sign_in import DEVICE_COOKIE, TooManyAttempts, confirm_password
from ..operations.users import UserError, set_password
from ..security import current_session, require_role
from .auth import too_many_attempts_message

bp = Blueprint("account", __name__, url_prefix="/account")


class PasswordChangeForm(FlaskForm):
    # InputRequired, not DataRequired: a password of spaces gets the policy's own message.
    current_password = PasswordField(_l("Current password"), validators=[InputRequired(), Length(max=1000)])
    new_password = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=1000)])


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    days = IntegerField(_l("Valid for (days)"), validators=[Optional(), NumberRange(min=1, max=MAX_TOKEN_DAYS)])


def _page(status: int = 200, password_form=None, token_form=None, new_token: str | None = None, headers=None):
    """The page; the form that was not posted is shown empty."""
    user = current_user._get_current_object()
    return render_template(
        "incident/account.html", user=user,
        password_form=password_form or PasswordChangeForm(formdata=None),
        token_form=token_form or TokenForm(formdata=None),
        tokens=db.session.execute(tokens_query(user.id)).scalars().all(),
        sessions=live_sessions(user.id), this_session=current_session(), new_token=new_token,
    ), status, headers or {}


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
        form.current_password.errors.append(too_many_attempts_message(exc))
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
    flash(" ".join((
        _("Your password was changed."),
        ngettext("%(num)d other session was signed out,", "%(num)d other sessions were signed out,", sessions),
        ngettext("%(num)d token was revoked.", "%(num)d tokens were revoked.", tokens),
    )), "success")
    return redirect(url_for("account.index"))


@bp.route("/tokens", methods=["POST"])
@require_role("viewer")
def create_token():
    """Make an API token for myself; it is shown once, on the answer to this POST."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(422, token_form=form)
    token = issue_token(current_user._get_current_object(), form.name.data.strip(), form.days.data)
    db.session.commit()
    # Never stored in the page cache nor in a flashed message (the cookie is signed, not secret).
    return _page(token_form=TokenForm(formdata=None), new_token=token, headers={"Cache-Control": "no-store"})


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@require_role("viewer")
def revoke(token_id: int):
    """Revoke one of my tokens (another user's is 404)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    revoke_token(token)
    db.session.commit()
    flash(_("Token %(prefix)s… revoked.", prefix=token.prefix), "success")
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
