"""Prometheus metrics at /metrics (prometheus_client).

Two kinds of figures:

- *Events* counted where they happen (requests with their latency, delivery attempts, provider
  errors, retries, refused webhook signatures, failed sign-ins, log entries): prometheus_client
  counters and histograms. Several processes on a host (gunicorn's web processes, ``riado
  worker``) share them through prometheus_client's multiprocess mode: each writes its own file
  under ``PROMETHEUS_MULTIPROC_DIR``, and /metrics adds them up. The ``riado`` command sets that
  folder (``instance/metrics``) before anything imports prometheus_client, unless it is set.
- *State* read from the database when scraped (deliveries by channel and status, the queue's
  backlog, the workers' heartbeat): exact whichever process answers, on any number of hosts.
  Wings add theirs with ``register_metrics``.

No label ever holds personal data: routes are URL rules (``/contacts/<int:contact_id>``), never
paths; codes and statuses are the system's own words.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from typing import Callable, Iterable

from flask import Blueprint, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from .metrics_setup import MULTIPROCESS_ENV
from .security import own_credentials, public

log = logging.getLogger(__name__)

REQUESTS = Counter("riado_http_requests", "HTTP requests answered, by route (URL rule), method and status",
                   ["route", "method", "status"])
REQUEST_SECONDS = Histogram("riado_http_request_duration_seconds", "Time to answer an HTTP request",
                            ["route", "method"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
SIGN_IN_FAILURES = Counter("riado_sign_in_failures",
                           "Failed sign-ins: wrong e-mail or password, or limited (too many failures)", ["reason"])
LOG_APPENDS = Counter("riado_incident_log_appends", "Entries appended to incident logs (committed), by kind",
                      ["kind"])

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

bp = Blueprint("metrics", __name__)


def register_metrics(app, collect: Callable[[], Iterable[Metric]]) -> None:
    """Add state read when /metrics is scraped: ``collect()`` yields metric families (run in the
    request's app context, so it may query the database)."""
    app.extensions.setdefault("riado_metrics", []).append(collect)


class _StateCollector:
    """The state read from the database at each scrape, and whether it could be read
    (``riado_database_up``): the counters and the heartbeat are still answered while it is away."""

    def __init__(self, collectors):
        self.collectors = collectors

    def collect(self):
        from sqlalchemy.exc import SQLAlchemyError

        from .extensions import db

        up = 1
        for collect in self.collectors:
            try:
                families = list(collect())
            except SQLAlchemyError:
                log.warning("metrics: the database could not be read", exc_info=True)
                try:
                    db.session.rollback()
                except SQLAlchemyError:
                    pass
                up = 0
                continue
            yield from families
        yield GaugeMetricFamily("riado_database_up", "1 when the database answered this scrape's questions", value=up)


def _exposition() -> bytes:
    """Every process's counters (or this process's alone), then the state read now."""
    if os.environ.get(MULTIPROCESS_ENV):
        from prometheus_client import multiprocess

        events = CollectorRegistry()
        multiprocess.MultiProcessCollector(events)
    else:
        from prometheus_client import REGISTRY as events
    state = CollectorRegistry()
    state.register(_StateCollector([_core_state, *current_app.extensions.get("riado_metrics", [])]))
    return generate_latest(events) + generate_latest(state)


def _core_state() -> Iterable[Metric]:
    from .queue import QUEUE_UNAVAILABLE, get_huey, last_heartbeat

    family = GaugeMetricFamily("riado_worker_heartbeat_age_seconds",
                               "Seconds since a queue worker last said it was alive (absent: none ever did)")
    try:
        beat = last_heartbeat(get_huey())
    except QUEUE_UNAVAILABLE:
        beat = None
    if beat is not None:
        family.add_metric([], max(0.0, time.time() - beat))
    yield family


def _allowed() -> bool:
    """A bearer token equal to RIADO_METRICS_TOKEN, or a client address in RIADO_METRICS_ALLOW."""
    token = current_app.config.get("RIADO_METRICS_TOKEN")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    networks = current_app.config.get("RIADO_METRICS_ALLOW") or ()
    if request.headers.get("X-Forwarded-For") and not current_app.config.get("RIADO_TRUSTED_PROXIES"):
        # Through a proxy that Riadó was not told about: the address is the proxy's (127.0.0.1,
        # say), not the client's. Only the token lets such a request in.
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


@bp.route("/metrics")
@public
@own_credentials
def metrics():
    """The Prometheus text format; 404 when neither a token nor addresses are configured (off),
    401 without the token from elsewhere."""
    if not current_app.config.get("RIADO_METRICS_TOKEN") and not current_app.config.get("RIADO_METRICS_ALLOW"):
        abort(404)
    if not _allowed():
        response = Response("metrics: a bearer token is required\n", status=401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Bearer realm="riado-metrics"'
        return response
    g.riado_no_request_metric = True
    response = Response(_exposition(), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def _start_timer() -> None:
    g.riado_request_started = time.perf_counter()


def _count_request(response):
    started = g.pop("riado_request_started", None)
    if started is None or g.get("riado_no_request_metric"):
        return response
    rule = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
    method = request.method if request.method in METHODS else "OTHER"  # a client cannot make series up
    REQUESTS.labels(rule, method, str(response.status_code)).inc()
    REQUEST_SECONDS.labels(rule, method).observe(time.perf_counter() - started)
    return response


def _count_log_entries(session, _flush_context) -> None:
    """After a flush: the incident log entries it wrote, counted when the transaction commits."""
    from .models import LogEntry

    kinds = [obj.kind for obj in session.new if isinstance(obj, LogEntry)]
    if kinds:
        session.info.setdefault("riado_log_appends", []).extend(kinds)


def _commit_log_entries(session) -> None:
    for kind in session.info.pop("riado_log_appends", ()):
        LOG_APPENDS.labels(kind).inc()


def _forget_log_entries(session) -> None:
    session.info.pop("riado_log_appends", None)


def _listen() -> None:
    from flask_sqlalchemy.session import Session as FlaskSession
    from sqlalchemy import event

    if not event.contains(FlaskSession, "after_flush", _count_log_entries):
        event.listen(FlaskSession, "after_flush", _count_log_entries)
        event.listen(FlaskSession, "after_commit", _commit_log_entries)
        event.listen(FlaskSession, "after_soft_rollback", lambda session, _tx: _forget_log_entries(session))


def init_app(app) -> None:
    _listen()
    app.register_blueprint(bp)
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_count_request)
