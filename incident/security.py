"""Access control for every route (deny by default), CSRF for browser writes, security headers."""

from __future__ import annotations

import io
import secrets

from flask import abort, current_app, g, has_request_context, jsonify, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from sqlalchemy.exc import OperationalError

from .database import read_only, utcnow
from .extensions import csrf, db, login_manager
from .models import ROLES, ApiToken, UserSession
from .operations.sessions import TOKEN_TOUCH_SECONDS, live_session, live_token, touch_session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Where the session cookie keeps the key of its server-side session (user_sessions).
SESSION_KEY = "_riado_session"
OPENAPI_ENDPOINT = "api-docs.openapi_json"  # public, and no data in it: it may be cached


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except that static files never set the cookie: a stylesheet
    still loading from the previous page would write back the older session over the one a
    language switch or a sign-in had just set (and a cacheable file would carry a session)."""

    def should_set_cookie(self, app, session) -> bool:
        if has_request_context() and request.endpoint == "static":
            return False
        return super().should_set_cookie(app, session)


def public(view):
    """Mark a view as reachable without signing in."""
    view._riado_public = True
    return view


def csrf_exempt(view):
    """Mark a public view whose unsafe requests carry their own proof (credentials, a signature)."""
    view._riado_csrf_exempt = True
    return view


def own_credentials(view):
    """Mark a public view that reads the Authorization header itself (its bearer token is not an
    API token: /metrics has a token of its own)."""
    view._riado_own_credentials = True
    return view


def require_role(role: str):
    """Require at least ``role`` for a view (or a MethodView method)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorator(view):
        view._riado_role = role
        return view

    return decorator


def _view_attr(name: str, default=None):
    view = current_app.view_functions.get(request.endpoint)
    if view is None:
        return default
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        method = getattr(view_class, request.method.lower(), None)
        if method is None and request.method == "HEAD":
            method = getattr(view_class, "get", None)
        if method is not None and hasattr(method, name):
            return getattr(method, name)
    return getattr(view, name, default)


def sees_personal_data() -> bool:
    """Officers and admins see phone numbers and emails; viewers see them masked."""
    return current_user.is_authenticated and current_user.has_role("officer")


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _commit_bookkeeping() -> bool:
    """Commit a last-used time; False if it lost (in a read-only SQLite transaction another
    writer may win: it is bookkeeping only, the request goes on)."""
    try:
        db.session.commit()
        return True
    except OperationalError:
        db.session.rollback()
        return False


def token_for_request(token: str) -> ApiToken | None:
    """This unrevoked, unexpired token of an active user, or None (its use noted now and then)."""
    row = live_token(token)
    if row is None:
        return None
    now = utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > TOKEN_TOUCH_SECONDS:
        row.last_used_at = now
        if not _commit_bookkeeping():
            row = live_token(token)
    return row


def current_session() -> UserSession | None:
    """The server-side session of this request's browser (None with a token or signed out)."""
    if not current_user.is_authenticated:
        return None
    return g.get("riado_session")


def current_token() -> ApiToken | None:
    """The API token this request came with (None for a browser or signed out)."""
    return g.get("riado_token")


def _unauthorized(message="Sign-in required."):
    if is_api_request() or request.headers.get("Authorization"):
        response = jsonify(code=401, status="Unauthorized", message=message)
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="riado"'
        return response
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


@login_manager.user_loader
def _load_user(user_id: str):
    """The user of the cookie, only through a live server-side session of theirs (one query): a
    cookie whose session was ended (sign-out, password change, deactivation) or expired is dead."""
    key = session.get(SESSION_KEY)
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        return None
    if not isinstance(key, str) or not key:
        return None
    row = live_session(user_id, key)
    if row is None:
        return None
    g.riado_session = row
    return row.user


@login_manager.unauthorized_handler
def _login_required():
    return _unauthorized()


def _too_large():
    """413, saying the limit (in the API's JSON ``message`` too)."""
    from flask_smorest import abort as api_abort

    api_abort(413, message=f"The request body is larger than {current_app.config['RIADO_MAX_UPLOAD_MB']} MB.")


def refuse_large_body():
    """``before_request`` (the very first): a body longer than MAX_CONTENT_LENGTH is answered
    413 from its Content-Length, before anything reads it (sign-in checks, rate limits, CSRF
    and JSON parsing all would). A chunked body has no length: werkzeug's stream would cut it
    at the limit without a word (a JSON document cut short, a form missing its end), so it is
    read here, at most one byte past the limit, and refused with the same 413 if it is longer."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is None:
        return
    if request.content_length is not None:
        if request.content_length > limit:
            _too_large()
        return
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower() and "wsgi.input_terminated" in request.environ:
        chunks, size = [], 0
        while size <= limit:
            chunk = request.input_stream.read(min(64 * 1024, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            _too_large()
        request.environ["wsgi.input"] = io.BytesIO(b"".join(chunks))


def begin_request():
    """``before_request`` (first): reads run in read-only (deferred) SQLite transactions."""
    g.read_only_token = read_only.set(request.method in SAFE_METHODS)


def end_request(_exc=None):
    """``teardown_request``: the thread may serve a write next."""
    token = g.pop("read_only_token", None)
    if token is not None:
        read_only.reset(token)


def enforce_access():
    """``before_request``: sign-in, role and CSRF checks for every endpoint, deny by default."""
    if request.endpoint is None:
        return None  # no route: the 404/405 handlers answer
    g.via_token = False
    header = request.headers.get("Authorization")
    is_public = request.endpoint == "static" or _view_attr("_riado_public", False)
    # Only a public view may read the header itself: on any other, a bearer token is an API token.
    if header and not (is_public and _view_attr("_riado_own_credentials", False)):
        scheme, _, token = header.partition(" ")
        row = token_for_request(token.strip()) if scheme.lower() == "bearer" else None
        if row is None:
            return _unauthorized("Invalid, expired or revoked API token.")
        login_manager._update_request_context_with_user(row.user)
        g.via_token = True
        g.riado_token = row
    if not is_public and (not current_user.is_authenticated or not current_user.is_active):
        return _unauthorized()
    row = g.get("riado_session")
    if row is not None and touch_session(row, current_app.permanent_session_lifetime):
        _commit_bookkeeping()  # nothing else is in this session yet
    if request.method not in SAFE_METHODS and not g.via_token and not _view_attr("_riado_csrf_exempt", False):
        csrf.protect()
    if is_public:
        return None
    required = _view_attr("_riado_role") or ("viewer" if request.method in SAFE_METHODS else "officer")
    if not current_user.has_role(required):
        abort(403)
    return None


def refuse_unusable_input():
    """``before_request`` (after the access checks): input the application could not use is
    refused here, naming the field (422 from the API, 400 for pages), instead of failing deeper
    down with a 500: text that no database can store (a NUL character, a lone surrogate) in the
    query, a form or a JSON body, and JSON nested deeper than any Riadó document (MAX_JSON_DEPTH)."""
    from .validation import MAX_JSON_DEPTH, TOO_DEEP, UNSTORABLE_TEXT, json_depth, printable, storable, unstorable_fields

    if request.endpoint is None:
        return None
    errors: dict[str, dict[str, list[str]]] = {}
    message: list[str] = []  # every unstorable field's list: the message goes in only if one is found
    for location, values in (("query", request.args), ("form", request.form)):
        for key, value in values.items(multi=True):
            if not (storable(key) and storable(value)):
                errors.setdefault(location, {})[printable(key)] = message
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            body = None
            errors["json"] = {"_schema": [str(TOO_DEEP)]}
        if json_depth(body) > MAX_JSON_DEPTH:
            # Parsed, but deeper than any Riadó document: refused before anything walks it,
            # naming the member that is too deep.
            deep = [printable(k) for k, v in body.items() if json_depth(v) >= MAX_JSON_DEPTH] if isinstance(body, dict) else []
            errors["json"] = {key: [str(TOO_DEEP)] for key in deep} or {"_schema": [str(TOO_DEEP)]}
        for key in unstorable_fields(body):
            errors.setdefault("json", {})[key or "_schema"] = message
    if not errors:
        return None
    message.append(str(UNSTORABLE_TEXT))
    if is_api_request():
        response = jsonify(code=422, status="Unprocessable Entity", errors=errors)
        response.status_code = 422
        return response
    abort(400)


def csp_nonce() -> str:
    """A nonce for this response's inline scripts, made on first use: the page that asks for it
    (the folium map pages) gets ``script-src 'self' 'nonce-…'``, every other page ``'self'`` only."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def security_headers(response):
    """``after_request``: headers that make the browser refuse what the app does not do, and keep
    private answers out of caches."""
    tile_origin = current_app.config.get("RIADO_TILE_ORIGIN", "")
    nonce = g.get("csp_nonce")
    script_src = f"script-src 'self' 'nonce-{nonce}'; " if nonce else "script-src 'self'; "
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; "
        f"img-src 'self' data: blob: {tile_origin}".rstrip() + "; "
        "style-src 'self' 'unsafe-inline'; "
        + script_src
        + "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    )
    private = request.endpoint != "static" and not _view_attr("_riado_public", False)
    if private or request.method not in SAFE_METHODS or (is_api_request() and request.endpoint != OPENAPI_ENDPOINT):
        # Whatever a signed-in user is answered may carry personal data (phones, e-mails, names),
        # the answer to a write may carry a secret (a new API token) and an API answer is never
        # a page to keep: no browser or proxy cache keeps them (static files and the public
        # pages and OpenAPI document keep their own caching).
        response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response

