"""Incidents (and drills), their append-only activity log, and resources assigned to them."""

from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db

INCIDENT_KINDS = (
    "flood", "storm", "fire", "hazmat", "power_outage", "water_outage", "heat", "snow_ice",
    "gas_leak", "building_collapse", "traffic", "epidemic", "other",
)
# CAP 1.2 <severity> words.
SEVERITIES = ("extreme", "severe", "moderate", "minor", "unknown")
STATUSES = ("reported", "active", "contained", "closed")
LOG_KINDS = ("note", "decision", "action", "communication", "system")
GENESIS_HASH = "0" * 64


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Counter(db.Model):
    """A named sequence (incident numbers per year), advanced atomically."""

    __tablename__ = "counters"
    __audit__ = False

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Incident(db.Model):
    """An incident or a drill: what happened, where, how bad, and its lifecycle."""

    __tablename__ = "incidents"
    __audit__ = {"quiet": {"updated_at", "version", "log_count", "log_head", "search"}}
    __table_args__ = (
        UniqueConstraint("year", "serial", name="uq_incidents_year_serial"),
        CheckConstraint(f"kind IN ({_in(INCIDENT_KINDS)})", name="kind"),
        CheckConstraint(f"severity IN ({_in(SEVERITIES)})", name="severity"),
        CheckConstraint(f"status IN ({_in(STATUSES)})", name="status"),
        CheckConstraint("readiness_level BETWEEN 0 AND 3", name="readiness_level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="reported", index=True)
    drill: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    commander: Mapped[str] = mapped_column(String(200), default="")
    # The defence readiness degree ordered for it: 0 none, 1–3 for I., II., III. fokú készültség.
    readiness_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Folded (lower case, no accents) number, title, description and commander, kept by the
    # operations: SQLite's lower() knows only ASCII, and "arviz" should find "Árvíz".
    search: Mapped[str] = mapped_column(Text, default="", server_default="")
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    # Deferred: an area may have thousands of points, and most reads (the log's row lock
    # above all) do not need it.
    area = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=True), nullable=True, deferred=True)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    contained_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The head of the log's hash chain, kept with the incident so that a removed last entry shows.
    log_count: Mapped[int] = mapped_column(Integer, default=0)
    log_head: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    # Advanced by the operations on each edit of what people write (not by log appends), and
    # checked under the incident's row lock: a stale edit is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)

    @property
    def number(self) -> str:
        """``2026-0001``: the year and the incident's serial within it."""
        return f"{self.year}-{self.serial:04d}"


class LogEntry(db.Model):
    """One entry of an incident's activity log. Never changed or deleted (the database refuses);
    ``hash`` = SHA-256 over ``prev_hash`` and the entry's canonical form."""

    __tablename__ = "log_entries"
    __audit__ = False  # the log is its own, stronger record
    __table_args__ = (
        UniqueConstraint("incident_id", "seq", name="uq_log_entries_incident_seq"),
        CheckConstraint(f"kind IN ({_in(LOG_KINDS)})", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    author_id: Mapped[int | None] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    corrects: Mapped[int | None] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Assignment(db.Model):
    """Part (or all) of a resource committed to an incident; persons housed, for a shelter."""

    __tablename__ = "assignments"
    __audit__ = {"quiet": {"version"}}
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_by: Mapped[str] = mapped_column(String(254), default="")
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    released_by: Mapped[str | None] = mapped_column(String(254))
    version: Mapped[int] = mapped_column(Integer, default=1)

    incident: Mapped[Incident] = relationship()
    resource = relationship("Resource")

    __mapper_args__ = {"version_id_col": version}
