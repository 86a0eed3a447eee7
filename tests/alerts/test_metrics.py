"""/metrics (Prometheus text format): protected by a token of its own; a broadcast's deliveries
counted exactly; no personal data in any label. Several processes: tests/alerts/test_scale_out.py."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from conftest import running_consumer, wait_for, wait_until_idle
from factories import create_contact, create_group

TOKEN = "metrics-token-of-the-test-0123456789"
PHONES = [f"+3630555{4200 + i}" for i in range(5)]


def samples(text: str) -> dict[tuple, float]:
    """{(name, (label, value), …): value} of a scrape."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, *sorted(sample.labels.items()))] = sample.value
    return out


def value(scrape: dict, name: str, **labels) -> float:
    """A sample's value; 0 when the scrape lacks it (a counter not yet counted)."""
    return scrape.get((name, *sorted(labels.items())), 0.0)


def present(scrape: dict, name: str, **labels) -> float:
    """A sample that must be in the scrape (a gauge read at each scrape)."""
    key = (name, *sorted(labels.items()))
    assert key in scrape, f"{key} missing from the scrape"
    return scrape[key]


def scrape(client) -> dict:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain")
    return samples(response.get_data(as_text=True))


def test_metrics_are_off_without_a_token_and_refused_without_it(app_factory):
    assert app_factory().test_client().get("/metrics").status_code == 404
    client = app_factory(RIADO_METRICS_TOKEN=TOKEN).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_metrics_from_an_allowed_address_need_no_token(app_factory):
    import ipaddress

    allowed = app_factory(RIADO_METRICS_ALLOW=(ipaddress.ip_network("127.0.0.0/8"),)).test_client()
    assert allowed.get("/metrics").status_code == 200
    elsewhere = app_factory(RIADO_METRICS_ALLOW=(ipaddress.ip_network("10.0.0.0/8"),)).test_client()
    assert elsewhere.get("/metrics").status_code == 401


def test_a_broadcast_is_counted_exactly(sms_app, api, fake_twilio):
    sms_app.config["RIADO_METRICS_TOKEN"] = TOKEN
    client = sms_app.test_client()
    headers, officer = api("officer")
    group = create_group(sms_app, "Gátőrök")
    for i, phone in enumerate(PHONES):
        create_contact(sms_app, name=f"Gátőr {i}", phone=phone, email=f"gator{i}@example.org", groups=[group["id"]])
    fake_twilio.script(PHONES[0], error_code=21211)  # invalid number: failed for good, no retry
    fake_twilio.script(PHONES[1], transient=[503])  # refused once, then taken
    before = scrape(client)
    response = client.post("/api/v1/alerts", json={"body": "Gátszakadás veszélye: gyülekező a Vigadó téren.",
                                                    "groups": [group["id"]]}, headers=headers)
    assert response.status_code == 202
    with running_consumer(sms_app.extensions["huey"]):
        wait_for(lambda: len(fake_twilio.messages) == 4, timeout=30)
        wait_until_idle(sms_app)
        client.post("/webhooks/twilio/inbound", data={"From": PHONES[2], "Body": "IGEN"})  # no signature: refused
        after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("riado_deliveries", channel="sms", status="sent") == 4
    assert delta("riado_deliveries", channel="sms", status="failed") == 1
    assert present(after, "riado_deliveries", channel="sms", status="queued") == 0
    assert delta("riado_delivery_attempts_total", channel="sms", outcome="sent") == 4
    assert delta("riado_delivery_attempts_total", channel="sms", outcome="failed") == 1
    assert delta("riado_delivery_attempts_total", channel="sms", outcome="retry") == 1
    assert delta("riado_delivery_retries_total", channel="sms") == 1
    assert delta("riado_provider_errors_total", channel="sms", code="21211") == 1
    errors = [key for key in after if key[0] == "riado_provider_errors_total"]
    assert sum(value(after, *key[:1], **dict(key[1:])) - value(before, *key[:1], **dict(key[1:])) for key in errors) == 2
    assert delta("riado_webhook_signature_failures_total", webhook="webhooks.inbound") == 1
    assert delta("riado_http_requests_total", route="/api/v1/alerts", method="POST", status="202") == 1
    assert delta("riado_http_request_duration_seconds_count", route="/api/v1/alerts", method="POST") == 1
    assert present(after, "riado_queue_backlog") == 0 and present(after, "riado_queue_backlog_oldest_seconds") == 0
    assert 0 <= present(after, "riado_worker_heartbeat_age_seconds") < 10
    assert present(after, "riado_database_up") == 1
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    for phone in PHONES:  # no personal data anywhere in the answer
        assert phone not in text and phone[3:] not in text
    assert "@" not in text and officer["email"] not in text
    assert not re.search(r'route="/[^"]*\d{2,}', text)  # routes are rules, never paths with ids


def test_sign_in_failures_and_log_entries_are_counted(app_factory, make_user, api):
    from factories import create_incident

    app = app_factory(RIADO_METRICS_TOKEN=TOKEN)
    client = app.test_client()
    user = make_user("officer")
    before = scrape(client)
    assert client.post("/api/v1/tokens", json={"email": user["email"], "password": "not the password"}).status_code == 401
    headers, _ = api("officer")
    incident = create_incident(app)
    response = client.post(f"/api/v1/incidents/{incident['id']}/log", json={"kind": "decision", "text": "Kitelepítés elrendelve."},
                           headers=headers)
    assert response.status_code == 201, response.get_json()
    after = scrape(client)
    assert value(after, "riado_sign_in_failures_total", reason="wrong") - value(before, "riado_sign_in_failures_total", reason="wrong") == 1
    assert value(after, "riado_incident_log_appends_total", kind="decision") - value(
        before, "riado_incident_log_appends_total", kind="decision") == 1


def test_a_method_made_up_by_a_client_makes_no_series_of_its_own(app_factory):
    client = app_factory(RIADO_METRICS_TOKEN=TOKEN).test_client()
    for method in ("FOO1", "BAR2", "X" * 200):
        client.open("/healthz", method=method)
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    assert "FOO1" not in text and "BAR2" not in text and "XXXX" not in text
    assert value(samples(text), "riado_http_requests_total", route="(unmatched)", method="OTHER", status="405") >= 3


def test_the_address_list_does_not_let_in_what_came_through_an_unknown_proxy(app_factory):
    import ipaddress

    client = app_factory(RIADO_METRICS_ALLOW=(ipaddress.ip_network("127.0.0.1/32"),)).test_client()
    assert client.get("/metrics").status_code == 200
    # nginx on the same machine, RIADO_TRUSTED_PROXIES left 0: every client looks like 127.0.0.1.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401


def test_the_counters_are_still_answered_while_the_database_is_away(doomed_database, app_factory):
    """The database gone: the scrape still answers, with riado_database_up 0 and the counters."""
    from flask_migrate import upgrade

    app = app_factory(SQLALCHEMY_DATABASE_URI=doomed_database.url, RIADO_METRICS_TOKEN=TOKEN)
    with app.app_context():
        upgrade()
    client = app.test_client()
    assert present(scrape(client), "riado_database_up") == 1
    doomed_database.lose(app)
    after = scrape(client)
    assert present(after, "riado_database_up") == 0
    assert ("riado_deliveries", ("channel", "sms"), ("status", "sent")) not in after  # not a made-up 0
    assert value(after, "riado_http_requests_total", route="/metrics", method="GET", status="200") == 0  # not itself
    assert any(key[0] == "riado_http_requests_total" for key in after)
