"""Alerts by e-mail beside SMS (issue 15, SPEC §4): recipients per channel with the reasons for
those who cannot be reached, one message per recipient and channel through the real queue, the
personal acknowledgement link (GET shows, only POST confirms), and a contact counted once
whichever channel they confirmed on."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from conftest import csrf_from, wait_for, wait_until_idle
from fake_twilio import FakeTwilio

PEOPLE = [  # name, phone, e-mail
    ("Kovács Anna", "+36205550301", "anna.kovacs@belvaros.example"),
    ("Nagy Béla", "+36205550302", ""),  # no e-mail: SMS only
    ("Szabó Cecília", "+36205550303", "ANNA.kovacs@belvaros.example"),  # the same mailbox as Anna's
    ("Tóth Dénes", "+3612345678", "denes.toth@belvaros.example"),  # a landline: e-mail only
]


def _group(client, headers) -> int:
    group = client.post("/api/v1/groups", json={"name": "Intézményvezetők"}, headers=headers).get_json()["id"]
    for name, phone, email in PEOPLE:
        response = client.post("/api/v1/contacts", json={"name": name, "phone": phone, "email": email,
                                                         "groups": [group], "sms_opt_in": True}, headers=headers)
        assert response.status_code == 201, response.get_json()
    return group


def _outbox_emails(app):
    from incident.extensions import db

    from alerts.models import OutboxMessage

    with app.app_context():
        return db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "email")
                                  .order_by(OutboxMessage.to)).scalars().all()


def test_recipients_are_shown_per_channel_with_who_cannot_be_reached(app, client, api):
    headers, _ = api("officer")
    group = _group(client, headers)
    preview = client.post("/api/v1/alerts/recipients", json={"body": "Próba", "groups": [group],
                                                             "channels": ["sms", "email"]}, headers=headers).get_json()
    assert preview["channels"]["sms"]["recipients"] == 3 and preview["channels"]["sms"]["reasons"] == {"not_mobile": 1}
    assert preview["channels"]["email"]["recipients"] == 2
    assert preview["channels"]["email"]["reasons"] == {"no_email": 1, "duplicate_email": 1}
    wrong = client.post("/api/v1/alerts", json={"body": "Próba", "groups": [group], "channels": ["fax"]}, headers=headers)
    assert wrong.status_code == 422 and "channels" in wrong.get_json()["errors"]["json"]


def test_an_alert_by_sms_and_e_mail_reaches_each_once_and_a_contact_confirms_once(sms_app, sms_server, consumer,
                                                                                 fake_twilio, api):
    client = sms_app.test_client()
    headers, _ = api("officer")
    group = _group(client, headers)
    created = client.post("/api/v1/alerts", json={"body": "Árvízvédelmi készültség.\nHVB ülés 9:00-kor.",
                                                  "groups": [group], "channels": ["sms", "email"], "require_ack": True},
                          headers=headers)
    assert created.status_code == 202, created.get_json()
    alert_id = created.get_json()["id"]
    assert created.get_json()["recipients"] == 5  # 3 SMS + 2 e-mails
    wait_for(lambda: len(fake_twilio.messages) == 3 and len(_outbox_emails(sms_app)) == 2)
    wait_until_idle(sms_app)
    emails = _outbox_emails(sms_app)
    assert [e.to for e in emails] == ["anna.kovacs@belvaros.example", "denes.toth@belvaros.example"]
    assert sorted(m.to for m in fake_twilio.messages) == ["+36205550301", "+36205550302", "+36205550303"]
    anna = emails[0]
    assert anna.subject == "Árvízvédelmi készültség."
    assert "HVB ülés 9:00-kor." in anna.body
    link = re.search(r"(http://\S+/ack/\S+)", anna.body).group(1)
    assert link.startswith(sms_app.config["PUBLIC_URL"] + "/ack/")

    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()
    assert alert["channels"] == ["sms", "email"]
    assert alert["counts_by_channel"]["email"]["sent"] == 2 and alert["counts_by_channel"]["sms"]["sent"] == 3
    # Left out: a landline on SMS, no address on e-mail; merged: Cecília shares Anna's mailbox.
    assert (alert["counts"]["excluded"], alert["counts"]["merged"]) == (2, 1)

    # Opening the link (as a mail scanner does) confirms nothing; the button does.
    browser = sms_app.test_client()
    path = link[len(sms_app.config["PUBLIC_URL"]):]
    page = browser.get(path)
    assert page.status_code == 200 and 'data-testid="ack-button"' in page.get_data(as_text=True)
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts"]["acknowledged"] == 0
    done = browser.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert done.status_code == 200 and 'data-testid="ack-done"' in done.get_data(as_text=True)
    # Anna answers the SMS too: she is still one contact who confirmed.
    answered = FakeTwilio.signed_post(sms_server + "/webhooks/twilio/inbound", {"From": "+36205550301", "Body": "OK"})
    assert answered[0] == 200
    denes_page = browser.get(re.search(r"(/ack/\S+)", emails[1].body).group(1))
    browser.post(re.search(r"(/ack/\S+)", emails[1].body).group(1), data={"csrf_token": csrf_from(denes_page.get_data(as_text=True))})
    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()
    assert alert["counts"]["acknowledged"] == 2  # Anna (twice) and Dénes
    assert alert["counts_by_channel"]["email"]["acknowledged"] == 2
    rows = client.get(f"/api/v1/alerts/{alert_id}/deliveries?limit=50", headers=headers).get_json()["items"]
    # Her SMS OK came after the link: kept on her SMS (counted on that channel), she counts once.
    assert {(r["channel"], r["name"]) for r in rows if r["acknowledged_at"]} == {
        ("email", "Kovács Anna"), ("sms", "Kovács Anna"), ("email", "Tóth Dénes")}

    # A wrong or altered token finds nothing; a link names one delivery only.
    assert browser.get(path[:-1] + ("0" if path[-1] != "0" else "1")).status_code == 404
    assert browser.get("/ack/1-" + "0" * 32).status_code == 404



def test_the_compose_page_sends_by_e_mail_too_and_shows_who_each_channel_reaches(app, client, api, make_user, login):
    headers, _ = api("officer")
    group = _group(client, headers)
    login(make_user("officer"))
    page = client.get("/alerts/new").get_data(as_text=True)
    assert 'data-testid="channel-sms"' in page and 'data-testid="channel-email"' in page
    form = {"csrf_token": csrf_from(page), "body": "Hőségriasztás: a tornaterem nyitva.", "groups": str(group),
            "channels_shown": "1", "channels": ["sms", "email"], "subject": "Hőségriasztás <III. fokozat>"}
    none = client.post("/alerts/new", data={**form, "channels": []})
    assert none.status_code == 422 and "Válasszon legalább egy csatornát" in none.get_data(as_text=True)
    confirm = client.post("/alerts/new", data=form)
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200, html
    reach = html.split('data-testid="channel-reach"')[1].split("</ul>")[0]
    assert 'data-channel="email"' in reach and "2 címzett" in reach and "nincs e-mail-cím: 1" in reach
    assert "Hőségriasztás &lt;III. fokozat&gt;" in html  # the subject, escaped
    # Each person once (Anna by SMS and e-mail, Dénes's landline by e-mail only), messages apart.
    assert re.search(r'data-testid="recipient-count">(\d+)<', html).group(1) == "4"
    assert re.search(r'data-testid="message-count">(\d+) ', html).group(1) == "5"
    assert html.count('data-testid="recipient"') == 4 and 'data-testid="address-email"' in html
    sent = client.post("/alerts/send", data={**form, "csrf_token": csrf_from(html),
                                             "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)})
    assert sent.status_code in (302, 303)
    alert_id = int(sent.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()
    assert alert["subject"] == "Hőségriasztás <III. fokozat>" and alert["channels"] == ["sms", "email"]
    detail = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert detail.count('data-testid="email"') == 2


def test_e_mails_go_through_a_real_smtp_server_retry_4xx_and_record_5xx(app_factory, smtp_server, api):
    """Through the queue's consumer and the SMTP mailer to aiosmtpd: each address gets one
    e-mail (subject, plain text and HTML with the personal link); two 451s are retried and the
    message then goes; a 550 on one address fails that delivery with the server's reply, and
    nobody else is affected."""
    from conftest import running_consumer

    app = app_factory(SMTP_URL=smtp_server.url, MAIL_FROM="Riadó <riado@belvaros.example>",
                      PUBLIC_URL="https://riado.belvaros.example")
    app.extensions["huey"].flush()
    client = app.test_client()
    headers, _ = api("officer")
    group = client.post("/api/v1/groups", json={"name": "Iskolák"}, headers=headers).get_json()["id"]
    people = [("Igazgató Ida", "ida@iskola.example"), ("Gondnok Géza", "geza@iskola.example"),
              ("Nincs Ilyen", "nincs.ilyen@iskola.example")]
    for i, (name, email) in enumerate(people):
        client.post("/api/v1/contacts", json={"name": name, "phone": f"+3620555040{i}", "email": email,
                                              "groups": [group]}, headers=headers)
    smtp_server.fail_next(451, count=2)
    smtp_server.refuse("nincs.ilyen@iskola.example", 550, text="5.1.1 <nincs.ilyen@iskola.example>: User unknown")
    created = client.post("/api/v1/alerts", json={"body": "Tanítási szünet holnap: az iskola zárva.", "groups": [group],
                                                  "channels": ["email"], "subject": "Iskolabezárás – árvíz",
                                                  "require_ack": True},
                          headers=headers).get_json()
    with running_consumer(app.extensions["huey"]):
        wait_for(lambda: len(smtp_server.messages) == 2, timeout=60)
        wait_until_idle(app, timeout=60)
    received = {m.rcpt_tos[0]: m.message for m in smtp_server.messages}
    assert set(received) == {"ida@iskola.example", "geza@iskola.example"}
    ida = received["ida@iskola.example"]
    assert ida["Subject"] == "Iskolabezárás – árvíz" and "riado@belvaros.example" in ida["From"]
    text = ida.get_body(("plain",)).get_content()
    html = ida.get_body(("html",)).get_content()
    assert "Tanítási szünet holnap" in text and "Tanítási szünet holnap" in html
    link = re.search(r"https://riado\.belvaros\.example/ack/\S+", text).group(0)
    assert link in html and link != re.search(r"https://\S+/ack/[^\s<\"]+", received["geza@iskola.example"]
                                               .get_body(("plain",)).get_content()).group(0)
    rows = {r["name"]: r for r in client.get(f"/api/v1/alerts/{created['id']}/deliveries?limit=10",
                                              headers=headers).get_json()["items"]}
    assert rows["Nincs Ilyen"]["status"] == "failed" and rows["Nincs Ilyen"]["error_code"] == 550
    assert sum(r["attempts"] for r in rows.values()) == 3 + 2  # one each, and the two 451s retried
    assert len(smtp_server.messages) == 2  # nothing sent twice


def test_the_outbox_shows_an_e_mail_as_one_and_offers_no_sms_reply_for_it(app, client, api, make_user, login):
    """With the console mailer, the outbox lists the e-mail with its address and subject; an SMS
    reply cannot be simulated on it (its link confirms it)."""
    from conftest import running_consumer

    headers, _ = api("officer")
    group = _group(client, headers)
    client.post("/api/v1/alerts", json={"body": "Próbariasztás", "groups": [group], "channels": ["email"],
                                        "subject": "Próba"}, headers=headers)
    with running_consumer(app.extensions["huey"]):
        wait_for(lambda: len(_outbox_emails(app)) == 2)
        wait_until_idle(app)
    login(make_user("officer"))
    page = client.get("/alerts/outbox").get_data(as_text=True)
    assert "anna.kovacs@belvaros.example" in page and page.count('data-testid="email-confirm-note"') == 2
    assert 'data-testid="simulate-form"' not in page
    assert "/ack/" not in page  # nobody signed in may confirm in a recipient's name through the outbox
    message = _outbox_emails(app)[0]
    refused = client.post(f"/alerts/outbox/{message.id}/reply", data={"csrf_token": csrf_from(page), "text": "OK"})
    assert refused.status_code in (302, 303)
    assert client.get("/api/v1/alerts", headers=headers).get_json()["items"][0]["counts"]["acknowledged"] == 0


@pytest.mark.fault
def test_an_smtp_server_down_during_the_alert_loses_nobody(app_factory, smtp_server, api):
    """The SMTP server is down when the alert goes out: the e-mails wait and are retried with
    backoff (SMS go out meanwhile); when it is back every address gets its e-mail, once."""
    from conftest import running_consumer

    app = app_factory(SMTP_URL=smtp_server.url, MAIL_FROM="riado@belvaros.example")
    app.extensions["huey"].flush()
    client = app.test_client()
    headers, _ = api("officer")
    group = client.post("/api/v1/groups", json={"name": "Közművek"}, headers=headers).get_json()["id"]
    addresses = [f"ugyelet{i}@kozmu.example" for i in range(5)]
    for i, address in enumerate(addresses):
        client.post("/api/v1/contacts", json={"name": f"Ügyelet {i}", "phone": f"+3620555060{i}", "email": address,
                                              "groups": [group]}, headers=headers)
    smtp_server.stop()
    alert_id = client.post("/api/v1/alerts", json={"body": "Gázszivárgás, Sas utca.", "groups": [group],
                                                   "channels": ["sms", "email"]}, headers=headers).get_json()["id"]

    def emails():
        return [r for r in client.get(f"/api/v1/alerts/{alert_id}/deliveries?limit=50", headers=headers).get_json()["items"]
                if r["channel"] == "email"]

    with running_consumer(app.extensions["huey"]):
        wait_for(lambda: all(r["attempts"] >= 2 and r["status"] == "queued" for r in emails()), timeout=60)
        assert smtp_server.messages == []
        smtp_server.start()
        wait_for(lambda: all(r["status"] == "sent" for r in emails()), timeout=90)
        wait_until_idle(app, timeout=60)
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == addresses  # each once
    counts = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts_by_channel"]
    assert counts["email"]["sent"] == 5 and counts["sms"]["sent"] == 5


def test_an_officer_simulates_an_e_mail_confirmation_on_the_outbox_and_the_log_says_so(app, client, api, make_user,
                                                                                        login):
    """A drill on the console mailer: the outbox hides the personal links from everyone; an
    officer's simulated confirmation counts, and the incident's log marks it SIMULATED; a viewer
    cannot."""
    from conftest import running_consumer

    headers, _ = api("officer")
    group = _group(client, headers)
    incident = client.post("/api/v1/incidents", json={"title": "Törzsgyakorlat", "kind": "other", "severity": "minor",
                                                      "drill": True, "location": {"type": "Point", "coordinates": [19.05, 47.5]}},
                           headers=headers).get_json()
    alert_id = client.post("/api/v1/alerts", json={"body": "Gyakorlat", "groups": [group], "channels": ["email"],
                                                   "subject": "Riasztási gyakorlat", "require_ack": True,
                                                   "incident_id": incident["id"]}, headers=headers).get_json()["id"]
    with running_consumer(app.extensions["huey"]):
        wait_for(lambda: len(_outbox_emails(app)) == 2)
        wait_until_idle(app)
    anna = _outbox_emails(app)[0]
    assert anna.subject == "GYAKORLAT! Riasztási gyakorlat"  # a drill says so in the subject too
    signed_in = login(make_user("viewer"))
    assert signed_in.status_code in (302, 303), signed_in.get_data(as_text=True)[:500]
    response = client.get("/alerts/outbox")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:300]
    assert "/ack/" not in page and 'data-testid="simulate-link"' not in page
    token = csrf_from(client.get("/account").get_data(as_text=True))
    assert client.post(f"/alerts/outbox/{anna.id}/confirm", data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    login(make_user("officer"))
    page = client.get("/alerts/outbox").get_data(as_text=True)
    assert page.count('data-testid="simulate-link"') == 2
    done = client.post(f"/alerts/outbox/{anna.id}/confirm", data={"csrf_token": csrf_from(page)})
    assert done.status_code in (302, 303)
    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()
    assert alert["counts"]["acknowledged"] == 1
    # The alert page lists the confirmation beside the SMS replies (there are none).
    detail = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert detail.count('data-testid="channel-confirmation"') == 1 and "Kovács Anna · e-mail" in detail
    assert "Még nem érkezett SMS-válasz." in detail
    log = client.get(f"/api/v1/incidents/{incident['id']}/log", headers=headers).get_json()["items"]
    assert any("SZIMULÁLT" in e["text"] and "Kovács Anna" in e["text"] for e in log), [e["text"] for e in log]


def test_a_message_refused_for_now_is_retried_for_about_half_an_hour(app, client, api):
    """A mail server (or Twilio) refusing for a few minutes must not fail the alert's messages for
    good: by default a refusal for now is retried ~30 minutes (60 attempts), a permanent one not."""
    from incident.extensions import db

    from alerts import operations as ops
    from alerts.models import Delivery

    headers, _ = api("officer")
    group = _group(client, headers)
    client.post("/api/v1/alerts", json={"body": "Próba", "groups": [group], "channels": ["email"]}, headers=headers)
    with app.app_context():
        first, second = ops.claim_next(), ops.claim_next()
        db.session.execute(update(Delivery).where(Delivery.id == first.id).values(attempts=7))  # ~1 min in
        db.session.commit()
        assert ops.record_failure(first.id, 7, 451, "4.3.0 try again later", retryable=True) is True
        assert sum(ops.backoff_seconds(n) for n in range(1, app.config["RIADO_SMS_MAX_ATTEMPTS"])) >= 25 * 60
        assert ops.record_failure(second.id, 1, 550, "5.1.1 no such user", retryable=False) is False
        db.session.remove()


def test_a_late_failure_of_a_lapsed_claim_leaves_the_claim_another_drain_took_alone(app, client, api):
    """A drain whose lease ran out while the server answered reports its failure after another
    drain took the message over: the report is not that drain's to make (the attempt number
    fences it), so the message is neither queued again behind the live claim nor failed."""
    import datetime as dt

    from incident.extensions import db

    from alerts import operations as ops
    from alerts.models import Delivery

    headers, _ = api("officer")
    group = _group(client, headers)
    client.post("/api/v1/alerts", json={"body": "Próba", "groups": [group], "channels": ["email"]}, headers=headers)
    with app.app_context():
        first = ops.claim_next()
        db.session.execute(update(Delivery).where(Delivery.id == first.id)
                           .values(lease_until=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
        db.session.commit()
        again = ops.claim_next()
        assert again.id == first.id and again.attempts == first.attempts + 1
        assert ops.record_failure(first.id, first.attempts, 550, "5.1.1 no such user", retryable=False) is None
        assert ops.record_failure(first.id, first.attempts, 451, "try later", retryable=True) is None
        assert db.session.get(Delivery, first.id).status == "sending"  # still the second drain's
        assert ops.record_failure(again.id, again.attempts, 451, "try later", retryable=True) is True
        db.session.remove()


def test_a_mail_server_slower_than_the_lease_gets_each_e_mail_once_and_the_drains_say_goodbye(
        app_factory, smtp_server, api):
    """The SMTP server takes longer to answer one DATA than a delivery's lease
    (RIADO_SMS_LEASE_SECONDS, 4 s here): the mailer gives that send up within its share of the
    lease (3 s) rather than let another drain take the e-mail over and send it while the first is
    still at it; the e-mail is retried and arrives once, and nobody else waits for it. When the
    consumer stops, each drain thread ends its SMTP connection with QUIT (the server sees every
    connection it took messages on closed properly, none left to time out)."""
    from conftest import running_consumer

    app = app_factory(SMTP_URL=smtp_server.url, MAIL_FROM="riado@belvaros.example", RIADO_SMS_LEASE_SECONDS=4)
    app.extensions["huey"].flush()
    client = app.test_client()
    headers, _ = api("officer")
    group = client.post("/api/v1/groups", json={"name": "Óvodák"}, headers=headers).get_json()["id"]
    addresses = [f"ovoda{i}@belvaros.example" for i in range(3)]
    for i, address in enumerate(addresses):
        client.post("/api/v1/contacts", json={"name": f"Óvoda {i}", "phone": f"+3620555070{i}", "email": address,
                                              "groups": [group]}, headers=headers)
    smtp_server.handler.data_delay, smtp_server.handler.slow_data = 6.0, 1
    alert_id = client.post("/api/v1/alerts", json={"body": "Hőségriadó: a gyerekek maradjanak bent.", "groups": [group],
                                                   "channels": ["sms", "email"]}, headers=headers).get_json()["id"]
    with running_consumer(app.extensions["huey"]):
        wait_for(lambda: len(smtp_server.messages) == 3, timeout=60)
        wait_until_idle(app, timeout=60)  # a second send of a lapsed lease would have come by now
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == addresses  # each once
    rows = client.get(f"/api/v1/alerts/{alert_id}/deliveries?limit=50", headers=headers).get_json()["items"]
    emails = sorted(r["attempts"] for r in rows if r["channel"] == "email")
    assert emails == [1, 1, 2]  # the slow one given up once, then sent
    assert all(r["status"] == "sent" for r in rows) and len(rows) == 6
    connections = {m.peer for m in smtp_server.messages}
    wait_for(lambda: set(smtp_server.quits) >= connections, timeout=10)
