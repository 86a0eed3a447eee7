"""Pages of the press desk: the notices, the editor (with the public page's preview and the CAP
fields), a notice's page (its steps, the press list, who received it) and the media log form.

Thin: every query and write is in ``operations``; FieldErrors become messages beside the fields,
ConflictError and NotAllowed a message at the top."""

from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from incident.errors import ConflictError, FieldError, FieldErrors
from incident.extensions import db
from incident.geo import area_text, parse_area_text
from incident.labels import SEVERITY_LABELS, label
from incident.models import SEVERITIES, AlertGroup, Incident
from incident.operations.staff import staff_for
from incident.security import require_role, sees_personal_data
from incident.validation import moment, record_id
from incident.web.paging import paged

from ..labels import delivery_status_words
from . import operations as ops
from .models import NOTICE_STATUSES, URGENCIES, Notice

bp = Blueprint("notices", __name__, url_prefix="/notices")
FORM_FIELDS = ("title", "body", "instruction", "severity", "urgency", "area_desc", "expires_at")


def status_words() -> dict:
    return {"draft": _("draft"), "pending": _("awaiting approval"), "published": _("published"),
            "withdrawn": _("withdrawn")}


def urgency_words() -> dict:
    return {"immediate": _("immediate: act now"), "expected": _("expected: act soon (within the hour)"),
            "future": _("future: act in the near future"), "past": _("past: no action needed any more"),
            "unknown": _("unknown")}


@bp.context_processor
def _notice_context():
    return {"notice_status_words": status_words(), "urgency_words": urgency_words(), "notice_statuses": NOTICE_STATUSES,
            "may_write_notices": current_user.is_authenticated and current_user.has_role("press"),
            "may_approve": current_user.is_authenticated and current_user.has_role("officer"),
            "delivery_status_words": delivery_status_words()}


def dashboard_panel() -> dict:
    """The dashboard's notices panel: those awaiting approval, and those public now."""
    counts = ops.count_by_status()
    return {"notice_counts": counts}


# The list


@bp.route("", endpoint="index")
def notice_list():
    """Notices, newest first; one status only with ``?status=``."""
    status = request.args.get("status") if request.args.get("status") in NOTICE_STATUSES else None
    result = paged(ops.notices_query(status))
    return render_template("alerts/notices/list.html", result=result, status=status, counts=ops.count_by_status())


# The editor


def _incidents():
    return db.session.execute(select(Incident).order_by(Incident.created_at.desc(), Incident.id.desc())
                              .limit(200)).scalars().all()


def _published(exclude: int | None = None):
    query = select(Notice).where(Notice.status == "published").order_by(Notice.published_at.desc())
    if exclude:
        query = query.where(Notice.id != exclude)
    return db.session.execute(query).scalars().all()


def _form_raw(errors: dict) -> dict:
    form = request.form
    raw = {key: form.get(key, "") for key in FORM_FIELDS}
    raw["incident_id"] = form.get("incident_id") or None
    raw["supersedes"] = form.get("supersedes") or None
    raw["confirm_far"] = bool(form.get("confirm_far"))  # an area far from the municipality is right
    raw["area"] = None
    if form.get("area_source") == "drawn":
        area, problem = parse_area_text(form.get("area"))
        if problem:
            errors["area"] = [problem]
        raw["area"] = area
    return raw


def _known_id(value) -> int | None:
    """A record id from a form or the query string, or None when it cannot be one (a word, a
    number past what the database keeps)."""
    try:
        return record_id(value, "id") if value not in (None, "") else None
    except FieldError:
        return None


def _values(notice: Notice | None, incident_id=None) -> dict:
    """What the form shows first: the notice's values, or a new one's (on an incident)."""
    if notice is None:
        return {"incident_id": incident_id, "area_source": "incident", "area_text": ""}
    values = {key: getattr(notice, key) or "" for key in ("title", "body", "instruction", "severity", "urgency",
                                                           "area_desc")}
    values.update(incident_id=notice.incident_id, supersedes=notice.supersedes_id, version=notice.version,
                  area_text=area_text(notice.area), area_source="drawn" if notice.area is not None else "incident",
                  expires_at=notice.expires_at.astimezone(ops.zone()).strftime("%Y-%m-%dT%H:%M")
                  if notice.expires_at else "")
    return values


def _preview(values: dict, incident: Incident | None = None):
    """The notice as the public page will show it, from what is in the form now (no severity
    chosen: the incident's, as the notice will have)."""
    expires = None
    if values.get("expires_at"):
        try:
            expires = moment(values["expires_at"], "expires_at", ops.zone())
        except ValueError:
            expires = None
    return SimpleNamespace(id=None, title=values.get("title") or _("(title)"), body=values.get("body") or _("(text)"),
                           instruction=values.get("instruction") or "",
                           severity=values.get("severity") or (incident.severity if incident is not None else "unknown"),
                           status="draft", published_at=None, expires_at=expires,
                           area_desc=values.get("area_desc") or "")


def _editor(notice: Notice | None, values: dict, errors: dict, conflict: str | None = None, status: int = 200,
            confirm: str | None = None):
    incident_id = _known_id(values.get("incident_id"))
    chosen = db.session.get(Incident, incident_id) if incident_id else None
    return render_template(
        "alerts/notices/editor.html", notice=notice, values=values, errors=errors, conflict=conflict,
        incidents=_incidents(), published=_published(notice.id if notice else None), severities=SEVERITIES,
        urgencies=URGENCIES, preview=_preview(values, chosen), chosen=chosen, confirm=confirm,
        preview_severity_words={code: label(SEVERITY_LABELS, code) for code in SEVERITIES},
        reference_area=area_text(chosen.area) if chosen is not None and chosen.area is not None else "",
        max_title=ops.MAX_TITLE, max_body=ops.MAX_BODY, max_instruction=ops.MAX_INSTRUCTION,
    ), status


def _save(notice: Notice | None):
    errors: dict = {}
    raw = _form_raw(errors)
    values = {**raw, "area_text": request.form.get("area", ""), "area_source": request.form.get("area_source", ""),
              "version": request.form.get("version")}
    if errors and request.form.get("action") != "preview":
        # The area is not GeoJSON at all: the other fields are checked too, so that every bad one
        # is marked at once (nothing is written).
        try:
            ops.clean_notice({**raw, "area": None}, current=notice)
        except FieldErrors as exc:
            errors = {**exc.errors, **errors}
    if request.form.get("action") == "preview" or errors:
        return _editor(notice, values, errors, status=422 if errors else 200)
    try:
        if notice is None:
            notice = ops.create_notice(raw)
        else:
            version = request.form.get("version")
            raw["version"] = int(version) if version and version.isdecimal() and len(version) < 12 else None
            notice = ops.update_notice(notice.id, raw)
        db.session.commit()
    except FieldErrors as exc:
        db.session.rollback()
        return _editor(notice, values, exc.errors, status=422, confirm=exc.confirm)
    except ConflictError as exc:
        db.session.rollback()
        return _editor(notice, values, {}, conflict=exc.message, status=409)
    incident = db.session.get(Incident, notice.incident_id) if notice.incident_id else None
    if incident is not None and incident.drill:
        flash(_("The draft is saved. A drill's notice stays a draft: it is never submitted nor published."), "success")
    else:
        flash(_("The draft is saved. Submit it for approval when it is ready."), "success")
    return redirect(url_for("notices.detail", notice_id=notice.id))


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@require_role("press")
def new_notice():
    """Write a notice (on an incident with ``?incident_id=``), or an update of a published one
    (``?update_of=``: its text, area and expiry to start from, and what it replaces)."""
    if request.method == "POST":
        return _save(None)
    update_of = _known_id(request.args.get("update_of"))
    previous = db.session.get(Notice, update_of) if update_of is not None else None
    if previous is not None and previous.status == "published":
        values = _values(previous)
        values.pop("version")
        values["supersedes"] = previous.id
        return _editor(None, values, {})
    incident_id = request.args.get("incident_id")
    return _editor(None, _values(None, _known_id(incident_id)), {})


@bp.route("/<int:notice_id>/edit", methods=["GET", "POST"], endpoint="edit")
@require_role("press")
def edit_notice(notice_id):
    """Change a draft."""
    notice = db.get_or_404(Notice, notice_id)
    if notice.status != "draft":
        flash(_("Only a draft can be changed."), "error")
        return redirect(url_for("notices.detail", notice_id=notice.id))
    if request.method == "POST":
        return _save(notice)
    return _editor(notice, _values(notice), {})


# A notice's page and its steps


def _names(notice: Notice) -> dict:
    people = [SimpleNamespace(author_id=notice.author_id, author=notice.author)]
    if notice.approved_by:
        people.append(SimpleNamespace(author_id=notice.approved_by_id, author=notice.approved_by))
    for who in (notice.submitted_by, notice.rejected_by, notice.withdrawn_by):
        if who:
            people.append(SimpleNamespace(author_id=None, author=who))
    staff = staff_for(personal=sees_personal_data(), entries=people)
    return {"author": staff.name(notice.author_id, notice.author),
            "approved_by": staff.name(notice.approved_by_id, notice.approved_by) if notice.approved_by else None,
            "submitted_by": staff.name(None, notice.submitted_by) if notice.submitted_by else None,
            "rejected_by": staff.name(None, notice.rejected_by) if notice.rejected_by else None,
            "withdrawn_by": staff.name(None, notice.withdrawn_by) if notice.withdrawn_by else None}


@bp.route("/<int:notice_id>", endpoint="detail")
def notice_detail(notice_id):
    """A notice: its preview as the public will read it, its CAP fields, its steps, the press
    list it was sent to and who received it."""
    notice = db.get_or_404(Notice, notice_id)
    incident = db.session.get(Incident, notice.incident_id) if notice.incident_id else None
    # A press officer e-mails the press lists only; an officer may choose any group.
    groups = (db.session.execute(select(AlertGroup).order_by(AlertGroup.name_key, AlertGroup.id)).scalars().all()
              if current_user.has_role("officer") else ops.press_lists())
    return render_template(
        "alerts/notices/detail.html", notice=notice, incident=incident, names=_names(notice),
        area_json=area_text(notice.area) or (area_text(incident.area) if incident is not None and incident.area is not None
                                             else ""),
        supersedes=db.session.get(Notice, notice.supersedes_id) if notice.supersedes_id else None,
        superseded_by=db.session.get(Notice, notice.superseded_by_id) if notice.superseded_by_id else None,
        groups=groups, sends=ops.sends(notice.id), received=ops.received(notice.id),
        # Four eyes: whoever wrote, changed or submitted its text is not offered its approval.
        is_author=current_user.id == notice.author_id or current_user.id in (notice.hands or []),
    )


def _step(fn, *args):
    try:
        fn(*args)
        db.session.commit()
        return True
    except ops.NotAllowed as exc:
        db.session.rollback()
        flash(exc.message, "error")
    except (ConflictError, FieldErrors) as exc:
        db.session.rollback()
        message = exc.message if isinstance(exc, ConflictError) else "; ".join(m for ms in exc.errors.values() for m in ms)
        flash(message, "error")
    return False


@bp.route("/<int:notice_id>/submit", methods=["POST"], endpoint="submit")
@require_role("press")
def submit(notice_id):
    if _step(ops.submit_notice, notice_id):
        flash(_("Submitted: an officer other than the author approves it before it is public."), "success")
    return redirect(url_for("notices.detail", notice_id=notice_id))


@bp.route("/<int:notice_id>/approve", methods=["POST"], endpoint="approve")
@require_role("officer")
def approve(notice_id):
    if _step(ops.approve_notice, notice_id):
        flash(_("Approved: the notice is on the public page and in the feed.") if ops.public_enabled()
              else _("Approved: the notice is published and can be sent to the press lists."), "success")
    return redirect(url_for("notices.detail", notice_id=notice_id))


@bp.route("/<int:notice_id>/reject", methods=["POST"], endpoint="reject")
@require_role("officer")
def reject(notice_id):
    if _step(ops.reject_notice, notice_id, {"reason": request.form.get("reason", "")}):
        flash(_("Sent back to the author as a draft."), "success")
    return redirect(url_for("notices.detail", notice_id=notice_id))


@bp.route("/<int:notice_id>/withdraw", methods=["POST"], endpoint="withdraw")
@require_role("press")
def withdraw(notice_id):
    if _step(ops.withdraw_notice, notice_id):
        flash(_("Withdrawn: the public page no longer lists it, and its CAP is a Cancel.") if ops.public_enabled()
              else _("Withdrawn: the notice is no longer in force."), "success")
    return redirect(url_for("notices.detail", notice_id=notice_id))


@bp.route("/<int:notice_id>/send", methods=["POST"], endpoint="send")
@require_role("press")
def send(notice_id):
    """E-mail the published notice to the chosen groups."""
    from flask import current_app

    groups = [g for g in map(_known_id, request.form.getlist("groups")) if g is not None]
    try:
        alert = ops.send_notice(notice_id, {"groups": groups}, press_lists_only=not current_user.has_role("officer"))
        alert_id, recipients = alert.id, alert.recipients
        db.session.commit()
    except ops.NotAllowed as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return notice_detail(notice_id), 403  # the page again, the message at its top
    except (ConflictError, FieldErrors) as exc:
        db.session.rollback()
        flash(exc.message if isinstance(exc, ConflictError)
              else "; ".join(m for ms in exc.errors.values() for m in ms), "error")
        return redirect(url_for("notices.detail", notice_id=notice_id))
    current_app.extensions["alert_tasks"].start(alert_id, [])
    flash(_("Sent by e-mail to %(n)s recipients.", n=recipients), "success")
    return redirect(url_for("notices.detail", notice_id=notice_id))


# The media log


@bp.route("/media/<int:incident_id>", methods=["GET", "POST"], endpoint="media")
@require_role("press")
def media(incident_id):
    """Record a contact with the press, or coverage, on an incident's log (kind media)."""
    incident = db.get_or_404(Incident, incident_id)
    values, errors = {}, {}
    if request.method == "POST":
        values = {key: request.form.get(key, "") for key in ("outlet", "journalist", "asked", "published", "link")}
        try:
            ops.add_media_entry(incident.id, values)
            db.session.commit()
        except FieldErrors as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            flash(_("The media contact is in the incident's log."), "success")
            return redirect(url_for("incidents.detail", incident_id=incident.id) + "#log")
    return render_template("alerts/notices/media.html", incident=incident, values=values, errors=errors,
                           entries=ops.media_entries(incident.id)), 422 if errors else 200

