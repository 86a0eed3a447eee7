"""The after-action report: the figures of each alert and of the resources match what happened."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

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
    # One channel: no breakdown by channel, the figures as they always were.
    assert 'data-testid="aar-channels"' not in html and 'data-testid="aar-messages"' not in html
    assert 'data-testid="aar-email-note"' not in html and "<th>Recipients</th>" in html and "<th>Delivered</th>" in html
    assert "<svg" in html and "Szivattyú &lt;1&gt;" in html
    assert 'data-testid="drill-banner"' in html
    csv_text = page_client.get(f"/incidents/{incident['id']}/after-action.csv").data.decode("utf-8-sig")
    alert_row = next(line for line in csv_text.splitlines() if line.startswith("alert,"))
    assert ",4,3,0.750,2,0.500,20.000,240.000,360.000,Tag 2; Tag 3," in alert_row
    rows = list(csv.DictReader(io.StringIO(csv_text, newline="")))
    assert [(r["section"], r["channel"], r["failed"]) for r in rows if r["section"].startswith("alert")] == [("alert", "sms", "1")]
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


# An alert on SMS and e-mail: (name, phone, e-mail); a landline takes no SMS, an empty address no e-mail.
PEOPLE = [
    ("Kovács Anna", "+36205550501", "anna.kovacs@belvaros.example"),  # confirms by the link, then by SMS too
    ("Nagy Béla", "+36205550502", "bela.nagy@belvaros.example"),  # confirms by the link
    ("Szabó Cecília", "+36205550503", ""),  # SMS only; confirms by SMS
    ("Tóth Dénes", "+3612345678", "denes.toth@belvaros.example"),  # e-mail only; confirms by the link
    ("Kiss Emese", "+36205550505", "emese.kiss@belvaros.example"),  # SMS undelivered; never confirms
    ("Fekete Ferenc", "+36205550506", ""),  # SMS only, undelivered: reached on no channel
]
# When each confirmed, on which channel, in minutes after the alert (set once they have, for exact medians).
# Anna's SMS OK after her link confirmation uses up nothing: a contact confirms once, on one channel.
# Anna confirmed by e-mail, then answered the SMS too: counted on both channels, once as a person.
ACK_MINUTES = {("Kovács Anna", "email"): 2, ("Nagy Béla", "email"): 4,
               ("Szabó Cecília", "sms"): 6, ("Kovács Anna", "sms"): 8, ("Tóth Dénes", "email"): 10}


def _confirm_by_link(app, message) -> None:
    """Open the e-mail's personal link as its recipient would (not signed in) and press the button."""
    from conftest import csrf_from

    browser = app.test_client()
    path = re.search(r"https?://\S+(/ack/\S+)", message.body).group(1)
    page = browser.get(path)
    assert page.status_code == 200 and 'data-testid="ack-button"' in page.get_data(as_text=True)
    done = browser.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert done.status_code == 200 and 'data-testid="ack-done"' in done.get_data(as_text=True)


def _signed_in_viewer(app, make_user, lang: str):
    viewer = make_user("viewer")
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={**viewer, "csrf_token": token})
    client.get(f"/lang/{lang}")
    return client


def _alert_block(html: str, alert_id: int) -> str:
    return html.split(f'data-alert="{alert_id}"')[1].split('data-testid="aar-alert"')[0]


def _channel_cells(block: str) -> dict[str, dict[str, str]]:
    """The per-channel table of an alert's block: {channel: {cell: text}}."""
    table = block.split('data-testid="aar-channels"')[1].split("</table>")[0]
    out = {}
    for channel, row in re.findall(r'data-testid="aar-channel" data-channel="(\w+)">(.*?)</tr>', table, re.DOTALL):
        out[channel] = {name: text.strip() for name, text in re.findall(r'data-cell="([\w-]+)">(.*?)</td>', row, re.DOTALL)}
        out[channel]["label"] = re.search(r"<th>(.*?)</th>", row, re.DOTALL).group(1).strip()
    return out


def _cell(block: str, testid: str) -> str:
    return block.split(f'data-testid="{testid}">')[1].split("</td>")[0].strip()


def test_the_report_breaks_an_sms_and_e_mail_alert_down_by_channel(sms_app, sms_server, consumer, fake_twilio, api,
                                                                    make_user):
    """Through the API, the real queue (fake Twilio for SMS, the console mailer for e-mail), the
    signed SMS webhooks and the e-mail links: each channel's messages, reached, failed, confirmed
    on it and its median time to confirm; the alert's own figures count each person once."""
    from sqlalchemy import select

    from conftest import wait_until_idle
    from incident.extensions import db

    from alerts.models import Alert, Delivery, OutboxMessage

    client = sms_app.test_client()
    headers, _ = api("officer")
    incident = client.post("/api/v1/incidents", json={"title": "Árvíz a Duna-parton", "kind": "flood",
                                                      "severity": "severe", "location": POINT}, headers=headers).get_json()
    group = client.post("/api/v1/groups", json={"name": "Intézményvezetők"}, headers=headers).get_json()["id"]
    for name, phone, email in PEOPLE:
        response = client.post("/api/v1/contacts", json={"name": name, "phone": phone, "email": email, "groups": [group],
                                                         "sms_opt_in": True}, headers=headers)
        assert response.status_code == 201, response.get_json()
    created = client.post("/api/v1/alerts", json={"body": "Árvízvédelmi készültség, HVB ülés 9:00-kor.", "groups": [group],
                                                  "channels": ["sms", "email"], "require_ack": True,
                                                  "incident_id": incident["id"]}, headers=headers)
    assert created.status_code == 202, created.get_json()
    alert_id = created.get_json()["id"]

    def emails():
        with sms_app.app_context():
            return {m.to: m for m in db.session.execute(
                select(OutboxMessage).where(OutboxMessage.channel == "email")).scalars()}

    wait_for(lambda: len(fake_twilio.messages) == 5 and len(emails()) == 4)
    wait_until_idle(sms_app)
    by_phone = {m.to: m for m in fake_twilio.messages}
    for _, phone, _ in PEOPLE[:3]:
        assert fake_twilio.status_callback(by_phone[phone], "delivered")[0] == 200
    for phone in ("+36205550505", "+36205550506"):
        assert fake_twilio.status_callback(by_phone[phone], "undelivered", error_code=30006)[0] == 200
    mail = emails()
    for address in ("anna.kovacs@belvaros.example", "bela.nagy@belvaros.example", "denes.toth@belvaros.example"):
        _confirm_by_link(sms_app, mail[address])
    inbound = sms_server + "/webhooks/twilio/inbound"
    for phone in ("+36205550501", "+36205550503"):  # Anna (confirmed by e-mail already) and Cecília
        assert FakeTwilio.signed_post(inbound, {"From": phone, "Body": "OK"})[0] == 200

    api_alert = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()
    assert api_alert["counts"]["acknowledged"] == 4  # Anna once, though on both channels
    # Known times make the medians exact.
    with sms_app.app_context():
        start = db.session.get(Alert, alert_id).created_at
        acked = db.session.execute(select(Delivery.name, Delivery.channel).where(
            Delivery.alert_id == alert_id, Delivery.acknowledged_at.is_not(None))).all()
        assert set(acked) == set(ACK_MINUTES)
        for (name, channel), minutes in ACK_MINUTES.items():
            db.session.execute(update(Delivery).where(Delivery.alert_id == alert_id, Delivery.name == name,
                                                      Delivery.channel == channel)
                               .values(acknowledged_at=start + dt.timedelta(minutes=minutes)))
        db.session.commit()

    by_channel = api_alert["counts_by_channel"]
    expected = {  # messages, reached, failed, confirmed on the channel, median time to confirm (en, hu)
        "sms": ("5", "3 (60%)", "2", "2", "7 min 0 s", "7 perc 0 mp"),  # Cecília 6′, Anna 8′ (after her e-mail)
        "email": ("4", "4 (100%)", "0", "3", "4 min 0 s", "4 perc 0 mp"),  # Anna 2′, Béla 4′, Dénes 10′
    }
    # The report's figures are the API's (an e-mail the server took, "sent", counts as reached).
    assert sum(by_channel["sms"][s] for s in ("queued", "sending", "sent", "delivered", "undelivered", "failed")) == 5
    assert (by_channel["sms"]["delivered"], by_channel["email"]["sent"]) == (3, 4)
    assert (by_channel["sms"]["undelivered"], by_channel["email"]["failed"] + by_channel["email"]["undelivered"]) == (2, 0)
    assert (by_channel["sms"]["acknowledged"], by_channel["email"]["acknowledged"]) == (2, 3)

    for lang, column in (("en", 4), ("hu", 5)):
        page = _signed_in_viewer(sms_app, make_user, lang)
        html = page.get(f"/incidents/{incident['id']}/after-action").get_data(as_text=True)
        block = _alert_block(html, alert_id)
        cells = _channel_cells(block)
        assert list(cells) == ["sms", "email"]  # in the alert's order
        for channel, figures in expected.items():
            assert cells[channel]["label"] == {"sms": "SMS", "email": "e-mail"}[channel]
            assert (cells[channel]["messages"], cells[channel]["reached"], cells[channel]["failed"],
                    cells[channel]["acknowledged"], cells[channel]["median-ack"]) == figures[:4] + (figures[column],), lang
        # The alert's own figures count people: six, four of whom confirmed (Anna once, at 2′).
        assert _cell(block, "aar-recipients") == "6" and _cell(block, "aar-messages") == "9"
        assert _cell(block, "aar-delivery-rate") == "5 (83%)"  # all but Ferenc (his SMS undelivered, no address)
        assert _cell(block, "aar-failed") == "1"
        assert _cell(block, "aar-ack-rate") == "4 (67%)"
        assert _cell(block, "aar-median-ack") == {"en": "5 min 0 s", "hu": "5 perc 0 mp"}[lang]  # 2′, 4′, 6′, 10′
        assert _cell(block, "aar-slowest-ack") == {"en": "10 min 0 s", "hu": "10 perc 0 mp"}[lang]
        assert _cell(block, "aar-never") == "Fekete Ferenc, Kiss Emese"
        assert _cell(block, "aar-excluded") == "3"  # a landline on SMS, two without an address on e-mail
        assert 'data-testid="aar-email-note"' in block
    assert "SMTP" in block.split('data-testid="aar-email-note"')[1].split("</p>")[0]

    csv_text = page.get(f"/incidents/{incident['id']}/after-action.csv").data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(csv_text, newline="")))
    alert_row = next(r for r in rows if r["section"] == "alert")
    assert (alert_row["recipients"], alert_row["delivered"], alert_row["failed"], alert_row["acknowledged"],
            alert_row["median_ack_s"], alert_row["channel"]) == ("6", "5", "1", "4", "300.000", "sms+email")
    channel_rows = {r["channel"]: r for r in rows if r["section"] == "alert_channel"}
    assert list(channel_rows) == ["sms", "email"]
    assert [(r["recipients"], r["delivered"], r["delivery_rate"], r["failed"], r["acknowledged"], r["median_ack_s"])
            for r in channel_rows.values()] == [("5", "3", "0.600", "2", "2", "420.000"),
                                                ("4", "4", "1.000", "0", "3", "240.000")]
