"""API: tokens, users (admins) and the audit trail (admins)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ..extensions import db, limiter
from ..models import ROLES, AuditEntry, User
from ..operations.users import UserError, authenticate, clean_user_name, create_user, set_password
from ..security import csrf_exempt, issue_token, login_rate_key, public, require_role
from .common import Integer, ListArgs, field_error, page


class TokenRequest(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000), load_only=True)
    name = fields.String(load_default="", validate=validate.Length(max=100))


class TokenResponse(Schema):
    token = fields.String()


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    name = fields.String(load_default="", validate=validate.Length(max=200))
    position = fields.String(load_default="", validate=validate.Length(max=200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    active = fields.Boolean(load_default=True)
    password = fields.String(load_only=True, required=True, validate=validate.Length(max=1000))
    created_at = fields.AwareDateTime(dump_only=True)
    last_login_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class UserPatch(Schema):
    name = fields.String(validate=validate.Length(max=200))
    position = fields.String(validate=validate.Length(max=200))
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()
    password = fields.String(load_only=True, validate=validate.Length(max=1000))


class UserList(Schema):
    items = fields.List(fields.Nested(UserSchema))
    total = fields.Integer()


class AuditSchema(Schema):
    id = fields.Integer()
    at = fields.AwareDateTime()
    actor_id = fields.Integer(allow_none=True)
    actor = fields.String()
    action = fields.String()
    entity = fields.String()
    record_id = fields.String()
    changes = fields.Dict()
    remote_addr = fields.String(allow_none=True)
    request = fields.String(allow_none=True)


class AuditArgs(ListArgs):
    entity = fields.String()
    record_id = fields.String()
    actor_id = Integer()


class AuditList(Schema):
    items = fields.List(fields.Nested(AuditSchema))
    total = fields.Integer()


tokens = Blueprint("api_tokens", __name__, url_prefix="/api/v1/tokens", description="API tokens")
users = Blueprint("api_users", __name__, url_prefix="/api/v1/users", description="Users (admins)")
audit = Blueprint("api_audit", __name__, url_prefix="/api/v1/audit", description="Audit trail (admins)")
me = Blueprint("api_me", __name__, url_prefix="/api/v1/me", description="The signed-in user")
blueprints = (tokens, users, audit, me)


def _login_limit() -> str:
    return current_app.config.get("RIADO_LOGIN_RATE_LIMIT", "10 per minute")


@tokens.route("", methods=["POST"])
@tokens.arguments(TokenRequest)
@tokens.response(201, TokenResponse)
@tokens.alt_response(401, description="Wrong email or password")
@limiter.limit(_login_limit)
@limiter.limit(_login_limit, key_func=login_rate_key)
@public
@csrf_exempt
def create_token(data):
    """Exchange an email and password for a new API token (shown once)."""
    user = authenticate(data["email"], data["password"])
    if user is None:
        db.session.rollback()
        abort(401, message="Wrong email or password.")
    token = issue_token(user, data.get("name") or "api")
    db.session.commit()
    return {"token": token}


@me.route("")
@me.response(200, UserSchema)
def whoami():
    """The user these credentials belong to."""
    return current_user


@users.route("")
class Users(MethodView):
    @require_role("admin")
    @users.arguments(ListArgs, location="query")
    @users.response(200, UserList)
    def get(self, args):
        """List users."""
        query = select(User).order_by(User.email)
        return page(query, args)

    @require_role("admin")
    @users.arguments(UserSchema)
    @users.response(201, UserSchema)
    def post(self, data):
        """Create a user."""
        try:
            user = create_user(data["email"], data["password"], data["role"], data["name"], data["position"])
            user.active = data["active"]
        except UserError as exc:
            db.session.rollback()
            field_error(exc.field, exc.message)
        db.session.commit()
        return user


@users.route("/<int:user_id>")
class UserById(MethodView):
    @require_role("admin")
    @users.response(200, UserSchema)
    def get(self, user_id):
        """One user."""
        return db.get_or_404(User, user_id)

    @require_role("admin")
    @users.arguments(UserPatch)
    @users.response(200, UserSchema)
    def patch(self, data, user_id):
        """Change a user's name, role, password or whether they may sign in."""
        user = db.get_or_404(User, user_id)
        if user.id == current_user.id and (data.get("role", "admin") != "admin" or data.get("active") is False):
            field_error("role", "You cannot remove your own admin rights or deactivate yourself.")
        try:
            if "password" in data:
                set_password(user, data.pop("password"))
        except UserError as exc:
            db.session.rollback()
            field_error(exc.field, exc.message)
        if "name" in data:
            data["name"] = clean_user_name(data["name"])
        for key, value in data.items():
            setattr(user, key, value)
        db.session.commit()
        return user


@audit.route("")
@require_role("admin")
@audit.arguments(AuditArgs, location="query")
@audit.response(200, AuditList)
def list_audit(args):
    """The audit trail, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    for key in ("entity", "record_id", "actor_id"):
        if key in args:
            query = query.where(getattr(AuditEntry, key) == args[key])
    return page(query, args)

