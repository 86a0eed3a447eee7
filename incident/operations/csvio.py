"""CSV import and export of contacts and resources, as Hungarian Excel writes and reads them:
UTF-8 with or without a BOM (or Excel's Windows-1250), comma or semicolon; text cells are
neutralised against formulas on export and restored on import (``incident.spreadsheet``). The
columns are named by their codes or by the UI's labels in either language, and so are the words
in cells that hold a code (``incident.operations.csvheaders``). An import is all or nothing:
every bad row is reported with its row number, the name in the row, the bad cell and the reason,
and then nothing is written. A new contact with the name and phone of an existing one (or of
an earlier row) is imported, with a warning that lists it."""

from __future__ import annotations

import csv
import io

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..errors import ConflictError, FieldError, FieldErrors
from ..extensions import db
from ..geo import location_from_latlon, lonlat
from ..labels import RESOURCE_STATUS_LABELS
from ..models import Contact, Resource
from ..phones import display_phone, mask_email, mask_phone
from ..spreadsheet import Writer, restore
from ..validation import UNSTORABLE_TEXT, printable, storable
from ..validation import record_id as read_record_id
from . import contacts as contact_ops
from . import csvheaders
from . import resources as resource_ops
from .csvheaders import CODES, CONTACTS, RESOURCES, Table, kind_words, page_locale, status_words, word_key, yes_no

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
SHOWN_CHARS = 60  # of a bad cell or a row's name, in a message

CONTACT_COLUMNS = CONTACTS.columns
RESOURCE_COLUMNS = RESOURCES.columns
CONTACT_REQUIRED = CONTACTS.required
RESOURCE_REQUIRED = RESOURCES.required
ALIASES = csvheaders.ALIASES
GROUP_SEPARATOR = "|"


def _shown(text: str | None) -> str:
    """A cell as a message quotes it: stripped, at most SHOWN_CHARS characters, safe to print."""
    text = " ".join((text or "").split())
    if len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS - 1] + "…"
    return printable(text)


def _problem(row: int, name: str, column: str | None, value: str, problem: str) -> str:
    """``Row 3 (Kovács Anna): phone “+36 1 23”: <problem>``: the row's name and the bad cell
    as the file has them, so that the person can be found in a long file."""
    if column is None:
        if name:
            return str(_l("Row %(row)s (%(name)s): %(problem)s", row=row, name=name, problem=problem))
        return str(_l("Row %(row)s: %(problem)s", row=row, problem=problem))
    if name and value:
        return str(_l("Row %(row)s (%(name)s): %(column)s “%(value)s”: %(problem)s", row=row, name=name,
                      column=column, value=value, problem=problem))
    if name:
        return str(_l("Row %(row)s (%(name)s): %(column)s: %(problem)s", row=row, name=name, column=column,
                      problem=problem))
    if value:
        return str(_l("Row %(row)s: %(column)s “%(value)s”: %(problem)s", row=row, column=column, value=value,
                      problem=problem))
    return str(_l("Row %(row)s: %(column)s: %(problem)s", row=row, column=column, problem=problem))


class ImportReport(dict):
    """``{"created", "updated", "unchanged", "dry_run", "errors": [{"row", "field", "message",
    "name", "value"}], "warnings": [{"row", "name", "phone", "message"}]}``. A data row's error
    names the row's ``name`` and the bad cell's ``value`` (null for a header problem), and its
    message says both."""

    def __init__(self, dry_run: bool):
        super().__init__(created=0, updated=0, unchanged=0, dry_run=dry_run, errors=[], warnings=[])

    def error(self, row: int, field: str, message, name: str | None = None, value: str | None = None) -> None:
        self["errors"].append({"row": row, "field": field, "message": str(message), "name": name, "value": value})

    def row_error(self, row: int, field: str, message, cells: dict, table: Table, written: dict) -> None:
        """A data row's problem, its message naming the row's name and the bad cell."""
        name = _shown(cells.get("name"))
        value = _shown(cells.get(field)) if field in cells else ""
        column = None if field == "row" else (written.get(field) or table.label(field))
        self.error(row, field, _problem(row, name, column, value, str(message)), name=name or None,
                   value=value or None)

    def warn(self, row: int, name: str, phone: str, message) -> None:
        self["warnings"].append({"row": row, "name": name, "phone": phone, "message": str(message)})


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM); Excel's Hungarian "CSV (semicolon)" is Windows-1250."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1250", errors="strict")


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ";"))


def _read_header(header: list[str], table: Table, report: ImportReport) -> tuple[list[str], dict[str, str]]:
    """The code of each column of the header row (its code, a UI label in either language or a
    name people use, case and spacing aside), and each code's name as the file writes it;
    an unknown, doubled or missing column goes to the report."""
    known = table.names()
    written = [" ".join(h.split()) for h in header]
    names = [known.get(word_key(h), h) for h in written]
    for name, original in zip(names, written, strict=True):
        if name not in table.columns:
            if original:
                message = _l("Unknown column “%(name)s”. A column is named by its code or its Hungarian or English "
                             "name (case does not matter): %(columns)s.", name=printable(original),
                             columns=table.accepted())
            else:
                message = _l("A column has no name in the header row. A column is named by its code or its "
                             "Hungarian or English name: %(columns)s.", columns=table.accepted())
            report.error(1, printable(original) or "?", message)
    seen: dict[str, str] = {}
    for name, original in zip(names, written, strict=True):
        if name in seen and name in table.columns:
            report.error(1, name, _l("“%(first)s” and “%(second)s” are the same column (%(code)s).",
                                     first=printable(seen[name]), second=printable(original), code=name))
        seen.setdefault(name, original)
    for name in table.required:
        if name not in names:
            report.error(1, name, _l("The required column “%(label)s” (%(code)s) is missing.", label=table.label(name),
                                     code=name))
    return names, {name: seen[name] for name in names if name in table.columns}


def read_csv(data: bytes, table: Table, report: ImportReport):
    """The data rows as ``[(row number, {column: text})]`` and each column's name as the file
    writes it; header problems go to the report. Row numbers are as a spreadsheet shows them:
    the header is row 1."""
    if len(data) > MAX_BYTES:
        report.error(0, "file", _l("The file is larger than %(n)s MB.", n=MAX_BYTES // (1024 * 1024)))
        return [], {}
    try:
        text = decode(data)
    except UnicodeDecodeError:
        report.error(0, "file", _l("The file is not text in UTF-8; save it from Excel as “CSV UTF-8”."))
        return [], {}
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        report.error(1, "file", _l("The file has no header row."))
        return [], {}
    # A cell may be as long as the file may be: the columns' own limits then name the cell that
    # is too long (csv's default limit, 131,072 characters, would fail the whole read with
    # csv.Error instead; with newline="" and strict off, nothing else makes the reader fail).
    if csv.field_size_limit() < MAX_BYTES:
        csv.field_size_limit(MAX_BYTES)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    names, written = _read_header(next(reader), table, report)
    if report["errors"]:
        return [], written
    rows = []
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines at the end, as Excel leaves them
        # Cells as they were before an export neutralised them (a leading apostrophe is taken off).
        cells = {name: (restore(values[i]) if i < len(values) else "") for i, name in enumerate(names)}
        if len(values) > len(names):
            report.row_error(number, "row", _l("The row has more cells than the header."), cells, table, written)
            continue
        unstorable = [name for name, value in zip(names, values) if not storable(value)]
        if unstorable:
            for name in unstorable:
                report.row_error(number, name, UNSTORABLE_TEXT, {**cells, name: ""}, table, written)
            continue
        rows.append((number, cells))
        if len(rows) > MAX_ROWS:
            report.error(number, "file", _l("More than %(n)s rows.", n=MAX_ROWS))
            return [], written
    return rows, written


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


def _add_errors(report: ImportReport, number: int, exc: FieldErrors, row: dict, table: Table, written: dict) -> None:
    for field, messages in exc.errors.items():
        for message in messages:
            report.row_error(number, field, message, row, table, written)


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


def _import(data: bytes, dry_run: bool, model, table: Table, to_raw, create, update, lock=None,
            created=None) -> ImportReport:
    """``created(report, number, record)`` is told of each new record (a contact's duplicate check)."""
    report = ImportReport(dry_run)
    rows, written = read_csv(data, table, report)
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
                _add_errors(report, number, exc, row, table, written)
                continue
            raw, problems = to_raw(row, creating=record is None)
            new = None
            try:
                if record is None:
                    new = create(raw)
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
                _add_errors(report, number, FieldErrors(problems), row, table, written)
            elif record is None:
                report["created"] += 1
                if created is not None:
                    created(report, number, new)
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


def _duplicate_check():
    """``created`` for a contacts import: a new contact with the name (case and spacing aside)
    and phone of a contact already there, or of an earlier row of the file, is listed in the
    report's warnings. (Two
    contacts may share a phone, a duty phone; the same person twice is what a second import of
    one list gives.)"""
    existing = {}
    for name, phone in db.session.execute(select(Contact.name, Contact.phone)).all():
        existing.setdefault((word_key(name), phone), name)
    in_file: dict[tuple[str, str], int] = {}

    def check(report: ImportReport, number: int, contact: Contact) -> None:
        key = (word_key(contact.name), contact.phone)
        name, phone = _shown(contact.name), display_phone(contact.phone)
        if key in existing:
            report.warn(number, name, phone, _l(
                "Row %(row)s (%(name)s): a contact with this name and phone number (%(phone)s) is already in the list.",
                row=number, name=name, phone=phone))
        elif key in in_file:
            report.warn(number, name, phone, _l(
                "Row %(row)s (%(name)s): the same name and phone number (%(phone)s) as row %(other)s.",
                row=number, name=name, phone=phone, other=in_file[key]))
        in_file.setdefault(key, number)

    return check


def import_contacts(data: bytes, dry_run: bool = False) -> ImportReport:
    """Create contacts from rows without ``id``, update those with one; all or nothing (not
    committed)."""
    find_group = contact_ops.group_finder()

    def to_raw(row, creating):
        return _contact_raw(row, creating, find_group)

    def update(record, raw):
        return contact_ops.update_contact(record, raw, from_import=True)

    return _import(data, dry_run, Contact, CONTACTS, to_raw, contact_ops.create_contact, update,
                   created=_duplicate_check())


def _number(value) -> float | str:
    """A coordinate as a number cell (written in full, as repr writes a float), "" for none."""
    return "" if value is None else float(value)


def export_contacts(personal: bool = True, headers: str = CODES) -> str:
    """Every contact as CSV text (imports back unchanged): columns named by their codes, or
    (``headers="labels"``) as the page's forms name them, with yes/no in the page's language."""
    out = io.StringIO()
    writer = Writer(out)
    writer.writerow(CONTACTS.header(headers))
    query = select(Contact).order_by(Contact.name_key, Contact.id)
    for contact in db.session.execute(query).unique().scalars():
        point = lonlat(contact.location)
        writer.writerow([
            contact.id, contact.name,
            contact.phone if personal else mask_phone(contact.phone),
            contact.email if personal else mask_email(contact.email),
            contact.organization, contact.role,
            f" {GROUP_SEPARATOR} ".join(g.name for g in contact.groups),
            yes_no(contact.reachable_by_sms, headers),
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


def _resource_raw(row: dict, creating: bool, find_contact, kinds: csvheaders.Words,
                  statuses: csvheaders.Words) -> tuple[dict, dict]:
    raw = {k: row[k] for k in ("name", "unit", "owner", "notes") if k in row}
    if "kind" in row:
        raw["kind"] = kinds.code(row["kind"].strip())
    for key in ("quantity", "capacity", "contact_id"):
        if key in row:
            raw[key] = row[key].strip() or None
    if "status" in row:
        raw["status"] = statuses.code(row["status"].strip()) or ("available" if creating else None)
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


def import_resources(data: bytes, dry_run: bool = False, confirm_far: bool = False) -> ImportReport:
    """Create resources from rows without ``id``, update those with one; all or nothing (not
    committed). A kind or status is its code or its label in either UI language. A place far
    from the municipality is refused on its row unless ``confirm_far`` (a county depot 60 km
    away is real; a swapped latitude and longitude is not)."""
    kinds = resource_ops.kinds()
    codes = [kind.code for kind in kinds]
    words, statuses = kind_words(kinds), status_words()
    find_contact = contact_ops.contact_finder()

    def to_raw(row, creating):
        return _resource_raw(row, creating, find_contact, words, statuses)

    def create(raw):
        return resource_ops.create_resource({**raw, "confirm_far": confirm_far}, codes=codes)

    def update(record, raw):
        return resource_ops.update_resource(record, {**raw, "confirm_far": confirm_far}, codes=codes)

    return _import(data, dry_run, Resource, RESOURCES, to_raw, create, update, lock=resource_ops.lock_resources)


def export_resources(headers: str = CODES) -> str:
    """The whole register as CSV text (imports back unchanged): columns named by their codes,
    or (``headers="labels"``) as the page's forms name them, with kinds and statuses in the
    page's language."""
    out = io.StringIO()
    writer = Writer(out)
    writer.writerow(RESOURCES.header(headers))
    kinds = resource_ops.kinds()
    if headers == CODES:
        kind_word = {kind.code: kind.code for kind in kinds}
        status_word = {code: code for code in RESOURCE_STATUS_LABELS}
    else:
        locale, words, statuses = page_locale(), kind_words(kinds), status_words()
        kind_word = {kind.code: words.word(kind.code, kind.label(locale)) for kind in kinds}
        status_word = {code: statuses.word(code, str(label)) for code, label in RESOURCE_STATUS_LABELS.items()}
    for resource in db.session.execute(select(Resource).order_by(Resource.name_key, Resource.id)).unique().scalars():
        lon, lat = lonlat(resource.location)
        writer.writerow([
            resource.id, resource.name, kind_word.get(resource.kind, resource.kind), resource.quantity, resource.unit,
            "" if resource.capacity is None else resource.capacity, status_word.get(resource.status, resource.status),
            resource.owner, "" if resource.contact_id is None else resource.contact_id,
            resource.contact.name if resource.contact else "", _number(lat), _number(lon), resource.notes,
        ])
    return out.getvalue()


__all__ = ["ImportReport", "export_contacts", "export_resources", "import_contacts", "import_resources"]
