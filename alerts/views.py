"""Pages of the alert wing: the list, compose → confirm → send, the alert page with its live
progress, and the console gateway's outbox (with simulated replies for drills and training).

Thin: every query and write is in ``alerts.operations``; the pages turn its FieldErrors into
messages beside the fields of the compose step. Sending is two steps without any script: the
compose form posts to itself and answers with the confirmation (who gets it, who is excluded and
why, the text as it goes out, the cost); the confirmation carries the choice in hidden fields and
a one-time Idempotency-Key, so a double click or a resubmitted form sends once."""

from __future__ import annotations

import json
import uuid

from babel.numbers import format_currency
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError

from incident.errors import ConflictError, FieldError, FieldErrors
from incident.collation import hungarian_key
from incident.extensions import db
from incident.geo import area_text, parse_area_text
from incident.models import Incident
from incident.operations import contacts as contact_ops
from incident.operations.staff import staff_for
from incident.security import require_role, sees_personal_data
from incident.validation import TRUE_WORDS, fold, whole_number
from incident.web.display import can_write, show_email, show_phone
from incident.web.paging import paged
from incident.web.params import id_arg, yes_no_filter_arg

from . import operations as ops
from . import sms
from .gateways import two_way
from .labels import (
    alert_status_words,
    channel_words,
    delivery_status_words,
    error_words,
    reason_words,
    reply_action_words,
)
from .models import FAILED_STATUSES, Alert, Delivery, OutboxMessage

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
DRAFT_MAX = 2000  # a drafted text in the compose page's address (?body=) is cut at this length



def money(value: float) -> str:
    """A cost in the configured currency, the way the page's language writes it, with as many
    decimals as it needs (1 234 Ft; 0,0032 USD)."""
    return format_currency(value, current_app.config["RIADO_SMS_CURRENCY"], locale=str(get_locale() or "hu"),
                           decimal_quantization=False)


@bp.context_processor
def _alert_context():
    return {
        "hide_ack_links": ops.hide_ack_links,
        "alert_status_words": alert_status_words(),
        "delivery_status_words": delivery_status_words(),
        "reason_words": reason_words(),
        "channel_words": channel_words(),
        "reply_action_words": reply_action_words(),
        "error_words": error_words(),
        "money": money,
        "drill_test_group": current_app.config.get("RIADO_DRILL_TEST_GROUP"),
        "ack_word": ops.ack_word(),  # what an alert asking for acknowledgement asks its recipients to reply
    }


# The list


@bp.route("", endpoint="index")
def alert_list():
    """Alerts, newest first; drills only, or none; 50 a page."""
    drill_filter, drill = yes_no_filter_arg("drill")
    result = paged(ops.alerts_query(drill))
    counts = ops.delivery_counts_for(alert.id for alert in result["items"])
    incidents = {alert.incident_id: db.session.get(Incident, alert.incident_id)
                 for alert in result["items"] if alert.incident_id}
    return render_template("alerts/alert_list.html", result=result, counts=counts, incidents=incidents,
                           filters={"drill": drill_filter})


# Compose → confirm → send


def _checked(name: str) -> bool:
    return (request.form.get(name) or "").strip().casefold() in TRUE_WORDS


def _number(value: str | None, field: str):
    """A number as the operations read it; a text that is none is passed on for them to refuse
    (naming the field)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return whole_number(value, field)
    except FieldError:
        return value


def _ids(name: str) -> list:
    """Ids from checkboxes (numbers first); anything else is passed on for the operations to refuse."""
    values = {_number(v, name) for v in request.form.getlist(name) if v.strip()}
    return sorted(v for v in values if isinstance(v, int)) + sorted(v for v in values if not isinstance(v, int))


def form_raw() -> dict:
    """The compose form (or the confirmation's hidden copy of it) as the operations take it."""
    require_ack = _checked("require_ack")
    body = (request.form.get("body") or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    raw = {
        "body": body,
        "groups": _ids("groups"),
        "contacts": _ids("contacts"),
        "incident_id": _number(request.form.get("incident_id"), "incident_id"),
        "drill": _checked("drill"),
        "require_ack": require_ack,
        "transliterate": _checked("transliterate"),
        # The channel boxes: none ticked is an error to show, not SMS by default.
        "channels": request.form.getlist("channels") if request.form.get("channels_shown") else None,
        "subject": (request.form.get("subject") or "").strip(),
        # The waves belong to the acknowledgement: without it, a typed number means nothing.
        "escalation": _waves() if require_ack else [],
    }
    raw.update(_area_choice(raw["incident_id"]))
    return raw


def _reach_words() -> dict:
    """What the compose page says of an area's reach as it is drawn or picked (alert-compose.js)."""
    return {
        "counting": _("Counting who is inside the area…"),
        "none": _("Nobody with a location on their contact record is inside this area."),
        "some": _("Inside this area: %(n)s contacts with a location. Of them SMS reaches %(sms)s, "
                  "e-mail %(email)s, a voice call %(voice)s.", n="{n}", sms="{sms}", email="{email}", voice="{voice}"),
        "invalid": _("This area is not valid yet: the next step says why."),
        "error": _("Who is inside cannot be counted just now; the next step shows it."),
    }


# The area: none, the chosen incident's affected area, or one drawn on the map (or pasted as
# GeoJSON text into the box the map writes into).
AREA_SOURCES = ("none", "incident", "drawn")


def _area_choice(incident_id) -> dict:
    """The area part of the form: ``area`` as the operations take it (a GeoJSON dict or None),
    ``area_source``, ``area_text`` (the drawn area's text, kept for the page and the
    confirmation's hidden field) and ``area_problem``: what is wrong with the choice before the
    operations check the geometry itself (text that is not JSON, nothing drawn, an incident
    without an area), shown beside the field.

    The confirmation carries the incident's area as it showed it (``incident_area``), so the send
    step sends to the area the officer saw even if the incident's area changes in between."""
    source = (request.form.get("area_source") or "none").strip()
    text = (request.form.get("area") or "").replace("\r\n", "\n").strip()
    out = {"area": None, "area_source": source, "area_text": "", "area_problem": None}
    if source not in AREA_SOURCES:
        out["area_source"] = "none"
        out["area_problem"] = _("Choose no area, the incident's affected area, or an area drawn on the map.")
    elif source == "drawn":
        out["area_text"] = text
        if not text:
            out["area_problem"] = _("Draw the area on the map (or paste it as GeoJSON text), or choose “No area”.")
            return out
        value, problem = parse_area_text(text)
        if problem:
            out["area_problem"] = problem
        elif value is None:
            out["area_problem"] = _("Nothing is drawn: draw the area on the map, or choose “No area”.")
        else:
            out["area"] = value
    elif source == "incident":
        confirmed = (request.form.get("incident_area") or "").strip()
        incident = None if confirmed else _selected_incident({"incident_id": incident_id})
        if confirmed:
            out["area"], out["area_problem"] = parse_area_text(confirmed)
        elif incident is None:
            out["area_problem"] = _("Choose the incident whose affected area the alert goes to.")
        elif incident.area is None:
            out["area_problem"] = _("The chosen incident has no affected area recorded: draw the area on the map, "
                                    "or choose “No area”.")
        else:
            out["area"] = json.loads(area_text(incident.area))
    elif source == "none" and text:
        # Text in the box with "No area" chosen is not silently dropped (the page's script keeps
        # the box out of the form unless a drawn area is chosen: only a form without scripts gets here).
        out["area_problem"] = _("An area is drawn but “No area” is chosen: choose “An area drawn on the map”, "
                                "or delete the drawing.")
    return out


# How many escalation waves the compose page offers (the API takes up to ``ops.MAX_WAVES``).
PAGE_WAVES = 3
AREA_SOURCES = ("none", "incident", "drawn")  # the compose page's area choices (their radios' ids: area-<source>)


def _waves() -> list[dict]:
    """The wave rows filled in (minutes and a channel each; a row without minutes is no wave),
    in the order written; the older single reminder field is one SMS wave."""
    minutes = request.form.getlist("escalation_minutes")
    channels = request.form.getlist("escalation_channel")
    waves = [{"after_minutes": _number(m, "escalation"), "channel": (channels[i] if i < len(channels) else "sms").strip()}
             for i, m in enumerate(minutes) if m.strip()]
    legacy = (request.form.get("escalate_after_minutes") or "").strip()
    if legacy and not waves:
        waves = [{"after_minutes": _number(legacy, "escalation"), "channel": "sms"}]
    return waves


def sender_notice() -> str | None:
    """Why acknowledgements cannot come back, if they cannot (None when replies reach us)."""
    config = current_app.config
    if two_way(config):
        return None
    if ops.current_gateway_name() == "console" and not config.get("TWILIO_FROM"):
        return None  # nothing is sent; replies are simulated on the outbox page
    return _("Replies cannot reach this sender: %(sender)s is an alphanumeric sender ID. Acknowledgements need "
             "a two-way sender: a phone number (TWILIO_FROM=+36…) or a Messaging Service.",
             sender=config.get("TWILIO_FROM") or "—")


def _selected_incident(raw: dict) -> Incident | None:
    incident_id = raw.get("incident_id")
    return db.session.get(Incident, incident_id) if isinstance(incident_id, int) else None


def _error_items(raw: dict, errors: dict, other: list[str], groups, contacts) -> list[tuple]:
    """The compose page's errors in the order of its fields, for its error summary: (the field's
    label, the id of the element a keyboard user goes to, the message)."""
    first_channel = next(f"channel-{code}" for code in channel_words() if code in ops.AVAILABLE_CHANNELS)
    first_group = f"group-{groups[0].id}" if groups else None
    first_contact = f"contact-{contacts[0].id}" if contacts else None
    order = [("body", _("Message text"), "body"), ("transliterate", None, "transliterate"), ("drill", None, "drill"),
             ("channels", _("Channels"), first_channel), ("subject", _("E-mail subject (optional)"), "subject"),
             ("require_ack", _("Acknowledgement"), "require_ack"),
             ("escalation", _("Acknowledgement"), "escalation-0-minutes"),
             ("escalate_after_minutes", _("Acknowledgement"), "escalation-0-minutes")]
    for i in range(PAGE_WAVES):
        wave = _("Wave %(n)s after (minutes)", n=i + 1)
        order += [(f"escalation[{i}]", wave, f"escalation-{i}-minutes"),
                  (f"escalation[{i}].after_minutes", wave, f"escalation-{i}-minutes"),
                  (f"escalation[{i}].channel", wave, f"escalation-{i}-channel")]
    order += [("incident_id", _("Incident (optional)"), "incident_id"),
              ("recipients", _("Recipients"), first_group or first_contact),
              ("groups", _("Alert groups"), first_group), ("contacts", _("Individual contacts"), first_contact),
              ("area", _("Area"), "area-" + (raw.get("area_source") if raw.get("area_source") in AREA_SOURCES else "none"))]
    items = [(label, target, message) for key, label, target in order for message in errors.get(key, [])]
    return items + [(None, None, message) for message in other]


def render_compose(raw: dict, errors: dict | None = None, code: int = 200, conflict: str | None = None):
    errors = errors or {}
    incidents = ops.open_incidents()
    chosen = _selected_incident(raw)
    if chosen is not None and chosen not in incidents:
        incidents.append(chosen)  # a closed incident asked for by its id stays selectable
    drill = bool(raw.get("drill") or (chosen is not None and chosen.drill))
    groups = db.session.execute(contact_ops.groups_query()).scalars().all()
    contacts = db.session.execute(contact_ops.contacts_query()).scalars().all()
    ack = bool(raw.get("require_ack"))
    plain = ops.compose(raw.get("body") or "", False, drill, ack)
    folded = ops.compose(raw.get("body") or "", True, drill, ack)
    known = {"body", "groups", "contacts", "incident_id", "drill", "require_ack", "transliterate",
             "escalate_after_minutes", "recipients", "channels", "subject", "escalation", "area"}
    shown_waves = {f"escalation[{i}]{part}" for i in range(PAGE_WAVES) for part in ("", ".after_minutes", ".channel")}
    other = [m for field, messages in errors.items() if field not in known | shown_waves for m in messages]
    waves = list(raw.get("escalation") or [])[:PAGE_WAVES]
    wave_rows = waves + [{"after_minutes": None, "channel": "sms"}] * (PAGE_WAVES - len(waves))
    with_area = ops.incidents_with_area(incident.id for incident in incidents)
    return render_template(
        "alerts/compose.html", raw=raw, errors=errors, conflict=conflict,
        error_items=_error_items(raw, errors, other, groups, contacts),
        incidents=incidents, chosen=chosen, drill=drill, groups=groups, member_counts=contact_ops.group_member_counts(),
        contacts=contacts, search_text=lambda c: fold(" ".join(filter(None, (c.name, c.organization, c.role)))),
        plain=plain, folded=folded, shown=folded if raw.get("transliterate") else plain,
        max_characters=sms.MAX_CHARACTERS, sender_notice=sender_notice(), gateway=ops.current_gateway_name(),
        drill_prefix=ops.drill_prefix().strip(), reply_hint=ops.reply_hint(),
        channel_words=channel_words(), available_channels=ops.AVAILABLE_CHANNELS, wave_rows=wave_rows,
        with_area=with_area, area_source=raw.get("area_source") or "none", reach_words=_reach_words(),
        # The chosen incident's area, drawn on the map for reference.
        reference_area=area_text(chosen.area) if chosen is not None and chosen.id in with_area else "",
    ), code


def _people(preview) -> list[tuple]:
    """Who the alert reaches, each contact once with the address it reaches them at on each
    channel ((contact, {channel: phone or e-mail address})), in the Hungarian order."""
    people: dict[int, tuple] = {}
    for channel, reach in preview.by_channel.items():
        for contact, address in reach.send:
            people.setdefault(contact.id, (contact, {}))[1][channel] = address
    return sorted(people.values(), key=lambda row: (hungarian_key(row[0].name), row[0].id))


def page_errors(raw: dict, errors: dict) -> dict:
    """The operations' errors and the area choice's own problem (``_area_choice``), beside the
    fields of the compose page."""
    errors = {field: list(messages) for field, messages in errors.items()}
    if raw.get("area_problem"):
        errors.setdefault("area", []).insert(0, raw["area_problem"])
        # An area was chosen: what is wrong is the area, not a missing choice of recipients.
        if not (raw["groups"] or raw["contacts"]):
            errors.pop("recipients", None)
    return errors


def _preview(raw: dict):
    """(the operations' preview of the form, None), or (None, the errors to show beside its fields)."""
    try:
        preview = ops.preview_alert(raw)
    except FieldErrors as exc:
        db.session.rollback()
        return None, page_errors(raw, exc.errors)
    if raw.get("area_problem"):
        return None, page_errors(raw, {})
    return preview, None


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@require_role("officer")
def compose():
    """Step 1: write the alert and choose who gets it (``?incident_id=`` preselects an incident,
    ``?body=`` fills in a drafted text, such as the hazard watch's). Posted, it answers with step
    2, the confirmation, or with the errors beside the fields."""
    if request.method == "GET":
        draft = (request.args.get("body") or "").replace("\r\n", "\n").replace("\r", "\n").strip()[:DRAFT_MAX]
        raw = {"body": draft, "groups": [], "contacts": [], "incident_id": id_arg("incident_id"),
               "drill": False, "require_ack": False, "transliterate": False, "escalation": [],
               "area": None, "area_source": "none", "area_text": "", "area_problem": None}
        if _selected_incident(raw) is None:
            raw["incident_id"] = None
        return render_compose(raw)
    raw = form_raw()
    if request.form.get("edit"):  # "Back to editing" on the confirmation
        return render_compose(raw)
    preview, errors = _preview(raw)
    if errors:
        return render_compose(raw, errors, 422)
    # Who gets it on any channel: on more than one, a contact one channel cannot reach (a
    # landline for SMS) is still reached by another (a call), and is not "left out".
    data, recipients = preview.data, preview.reached
    area_reach = ops.area_reach(data["area"], preview.by_channel)
    if not preview.messages and area_reach is not None and not area_reach.contacts and not (raw["groups"] or raw["contacts"]):
        return render_compose(raw, {"area": [_("No contact with a location is inside this area, so nobody would "
                                               "receive this alert.")]}, 422)
    if not preview.messages:
        errors = {"recipients": [_("Nobody would receive this alert: every contact chosen is excluded.")]}
        if preview.excluded_counts:
            reasons = reason_words()
            errors["recipients"].append(", ".join(f"{reasons[r]}: {n}" for r, n in preview.excluded_counts.items()))
        return render_compose(raw, errors, 422)
    return render_template(
        "alerts/confirm.html", raw=raw, data=data, incident=data["incident"], recipients=recipients, text=preview.text,
        people=_people(preview), messages=preview.messages,
        excluded_counts={reason: n for reason, n in recipients.counts().items() if n and reason not in ops.MERGED_REASONS},
        excluded_rows=[(contact.name, contact.phone, reason) for contact, reason in recipients.left_out],
        merged_rows=[(contact.name, contact.phone, reason) for contact, reason in recipients.merged],
        cost=preview.cost, price=current_app.config["RIADO_SMS_PRICE"], costs=preview.costs,
        wave_costs=preview.wave_costs, wave_cost=preview.wave_cost, excluded_on_channels=preview.excluded_count,
        voice_price=current_app.config["RIADO_VOICE_PRICE_PER_MINUTE"], call_minutes=ops.CALL_MINUTES,
        idempotency_key=str(uuid.uuid4()), sender_notice=sender_notice() if data["require_ack"] else None,
        gateway=preview.gateway, by_channel=preview.by_channel, channel_words=channel_words(),
        channel_reach=[(code, len(reach.send), _left_out_by_reason(reach)) for code, reach in preview.by_channel.items()],
        subject=preview.subject, area_reach=area_reach,
        area_json=json.dumps(raw["area"]) if area_reach is not None else "",
    )


REACH_NAMES = 10  # on the confirmation, the names of who a channel cannot reach, up to this many per reason


def _left_out_by_reason(reach: ops.Recipients) -> dict[str, tuple[int, list[str], int]]:
    """Who a channel cannot reach (or reaches through another recipient), by the reason's words:
    how many, the first names (in the Hungarian order), and how many more there are."""
    names: dict[str, list[str]] = {}
    for contact, reason in reach.excluded:
        names.setdefault(reason, []).append(contact.name)
    words = reason_words()
    return {words[reason]: (len(names[reason]), names[reason][:REACH_NAMES], max(len(names[reason]) - REACH_NAMES, 0))
            for reason in ops.REASONS if reason in names}


@bp.route("/send", methods=["POST"], endpoint="send")
@require_role("officer")
def send():
    """Step 3: the confirmed alert is stored with one delivery per recipient and handed to the
    queue; the same Idempotency-Key again (a double click, a resubmitted form) sends nothing."""
    raw = form_raw()
    key = (request.form.get("idempotency_key") or "").strip()
    if not key or len(key) > 200:
        abort(400)
    if raw.get("area_problem"):
        return render_compose(raw, _preview(raw)[1], 422)
    try:
        alert, created = ops.create_alert(raw, key)
        # Read before the commit: once committed, nothing may fail this answer (see the API).
        alert_id, waves = alert.id, ops.wave_minutes(alert)
        db.session.commit()
    except FieldErrors as exc:
        db.session.rollback()
        return render_compose(raw, page_errors(raw, exc.errors), 422)
    except ConflictError as exc:
        db.session.rollback()
        return render_compose(raw, {}, 409, conflict=exc.message)
    except IntegrityError:
        # The same key committed by a concurrent request a moment ago: that alert, nothing more.
        db.session.rollback()
        alert, created = ops.find_by_idempotency_key(key), False
        if alert is None:
            raise
        alert_id = alert.id
    if created:
        # No flash saying it is being sent: the alert page says so while it is (``Alert.in_flight``).
        current_app.extensions["alert_tasks"].start(alert_id, waves)
    else:
        flash(_("This alert had already been sent (the form was sent twice); nothing was sent again."), "success")
    return redirect(url_for("alerts.detail", alert_id=alert_id))


# The alert page


@bp.route("/<int:alert_id>/escalation/stop", methods=["POST"], endpoint="stop_escalation")
@require_role("officer")
def stop_escalation(alert_id: int):
    """Stop the alert's escalation waves that have not gone out (a false alarm, a situation over)."""
    stopped = ops.stop_escalation(alert_id)
    db.session.commit()
    flash(ngettext("Escalation stopped: %(num)s wave will not go out.", "Escalation stopped: %(num)s waves will not go "
                   "out.", stopped) if stopped else _("No wave was left to stop."), "success" if stopped else "error")
    return redirect(url_for("alerts.detail", alert_id=alert_id))


@bp.route("/<int:alert_id>", endpoint="detail")
def alert_detail(alert_id: int):
    """One alert: its text, its progress (kept live by alert-progress.js), each delivery, who is
    still silent, who was excluded and why."""
    alert = db.get_or_404(Alert, alert_id)
    counts = ops.alert_counts(alert)
    deliveries = db.session.execute(ops.deliveries_query(alert.id)).scalars().all()
    index = {delivery.id: i for i, delivery in enumerate(deliveries)}
    waves = alert.waves if alert.require_ack else []
    reminders = (db.session.execute(ops.deliveries_query(alert.id, "reminder")).scalars().all()
                 if any(wave["sent_at"] for wave in waves) else [])
    silent = ops.silent_deliveries(alert.id) if alert.require_ack else []
    other_text = ([(index.get(d.id), d, texts) for d, texts in ops.other_text_replies([alert.id])[alert.id]]
                  if alert.require_ack else [])
    incident = db.session.get(Incident, alert.incident_id) if alert.incident_id else None
    # A closed incident's alerts call nobody any more (``escalate_due``): no wave is next.
    next_wave = (None if incident is not None and incident.status == "closed" else
                 next((wave for wave in waves if not wave["sent_at"] and not wave["stopped_at"]), None))
    last_wave = next((wave for wave in reversed(waves) if wave["sent_at"]), None)
    left_out, merged = ops.split_exclusions(ops.exclusions(alert.id))
    return render_template(
        "alerts/alert_detail.html", alert=alert, counts=counts, deliveries=deliveries, reminders=reminders,
        silent=[(index.get(d.id), d) for d in silent], other_text=other_text, waves=waves, next_wave=next_wave,
        last_wave=last_wave, incident=incident,
        exclusion_rows=[(e.name, e.phone, e.reason) for e in left_out], excluded_counts=_reason_counts(left_out),
        merged_rows=[(e.name, e.phone, e.reason) for e in merged], merged_counts=_reason_counts(merged),
        replies=db.session.execute(ops.replies(alert.id)).scalars().all(), opted_out=ops.opted_out_deliveries(alert.id),
        # Confirmations that are not SMS replies: the e-mail's link, a key press on a call.
        confirmations=sorted((d for d in deliveries if d.acknowledged_at is not None and d.channel != "sms"),
                             key=lambda d: (d.acknowledged_at, d.id)),
        awaiting=_awaiting(alert, deliveries) and not (incident is not None and incident.status == "closed"),
        in_flight=alert.in_flight, reconciled=ops.reconciliations(alert.id),
        staff=staff_for(alerts=[alert], personal=sees_personal_data()),
        js_words={"status": _plain(delivery_status_words()), "alert": _plain(alert_status_words()),
                  "errors": _plain(error_words()), "reply": _plain(reply_action_words()),
                  "simulated": _("simulated")},
    )


def _plain(words: dict) -> dict:
    """Lazy words as plain strings, for JSON."""
    return {str(key): str(value) for key, value in words.items()}


def _reason_counts(exclusions) -> dict:
    out: dict[str, int] = {}
    for exclusion in exclusions:
        out[exclusion.reason] = out.get(exclusion.reason, 0) + 1
    return out


def _awaiting(alert: Alert, deliveries) -> bool:
    """Whether an acknowledgement may still come (the page keeps polling for it): from a contact
    who has not acknowledged on any channel, on a delivery that did not fail nor was opted out of."""
    deliveries = list(deliveries)
    acknowledged = {d.contact_id for d in deliveries if d.acknowledged_at is not None and d.contact_id is not None}
    return alert.require_ack and any(
        d.acknowledged_at is None and d.contact_id not in acknowledged and d.opted_out_at is None
        and d.status not in FAILED_STATUSES for d in deliveries
    )


# The console gateway's outbox


@bp.route("/outbox", endpoint="outbox")
def outbox():
    """What the console gateway "sent" (recorded, never sent), newest first, 50 a page: to whom
    (the contact's name, the phone as the viewer may see it), for which alert, and the replies
    simulated to each message so far."""
    result = paged(ops.outbox_query())
    console = ops.current_gateway_name() == "console"
    return render_template("alerts/outbox.html", result=result, rows=ops.outbox_rows(result["items"]), console=console,
                           simulate=console and can_write(), reply_words=reply_action_words())


def _page_to_return_to() -> int | None:
    """The outbox page the reply was sent from (none, the first, if it is not a page number)."""
    page = _number(request.form.get("page"), "page")
    return page if isinstance(page, int) and page > 1 else None


@bp.route("/outbox/<int:message_id>/reply", methods=["POST"], endpoint="simulate_reply")
@require_role("officer")
def simulate_reply(message_id: int):
    """A SIMULATED reply from the recipient of an outbox message, handled exactly like an SMS
    arriving from that phone (OK acknowledges, STOP opts out…): for drills and training."""
    message = db.get_or_404(OutboxMessage, message_id)
    back = url_for("alerts.outbox", page=_page_to_return_to())
    if ops.current_gateway_name() != "console":
        flash(_("Replies can be simulated only with the console gateway; with Twilio real replies arrive."), "error")
        return redirect(back)
    if message.channel == "voice":
        flash(_("A voice call is confirmed by pressing 1 during the call: use “Simulate pressing 1”."), "error")
        return redirect(back)
    if message.channel != "sms":
        flash(_("An e-mail is confirmed through the link in its text."), "error")
        return redirect(back)
    text = (request.form.get("text") or "").strip()[:160]
    if not text:
        flash(_("Type the reply to simulate (for example OK)."), "error")
        return redirect(back)
    outcome = ops.handle_reply(message.to, text, simulated_from=message)
    db.session.commit()
    # Who answered: the contact's name, the phone as the viewer may see it.
    delivery = db.session.get(Delivery, message.delivery_id) if message.delivery_id else None
    who = f"{delivery.name} ({show_phone(message.to)})" if delivery is not None and delivery.name else show_phone(message.to)
    messages = {
        "ack": _("Simulated reply “%(text)s” from %(who)s: acknowledgement of alert #%(id)s recorded.",
                 text=text, who=who, id=outcome.alert_id),
        "stop": _("Simulated reply “%(text)s” from %(who)s: the contact is opted out of SMS alerts.", text=text, who=who),
        "start": _("Simulated reply “%(text)s” from %(who)s: the contact receives SMS alerts again.", text=text, who=who),
        "nothing_to_ack": _("Simulated reply “%(text)s” from %(who)s: no alert waits for an acknowledgement from "
                            "this phone.", text=text, who=who),
        "unknown": _("Simulated reply “%(text)s” from %(who)s: other text, not an acknowledgement (OK, 1, IGEN or "
                     "YES acknowledges; STOP opts out; START opts in).", text=text, who=who),
    }
    answered = outcome.action in ("ack", "start", "stop") or (outcome.action == "unknown" and outcome.alert_id)
    flash(messages.get(outcome.action, messages["unknown"]), "success" if answered else "error")
    return redirect(back)


@bp.route("/outbox/<int:message_id>/press", methods=["POST"], endpoint="simulate_key")
@require_role("officer")
def simulate_key(message_id: int):
    """A SIMULATED key press 1 on a call the console recorded, handled like the listener's: the
    contact acknowledges the alert (once, whatever the channel), for drills and training."""
    message = db.get_or_404(OutboxMessage, message_id)
    back = url_for("alerts.outbox", page=_page_to_return_to())
    if ops.current_gateway_name() != "console":
        flash(_("Replies can be simulated only with the console gateway; with Twilio real replies arrive."), "error")
        return redirect(back)
    delivery = ops.delivery_for_call(message.delivery_id, None) if message.channel == "voice" and message.delivery_id else None
    if delivery is None:
        db.session.rollback()
        flash(_("Only a voice call of an alert can be confirmed by pressing 1."), "error")
        return redirect(back)
    who = f"{delivery.name} ({show_phone(message.to)})" if delivery.name else show_phone(message.to)
    alert_id = delivery.alert_id
    acknowledged = ops.acknowledge_by_call(delivery, None, simulated_from=message)
    db.session.commit()
    if acknowledged:
        flash(_("Simulated key press 1 from %(who)s: acknowledgement of alert #%(id)s recorded.", who=who, id=alert_id),
              "success")
    else:
        flash(_("Simulated key press 1 from %(who)s: the contact had already acknowledged alert #%(id)s.", who=who,
                id=alert_id), "error")
    return redirect(back)


@bp.route("/outbox/<int:message_id>/confirm", methods=["POST"], endpoint="simulate_link")
@require_role("officer")
def simulate_link(message_id: int):
    """A SIMULATED confirmation of an e-mail the console recorded, as if its recipient had pressed
    the button behind the e-mail's link (drills and training); marked SIMULATED in the log."""
    message = db.get_or_404(OutboxMessage, message_id)
    back = url_for("alerts.outbox", page=_page_to_return_to())
    if ops.mailer_name_now() != "console":
        flash(_("Confirmations can be simulated only with the console mailer; with SMTP real ones arrive."), "error")
        return redirect(back)
    delivery = db.session.get(Delivery, message.delivery_id) if message.channel == "email" and message.delivery_id else None
    if delivery is not None and delivery.kind == "reminder":
        delivery = db.session.get(Delivery, ops.reminded_delivery(delivery.id))
    if delivery is None or delivery.kind != "alert" or not db.session.get(Alert, delivery.alert_id).require_ack:
        db.session.rollback()
        flash(_("Only an e-mail of an alert that asks for acknowledgement can be confirmed."), "error")
        return redirect(back)
    who, alert_id = delivery.name or show_email(delivery.email), delivery.alert_id
    acknowledged = ops.acknowledge_by_link(delivery, simulated_from=message)
    db.session.commit()
    if acknowledged:
        flash(_("Simulated confirmation by %(who)s: acknowledgement of alert #%(id)s recorded.", who=who, id=alert_id),
              "success")
    else:
        flash(_("Simulated confirmation by %(who)s: the contact had already acknowledged alert #%(id)s.", who=who,
                id=alert_id), "error")
    return redirect(back)


# The dashboard panel


def dashboard_panel() -> dict:
    """For the dashboard: the alerts in flight (``Alert.in_flight``, as the wall map counts them)
    with their progress; apart, those of the last day done sending that still wait for
    acknowledgements; drills apart from real alerts; and a warning naming the members of alert
    groups who opted out of SMS alerts lately."""

    def rows(query):
        alerts = db.session.execute(query.limit(10)).scalars().all()
        counts = ops.alert_counts_for(alerts)
        return [(alert, counts[alert.id]) for alert in alerts]

    opt_outs, opt_out_total = ops.recent_group_opt_outs()
    return {
        "alerts": rows(ops.alerts_in_flight_query(drill=False)),
        "drill_alerts": rows(ops.alerts_in_flight_query(drill=True)),
        "awaiting": rows(ops.alerts_awaiting_ack_query(drill=False)),
        "drill_awaiting": rows(ops.alerts_awaiting_ack_query(drill=True)),
        "opt_outs": opt_outs, "opt_out_total": opt_out_total, "opt_out_days": ops.OPT_OUT_WARNING.days,
    }
