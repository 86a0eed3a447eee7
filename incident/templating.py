"""What every template may use: navigation, locale, formatted times."""

from __future__ import annotations

from flask import request
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l

from .config import LOCALES
from .labels import INCIDENT_KIND_LABELS, LOG_KIND_LABELS, SEVERITY_LABELS, STATUS_LABELS, label

# (endpoint, label, blueprint or endpoint prefix that marks it active)
NAVIGATION = (
    ("shell.dashboard", _l("Dashboard"), "shell.dashboard"),
    ("incidents.index", _l("Incidents"), "incidents."),
    ("registry.contacts.index", _l("Contacts"), "registry.contacts."),
    ("registry.resources.index", _l("Resources"), "registry.resources."),
    ("alerts.index", _l("Alerts"), "alerts."),
    ("maps.index", _l("Map"), "maps."),
)


def _nav_context():
    endpoint = request.endpoint or ""
    items = [
        {"endpoint": ep, "label": label, "active": endpoint == marker or (marker.endswith(".") and endpoint.startswith(marker))}
        for ep, label, marker in NAVIGATION
    ]
    return {
        "navigation": items, "locales": LOCALES, "current_locale": str(get_locale() or "hu"),
        # Words for the data's codes, for every template (the incident macros use them anywhere).
        "word": label, "kind_words": INCIDENT_KIND_LABELS, "severity_words": SEVERITY_LABELS,
        "status_words": STATUS_LABELS, "log_kind_words": LOG_KIND_LABELS,
    }


def localtime(value, fmt: str = "yyyy-MM-dd HH:mm"):
    """A stored UTC time shown in RIADO_TIMEZONE."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def init_app(app):
    app.context_processor(_nav_context)
    app.add_template_filter(localtime, "localtime")
