"""Queue tasks of the alert wing (Huey): drain an alert's deliveries, sweep for work left behind,
escalate. Registered on the application's Huey instance with fixed names, so that the web
process that enqueues and the workers that run them agree whatever machine they are on."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from huey import crontab

from incident.audit import set_actor
from incident.database import utcnow

from . import operations as ops
from .gateways import GatewayError, make_gateway

log = logging.getLogger(__name__)


def callback_url(app, delivery_id: int) -> str:
    """Where Twilio reports this delivery's status (the delivery id rides in the URL, so a
    callback that arrives before the worker has stored the message id still finds it)."""
    return f"{app.config['PUBLIC_URL']}/webhooks/twilio/status?d={delivery_id}"


def drain(app, alert_id: int | None, gateway) -> int:
    """Send due deliveries until none is left; return how many were attempted."""
    attempted = 0
    while True:
        claimed = ops.claim_next(alert_id)
        if claimed is None:
            return attempted
        attempted += 1
        try:
            sent = gateway.send(claimed.phone, claimed.body, callback_url(app, claimed.id), delivery_id=claimed.id)
        except GatewayError as exc:
            ops.record_failure(claimed.id, claimed.attempts, exc.code, str(exc), exc.retryable)
            log.info("delivery %s: %s (code %s, retryable %s)", claimed.id, exc.status, exc.code, exc.retryable)
            continue
        except Exception as exc:  # a bug or an unexpected library error: retry, never lose it
            log.exception("delivery %s: unexpected error", claimed.id)
            ops.record_failure(claimed.id, claimed.attempts, None, f"{type(exc).__name__}: {exc}", True)
            continue
        ops.record_sent(claimed.id, sent.sid)


def register(app, huey) -> SimpleNamespace:
    """Define the wing's tasks on ``huey`` for ``app``."""
    state = {}

    def gateway():
        if "gateway" not in state:
            state["gateway"] = make_gateway(app.config)
        return state["gateway"]

    def follow_up(alert_id: int | None) -> None:
        """Come back when the next retry or lapsed lease is due."""
        due = ops.next_due(alert_id)
        if due is None:
            ops.finish_done_alerts()
            return
        delay = max((due - utcnow()).total_seconds(), 0.0) + 0.05
        drain_task.schedule(args=(alert_id,), delay=delay)

    @huey.task(name="alerts.drain")
    def drain_task(alert_id):
        with app.app_context():
            set_actor(None, "worker")
            attempted = drain(app, alert_id, gateway())
            if attempted:
                log.info("alert %s: %d messages attempted", alert_id, attempted)
            follow_up(alert_id)

    @huey.task(name="alerts.escalate")
    def escalate_task():
        with app.app_context():
            set_actor(None, "worker")
            for alert_id in ops.escalate_due():
                fan_out(alert_id)

    @huey.periodic_task(crontab(minute="*"), name="alerts.sweep")
    def sweep_task():
        """Belt and braces: work a lost task or a dead worker left behind is taken up again."""
        with app.app_context():
            set_actor(None, "worker")
            for alert_id in ops.escalate_due():
                fan_out(alert_id)
            for alert_id in ops.alerts_in_progress():
                drain_task(alert_id)
            ops.finish_done_alerts()

    @huey.on_startup(name="alerts.resume")
    def resume():
        with app.app_context():
            for alert_id in ops.alerts_in_progress():
                drain_task(alert_id)

    def fan_out(alert_id: int) -> None:
        """Start the configured number of parallel drains for an alert."""
        for _ in range(app.config["RIADO_SMS_CONCURRENCY"]):
            drain_task(alert_id)

    def schedule_escalation(alert) -> None:
        if alert.escalate_after_minutes:
            escalate_task.schedule(delay=alert.escalate_after_minutes * 60 + 1)

    return SimpleNamespace(drain=drain_task, escalate=escalate_task, sweep=sweep_task, fan_out=fan_out,
                           schedule_escalation=schedule_escalation, gateway=gateway)
