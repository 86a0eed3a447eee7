"""The core's web layer, used by the core's pages and the wings' alike: reading a page's query
(``params``), paging (``paging``), forms that write through an operation (``forms``), how things
are shown (``display``), error pages (``errors``) and the hooks where the wings add a navigation
entry, a dashboard panel or a wall-map counter (``hooks``).

Views import from here, never from each other: no module outside ``incident/views`` imports
``incident.views``, and the core never imports a wing (``tests/test_architecture.py``)."""

from __future__ import annotations

from flask import current_app
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l

from ..collation import hungarian_key
from ..config import LOCALES
from ..labels import (
    AUDIT_ACTION_LABELS,
    INCIDENT_KIND_LABELS,
    LOG_KIND_LABELS,
    RESOURCE_STATUS_LABELS,
    ROLE_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    label,
)
from ..security import sees_personal_data
from . import display, errors, hooks


def localtime(value, fmt: str = "yyyy-MM-dd HH:mm"):
    """A stored UTC time shown in RIADO_TIMEZONE."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def map_view() -> dict:
    """Where a page's map opens with nothing else to show (the municipality's middle)."""
    from ..operations.municipality import map_view as view

    return view().as_dict()


def _page_context() -> dict:
    """What every template may use."""
    config = current_app.config
    return {
        "navigation": hooks.navigation(), "record_actions": hooks.record_actions, "locales": LOCALES, "current_locale": str(get_locale() or "hu"),
        # Words for the data's codes (the incident macros use them anywhere).
        "word": label, "kind_words": INCIDENT_KIND_LABELS, "severity_words": SEVERITY_LABELS,
        "status_words": STATUS_LABELS, "log_kind_words": LOG_KIND_LABELS, "status_labels": RESOURCE_STATUS_LABELS,
        "role_words": ROLE_LABELS, "audit_action_words": AUDIT_ACTION_LABELS,
        # Who may see and do what, and how things are shown.
        "personal": sees_personal_data(), "can_write": display.can_write(),
        "show_phone": display.show_phone, "show_email": display.show_email,
        "show_distance": display.show_distance, "duration": display.duration_text, "unit_of": display.unit_of,
        "degrees": display.degrees,
        # Maps on pages (the location picker, the incident's map): called only where one is drawn.
        "map_view": map_view, "draw_labels": display.draw_labels,
        "tile_url": config.get("RIADO_TILE_URL", ""), "tile_attribution": config.get("RIADO_TILE_ATTRIBUTION", ""),
    }


def by_name(records, attribute: str = "name") -> list:
    """Records in the Hungarian order of their name (a template filter: ``group.members|by_name``)."""
    return sorted(records, key=lambda record: hungarian_key(getattr(record, attribute)))


def init_app(app) -> None:
    """The core's entries of the navigation, what every template may use, the error pages."""
    for order, (endpoint, text, active) in enumerate((
        ("shell.dashboard", _l("Dashboard"), "shell.dashboard"),
        ("incidents.index", _l("Incidents"), "incidents."),
        ("registry.contacts.index", _l("Contacts"), "registry.contacts."),
        ("registry.resources.index", _l("Resources"), "registry.resources."),
    )):
        hooks.register_navigation(app, endpoint, text, active, order=10 * (order + 1))
    hooks.register_navigation(app, "plans.index", _l("Plans"), "plans.", order=25)
    # The core's own count on the wall map, beside the wings': open tasks past their due time.
    from ..operations.plans import wall_counts

    hooks.register_wall_counter(app, wall_counts)
    app.context_processor(_page_context)
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(by_name, "by_name")
    errors.init_app(app)
