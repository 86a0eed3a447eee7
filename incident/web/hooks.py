"""Where the wings plug into the core's pages without the core knowing them: entries of the main
navigation, links on a record's page (an incident's), panels of the dashboard, counters of the
wall map, banners across the dashboard and the wall map. Each is a list kept on the app (``app.extensions``), filled by a wing's ``init_app``;
the core's templates draw them and name no wing's endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import current_app, request, url_for
from flask_login import current_user


@dataclass(frozen=True)
class NavEntry:
    """One entry of the main navigation: ``endpoint`` it links to, its ``label``, what marks it
    active (an endpoint, or a prefix ending in ``.``), and its place (``order``)."""

    endpoint: str
    label: object  # a lazy string
    active: str
    order: int
    role: str = "viewer"


def register_navigation(app, endpoint: str, label, active: str | None = None, order: int = 100,
                        role: str = "viewer") -> None:
    """Add an entry to the main navigation of every page, shown to ``role`` and those above."""
    app.extensions.setdefault("riado_navigation", []).append(NavEntry(endpoint, label, active or endpoint, order, role))


def _allowed(role: str) -> bool:
    return bool(current_user.is_authenticated and current_user.has_role(role))


def navigation() -> list[dict]:
    """The main navigation of this request's page, in order, with the active entry marked."""
    endpoint = request.endpoint or ""
    entries = sorted(current_app.extensions.get("riado_navigation", []), key=lambda e: e.order)
    return [
        {"endpoint": e.endpoint, "label": e.label,
         "active": endpoint == e.active or (e.active.endswith(".") and endpoint.startswith(e.active))}
        for e in entries if _allowed(e.role)
    ]


@dataclass(frozen=True)
class RecordAction:
    """A link on a record's page to a wing's page about that record (``endpoint`` takes the
    record's id as ``<record>_id``). ``place`` is where on the page: ``"actions"`` (the bar of
    buttons under the title) or ``"area"`` (the incident's location card). A ``writes`` link
    leads to a change: shown only where the page allows the user to change the record. A link
    with a ``role`` is shown to that role and those above, whether or not they may change the
    record (a press officer writes a public notice about an incident they only read)."""

    record: str
    endpoint: str
    label: object  # a lazy string
    place: str
    writes: bool
    testid: str
    order: int
    role: str | None = None


def register_record_action(app, record: str, endpoint: str, label, *, place: str = "actions",
                           writes: bool = False, testid: str = "", order: int = 100,
                           role: str | None = None) -> None:
    """Add a link to every page of a ``record`` (``"incident"``)."""
    app.extensions.setdefault("riado_record_actions", []).append(
        RecordAction(record, endpoint, label, place, writes, testid, order, role))


def _shown(action: RecordAction, can_write: bool) -> bool:
    if action.role is not None:
        return _allowed(action.role)
    return can_write or not action.writes


def record_actions(record: str, place: str, record_id: int, can_write: bool) -> list[dict]:
    """The wings' links for this record's page at ``place``: ``[{"url", "label", "testid"}]``."""
    actions = sorted((a for a in current_app.extensions.get("riado_record_actions", [])
                      if a.record == record and a.place == place and _shown(a, can_write)),
                     key=lambda a: a.order)
    return [{"url": url_for(a.endpoint, **{f"{record}_id": record_id}), "label": a.label, "testid": a.testid}
            for a in actions]


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


def register_banner(app, banner: Callable[[bool], list[dict]]) -> None:
    """Add banners across the top of the dashboard and the wall map: ``banner(drill)`` gives
    ``[{"key", "level" ("warning" or "danger"), "title", "text", "url", "link"}]`` (plain text,
    escaped where shown; ``url`` a page to act on it)."""
    app.extensions.setdefault("riado_banners", []).append(banner)


def banners(drill: bool = False) -> list[dict]:
    """The wings' banners for this request (every one's texts as plain strings)."""
    out = []
    for banner in current_app.extensions.get("riado_banners", []):
        for item in banner(drill):
            out.append({key: str(item.get(key) or "") for key in ("key", "level", "title", "text", "url", "link")})
    return out


def register_health_check(app, name: str, check: Callable[[], tuple[bool, dict]]) -> None:
    """Add a part to /healthz: ``check()`` gives ``(ok, figures)``; a part not ok makes the
    answer 503 and is named ``"error"``, its figures (numbers, never personal data) shown beside."""
    app.extensions.setdefault("riado_health_checks", []).append((name, check))


def health_checks() -> list[tuple[str, Callable[[], tuple[bool, dict]]]]:
    """The wings' parts of /healthz."""
    return list(current_app.extensions.get("riado_health_checks", []))
