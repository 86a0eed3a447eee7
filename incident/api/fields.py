"""How the API writes its answers: marshmallow schemas dump the records, once, and the same
schemas are the OpenAPI document. What depends on the reader is a field type of its own
(``Personal``, ``StaffField``), never a second schema; what a record does not store (a
resource's available quantity, its distance) comes with it in ``With``."""

from __future__ import annotations

from flask import g
from marshmallow import Schema, fields, missing, pre_dump

from ..geo import to_geojson
from ..operations.staff import Staff, staff_for
from ..security import sees_personal_data


class Out(Schema):
    """An answer's schema: every field is in every answer, so the document marks each required
    (``Meta.optional`` names those that may be left out), and a field the schema does not
    declare is refused by the document (``additionalProperties: false``, marshmallow's RAISE)."""

    class Meta:
        optional: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        optional = set(getattr(self.Meta, "optional", ()))
        for name, field in self.fields.items():
            if name not in optional and not field.load_only:
                field.required = True

        # What _serialize does per field, worked out once: (name, key, attribute, field, direct), where
        # direct says that the field reads its attribute as marshmallow's Field.get_value would
        # (a plain name, no default, no get_value of its own), so the value can be read here.
        self._plan = [
            (name, field.data_key if field.data_key is not None else name, field.attribute or name, field,
             field._CHECK_ATTRIBUTE and type(field).get_value is fields.Field.get_value
             and field.dump_default is missing and "." not in (field.attribute or name))
            for name, field in self.dump_fields.items()
        ]

    def get_attribute(self, obj, attr, default):
        """A record's attribute, a dict's key (marshmallow's own lookup, which also tries every
        record as a mapping first, costs a third of a page's dump)."""
        if isinstance(obj, dict):
            return obj.get(attr, default)
        if "." in attr:
            return super().get_attribute(obj, attr, default)
        return getattr(obj, attr, default)

    def _serialize(self, obj, *, many=False):
        """marshmallow's ``Schema._serialize`` with the attribute read directly where that is all
        ``Field.serialize`` would do: the same answer, in a third of the time (a page of twenty
        resources is 340 fields, on every request)."""
        if many and obj is not None:
            return [self._serialize(item) for item in obj]
        out = {}
        mapping = isinstance(obj, dict)
        extra, record = (obj._extra, obj._record) if type(obj) is With else ({}, obj)
        for name, key, attribute, field, direct in self._plan:
            if direct:
                if attribute in extra:
                    value = extra[attribute]
                else:
                    value = record.get(attribute, missing) if mapping else getattr(record, attribute, missing)
                if value is missing:
                    continue
                value = field._serialize(value, name, obj)
            else:
                value = field.serialize(name, obj, accessor=self.get_attribute)
                if value is missing:
                    continue
            out[key] = value
        return out


class Listing(Out):
    """``{"items": [...], "total": N}``: subclasses declare ``items``."""

    total = fields.Integer()


def listing(item_schema, name: str | None = None) -> type[Schema]:
    """The schema of one page of ``item_schema`` (``Nested(many=True)``: the page is dumped as
    one collection, so a schema's ``pre_dump`` sees every record at once)."""
    return type(name or item_schema.__name__.removesuffix("Out") + "List", (Listing,),
                {"items": fields.Nested(item_schema, many=True)})


class With:
    """A record seen with values it does not store (``With(resource, available_quantity=3)``),
    for a schema to dump: the extras first, then the record's own attributes."""

    __slots__ = ("_record", "_extra")

    def __init__(self, record, **extra):
        self._record = record
        self._extra = extra

    def __getattr__(self, name):  # only for what the slots are not
        extra = self._extra
        if name in extra:
            return extra[name]
        return getattr(self._record, name)


class Geometry(fields.Field):
    """A stored geometry as GeoJSON (RFC 7946, longitude first); ``metadata`` describes it."""

    def _serialize(self, value, attr, obj, **kwargs):
        return to_geojson(value)


class Personal(fields.String):
    """Personal data (a phone number, an e-mail): as stored for officers and admins, through
    ``mask`` for everybody else."""

    def __init__(self, mask, **kwargs):
        super().__init__(**kwargs)
        self.mask = mask

    def _serialize(self, value, attr, obj, **kwargs):
        return value if sees_personal_data() else self.mask(value)


def request_staff() -> Staff:
    """The staff of the records this answer is dumping (``StaffSchema`` reads them at once)."""
    return g.riado_staff


class StaffField(fields.String):
    """Who wrote a record, as ``operations.staff.Staff`` shows them to this reader: ``field`` (the
    stored label for officers and admins, the name and position for viewers) or ``name`` (the
    name and position for everybody). ``label`` names the attribute that stores the label (by
    default the field's own name), ``id_attribute`` the user id where the record keeps one."""

    def __init__(self, show: str, *, label: str | None = None, id_attribute: str | None = None, **kwargs):
        if show not in ("field", "name"):
            raise ValueError(f"unknown show {show!r}")
        super().__init__(**kwargs)
        self.show, self.label, self.id_attribute = show, label, id_attribute

    def get_value(self, obj, attr, accessor=None, default=missing):
        return super().get_value(obj, self.label or attr, accessor, default)

    def _serialize(self, value, attr, obj, **kwargs):
        user_id = getattr(obj, self.id_attribute) if self.id_attribute else None
        staff = request_staff()
        return staff.field(user_id, value) if self.show == "field" else staff.name(user_id, value)


class StaffSchema(Out):
    """An answer that names staff: the people of every record dumped are read in one query
    before the dump (``staff_of`` says which records they are, as ``staff_for``'s keyword)."""

    staff_of = ""

    @pre_dump(pass_collection=True)
    def _read_staff(self, data, many, **kwargs):
        records = list(data) if many else [data]
        g.riado_staff = staff_for(personal=sees_personal_data(), **{self.staff_of: records})
        return data
