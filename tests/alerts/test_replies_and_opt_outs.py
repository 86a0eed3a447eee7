"""What an officer sees when people answer an alert: every reply on the alert page, an opt-out
(STOP) taken off the "still silent" list, written to the incident's log, warned about on the alert
page and the dashboard, left out of reminders and named as opted out in the after-action report;
and the exclusion counts telling the same story on the confirmation, the alert page, the API and
the report (merged duplicates apart, labelled as such)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from urllib.parse import urlencode

from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from conftest import WEBHOOK_PUBLIC_URL, WEBHOOK_TOKEN, csrf_from
from test_alert_pages import Forms, data_counts, texts_of

POINT = {"type": "Point", "coordinates": [19.05, 47.5]}
JULIA, PETER, DUTY, LILI, OFFICE = "+36205550301", "+36205550302", "+36205550301", "+36205550309", "+3615550300"
GROUP = "Helyi Védelmi Bizottság"


def inbound(client, sid: str, phone: str, body: str) -> str:
    """An SMS to our number, posted and signed as Twilio does."""
    params = {"MessageSid": sid, "From": phone, "To": "+36205550000", "Body": body}
    signature = RequestValidator(WEBHOOK_TOKEN).compute_signature(WEBHOOK_PUBLIC_URL + "/webhooks/twilio/inbound", params)
    response = client.post("/webhooks/twilio/inbound", data=urlencode(params), headers={"X-Twilio-Signature": signature},
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def signed_in(app, user):
    """A test client of ``app`` signed in through the login form."""
    client = app.test_client()
    page = client.get("/login")
    client.post("/login", data={"email": user["email"], "password": user["password"],
                                "csrf_token": csrf_from(page.get_data(as_text=True))})
    return client


def sent_alert(app, client, headers, **extra) -> tuple[int, int, dict]:
    """An incident, the group (Júlia and Péter), and an alert to it that asks for OK, as if sent."""
    from alerts.models import Delivery
    from incident.extensions import db

    incident = client.post("/api/v1/incidents", json={"title": "Dunai árvíz", "kind": "flood", "severity": "severe",
                                                      "location": POINT}, headers=headers).get_json()["id"]
    group = client.post("/api/v1/groups", json={"name": GROUP}, headers=headers).get_json()["id"]
    ids = {}
    for name, phone in (("Kovács Júlia", JULIA), ("Nagy Péter", PETER)):
        ids[name] = client.post("/api/v1/contacts", json={"name": name, "phone": phone, "groups": [group]},
                                headers=headers).get_json()["id"]
    response = client.post("/api/v1/alerts", json={"body": "Árvíz: HVB 9-kor, válaszoljon OK-val", "groups": [group],
                                                   "require_ack": True, "incident_id": incident, **extra}, headers=headers)
    assert response.status_code == 202, response.get_json()
    alert_id = response.get_json()["id"]
    app.extensions["huey"].flush()  # no worker: the gateway's part is done here
    with app.app_context():
        for delivery in db.session.execute(select(Delivery).where(Delivery.alert_id == alert_id)).scalars():
            delivery.status, delivery.provider_sid = "sent", f"SM{delivery.id:032d}"
        db.session.commit()
    return incident, alert_id, ids


def test_a_stop_in_answer_to_an_alert_is_seen_logged_warned_about_and_reported(twilio_app, api, make_user):
    from alerts import operations as ops
    from alerts.models import Alert, Delivery
    from incident.extensions import db

    client = twilio_app.test_client()
    headers, _ = api("officer")
    incident, alert_id, ids = sent_alert(twilio_app, client, headers, escalate_after_minutes=5)
    # Entered without consent into the same group: nobody opted out, nothing to warn about.
    group = client.get("/api/v1/groups", headers=headers).get_json()["items"][0]["id"]
    client.post("/api/v1/contacts", json={"name": "Leiratkozott Lili", "phone": LILI, "sms_opt_in": False,
                                          "groups": [group]}, headers=headers)

    inbound(client, "SM" + "1" * 32, PETER, "STOP")
    inbound(client, "SM" + "2" * 32, JULIA, "OK")
    inbound(client, "SM" + "3" * 32, JULIA, "Hol a <gyülekezőhely>?")
    inbound(client, "SM" + "1" * 32, PETER, "STOP")  # Twilio's retry of the same message: nothing more

    officer = signed_in(twilio_app, make_user("officer"))
    html = officer.get(f"/alerts/{alert_id}").get_data(as_text=True)
    # Every reply, in the order they came, with what it did; the contact's text escaped.
    assert texts_of(html, "reply-name") == ["Nagy Péter", "Kovács Júlia", "Kovács Júlia"]
    assert texts_of(html, "reply-text") == ["STOP", "OK", "Hol a <gyülekezőhely>?"]
    assert texts_of(html, "reply-action") == ["leiratkozott az SMS-riasztásokról", "visszaigazolta", "nem értelmezhető"]
    assert "Hol a &lt;gyülekezőhely&gt;?" in html
    # Péter answered: he is no longer "still silent"; his SMS arrived; he is counted and marked as opted out.
    assert texts_of(html, "silent-person") == [] and texts_of(html, "silent-count") == ["0"]
    counts = data_counts(html)
    assert counts["opted_out"] == 1 and counts["acknowledged"] == 1 and counts["delivered"] == 2
    peter_row = re.search(r'<tr data-testid="delivery"[^>]*data-status="(\w+)">(?:(?!</tr>).)*Nagy Péter(?:(?!</tr>).)*</tr>',
                          html, re.DOTALL)
    assert peter_row.group(1) == "delivered"
    assert re.search(r'data-testid="delivery-opted-out">leiratkozott', peter_row.group(0))  # not hidden
    # The warning names him and the group that now has a hole.
    warning = texts_of(html, "opted-out-person")
    assert len(warning) == 1 and "Nagy Péter" in warning[0] and f"csoporttag: {GROUP}" in warning[0]
    assert 'data-testid="opt-out-warning"' in html

    # The incident's log says so, in Hungarian, by name, once.
    log = client.get(f"/api/v1/incidents/{incident}/log", headers=headers).get_json()["items"]
    opt_outs = [e for e in log if "leiratkozott" in e["text"]]
    assert len(opt_outs) == 1
    assert opt_outs[0]["kind"] == "communication" and opt_outs[0]["author"] == "sms"
    assert opt_outs[0]["text"].startswith(
        f"Nagy Péter leiratkozott az SMS-riasztásokról: „STOP” választ küldött a(z) {alert_id}. SMS-riasztásra.")

    # The API: the delivery's opted_out_at, the count, and the replies (phones masked for viewers).
    api_counts = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts"]
    assert api_counts["opted_out"] == 1 and {k: counts[k] for k in api_counts} == api_counts
    rows = {d["name"]: d for d in client.get(f"/api/v1/alerts/{alert_id}/deliveries", headers=headers).get_json()["items"]}
    assert rows["Nagy Péter"]["opted_out_at"] and rows["Kovács Júlia"]["opted_out_at"] is None
    viewer, _ = api("viewer")
    replies = client.get(f"/api/v1/alerts/{alert_id}/replies", headers=viewer).get_json()
    assert replies["total"] == 3 and [r["action"] for r in replies["items"]] == ["stop", "ack", "unknown"]
    assert replies["items"][0]["phone"] == "+36 20 *** **02"

    # No reminder goes to him (nor to Júlia, who confirmed).
    with twilio_app.test_request_context():
        alert = db.session.get(Alert, alert_id)
        assert ops.escalate_due(alert.created_at + dt.timedelta(minutes=6)) == [alert_id]
        db.session.commit()
        reminders = db.session.execute(select(Delivery).where(Delivery.kind == "reminder")).scalars().all()
        assert reminders == []

    # The dashboard warns that a member of an alert group opted out.
    dashboard = officer.get("/").get_data(as_text=True)
    members = texts_of(dashboard, "opted-out-member")
    assert len(members) == 1 and "Nagy Péter" in members[0] and GROUP in members[0]
    assert f"STOP választ küldött a #{alert_id} riasztásra" in members[0]
    assert f'href="/alerts/{alert_id}"' in dashboard.split('data-testid="opt-out-warning"')[1]

    # The after-action report names him as opted out, not as one who did not confirm.
    report = officer.get(f"/incidents/{incident}/after-action").get_data(as_text=True)
    assert texts_of(report, "aar-opted-out") == ["Nagy Péter"]
    assert texts_of(report, "aar-never") == ["—"]
    csv_text = officer.get(f"/incidents/{incident}/after-action.csv").data.decode("utf-8-sig")
    alert_row = next(row for row in csv.DictReader(io.StringIO(csv_text, newline="")) if row["section"] == "alert")
    assert alert_row["opted_out"] == "Nagy Péter" and alert_row["never_confirmed"] == ""

    # START: he is back; the dashboard's warning goes, the reply stays on the alert page.
    inbound(client, "SM" + "4" * 32, PETER, "START")
    assert 'data-testid="opt-out-warning"' not in officer.get("/").get_data(as_text=True)
    again = officer.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert texts_of(again, "reply-action")[-1] == "újra feliratkozott az SMS-riasztásokra"
    assert 'data-testid="opt-out-warning"' not in again


def test_a_simulated_stop_is_the_officers_entry_in_the_log(app, client, api, make_user, login):
    from alerts.models import Delivery, OutboxMessage
    from incident.extensions import db

    headers, _ = api("officer")
    incident, alert_id, _ids = sent_alert(app, client, headers)
    with app.app_context():
        delivery = db.session.execute(select(Delivery).where(Delivery.alert_id == alert_id, Delivery.phone == PETER)).scalar_one()
        message = OutboxMessage(sid="console-1", to=PETER, body=delivery.body, delivery_id=delivery.id)
        db.session.add(message)
        db.session.commit()
        message_id = message.id
    officer = make_user("officer", name="Szabó Szilvia")
    login(officer)
    outbox = client.get("/alerts/outbox").get_data(as_text=True)
    answer = client.post(f"/alerts/outbox/{message_id}/reply", data={"csrf_token": csrf_from(outbox), "text": "LEIRATKOZOM"})
    assert answer.status_code == 302

    entry = client.get(f"/api/v1/incidents/{incident}/log", headers=headers).get_json()["items"][-1]
    assert entry["kind"] == "communication" and entry["author"] == officer["email"]
    assert entry["text"].startswith("SZIMULÁLT válasz") and "Nagy Péter leiratkozott az SMS-riasztásokról" in entry["text"]
    html = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert re.sub(r"\s+", " ", texts_of(html, "reply-action")[0]) == "leiratkozott az SMS-riasztásokról (szimulált)"


def make_people(client, headers) -> int:
    """A group with two mobiles, a duty phone shared with Júlia, someone who opted out and a landline."""
    group = client.post("/api/v1/groups", json={"name": GROUP}, headers=headers).get_json()["id"]
    for name, phone, opted_in in (("Kovács Júlia", JULIA, True), ("Nagy Péter", PETER, True),
                                  ("Ügyeletes (közös telefon)", DUTY, True), ("Leiratkozott Lili", LILI, False),
                                  ("Polgármesteri Hivatal", OFFICE, True)):
        created = client.post("/api/v1/contacts", json={"name": name, "phone": phone, "sms_opt_in": opted_in,
                                                        "groups": [group]}, headers=headers)
        assert created.status_code == 201, created.get_json()
    return group


def heading_count(html: str, heading_id: str) -> int:
    return int(re.search(rf'<h2 id="{heading_id}">[^<]*<small class="muted">\((\d+)\)</small>', html).group(1))


def test_excluded_and_merged_are_counted_alike_on_the_confirmation_the_alert_page_the_api_and_the_report(
        app, client, api, make_user, login):
    headers, _ = api("officer")
    group = make_people(client, headers)
    incident = client.post("/api/v1/incidents", json={"title": "Vihar", "kind": "storm", "severity": "moderate",
                                                      "location": POINT}, headers=headers).get_json()["id"]
    login(make_user("officer"))

    # The confirmation: 2 excluded (Lili opted out, the landline), listed as 2; the duty phone
    # merged into Júlia's, counted and listed apart as merged.
    form = client.get("/alerts/new").get_data(as_text=True)
    confirm = client.post("/alerts/new", data={"csrf_token": csrf_from(form), "body": "Vihar: HVB 18-kor",
                                               "groups": str(group), "incident_id": str(incident)})
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200, html
    assert texts_of(html, "recipient-count") == ["2"]
    assert texts_of(html, "excluded-count") == ["2"] and heading_count(html, "excluded-heading") == 2
    left_out = html.split('id="excluded-heading"')[1].split("</section>")[0]
    assert sorted(re.findall(r'<tr data-testid="exclusion" data-reason="(\w+)">', left_out)) == ["not_mobile", "opted_out"]
    assert texts_of(html, "merged-count") == ["1"] and heading_count(html, "merged-heading") == 1
    merged = html.split('id="merged-heading"')[1].split("</section>")[0]
    assert "Ügyeletes (közös telefon)" in merged and "összevonva" in merged

    # The API's preview says the same.
    preview = client.post("/api/v1/alerts/recipients", json={"body": "Vihar", "groups": [group]}, headers=headers).get_json()
    assert (preview["recipients"], preview["excluded"], preview["merged"]) == (2, 2, 1)

    sent = client.post("/alerts/send", data=MultiDict(Forms(html).forms["send-form"]["fields"]))
    alert_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    app.extensions["huey"].flush()

    page = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    counts = data_counts(page)
    assert counts["excluded"] == 2 and counts["merged"] == 1
    assert heading_count(page, "exclusions-heading") == 2 and heading_count(page, "merged-heading") == 1
    assert "Ügyeletes (közös telefon)" not in page.split('id="exclusions-heading"')[1].split("</section>")[0]
    assert "Ügyeletes (közös telefon)" in page.split('id="merged-heading"')[1].split("</section>")[0]
    api_counts = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts"]
    assert (api_counts["excluded"], api_counts["merged"]) == (2, 1)

    report = client.get(f"/incidents/{incident}/after-action").get_data(as_text=True)
    assert texts_of(report, "aar-excluded") == ["2"] and texts_of(report, "aar-merged") == ["1"]
    log = client.get(f"/api/v1/incidents/{incident}/log", headers=headers).get_json()["items"]
    assert any(f"SMS-riasztás ({alert_id}) elküldve 2 címzettnek (2 kizárva)" in e["text"] for e in log)
