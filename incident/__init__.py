"""Riadó: civil-protection incident coordination for a municipality's mayor's office.

``create_app`` builds the Flask application; the wings (``maps``, ``alerts``, ``watch``) plug into it.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, session
from flask_login import current_user

from . import config as config_module
from .config import REPO_ROOT, ConfigurationError
from .database import check_connection, configure_engine, engine_options
from .extensions import babel, csrf, db, login_manager, migrate

PACKAGE_DIR = Path(__file__).resolve().parent
__all__ = ["ConfigurationError", "create_app"]


def _select_locale() -> str:
    from flask import current_app, has_request_context, request

    if not has_request_context():
        return current_app.config["RIADO_LOCALE"]  # the CLI, workers: SMS in the configured language
    if request.path.startswith("/api/"):
        return "en"  # API messages are part of a machine contract: always English
    chosen = session.get("lang")
    if chosen in config_module.LOCALES:
        return chosen
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale:
        return current_user.locale
    return current_app.config["RIADO_LOCALE"]


def _select_timezone() -> str:
    from flask import current_app

    return current_app.config["RIADO_TIMEZONE"]


# Riadó's choices where Flask or an extension has another default; test_config may override.
DEFAULTS = {
    "WTF_CSRF_CHECK_DEFAULT": False,  # security.enforce_access calls csrf.protect() itself
    "WTF_CSRF_TIME_LIMIT": None,  # a token is valid as long as the session
    "SESSION_COOKIE_NAME": "riado_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=12),  # a session unused this long ends
    "RIADO_SESSION_MAX_AGE": dt.timedelta(hours=24),  # a session ends this long after sign-in, used or not
    "BABEL_DEFAULT_LOCALE": "en",  # the language of the source strings
    "RIADO_CHECK_DATABASE": True,
    # Responses compressed (Flask-Compress): brotli where the client asks, else gzip or deflate;
    # streamed ones (the map's GeoJSON layers, CSV exports) too, chunk by chunk.
    "COMPRESS_ALGORITHM": ["br", "gzip", "deflate"],
    "COMPRESS_ALGORITHM_STREAMING": ["br", "gzip", "deflate"],
    "COMPRESS_STREAMS": True,
    "COMPRESS_BR_LEVEL": 4,
}


def _finish_config(app: Flask) -> None:
    from .operations.sign_in import parse_limit

    cfg = app.config
    cfg["RIADO_SIGN_IN_LIMIT"] = parse_limit(cfg["RIADO_LOGIN_RATE_LIMIT"])
    try:
        ZoneInfo(cfg["RIADO_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"RIADO_TIMEZONE '{cfg['RIADO_TIMEZONE']}' is not a known time zone (e.g. Europe/Budapest)."
        ) from None
    cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(cfg["SQLALCHEMY_DATABASE_URI"]))
    cfg["MAX_CONTENT_LENGTH"] = cfg["RIADO_MAX_UPLOAD_MB"] * 1024 * 1024
    cfg.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(PACKAGE_DIR / "translations"))
    # The tile server's origins for the CSP's img-src: with {s} in the URL, Leaflet fetches from
    # the subdomains a, b and c (its default), and each must be allowed.
    tile_url = cfg["RIADO_TILE_URL"]
    tiles = [urlsplit(tile_url.replace("{s}", sub)) for sub in (("a", "b", "c") if "{s}" in tile_url else ("",))]
    origins = dict.fromkeys(f"{t.scheme}://{t.netloc}" for t in tiles if t.netloc)
    cfg.setdefault("RIADO_TILE_ORIGIN", " ".join(origins))


def _end_session(_exc=None) -> None:
    """End the request's (or task's) session even when its connection died under it: PostgreSQL
    restarted while a transaction was open, so the rollback at the end cannot reach it (and
    there is nothing left to roll back). SQLAlchemy has already dropped that connection from the
    pool; without this, the error would escape and replace the answer already made with a 500."""
    from sqlalchemy.exc import DBAPIError

    try:
        db.session.remove()
    except DBAPIError:
        try:
            db.session.registry().invalidate()  # close it without talking to the database
        except DBAPIError:
            pass
        db.session.registry.clear()


def create_app(test_config: dict | None = None) -> Flask:
    """Create the Riadó application from the environment (and ``test_config`` overrides)."""
    settings = config_module.from_environment()
    app = Flask(
        "incident",
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(REPO_ROOT / "templates"),
        static_folder=str(PACKAGE_DIR / "static"),
    )
    app.config.update(settings)
    app.config.update(DEFAULTS)
    app.extensions["riado_started_at"] = time.time()  # /healthz: its workers' time to come up
    from .security import SessionInterface

    app.session_interface = SessionInterface()
    if test_config:
        app.config.update(test_config)
    _finish_config(app)
    if app.config.get("RIADO_TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Only the client address: the scheme and host come from PUBLIC_URL, never from headers.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["RIADO_TRUSTED_PROXIES"], x_proto=0, x_host=0)
    from .validation import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route is added

    db.init_app(app)
    app.teardown_appcontext(_end_session)  # runs before Flask-SQLAlchemy's own (last registered, first run)
    with app.app_context():
        configure_engine(db.engine)
        if app.config["RIADO_CHECK_DATABASE"]:
            app.config["RIADO_DATABASE_VERSION"] = check_connection(db.engine)
    migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"))
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)

    from . import audit  # noqa: F401  (registers the flush listener)
    from . import api, logs, metrics, queue, security, web
    from .views import account, admin, auth, health, shell
    from .views import help as help_views
    from .views import incidents as incident_views
    from .views import plans as plan_views
    from .views import reception as reception_views
    from .views import registry as registry_views

    queue.init_app(app)
    logs.init_app(app)
    metrics.init_app(app)
    api.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(shell.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(registry_views.bp)
    app.register_blueprint(incident_views.bp)
    app.register_blueprint(plan_views.bp)
    app.register_blueprint(reception_views.bp)
    app.register_blueprint(help_views.bp)
    web.init_app(app)  # navigation, what templates may use, error pages (a missing record, the database away)

    import alerts
    import maps
    import watch

    maps.init_app(app)
    alerts.init_app(app)
    watch.init_app(app)

    app.before_request_funcs.setdefault(None, []).insert(0, security.begin_request)
    app.before_request_funcs[None].insert(0, security.refuse_large_body)
    app.teardown_request(security.end_request)
    app.before_request(security.enforce_access)
    app.before_request(security.refuse_unusable_input)
    app.after_request(security.security_headers)
    _compress(app)
    return app


def _compress(app: Flask) -> None:
    """Compress what is worth it (text: pages, JSON, GeoJSON, CSV, scripts, styles), after every
    other after-request function (so the security and caching headers are set on the answer as
    compressed; Flask runs them last-registered first, so this one is registered first)."""
    from flask_compress import Compress

    app.config.setdefault("COMPRESS_MIMETYPES", [
        "text/html", "text/css", "text/plain", "text/csv", "text/xml", "text/javascript", "application/javascript",
        "application/json", "application/geo+json", "application/cap+xml", "application/atom+xml", "application/xml",
        "image/svg+xml",
    ])
    app.config["COMPRESS_REGISTER"] = False
    compress = Compress()
    compress.init_app(app)

    def compressed(response):
        # A streamed answer is compressed chunk by chunk into a new iterable: what the old one
        # must release when the answer is done (a static file's handle, a query's cursor) is
        # handed on, or it would be left to the garbage collector.
        close = getattr(response.response, "close", None) if response.is_streamed else None
        before = response.response
        response = compress.after_request(response)
        if close is not None and response.response is not before:
            response.call_on_close(close)
        return response

    app.after_request_funcs.setdefault(None, []).insert(0, compressed)
