"""Where the wings plug into the core's pages without the core knowing them: entries of the main
navigation, panels of the dashboard, counters of the wall map. Each is a list kept on the app
(``app.extensions``), filled by a wing's ``init_app``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import current_app, request


@dataclass(frozen=True)
class NavEntry:
    """One entry of the main navigation: ``endpoint`` it links to, its ``label``, what marks it
    active (an endpoint, or a prefix ending in ``.``), and its place (``order``)."""

    endpoint: str
    label: object  # a lazy string
    active: str
    order: int


def register_navigation(app, endpoint: str, label, active: str | None = None, order: int = 100) -> None:
    """Add an entry to the main navigation of every page."""
    app.extensions.setdefault("riado_navigation", []).append(NavEntry(endpoint, label, active or endpoint, order))


def navigation() -> list[dict]:
    """The main navigation of this request's page, in order, with the active entry marked."""
    endpoint = request.endpoint or ""
    entries = sorted(current_app.extensions.get("riado_navigation", []), key=lambda e: e.order)
    return [
        {"endpoint": e.endpoint, "label": e.label,
         "active": endpoint == e.active or (e.active.endswith(".") and endpoint.startswith(e.active))}
        for e in entries
    ]


def register_panel(app, template: str, context: Callable[[], dict]) -> None:
    """Add a panel to the dashboard: ``template`` rendered with ``context()``."""
    app.extensions.setdefault("riado_dashboard_panels", []).append((template, context))


def dashboard_panels() -> list[tuple[str, dict]]:
    """The wings' dashboard panels with their context, for this request."""
    return [(template, context()) for template, context in current_app.extensions.get("riado_dashboard_panels", [])]


def register_wall_counter(app, count: Callable[[bool], list[dict]]) -> None:
    """Add counts to the wall map: ``count(drill)`` gives ``[{"key", "label", "value"}]``."""
    app.extensions.setdefault("riado_wall_counts", []).append(count)


def wall_counters() -> list[Callable[[bool], list[dict]]]:
    """The wings' wall-map counters."""
    return list(current_app.extensions.get("riado_wall_counts", []))
