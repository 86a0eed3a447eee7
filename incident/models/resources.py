"""The register of forces and equipment (erő-eszköz nyilvántartás)."""

from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..collation import keep_sort_key, sort_key_column
from ..database import UTCDateTime, utcnow
from ..extensions import db

RESOURCE_STATUSES = ("available", "deployed", "maintenance", "unavailable")
# Seeded by the migration; admins may add more.
SEEDED_KINDS = (
    ("vehicle", "Jármű", "Vehicle"),
    ("boat", "Csónak, hajó", "Boat"),
    ("pump", "Szivattyú", "Pump"),
    ("generator", "Áramfejlesztő", "Generator"),
    ("sandbags", "Homokzsák", "Sandbags"),
    ("shelter", "Befogadóhely", "Shelter"),
    ("heavy_machinery", "Munkagép", "Heavy machinery"),
    ("medical", "Egészségügyi eszköz", "Medical"),
    ("food_water", "Élelmiszer, ivóvíz", "Food and water"),
    ("communications", "Híradástechnika", "Communications"),
    ("lighting", "Világítás", "Lighting"),
    ("other", "Egyéb", "Other"),
)


class ResourceKind(db.Model):
    """A kind of resource, with its labels in both UI languages."""

    __tablename__ = "resource_kinds"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    label_hu: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))

    def label(self, locale: str) -> str:
        return self.label_hu if locale == "hu" else self.label_en


class Resource(db.Model):
    """A vehicle, pump, generator, sandbag depot, shelter… with where it is and how much there is."""

    __tablename__ = "resources"
    __audit__ = {"quiet": {"updated_at", "version", "search", "name_key"}}
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity"),
        CheckConstraint(
            "status IN ('available', 'deployed', 'maintenance', 'unavailable')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    name_key: Mapped[str | None] = sort_key_column()  # the name's place in the Hungarian order
    kind: Mapped[str] = mapped_column(ForeignKey("resource_kinds.code"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit: Mapped[str] = mapped_column(String(40), default="")
    capacity: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="available", index=True)
    owner: Mapped[str] = mapped_column(String(200), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    # A shelter shown on the public page (SPEC §5) with its free places; nothing else of it is.
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Folded (lower case, no accents) text of the searchable fields, kept by the operations.
    search: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    kind_ref: Mapped[ResourceKind] = relationship(lazy="joined")
    contact = relationship("Contact", lazy="joined")

    __mapper_args__ = {"version_id_col": version}


keep_sort_key(Resource)
