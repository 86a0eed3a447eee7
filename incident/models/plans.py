"""Readiness plans (the emergency response plan's checklists per hazard and readiness level) and
the tasks copied from them onto an incident."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db
from .incidents import INCIDENT_KINDS, _in

READINESS_LEVELS = (0, 1, 2, 3)  # 0: none; I., II., III. fokú készültség
PLAN_LEVELS = (1, 2, 3)
TASK_STATUSES = ("open", "done", "skipped")


class Plan(db.Model):
    """A plan for one hazard (an incident kind) and, optionally, one readiness level: an ordered
    list of tasks. ``revision`` counts the plan's editions (shown and printed); ``version`` refuses
    a stale edit."""

    __tablename__ = "plans"
    __audit__ = {"quiet": {"updated_at", "version"}}
    __table_args__ = (
        CheckConstraint(f"hazard IN ({_in(INCIDENT_KINDS)})", name="hazard"),
        CheckConstraint("level IS NULL OR level BETWEEN 1 AND 3", name="level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    hazard: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(254), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    tasks: Mapped[list[PlanTask]] = relationship(
        order_by="PlanTask.position", cascade="all, delete-orphan", back_populates="plan")


class PlanTask(db.Model):
    """One task of a plan, in its place: what, details, who is responsible (a role or a group),
    and when it is due, in minutes from the plan's activation (none: no deadline)."""

    __tablename__ = "plan_tasks"
    __audit__ = {}
    __table_args__ = (CheckConstraint("due_minutes IS NULL OR due_minutes >= 0", name="due_minutes"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text, default="")
    responsible: Mapped[str] = mapped_column(String(200), default="")
    due_minutes: Mapped[int | None] = mapped_column(Integer)

    plan: Mapped[Plan] = relationship(back_populates="tasks")


class IncidentTask(db.Model):
    """A plan's task as it was copied onto an incident when the plan was applied: a copy, so that
    editing (or deleting) the plan later changes nothing here. Done, skipped (with a reason) or
    open again; every change is written to the incident's log."""

    __tablename__ = "incident_tasks"
    __audit__ = {"quiet": {"version"}}
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(TASK_STATUSES)})", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    # Where it came from (kept as words: the plan may change or go).
    plan_id: Mapped[int | None] = mapped_column(Integer, index=True)
    plan_name: Mapped[str] = mapped_column(String(200))
    plan_revision: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text, default="")
    responsible: Mapped[str] = mapped_column(String(200), default="")
    due_minutes: Mapped[int | None] = mapped_column(Integer)
    applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    applied_by: Mapped[str] = mapped_column(String(254), default="")
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(254))
    version: Mapped[int] = mapped_column(Integer, default=1)

    def overdue(self, now: dt.datetime) -> bool:
        """Open and past its due time (due at exactly ``now`` is not late yet)."""
        return self.status == "open" and self.due_at is not None and now > self.due_at

    def delay_seconds(self, now: dt.datetime) -> float | None:
        """How late it was done (or, open, is now); None if on time or without a deadline."""
        if self.due_at is None or self.status == "skipped":
            return None
        end = self.done_at if self.status == "done" else now
        late = (end - self.due_at).total_seconds()
        return late if late > 0 else None
