"""The reception register (befogadás): evacuees housed in a shelter for an incident."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..collation import keep_sort_key, sort_key_column
from ..database import UTCDateTime, utcnow
from ..extensions import db

EVACUEE_STATUSES = ("present", "left")
NEEDS = ("wheelchair", "medication", "oxygen", "dialysis", "infant", "pet", "other")
AGE_GROUPS = ("child", "adult", "elderly")
# The personal data of an evacuee: never copied into the audit trail (it shows that they changed,
# as ***), and emptied by the purge (``operations.evacuees.purge``) with the columns derived from
# them (``search``, ``name_key``).
PERSONAL = ("name", "birth_year", "phone", "household", "needs", "notes", "destination")


class Evacuee(db.Model):
    """One person checked in to a shelter (a resource of kind ``shelter``) for an incident; moved
    between shelters, checked out (``left``) with a destination. ``needs`` holds need codes as
    ``,wheelchair,oxygen,`` (each one between commas, so that one is counted with a LIKE)."""

    __tablename__ = "evacuees"
    __audit__ = {"exclude": set(PERSONAL), "quiet": {"search", "name_key", "version"}}
    __table_args__ = (
        CheckConstraint("status IN ('present', 'left')", name="status"),
        CheckConstraint("age_group IS NULL OR age_group IN ('child', 'adult', 'elderly')", name="age_group"),
        Index("ix_evacuees_shelter_status", "shelter_id", "status"),
        Index("ix_evacuees_incident_status", "incident_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    shelter_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    status: Mapped[str] = mapped_column(String(16), default="present")
    name: Mapped[str] = mapped_column(String(200), default="")
    name_key: Mapped[str | None] = sort_key_column()  # the name's place in the Hungarian order
    birth_year: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str] = mapped_column(String(40), default="")
    household: Mapped[str] = mapped_column(String(200), default="", index=True)
    needs: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    destination: Mapped[str] = mapped_column(String(500), default="")
    # Folded name (lower case, no accents) for the search, kept by the operations; emptied by the purge.
    search: Mapped[str] = mapped_column(Text, default="")
    # Set by the purge from the birth year (as of the incident's closing), so that the headcounts
    # of children and the elderly outlive it.
    age_group: Mapped[str | None] = mapped_column(String(16))
    checked_in_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_in_by: Mapped[str] = mapped_column(String(254), default="")
    checked_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    incident = relationship("Incident")
    shelter = relationship("Resource")

    __mapper_args__ = {"version_id_col": version}

    @property
    def need_list(self) -> list[str]:
        """The need codes, in the order of NEEDS."""
        stored = set(filter(None, (self.needs or "").split(",")))
        return [need for need in NEEDS if need in stored]


def needs_text(codes) -> str:
    """Need codes as stored: ``,oxygen,wheelchair,`` (empty for none)."""
    codes = [need for need in NEEDS if need in set(codes or ())]
    return f",{','.join(codes)}," if codes else ""


keep_sort_key(Evacuee)
