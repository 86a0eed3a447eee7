"""The hazard watch's pages: the watch (warnings, gauges with their charts, the feeds' state,
the proposals with accept and dismiss, the quick reading form), and what the dashboard and the
wall map show of it (through the core's hooks)."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _

from incident.database import utcnow
from incident.errors import ConflictError, FieldError, FieldErrors
from incident.extensions import db
from incident.labels import INCIDENT_KIND_LABELS, label
from incident.security import require_role
from incident.web.display import can_write

from . import gauges
from . import operations as ops
from .readiness import ROMAN

bp = Blueprint("watch", __name__, url_prefix="/watch")
CHART_DAYS = 7
LATEST_READINGS = 5  # each station's latest readings listed (a typing slip among them can be deleted)


def feed_names() -> dict[str, str]:
    return {"meteoalarm": _("Weather warnings (MeteoAlarm)"), "gauges": _("Gauge file")}


def level_names() -> dict[str, str]:
    return {code: str(word) for code, word in ops.LEVEL_WORDS.items()}


def station_rows(now: dt.datetime) -> list[dict]:
    """Each station with its newest level, threshold, trend and chart of the last days, and its
    latest readings (with the proposal each made, if any: deleting one says what it does)."""
    levels = ops.levels()
    rows = []
    for station in ops.stations():
        start = now - dt.timedelta(days=CHART_DAYS)
        points = ops.station_points(station.id, start)
        readings = ops.latest_readings(station.id, LATEST_READINGS)
        rows.append({
            "station": station, "trend": ops.trend(station), "readings": readings,
            "events": ops.reading_events(station.id, [r.id for r in readings]),
            "chart": gauges.chart_svg(points, levels, start, now, current_app.config["RIADO_TIMEZONE"],
                                      _("%(station)s, the last %(days)s days", station=station.station, days=CHART_DAYS),
                                      level_names=tuple(_("Level %(roman)s", roman=ROMAN[n]) for n in (1, 2, 3))),
        })
    return rows


def event_rows(events) -> list[dict]:
    return [{"event": e, "text": ops.describe(e)} for e in events]


def render_watch(form=None, errors=None, status: int = 200, dismiss_errors=None):
    now = utcnow()
    recent = list(db.session.execute(ops.events_query().where(ops.WatchEvent.status != "open").limit(20)).scalars())
    return render_template(
        "watch/watch.html", feeds=ops.feed_statuses(now), feed_names=feed_names(),
        warnings=ops.active_warnings(now), level_names=level_names(), stations=station_rows(now),
        open_events=event_rows(ops.open_events()), recent=event_rows(recent), levels=ops.levels(), roman=ROMAN,
        form=form or {"station": next((s.station for s in ops.stations()), ""), "level_cm": "", "at": ""},
        errors=errors or {}, dismiss_errors=dismiss_errors or {}, can_write=can_write(),
        status_words={k: str(v) for k, v in ops.STATUS_WORDS.items()},
        hazard_word=lambda code: label(INCIDENT_KIND_LABELS, code),
    ), status


@bp.route("", endpoint="index")
def index():
    """The watch: proposals, warnings, gauges and the feeds' state."""
    return render_watch()


@bp.route("/readings", methods=["POST"], endpoint="add_reading")
@require_role("officer")
def add_reading():
    """The quick form: a level read off the gauge by hand."""
    form = {key: (request.form.get(key) or "").strip() for key in ("station", "level_cm", "at")}
    errors: dict[str, list[str]] = {}
    status, event = 422, None
    try:
        _reading, event = ops.record_reading(form["station"], {"level_cm": form["level_cm"], "at": form["at"] or None})
    except FieldErrors as exc:
        errors = exc.errors
    except FieldError as exc:
        errors = {exc.field: [exc.message]}
    except ConflictError as exc:
        errors, status = {exc.field or "at": [exc.message]}, 409
    if errors:
        db.session.rollback()
        return render_watch(form, errors, status)
    db.session.commit()
    if event is not None:
        flash(_("Reading saved: readiness level %(roman)s was crossed. See the proposal below.",
                roman=ROMAN.get(event.threshold, "")), "warning")
    else:
        flash(_("Reading saved."), "success")
    return redirect(url_for("watch.index"))


@bp.route("/readings/<int:reading_id>/delete", methods=["POST"], endpoint="delete_reading")
@require_role("officer")
def delete_reading(reading_id: int):
    """Delete a reading typed in by mistake (asked to confirm on the page, in a disclosure that
    needs no script): the station's level goes back to its other readings, and the open
    proposal the reading made is closed."""
    try:
        deleted = ops.delete_reading(reading_id)
    except ConflictError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("watch.index"))
    gone, numbers = deleted.reading, [incident.number for incident in deleted.noted]
    proposed = deleted.proposed.threshold if deleted.proposed is not None else None
    closed = len(deleted.closed)
    db.session.commit()
    message = _("Reading deleted: %(station)s, %(level)s cm at %(time)s.", station=gone["station"],
                level=gone["level_cm"], time=format_datetime(gone["at"], "yyyy-MM-dd HH:mm"))
    if closed:
        message += " " + _("The proposal it made was closed.")
    for number in numbers:
        message += " " + _("Its proposal was accepted already: the incident %(number)s stays, and the deletion is "
                           "written to its log.", number=number)
    if proposed is not None:
        message += " " + _("The station's newest reading is above readiness level %(roman)s: see the proposal "
                           "below.", roman=ROMAN.get(proposed, ""))
    flash(message, "warning" if proposed is not None else "success")
    return redirect(url_for("watch.index"))


@bp.route("/events/<int:event_id>/accept", methods=["POST"], endpoint="accept")
@require_role("officer")
def accept(event_id: int):
    """Accept a proposal: the incident is opened (or raised) with its plan, and the alert
    composer opens with the drafted text; nothing is sent from here."""
    try:
        event, incident, plans, opened = ops.accept_event(event_id)
    except ConflictError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("watch.index"))
    except (FieldErrors, FieldError) as exc:
        db.session.rollback()
        messages = exc.errors if isinstance(exc, FieldErrors) else {exc.field: [exc.message]}
        flash(" ".join(m for ms in messages.values() for m in ms), "error")
        return redirect(url_for("watch.index"))
    draft, incident_id, number = event.alert_draft, incident.id, incident.number
    db.session.commit()
    if opened:
        message = _("Incident %(number)s opened at readiness level %(roman)s.", number=number,
                    roman=ROMAN.get(event.readiness_level, ""))
    else:
        message = _("Incident %(number)s raised to readiness level %(roman)s.", number=number,
                    roman=ROMAN.get(event.readiness_level, ""))
    if plans:
        message += " " + _("Plan applied: %(names)s.", names=", ".join(plans))
    flash(message + " " + _("Check the drafted alert and send it when it is right: nothing has been sent."), "success")
    return redirect(url_for("alerts.new", incident_id=incident_id, body=draft))


@bp.route("/events/<int:event_id>/dismiss", methods=["POST"], endpoint="dismiss")
@require_role("officer")
def dismiss(event_id: int):
    """Dismiss a proposal, saying why."""
    try:
        ops.dismiss_event(event_id, request.form.get("reason", ""))
    except FieldError as exc:
        db.session.rollback()
        return render_watch(dismiss_errors={event_id: exc.message}, status=422)
    except ConflictError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("watch.index"))
    db.session.commit()
    flash(_("Proposal dismissed."), "success")
    return redirect(url_for("watch.index"))


# What the core's pages show of the watch (incident.web.hooks)


def dashboard_panel() -> dict:
    """The dashboard's watch panel: the feeds' state (stale, with the error and the time) and
    the newest level of each gauge."""
    now = utcnow()
    return {"feeds": ops.feed_statuses(now), "feed_names": feed_names(), "warnings": ops.active_warnings(now),
            "stations": ops.stations(), "level_names": level_names(), "roman": ROMAN}


def banners(drill: bool) -> list[dict]:
    """Open watch events as banners (``register_banner``): the dashboard's and the wall map's.
    The watch reads the real weather and the real river, so its proposals are never a drill's:
    the drill wall map (``drill``), which shows drills only as the other counters do, has none,
    and no drill is shown on the real one."""
    if drill:
        return []
    return [{"key": f"watch-{e.id}", "level": "danger" if (e.readiness_level or 0) >= 2 else "warning",
             "title": _("Hazard watch: proposal"), "text": ops.describe(e), "url": url_for("watch.index"),
             "link": _("Accept or dismiss") if can_write() else _("See the watch")}
            for e in ops.open_events()]
