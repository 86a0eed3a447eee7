"""Administration pages: users and the audit trail (admins only)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..extensions import db
from ..models import ROLES, AuditEntry, User
from ..operations.sessions import end_sessions, find_token, live_sessions, revoke_token, revoke_tokens, tokens_query
from ..operations.sign_in import failed_sign_ins, lift_pause
from ..operations.users import create_user, update_user
from ..security import current_session, require_role
from ..web.display import ended_message
from ..web.forms import render_form, write
from ..web.paging import paged

bp = Blueprint("admin", __name__, url_prefix="/admin")


def role_choices():
    return [("viewer", _l("Viewer (reads)")), ("press", _l("Press officer (reads, writes public notices)")),
            ("officer", _l("Officer (writes)")), ("admin", _l("Administrator"))]


class UserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Length(max=200)])
    position = StringField(_l("Position"), validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
    # InputRequired, not DataRequired: a password of spaces gets the policy's own message.
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=1000)])


class UserEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=200)])
    position = StringField(_l("Position"), validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
    active = BooleanField(_l("May sign in"))
    password = PasswordField(_l("New password"), validators=[Optional(), Length(max=1000)])


@bp.route("/users", methods=["GET", "POST"])
@require_role("admin")
def users():
    """List users and create one."""
    form = UserForm()
    outcome = None
    if request.method == "POST":
        outcome = write(form, lambda _location: create_user(
            form.email.data, form.password.data, form.role.data, form.name.data, form.position.data))
        if outcome.ok:
            flash(_("User %(email)s created.", email=form.email.data.strip().lower()), "success")
            return redirect(url_for("admin.users"))
    rows = db.session.execute(select(User).order_by(User.email)).scalars().all()
    return render_form("incident/admin_users.html", form, outcome, users=rows, roles=ROLES)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require_role("admin")
def edit_user(user_id: int):
    """Change a user's role, name, password, or whether they may sign in; see and end their
    tokens and sessions. A new password or a deactivation ends the user's sessions and tokens."""
    user = db.get_or_404(User, user_id)
    form = UserEditForm(obj=user)
    outcome = None
    if request.method == "POST":
        ended = []

        def action(_location):
            changes = {"name": form.name.data, "position": form.position.data, "role": form.role.data,
                       "active": form.active.data, "password": form.password.data}
            ended.append(update_user(user, changes, current_user, keep=current_session()))

        outcome = write(form, action)
        if outcome.ok:
            done = [_("Changes saved.")]
            if ended[0].sessions or ended[0].tokens:
                done.append(ended_message(ended[0].sessions, ended[0].tokens))
            flash(" ".join(done), "success")
            return redirect(url_for("admin.users"))
    return render_form(
        "incident/admin_user_edit.html", form, outcome, user=user,
        tokens=db.session.execute(tokens_query(user.id)).scalars().all(), sessions=live_sessions(user.id),
        this_session=current_session(), failed=failed_sign_ins(user, current_app.config["RIADO_SIGN_IN_LIMIT"]),
    )


@bp.route("/users/<int:user_id>/tokens/<int:token_id>/revoke", methods=["POST"])
@require_role("admin")
def revoke_user_token(user_id: int, token_id: int):
    """Revoke one of a user's API tokens."""
    token = find_token(token_id, user_id)
    revoke_token(token)
    db.session.commit()
    flash(_("Token “%(name)s” revoked.", name=token.name or token.prefix), "success")
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/users/<int:user_id>/sessions/end", methods=["POST"])
@require_role("admin")
def end_user_sessions(user_id: int):
    """Sign a user out everywhere: every browser session ends and every API token is revoked
    (what an admin does when an account may be in the wrong hands)."""
    user = db.get_or_404(User, user_id)
    sessions, tokens = end_sessions(user, "ended-by-admin"), revoke_tokens(user)
    db.session.commit()
    flash(ended_message(sessions, tokens), "success")
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/users/<int:user_id>/sign-in-pause/lift", methods=["POST"])
@require_role("admin")
def lift_sign_in_pause(user_id: int):
    """Clear the failed sign-ins recorded against a user's account, so that a new browser of
    theirs may sign in again at once (after an attacker paused it); audited."""
    user = db.get_or_404(User, user_id)
    cleared = lift_pause(user)
    db.session.commit()
    flash(ngettext("The sign-in pause was lifted: %(num)d failed sign-in cleared.",
                   "The sign-in pause was lifted: %(num)d failed sign-ins cleared.", cleared), "success")
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/audit")
@require_role("admin")
def audit():
    """The audit trail, newest first."""
    entity = request.args.get("entity") or None
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if entity:
        query = query.where(AuditEntry.entity == entity)
    result = paged(query)
    entities = db.session.execute(select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)).scalars().all()
    return render_template(
        "incident/admin_audit.html",
        entries=result["items"],
        page=result["page"],
        pages=result["pages"],
        total=result["total"],
        entity=entity,
        entities=entities,
    )
