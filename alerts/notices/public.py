"""The public page, a notice's public page and CAP, and the Atom feed (SPEC §5): without signing
in, in the configured language (``?lang=en`` for English), the same answer for everybody (so
that it can be cached: ETag and a short max-age), and nothing but published notices that are not
on a drill and the shelters marked public."""

from __future__ import annotations

import hashlib
import json

from flask_login import current_user
from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import force_locale

from incident.config import LOCALES
from incident.security import public

from . import documents
from . import operations as ops

bp = Blueprint("public_notices", __name__, url_prefix="/public")
MAX_AGE = 60  # seconds: a withdrawn notice leaves caches within a minute


@bp.before_request
def _public_switched_on():
    if not current_app.config.get("RIADO_PUBLIC", True):
        abort(404)


def page_locale() -> str:
    """``?lang=`` (hu, en), else the configured language: never the visitor's session, so that
    the same URL is the same page for everybody."""
    chosen = (request.args.get("lang") or "").strip().lower()
    return chosen if chosen in LOCALES else current_app.config["RIADO_LOCALE"]


def cacheable(body: bytes | str, mimetype: str) -> Response:
    """The answer with an ETag of its content and a short public max-age, evaluated as RFC 9110
    says: If-None-Match compared weakly (a tag listed, ``W/`` or not, or ``*``) gets 304 with
    the same ETag, Cache-Control and Vary and no body.

    The ETag is weak: the answer is the same content whether it travels gzip-compressed or not
    (Flask-Compress, which also says ``Vary: Accept-Encoding``), and a strong one would have to
    differ per coding; a weak one names the content, so a cache holding either coding revalidates
    it with the one tag."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    response = Response(data, mimetype=mimetype)
    response.set_etag(hashlib.sha256(data).hexdigest()[:32], weak=True)
    response.vary.add("Accept-Encoding")
    if current_user.is_authenticated:
        # A signed-in visitor's answer carries their session cookie: never for a shared cache.
        response.headers["Cache-Control"] = "private, no-store"
    else:
        response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response.make_conditional(request)


def _render(template: str, **context) -> Response:
    locale = page_locale()
    with force_locale(locale):
        html = render_template(template, page_locale=locale, other_locales=[c for c in LOCALES if c != locale],
                               public_name=ops.public_name(), public_contact=ops.public_contact(),
                               public_enabled=True, **context)
    return cacheable(html, "text/html")


def _map_features(notices, shelters) -> str:
    """The small map's layers as one GeoJSON FeatureCollection (notice areas, public shelters),
    for the map script; the page reads the same without it."""
    features = []
    for notice in notices:
        area = ops.notice_area(notice)
        if area is not None:
            features.append({"type": "Feature", "geometry": area,
                             "properties": {"kind": "notice", "title": notice.title, "id": notice.id}})
    for shelter in shelters:
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [shelter.lon, shelter.lat]},
                         "properties": {"kind": "shelter", "title": shelter.name, "free": shelter.free}})
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False) if features else ""


@bp.route("", endpoint="index")
@public
def index():
    """Current notices, newest first; public shelters with free places; a small map."""
    notices = ops.public_notices()
    shelters = ops.public_shelters()
    return _render("alerts/notices/public_index.html", notices=notices, shelters=shelters,
                   map_features=_map_features(notices, shelters))


@bp.route("/notices/<int:notice_id>", endpoint="notice")
@public
def notice_page(notice_id):
    """One notice (published or withdrawn); 404 for drafts, pending notices and drills."""
    notice = ops.public_notice(notice_id)
    superseded_by = ops.public_notice(notice.superseded_by_id) if notice.superseded_by_id else None
    return _render("alerts/notices/public_notice.html", notice=notice, superseded_by=superseded_by,
                   map_features=_map_features([notice], []) if notice.status == "published" else "")


@bp.route("/notices/<int:notice_id>.cap", endpoint="cap")
@public
def notice_cap(notice_id):
    """The notice as OASIS CAP 1.2 (Alert, Update or Cancel)."""
    return cacheable(documents.notice_cap(ops.public_notice(notice_id)), "application/cap+xml")


@bp.route("/feed.atom", endpoint="feed")
@public
def feed():
    """Atom 1.0: one entry per published or withdrawn notice, each linking to its CAP."""
    return cacheable(documents.atom_feed(ops.feed_notices()), "application/atom+xml")
