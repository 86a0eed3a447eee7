"""The after-action report: the figures of each alert and of the resources match what happened."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from conftest import wait_for
from fake_twilio import FakeTwilio

PHONES = ["+36205550401", "+36205550402", "+36205550403", "+36205550404"]
POINT = {"type": "Point", "coordinates": [19.05, 47.5]}


def test_after_action_figures_match_what_happened(sms_app, sms_server, consumer, fake_twilio, api, make_user):
    from incident.extensions import db

    from alerts.models import Alert, Delivery

    client = sms_app.test_client()
    headers, _ = api("officer")
    incident = client.post("/api/v1/incidents", json={"title": "Gyakorlat: gázszivárgás", "kind": "gas_leak",
                                                      "severity": "severe", "drill": True, "location": POINT},
                           headers=headers).get_json()
    group = client.post("/api/v1/groups", json={"name": "Törzs"}, headers=headers).get_json()["id"]
    for i, phone in enumerate(PHONES):
        client.post("/api/v1/contacts", json={"name": f"Tag {i}", "phone": phone, "groups": [group]}, headers=headers)
    pump = client.post("/api/v1/resources", json={"name": "Szivattyú <1>", "kind": "pump", "quantity": 2, "location": POINT},
                       headers=headers).get_json()
    assignment = client.post(f"/api/v1/incidents/{incident['id']}/assignments", json={"resource_id": pump["id"], "quantity": 2},
                             headers=headers).get_json()
    alert_id = client.post("/api/v1/alerts", json={"body": "Riasztás, válasz: OK", "groups": [group], "require_ack": True,
                                                   "incident_id": incident["id"]}, headers=headers).get_json()["id"]
    wait_for(lambda: len(fake_twilio.messages) == 4)
    by_phone = {m.to: m for m in fake_twilio.messages}
    for phone in PHONES[:3]:
        assert fake_twilio.status_callback(by_phone[phone], "delivered")[0] == 200
    assert fake_twilio.status_callback(by_phone[PHONES[3]], "undelivered", error_code=30006)[0] == 200
    inbound = sms_server + "/webhooks/twilio/inbound"
    for phone in PHONES[:2]:
        assert FakeTwilio.signed_post(inbound, {"From": phone, "Body": "OK"})[0] == 200
    # Known times make the medians exact: acknowledgements 2 and 6 minutes after the alert.
    with sms_app.app_context():
        alert = db.session.get(Alert, alert_id)
        start = alert.created_at
        for phone, seconds in zip(PHONES[:3], (20, 30, 40), strict=True):
            db.session.execute(update(Delivery).where(Delivery.alert_id == alert_id, Delivery.phone == phone)
                               .values(delivered_at=start + dt.timedelta(seconds=seconds)))
        for phone, minutes in zip(PHONES[:2], (2, 6), strict=True):
            db.session.execute(update(Delivery).where(Delivery.alert_id == alert_id, Delivery.phone == phone)
                               .values(acknowledged_at=start + dt.timedelta(minutes=minutes)))
        db.session.commit()
    client.post(f"/api/v1/assignments/{assignment['id']}/release", headers=headers)

    from conftest import csrf_from  # noqa: F401

    viewer = make_user("viewer")
    page_client = sms_app.test_client()
    token = __import__("re").search(r'name="csrf_token"[^>]*value="([^"]+)"', page_client.get("/login").get_data(as_text=True)).group(1)
    page_client.post("/login", data={**viewer, "csrf_token": token})
    page_client.get("/lang/en")  # the figures' words as written (test_demo checks them in Hungarian)
    html = page_client.get(f"/incidents/{incident['id']}/after-action").get_data(as_text=True)

    def cell(testid):
        return html.split(f'data-testid="{testid}">')[1].split("</td>")[0].strip()

    assert cell("aar-recipients") == "4"
    assert cell("aar-delivery-rate") == "3 (75%)"
    assert cell("aar-ack-rate") == "2 (50%)"
    assert cell("aar-median-ack") == "4 min 0 s"
    assert cell("aar-slowest-ack") == "6 min 0 s"
    assert cell("aar-first-delivery") == "20 s"
    assert cell("aar-never") == "Tag 2, Tag 3"
    assert "<svg" in html and "Szivattyú &lt;1&gt;" in html
    assert 'data-testid="drill-banner"' in html
    csv_text = page_client.get(f"/incidents/{incident['id']}/after-action.csv").data.decode("utf-8-sig")
    alert_row = next(line for line in csv_text.splitlines() if line.startswith("alert,"))
    assert ",4,3,0.750,2,0.500,20.000,240.000,360.000,Tag 2; Tag 3," in alert_row
    assert any(line.startswith("resource,") and "Szivattyú <1>" in line for line in csv_text.splitlines())


def test_after_action_csv_never_starts_a_formula(app, client, api, make_user):
    import csv
    import io

    headers, _ = api("officer")
    incident = client.post("/api/v1/incidents", json={"title": "Vihar", "kind": "storm", "severity": "moderate",
                                                      "location": POINT}, headers=headers).get_json()
    group = client.post("/api/v1/groups", json={"name": "Törzs"}, headers=headers).get_json()["id"]
    client.post("/api/v1/contacts", json={"name": "-2+3 Kovács", "phone": PHONES[0], "groups": [group]}, headers=headers)
    pump = client.post("/api/v1/resources", json={"name": "=1+1 szivattyú", "kind": "pump", "location": POINT},
                       headers=headers).get_json()
    client.post(f"/api/v1/incidents/{incident['id']}/assignments", json={"resource_id": pump["id"]}, headers=headers)
    client.post(f"/api/v1/incidents/{incident['id']}/log", json={"text": "@SUM(A1)"}, headers=headers)
    response = client.post("/api/v1/alerts", json={"body": "+ Riasztás, válasz: OK", "groups": [group],
                                                   "require_ack": True, "incident_id": incident["id"]}, headers=headers)
    assert response.status_code == 202
    app.extensions["huey"].flush()  # no worker here: the alert stays queued
    exported = client.get(f"/incidents/{incident['id']}/after-action.csv", headers=headers).data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(exported, newline="")))
    cells = [cell for row in rows for cell in row]
    assert "'+ Riasztás, válasz: OK\nHa megkapta, küldje vissza: IGEN" in cells and "'-2+3 Kovács" in cells and "'=1+1 szivattyú" in cells
    assert "'@SUM(A1)" in cells
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
