"""Every query and write of the hazard watch: the feeds' state, warnings applied from the feed,
gauge readings, watch events and the officer's answer to them (accept, dismiss)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import NamedTuple

from flask import current_app
from flask_babel import force_locale, format_datetime, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from incident.database import utcnow, wall_clock
from incident.errors import ConflictError, FieldError, FieldErrors, NotFound
from incident.extensions import db
from incident.models import Incident
from incident.operations.incidents import (
    Who,
    append_entry,
    create_incident,
    lock_incident,
    system_text,
    who,
)
from incident.operations.municipality import boundary
from incident.validation import storable

from . import cap, gauges
from .models import (
    EVENT_STATUSES,
    FeedState,
    GaugeReading,
    GaugeStation,
    WatchEvent,
    WeatherWarning,
)
from .readiness import ROMAN, prepare

MAX_REASON_LENGTH = 2000
# A reading may be dated at most this far ahead of the server's clock (a wall clock off by a
# little); further ahead it is a typing slip.
FUTURE_SLACK = dt.timedelta(minutes=5)
# A poll's claim on a feed holds for the feed's timeout and this long to store what it read.
CLAIM_SLACK = dt.timedelta(minutes=2)
WARNING_READINESS = {"orange": 1, "red": 2}
WARNING_SEVERITY = {"orange": "severe", "red": "extreme"}
GAUGE_SEVERITY = {1: "moderate", 2: "severe", 3: "extreme"}
LEVEL_WORDS = {"yellow": _l("yellow"), "orange": _l("orange"), "red": _l("red")}


def levels() -> tuple[int, int, int]:
    return tuple(current_app.config["RIADO_GAUGE_LEVELS"])


def configured_feeds() -> dict[str, str]:
    """The feeds that are read: name → URL (a feed whose URL is unset is not)."""
    config = current_app.config
    urls = {"meteoalarm": config.get("RIADO_METEOALARM_URL"), "gauges": config.get("RIADO_GAUGE_URL")}
    return {name: url for name, url in urls.items() if url}


# The feeds' state


def feed_state(name: str, lock: bool = False) -> FeedState:
    """The feed's row (made on first use)."""
    query = select(FeedState).where(FeedState.name == name)
    row = db.session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        try:
            with db.session.begin_nested():
                row = FeedState(name=name)
                db.session.add(row)
        except IntegrityError:
            row = db.session.execute(query).scalar_one()
    return row


class ClaimLost(Exception):
    """The poll took so long that its claim on the feed lapsed and another poller took it over:
    what it read is not stored (the other one's is)."""


def claim_lifetime() -> dt.timedelta:
    """How long a claim holds: the longest a feed may take to answer, and time to store it. A
    claim older than this is a poller that died mid-poll, and is taken over."""
    return dt.timedelta(seconds=current_app.config["RIADO_WATCH_TIMEOUT_SECONDS"]) + CLAIM_SLACK


def claim_feed(name: str) -> str | None:
    """Claim the feed's poll (committed at once): the claim's token, or None when another poller
    holds a live claim on it (two pollers never read and store the same feed at once). The
    claim also marks the poll under way on the pages."""
    feed_state(name)
    db.session.commit()
    now = wall_clock()
    token = uuid.uuid4().hex
    done = db.session.execute(
        update(FeedState).where(FeedState.name == name,
                                or_(FeedState.poller.is_(None), FeedState.polling_since.is_(None),
                                    FeedState.polling_since < now - claim_lifetime()))
        .values(poller=token, polling_since=now).execution_options(synchronize_session=False))
    db.session.commit()
    return token if done.rowcount == 1 else None


def _end_claim(state: FeedState, token: str | None) -> None:
    if token is not None and state.poller != token:
        raise ClaimLost(state.name)
    state.poller = state.polling_since = None


def record_read(name: str, url: str, etag: str | None, last_modified: str | None, now: dt.datetime,
                token: str | None = None) -> None:
    """The feed was read (or found unchanged): its validators kept for the next conditional GET,
    and the poll's claim (``token``) ended; a claim lost is ``ClaimLost``."""
    state = feed_state(name, lock=True)
    _end_claim(state, token)
    state.url, state.etag, state.last_modified = url, etag, last_modified
    state.checked_at = state.ok_at = now
    state.error = state.failed_at = None


def record_failure(name: str, url: str, error: str, now: dt.datetime, token: str | None = None) -> None:
    """The feed could not be read: what was read before stays, marked stale by the error."""
    state = feed_state(name, lock=True)
    _end_claim(state, token)
    if state.url and state.url != url:
        state.etag = state.last_modified = None
    state.url = url
    state.checked_at = now
    state.error = error[:2000]
    state.failed_at = state.failed_at or now


def validators(name: str, url: str) -> tuple[str | None, str | None]:
    """The ETag and Last-Modified of the feed's last answer (none if its URL changed since)."""
    state = db.session.get(FeedState, name)
    if state is None or state.url != url or state.ok_at is None:
        return None, None
    return state.etag, state.last_modified


@dataclass(frozen=True)
class FeedStatus:
    name: str
    url: str
    checked_at: dt.datetime | None
    ok_at: dt.datetime | None
    error: str | None
    failed_at: dt.datetime | None
    stale: bool
    stale_minutes: float | None  # how long since it was last read (None: never)
    polling_since: dt.datetime | None = None  # a poll of it under way since (None: none)


def feed_statuses(now: dt.datetime | None = None) -> list[FeedStatus]:
    """Each configured feed's state. A feed is stale when its last attempt failed, when it has
    never been read, or when it has not been read for three polling intervals (no worker polls)."""
    now = now or utcnow()
    every = dt.timedelta(minutes=current_app.config["RIADO_WATCH_MINUTES"])
    rows = {row.name: row for row in db.session.execute(select(FeedState)).scalars()}
    live_claims_since = wall_clock() - claim_lifetime()
    out = []
    for name, url in configured_feeds().items():
        row = rows.get(name)
        ok_at = row.ok_at if row is not None and row.url == url else None
        error = row.error if row is not None else None
        age = (now - ok_at).total_seconds() / 60 if ok_at else None
        stale = error is not None or ok_at is None or now - ok_at > 3 * every
        polling = row.polling_since if row is not None and row.poller and row.polling_since else None
        out.append(FeedStatus(name, url, row.checked_at if row else None, ok_at, error,
                              row.failed_at if row else None, stale, age,
                              polling if polling and polling >= live_claims_since else None))
    return out


def health() -> tuple[bool, dict]:
    """/healthz's "watch" part: fails only when a feed has gone unread for longer than
    RIADO_WATCH_STALE_HEALTH_MINUTES (a failed poll or two is marked stale on the pages, and
    is no reason to page anyone); its figures say how long each feed has gone unread."""
    limit = current_app.config["RIADO_WATCH_STALE_HEALTH_MINUTES"]
    now = utcnow()
    started = dt.datetime.fromtimestamp(current_app.extensions["riado_started_at"], dt.timezone.utc)
    figures, ok = {}, True
    for status in feed_statuses(now):
        minutes = status.stale_minutes
        if minutes is None:  # never read: counted from when this process started
            minutes = (now - started).total_seconds() / 60
        figures[f"watch_{status.name}_minutes_since_read"] = round(status.stale_minutes, 1) if status.stale_minutes is not None else None
        figures[f"watch_{status.name}_stale"] = status.stale
        if status.stale and minutes > limit:
            ok = False
    return ok, figures


# Weather warnings


def _known(identifiers) -> dict[str, WeatherWarning]:
    ids = list(set(identifiers))
    if not ids:
        return {}
    return {w.identifier: w for w in db.session.execute(
        select(WeatherWarning).where(WeatherWarning.identifier.in_(ids))).scalars()}


def apply_warnings(entries: list[cap.Entry], areas, now: dt.datetime | None = None) -> dict[str, int]:
    """Bring the stored warnings in line with a feed read whole: new messages added, updates
    replacing the messages they reference, cancellations ending them; a warning no longer in the
    feed has ended, and one back in the feed is in force again. Only actual messages for
    ``areas`` are kept. A warning that rises to orange or red proposes (once per warning and
    level; a lower level than it stood at proposes nothing), and the open proposals of a warning
    no longer in force at orange or red are withdrawn. Returns counts of what changed."""
    now = now or utcnow()
    counts = {"new": 0, "updated": 0, "cancelled": 0, "ended": 0, "revived": 0, "events": 0, "withdrawn": 0}
    before = {lineage: warning.level for lineage, warning in _in_force(now).items()}
    kept = sorted((e for e in entries if e.status == "Actual" and cap.in_areas(e, areas)),
                  key=lambda e: (e.sent or now, e.identifier))
    known = _known([e.identifier for e in kept] + [r for e in kept for r in e.references])
    in_feed = {e.identifier for e in kept}
    for entry in kept:
        referenced = [known[r] for r in entry.references if r in known]
        if entry.msg_type == "Cancel":
            for warning in referenced:
                if warning.status in ("active", "updated"):
                    warning.status, warning.updated_at = "cancelled", now
                    counts["cancelled"] += 1
            continue
        lineage = referenced[0].lineage if referenced else (entry.references[0] if entry.references else entry.identifier)
        for warning in referenced:
            if warning.status == "active":
                warning.status, warning.updated_at = "updated", now
                counts["updated"] += 1
        current = known.get(entry.identifier)
        if entry.level is None:  # green (or no level): not a warning to keep
            continue
        fields = dict(sender=entry.sender, sent=entry.sent, msg_type=entry.msg_type, event=entry.event,
                      level=entry.level, hazard=entry.hazard, onset=entry.onset, expires=entry.expires,
                      area=entry.area, codes=list(entry.codes), headline=entry.headline)
        if current is None:
            current = WeatherWarning(identifier=entry.identifier, lineage=lineage, status="active", first_seen_at=now,
                                     updated_at=now, **fields)
            db.session.add(current)
            known[entry.identifier] = current
            counts["new"] += 1
        elif current.status == "ended":
            # Back in the feed (a read that lacked it, an empty feed, ended it): in force again.
            for key, value in fields.items():
                setattr(current, key, value)
            current.status, current.updated_at = "active", now
            counts["revived"] += 1
        elif current.status == "active" and any(getattr(current, k) != v for k, v in fields.items()):
            for key, value in fields.items():
                setattr(current, key, value)
            current.updated_at = now
    # A warning the feed no longer lists is over (MeteoAlarm lists the warnings in force).
    for warning in db.session.execute(select(WeatherWarning).where(WeatherWarning.status == "active")).scalars():
        if warning.identifier not in in_feed:
            warning.status, warning.updated_at = "ended", now
            counts["ended"] += 1
    db.session.flush()
    for lineage, warning in _in_force(now).items():
        if warning.level not in WARNING_READINESS:
            continue
        previous = before.get(lineage)
        if previous is not None and cap.LEVELS.index(warning.level) <= cap.LEVELS.index(previous):
            continue  # in force at this level or a higher one already: proposed then, if ever
        if _propose_warning(warning, now):
            counts["events"] += 1
    counts["withdrawn"] = withdraw_ended_proposals(now)
    return counts


def _in_force(now: dt.datetime) -> dict[str, WeatherWarning]:
    """Each warning (lineage) in force: its most severe message in force."""
    out: dict[str, WeatherWarning] = {}
    for warning in active_warnings(now):  # the most severe first
        out.setdefault(warning.lineage, warning)
    return out


def _propose_warning(warning: WeatherWarning, now: dt.datetime) -> bool:
    """Propose for ``warning`` at its level: a new proposal, or the one withdrawn when the
    warning was over (it is back); a proposal an officer decided, or settled, stays decided."""
    key = f"warning:{warning.lineage}:{warning.level}"
    existing = db.session.execute(select(WatchEvent).where(WatchEvent.key == key).with_for_update()
                                  .execution_options(populate_existing=True)).scalar_one_or_none()
    if existing is None:
        return _add_event(key, kind="warning", warning_id=warning.id, warning_level=warning.level,
                          hazard=warning.hazard, readiness_level=WARNING_READINESS[warning.level],
                          created_at=now) is not None
    if existing.status == "dismissed" and existing.system_reason == "ended":
        existing.status, existing.system_reason, existing.reason = "open", None, ""
        existing.decided_at, existing.decided_by_id, existing.decided_by = None, None, ""
        existing.warning_id, existing.hazard = warning.id, warning.hazard
        return True
    return False


def withdraw_ended_proposals(now: dt.datetime | None = None) -> int:
    """Withdraw the open proposals of warnings no longer in force at orange or red (cancelled,
    gone from the feed, expired, or lowered to yellow), saying why; one comes back should its
    warning come back. Returns how many."""
    now = now or utcnow()
    open_ones = list(db.session.execute(
        select(WatchEvent).where(WatchEvent.kind == "warning", WatchEvent.status == "open")
        .order_by(WatchEvent.id).with_for_update().execution_options(populate_existing=True)).scalars())
    if not open_ones:
        return 0
    in_force = _in_force(now)
    withdrawn = 0
    for event in open_ones:
        warning = warning_of(event)
        lineage = warning.lineage if warning is not None else None
        current = in_force.get(lineage) if lineage else None
        if current is not None and current.level in WARNING_READINESS:
            continue
        _close_by_system(event, now, "ended", _why_over(lineage, current))
        withdrawn += 1
    return withdrawn


def _why_over(lineage: str | None, current: WeatherWarning | None):
    if current is not None:
        return _l("The warning was lowered to %(level)s.", level=LEVEL_WORDS[current.level])
    statuses = set(db.session.execute(select(WeatherWarning.status).where(WeatherWarning.lineage == lineage)).scalars()
                   ) if lineage else set()
    if "cancelled" in statuses:
        return _l("The warning was cancelled by its issuer.")
    if "active" in statuses:
        return _l("The warning has expired.")
    return _l("The warning is no longer in the feed.")


def _close_by_system(event: WatchEvent, now: dt.datetime, why: str, reason, incident_id: int | None = None) -> None:
    """An open proposal closed by Riadó itself (``why``: ``SYSTEM_REASONS``), saying why."""
    with force_locale(current_app.config["RIADO_LOCALE"]):
        event.reason = str(reason)
    event.status, event.system_reason = "dismissed", why
    event.decided_at, event.decided_by_id, event.decided_by = now, None, "system"
    if incident_id is not None:
        event.incident_id = incident_id


def active_warnings(now: dt.datetime | None = None) -> list[WeatherWarning]:
    """Warnings in force (not expired, updated, cancelled nor ended), the most severe first."""
    now = now or utcnow()
    rows = db.session.execute(
        select(WeatherWarning).where(WeatherWarning.status == "active",
                                     or_(WeatherWarning.expires.is_(None), WeatherWarning.expires > now))
        .order_by(WeatherWarning.onset, WeatherWarning.id)).scalars().all()
    return sorted(rows, key=lambda w: -cap.LEVELS.index(w.level))


# Gauges


def _station(name: str, lock: bool = True) -> GaugeStation:
    query = select(GaugeStation).where(GaugeStation.station == name)
    station = db.session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if station is None:
        try:
            with db.session.begin_nested():
                station = GaugeStation(station=name, threshold=0, watched_threshold=0)
                db.session.add(station)
        except IntegrityError:
            station = db.session.execute(query.with_for_update() if lock else query).scalar_one()
    return station


def clean_reading(raw: dict, now: dt.datetime) -> dict:
    """``level_cm`` (whole centimetres) and ``at`` (ISO 8601; default now), naming a bad field."""
    errors: dict[str, list[str]] = {}
    out = {}
    try:
        out["level_cm"] = gauges.clean_level(raw.get("level_cm"))
    except ValueError:
        errors["level_cm"] = [str(_l("Must be a whole number of centimetres between %(low)s and %(high)s.",
                                     low=gauges.MIN_LEVEL_CM, high=gauges.MAX_LEVEL_CM))]
    at = raw.get("at")
    if at in (None, ""):
        out["at"] = now
    elif isinstance(at, dt.datetime):
        out["at"] = at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)
    else:
        try:
            out["at"] = gauges.clean_time(at, current_app.config["RIADO_TIMEZONE"])
        except ValueError:
            errors["at"] = [str(_l("Must be a time such as 2026-06-10T14:00:00+02:00."))]
    if "at" in out and out["at"] > now + FUTURE_SLACK:
        errors["at"] = [str(_l("A reading cannot be in the future."))]
    if errors:
        raise FieldErrors(errors)
    return out


def clean_station_name(value) -> str:
    try:
        name = gauges.clean_station(value)
    except gauges.UnstorableText:
        raise FieldError("station", _l("This text contains characters that cannot be stored.")) from None
    except ValueError:
        raise FieldError("station", _l("A station name of 1 to %(n)s characters is required.",
                                       n=gauges.MAX_STATION_LENGTH)) from None
    if not storable(name):
        raise FieldError("station", _l("This text contains characters that cannot be stored."))
    return name


def record_reading(station_name: str, raw: dict, source: str = "manual", now: dt.datetime | None = None,
                   author: Who | None = None) -> tuple[GaugeReading, WatchEvent | None]:
    """Store a reading (a station's first creates it); a reading newer than the station's last
    that crosses a readiness level upwards makes a watch event. A reading for a time the station
    has one already is refused (409)."""
    now = now or utcnow()
    name = clean_station_name(station_name)
    data = clean_reading(raw, now)
    actor = author or who()
    station = _station(name)
    taken = db.session.execute(select(GaugeReading.id).where(GaugeReading.station_id == station.id,
                                                             GaugeReading.at == data["at"])).first()
    if taken:
        raise ConflictError(_l("The station has a reading for this time already."), "at")
    reading = GaugeReading(station_id=station.id, level_cm=data["level_cm"], at=data["at"], source=source,
                           created_by=actor.label, created_at=now)
    db.session.add(reading)
    db.session.flush()
    return reading, _follow(station, reading, now)


def fresh_window() -> dt.timedelta:
    """How old a reading may be when it comes and still propose (RIADO_GAUGE_FRESH_MINUTES)."""
    return dt.timedelta(minutes=current_app.config["RIADO_GAUGE_FRESH_MINUTES"])


def _follow(station: GaugeStation, reading: GaugeReading, now: dt.datetime) -> WatchEvent | None:
    """Move the station to its newest reading; a current reading (one no older than
    ``fresh_window`` when it comes) above the level of the station's last current reading has
    crossed upwards and makes an event (the highest level crossed). An older reading arriving
    late changes nothing; history (a reading already old when it comes: a gauge file's past
    days, a reading typed in long after) is shown but proposes nothing, and is not what the next
    current reading's crossing is counted from."""
    if station.at is not None and reading.at <= station.at:
        return None
    steps = levels()
    after = gauges.threshold_of(reading.level_cm, steps)
    station.level_cm, station.at, station.threshold = reading.level_cm, reading.at, after
    if now - reading.at > fresh_window():
        return None
    before = station.watched_threshold or 0
    station.watched_threshold = after
    if after <= before:
        return None
    return _gauge_event(station, reading, after, steps, now)


def _gauge_event(station: GaugeStation, reading: GaugeReading, after: int, steps, now: dt.datetime) -> WatchEvent | None:
    """The proposal of a reading that crossed up to readiness level ``after``."""
    return _add_event(_reading_event_key(station.id, reading.id), kind="gauge", station_id=station.id, station=station.station,
                      threshold=after, threshold_cm=steps[after - 1], level_cm=reading.level_cm, reading_at=reading.at,
                      hazard="flood", readiness_level=after, created_at=now)


def apply_gauge_file(readings: list[gauges.Reading], now: dt.datetime | None = None) -> dict[str, int]:
    """The gauge file's readings not stored yet, oldest first (what was stored stays)."""
    now = now or utcnow()
    counts = {"readings": 0, "events": 0}
    for item in sorted(readings, key=lambda r: (r.station, r.at)):
        station = _station(item.station)
        exists = db.session.execute(select(GaugeReading.id).where(GaugeReading.station_id == station.id,
                                                                  GaugeReading.at == item.at)).first()
        if exists or item.at > now + FUTURE_SLACK:
            continue
        reading = GaugeReading(station_id=station.id, level_cm=item.level_cm, at=item.at, source="feed",
                               created_by="gauge file", created_at=now)
        db.session.add(reading)
        db.session.flush()
        counts["readings"] += 1
        if _follow(station, reading, now) is not None:
            counts["events"] += 1
    return counts


class Deleted(NamedTuple):
    """What deleting a reading did: the reading as it was, the open proposal it had made closed
    by the system, the incidents of its accepted proposal noted in their logs, and the proposal
    the station's newest reading makes now the deleted one no longer stands before it."""

    reading: dict
    closed: list[WatchEvent]
    noted: list[Incident]
    proposed: WatchEvent | None


def _reading_event_key(station_id: int, reading_id: int) -> str:
    return f"gauge:{station_id}:{reading_id}"


def _fresh_when_it_came(reading: GaugeReading) -> bool:
    """A reading that was current when it came (``_follow`` counted crossings from it)."""
    return reading.created_at - reading.at <= fresh_window()


def _refollow(station: GaugeStation, now: dt.datetime) -> WatchEvent | None:
    """Set the station to what its remaining readings say (a reading was deleted): the newest
    level, and the level of the newest reading that was current when it came, which the next
    crossing is counted from. Should the newest reading have crossed a level upwards from the
    current reading before it, with the deleted one no longer between them, it proposes now
    (once: a reading that made a proposal already makes none; nor while the gauge has one at
    that level or higher open, or accepted with its incident open)."""
    query = select(GaugeReading).where(GaugeReading.station_id == station.id).order_by(GaugeReading.at.desc())
    steps = levels()
    newest, current, offset, batch = None, [], 0, 100
    while len(current) < 2:  # the newest reading, and the two newest that were current when they came
        rows = list(db.session.execute(query.limit(batch).offset(offset)).scalars())
        for reading in rows:
            newest = newest or reading
            if _fresh_when_it_came(reading) and len(current) < 2:
                current.append(reading)
        if len(rows) < batch:
            break
        offset += batch
    if newest is None:
        station.level_cm, station.at, station.threshold, station.watched_threshold = None, None, 0, 0
        return None
    station.level_cm, station.at = newest.level_cm, newest.at
    station.threshold = gauges.threshold_of(newest.level_cm, steps)
    station.watched_threshold = gauges.threshold_of(current[0].level_cm, steps) if current else 0
    if not current or current[0] is not newest:
        return None
    before = gauges.threshold_of(current[1].level_cm, steps) if len(current) > 1 else 0
    after = station.watched_threshold
    if after <= before:
        return None
    # Not while a proposal of the gauge at that level or higher is open, or accepted with its
    # incident open: the situation is in hand.
    in_hand = select(WatchEvent.id).outerjoin(Incident, Incident.id == WatchEvent.incident_id).where(
        WatchEvent.station_id == station.id, WatchEvent.readiness_level >= after,
        or_(WatchEvent.status == "open", (WatchEvent.status == "accepted") & (Incident.status != "closed")))
    if db.session.execute(in_hand.limit(1)).first():
        return None
    return _gauge_event(station, newest, after, steps, now)


def delete_reading(reading_id: int, station_name: str | None = None, now: dt.datetime | None = None,
                   author: Who | None = None) -> Deleted:
    """Delete a reading typed in by hand (a typing slip), in one transaction: the station's
    newest level is what its other readings say again; an open proposal the reading made is
    closed by the system saying it was deleted; an accepted one stays (its incident exists) and
    the deletion is written to that incident's log. A reading of the gauge file is refused (409):
    the file is the gauge's own record, and its next read would bring the reading back. The
    audit trail keeps who deleted what. ``station_name``: the station the reading must be of."""
    now = now or utcnow()
    actor = author or who()
    found = db.session.get(GaugeReading, reading_id)
    if found is None:
        raise NotFound("gauge reading", reading_id)
    # The station first, as a reading stored or a proposal accepted locks it: they take turns.
    station = db.session.execute(select(GaugeStation).where(GaugeStation.id == found.station_id).with_for_update()
                                 .execution_options(populate_existing=True)).scalar_one()
    reading = db.session.execute(select(GaugeReading).where(GaugeReading.id == reading_id).with_for_update()
                                 .execution_options(populate_existing=True)).scalar_one_or_none()
    if reading is None or (station_name is not None and station.station != station_name):
        raise NotFound("gauge reading", reading_id)
    if reading.source != "manual":
        raise ConflictError(_l("Only a reading typed in by hand can be deleted: this one was read from the gauge "
                               "file, and the next read of the file would bring it back."), "source")
    key = _reading_event_key(station.id, reading.id)
    events = list(db.session.execute(select(WatchEvent).where(WatchEvent.key == key).with_for_update()
                                     .execution_options(populate_existing=True)).scalars())
    gone = {"id": reading.id, "station": station.station, "level_cm": reading.level_cm, "at": reading.at,
            "created_by": reading.created_by}
    db.session.delete(reading)
    db.session.flush()
    closed, noted = [], []
    when = _when(gone["at"])
    for event in events:
        if event.status == "open":
            _close_by_system(event, now, "deleted", _l(
                "Withdrawn: the reading that made it (%(level)s cm at %(time)s) was deleted by %(who)s.",
                level=gone["level_cm"], time=when, who=actor.label))
            closed.append(event)
        elif event.status == "accepted" and event.incident_id is not None:
            incident = lock_incident(event.incident_id)
            append_entry(incident, "system", system_text(
                "Hazard watch: the reading of %(station)s, %(level)s cm at %(time)s, which made proposal #%(id)s "
                "(accepted), was deleted by %(who)s as typed in by mistake.",
                station=gone["station"], level=gone["level_cm"], time=when, id=event.id, who=actor.label),
                at=now, author=actor, locked=True)
            noted.append(incident)
        # The reading's id may be given again (SQLite reuses the highest one freed): the key
        # is freed with it, so that the new reading's crossing proposes.
        event.key = f"{key}:deleted:{event.id}"
    proposed = _refollow(station, now)
    db.session.flush()
    return Deleted(gone, closed, noted, proposed)


def stations() -> list[GaugeStation]:
    return list(db.session.execute(select(GaugeStation).order_by(GaugeStation.station)).scalars())


def station_by_name(name: str) -> GaugeStation | None:
    return db.session.execute(select(GaugeStation).where(GaugeStation.station == name)).scalar_one_or_none()


def station_points(station_id: int, since: dt.datetime) -> list[tuple[dt.datetime, int]]:
    return [(at, cm) for at, cm in db.session.execute(
        select(GaugeReading.at, GaugeReading.level_cm).where(GaugeReading.station_id == station_id,
                                                             GaugeReading.at >= since).order_by(GaugeReading.at))]


def readings_query(station_id: int):
    return select(GaugeReading).where(GaugeReading.station_id == station_id).order_by(GaugeReading.at.desc())


def latest_readings(station_id: int, limit: int) -> list[GaugeReading]:
    return list(db.session.execute(readings_query(station_id).order_by(GaugeReading.id.desc()).limit(limit)).scalars())


def reading_events(station_id: int, reading_ids: list[int]) -> dict[int, WatchEvent]:
    """The proposal each of the readings made (by reading id), of those that made one."""
    keys = {_reading_event_key(station_id, reading_id): reading_id for reading_id in reading_ids}
    if not keys:
        return {}
    return {keys[event.key]: event
            for event in db.session.execute(select(WatchEvent).where(WatchEvent.key.in_(keys))).scalars()}


def trend(station: GaugeStation) -> int | None:
    """The station's change over the 24 hours before its newest reading (cm)."""
    if station.at is None:
        return None
    return gauges.trend_24h(station_points(station.id, station.at - dt.timedelta(hours=48)), station.at)


# Watch events


def _add_event(key: str, **values) -> WatchEvent | None:
    """A new event under ``key``, or None if that crossing has one already (also when another
    process made it a moment ago)."""
    if db.session.execute(select(WatchEvent.id).where(WatchEvent.key == key)).first():
        return None
    try:
        with db.session.begin_nested():
            event = WatchEvent(key=key, status="open", **values)
            db.session.add(event)
    except IntegrityError:
        return None
    return event


def events_query(status: str | None = None):
    query = select(WatchEvent).order_by(WatchEvent.created_at.desc(), WatchEvent.id.desc())
    if status:
        query = query.where(WatchEvent.status == status)
    return query


def open_events() -> list[WatchEvent]:
    return list(db.session.execute(events_query("open")).scalars())


def warning_of(event: WatchEvent) -> WeatherWarning | None:
    return db.session.get(WeatherWarning, event.warning_id) if event.warning_id else None


def _when(value: dt.datetime | None) -> str:
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else "–"


def describe(event: WatchEvent) -> str:
    """What happened, in the current language (the banner's words)."""
    if event.kind == "gauge":
        return gettext("%(station)s: %(level)s cm at %(time)s, above readiness level %(roman)s (%(threshold)s cm).",
                       station=event.station, level=event.level_cm, time=_when(event.reading_at),
                       roman=ROMAN.get(event.threshold, ""), threshold=event.threshold_cm)
    warning = warning_of(event)
    if warning is None:
        return gettext("Weather warning")
    return gettext("%(level)s warning: %(event)s (%(area)s), %(onset)s – %(expires)s.",
                   level=str(LEVEL_WORDS[warning.level]).capitalize(), event=warning.event or warning.headline,
                   area=warning.area, onset=_when(warning.onset), expires=_when(warning.expires))


def draft_alert(event: WatchEvent) -> str:
    """The alert an officer is offered to send, in the configured language; nothing is sent."""
    with force_locale(current_app.config["RIADO_LOCALE"]):
        if event.kind == "gauge":
            return gettext("Flood warning: the river at %(station)s stands at %(level)s cm (%(time)s), above "
                           "readiness level %(roman)s. Keep away from the embankment and the lower quays, and "
                           "follow the instructions of the authorities.",
                           station=event.station, level=event.level_cm, time=_when(event.reading_at),
                           roman=ROMAN.get(event.threshold, ""))
        warning = warning_of(event)
        return gettext("Weather warning (%(level)s): %(event)s, %(onset)s – %(expires)s. Please take care and "
                       "follow the instructions of the authorities.",
                       level=str(LEVEL_WORDS.get(event.warning_level or "", "")),
                       event=(warning.event or warning.headline) if warning else "",
                       onset=_when(warning.onset if warning else None), expires=_when(warning.expires if warning else None))


def _incident_title(event: WatchEvent) -> str:
    with force_locale(current_app.config["RIADO_LOCALE"]):
        if event.kind == "gauge":
            return gettext("Flood: %(station)s %(level)s cm (readiness level %(roman)s)", station=event.station,
                           level=event.level_cm, roman=ROMAN.get(event.threshold, ""))[:200]
        warning = warning_of(event)
        return gettext("Weather warning (%(level)s): %(event)s", level=str(LEVEL_WORDS.get(event.warning_level or "", "")),
                       event=(warning.event or warning.headline) if warning else "")[:200]


def _location(raw) -> dict:
    """Where the incident is: given, or the middle of the municipality."""
    if raw is not None:
        return raw
    outline = boundary()
    if outline is None:
        raise FieldErrors({"location": [str(_l("The municipality has no outline to place the incident in: give "
                                               "a location."))]})
    point = outline.representative_point()
    return {"type": "Point", "coordinates": [round(point.x, 6), round(point.y, 6)]}


def lock_event(event_id: int) -> WatchEvent:
    event = db.session.execute(select(WatchEvent).where(WatchEvent.id == event_id).with_for_update()
                               .execution_options(populate_existing=True)).scalar_one_or_none()
    if event is None:
        raise NotFound("watch event", event_id)
    return event


def _refuse_decided(event: WatchEvent) -> None:
    if event.status != "open":
        raise ConflictError(_l("This proposal was %(status)s already.", status=str(STATUS_WORDS[event.status])), "status")


STATUS_WORDS = {"open": _l("open"), "accepted": _l("accepted"), "dismissed": _l("dismissed")}


def _earlier_incident(event: WatchEvent) -> Incident | None:
    """An incident opened from an earlier event of the same gauge or warning that is still open:
    accepting a higher level raises it rather than opening a second one."""
    query = select(WatchEvent.incident_id).join(Incident, Incident.id == WatchEvent.incident_id).where(
        WatchEvent.status == "accepted", WatchEvent.id != event.id, Incident.status != "closed")
    if event.kind == "gauge":
        query = query.where(WatchEvent.station_id == event.station_id)
    else:
        warning = warning_of(event)
        if warning is None:
            return None
        query = query.join(WeatherWarning, WeatherWarning.id == WatchEvent.warning_id).where(
            WeatherWarning.lineage == warning.lineage)
    incident_id = db.session.execute(query.order_by(WatchEvent.decided_at.desc()).limit(1)).scalar_one_or_none()
    return db.session.get(Incident, incident_id) if incident_id else None


class Accepted(NamedTuple):
    """What accepting a proposal did: the event, its incident, the plans applied, and whether the
    incident was opened now (False: an earlier proposal's incident was raised)."""

    event: WatchEvent
    incident: Incident
    plans: list[str]
    opened: bool


def accept_event(event_id: int, raw: dict | None = None, now: dt.datetime | None = None,
                 author: Who | None = None) -> Accepted:
    """Accept a proposal: open an incident of the hazard (or raise the one an earlier event of the
    same gauge or warning opened, while it is open), at the proposed readiness level with its plan
    applied, and draft the alert (kept on the event; nothing is sent). Written to the incident's
    log and the audit trail."""
    raw = raw or {}
    now = now or utcnow()
    actor = author or who()
    event, others = _lock_family(event_id)
    _refuse_decided(event)
    incident = _earlier_incident(event)
    opened = incident is None
    if opened:
        severity = (GAUGE_SEVERITY.get(event.threshold or 0) if event.kind == "gauge"
                    else WARNING_SEVERITY.get(event.warning_level or ""))
        with force_locale(current_app.config["RIADO_LOCALE"]):
            description = describe(event)
        incident = create_incident({"title": _incident_title(event), "kind": event.hazard,
                                    "severity": severity or "moderate", "location": _location(raw.get("location")),
                                    "description": description, "confirm_far": raw.get("confirm_far", False)},
                                   now=now, author=actor)
    else:
        incident = lock_incident(incident.id)
    with force_locale(current_app.config["RIADO_LOCALE"]):
        text = gettext("Hazard watch: proposal #%(id)s accepted by %(who)s: %(what)s",
                       id=event.id, who=actor.label, what=describe(event))
    append_entry(incident, "decision", text, at=now, author=actor)
    plans = prepare(incident, event.readiness_level, now, actor)
    event.status, event.decided_at, event.decided_by_id, event.decided_by = "accepted", now, actor.id, actor.label
    event.incident_id = incident.id
    event.alert_draft = draft_alert(event)
    # The same gauge's (or warning's) open proposals at this level or lower are settled by it.
    for other in others:
        if other.status == "open" and other.readiness_level <= event.readiness_level:
            settled = (_l("Settled: proposal #%(id)s of the same gauge, at readiness level %(roman)s, was accepted.",
                          id=event.id, roman=ROMAN.get(event.readiness_level, "")) if event.kind == "gauge" else
                       _l("Settled: proposal #%(id)s of the same warning, at readiness level %(roman)s, was accepted.",
                          id=event.id, roman=ROMAN.get(event.readiness_level, "")))
            _close_by_system(other, now, "settled", settled, incident.id)
    db.session.flush()
    return Accepted(event, incident, plans, opened)


def _lock_family(event_id: int) -> tuple[WatchEvent, list[WatchEvent]]:
    """Lock what the proposal is about, then the proposal and the other open proposals of the
    same gauge or warning (in the order of their ids, as the poller locks them): two officers
    accepting proposals of the same gauge or warning at once take turns, so the second finds
    the first's incident (or its proposal decided) rather than opening another."""
    event = db.session.get(WatchEvent, event_id)
    if event is None:
        raise NotFound("watch event", event_id)
    family = WatchEvent.id == event.id
    if event.kind == "gauge" and event.station_id is not None:
        db.session.execute(select(GaugeStation.id).where(GaugeStation.id == event.station_id).with_for_update()).all()
        family = or_(family, (WatchEvent.station_id == event.station_id) & (WatchEvent.status == "open"))
    elif event.warning_id is not None:
        lineage = select(WeatherWarning.lineage).where(WeatherWarning.id == event.warning_id).scalar_subquery()
        messages = select(WeatherWarning.id).where(WeatherWarning.lineage == lineage)
        db.session.execute(select(WeatherWarning.id).where(WeatherWarning.id.in_(messages))
                           .order_by(WeatherWarning.id).with_for_update()).all()
        family = or_(family, WatchEvent.warning_id.in_(messages) & (WatchEvent.status == "open"))
    rows = list(db.session.execute(select(WatchEvent).where(family).order_by(WatchEvent.id).with_for_update()
                                   .execution_options(populate_existing=True)).scalars())
    event = next(row for row in rows if row.id == event_id)
    return event, [row for row in rows if row.id != event_id and row.kind == event.kind]


def clean_reason(raw) -> str:
    reason = " ".join(str(raw).split()) if isinstance(raw, str) else ""
    if not reason:
        raise FieldError("reason", _l("Say why the proposal is dismissed."))
    if len(reason) > MAX_REASON_LENGTH:
        raise FieldError("reason", _l("At most %(n)s characters.", n=MAX_REASON_LENGTH))
    if not storable(reason):
        raise FieldError("reason", _l("This text contains characters that cannot be stored."))
    return reason


def dismiss_event(event_id: int, reason, now: dt.datetime | None = None, author: Who | None = None) -> WatchEvent:
    """Dismiss a proposal, saying why; written to the audit trail, and to the log of an open
    incident of the same hazard where there is one (the one the situation is handled in)."""
    now = now or utcnow()
    actor = author or who()
    reason = clean_reason(reason)
    event = lock_event(event_id)
    _refuse_decided(event)
    event.status, event.decided_at, event.decided_by_id, event.decided_by = "dismissed", now, actor.id, actor.label
    event.reason = reason
    incident = db.session.execute(
        select(Incident).where(Incident.status != "closed", Incident.drill.is_(False), Incident.kind == event.hazard)
        .order_by(Incident.created_at.desc()).limit(1)).scalar_one_or_none()
    if incident is not None:
        with force_locale(current_app.config["RIADO_LOCALE"]):
            text = gettext("Hazard watch: proposal #%(id)s dismissed by %(who)s (%(reason)s): %(what)s",
                           id=event.id, who=actor.label, reason=reason, what=describe(event))
        append_entry(incident, "decision", text, at=now, author=actor)
        event.incident_id = incident.id
    db.session.flush()
    return event


def event_counts() -> dict[str, int]:
    counts = dict.fromkeys(EVENT_STATUSES, 0)
    for status, n in db.session.execute(select(WatchEvent.status, func.count()).group_by(WatchEvent.status)):
        counts[status] = n
    return counts

