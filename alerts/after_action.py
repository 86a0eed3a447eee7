"""The after-action report of an incident or drill: what happened when, how each alert went
(time to first delivery, delivery and acknowledgement rates, median and slowest time to
acknowledge, who never confirmed, who opted out by answering it, who was excluded or merged; for
an alert on more than one channel, the same per channel), and which resources were deployed for
how long.

An alert's own figures count people: a contact reached on two channels is one recipient, reached
when one of their messages arrived, acknowledged once (at their first acknowledgement, whichever
the channel). A channel's figures count that channel's messages. An e-mail counts as reached once
the mail server took it ("sent"): SMTP gives no delivery receipt."""

from __future__ import annotations

import datetime as dt
import io
import statistics
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from incident.database import utcnow
from incident.extensions import db
from incident.models import Assignment, Incident, LogEntry
from incident.operations.plans import Checklist, checklist
from incident.phones import mask_email, mask_phone
from incident.spreadsheet import Writer

from . import operations as ops
from .channels import CHANNELS
from .models import Alert, Delivery


@dataclass
class ChannelFigures:
    """One channel of an alert: its messages, how many reached their recipient, failed, and were
    acknowledged on this channel, and the median time from the alert to those acknowledgements."""

    channel: str
    messages: int
    reached: int
    failed: int
    acknowledged: int
    median_ack_s: float | None

    @property
    def reach_rate(self) -> float | None:
        return self.reached / self.messages if self.messages else None


@dataclass
class AlertFigures:
    alert: Alert
    recipients: int  # people (a contact reached on two channels counts once)
    delivered: int
    failed: int
    acknowledged: int
    first_delivery_s: float | None
    median_ack_s: float | None
    slowest_ack_s: float | None
    never_confirmed: list[str] = field(default_factory=list)  # asked to confirm, neither confirmed nor opted out
    ack_times_s: list[float] = field(default_factory=list)
    opted_out: list[str] = field(default_factory=list)  # answered the alert STOP
    # (who, what they wrote): answered the alert with other text, neither confirmed nor opted out
    other_text: list[tuple[str, str]] = field(default_factory=list)
    excluded: int = 0  # left out for consent or reach (as on the alert page and in the API)
    merged: int = 0  # same phone (or e-mail address) as another recipient: sent once
    messages: int = 0  # on every channel
    by_channel: list[ChannelFigures] = field(default_factory=list)  # in the alert's order of channels

    @property
    def multichannel(self) -> bool:
        return len(self.alert.channel_list) > 1

    @property
    def delivery_rate(self) -> float | None:
        return self.delivered / self.recipients if self.recipients else None

    @property
    def ack_rate(self) -> float | None:
        return self.acknowledged / self.recipients if self.recipients and self.alert.require_ack else None


@dataclass
class Deployment:
    assignment: Assignment
    resource_name: str
    quantity: int
    start: dt.datetime
    end: dt.datetime | None
    seconds: float


@dataclass
class Report:
    incident: Incident
    entries: list[LogEntry]
    alerts: list[AlertFigures]
    deployments: list[Deployment]
    generated_at: dt.datetime
    # The incident's checklist: planned against done, and delays (until the incident closed).
    checklist: Checklist | None = None


def _seconds(later, earlier) -> float | None:
    return None if later is None or earlier is None else max((later - earlier).total_seconds(), 0.0)


def reached(delivery: Delivery) -> bool:
    """The message reached its recipient, as its channel counts it (``Channel.reached``: delivered,
    or for an e-mail, taken by the mail server)."""
    return CHANNELS[delivery.channel].reached(delivery.status)


def _failed(delivery: Delivery) -> bool:
    return delivery.status in ("failed", "undelivered")


def _contact_key(delivery: Delivery) -> int:
    """Who a delivery is for, as ``operations._contact_key``: its contact, or (a contact deleted
    since) the delivery itself."""
    return delivery.contact_id if delivery.contact_id is not None else -delivery.id


def channel_figures(alert: Alert, deliveries: list[Delivery]) -> list[ChannelFigures]:
    """The figures of each of the alert's channels, in its order of channels."""
    out = []
    for channel in alert.channel_list:
        on_channel = [d for d in deliveries if d.channel == channel]
        acks = [_seconds(d.acknowledged_at, alert.created_at) for d in on_channel if d.acknowledged_at]
        out.append(ChannelFigures(
            channel=channel, messages=len(on_channel), reached=sum(map(reached, on_channel)),
            failed=sum(map(_failed, on_channel)), acknowledged=len(acks),
            median_ack_s=statistics.median(acks) if acks else None))
    return out


def alert_figures(alert: Alert, deliveries: list[Delivery] | None = None, merged: int | None = None,
                  other_text: dict[int, list[str]] | None = None) -> AlertFigures:
    """The figures of one alert from its deliveries (the alert's, not reminders', by name) and
    how many of its contacts were merged; both read here when not given (``build_report`` reads
    them for every alert at once), and what was answered with other text (by delivery). Who never
    confirmed, opted out or answered other text is named, or, without a name, shown by a masked
    phone or address: viewers read this report too. One who answered other text has not
    confirmed, but is not "never confirmed" either: they answered.

    The alert's figures count people: the deliveries of one contact (one per channel) are taken
    together. On one channel each delivery is one contact, so these are the deliveries' figures."""
    if deliveries is None:
        deliveries = _deliveries_by_alert([alert.id])[alert.id]
    if merged is None:
        merged = ops.merged_counts_for([alert.id]).get(alert.id, 0)
    if other_text is None:
        other_text = {d.id: texts for d, texts in ops.other_text_replies([alert.id])[alert.id]}
    people: dict[int, list[Delivery]] = {}
    for delivery in deliveries:  # by name: a person's first delivery names them
        people.setdefault(_contact_key(delivery), []).append(delivery)
    # When a message reached its recipient: delivered (its receipt), or an e-mail taken by the server.
    arrived = ([moment for d in deliveries
                if reached(d) and (moment := d.delivered_at if d.status == "delivered" else d.sent_at)]
               or [d.sent_at for d in deliveries if d.sent_at])
    acks = sorted(min(_seconds(d.acknowledged_at, alert.created_at) for d in theirs if d.acknowledged_at)
                  for theirs in people.values() if any(d.acknowledged_at for d in theirs))
    never = [theirs[0] for theirs in people.values()
             if alert.require_ack and not any(d.acknowledged_at or d.opted_out_at or d.id in other_text for d in theirs)]
    return AlertFigures(
        alert=alert,
        recipients=len(people),
        delivered=sum(any(map(reached, theirs)) for theirs in people.values()),
        failed=sum(all(map(_failed, theirs)) for theirs in people.values()),
        acknowledged=len(acks),
        first_delivery_s=_seconds(min(arrived), alert.created_at) if arrived else None,
        median_ack_s=statistics.median(acks) if acks else None,
        slowest_ack_s=acks[-1] if acks else None,
        never_confirmed=[_who(d) for d in never],
        other_text=[(_who(d), " / ".join(other_text[d.id])) for d in deliveries if d.id in other_text],
        ack_times_s=acks,
        opted_out=[_who(d) for d in deliveries if d.opted_out_at],
        excluded=alert.excluded,
        merged=merged,
        messages=len(deliveries),
        by_channel=channel_figures(alert, deliveries),
    )


def _who(delivery: Delivery) -> str:
    if delivery.name:
        return delivery.name
    return mask_phone(delivery.phone) if delivery.phone else mask_email(delivery.email or "")


def _deliveries_by_alert(alert_ids) -> dict[int, list[Delivery]]:
    """Each alert's deliveries (not reminders), by name, in one query."""
    ids = sorted(set(alert_ids))
    out: dict[int, list[Delivery]] = {alert_id: [] for alert_id in ids}
    if ids:
        for delivery in db.session.execute(
            select(Delivery).where(Delivery.alert_id.in_(ids), Delivery.kind == "alert")
            .order_by(Delivery.name_key, Delivery.id)
        ).scalars():
            out[delivery.alert_id].append(delivery)
    return out


def build_report(incident: Incident, now: dt.datetime | None = None) -> Report:
    """Everything the after-action report shows, computed from the record in a fixed number of
    queries, however many alerts and deployments there are."""
    now = now or utcnow()
    entries = db.session.execute(
        select(LogEntry).where(LogEntry.incident_id == incident.id).order_by(LogEntry.seq)
    ).scalars().all()
    alerts = db.session.execute(
        select(Alert).where(Alert.incident_id == incident.id).order_by(Alert.created_at, Alert.id)
    ).scalars().all()
    end_of_incident = incident.closed_at or now
    deployments = []
    for assignment in db.session.execute(
        select(Assignment).where(Assignment.incident_id == incident.id).options(selectinload(Assignment.resource))
        .order_by(Assignment.assigned_at, Assignment.id)
    ).scalars():
        end = assignment.released_at
        deployments.append(Deployment(assignment, assignment.resource.name, assignment.quantity, assignment.assigned_at,
                                      end, _seconds(end or end_of_incident, assignment.assigned_at) or 0.0))
    deliveries = _deliveries_by_alert(a.id for a in alerts)
    merged = ops.merged_counts_for(a.id for a in alerts)
    other = ops.other_text_replies(a.id for a in alerts)
    figures = [alert_figures(a, deliveries[a.id], merged.get(a.id, 0), {d.id: texts for d, texts in other[a.id]})
               for a in alerts]
    return Report(incident, entries, figures, deployments, now, checklist(incident.id, now=end_of_incident))


def ack_chart(figures: AlertFigures, width: int = 480, height: int = 160, pad: int = 28) -> dict | None:
    """A step chart of acknowledgements over time since the alert, as SVG geometry (numbers
    only): ``{"path", "width", "height", "max_minutes", "total", "ticks"}``; None without acks."""
    if not figures.ack_times_s or not figures.recipients:
        return None
    span = max(figures.ack_times_s[-1], 60.0)
    inner_w, inner_h = width - 2 * pad, height - 2 * pad

    def x(seconds):
        return round(pad + inner_w * seconds / span, 1)

    def y(count):
        return round(height - pad - inner_h * count / figures.recipients, 1)

    points = [f"M{x(0)},{y(0)}"]
    for i, seconds in enumerate(figures.ack_times_s, start=1):
        points.append(f"H{x(seconds)}")
        points.append(f"V{y(i)}")
    points.append(f"H{x(span)}")
    minutes = span / 60
    step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 240, 1440) if minutes / s <= 6)
    ticks = [{"x": x(m * 60), "label": m} for m in range(0, int(minutes) + 1, step)]
    return {"path": " ".join(points), "width": width, "height": height, "pad": pad, "total": figures.recipients,
            "acknowledged": figures.acknowledged, "ticks": ticks, "top": y(figures.recipients), "bottom": y(0)}


def report_csv(report: Report, zone) -> str:
    """The report as CSV: one row per alert figure (and, for an alert on more than one channel,
    one ``alert_channel`` row per channel after it), per task of the checklist (``task``: ``time``
    due, ``until`` done or skipped, ``duration_s`` late by, ``kind`` its status, ``text`` its note)
    and per deployment, then the timeline.

    An ``alert`` row counts people (``recipients``, ``delivered``: reached on a channel at least,
    ``failed``: reached on none, ``acknowledged``: each once); an ``alert_channel`` row counts
    that channel's messages (``recipients``: its messages, ``delivered``: reached, an e-mail once
    the mail server took it, ``acknowledged``: on that channel, ``median_ack_s``: of those)."""
    out = io.StringIO()
    writer = Writer(out)  # text from people never starts a formula
    incident = report.incident

    def local(moment):
        return moment.astimezone(zone).isoformat(timespec="seconds") if moment else ""

    def num(value):
        # Decimal: a number cell (with its three decimals), never mistaken for people's text.
        return "" if value is None else (Decimal(f"{value:.3f}") if isinstance(value, float) else value)

    writer.writerow(["section", "incident_number", "drill", "item", "time", "recipients", "delivered", "delivery_rate",
                     "acknowledged", "ack_rate", "first_delivery_s", "median_ack_s", "slowest_ack_s", "never_confirmed",
                     "quantity", "until", "duration_s", "kind", "text", "opted_out", "excluded", "merged",
                     "replied_other_text", "channel", "failed"])
    drill = "yes" if incident.drill else "no"
    for f in report.alerts:
        writer.writerow(["alert", incident.number, drill, f.alert.id, local(f.alert.created_at), f.recipients, f.delivered,
                         num(f.delivery_rate), f.acknowledged, num(f.ack_rate), num(f.first_delivery_s),
                         num(f.median_ack_s), num(f.slowest_ack_s), "; ".join(f.never_confirmed), "", "", "", "", f.alert.body,
                         "; ".join(f.opted_out), f.excluded, f.merged,
                         "; ".join(f"{who}: {text}" for who, text in f.other_text), "+".join(f.alert.channel_list), f.failed])
        if f.multichannel:
            for c in f.by_channel:
                writer.writerow(["alert_channel", incident.number, drill, f.alert.id, local(f.alert.created_at), c.messages,
                                 c.reached, num(c.reach_rate), c.acknowledged if f.alert.require_ack else "", "", "",
                                 num(c.median_ack_s), "", "", "", "", "", "", "", "", "", "", "", c.channel, c.failed])
    for t in report.checklist.tasks if report.checklist else ():
        # A task: its due time, when it was done or skipped, how late (seconds), its status and note.
        writer.writerow(["task", incident.number, drill, t.title, local(t.due_at), "", "", "", "", "", "", "", "", "",
                         "", local(t.done_at), num(report.checklist.delay(t)), t.status, t.note, "", "", "", "", "", ""])
    for d in report.deployments:
        writer.writerow(["resource", incident.number, drill, d.resource_name, local(d.start), "", "", "", "", "", "", "", "",
                         "", d.quantity, local(d.end), num(d.seconds), "", "", "", "", "", "", "", ""])
    for e in report.entries:
        writer.writerow(["log", incident.number, drill, e.seq, local(e.at), "", "", "", "", "", "", "", "", "", "", "",
                         "", e.kind, e.text, "", "", "", "", "", ""])
    return out.getvalue()
