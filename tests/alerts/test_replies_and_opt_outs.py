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
    assert texts_of(html, "reply-action") == ["leiratkozott az SMS-riasztásokról", "visszaigazolta",
                                                  "egyéb szöveg (nem IGEN vagy STOP)"]
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
        f"Nagy Péter leiratkozott az SMS-riasztásokról: „STOP” választ küldött a #{alert_id} SMS-riasztásra.")

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
    assert any(f"A #{alert_id} SMS-riasztás elküldve 2 címzettnek (2 kizárva)" in e["text"] for e in log)


# The review of replies: which alert a reply answers, and what it may change


def outbox_message(app, alert_id: int, phone: str) -> int:
    """What the console gateway records for the delivery of ``alert_id`` to ``phone``: its id."""
    from alerts.models import Delivery, OutboxMessage
    from incident.extensions import db

    with app.app_context():
        delivery = db.session.execute(
            select(Delivery).where(Delivery.alert_id == alert_id, Delivery.phone == phone)).scalar_one()
        message = OutboxMessage(sid=f"console-{delivery.id}", to=phone, body=delivery.body, delivery_id=delivery.id)
        db.session.add(message)
        db.session.commit()
        return message.id


def later_alert(app, client, headers, contact_ids, **extra) -> int:
    """Another alert to the contacts, as if sent (newer than those before it)."""
    from alerts.models import Alert, Delivery
    from incident.extensions import db

    response = client.post("/api/v1/alerts", json={"body": "Tájékoztatás: a HVB ülés 10-kor kezdődik",
                                                   "contacts": list(contact_ids), **extra}, headers=headers)
    assert response.status_code == 202, response.get_json()
    alert_id = response.get_json()["id"]
    app.extensions["huey"].flush()
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        alert.created_at += dt.timedelta(seconds=1)  # strictly the newest, whatever the clock's resolution
        for delivery in db.session.execute(select(Delivery).where(Delivery.alert_id == alert_id)).scalars():
            delivery.status, delivery.provider_sid = "sent", f"SM{delivery.id:032d}"
        db.session.commit()
    return alert_id


def outbox_replies(html: str, message_id: int) -> list[tuple[str, str, list[str]]]:
    """The replies simulated on one outbox message: (what was typed, what it did, the alert it answered)."""
    row = html.split(f'data-message="{message_id}"')[1].split("</tr>")[0]
    out = []
    for item in re.findall(r'<li data-testid="reply".*?</li>', row, re.DOTALL):
        outcome = re.search(r'data-outcome="(\w+)"', item).group(1)
        out.append((texts_of(item, "reply-said")[0], outcome, re.findall(r'href="/alerts/(\d+)" data-testid="reply-alert"', item)))
    return out


def test_the_outbox_shows_the_alert_a_simulated_reply_answered(app, client, api, make_user, login):
    """A reply answers the newest alert for that phone (the newest asking for an acknowledgement,
    for an OK), which need not be the one whose outbox message the officer answered: the outbox
    names the alert the reply acted on."""
    headers, _ = api("officer")
    _incident, asking, ids = sent_alert(app, client, headers)
    telling = later_alert(app, client, headers, ids.values())  # asks for nothing, newer
    julia_on_telling = outbox_message(app, telling, JULIA)
    peter_on_asking = outbox_message(app, asking, PETER)
    login(make_user("officer"))
    token = csrf_from(client.get("/alerts/outbox").get_data(as_text=True))

    # IGEN typed on the message of the alert that asks for nothing acknowledges the one that asks.
    assert client.post(f"/alerts/outbox/{julia_on_telling}/reply", data={"csrf_token": token, "text": "IGEN"}).status_code == 302
    # STOP typed on the message of the older alert opts out of the newest one.
    assert client.post(f"/alerts/outbox/{peter_on_asking}/reply", data={"csrf_token": token, "text": "STOP"}).status_code == 302

    html = client.get("/alerts/outbox").get_data(as_text=True)
    assert outbox_replies(html, julia_on_telling) == [("IGEN", "ack", [str(asking)])]
    assert outbox_replies(html, peter_on_asking) == [("STOP", "stop", [str(telling)])]
    assert f"a #{asking} riasztásra" in html.split(f'data-message="{julia_on_telling}"')[1].split("</tr>")[0]
    counts = client.get(f"/api/v1/alerts/{asking}", headers=headers).get_json()["counts"]
    assert counts["acknowledged"] == 1 and counts["opted_out"] == 0
    assert client.get(f"/api/v1/alerts/{telling}", headers=headers).get_json()["counts"]["opted_out"] == 1


def age(app, alert_id: int, by: dt.timedelta) -> None:
    """Make the alert ``by`` older (as if sent then)."""
    from alerts.models import Alert
    from incident.extensions import db

    with app.app_context():
        db.session.get(Alert, alert_id).created_at -= by
        db.session.commit()


def test_a_reply_past_the_acknowledgement_window_answers_no_alert_and_changes_only_consent(twilio_app, api):
    from alerts import operations as ops
    from alerts.models import Delivery, Reply
    from factories import move_incident
    from incident.extensions import db

    client = twilio_app.test_client()
    headers, _ = api("officer")
    incident, alert_id, ids = sent_alert(twilio_app, client, headers)
    age(twilio_app, alert_id, ops.ACK_WAIT + dt.timedelta(hours=1))
    move_incident(twilio_app, incident, "active", "contained", "closed")
    log_before = client.get(f"/api/v1/incidents/{incident}/log", headers=headers).get_json()["items"]

    inbound(client, "SM" + "a" * 32, PETER, "STOP")
    inbound(client, "SM" + "b" * 32, JULIA, "Megkaptam, de késve")
    inbound(client, "SM" + "c" * 32, JULIA, "OK")

    # STOP still opts Péter out: that is his consent, whatever it answers.
    assert client.get(f"/api/v1/contacts/{ids['Nagy Péter']}", headers=headers).get_json()["sms_opt_in"] is False
    # The old alert is unchanged: nobody acknowledged or opted out of it, its SMS are still "sent".
    counts = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts"]
    assert (counts["acknowledged"], counts["opted_out"], counts["delivered"], counts["sent"]) == (0, 0, 0, 2)
    assert client.get(f"/api/v1/alerts/{alert_id}/replies", headers=headers).get_json()["total"] == 0
    # The closed incident's log is as it was closed.
    assert client.get(f"/api/v1/incidents/{incident}/log", headers=headers).get_json()["items"] == log_before
    # Every reply is kept, answering no alert.
    with twilio_app.app_context():
        replies = db.session.execute(select(Reply).order_by(Reply.id)).scalars().all()
        assert [(r.action, r.alert_id, r.delivery_id) for r in replies] == [
            ("stop", None, None), ("unknown", None, None), ("nothing_to_ack", None, None)]
        assert db.session.execute(select(Delivery.opted_out_at).where(Delivery.phone == PETER)).scalar_one() is None


def test_a_reply_to_a_recent_alert_of_a_closed_incident_stays_out_of_its_log(twilio_app, api):
    from factories import move_incident

    client = twilio_app.test_client()
    headers, _ = api("officer")
    incident, alert_id, _ids = sent_alert(twilio_app, client, headers)
    move_incident(twilio_app, incident, "active", "contained", "closed")
    log_before = client.get(f"/api/v1/incidents/{incident}/log", headers=headers).get_json()["items"]

    inbound(client, "SM" + "d" * 32, JULIA, "OK")
    inbound(client, "SM" + "e" * 32, PETER, "STOP")

    # The alert records both (it is within its window)…
    counts = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts"]
    assert counts["acknowledged"] == 1 and counts["opted_out"] == 1
    # …but the closed incident's log is finished.
    assert client.get(f"/api/v1/incidents/{incident}/log", headers=headers).get_json()["items"] == log_before


def test_stop_then_yes_is_not_an_acknowledgement(twilio_app, api):
    client = twilio_app.test_client()
    headers, _ = api("officer")
    incident, alert_id, _ids = sent_alert(twilio_app, client, headers)

    inbound(client, "SM" + "f" * 32, PETER, "STOP")
    inbound(client, "SM" + "0" * 32, PETER, "IGEN")

    counts = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts"]
    assert counts["acknowledged"] == 0 and counts["opted_out"] == 1
    replies = client.get(f"/api/v1/alerts/{alert_id}/replies", headers=headers).get_json()["items"]
    assert [r["action"] for r in replies] == ["stop", "nothing_to_ack"]
    log = client.get(f"/api/v1/incidents/{incident}/log", headers=headers).get_json()["items"]
    assert not any("visszaigazolta" in e["text"] for e in log)


def test_an_answer_that_starts_with_yes_acknowledges_and_one_that_does_not_is_other_text(twilio_app, api):
    """Hungarian recipients answer in sentences: "Igen, megkaptam" confirms; "Nem igen" does not."""
    client = twilio_app.test_client()
    headers, _ = api("officer")
    _incident, alert_id, _ids = sent_alert(twilio_app, client, headers)

    inbound(client, "SM" + "1" * 32, PETER, "Nem igen értem")
    inbound(client, "SM" + "2" * 32, PETER, "Igen, megkaptam!")

    replies = client.get(f"/api/v1/alerts/{alert_id}/replies", headers=headers).get_json()["items"]
    assert [r["action"] for r in replies] == ["unknown", "ack"]
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts"]["acknowledged"] == 1


def test_the_wall_expects_no_acknowledgement_from_who_opted_out_or_was_not_reached(twilio_app, api, make_user):
    """After a STOP the wall map's "acknowledged / expected" leaves him out, as the alert page's
    "still silent" does; a message that failed is not expected to be answered either."""
    from alerts.models import Delivery
    from incident.extensions import db

    client = twilio_app.test_client()
    headers, _ = api("officer")
    viewer, _ = api("viewer")
    _incident, alert_id, _ids = sent_alert(twilio_app, client, headers)

    def wall() -> str:
        counts = client.get("/api/v1/map/summary", headers=viewer).get_json()["counts"]
        return {c["key"]: c["value"] for c in counts}["acknowledged"]

    assert wall() == "0 / 2"
    inbound(client, "SM" + "5" * 32, PETER, "STOP")
    officer = signed_in(twilio_app, make_user("officer"))
    page = officer.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert texts_of(page, "silent-count") == ["1"] and wall() == "0 / 1"
    inbound(client, "SM" + "6" * 32, JULIA, "OK")
    page = officer.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert texts_of(page, "silent-count") == ["0"] and wall() == "1 / 1"

    # Had Júlia's SMS failed (and nobody answered yet), only Péter's answer would be expected.
    with twilio_app.app_context():
        for delivery in db.session.execute(select(Delivery).where(Delivery.alert_id == alert_id)).scalars():
            delivery.acknowledged_at = delivery.opted_out_at = None
            delivery.status = "failed" if delivery.phone == JULIA else delivery.status
        db.session.commit()
    page = officer.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert 'data-awaiting="true"' in page and wall() == "0 / 1"


def test_the_after_action_report_masks_the_phone_of_a_recipient_without_a_name(app, client, api, make_user, login):
    from alerts.models import Delivery
    from incident.extensions import db

    headers, _ = api("officer")
    incident, alert_id, _ids = sent_alert(app, client, headers)
    with app.app_context():  # a recipient known only by the phone (a contact's name removed since, an API call…)
        for delivery in db.session.execute(select(Delivery).where(Delivery.alert_id == alert_id)).scalars():
            delivery.name = ""
        db.session.commit()
    with app.test_request_context():
        from alerts import operations as ops

        ops.handle_reply(JULIA, "STOP")
        db.session.commit()

    login(make_user("viewer"))
    html = client.get(f"/incidents/{incident}/after-action").get_data(as_text=True)
    assert texts_of(html, "aar-never") == ["+36 20 *** **02"]
    assert texts_of(html, "aar-opted-out") == ["+36 20 *** **01"]
    csv_text = client.get(f"/incidents/{incident}/after-action.csv").data.decode("utf-8-sig")
    for text in (html, csv_text):
        assert PETER not in text and "555 0302" not in text and JULIA not in text


def test_a_reply_with_other_text_is_an_answer_shown_logged_and_reported_but_not_an_acknowledgement(
        twilio_app, api, make_user):
    """“Útban vagyok, 10 perc múlva ott” is neither OK nor STOP: the person answered (off “still
    silent”, into “replied with other text” with what they wrote), the incident's log quotes it,
    the after-action report lists them apart (neither never confirmed nor acknowledged), and the
    reply's label does not read like an error."""
    client = twilio_app.test_client()
    headers, _ = api("officer")
    incident, alert_id, _ids = sent_alert(twilio_app, client, headers)

    inbound(client, "SM" + "7" * 32, PETER, "Útban vagyok, 10 perc <múlva> ott")

    officer = signed_in(twilio_app, make_user("officer"))
    html = officer.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert texts_of(html, "silent-count") == ["1"]
    assert [s for s in texts_of(html, "silent-person") if "Kovács Júlia" in s]
    assert not [s for s in texts_of(html, "silent-person") if "Nagy Péter" in s]
    others = texts_of(html, "other-text-person")
    assert len(others) == 1 and "Nagy Péter" in others[0]
    assert texts_of(html, "other-text") == ["Útban vagyok, 10 perc <múlva> ott"]
    assert "Útban vagyok, 10 perc &lt;múlva&gt; ott" in html
    assert texts_of(html, "reply-action") == ["egyéb szöveg (nem IGEN vagy STOP)"]
    assert data_counts(html)["acknowledged"] == 0

    log = client.get(f"/api/v1/incidents/{incident}/log", headers=headers).get_json()["items"]
    entries = [e for e in log if "Útban vagyok" in e["text"]]
    assert len(entries) == 1 and entries[0]["kind"] == "communication" and entries[0]["author"] == "sms"
    assert "Nagy Péter" in entries[0]["text"] and f"#{alert_id}" in entries[0]["text"]

    report = officer.get(f"/incidents/{incident}/after-action").get_data(as_text=True)
    assert texts_of(report, "aar-never") == ["Kovács Júlia"]
    assert texts_of(report, "aar-other-person") == ["Nagy Péter: Útban vagyok, 10 perc <múlva> ott"]
    assert "Egyéb szöveggel válaszolt" in report
    assert texts_of(report, "aar-ack-rate")[0].startswith("0 ")
    csv_text = officer.get(f"/incidents/{incident}/after-action.csv").data.decode("utf-8-sig")
    alert_row = next(row for row in csv.DictReader(io.StringIO(csv_text, newline="")) if row["section"] == "alert")
    assert alert_row["never_confirmed"] == "Kovács Júlia"
    assert alert_row["replied_other_text"] == "Nagy Péter: Útban vagyok, 10 perc <múlva> ott"

    # Péter confirms afterwards: an acknowledgement, no longer “other text”.
    inbound(client, "SM" + "8" * 32, PETER, "IGEN")
    html = officer.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert texts_of(html, "other-text-person") == [] and data_counts(html)["acknowledged"] == 1


def test_the_log_names_an_alert_by_its_number_and_says_visszaigazolta(app, client, api, make_user, login):
    """The pages say “#2” and “visszaigazolta”: the log's new entries say the same (a(z) 2. reads
    as “the second alert”; nyugtázta was another word for the same thing)."""
    from alerts.models import OutboxMessage
    from incident.extensions import db

    headers, _ = api("officer")
    incident, alert_id, _ids = sent_alert(app, client, headers)
    julia, peter = outbox_message(app, alert_id, JULIA), outbox_message(app, alert_id, PETER)
    with app.test_request_context():
        from alerts import operations as ops

        ops.handle_reply(JULIA, "IGEN")
        ops.handle_reply(PETER, "IGEN", simulated_from=db.session.get(OutboxMessage, peter))
        db.session.commit()
    assert julia
    texts = [e["text"] for e in client.get(f"/api/v1/incidents/{incident}/log", headers=headers).get_json()["items"]]
    assert any(t.startswith(f"A #{alert_id} SMS-riasztás elküldve") for t in texts)
    assert f"Kovács Júlia visszaigazolta a #{alert_id} SMS-riasztást." in texts
    assert any(t.endswith(f"Nagy Péter visszaigazolta a #{alert_id} SMS-riasztást.") and t.startswith("SZIMULÁLT")
               for t in texts)
    assert not any("nyugtázta" in t or "a(z)" in t for t in texts)


def test_an_alert_of_a_closed_incident_waits_for_no_acknowledgement(twilio_app, api, make_user):
    """Closed, the incident's alert leaves the dashboard's "waiting for acknowledgements" and the
    wall map's count."""
    from factories import move_incident

    client = twilio_app.test_client()
    headers, _ = api("officer")
    viewer, _ = api("viewer")
    incident, alert_id, _ids = sent_alert(twilio_app, client, headers)
    with twilio_app.app_context():
        from alerts import operations as ops
        from incident.extensions import db

        ops.finish_done_alerts()
        db.session.commit()
    officer = signed_in(twilio_app, make_user("officer"))

    def wall() -> str:
        counts = client.get("/api/v1/map/summary", headers=viewer).get_json()["counts"]
        return {c["key"]: c["value"] for c in counts}["acknowledged"]

    assert f'href="/alerts/{alert_id}"' in officer.get("/").get_data(as_text=True) and wall() == "0 / 2"
    move_incident(twilio_app, incident, "active", "contained", "closed")
    assert f'href="/alerts/{alert_id}"' not in officer.get("/").get_data(as_text=True)
    assert wall() == "0 / 0"
    assert 'data-awaiting="false"' in officer.get(f"/alerts/{alert_id}").get_data(as_text=True)
