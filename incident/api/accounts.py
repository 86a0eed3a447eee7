"""API: tokens, users (admins) and the audit trail (admins)."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ..audit import set_actor
from ..extensions import db
from ..models import ROLES, AuditEntry, User
from ..operations.sessions import MAX_TOKEN_DAYS, find_token, issue_token, revoke_token, tokens_query
from ..operations.sign_in import DEVICE_COOKIE, TooManyAttempts, sign_in
from ..operations.users import UserError, create_user, update_user
from ..security import csrf_exempt, current_session, current_token, public, require_role
from .common import Blueprint, Integer, ListArgs, field_error, page
from .fields import Out, listing


class TokenRequest(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000), load_only=True)
    name = fields.String(load_default="", validate=validate.Length(max=100))
    days = Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_TOKEN_DAYS),
                   metadata={"description": "the token expires after this many days (default: when revoked)"})


class TokenResponse(Out):
    token = fields.String()


class TokenSchema(Out):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String(metadata={"description": "the token's first characters, to recognise it by"})
    created_at = fields.AwareDateTime()
    last_used_at = fields.AwareDateTime(allow_none=True)
    expires_at = fields.AwareDateTime(allow_none=True)
    revoked_at = fields.AwareDateTime(allow_none=True)


class TokenListArgs(ListArgs):
    user_id = Integer(metadata={"description": "another user's tokens (admins)"})


TokenList = listing(TokenSchema, "TokenList")


class UserSchema(Schema):
    """A new user."""

    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    name = fields.String(load_default="", validate=validate.Length(max=200))
    position = fields.String(load_default="", validate=validate.Length(max=200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    active = fields.Boolean(load_default=True)
    password = fields.String(load_only=True, required=True, validate=validate.Length(max=1000))


class UserOut(Out):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    position = fields.String()
    role = fields.String()
    active = fields.Boolean()
    created_at = fields.AwareDateTime()
    last_login_at = fields.AwareDateTime(allow_none=True)


class UserPatch(Schema):
    name = fields.String(validate=validate.Length(max=200))
    position = fields.String(validate=validate.Length(max=200))
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()
    password = fields.String(load_only=True, validate=validate.Length(max=1000))


UserList = listing(UserOut, "UserList")


class AuditSchema(Out):
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


AuditList = listing(AuditSchema, "AuditList")


tokens = Blueprint("api_tokens", __name__, url_prefix="/api/v1/tokens", description="API tokens")
users = Blueprint("api_users", __name__, url_prefix="/api/v1/users", description="Users (admins)")
audit = Blueprint("api_audit", __name__, url_prefix="/api/v1/audit", description="Audit trail (admins)")
me = Blueprint("api_me", __name__, url_prefix="/api/v1/me", description="The signed-in user")
blueprints = (tokens, users, audit, me)


@tokens.route("", methods=["POST"])
@tokens.arguments(TokenRequest)
@tokens.response(201, TokenResponse)
@tokens.alt_response(401, description="Wrong email or password")
@tokens.alt_response(429, description="Too many failed sign-ins against this account or from this address "
                     "(by clients without a device cookie for the account); Retry-After says when to try again")
@public
@csrf_exempt
def create_token(data):
    """Exchange an email and password for a new API token (shown once), within the sign-in
    limits that the sign-in form shares."""
    try:
        user = sign_in(data["email"], data["password"], request.remote_addr, current_app.config["RIADO_SIGN_IN_LIMIT"],
                       request.cookies.get(DEVICE_COOKIE))
    except TooManyAttempts as exc:
        db.session.rollback()
        abort(429, message=exc.message(), headers={"Retry-After": str(exc.retry_after)})
    if user is None:
        abort(401, message="Wrong email or password.")
    set_actor(user.id, user.email)  # the token's creation is audited as the user's, not the system's
    token = issue_token(user, data.get("name") or "api", data.get("days"))
    db.session.commit()
    return {"token": token}


@tokens.route("", methods=["GET"])
@tokens.arguments(TokenListArgs, location="query")
@tokens.response(200, TokenList)
def list_tokens(args):
    """The caller's API tokens (never the secret), newest first; admins may ask for another
    user's with ``user_id``."""
    user_id = args.get("user_id", current_user.id)
    if user_id != current_user.id:
        if not current_user.has_role("admin"):
            abort(403, message="Only administrators may list another user's tokens.")
        db.get_or_404(User, user_id)
    return page(tokens_query(user_id), args)


@tokens.route("/<int:token_id>", methods=["DELETE"])
@require_role("viewer")
@tokens.response(204)
def delete_token(token_id):
    """Revoke one of the caller's tokens (admins: anyone's). Another user's token is 404."""
    token = find_token(token_id, None if current_user.has_role("admin") else current_user.id)
    revoke_token(token)
    db.session.commit()


@me.route("")
@me.response(200, UserOut)
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
    @users.response(201, UserOut)
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
    @users.response(200, UserOut)
    def get(self, user_id):
        """One user."""
        return db.get_or_404(User, user_id)

    @require_role("admin")
    @users.arguments(UserPatch)
    @users.response(200, UserOut)
    def patch(self, data, user_id):
        """Change a user's name, role, password or whether they may sign in. A new password or a
        deactivation ends the user's sessions and revokes their tokens."""
        user = db.get_or_404(User, user_id)
        try:
            # The session or the token making the change stays.
            update_user(user, data, current_user, keep=current_session(), keep_token=current_token())
        except UserError as exc:
            db.session.rollback()
            field_error(exc.field, exc.message)
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

