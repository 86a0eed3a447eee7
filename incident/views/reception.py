"""Pages of the reception register: the overview (headcounts, every role), the registration desk
(a laptop at a school gym's door: one form, keyboard first, the incident and shelter remembered,
a household in one go), finding a person, an evacuee's record (move, check out), a shelter's
printable list (names for officers and admins, counts for everyone else) and its CSV.

Thin: every query and write is in ``incident.operations.evacuees``; the pages that show names
are for officers and admins and write their look to the audit trail."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ..database import utcnow, write_during_read
from ..errors import ConflictError, FieldErrors
from ..extensions import db
from ..labels import EVACUEE_STATUS_LABELS, NEED_LABELS
from ..models import NEEDS, Evacuee, Incident, Resource
from ..operations import evacuees as ops
from ..operations.csvheaders import CODES, LABELS
from ..operations.csvio import MAX_BYTES
from ..security import require_role, sees_personal_data
from ..spreadsheet import csv_response
from ..validation import MAX_SEARCH_LENGTH
from ..web.errors import BadField
from ..web.params import id_arg

bp = Blueprint("reception", __name__, url_prefix="/reception")

DESK_ROWS = 6  # persons on the desk's form: a household of up to six in one submit
DESK_KEY = "reception_desk"  # the desk's incident and shelter, remembered in the session


def _words() -> dict:
    return {"need_words": NEED_LABELS, "evacuee_status_words": EVACUEE_STATUS_LABELS, "needs": NEEDS}


def _shelter_or_404(shelter_id: int) -> Resource:
    shelter = db.get_or_404(Resource, shelter_id)
    if shelter.kind != "shelter":
        abort(404)
    return shelter


# The overview


@bp.route("", endpoint="index")
def reception_index():
    """Headcounts of every open incident per shelter (real incidents, then drills): counts only."""
    incidents = ops.open_incidents()
    summaries = [(incident, ops.summary(incident.id)) for incident in incidents]
    shelters = ops.shelters() if sees_personal_data() else []
    return render_template("incident/reception_index.html", summaries=summaries, shelters=shelters, **_words())


# The registration desk


def _remembered() -> dict:
    value = session.get(DESK_KEY)
    return value if isinstance(value, dict) else {}


def _desk_rows(form) -> list[dict]:
    rows = []
    for i in range(DESK_ROWS):
        rows.append({
            "name": form.get(f"name_{i}", ""), "birth_year": form.get(f"birth_year_{i}", ""),
            "phone": form.get(f"phone_{i}", ""), "notes": form.get(f"notes_{i}", ""),
            "needs": [n for n in form.getlist(f"needs_{i}") if n in NEEDS],
        })
    return rows


def _filled(row: dict) -> bool:
    return any((row[key] or "").strip() for key in ("name", "birth_year", "phone", "notes")) or bool(row["needs"])


# A person's fields on the desk, in the form's order: (the field, its label).
DESK_FIELDS = (("name", _l("Name")), ("birth_year", _l("Year of birth")), ("phone", _l("Phone")), ("needs", _l("Needs")),
               ("notes", _l("Notes")))


def _desk_error_items(errors: dict) -> list[tuple]:
    """The desk's errors in the order of its fields, for its error summary: (the field's label,
    the id of the element to go to, the message)."""
    order = [("members", None, "name_0"), ("incident_id", _("Incident"), "incident_id"),
             ("shelter_id", _("Shelter"), "shelter_id")]
    for i in range(DESK_ROWS):
        person = _("Person %(n)s", n=i + 1)
        order += [(f"{field}_{i}", f"{person} · {label}", f"{field}_{i}" if field != "needs" else f"needs_{i}_{NEEDS[0]}")
                  for field, label in DESK_FIELDS]
    return [(label, target, message) for key, label, target in order for message in errors.get(key, [])]


def render_desk(code: int = 200, **state):
    """The desk's page; ``state``: what was typed, its errors, duplicates found."""
    remembered = _remembered()
    incidents = ops.open_incidents()
    open_ids = {incident.id for incident in incidents}
    context = {
        "incidents": incidents,
        "shelters": ops.shelters(),
        # An incident closed since it was remembered is chosen no more (nor its shelter's links).
        "incident_id": remembered.get("incident_id") if remembered.get("incident_id") in open_ids else None,
        "shelter_id": remembered.get("shelter_id"),
        "household": "",
        "rows": [{"name": "", "birth_year": "", "phone": "", "notes": "", "needs": []} for _i in range(DESK_ROWS)],
        "errors": {},
        "conflict": None,
        "duplicates": [],
        **_words(),
    }
    context.update(state)
    free = None
    if context["shelter_id"]:
        free = dict((s.id, n) for s, n in context["shelters"]).get(context["shelter_id"])
    context["free_places"] = free
    context["error_items"] = _desk_error_items(context["errors"])
    return render_template("incident/reception_desk.html", **context), code


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@bp.route("/desk", methods=["GET", "POST"], endpoint="desk")
@require_role("officer")
def desk():
    """Check people in: the incident and shelter stay chosen from one household to the next; the
    people of one household (up to DESK_ROWS) in one submit, all or nothing; someone present
    already with the same name and birth year is asked about before anyone is checked in."""
    if request.method == "GET":
        return render_desk()
    form = request.form
    incident_id, shelter_id = _int(form.get("incident_id")), _int(form.get("shelter_id"))
    session[DESK_KEY] = {"incident_id": incident_id, "shelter_id": shelter_id}
    household = (form.get("household") or "").strip()
    rows = _desk_rows(form)
    filled = [(i, row) for i, row in enumerate(rows) if _filled(row)]
    state = {"incident_id": incident_id, "shelter_id": shelter_id, "household": household, "rows": rows}
    if not filled:
        return render_desk(422, **state, errors={"members": [_("Type the name of at least one person.")]})
    members = [{key: row[key] for key in ("name", "birth_year", "phone", "notes", "needs")} for _i, row in filled]
    where = {"incident_id": form.get("incident_id"), "shelter_id": form.get("shelter_id")}
    try:
        evacuees, found = ops.check_in_household(where, members, household or None)
    except FieldErrors as exc:
        db.session.rollback()
        errors = {}
        for key, messages in exc.errors.items():
            if key.startswith("members."):  # members.<index among the filled rows>.<field> → the form's row
                _m, index, field = key.split(".", 2)
                key = f"{field}_{filled[int(index)][0]}"
            errors.setdefault(key, []).extend(messages)
        return render_desk(422, **state, errors=errors)
    except ConflictError as exc:
        db.session.rollback()
        return render_desk(409, **state, conflict=exc.message)
    # Confirmed only for the people the warning named: a name changed after it is asked about again.
    found_now = {f"{filled[index][0]}:{e.id}" for index, e in found}
    confirmed = set(filter(None, (form.get("duplicates_shown") or "").split(",")))
    if found and not (form.get("confirm_duplicates") and found_now <= confirmed):
        duplicates = [{"row": filled[index][0], "name": evacuees[index].name, "number": e.id,
                       "shelter": e.shelter.name, "incident": e.incident.number} for index, e in found]
        db.session.rollback()
        return render_desk(200, **state, duplicates=duplicates)
    db.session.commit()
    shelter = db.session.get(Resource, shelter_id)
    flash(ngettext("%(num)s person checked in at %(shelter)s: register no. %(numbers)s.",
                   "%(num)s persons checked in at %(shelter)s: register no. %(numbers)s.", len(evacuees),
                   shelter=shelter.name, numbers=", ".join(str(e.id) for e in evacuees)), "success")
    return redirect(url_for("reception.desk"))


# Finding a person


@bp.route("/search", methods=["GET", "POST"], endpoint="search")
@require_role("officer")
def search():
    """Find a person by name across shelters (accents and case ignored), to answer a relative on
    the phone; every search is written to the audit trail (the ids found, never the name). The
    name is sent in the request's body (POST), never in its address: addresses are written to
    the access logs (Riadó's, the reverse proxy's) and kept in the browser's history."""
    q, drill, result, error, code = "", False, None, None, 200
    if request.method == "POST":
        q = (request.form.get("q") or "").strip()
        drill = request.form.get("drill") == "1"
        if not q:
            error, code = _("Type a name (or a part of one)."), 422
        elif len(q) > MAX_SEARCH_LENGTH:
            error, code = _("At most %(n)s characters.", n=MAX_SEARCH_LENGTH), 422
        else:
            result = ops.search({"q": q, "drill": drill}, limit=100)
            db.session.commit()
    return render_template("incident/reception_search.html", q=q, drill=drill, result=result, error=error,
                           **_words()), code


@bp.route("/evacuees/<int:evacuee_id>", endpoint="evacuee")
@require_role("officer")
def evacuee_page(evacuee_id: int, code: int = 200, error: str | None = None):
    """One person's record (written to the audit trail as read): move, check out."""
    write_during_read(db.session)
    evacuee = ops.read(evacuee_id)
    db.session.commit()
    return _render_evacuee(evacuee, code, error)


def _render_evacuee(evacuee: Evacuee, code: int = 200, error: str | None = None):
    return render_template("incident/reception_evacuee.html", evacuee=evacuee, household=ops.household_of(evacuee),
                           shelters=ops.shelters(), error=error, **_words()), code


def _reloaded(evacuee_id: int) -> Evacuee:
    db.session.rollback()
    return db.get_or_404(Evacuee, evacuee_id)


@bp.route("/evacuees/<int:evacuee_id>/move", methods=["POST"], endpoint="move")
@require_role("officer")
def move(evacuee_id: int):
    """Move the person to another shelter."""
    db.get_or_404(Evacuee, evacuee_id)
    try:
        evacuee = ops.move(evacuee_id, {"shelter_id": request.form.get("shelter_id")})
    except ConflictError as exc:
        return _render_evacuee(_reloaded(evacuee_id), 409, exc.message)
    except FieldErrors as exc:
        return _render_evacuee(_reloaded(evacuee_id), 422, " ".join(m for ms in exc.errors.values() for m in ms))
    db.session.commit()
    flash(_("Register no. %(number)s moved to %(shelter)s.", number=evacuee.id, shelter=evacuee.shelter.name),
          "success")
    return redirect(url_for("reception.evacuee", evacuee_id=evacuee_id))


@bp.route("/evacuees/<int:evacuee_id>/checkout", methods=["POST"], endpoint="checkout")
@require_role("officer")
def checkout(evacuee_id: int):
    """The person leaves the shelter (to a destination, if said)."""
    db.get_or_404(Evacuee, evacuee_id)
    try:
        evacuee = ops.check_out(evacuee_id, {"destination": request.form.get("destination", "")})
    except ConflictError as exc:
        return _render_evacuee(_reloaded(evacuee_id), 409, exc.message)
    except FieldErrors as exc:
        return _render_evacuee(_reloaded(evacuee_id), 422, " ".join(m for ms in exc.errors.values() for m in ms))
    db.session.commit()
    flash(_("Register no. %(number)s has left %(shelter)s.", number=evacuee.id, shelter=evacuee.shelter.name),
          "success")
    return redirect(url_for("reception.evacuee", evacuee_id=evacuee_id))


# A shelter's register: the printed list, the CSV


@bp.route("/incidents/<int:incident_id>/shelters/<int:shelter_id>/print", endpoint="print_list")
def print_list(incident_id: int, shelter_id: int):
    """The list of the people present in a shelter for an incident, for print: names for officers
    and admins (written to the audit trail), the headcounts only for everyone else."""
    incident = db.get_or_404(Incident, incident_id)
    shelter = _shelter_or_404(shelter_id)
    people = None
    if sees_personal_data():
        write_during_read(db.session)
        result = ops.search({"incident_id": incident_id, "shelter_id": shelter_id, "status": "present"}, limit=10_000)
        db.session.commit()
        people = result["items"]
    counts = next((s for s in ops.summary(incident_id)["shelters"] if s["shelter_id"] == shelter_id), None)
    return render_template("incident/reception_print.html", incident=incident, shelter=shelter, people=people,
                           counts=counts or {**ops.empty_counts(), "free_places": ops.free_places(shelter_id),
                                             "capacity": shelter.capacity},
                           now=utcnow(), **_words())


@bp.route("/incidents/<int:incident_id>/shelters/<int:shelter_id>/export.csv", endpoint="export_csv")
@require_role("officer")
def export_csv(incident_id: int, shelter_id: int):
    """The shelter's register for the incident as CSV, the columns named as this page names them
    (``?headers=codes``: by their codes); written to the audit trail."""
    db.get_or_404(Incident, incident_id)
    _shelter_or_404(shelter_id)
    headers = CODES if request.args.get("headers") == CODES else LABELS
    write_during_read(db.session)
    text, ids = ops.export_csv(incident_id, shelter_id, headers)
    ops.audit_search({"incident_id": incident_id, "shelter_id": shelter_id}, ids, len(ids))
    db.session.commit()
    return csv_response(text, f"reception-{incident_id}-{shelter_id}.csv")


@bp.route("/incidents/<int:incident_id>/import", endpoint="import_choose")
@require_role("officer")
def import_choose(incident_id: int):
    """The reception overview's "import a shelter's register" form: on to that shelter's import
    page (no such shelter: 404; not a number: 400 naming the field)."""
    db.get_or_404(Incident, incident_id)
    shelter_id = id_arg("shelter_id")
    if shelter_id is None:
        raise BadField("shelter_id", _("This field is required."))
    shelter = _shelter_or_404(shelter_id)
    return redirect(url_for("reception.import_csv", incident_id=incident_id, shelter_id=shelter.id))


@bp.route("/incidents/<int:incident_id>/shelters/<int:shelter_id>/import", methods=["GET", "POST"],
          endpoint="import_csv")
@require_role("officer")
def import_csv(incident_id: int, shelter_id: int):
    """Read a shelter's register from CSV (a partner organisation's list): all or nothing, every
    bad row reported."""
    incident = db.get_or_404(Incident, incident_id)
    shelter = _shelter_or_404(shelter_id)
    report = None
    error = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = _("Choose a CSV file.")
        else:
            try:
                report = ops.import_csv(upload.read(MAX_BYTES + 1), incident_id, shelter_id,
                                        dry_run=bool(request.form.get("dry_run")))
            except (ConflictError, FieldErrors) as exc:
                db.session.rollback()
                error = exc.message if isinstance(exc, ConflictError) else " ".join(
                    m for ms in exc.errors.values() for m in ms)
            else:
                db.session.commit()
    status = 422 if (error or (report and report["errors"])) else 200
    table = ops.csv_table()
    return render_template("incident/reception_import.html", incident=incident, shelter=shelter, report=report,
                           error=error, columns=table.columns, labels={c: table.label(c) for c in table.columns},
                           **_words()), status
