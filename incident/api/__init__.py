"""The JSON API under /api/v1 (flask-smorest: marshmallow schemas and the OpenAPI document)."""

from __future__ import annotations

from flask_smorest import Api
from werkzeug.exceptions import HTTPException


API_CONFIG = {
    "API_TITLE": "Riadó",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {"description": "Civil-protection incident coordination: contacts, resources, "
                 "incidents and their log, SMS alerts."},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            }
        },
        "security": [{"bearer": []}, {"session": []}],
    },
}


def init_app(app):
    """Bind the API and register its blueprints."""
    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    api = Api(app)
    app.extensions["riado_api"] = api
    # flask-smorest answers every HTTP error in JSON; the pages keep theirs (one handler for both,
    # registered after flask-smorest's, which it replaces).
    from ..web.errors import http_error

    app.register_error_handler(HTTPException, http_error)
    # The OpenAPI document describes the contract; it holds no data.
    openapi_json = app.view_functions["api-docs.openapi_json"]

    def public_openapi_json():
        return openapi_json()

    public_openapi_json._riado_public = True
    app.view_functions["api-docs.openapi_json"] = public_openapi_json
    from . import accounts, incidents, plans, registry

    for blueprint in (*accounts.blueprints, *registry.blueprints, *incidents.blueprints, *plans.blueprints):
        api.register_blueprint(blueprint)
    _register_domain_errors(app)


def _json_error(status: int, name: str, **body):
    from flask import jsonify

    response = jsonify(code=status, status=name, **body)
    response.status_code = status
    return response


def _register_domain_errors(app):
    """Errors raised by the operations become 422 (naming the fields) or 409, and nothing of the
    failed write stays in the session."""
    from sqlalchemy.orm.exc import StaleDataError

    from ..errors import ConflictError, FieldError, FieldErrors
    from ..extensions import db

    @app.errorhandler(FieldError)
    def field_error(exc):
        db.session.rollback()
        return _json_error(422, "Unprocessable Entity", errors={"json": {exc.field: [exc.message]}})

    @app.errorhandler(FieldErrors)
    def field_errors(exc):
        db.session.rollback()
        body = {"errors": {"json": exc.errors}}
        if exc.confirm:  # refused only until confirmed (a place far from the municipality)
            body["message"] = f"Check the fields named; if they are right, send {exc.confirm}: true with them."
        return _json_error(422, "Unprocessable Entity", **body)

    @app.errorhandler(ConflictError)
    def conflict(exc):
        db.session.rollback()
        body = {"message": exc.message}
        if exc.field:
            body["errors"] = {"json": {exc.field: [exc.message]}}
        return _json_error(409, "Conflict", **body, **exc.details)

    @app.errorhandler(StaleDataError)
    def stale(exc):
        db.session.rollback()
        return _json_error(409, "Conflict", message="Someone else changed this record meanwhile; reload it and try again.")
