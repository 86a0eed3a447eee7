"""API: public notices (SPEC §5) and the media log.

Press officers, officers and admins write notices and send published ones to the press list;
only an officer or admin other than the author approves one (or sends it back). Every signed-in
role reads them."""

from __future__ import annotations

from types import SimpleNamespace

from flask import current_app, g
from flask_login import current_user
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, pre_dump, validate

from incident.api.common import Blueprint, Integer, ListArgs, confirm_far_field, geojson_area, page
from incident.api.fields import Geometry, Out, StaffField, listing
from incident.extensions import db
from incident.models import SEVERITIES
from incident.operations.staff import staff_for
from incident.security import require_role, sees_personal_data

from . import operations as ops
from .models import NOTICE_STATUSES, URGENCIES

AREA = geojson_area("GeoJSON Polygon or MultiPolygon: where the notice applies (default: its incident's "
                    "affected area)")


class NoticeIn(Schema):
    title = fields.String(required=True, metadata={"description": f"at most {ops.MAX_TITLE} characters"})
    body = fields.String(required=True, metadata={"description": "what happened, where (at most "
                                                                 f"{ops.MAX_BODY} characters)"})
    instruction = fields.String(allow_none=True, metadata={"description": "what residents should do"})
    incident_id = Integer(allow_none=True)
    severity = fields.String(allow_none=True, metadata={"enum": list(SEVERITIES),
                                                        "description": "default: the incident's"})
    urgency = fields.String(allow_none=True, metadata={"enum": list(URGENCIES)})
    area = fields.Dict(allow_none=True, metadata=AREA)
    area_desc = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    supersedes = Integer(allow_none=True, metadata={"description": "the id of the published notice this one "
                                                                   "replaces (withdrawn when this one is published)"})
    confirm_far = confirm_far_field()


class NoticePatch(NoticeIn):
    """Only the fields given are changed (drafts only)."""

    title = fields.String()
    body = fields.String()
    version = Integer(load_only=True, metadata={"description": "the version you read; 409 if it changed"})


class RejectIn(Schema):
    reason = fields.String(required=True)


class SendIn(Schema):
    groups = fields.List(fields.Raw(), required=True, metadata={"description": "alert group ids (the press list)"})


class NoticeOut(Out):
    id = fields.Integer()
    status = fields.String(metadata={"enum": list(NOTICE_STATUSES)})
    title = fields.String()
    body = fields.String()
    instruction = fields.String()
    incident_id = fields.Integer(allow_none=True)
    severity = fields.String()
    urgency = fields.String()
    area = Geometry(allow_none=True, metadata=AREA)
    area_desc = fields.String()
    expires_at = fields.DateTime(allow_none=True)
    supersedes = fields.Integer(attribute="supersedes_id", allow_none=True)
    superseded_by = fields.Integer(attribute="superseded_by_id", allow_none=True)
    author = StaffField("field", id_attribute="author_id",
                        metadata={"description": "the author's e-mail for officers and admins; for others the "
                                                 "name and position"})
    author_name = StaffField("name", label="author", id_attribute="author_id")
    approved_by = StaffField("field", id_attribute="approved_by_id", allow_none=True)
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    rejected_at = fields.DateTime(allow_none=True)
    reject_reason = fields.String()
    withdrawn_at = fields.DateTime(allow_none=True)
    public_url = fields.Method("_public_url", allow_none=True,
                               metadata={"description": "its public page, once published or withdrawn (null "
                                                        "while the public pages are off: RIADO_PUBLIC=0)"})
    cap_url = fields.Method("_cap_url", allow_none=True, metadata={"description": "its CAP 1.2, as public_url"})
    version = fields.Integer()

    @pre_dump(pass_collection=True)
    def _read_staff(self, data, many, **kwargs):
        records = list(data) if many else [data]
        people = [SimpleNamespace(author_id=n.author_id, author=n.author) for n in records]
        people += [SimpleNamespace(author_id=n.approved_by_id, author=n.approved_by) for n in records if n.approved_by]
        g.riado_staff = staff_for(personal=sees_personal_data(), entries=people)
        return data

    def _public_url(self, notice):
        if notice.status not in ops.PUBLIC_STATUSES or not ops.public_enabled():
            return None
        return ops.public_url(f"/public/notices/{notice.id}")

    def _cap_url(self, notice):
        url = self._public_url(notice)
        return url + ".cap" if url else None


NoticeList = listing(NoticeOut)


class NoticeArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(NOTICE_STATUSES))
    incident_id = Integer()


class SentOut(Out):
    id = fields.Integer(metadata={"description": "the alert's id: GET /api/v1/alerts/<id> for its deliveries"})
    status = fields.String()
    recipients = fields.Integer()
    notice_id = fields.Integer()


class MediaIn(Schema):
    outlet = fields.String(required=True, metadata={"description": "newspaper, portal, radio, TV"})
    journalist = fields.String(allow_none=True)
    asked = fields.String(allow_none=True, metadata={"description": "what was asked"})
    published = fields.String(allow_none=True, metadata={"description": "what was published or said"})
    link = fields.String(allow_none=True, metadata={"description": "http(s) address of the coverage"})


class MediaEntryOut(Out):
    seq = fields.Integer()
    at = fields.DateTime()
    kind = fields.String()
    text = fields.String()
    hash = fields.String()
    prev_hash = fields.String()


blp = Blueprint("api_notices", __name__, url_prefix="/api/v1/notices", description="Public notices")
media_blp = Blueprint("api_media", __name__, url_prefix="/api/v1/incidents",
                      description="The media log (log entries of kind media)")


def _step(fn, *args):
    """Run a step; a step the user may not take (the author approving their own notice, a press
    officer e-mailing a group that is not a press list) is 403 (nothing written)."""
    try:
        return fn(*args)
    except ops.NotAllowed as exc:
        db.session.rollback()
        abort(403, message=exc.message)


@blp.route("")
class Notices(MethodView):
    @blp.arguments(NoticeArgs, location="query")
    @blp.response(200, NoticeList)
    def get(self, args):
        """Notices, newest first (every status; ``status`` for one)."""
        return page(ops.notices_query(args.get("status"), args.get("incident_id")), args)

    @blp.arguments(NoticeIn)
    @blp.response(201, NoticeOut)
    @require_role("press")
    def post(self, data):
        """Write a draft (press officers, officers, admins)."""
        notice = ops.create_notice(data)
        db.session.commit()
        return notice


@blp.route("/<int:notice_id>")
class NoticeById(MethodView):
    @blp.response(200, NoticeOut)
    def get(self, notice_id):
        """A notice."""
        return ops.get_notice(notice_id)

    @blp.arguments(NoticePatch)
    @blp.response(200, NoticeOut)
    @require_role("press")
    def patch(self, data, notice_id):
        """Change a draft (409 once submitted)."""
        notice = ops.update_notice(notice_id, data)
        db.session.commit()
        return notice


@blp.route("/<int:notice_id>/submit", methods=["POST"])
@blp.response(200, NoticeOut)
@require_role("press")
def submit(notice_id):
    """draft → pending (409 for a notice on a drill: a drill is never public)."""
    notice = ops.submit_notice(notice_id)
    db.session.commit()
    return notice


@blp.route("/<int:notice_id>/approve", methods=["POST"])
@blp.response(200, NoticeOut)
@require_role("officer")
def approve(notice_id):
    """pending → published, by an officer or admin who is not the author (403); a notice it
    supersedes is withdrawn; 409 on a drill."""
    notice = _step(ops.approve_notice, notice_id)
    db.session.commit()
    return notice


@blp.route("/<int:notice_id>/reject", methods=["POST"])
@blp.arguments(RejectIn)
@blp.response(200, NoticeOut)
@require_role("officer")
def reject(data, notice_id):
    """pending → draft, with the reason."""
    notice = ops.reject_notice(notice_id, data)
    db.session.commit()
    return notice


@blp.route("/<int:notice_id>/withdraw", methods=["POST"])
@blp.response(200, NoticeOut)
@require_role("press")
def withdraw(notice_id):
    """published → withdrawn (its CAP becomes a Cancel)."""
    notice = ops.withdraw_notice(notice_id)
    db.session.commit()
    return notice


@blp.route("/<int:notice_id>/send", methods=["POST"])
@blp.arguments(SendIn)
@blp.response(202, SentOut)
@blp.alt_response(403, description="A press officer chose a group that is not a press list (the message names it)")
@blp.alt_response(409, description="The notice is not published")
@require_role("press")
def send(data, notice_id):
    """E-mail a published notice to groups (the press list) as an alert on the e-mail channel
    whose deliveries are tracked (409 unless published). A press officer may choose only groups
    marked as press lists (``press_list``): any other is 403, naming it."""
    alert = _step(ops.send_notice, notice_id, data, not current_user.has_role("officer"))
    body = {"id": alert.id, "status": alert.status, "recipients": alert.recipients, "notice_id": notice_id}
    db.session.commit()
    current_app.extensions["alert_tasks"].start(body["id"], [])
    return body


@media_blp.route("/<int:incident_id>/media", methods=["POST"])
@media_blp.arguments(MediaIn)
@media_blp.response(201, MediaEntryOut)
@require_role("press")
def add_media(data, incident_id):
    """Record a contact with the press or coverage (press officers, officers, admins): a log
    entry of kind media."""
    entry = ops.add_media_entry(incident_id, data)
    db.session.commit()
    return entry
