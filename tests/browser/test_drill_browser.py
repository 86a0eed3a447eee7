"""A drill as an officer runs it, in a real browser: open the drill incident, send an
acknowledgement-required alert to a group through (the fake) Twilio, some people answer, and
the dashboard and the after-action report show what happened."""

from __future__ import annotations

import re

import pytest

from conftest import wait_for
from fake_twilio import FakeTwilio

pytestmark = pytest.mark.browser

MEMBERS = [("Kovács Júlia", "+36205550501"), ("Nagy Péter", "+36205550502"), ("Szabó Ödön", "+36205550503"),
           ("Tóth Anna", "+36205550504")]


def test_an_officer_runs_a_drill(sms_app, sms_server, consumer, fake_twilio, page, make_user, api):
    from incident.extensions import db
    from incident.operations import contacts as contact_ops

    headers, _ = api("officer")
    client = sms_app.test_client()
    drill = client.post("/api/v1/incidents", json={
        "title": "GYAKORLAT – gázszivárgás a Váci utcában", "kind": "gas_leak", "severity": "severe", "drill": True,
        "location": {"type": "Point", "coordinates": [19.0537, 47.4939]}}, headers=headers).get_json()
    real = client.post("/api/v1/incidents", json={
        "title": "Valódi csőtörés", "kind": "water_outage", "severity": "moderate",
        "location": {"type": "Point", "coordinates": [19.05, 47.50]}}, headers=headers).get_json()
    with sms_app.test_request_context():
        group = contact_ops.create_group({"name": "Törzsvezetési csoport"})
        db.session.flush()
        for name, phone in MEMBERS:
            contact_ops.create_contact({"name": name, "phone": phone, "groups": [group.id]})
        db.session.commit()
        group_id = group.id

    base = sms_server
    officer = make_user("officer")
    page.goto(base + "/login")
    page.fill("#email", officer["email"])
    page.fill("#password", officer["password"])
    page.click("form button[type=submit]:has-text('Bejelentkezés')")
    page.wait_for_url(base + "/")
    # The dashboard keeps the drill apart from the real incidents.
    assert "Valódi csőtörés" in page.inner_text("[data-testid=open-incidents]")
    assert "gázszivárgás" not in page.inner_text("[data-testid=open-incidents]")
    assert "gázszivárgás" in page.inner_text("[data-testid=open-drills]")

    # Open the drill, send an alert from it.
    page.click(f"[data-testid=open-drills] a:has-text('{drill['number']}')")
    page.wait_for_url(f"{base}/incidents/{drill['id']}")
    assert page.locator("[data-testid=drill-banner]").is_visible()
    page.click("[data-testid=alert-link]")
    page.wait_for_url(re.compile(r".*/alerts/new\?incident_id=\d+"))
    page.fill("#body", "Riasztási gyakorlat: válaszoljon OK-val, ha megkapta.")
    page.check(f"input[name=groups][value='{group_id}']")
    page.check("#require_ack")
    page.click("[data-testid=continue]")
    page.wait_for_selector("[data-testid=confirm]")
    assert page.inner_text("[data-testid=recipient-count]") == "4"
    assert page.inner_text("[data-testid=final-body]").startswith("GYAKORLAT! ")
    page.click("[data-testid=send-now]")
    page.wait_for_url(re.compile(r".*/alerts/\d+$"))
    alert_id = int(page.url.rsplit("/", 1)[1])

    # The phones get it; the carrier reports three delivered, one undelivered; two people answer.
    wait_for(lambda: len(fake_twilio.messages) == 4)
    assert all(m.body.startswith("GYAKORLAT! ") for m in fake_twilio.messages)
    by_phone = {m.to: m for m in fake_twilio.messages}
    for _, phone in MEMBERS[:3]:
        assert fake_twilio.status_callback(by_phone[phone], "delivered")[0] == 200
    assert fake_twilio.status_callback(by_phone[MEMBERS[3][1]], "undelivered", error_code=30003)[0] == 200
    for _, phone in MEMBERS[:2]:
        assert FakeTwilio.signed_post(base + "/webhooks/twilio/inbound", {"From": phone, "Body": "OK"})[0] == 200

    # The alert page follows without a reload.
    page.wait_for_selector("[data-testid=counts] [data-count=acknowledged]:text-is('2')", timeout=20_000)
    page.wait_for_selector("[data-testid=counts] [data-count=delivered]:text-is('3')", timeout=20_000)

    # The dashboard shows the drill alert's progress: sent, waiting for acknowledgements (no
    # longer in flight, as the wall map counts it), apart from the real alerts.
    page.wait_for_selector("[data-alert-status-slot] [data-status=done]", timeout=20_000)
    page.goto(base + "/")
    drill_row = page.locator(f"[data-testid=drill-alerts-awaiting-ack] [data-alert='{alert_id}']")
    assert drill_row.locator("[data-testid=sent]").inner_text() == "4 címzettből 3 kiküldve"
    assert drill_row.locator("[data-testid=acks]").inner_text() == "2 visszaigazolta"
    assert page.locator("[data-testid=drill-alerts-in-flight]").count() == 0
    assert page.locator("[data-testid=alerts-awaiting-ack]").count() == 0  # not among the real ones

    # The after-action report has the figures of what happened.
    page.goto(f"{base}/incidents/{drill['id']}")
    page.click("[data-testid=after-action-link]")
    page.wait_for_url(f"{base}/incidents/{drill['id']}/after-action")
    assert page.locator("[data-testid=drill-banner]").is_visible()
    report = page.locator(f"[data-testid=aar-alert][data-alert='{alert_id}']")
    assert report.locator("[data-testid=aar-recipients]").inner_text() == "4"
    assert report.locator("[data-testid=aar-delivery-rate]").inner_text() == "3 (75%)"
    assert report.locator("[data-testid=aar-ack-rate]").inner_text() == "2 (50%)"
    assert report.locator("[data-testid=aar-never]").inner_text() == "Szabó Ödön, Tóth Anna"
    assert report.locator("svg").count() == 1
    timeline = page.inner_text("[data-testid=aar-timeline]")
    assert "Kovács Júlia" in timeline and "Nagy Péter" in timeline  # the acknowledgements are in the log
    assert all(url.startswith("https://tile.openstreetmap.org/") for url in page.offsite_requests)  # tiles only

    # Drill records never count among the real ones.
    real_only = client.get("/api/v1/alerts", query_string={"drill": "false"}, headers=headers).get_json()
    assert real_only["total"] == 0
    assert client.get("/api/v1/incidents", query_string={"drill": "false"}, headers=headers).get_json()["total"] == 1
    assert real["id"] != drill["id"]
