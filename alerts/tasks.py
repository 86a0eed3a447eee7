"""Queue tasks of the alert wing (Huey): drain an alert's deliveries, sweep for work left behind,
escalate. Registered on the application's Huey instance with fixed names, so that the web
process that enqueues and the workers that run them agree whatever machine they are on.

The drains run in a lane of their own (``incident.queue.add_lane``): every consumer, the one
``riado run`` embeds as well as each ``riado worker`` on the SQLite queue or on Redis, gives them
``RIADO_SMS_CONCURRENCY`` threads of their own, whatever else the queue is doing. A drain sends
one message at a time, so that setting is how many messages a consumer has in flight; an alert is
started with as many drains."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from types import SimpleNamespace

from flask import current_app
from huey import crontab
from sqlalchemy.exc import InterfaceError, OperationalError

from incident.audit import set_actor
from incident.database import utcnow
from incident.extensions import db
from incident.logs import request_id
from incident.queue import QUEUE_UNAVAILABLE, add_lane, on_queue_lost

from . import metrics
from . import operations as ops
from .channels import CHANNELS, Gateways, channel
from .gateways import GatewayError

log = logging.getLogger(__name__)

# A drain that loses the database (PostgreSQL restarting) tries again after this many seconds.
DATABASE_RETRY_SECONDS = 3
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def send_one(app, claimed, gateways: Gateways, memo: dict):
    """Hand one claimed delivery to its channel's gateway (``channels``); a channel this
    installation does not have fails it for good (GatewayError)."""
    return channel(claimed.channel).send(app, claimed, gateways[claimed.channel], memo)


def drain(app, alert_id: int | None, gateways) -> int:
    """Send due deliveries until none is left; return how many were attempted. A message the
    provider took is recorded as sent together with the next claim (one commit each). Each
    attempt is logged (one line, with the request id of the alert's request). ``gateways``: the
    consumer's ``Gateways`` (each channel's made when first needed), or an SMS gateway alone."""
    if not isinstance(gateways, Gateways):
        gateways = Gateways(app.config, sms=gateways)
    attempted = 0
    sent_last: tuple[int, str] | None = None
    request_ids: dict[int, str | None] = {}
    memo: dict = {}
    try:
        while True:
            claimed = ops.claim_next(alert_id, sent=sent_last)
            sent_last = None
            if claimed is None:
                return attempted
            attempted += 1
            if claimed.alert_id not in request_ids:
                request_ids.update(ops.request_ids([claimed.alert_id]))
                db.session.rollback()  # no transaction left open while the provider answers
            token = request_id.set(request_ids.get(claimed.alert_id))
            try:
                try:
                    sent = send_one(app, claimed, gateways, memo)
                except GatewayError as exc:
                    retried = ops.record_failure(claimed.id, claimed.attempts, exc.code, str(exc), exc.retryable)
                    metrics.attempt_failed(exc.code, retried, claimed.channel)
                    _log_attempt(claimed, metrics.outcome(retried), exc.code, exc.status, str(exc))
                    continue
                except DATABASE_UNAVAILABLE:
                    raise  # the database went away (reading the alert's subject): drain_task tries again soon
                except Exception as exc:  # a bug or an unexpected library error: retry, never lose it
                    log.exception("delivery %s: unexpected error", claimed.id)
                    retried = ops.record_failure(claimed.id, claimed.attempts, None, f"{type(exc).__name__}: {exc}", True)
                    metrics.attempt_failed(None, retried, claimed.channel)
                    _log_attempt(claimed, metrics.outcome(retried), None, type(exc).__name__, str(exc))
                    continue
                metrics.ATTEMPTS.labels(claimed.channel, "sent").inc()
                _log_attempt(claimed, "sent", None, "sent")
                sent_last = (claimed.id, sent.sid[:64])  # a Message-ID may be longer than a Twilio sid
            finally:
                request_id.reset(token)
    finally:
        if sent_last is not None:
            # The claim that was to carry it failed (the database went away): one more try on
            # its own, so that the message is not sent again when its lease runs out.
            try:
                db.session.rollback()
                ops.record_sent(*sent_last)
            except Exception:  # noqa: BLE001 - the original error is the one that propagates
                log.warning("delivery %s: sent, but not yet recorded; its lease will run out", sent_last[0])
                db.session.rollback()


def reconcile(gateways, after: dt.timedelta, now: dt.datetime | None = None) -> dict[int, dict[str, int]]:
    """Ask the provider about messages and calls still "sent" ``after`` they went out (their
    status callbacks never came) and record what it says (``ops.record_reconciled``, committed):
    each channel's gateway of ``gateways`` is asked through its channel (``Channel.status``: an
    SMS's Message resource, a call's Call resource; the console gateways have nobody to ask).
    ``gateways``: the consumer's ``Gateways``, or an SMS gateway alone. Returns {alert id: {new
    status: count}}."""
    if not isinstance(gateways, Gateways):
        gateways = Gateways(current_app.config, sms=gateways)
    rows = ops.unsettled_deliveries(after, now)
    db.session.rollback()  # no transaction open while the provider answers
    results = {}
    unavailable = set()  # channels whose provider cannot answer now: not asked again this round
    for row in rows:
        if row.channel in unavailable or row.channel not in CHANNELS:
            continue
        try:
            said = CHANNELS[row.channel].status(gateways[row.channel], row.sid)
        except GatewayError as exc:
            if exc.retryable:
                # The provider is down or slow: one warning, and the rest waits for the next round
                # (each question could take the whole timeout, and the queue's workers are shared).
                log.warning("delivery %s: the provider could not say its status now (%s); asking again later",
                            row.id, exc)
                unavailable.add(row.channel)
                continue
            results[row.id] = ("unknown", None)  # the provider does not know it: not asked again soon
            continue
        if said is not None:
            results[row.id] = said
    if not results:
        return {}
    changed = ops.record_reconciled(results, now)
    db.session.commit()
    for alert_id, counts in changed.items():
        log.info("alert %s: statuses corrected from the provider: %s", alert_id, counts,
                 extra={"event": "reconciled", "alert_id": alert_id})
    return changed


def _log_attempt(claimed, outcome: str, code: int | None, status, message: str = "") -> None:
    """One line per delivery attempt: which delivery of which alert, the how-manyth try, what
    came of it, the provider's code and words (never the text sent; a phone number the provider
    names is masked on the way out, incident/logs.py)."""
    log.info("delivery %s of alert %s, attempt %s: %s%s", claimed.id, claimed.alert_id, claimed.attempts, outcome,
             f" ({status}, code {code}: {message[:300]})" if outcome != "sent" else "",
             extra={"event": "delivery_attempt", "delivery_id": claimed.id, "alert_id": claimed.alert_id,
                    "channel": claimed.channel, "attempt": claimed.attempts, "outcome": outcome,
                    "provider_code": code, "provider_message": message[:300] or None})


def register(app, huey) -> SimpleNamespace:
    """Define the wing's tasks on ``huey`` for ``app``."""
    sms = add_lane(huey, "sms", app.config["RIADO_SMS_CONCURRENCY"])
    # The consumer's gateways, one per channel, shared by its drain threads.
    gateways = Gateways(app.config)

    def follow_up(alert_id: int | None) -> None:
        """Come back when the next retry or lapsed lease is due."""
        due = ops.next_due(alert_id)
        if due is None:
            ops.finish_done_alerts()
            db.session.commit()
            return
        db.session.rollback()  # the read's transaction ends before the queue is written to
        delay = max((due - utcnow()).total_seconds(), 0.0) + 0.05
        drain_task.schedule(args=(alert_id,), delay=delay)

    @sms.task(name="alerts.drain")
    def drain_task(alert_id):
        with app.app_context():
            set_actor(None, "worker")
            try:
                attempted = drain(app, alert_id, gateways)
                if attempted:
                    log.info("alert %s: %d messages attempted", alert_id, attempted)
                follow_up(alert_id)
            except DATABASE_UNAVAILABLE as exc:
                # PostgreSQL restarting: this drain comes back in a few seconds rather than end
                # (and leave the alert to the next sweep, up to a minute later).
                log.warning("alert %s: the database is unavailable (%s); draining again in %s s", alert_id,
                            " ".join(str(getattr(exc, "orig", None) or exc).split())[:200], DATABASE_RETRY_SECONDS)
                drain_task.schedule(args=(alert_id,), delay=DATABASE_RETRY_SECONDS)

    @huey.task(name="alerts.escalate")
    def escalate_task():
        with app.app_context():
            set_actor(None, "worker")
            escalated = ops.escalate_due()
            db.session.commit()  # the reminders are there before a drain looks for them
            for alert_id in escalated:
                fan_out(alert_id)

    @huey.periodic_task(crontab(minute="*"), name="alerts.sweep")
    def sweep_task():
        """Belt and braces: work a lost task or a dead worker left behind is taken up again."""
        with app.app_context():
            set_actor(None, "worker")
            escalated = ops.escalate_due()
            db.session.commit()
            for alert_id in escalated:
                fan_out(alert_id)
            for alert_id in in_progress():
                drain_task(alert_id)
            ops.finish_done_alerts()
            db.session.commit()

    @huey.periodic_task(crontab(minute="*"), name="alerts.reconcile")
    def reconcile_task():
        """Every minute: messages and calls whose status callbacks were lost are asked of the provider."""
        minutes = app.config["RIADO_RECONCILE_AFTER_MINUTES"]
        if not minutes:
            return
        with app.app_context():
            set_actor(None, "worker")
            reconcile(gateways, dt.timedelta(minutes=minutes))

    @huey.periodic_task(crontab(minute="17", hour="3"), name="alerts.housekeeping")
    def housekeeping_task():
        """Once a night: old status-callback receipts go (see ``prune_webhook_receipts``)."""
        with app.app_context():
            ops.prune_webhook_receipts()
            db.session.commit()

    def in_progress() -> list[int]:
        """``ops.alerts_in_progress``, its read ended before the queue is written to."""
        ids = ops.alerts_in_progress()
        db.session.rollback()
        return ids

    resumed = threading.Lock()

    @huey.on_startup(name="alerts.resume")
    def resume():
        """After a restart, alerts with messages left get their parallel drains again (Huey runs
        start-up hooks once per worker thread: the first one does it for the process)."""
        if not resumed.acquire(blocking=False):
            return
        with app.app_context():
            for alert_id in in_progress():
                fan_out(alert_id)

    def take_up_after_queue_loss():
        """Redis came back without the drains and wake-ups it held: every alert with messages
        left gets its parallel drains again, now."""
        with app.app_context():
            for alert_id in in_progress():
                fan_out(alert_id)

    on_queue_lost(huey, take_up_after_queue_loss)

    @sms.on_shutdown(name="alerts.close-connections")
    def close_connections():
        """A drain thread stopping (its consumer stopping) ends the SMTP connection it kept open:
        run by each thread of the lane, for its own connection, never one another is using."""
        gateways.close_thread()

    def fan_out(alert_id: int) -> None:
        """Start the configured number of parallel drains for an alert."""
        for _ in range(app.config["RIADO_SMS_CONCURRENCY"]):
            drain_task(alert_id)

    def start(alert_id: int, waves=None) -> bool:
        """Hand a committed alert to the queue, and wake the escalation task when each of its waves
        is due (``waves``: after how many minutes, ``ops.wave_minutes``; a single number is one
        wave). Its deliveries are already in the database, so a queue that cannot be reached
        (Redis restarting) delays the alert until the workers take it up (when they find the queue
        emptied, and at the sweep every minute, which sends a wave missed too); it loses nothing,
        and the request that committed the alert must not fail: the client would send it again."""
        try:
            fan_out(alert_id)
            for minutes in ([waves] if isinstance(waves, int) else waves or []):
                escalate_task.schedule(delay=minutes * 60 + 1)
        except QUEUE_UNAVAILABLE as exc:
            log.warning("alert %s: the queue cannot be reached (%s); the workers will take it up", alert_id, exc)
            return False
        return True

    return SimpleNamespace(drain=drain_task, escalate=escalate_task, sweep=sweep_task, fan_out=fan_out,
                           start=start, gateways=gateways)
