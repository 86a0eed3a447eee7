"""The alert pages as officers and viewers use them: the list and its filter, compose → confirm →
send (exactly once), errors beside the fields, the alert page and its counts, the console
gateway's outbox with simulated replies, masking, escaping and the Hungarian default."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest
from conftest import csrf_from, running_consumer, wait_for, wait_until_idle
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

SCRIPT = "<script>alert('x')</script>"
POINT = {"type": "Point", "coordinates": [19.05, 47.5]}
JULIA, PETER, DUTY, LILI, OFFICE = "+36205550101", "+36205550102", "+36205550101", "+36205550109", "+3615550100"


# Fixtures and helpers


@pytest.fixture
def queue(app):
    """A real Huey consumer (threads, in this process) for the plain app: the console gateway."""
    huey = app.extensions["huey"]
    huey.flush()  # nothing left over from another test
    with running_consumer(huey, workers=2) as worker:
        yield worker


@pytest.fixture
def officer_headers(api):
    return api("officer")[0]


def make_people(client, headers) -> dict:
    """A group with two mobiles, a shared duty phone, someone who opted out and a landline."""
    group = client.post("/api/v1/groups", json={"name": "Helyi Védelmi Bizottság"}, headers=headers).get_json()["id"]
    other = client.post("/api/v1/groups", json={"name": "Iskolaigazgatók"}, headers=headers).get_json()["id"]
    ids = {}
    for name, phone, opted_in, groups in (
        ("Kovács Júlia", JULIA, True, [group]),
        ("Nagy Péter", PETER, True, [group]),
        ("Ügyeletes (közös telefon)", DUTY, True, [group]),
        ("Leiratkozott Lili", LILI, False, [group]),
        ("Polgármesteri Hivatal", OFFICE, True, [group]),
        ("Szabó Ödön", "+36205550103", True, [other]),
    ):
        created = client.post("/api/v1/contacts", json={"name": name, "phone": phone, "sms_opt_in": opted_in,
                                                        "groups": groups}, headers=headers)
        assert created.status_code == 201, created.get_json()
        ids[name] = created.get_json()["id"]
    return {"group": group, "other": other, "contacts": ids}


def make_incident(client, headers, title="Dunai árvíz", drill=False) -> dict:
    response = client.post("/api/v1/incidents", json={"title": title, "kind": "flood", "severity": "severe",
                                                      "drill": drill, "location": POINT}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def api_alert(client, headers, **body) -> int:
    response = client.post("/api/v1/alerts", json=body, headers=headers)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


class Forms(HTMLParser):
    """The fields of each form of a page (``forms[testid]`` → list of (name, value)), with the
    form's action; textareas and checked checkboxes included, as a browser would send them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, dict] = {}
        self.current = None
        self.textarea = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.current = {"action": a.get("action"), "fields": []}
            key = a.get("data-testid") or "form"
            self.forms[key if key not in self.forms else f"{key}-{len(self.forms)}"] = self.current
        elif self.current is not None and tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            if "disabled" in a:
                return
            self.current["fields"].append((a["name"], a.get("value", "")))
        elif self.current is not None and tag == "textarea" and a.get("name"):
            self.textarea = [a["name"], ""]
        elif self.current is not None and tag == "select" and a.get("name"):
            self.select = a["name"]
        elif self.current is not None and tag == "option" and "selected" in a:
            self.current["fields"].append((self.select, a.get("value", "")))

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self.textarea is not None:
            self.current["fields"].append(tuple(self.textarea))
            self.textarea = None
        elif tag == "form":
            self.current = None


def texts_of(html: str, testid: str) -> list[str]:
    """The text of every element with this data-testid (tags stripped, whitespace folded)."""
    out = []
    for match in re.finditer(rf'<(\w+)[^>]*data-testid="{testid}"[^>]*>(.*?)</\1>', html, re.DOTALL):
        out.append(re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", match.group(2)))).strip())
    return out


def data_counts(html: str) -> dict[str, int]:
    return {key: int(value) for key, value in re.findall(r'<strong data-count="(\w+)">(\d+)</strong>', html)}


def compose(client, **fields):
    """POST the compose form (step 1) with a fresh CSRF token; returns the response."""
    page = client.get("/alerts/new")
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "body": "", **fields}
    return client.post("/alerts/new", data=data)


def alert_count(app) -> int:
    from alerts.models import Alert
    from incident.extensions import db

    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Alert)).scalar_one()


# The list


def test_list_newest_first_with_the_drill_filter(app, client, officer_headers, make_user, login):
    people = make_people(client, officer_headers)
    incident = make_incident(client, officer_headers)
    drill_incident = make_incident(client, officer_headers, "Törzsvezetési gyakorlat", drill=True)
    first = api_alert(client, officer_headers, body="Első riasztás: HVB ülés 9-kor", groups=[people["group"]],
                      incident_id=incident["id"], require_ack=True)
    second = api_alert(client, officer_headers, body="Gyülekező a Városháza előtt", groups=[people["other"]],
                       incident_id=drill_incident["id"])
    third = api_alert(client, officer_headers, body="x" * 200, contacts=[people["contacts"]["Nagy Péter"]])

    login(make_user("viewer"))
    page = client.get("/alerts")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert texts_of(html, "alert-id") == [f"#{third}", f"#{second}", f"#{first}"]  # newest first
    assert "Riasztások" in html and "Új riasztás" not in html  # viewers do not compose
    row = html.split(f'data-alert="{first}"')[1].split("</tr>")[0]
    assert f'href="/incidents/{incident["id"]}"' in row and incident["number"] in row
    assert re.search(r'data-testid="recipients">2<', row)  # Júlia and Péter: duplicates, opt-outs and landlines out
    assert re.search(r'data-testid="acknowledged">0 / 2<', row)
    assert "küldés alatt" in row  # nothing consumed the queue: still sending
    long_row = html.split(f'data-alert="{third}"')[1].split("</tr>")[0]
    assert "x" * 200 not in long_row and "x" * 80 in long_row  # truncated
    assert 'data-testid="drill-mark"' in html.split(f'data-alert="{second}"')[1].split("</tr>")[0]

    drills = client.get("/alerts?drill=yes").get_data(as_text=True)
    assert texts_of(drills, "alert-id") == [f"#{second}"]
    assert "GYAKORLAT! Gyülekező" in drills
    real = client.get("/alerts?drill=no").get_data(as_text=True)
    assert texts_of(real, "alert-id") == [f"#{third}", f"#{first}"]
    assert client.get("/alerts?drill=bogus").status_code == 200


def test_officers_see_new_alert_and_the_dashboard_links_to_the_alert(app, client, officer_headers, make_user, login):
    people = make_people(client, officer_headers)
    alert_id = api_alert(client, officer_headers, body="Próba", groups=[people["group"]])
    login(make_user("officer"))
    html = client.get("/alerts").get_data(as_text=True)
    assert 'data-testid="new-alert"' in html and "Új riasztás" in html
    dashboard = client.get("/").get_data(as_text=True)
    panel = dashboard.split('data-testid="alerts-panel"')[1].split("</section>")[0]
    assert f'href="/alerts/{alert_id}"' in panel


# Compose → confirm → send


def test_compose_confirm_and_send_exactly_once(app, client, officer_headers, make_user, login, queue):
    people = make_people(client, officer_headers)
    login(make_user("officer", name="Referens Rita"))
    page = client.get("/alerts/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for label in ("Új riasztás", "Az üzenet szövege", "Riasztási csoportok", "Magyar betűk átírása", "Visszaigazolás"):
        assert label in html, label
    assert "(5 tag)" in html  # member counts beside the groups
    assert 'data-preview-url="/api/v1/alerts/preview"' in html and "js/alert-compose.js" in html

    confirm = compose(client, body="Árvízvédelmi készültség!\r\nHVB ülés 9:00-kor.", groups=str(people["group"]),
                      transliterate="1")
    assert confirm.status_code == 200, confirm.get_data(as_text=True)
    html = confirm.get_data(as_text=True)
    assert texts_of(html, "recipient-count") == ["2"]
    assert texts_of(html, "name") == ["Kovács Júlia", "Nagy Péter"]
    assert texts_of(html, "phone")[:2] == ["+36 20 555 0101", "+36 20 555 0102"]  # officers see phones
    reasons = dict(re.findall(r'<tr data-testid="exclusion" data-reason="(\w+)">\s*<td>([^<]+)</td>', html))
    assert reasons == {"duplicate_phone": "Ügyeletes (közös telefon)", "opted_out": "Leiratkozott Lili",
                       "not_mobile": "Polgármesteri Hivatal"}
    for reason in ("leiratkozott", "vezetékes", "összevonva"):
        assert reason in html, reason
    assert texts_of(html, "final-body") == ["Arvizvédelmi készültség! HVB ülés 9:00-kor."]
    assert "Arvizvédelmi készültség!\nHVB ülés 9:00-kor." in unescape(html)
    assert texts_of(html, "encoding") == ["GSM-7"] and texts_of(html, "segments") == ["1"]
    assert texts_of(html, "cost") == ["70 Ft"]  # 35 Ft (the default price) × 1 segment × 2 recipients
    assert "Küldés most" in html
    send_form = Forms(html).forms["send-form"]
    assert send_form["action"] == "/alerts/send"
    fields = send_form["fields"]
    key = dict(fields)["idempotency_key"]
    assert re.fullmatch(r"[0-9a-f-]{36}", key)
    assert alert_count(app) == 0  # nothing is written before "Send now"

    sent = client.post("/alerts/send", data=MultiDict(fields))
    assert sent.status_code == 302
    location = sent.headers["Location"]
    alert_id = int(re.fullmatch(r"/alerts/(\d+)", location).group(1))
    again = client.post("/alerts/send", data=MultiDict(fields))  # a double click, a resubmitted form
    assert again.status_code == 302 and again.headers["Location"] == location
    assert alert_count(app) == 1
    followed = client.get(location).get_data(as_text=True)
    assert f"#{alert_id}" in followed and "Arvizvédelmi készültség!" in followed
    # "Being sent to 2 recipients" while it is in flight, and only then (the queue runs meanwhile).
    assert ("2 címzettnek" in followed) == ('data-in-flight="true"' in followed)
    assert "nem küldtünk ki újra semmit" in followed  # and of the second
    # The sender by name; an officer also sees the e-mail.
    assert re.search(r'data-testid="created-by">Referens Rita <span[^>]*>officer\d+@riado-test\.example<', followed)

    from alerts.models import OutboxMessage
    from incident.extensions import db

    def outbox():
        with app.app_context():
            rows = db.session.execute(select(OutboxMessage.to, OutboxMessage.body)).all()
            db.session.rollback()
            return rows if len(rows) == 2 else None

    rows = wait_for(outbox)
    assert sorted(to for to, _ in rows) == [JULIA, PETER]  # one message per phone
    assert {body for _, body in rows} == {"Arvizvédelmi készültség!\nHVB ülés 9:00-kor."}
    alert = wait_for(lambda: (a := client.get(f"/api/v1/alerts/{alert_id}").get_json())["status"] == "done" and a)
    assert alert["counts"]["sent"] == 2 and alert["counts"]["excluded"] == 2
    wait_until_idle(app)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 2  # sent once


def test_back_to_editing_keeps_the_choice_and_a_drill_incident_makes_a_drill(app, client, officer_headers, make_user, login):
    people = make_people(client, officer_headers)
    drill = make_incident(client, officer_headers, "Törzsvezetési gyakorlat", drill=True)
    login(make_user("officer"))
    page = client.get(f"/alerts/new?incident_id={drill['id']}").get_data(as_text=True)
    assert re.search(rf'<option value="{drill["id"]}" data-drill="true" selected>', page)
    assert re.search(r'id="drill" name="drill" value="1" data-testid="drill" data-chosen="false" checked', page)
    assert 'data-testid="drill-from-incident" id="drill-from-incident">' in page  # shown, not hidden
    assert "GYAKORLAT! " in page.split('data-testid="preview-body">')[1]
    confirm = compose(client, body="Gyülekező 10-kor", contacts=[str(people["contacts"]["Szabó Ödön"])],
                      incident_id=str(drill["id"]), require_ack="1", escalate_after_minutes="15")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200, html
    assert texts_of(html, "final-body") == ["GYAKORLAT! Gyülekező 10-kor Ha megkapta, küldje vissza: IGEN"]
    assert 'data-testid="drill-banner"' in html and "15 perc" in html
    edit = Forms(html).forms["send-form"]["fields"] + [("edit", "1")]
    back = client.post("/alerts/new", data=MultiDict(edit))
    again = back.get_data(as_text=True)
    assert back.status_code == 200 and "Gyülekező 10-kor</textarea>" in again
    assert re.search(rf'name="contacts" value="{people["contacts"]["Szabó Ödön"]}" checked', again)
    assert re.search(r'value="15" data-testid="escalate"', again)
    sent = client.post("/alerts/send", data=MultiDict(Forms(html).forms["send-form"]["fields"]))
    alert = client.get("/api/v1/alerts/" + sent.headers["Location"].rsplit("/", 1)[1]).get_json()
    assert alert["drill"] is True and alert["require_ack"] is True and alert["escalate_after_minutes"] == 15
    assert alert["incident_id"] == drill["id"]


def test_errors_are_shown_beside_the_fields(app, client, officer_headers, make_user, login):
    people = make_people(client, officer_headers)
    login(make_user("officer"))
    empty = compose(client, body="   ", groups=str(people["group"]))
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422
    assert 'id="body-error"' in html and "kötelező" in html.split('id="body-error"')[1].split("</small>")[0]
    assert 'aria-invalid="true" aria-describedby="body-error"' in html
    assert re.search(rf'name="groups" value="{people["group"]}" data-testid="group" data-name="[^"]+" checked', html)

    nobody = compose(client, body="Riasztás")
    html = nobody.get_data(as_text=True)
    assert nobody.status_code == 422
    assert "Válasszon legalább egy csoportot, kapcsolattartót vagy területet." in html.split('id="recipients-error"')[1]
    assert "Riasztás</textarea>" in html  # what was typed stays

    too_long = compose(client, body="á" * 1601, groups=str(people["group"]))
    html = too_long.get_data(as_text=True)
    assert too_long.status_code == 422
    assert "1600" in html.split('id="body-error"')[1].split("</small>")[0]
    assert 'data-testid="too-long">' in html  # the counter says it too, without a script
    # With the drill prefix a text of exactly 1600 characters becomes too long.
    drill = compose(client, body="a" * 1600, groups=str(people["group"]), drill="1")
    assert drill.status_code == 422 and "gyakorlat-előtaggal" in drill.get_data(as_text=True)

    excluded = compose(client, body="Riasztás", contacts=[str(people["contacts"]["Leiratkozott Lili"])])
    html = excluded.get_data(as_text=True)
    assert excluded.status_code == 422
    assert "senki sem kapná meg" in html.split('id="recipients-error"')[1]
    assert alert_count(app) == 0


HINT = "Ha megkapta, küldje vissza: IGEN"  # the reply hint in the configured SMS language (hu)


def test_asking_for_acknowledgement_adds_the_reply_hint_to_the_preview_the_count_and_the_cost(
        app, client, officer_headers, make_user, login):
    people = make_people(client, officer_headers)
    login(make_user("officer"))
    julia = str(people["contacts"]["Kovács Júlia"])
    body = ("Kérjük, jöjjön be a hivatalba. " * 5).strip()  # 154 GSM-7 characters: one segment alone
    assert len(body) == 154
    page = client.get("/alerts/new").get_data(as_text=True)
    assert f"Visszaigazolás kérése: az SMS végén „{HINT}” áll" in page  # the checkbox says what is asked

    plain = compose(client, body=body, contacts=[julia]).get_data(as_text=True)
    assert texts_of(plain, "final-body") == [body]
    assert texts_of(plain, "segments") == ["1"] and texts_of(plain, "cost") == ["35 Ft"]
    assert texts_of(plain, "ack") == ["nem kért"]

    confirm = compose(client, body=body, contacts=[julia], require_ack="1")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200, html
    assert f"{body}\n{HINT}</pre>" in unescape(html)  # the text as it goes out ends with the hint
    assert texts_of(html, "encoding") == ["GSM-7"]  # the hint has no letter outside GSM-7
    assert texts_of(html, "segments") == ["2"]  # 154 + 1 + 32 = 187 characters
    assert texts_of(html, "cost") == ["70 Ft"]  # 35 Ft × 2 segments × 1 recipient
    assert texts_of(html, "ack") == ["kérve: a címzettek válasza: IGEN"]

    # Back to editing: the counter the page shows without a script counts the hint too.
    back = client.post("/alerts/new", data=MultiDict(Forms(html).forms["send-form"]["fields"] + [("edit", "1")]))
    again = back.get_data(as_text=True)
    assert texts_of(again, "segments") == ["2"] and texts_of(again, "length") == ["187"]
    assert unescape(again.split('data-testid="preview-body">')[1].split("</pre>")[0]) == f"{body}\n{HINT}"
    # The live counter's API answers the same.
    preview = client.post("/api/v1/alerts/preview", json={"body": body, "require_ack": True},
                          headers=officer_headers).get_json()
    assert (preview["body"], preview["characters"], preview["segments"]) == (f"{body}\n{HINT}", 187, 2)
    assert client.post("/api/v1/alerts/preview", json={"body": body}, headers=officer_headers).get_json()["segments"] == 1

    # The hint counts against the length limit as well.
    assert compose(client, body="a" * 1580, contacts=[julia]).status_code == 200
    too_long = compose(client, body="a" * 1580, contacts=[julia], require_ack="1")
    assert too_long.status_code == 422 and "válaszkéréssel" in too_long.get_data(as_text=True)


def _signed_in(app, user):
    client = app.test_client()
    page = client.get("/login")
    client.post("/login", data={"email": user["email"], "password": user["password"],
                                "csrf_token": csrf_from(page.get_data(as_text=True))})
    return client


def test_costs_are_shown_in_the_configured_currency_as_the_page_language_writes_money(app_factory, make_user, api):
    headers, _ = api("officer")
    people = make_people(app_factory().test_client(), headers)
    user = make_user("officer")
    for settings, hungarian, english in (
        ({"RIADO_SMS_PRICE": 617.0}, ("1 234 Ft", "617 Ft"), "HUF1,234"),  # the default currency: forints
        ({"RIADO_SMS_CURRENCY": "EUR", "RIADO_SMS_PRICE": 0.09}, ("0,18 EUR", "0,09 EUR"), "€0.18"),
    ):
        client = _signed_in(app_factory(**settings), user)
        form = client.get("/alerts/new").get_data(as_text=True)
        fields = {"csrf_token": csrf_from(form), "body": "Próba", "groups": str(people["group"])}  # two recipients
        html = client.post("/alerts/new", data=fields).get_data(as_text=True)
        assert [t.replace("\xa0", " ") for t in texts_of(html, "cost")] == [hungarian[0]]
        assert f"{hungarian[1]} szegmensenként" in texts_of(html, "cost-formula")[0].replace("\xa0", " ")
        client.get("/lang/en")
        html = client.post("/alerts/new", data=fields).get_data(as_text=True)
        assert texts_of(html, "cost") == [english]


def test_send_refuses_a_form_without_its_key_and_a_stale_choice_goes_back_to_compose(app, client, officer_headers, make_user, login):
    people = make_people(client, officer_headers)
    login(make_user("officer"))
    html = compose(client, body="Riasztás", contacts=[str(people["contacts"]["Nagy Péter"])]).get_data(as_text=True)
    fields = Forms(html).forms["send-form"]["fields"]
    assert client.post("/alerts/send", data=MultiDict([f for f in fields if f[0] != "idempotency_key"])).status_code == 400
    # Meanwhile Péter opted out: the confirmed choice now reaches nobody; nothing is sent.
    client.patch(f"/api/v1/contacts/{people['contacts']['Nagy Péter']}", json={"sms_opt_in": False}, headers=officer_headers)
    stale = client.post("/alerts/send", data=MultiDict(fields))
    assert stale.status_code == 422 and "senki sem kapná meg" in stale.get_data(as_text=True)
    assert alert_count(app) == 0


# Viewers


def test_viewers_see_masked_phones_and_cannot_compose_or_post(app, client, officer_headers, make_user, login, queue):
    people = make_people(client, officer_headers)
    alert_id = api_alert(client, officer_headers, body="Próba", groups=[people["group"]])
    wait_for(lambda: client.get(f"/api/v1/alerts/{alert_id}", headers=officer_headers).get_json()["status"] == "done")
    login(make_user("viewer"))
    assert client.get("/alerts/new").status_code == 403
    page = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    phones = texts_of(page, "phone")
    assert "+36 20 *** **01" in phones and "+36 20 *** **02" in phones
    assert "+36 20 555 0101" not in page and JULIA not in page
    assert "+36 1 *** **00" in phones  # the excluded landline, masked too
    outbox = client.get("/alerts/outbox").get_data(as_text=True)
    assert "+36 20 *** **01" in texts_of(outbox, "to") and "555 0101" not in outbox
    assert 'data-testid="simulate-form"' not in outbox
    token = csrf_from(outbox)  # the sign-out form's
    for path in ("/alerts/new", "/alerts/send", "/alerts/outbox/1/reply"):
        assert client.post(path, data={"csrf_token": token, "body": "x", "text": "OK"}).status_code == 403, path
    assert alert_count(app) == 1


# The alert page


def test_alert_page_counts_match_the_deliveries(app, client, officer_headers, make_user, login):
    from alerts import operations as ops
    from alerts.models import Delivery
    from incident.extensions import db

    people = make_people(client, officer_headers)
    incident = make_incident(client, officer_headers)
    alert_id = api_alert(client, officer_headers, body="Árvíz: HVB 9-kor", groups=[people["group"], people["other"]],
                         incident_id=incident["id"], require_ack=True, escalate_after_minutes=30)
    with app.test_request_context():
        rows = {d.phone: d.id for d in db.session.execute(select(Delivery).where(Delivery.alert_id == alert_id)).scalars()}
        db.session.rollback()
        ops.record_sent(rows[JULIA], "SM1")
        ops.apply_status(rows[JULIA], "SM1", "delivered", None)
        claimed = ops.claim_next(alert_id)
        while claimed and claimed.id != rows[PETER]:
            claimed = ops.claim_next(alert_id)
        ops.record_failure(rows[PETER], 1, 21211, "Twilio: invalid To", retryable=False)
        ops.handle_reply(JULIA, "OK")
        db.session.commit()  # operations do not commit: their caller does

    login(make_user("officer"))
    api = client.get(f"/api/v1/alerts/{alert_id}").get_json()["counts"]
    page = client.get(f"/alerts/{alert_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    counts = data_counts(html)
    assert {k: counts[k] for k in api} == api
    assert api["delivered"] == 1 and api["failed"] == 1 and api["acknowledged"] == 1 and api["excluded"] == 2
    assert sum(counts[k] for k in ("queued", "sending", "sent", "delivered", "undelivered", "failed")) == len(texts_of(html, "delivery")) == 3
    statuses = re.findall(r'<tr data-testid="delivery" data-index="\d+" data-status="(\w+)">', html)
    assert sorted(statuses) == ["delivered", "failed", "queued"]
    assert "21211" in html and "érvénytelen telefonszám" in html  # the code and what it means
    silent = texts_of(html, "silent-person")
    assert len(silent) == 2 and not any("Kovács Júlia" in s for s in silent)
    assert texts_of(html, "silent-count") == ["2"]
    assert 'data-testid="escalation"' in html and "30 perc" in html
    assert f'href="/incidents/{incident["id"]}"' in html
    assert f'href="/api/v1/alerts/{alert_id}/cap"' in html
    assert 'data-status="sending"' in html and "js/alert-progress.js" in html
    assert f'data-deliveries-url="/api/v1/alerts/{alert_id}/deliveries"' in html
    reasons = set(re.findall(r'<li data-reason="(\w+)">', html))
    assert reasons == {"duplicate_phone", "opted_out", "not_mobile"}
    assert client.get("/alerts/999999").status_code == 404


# The outbox and simulated replies


def test_outbox_lists_console_messages_and_a_simulated_reply_acknowledges(app, client, officer_headers, make_user, login, queue):
    people = make_people(client, officer_headers)
    incident = make_incident(client, officer_headers, "Vihar a Belvárosban")
    first = api_alert(client, officer_headers, body="Korábbi üzenet", contacts=[people["contacts"]["Szabó Ödön"]])
    wait_for(lambda: client.get(f"/api/v1/alerts/{first}", headers=officer_headers).get_json()["status"] == "done")
    alert_id = api_alert(client, officer_headers, body="Kérjük, erősítse meg: OK", groups=[people["group"]],
                         incident_id=incident["id"], require_ack=True)
    wait_for(lambda: client.get(f"/api/v1/alerts/{alert_id}", headers=officer_headers).get_json()["counts"]["sent"] == 2)

    login(make_user("officer"))
    page = client.get("/alerts/outbox")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    texts = texts_of(html, "text")
    assert len(texts) == 3 and texts[-1] == "Korábbi üzenet"  # newest first
    assert set(texts[:2]) == {"Kérjük, erősítse meg: OK Ha megkapta, küldje vissza: IGEN"}
    assert "+36 20 555 0101" in texts_of(html, "to")  # officers see the number
    assert "SZIMULÁCIÓ" in html and 'data-testid="console-note"' in html
    forms = Forms(html).forms
    julia = next(m for m in re.finditer(r'data-testid="outbox-message" data-message="(\d+)">.*?</tr>', html, re.DOTALL)
                 if "555 0101" in m.group(0))
    message_id = julia.group(1)
    reply_form = next(f for f in forms.values() if f["action"] == f"/alerts/outbox/{message_id}/reply")
    assert dict(reply_form["fields"])["text"] == "IGEN"  # prefilled with the word the SMS asks for

    answer = client.post(reply_form["action"], data=MultiDict(reply_form["fields"]), follow_redirects=True)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and f"#{alert_id}" in text and "Szimulált válasz" in text
    assert "innen: Kovács Júlia (+36 20 555 0101)" in text  # the contact, not only the phone
    counts = client.get(f"/api/v1/alerts/{alert_id}").get_json()["counts"]
    assert counts["acknowledged"] == 1
    log = client.get(f"/api/v1/incidents/{incident['id']}/log").get_json()["items"]
    assert any("Kovács Júlia" in e["text"] and e["kind"] == "communication" for e in log)
    detail = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert data_counts(detail)["acknowledged"] == 1
    assert [s for s in texts_of(detail, "silent-person") if "Nagy Péter" in s] and texts_of(detail, "silent-count") == ["1"]

    # Nothing left to acknowledge from that phone; a word that is not an answer is said so too.
    again = client.post(reply_form["action"], data=MultiDict(reply_form["fields"]), follow_redirects=True).get_data(as_text=True)
    assert "nincs visszaigazolásra váró riasztás" in again
    odd = client.post(reply_form["action"], data=MultiDict([*[f for f in reply_form["fields"] if f[0] != "text"], ("text", "hello")]),
                      follow_redirects=True).get_data(as_text=True)
    assert "egyéb szöveg, nem visszaigazolás" in odd
    assert client.get(f"/api/v1/alerts/{alert_id}").get_json()["counts"]["acknowledged"] == 1


def test_outbox_rows_name_the_contact_and_the_alert_with_the_replies_simulated_so_far(
        app, client, officer_headers, make_user, login, queue):
    people = make_people(client, officer_headers)
    asking = api_alert(client, officer_headers, body="HVB ülés 9-kor", groups=[people["group"]], require_ack=True)
    telling = api_alert(client, officer_headers, body="Tájékoztatás", contacts=[people["contacts"]["Szabó Ödön"]])
    for alert_id in (asking, telling):
        wait_for(lambda alert_id=alert_id: client.get(f"/api/v1/alerts/{alert_id}",
                                                      headers=officer_headers).get_json()["status"] == "done")

    def rows(html) -> dict:
        """The outbox's rows by the phone they went to, as the page shows it."""
        out = {}
        for match in re.finditer(r'<tr data-testid="outbox-message" data-message="(\d+)">(.*?)</tr>', html, re.DOTALL):
            row = match.group(2)
            out[texts_of(row, "to")[0]] = {
                "id": match.group(1), "name": texts_of(row, "name"), "alert": texts_of(row, "alert-link"),
                "replies": texts_of(row, "reply-said"), "outcomes": re.findall(r'data-outcome="(\w+)"', row),
            }
        return out

    login(make_user("officer"))
    html = client.get("/alerts/outbox").get_data(as_text=True)
    before = rows(html)
    assert before["+36 20 555 0101"]["name"] == ["Kovács Júlia"] and before["+36 20 555 0101"]["alert"] == [f"#{asking}"]
    assert f'href="/alerts/{asking}" data-testid="alert-link"' in html
    assert f'href="/alerts/{telling}" data-testid="alert-link"' in html
    assert before["+36 20 555 0103"]["name"] == ["Szabó Ödön"] and before["+36 20 555 0103"]["alert"] == [f"#{telling}"]
    assert all(row["replies"] == [] for row in before.values())
    token = csrf_from(html)
    for phone, text in (("+36 20 555 0101", "hmm"), ("+36 20 555 0101", "IGEN"), ("+36 20 555 0103", "STOP")):
        answer = client.post(f"/alerts/outbox/{before[phone]['id']}/reply", data={"csrf_token": token, "text": text})
        assert answer.status_code == 302

    after = rows(client.get("/alerts/outbox").get_data(as_text=True))
    assert after["+36 20 555 0101"]["replies"] == ["hmm", "IGEN"]  # oldest first
    assert after["+36 20 555 0101"]["outcomes"] == ["unknown", "ack"]
    assert after["+36 20 555 0102"]["replies"] == []  # Péter has not answered
    assert after["+36 20 555 0103"]["replies"] == ["STOP"] and after["+36 20 555 0103"]["outcomes"] == ["stop"]
    page = client.get("/alerts/outbox").get_data(as_text=True)
    julia = page.split(f'data-message="{before["+36 20 555 0101"]["id"]}"')[1].split("</tr>")[0]
    assert "egyéb szöveg (nem IGEN vagy STOP)" in julia and "visszaigazolta" in julia

    # A viewer sees who and which alert, and the replies; the phones stay masked.
    page = _signed_in(app, make_user("viewer")).get("/alerts/outbox").get_data(as_text=True)
    seen = rows(page)
    assert set(seen) == {"+36 20 *** **01", "+36 20 *** **02", "+36 20 *** **03"}
    assert seen["+36 20 *** **01"]["name"] == ["Kovács Júlia"] and seen["+36 20 *** **01"]["replies"] == ["hmm", "IGEN"]
    assert "555 0101" not in page and JULIA not in page


def test_outbox_with_twilio_configured_says_so_and_simulates_nothing(app_factory, make_user, api):
    twilio = app_factory(TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN="secret", TWILIO_FROM="Riado")
    client = twilio.test_client()
    user = make_user("officer")
    page = client.get("/login")
    client.post("/login", data={"email": user["email"], "password": user["password"],
                                "csrf_token": csrf_from(page.get_data(as_text=True))})
    html = client.get("/alerts/outbox").get_data(as_text=True)
    assert 'data-testid="twilio-note"' in html and 'data-testid="simulate-form"' not in html
    # An alphanumeric sender cannot receive replies: the compose page and the confirmation say so.
    compose_page = client.get("/alerts/new").get_data(as_text=True)
    assert 'data-testid="two-way-warning"' in compose_page and "Riado" in compose_page
    officer, _ = api("officer")
    contact = client.post("/api/v1/contacts", json={"name": "Teszt Elek", "phone": JULIA}, headers=officer).get_json()["id"]
    confirm = client.post("/alerts/new", data={"csrf_token": csrf_from(compose_page), "body": "Kérjük, válaszoljon OK",
                                               "contacts": str(contact), "require_ack": "1"})
    assert confirm.status_code == 200
    assert 'data-testid="two-way-warning"' in confirm.get_data(as_text=True)


# Escaping and language


def test_script_payloads_are_escaped_everywhere(app, client, officer_headers, make_user, login, queue):
    people = make_people(client, officer_headers)
    client.patch(f"/api/v1/contacts/{people['contacts']['Nagy Péter']}", json={"name": SCRIPT}, headers=officer_headers)
    incident = make_incident(client, officer_headers, title=SCRIPT)
    alert_id = api_alert(client, officer_headers, body=SCRIPT, groups=[people["group"]], incident_id=incident["id"],
                         require_ack=True)
    wait_for(lambda: client.get(f"/api/v1/alerts/{alert_id}", headers=officer_headers).get_json()["status"] == "done")
    login(make_user("officer"))
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    pages = ["/alerts", f"/alerts/{alert_id}", "/alerts/outbox", f"/alerts/new?incident_id={incident['id']}"]
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        assert SCRIPT not in html, path
        assert escaped in html, path
    confirm = compose(client, body=SCRIPT, groups=str(people["group"])).get_data(as_text=True)
    assert SCRIPT not in confirm and escaped in confirm
    assert 'value="&lt;script&gt;' in confirm  # the hidden copy too
    assert "<script>" not in re.sub(r'<script src="/static/js/[\w-]+\.js"></script>', "", confirm)


def test_hungarian_by_default_and_english_on_request(app, client, officer_headers, make_user, login):
    make_people(client, officer_headers)
    login(make_user("officer"))
    html = client.get("/alerts").get_data(as_text=True)
    for label in ("Riasztások", "Új riasztás", "Kimenő üzenetek", "Címzettek", "Visszaigazolva", "csak gyakorlatok"):
        assert label in html, label
    compose_page = client.get("/alerts/new").get_data(as_text=True)
    for label in ("Kódolás", "Szegmensek", "Karakterek", "Magyar betűk átírása (olcsóbb: GSM-7)", "Egyes kapcsolattartók",
                  "Tovább: címzettek és költség ellenőrzése"):
        assert label in compose_page, label
    client.get("/lang/en")
    english = client.get("/alerts/new").get_data(as_text=True)
    assert "Transliterate Hungarian letters (cheaper: GSM-7)" in english and "Message text" in english
    assert "GYAKORLAT!" in english  # the SMS language is the configured one, whatever the UI language


def test_the_drill_safety_switch_is_named_on_the_confirmation(app_factory, make_user, api):
    drilling = app_factory(RIADO_DRILL_TEST_GROUP="Gyakorlók")
    client = drilling.test_client()
    headers, _ = api("officer")
    people = make_people(client, headers)
    testers = client.post("/api/v1/groups", json={"name": "Gyakorlók"}, headers=headers).get_json()["id"]
    client.patch(f"/api/v1/contacts/{people['contacts']['Nagy Péter']}", json={"groups": [people["group"], testers]},
                 headers=headers)
    user = make_user("officer")
    page = client.get("/login")
    client.post("/login", data={"email": user["email"], "password": user["password"],
                                "csrf_token": csrf_from(page.get_data(as_text=True))})
    form = client.get("/alerts/new").get_data(as_text=True)
    confirm = client.post("/alerts/new", data={"csrf_token": csrf_from(form), "body": "Próbariasztás",
                                               "groups": str(people["group"]), "drill": "1"})
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200, html
    assert texts_of(html, "name") == ["Nagy Péter"]  # only the drill test group's member
    reasons = re.findall(r'<tr data-testid="exclusion" data-reason="(\w+)">', html)
    assert reasons == ["drill_safety"] * 4  # Júlia, the duty phone, Lili and the landline: not in the group
    assert "gyakorlati biztonsági kapcsoló" in html and "„Gyakorlók”" in html
    assert texts_of(html, "final-body") == ["GYAKORLAT! Próbariasztás"]


def test_a_simulated_reply_is_marked_as_simulated_with_its_officer_in_the_log_and_the_audit_trail(
        app_factory, make_user, token_for):
    from alerts.models import Delivery, OutboxMessage
    from incident.extensions import db

    app = app_factory(RIADO_LOCALE="en")
    client = app.test_client()
    officer = make_user("officer", name="Szabó Szilvia", position="közbiztonsági referens")
    headers = {"Authorization": f"Bearer {token_for(officer)}"}
    incident = make_incident(client, headers, "Vihar a Belvárosban")
    contact = client.post("/api/v1/contacts", json={"name": "Kovács Júlia", "phone": JULIA}, headers=headers).get_json()
    alert_id = api_alert(client, headers, body="Kérjük, erősítse meg: OK", contacts=[contact["id"]],
                         incident_id=incident["id"], require_ack=True)
    app.extensions["huey"].flush()  # no worker here: the console gateway's "sending" is done below
    with app.app_context():
        delivery = db.session.execute(select(Delivery).where(Delivery.alert_id == alert_id)).scalar_one()
        delivery.status = "sent"
        message = OutboxMessage(sid="console-1", to=JULIA, body=delivery.body, delivery_id=delivery.id)
        db.session.add(message)
        db.session.commit()
        delivery_id, message_id = delivery.id, message.id

    page = client.get("/login")
    client.post("/login", data={"email": officer["email"], "password": officer["password"],
                                "csrf_token": csrf_from(page.get_data(as_text=True))})
    outbox = client.get("/alerts/outbox").get_data(as_text=True)
    answer = client.post(f"/alerts/outbox/{message_id}/reply", data={"csrf_token": csrf_from(outbox), "text": "OK"})
    assert answer.status_code == 302
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=headers).get_json()["counts"]["acknowledged"] == 1

    entry = client.get(f"/api/v1/incidents/{incident['id']}/log", headers=headers).get_json()["items"][-1]
    assert entry["kind"] == "communication" and "Kovács Júlia" in entry["text"]
    assert entry["text"].startswith("SIMULATED") and "not sent by the contact" in entry["text"]
    assert entry["author"] == officer["email"] and entry["author_name"] == "Szabó Szilvia (közbiztonsági referens)"
    html = client.get(f"/incidents/{incident['id']}").get_data(as_text=True)
    assert "SIMULATED" in html and "Szabó Szilvia (közbiztonsági referens)" in html

    admin = {"Authorization": f"Bearer {token_for(make_user('admin'))}"}
    rows = client.get("/api/v1/audit?entity=sms_outbox", headers=admin).get_json()["items"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["actor"], row["action"], row["record_id"]) == (officer["email"], "simulate", str(message_id))
    assert row["changes"]["text"] == [None, "OK"] and row["changes"]["delivery_id"] == [None, delivery_id]
    assert row["changes"]["to"] == [None, JULIA] and row["changes"]["outcome"] == [None, "ack"]
