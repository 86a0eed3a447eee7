"""The after-action report of an incident or drill: what happened when, how each alert went
(time to first delivery, delivery and acknowledgement rates, median and slowest time to
acknowledge, who never confirmed, who opted out by answering it, who was excluded or merged), and
which resources were deployed for how long."""

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
from incident.phones import mask_phone
from incident.spreadsheet import Writer

from . import operations as ops
from .models import Alert, Delivery


@dataclass
class AlertFigures:
    alert: Alert
    recipients: int
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
    merged: int = 0  # same phone as another recipient: sent once

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


def _seconds(later, earlier) -> float | None:
    return None if later is None or earlier is None else max((later - earlier).total_seconds(), 0.0)


def alert_figures(alert: Alert, deliveries: list[Delivery] | None = None, merged: int | None = None,
                  other_text: dict[int, list[str]] | None = None) -> AlertFigures:
    """The figures of one alert from its deliveries (the alert's, not reminders', by name) and
    how many of its contacts were merged; both read here when not given (``build_report`` reads
    them for every alert at once), and what was answered with other text (by delivery). Who never
    confirmed, opted out or answered other text is named, or, without a name, shown by a masked
    phone: viewers read this report too. One who answered other text has not confirmed, but is
    not "never confirmed" either: they answered."""
    if deliveries is None:
        deliveries = _deliveries_by_alert([alert.id])[alert.id]
    if merged is None:
        merged = ops.merged_counts_for([alert.id]).get(alert.id, 0)
    if other_text is None:
        other_text = {d.id: texts for d, texts in ops.other_text_replies([alert.id])[alert.id]}
    delivered = [d for d in deliveries if d.status == "delivered"]
    arrived = [d.delivered_at for d in delivered if d.delivered_at] or [d.sent_at for d in deliveries if d.sent_at]
    acks = sorted(_seconds(d.acknowledged_at, alert.created_at) for d in deliveries if d.acknowledged_at)
    return AlertFigures(
        alert=alert,
        recipients=len(deliveries),
        delivered=len(delivered),
        failed=sum(d.status in ("failed", "undelivered") for d in deliveries),
        acknowledged=len(acks),
        first_delivery_s=_seconds(min(arrived), alert.created_at) if arrived else None,
        median_ack_s=statistics.median(acks) if acks else None,
        slowest_ack_s=acks[-1] if acks else None,
        never_confirmed=[_who(d) for d in deliveries
                         if alert.require_ack and not d.acknowledged_at and not d.opted_out_at and d.id not in other_text],
        other_text=[(_who(d), " / ".join(other_text[d.id])) for d in deliveries if d.id in other_text],
        ack_times_s=acks,
        opted_out=[_who(d) for d in deliveries if d.opted_out_at],
        excluded=alert.excluded,
        merged=merged,
    )


def _who(delivery: Delivery) -> str:
    return delivery.name or mask_phone(delivery.phone)


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
    return Report(incident, entries, figures, deployments, now)


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
    """The report as CSV: one row per alert figure and per deployment, then the timeline."""
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
                     "replied_other_text"])
    drill = "yes" if incident.drill else "no"
    for f in report.alerts:
        writer.writerow(["alert", incident.number, drill, f.alert.id, local(f.alert.created_at), f.recipients, f.delivered,
                         num(f.delivery_rate), f.acknowledged, num(f.ack_rate), num(f.first_delivery_s),
                         num(f.median_ack_s), num(f.slowest_ack_s), "; ".join(f.never_confirmed), "", "", "", "", f.alert.body,
                         "; ".join(f.opted_out), f.excluded, f.merged,
                         "; ".join(f"{who}: {text}" for who, text in f.other_text)])
    for d in report.deployments:
        writer.writerow(["resource", incident.number, drill, d.resource_name, local(d.start), "", "", "", "", "", "", "", "",
                         "", d.quantity, local(d.end), num(d.seconds), "", "", "", "", "", ""])
    for e in report.entries:
        writer.writerow(["log", incident.number, drill, e.seq, local(e.at), "", "", "", "", "", "", "", "", "", "", "",
                         "", e.kind, e.text, "", "", "", ""])
    return out.getvalue()
