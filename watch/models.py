"""The hazard watch's records: the feeds' state, weather warnings, gauge stations and their
readings, and watch events (the proposals an officer accepts or dismisses)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from incident.database import UTCDateTime, utcnow
from incident.extensions import db

FEEDS = ("meteoalarm", "gauges")
LEVELS = ("yellow", "orange", "red")
WARNING_STATUSES = ("active", "updated", "cancelled", "ended")
EVENT_KINDS = ("gauge", "warning")
EVENT_STATUSES = ("open", "accepted", "dismissed")
# Why Riadó itself closed an open proposal: its warning is no longer in force (reopened should
# the warning come back), a proposal of the same gauge or warning at its level or higher was
# accepted (settled for good), or the reading that made it was deleted (typed in by mistake).
SYSTEM_REASONS = ("ended", "settled", "deleted")
READING_SOURCES = ("manual", "feed")


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class FeedState(db.Model):
    """What Riadó last heard from a feed: when it tried, when it last read it, what went wrong
    (the last good state stays; the error marks it stale), and the validators of a conditional GET."""

    __tablename__ = "watch_feeds"
    __audit__ = False  # the worker's bookkeeping, every few minutes: not a user's write

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(Text, default="")
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the last attempt
    ok_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the last good read (or 304)
    error: Mapped[str | None] = mapped_column(Text)  # why the last attempt failed; None after a good one
    failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # since when it has been failing
    # A poll of the feed under way: its claim (one poller reads a feed at a time) and since when.
    poller: Mapped[str | None] = mapped_column(String(36))
    polling_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WeatherWarning(db.Model):
    """One CAP message of a weather warning for the watched area, as the feed last said it."""

    __tablename__ = "watch_warnings"
    __audit__ = False  # written from the feed, not by a user
    __table_args__ = (
        CheckConstraint(f"level IN ({_in(LEVELS)})", name="level"),
        CheckConstraint(f"status IN ({_in(WARNING_STATUSES)})", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(255), unique=True)  # CAP identifier
    # The identifier of the warning's first message: an update or a cancellation carries it on.
    lineage: Mapped[str] = mapped_column(String(255), index=True)
    sender: Mapped[str] = mapped_column(String(255), default="")
    sent: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    msg_type: Mapped[str] = mapped_column(String(16), default="Alert")
    event: Mapped[str] = mapped_column(String(255), default="")
    level: Mapped[str] = mapped_column(String(8))
    hazard: Mapped[str] = mapped_column(String(32), default="other")  # an incident kind
    onset: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    area: Mapped[str] = mapped_column(String(500), default="")
    codes: Mapped[list] = mapped_column(JSON, default=list)  # EMMA_ID geocodes
    headline: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)  # WARNING_STATUSES
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class GaugeStation(db.Model):
    """A river gauge (a station's first reading creates it) and where its newest reading stands."""

    __tablename__ = "watch_gauge_stations"
    __audit__ = {"quiet": {"level_cm", "at", "threshold"}}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station: Mapped[str] = mapped_column(String(100), unique=True)
    level_cm: Mapped[int | None] = mapped_column(Integer)  # the newest reading's
    at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    threshold: Mapped[int] = mapped_column(Integer, default=0)  # 0–3, of the newest reading
    # 0–3, of the newest reading that was current when it came (history read late does not
    # count): a current reading above it has crossed a level and proposes.
    watched_threshold: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class GaugeReading(db.Model):
    """One level at one time, typed by an officer or read from the gauge file."""

    __tablename__ = "watch_gauge_readings"
    __table_args__ = (
        UniqueConstraint("station_id", "at", name="uq_watch_gauge_readings_station_at"),
        CheckConstraint(f"source IN ({_in(READING_SOURCES)})", name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("watch_gauge_stations.id"), index=True)
    level_cm: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    source: Mapped[str] = mapped_column(String(8), default="manual")
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WatchEvent(db.Model):
    """A threshold crossed or an orange/red warning: a proposal (open an incident of ``hazard`` at
    ``readiness_level`` with its plan, and a drafted alert) that an officer accepts or dismisses.
    ``key`` makes the same crossing propose once: a gauge's reading that crossed, or a
    warning's lineage at a level."""

    __tablename__ = "watch_events"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(EVENT_KINDS)})", name="kind"),
        CheckConstraint(f"status IN ({_in(EVENT_STATUSES)})", name="status"),
        CheckConstraint(f"system_reason IN ({_in(SYSTEM_REASONS)})", name="system_reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("watch_gauge_stations.id"), index=True)
    station: Mapped[str | None] = mapped_column(String(100))
    threshold: Mapped[int | None] = mapped_column(Integer)  # 1–3: the level crossed
    threshold_cm: Mapped[int | None] = mapped_column(Integer)
    level_cm: Mapped[int | None] = mapped_column(Integer)  # the reading that crossed it
    reading_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    warning_id: Mapped[int | None] = mapped_column(ForeignKey("watch_warnings.id"), index=True)
    warning_level: Mapped[str | None] = mapped_column(String(8))
    hazard: Mapped[str] = mapped_column(String(32))  # an incident kind
    readiness_level: Mapped[int] = mapped_column(Integer, default=0)  # proposed: 1–3
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # EVENT_STATUSES
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(Integer)
    decided_by: Mapped[str] = mapped_column(String(254), default="")
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was dismissed
    system_reason: Mapped[str | None] = mapped_column(String(16))  # SYSTEM_REASONS, when Riadó closed it
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    alert_draft: Mapped[str] = mapped_column(Text, default="")
