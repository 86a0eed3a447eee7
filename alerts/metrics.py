"""The alert wing's Prometheus metrics (see incident/metrics.py): delivery attempts, provider
errors and retries counted where they happen (in the worker), refused webhook signatures; and,
read from the database when scraped, every delivery by channel and status and the backlog."""

from __future__ import annotations

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

CHANNEL = "sms"

ATTEMPTS = Counter("riado_delivery_attempts", "Delivery attempts by channel and outcome (sent: the provider "
                   "took it; retry: refused for now, tried again later; failed: refused for good)",
                   ["channel", "outcome"])
PROVIDER_ERRORS = Counter("riado_provider_errors", "Errors answered by the provider, by its error code "
                          "(none: no answer, or no code)", ["channel", "code"])
RETRIES = Counter("riado_delivery_retries", "Deliveries put back for another try", ["channel"])
WEBHOOK_SIGNATURE_FAILURES = Counter("riado_webhook_signature_failures",
                                     "Webhook requests refused for a bad or missing signature", ["webhook"])


def outcome(retried: bool | None) -> str:
    """A failed attempt's outcome: ``retried`` True put back for another try, False failed for
    good, None no longer this worker's (its lease ran out and another took the delivery over)."""
    return {True: "retry", False: "failed", None: "taken_over"}[retried]


def attempt_failed(code: int | None, retried: bool | None, channel: str = CHANNEL) -> None:
    PROVIDER_ERRORS.labels(channel, str(code) if code is not None else "none").inc()
    ATTEMPTS.labels(channel, outcome(retried)).inc()
    if retried:
        RETRIES.labels(channel).inc()


def state():
    """Read at each scrape: deliveries by status, and the backlog."""
    from . import operations as ops
    from .models import DELIVERY_STATUSES

    counts = ops.delivery_status_counts()  # {(channel, status): n}
    deliveries = GaugeMetricFamily("riado_deliveries", "Deliveries by channel and status, as stored now",
                                   labels=["channel", "status"])
    for channel in sorted({CHANNEL, *(channel for channel, _ in counts)}):
        for status in DELIVERY_STATUSES:
            deliveries.add_metric([channel, status], counts.get((channel, status), 0))
    yield deliveries
    yield GaugeMetricFamily("riado_queue_backlog", "Deliveries due and not yet taken by a worker",
                            value=ops.backlog_count())
    yield GaugeMetricFamily("riado_queue_backlog_oldest_seconds",
                            "How long the oldest delivery due has waited for a worker (0: none waits)",
                            value=ops.backlog_seconds())
