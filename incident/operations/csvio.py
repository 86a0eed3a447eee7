"""CSV import and export of contacts and resources, as Hungarian Excel writes and reads them:
UTF-8 with or without a BOM (or Excel's Windows-1250), comma or semicolon; text cells are
neutralised against formulas on export and restored on import (``incident.spreadsheet``). An import is all or
nothing: every bad row is reported with its row number, field and reason, and then nothing is
written."""

from __future__ import annotations

import csv
import io

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..errors import ConflictError, FieldError, FieldErrors
from ..collation import by_name
from ..extensions import db
from ..geo import location_from_latlon, lonlat
from ..models import Contact, Resource
from ..phones import mask_email, mask_phone
from ..spreadsheet import Writer, restore
from ..validation import UNSTORABLE_TEXT, storable
from ..validation import record_id as read_record_id
from . import contacts as contact_ops
from . import resources as resource_ops

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000

CONTACT_COLUMNS = ("id", "name", "phone", "email", "organization", "role", "groups", "sms_opt_in",
                   "latitude", "longitude", "notes")
RESOURCE_COLUMNS = ("id", "name", "kind", "quantity", "unit", "capacity", "status", "owner", "contact_id",
                    "contact", "latitude", "longitude", "notes")
CONTACT_REQUIRED = ("name", "phone")
RESOURCE_REQUIRED = ("name", "kind", "latitude", "longitude")

# Hungarian column names people put in their own spreadsheets.
ALIASES = {
    "azonosító": "id", "azonosito": "id",
    "név": "name", "nev": "name", "megnevezés": "name", "megnevezes": "name",
    "telefon": "phone", "telefonszám": "phone", "telefonszam": "phone", "mobil": "phone",
    "e-mail": "email", "email cím": "email", "e-mail cím": "email",
    "szervezet": "organization", "intézmény": "organization", "intezmeny": "organization",
    "szerep": "role", "beosztás": "role", "beosztas": "role", "feladat": "role",
    "csoportok": "groups", "csoport": "groups",
    "sms": "sms_opt_in", "sms hozzájárulás": "sms_opt_in", "sms_hozzajarulas": "sms_opt_in",
    "szélesség": "latitude", "szelesseg": "latitude", "lat": "latitude",
    "hosszúság": "longitude", "hosszusag": "longitude", "lon": "longitude", "lng": "longitude",
    "megjegyzés": "notes", "megjegyzes": "notes",
    "fajta": "kind", "típus": "kind", "tipus": "kind",
    "mennyiség": "quantity", "mennyiseg": "quantity", "darab": "quantity",
    "egység": "unit", "egyseg": "unit", "mértékegység": "unit",
    "befogadóképesség": "capacity", "kapacitás": "capacity", "kapacitas": "capacity",
    "állapot": "status", "allapot": "status",
    "tulajdonos": "owner", "kapcsolattartó": "contact_id", "kapcsolattarto": "contact_id",
    "kapcsolattartó neve": "contact", "kapcsolattarto neve": "contact",
}
GROUP_SEPARATOR = "|"


class ImportReport(dict):
    """``{"created", "updated", "unchanged", "dry_run", "errors": [{"row", "field", "message"}]}``."""

    def __init__(self, dry_run: bool):
        super().__init__(created=0, updated=0, unchanged=0, dry_run=dry_run, errors=[])

    def error(self, row: int, field: str, message) -> None:
        self["errors"].append({"row": row, "field": field, "message": str(message)})


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM); Excel's Hungarian "CSV (semicolon)" is Windows-1250."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1250", errors="strict")


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ";"))


def read_csv(data: bytes, columns, required, report: ImportReport):
    """Yield (row number, {column: text}) for each data row; header problems go to the report.
    Row numbers are as a spreadsheet shows them: the header is row 1."""
    if len(data) > MAX_BYTES:
        report.error(0, "file", _l("The file is larger than %(n)s MB.", n=MAX_BYTES // (1024 * 1024)))
        return []
    try:
        text = decode(data)
    except UnicodeDecodeError:
        report.error(0, "file", _l("The file is not text in UTF-8; save it from Excel as “CSV UTF-8”."))
        return []
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        report.error(1, "file", _l("The file has no header row."))
        return []
    # A cell may be as long as the file may be: the columns' own limits then name the cell that
    # is too long (csv's default limit, 131,072 characters, would fail the whole read with
    # csv.Error instead; with newline="" and strict off, nothing else makes the reader fail).
    if csv.field_size_limit() < MAX_BYTES:
        csv.field_size_limit(MAX_BYTES)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    header = [h.strip().lower() for h in next(reader)]
    names = [ALIASES.get(h, h) for h in header]
    for name, original in zip(names, header, strict=True):
        if name not in columns:
            report.error(1, original or "?", _l("Unknown column. Known columns: %(cols)s.", cols=", ".join(columns)))
    seen = set()
    for name in names:
        if name in seen:
            report.error(1, name, _l("This column appears twice."))
        seen.add(name)
    for name in required:
        if name not in names:
            report.error(1, name, _l("This required column is missing."))
    if report["errors"]:
        return []
    rows = []
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines at the end, as Excel leaves them
        if len(values) > len(names):
            report.error(number, "row", _l("The row has more cells than the header."))
            continue
        unstorable = [name for name, value in zip(names, values) if not storable(value)]
        if unstorable:
            for name in unstorable:
                report.error(number, name, UNSTORABLE_TEXT)
            continue
        # Cells as they were before an export neutralised them (a leading apostrophe is taken off).
        rows.append((number, {name: (restore(values[i]) if i < len(values) else "") for i, name in enumerate(names)}))
        if len(rows) > MAX_ROWS:
            report.error(number, "file", _l("More than %(n)s rows.", n=MAX_ROWS))
            return []
    return rows


def _record_id(row: dict, model, seen: dict, number: int):
    text = (row.get("id") or "").strip()
    if not text:
        return None
    try:
        record_id = read_record_id(text, "id")
    except FieldError as exc:
        raise FieldErrors({"id": [exc.message]}) from None
    if record_id in seen:
        raise FieldErrors({"id": [str(_l("The same id is on row %(row)s too.", row=seen[record_id]))]})
    seen[record_id] = number
    record = db.session.get(model, record_id)
    if record is None:
        raise FieldErrors({"id": [str(_l("No record with this id; leave id empty to add a new one."))]})
    return record


def _add_errors(report: ImportReport, number: int, exc: FieldErrors) -> None:
    for field, messages in exc.errors.items():
        for message in messages:
            report.error(number, field, message)


def _finish(report: ImportReport, dry_run: bool) -> ImportReport:
    """All or nothing: a dry run or a file with any bad row leaves nothing in the session (rolled
    back); otherwise the rows are written to the session and the caller commits, as after any
    operation."""
    if report["errors"] or dry_run:
        db.session.rollback()
        if report["errors"]:
            report["created"] = report["updated"] = report["unchanged"] = 0
    return report


def _row_ids(rows) -> list[int]:
    """The usable ids of the rows (bad ones are reported when their row is read)."""
    ids = set()
    for _number, row in rows:
        try:
            ids.add(read_record_id((row.get("id") or "").strip(), "id"))
        except FieldError:
            continue
    return sorted(ids)


def _import(data: bytes, dry_run: bool, model, columns, required, to_raw, create, update, lock=None) -> ImportReport:
    report = ImportReport(dry_run)
    rows = read_csv(data, columns, required, report)
    if lock is not None and rows:
        # Every record the file changes is locked first, in id order: two imports (or an import
        # and an assignment) then wait for each other instead of deadlocking row by row.
        lock(_row_ids(rows))
    seen: dict[int, int] = {}
    # Every row is validated, and every problem of a row reported, before anything is kept.
    with db.session.no_autoflush:
        for number, row in rows:
            try:
                record = _record_id(row, model, seen, number)
            except FieldErrors as exc:
                _add_errors(report, number, exc)
                continue
            raw, problems = to_raw(row, creating=record is None)
            try:
                if record is None:
                    create(raw)
                else:
                    update(record, raw)
            except FieldErrors as exc:
                problems = {**exc.errors, **problems}
            except ConflictError as exc:  # e.g. a quantity below what is assigned: that row's problem
                problems = {exc.field or "row": [exc.message], **problems}
            if "location" in problems:  # a CSV has latitude and longitude columns instead
                location = problems.pop("location")
                if "latitude" not in problems and "longitude" not in problems:
                    problems["latitude"] = location
            if problems:
                _add_errors(report, number, FieldErrors(problems))
            elif record is None:
                report["created"] += 1
            elif db.session.is_modified(record):
                report["updated"] += 1
            else:
                report["unchanged"] += 1
    if not report["errors"]:
        db.session.flush()
    return _finish(report, dry_run)


# Contacts


def _group_ids(text: str, find_group) -> list[int]:
    names = [n.strip() for n in text.replace(";", GROUP_SEPARATOR).split(GROUP_SEPARATOR) if n.strip()]
    ids, missing = [], []
    for name in names:
        group = find_group(name)
        (ids.append(group.id) if group else missing.append(name))
    if missing:
        raise FieldErrors({"groups": [str(_l("No such group: %(names)s. Create it first.", names=", ".join(missing)))]})
    return ids


def _contact_raw(row: dict, creating: bool, find_group) -> tuple[dict, dict]:
    raw = {k: row[k] for k in ("name", "phone", "email", "organization", "role", "notes") if k in row}
    errors = {}
    if row.get("sms_opt_in", "").strip():  # an empty cell keeps the consent as it is (new: yes)
        raw["sms_opt_in"] = row["sms_opt_in"]
    if "groups" in row:
        try:
            raw["groups"] = _group_ids(row["groups"], find_group)
        except FieldErrors as exc:
            errors.update(exc.errors)
    if "latitude" in row or "longitude" in row:
        try:
            raw["location"] = location_from_latlon(row)
        except FieldErrors as exc:
            errors.update(exc.errors)
    return raw, errors


def import_contacts(data: bytes, dry_run: bool = False) -> ImportReport:
    """Create contacts from rows without ``id``, update those with one; all or nothing (not
    committed)."""
    find_group = contact_ops.group_finder()

    def to_raw(row, creating):
        return _contact_raw(row, creating, find_group)

    def update(record, raw):
        return contact_ops.update_contact(record, raw, from_import=True)

    return _import(data, dry_run, Contact, CONTACT_COLUMNS, CONTACT_REQUIRED, to_raw, contact_ops.create_contact, update)


def _number(value) -> float | str:
    """A coordinate as a number cell (written in full, as repr writes a float), "" for none."""
    return "" if value is None else float(value)


def export_contacts(personal: bool = True) -> str:
    """Every contact as CSV text with CONTACT_COLUMNS (imports back unchanged)."""
    out = io.StringIO()
    writer = Writer(out)
    writer.writerow(CONTACT_COLUMNS)
    query = select(Contact).order_by(by_name(Contact.name), Contact.id)
    for contact in db.session.execute(query).unique().scalars():
        point = lonlat(contact.location)
        writer.writerow([
            contact.id, contact.name,
            contact.phone if personal else mask_phone(contact.phone),
            contact.email if personal else mask_email(contact.email),
            contact.organization, contact.role,
            f" {GROUP_SEPARATOR} ".join(g.name for g in contact.groups),
            "yes" if contact.reachable_by_sms else "no",
            _number(point[1]) if point else "", _number(point[0]) if point else "",
            contact.notes,
        ])
    return out.getvalue()


# Resources


def _same_id(text: str, record_id: int) -> bool:
    """Whether an id cell names ``record_id`` (a cell that is no id is not compared: the
    resource's own check names it)."""
    try:
        return read_record_id(text, "contact_id") == record_id
    except FieldError:
        return True


def _contact_person(row: dict, raw: dict, find_contact) -> dict:
    """The ``contact`` column (a contact's name) into ``contact_id``; the problems found. With
    both filled in (as an export writes them), they must name the same contact."""
    name = (row.get("contact") or "").strip()
    if not name:
        if "contact" in row and "contact_id" not in row:
            raw["contact_id"] = None  # an emptied name takes the contact person off
        return {}
    try:
        contact_id = find_contact(name)
    except FieldError as exc:
        return {"contact": [exc.message]}
    if raw.get("contact_id") is None:
        raw["contact_id"] = contact_id
    elif not _same_id(raw["contact_id"], contact_id):
        return {"contact": [str(_l("contact_id is another contact than “%(name)s”; leave one of the two empty.",
                                   name=name))]}
    return {}


def _resource_raw(row: dict, creating: bool, find_contact) -> tuple[dict, dict]:
    raw = {k: row[k] for k in ("name", "kind", "unit", "owner", "notes") if k in row}
    for key in ("quantity", "capacity", "contact_id"):
        if key in row:
            raw[key] = row[key].strip() or None
    if "status" in row:
        raw["status"] = row["status"].strip() or ("available" if creating else None)
        if raw["status"] is None:
            del raw["status"]
    if "quantity" in raw and raw["quantity"] is None and creating:
        del raw["quantity"]  # the default, 1
    errors = _contact_person(row, raw, find_contact)
    try:
        raw["location"] = location_from_latlon(row)
    except FieldErrors as exc:
        errors.update(exc.errors)
        raw.pop("location", None)
    else:
        if raw["location"] is None:
            errors["latitude"] = [str(_l("A location is required."))]
            del raw["location"]
    return raw, errors


def import_resources(data: bytes, dry_run: bool = False) -> ImportReport:
    """Create resources from rows without ``id``, update those with one; all or nothing (not
    committed)."""
    codes = resource_ops.kind_codes()
    find_contact = contact_ops.contact_finder()

    def to_raw(row, creating):
        return _resource_raw(row, creating, find_contact)

    def create(raw):
        return resource_ops.create_resource(raw, codes=codes)

    def update(record, raw):
        return resource_ops.update_resource(record, raw, codes=codes)

    return _import(data, dry_run, Resource, RESOURCE_COLUMNS, RESOURCE_REQUIRED, to_raw, create, update,
                   lock=resource_ops.lock_resources)


def export_resources() -> str:
    """The whole register as CSV text with RESOURCE_COLUMNS (imports back unchanged)."""
    out = io.StringIO()
    writer = Writer(out)
    writer.writerow(RESOURCE_COLUMNS)
    for resource in db.session.execute(select(Resource).order_by(by_name(Resource.name), Resource.id)).unique().scalars():
        lon, lat = lonlat(resource.location)
        writer.writerow([
            resource.id, resource.name, resource.kind, resource.quantity, resource.unit,
            "" if resource.capacity is None else resource.capacity, resource.status, resource.owner,
            "" if resource.contact_id is None else resource.contact_id, resource.contact.name if resource.contact else "",
            _number(lat), _number(lon), resource.notes,
        ])
    return out.getvalue()


__all__ = ["ImportReport", "export_contacts", "export_resources", "import_contacts", "import_resources"]
