"""Public notices (SPEC §5): a text for residents and the press, approved by a second person
before it is public, and the e-mails that sent a published one to the press list."""

from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from incident.database import UTCDateTime, utcnow
from incident.extensions import db
from incident.models import SEVERITIES

# draft → pending (submitted) → published (approved by someone else) → withdrawn; a rejected
# pending notice goes back to draft with the reason.
NOTICE_STATUSES = ("draft", "pending", "published", "withdrawn")
# CAP 1.2 <urgency> words.
URGENCIES = ("immediate", "expected", "future", "past", "unknown")


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Notice(db.Model):
    """A public notice: what happened, where, what to do; its CAP fields; who wrote, submitted,
    approved, rejected or withdrew it, and when."""

    __tablename__ = "notices"
    __audit__ = {"quiet": {"updated_at", "version"}}
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(NOTICE_STATUSES)})", name="status"),
        CheckConstraint(f"severity IN ({_in(SEVERITIES)})", name="severity"),
        CheckConstraint(f"urgency IN ({_in(URGENCIES)})", name="urgency"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    title: Mapped[str] = mapped_column(String(160))
    body: Mapped[str] = mapped_column(Text)  # what happened, where
    instruction: Mapped[str] = mapped_column(Text, default="")  # what to do
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    severity: Mapped[str] = mapped_column(String(16), default="unknown")
    urgency: Mapped[str] = mapped_column(String(16), default="unknown")
    area = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=True)
    area_desc: Mapped[str] = mapped_column(String(200), default="")
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    author_id: Mapped[int | None] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_by: Mapped[str | None] = mapped_column(String(254))
    # The users who wrote, changed or submitted its text (four eyes: none of them approves it).
    hands: Mapped[list | None] = mapped_column(JSON)
    rejected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rejected_by: Mapped[str | None] = mapped_column(String(254))
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    approved_by_id: Mapped[int | None] = mapped_column(Integer)
    approved_by: Mapped[str | None] = mapped_column(String(254))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(254))
    # Advanced on each edit of what people write, and checked: a stale edit is refused (409).
    version: Mapped[int] = mapped_column(Integer, default=1)


class NoticeSend(db.Model):
    """A published notice e-mailed to groups (the press list): the alert that carries it, whose
    deliveries say who received it."""

    __tablename__ = "notice_sends"
    __audit__ = False  # the alert it made is audited

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_by: Mapped[str] = mapped_column(String(254), default="")
