"""Emergency contacts and the alert groups they belong to (the call-out lists)."""

from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..collation import keep_sort_key, sort_key_column
from ..database import UTCDateTime, utcnow
from ..extensions import db

contact_groups = Table(
    "contact_groups",
    db.metadata,
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("alert_groups.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class AlertGroup(db.Model):
    """A call-out list: the local defence committee, head teachers, care homes, utilities…"""

    __tablename__ = "alert_groups"
    __audit__ = {"quiet": {"name_key"}}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_key: Mapped[str | None] = sort_key_column()  # the name's place in the Hungarian order
    description: Mapped[str] = mapped_column(Text, default="")
    # A press list (national and local press, cable TV, partner institutions): the only groups a
    # press officer may e-mail a published public notice to (SPEC §5); officers mark them.
    press_list: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[Contact]] = relationship(
        secondary=contact_groups, back_populates="groups", order_by="(Contact.name_key, Contact.id)"
    )


class Contact(db.Model):
    """A person to call out. ``phone`` is E.164; two contacts may share one (a duty phone)."""

    __tablename__ = "contacts"
    __audit__ = {"quiet": {"updated_at", "version", "search", "search_public", "name_key"}, "collections": {"groups"}}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    name_key: Mapped[str | None] = sort_key_column()
    phone: Mapped[str] = mapped_column(String(20), index=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    organization: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(200), default="")
    sms_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    opted_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Folded (lower case, no accents) text of the searchable fields, kept by the operations:
    # ``search`` for those who see phones and e-mails, ``search_public`` (name, organization,
    # role) for viewers, whose search must not find the digits their page masks.
    search: Mapped[str] = mapped_column(Text, default="")
    search_public: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    groups: Mapped[list[AlertGroup]] = relationship(
        secondary=contact_groups, back_populates="members", order_by="(AlertGroup.name_key, AlertGroup.id)"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def reachable_by_sms(self) -> bool:
        """Opted in and not opted out since."""
        return bool(self.sms_opt_in) and self.opted_out_at is None


keep_sort_key(AlertGroup)
keep_sort_key(Contact)
