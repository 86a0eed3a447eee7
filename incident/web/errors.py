"""Error pages for the HTML side (the API answers in JSON)."""

from __future__ import annotations

import logging

from flask import current_app, g, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import BadRequest, HTTPException

from ..errors import NotFound

log = logging.getLogger(__name__)

# Seconds a client is asked to wait before trying again when the database is unavailable.
RETRY_AFTER_SECONDS = 5


class BadField(BadRequest):
    """400 for one unusable value in the address or a form: the page says which field it was,
    and the API answer names it under ``errors`` as a schema error would."""

    def __init__(self, field: str, message, location: str = "query"):
        super().__init__()
        self.field = field
        self.message = str(message)
        self.data = {"errors": {location: {field: [self.message]}}, "message": "Bad Request"}

    @property
    def page_message(self) -> str:
        return _("The value of “%(field)s” cannot be used: %(message)s", field=self.field, message=self.message)


def _messages():
    return {
        400: _("The request could not be understood."),
        401: _("Please sign in."),
        403: _("Your role does not allow this. Ask an administrator if you need it."),
        404: _("There is no such page or record."),
        405: _("This action is not possible here."),
        409: _("This conflicts with the current state of the data; reload and try again."),
        413: _("What was sent is too large (at most %(n)s MB).", n=current_app.config["RIADO_MAX_UPLOAD_MB"]),
        429: _("Too many attempts. Please wait a minute and try again."),
        500: _("Something went wrong on our side. The error has been logged."),
    }


def wants_json() -> bool:
    """Whether this request gets its errors in JSON (the API, or a script asking for JSON) or as
    a page."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def http_error(error: HTTPException):
    """An HTTP error (400, 403, 404, 413, 422…): flask-smorest's JSON for the API, a page
    otherwise."""
    if wants_json():
        return current_app.extensions["riado_api"].handle_http_exception(error)
    return html_error(error)


def html_error(error: HTTPException):
    code = error.code or 500
    if isinstance(error, CSRFError):
        message = _("The form had expired or was not sent from this site. Go back, reload it and try again.")
    elif isinstance(error, BadField):
        message = error.page_message
    else:
        message = _messages().get(code, error.description)
    return render_template("incident/error.html", code=code, message=message), code


def database_unavailable(exc):
    """The database could not be reached or gave up on the transaction (PostgreSQL restarting, a
    connection cut, no free connection in the pool, a deadlock, SQLite busy): 503 with
    Retry-After, in JSON for the API and as a page otherwise, never a traceback. A transaction cut
    short is rolled back whole by PostgreSQL, and the pool, which pings each connection before
    lending it, reconnects by itself once the database is back."""
    from flask_login import AnonymousUserMixin

    from ..extensions import db, login_manager

    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
    log.warning("database unavailable on %s %s: %s", request.method, request.path, reason)
    if wants_json():
        response = jsonify(code=503, status="Service Unavailable",
                           message="The database is unavailable at the moment; try again in a few seconds.")
        response.status_code = 503
    else:
        # The page is drawn without the database: the signed-in user is not read again.
        g._login_user = (login_manager.anonymous_user or AnonymousUserMixin)()
        body = render_template("incident/error.html", code=503, message=_(
            "The database is unavailable at the moment. What you were saving may not have been "
            "saved: wait a few seconds, reload the page and check."))
        response = make_response(body, 503)
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool has already discarded it
        pass
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def not_found(exc: NotFound):
    """A record that is not there (an operation's NotFound): 404, in JSON under /api/ naming
    what was missing, the error page otherwise. Nothing of the failed request is kept."""
    from ..extensions import db

    db.session.rollback()
    if wants_json():
        response = jsonify(code=404, status="Not Found", message=str(exc))
        response.status_code = 404
        return response
    return render_template("incident/error.html", code=404, message=_messages()[404]), 404


def init_app(app):
    app.register_error_handler(NotFound, not_found)
    for error in (OperationalError, InterfaceError, PoolTimeoutError):
        app.register_error_handler(error, database_unavailable)
