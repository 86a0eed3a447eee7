"""Hostile values in every query parameter, form field and JSON property the pages and the API
read: never a server error, and each case of the audit a 400 or 422 naming the field. The walk
finds the parameters by itself: the app's requests record every key a view asks its query
string or form for, and each key found is then sent every hostile value, one at a time, as a
viewer and as an officer (and as an admin on the admin pages), with Twilio's webhooks signed as
Twilio signs them; the JSON properties come from the OpenAPI document's request schemas."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from conftest import PASSWORD, WEBHOOK_TOKEN, csrf_from
from factories import create_incident
from flask import Request
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import ImmutableMultiDict

AUTH_TOKEN = "twilio-auth-token-of-the-walk"
PUBLIC = "https://riado.varos.example"
POINT = {"type": "Point", "coordinates": [19.0502, 47.4966]}
# Deeper than Python's recursion limit (1000) is what breaks a recursive parser; 5,000 is plenty
# and keeps the walk quick (urllib decodes a long query string slowly).
DEEP = "[" * 5_000 + "]" * 5_000
HOSTILE = [
    "²",                                  # isdigit() is True, int() fails
    "１２",                               # full-width digits: int() takes them
    "18446744073709551616",               # 2^64
    "-18446744073709551617",
    "2147483648",                         # one past PostgreSQL's INTEGER
    "1e999",
    "nan",
    "/\r\nSet-Cookie: hostile=1",
    "/\\evil.example",
    "x" * 140_000,
    DEEP,
    '{"type": "Polygon", "coordinates": ' + DEEP + "}",
]
# Writes that would remove what the walk stands on, or sign the walker out.
# /healthz reads no query or form, and rightly answers 503 when no worker beats (tests/incident/test_health.py).
SKIPPED = {"auth.logout", "static", "registry.contacts.delete", "registry.contacts.group_delete",
           "registry.resources.delete", "health.healthz"}
ADMIN_ENDPOINTS = {"admin.users", "admin.edit_user", "admin.audit"}

_read: set[str] = set()


class Recording(ImmutableMultiDict):
    """The query string or form of a request, noting each key a view asks for."""

    def __getitem__(self, key):
        _read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):  # noqa: A002
        _read.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        _read.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        _read.add(key)
        return super().__contains__(key)


class RecordingRequest(Request):
    parameter_storage_class = Recording


@pytest.fixture
def walk_app(app_factory):
    app = app_factory(TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM="+36205550000",
                      PUBLIC_URL=PUBLIC, RIADO_LOGIN_RATE_LIMIT="100000 per minute",
                      PROPAGATE_EXCEPTIONS=False)  # a 500 is an answer to count, not an exception
    app.request_class = RecordingRequest
    yield app
    app.extensions["huey"].flush()


def _seed(app, client, headers) -> dict[str, int]:
    """One record of each kind; the ids by the URL parameter names that take them."""
    from alerts.models import Delivery, OutboxMessage
    from incident.extensions import db
    from sqlalchemy import select

    def post(path, body):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code in (201, 202), (path, response.get_json())
        return response.get_json()

    group = post("/api/v1/groups", {"name": "Helyi Védelmi Bizottság"})
    contact = post("/api/v1/contacts", {"name": "Kovács Júlia", "phone": "+36205550101", "groups": [group["id"]],
                                        "location": POINT})
    shelter = post("/api/v1/resources", {"name": "Iskola tornaterem", "kind": "shelter", "capacity": 120,
                                         "location": POINT})
    incident = post("/api/v1/incidents", {"title": "Dunai árvíz", "kind": "flood", "severity": "severe",
                                          "location": POINT})
    post(f"/api/v1/incidents/{incident['id']}/log", {"text": "Védekezés megkezdve"})
    assignment = post(f"/api/v1/incidents/{incident['id']}/assignments", {"resource_id": shelter["id"], "quantity": 4})
    alert = post("/api/v1/alerts", {"body": "Árvízveszély", "groups": [group["id"]], "incident_id": incident["id"]})
    plan = post("/api/v1/plans", {"name": "Árvíz II.", "hazard": "flood", "level": 2,
                                  "tasks": [{"title": "HVB összehívása", "due_minutes": 30}]})
    task = post(f"/api/v1/incidents/{incident['id']}/plans", {"plan_id": plan["id"]})["tasks"][0]
    viewer = post("/api/v1/users", {"email": "walk-viewer@riado-test.example", "password": PASSWORD, "role": "viewer"})
    crossed = post("/api/v1/gauges/Vigadó tér/readings", {"level_cm": 705})  # a hazard watch proposal
    typed = post("/api/v1/gauges/Óbuda/readings", {"level_cm": 480})  # a reading to delete, proposing nothing
    evacuee = post("/api/v1/evacuees", {"name": "Kovács Júlia", "incident_id": incident["id"],
                                        "shelter_id": shelter["id"], "birth_year": 1950})
    notice = post("/api/v1/notices", {"title": "Árvíz", "body": "A rakpart lezárva.", "incident_id": incident["id"]})
    with app.app_context():
        delivery = db.session.execute(select(Delivery.id).where(Delivery.alert_id == alert["id"])).scalar_one()
        message = OutboxMessage(sid="CONSOLEwalk", to="+36205550101", body="Árvízveszély", delivery_id=delivery)
        db.session.add(message)
        from incident.models import ApiToken, User
        from incident.operations.sessions import issue_token

        issue_token(db.session.get(User, viewer["id"]), "walk")
        db.session.commit()
        message_id = message.id
        token_id = db.session.execute(select(ApiToken.id).where(ApiToken.user_id == viewer["id"])).scalar_one()
        from alerts.operations import ack_token

        ack = ack_token(delivery)  # the delivery's acknowledgement link (/ack/<token>)
    return {"contact_id": contact["id"], "group_id": group["id"], "resource_id": shelter["id"],
            "incident_id": incident["id"], "assignment_id": assignment["id"], "alert_id": alert["id"],
            "message_id": message_id, "user_id": viewer["id"], "token_id": token_id, "seq": 1, "code": "en", "delivery": delivery,
            "token": ack, "plan_id": plan["id"], "task_id": task["id"],
            "event_id": crossed["event_id"], "station": "Vigadó tér", "reading_id": typed["id"],
            "evacuee_id": evacuee["id"],
            "notice_id": notice["id"], "shelter_id": shelter["id"], "slug": "callout"}


# Values that let a view go on to read its other fields (a checked box, a chosen point…).
def _companions(ids: dict) -> dict[str, dict[str, str]]:
    return {
        "alerts.new": {"body": "Teszt", "groups": str(ids["group_id"]), "require_ack": "on"},
        "alerts.send": {"body": "Teszt", "groups": str(ids["group_id"]), "require_ack": "on",
                        "idempotency_key": "walk"},
        "registry.resources.index": {"lat": "47.5", "lon": "19.05"},
        "webhooks.status": {"d": str(ids["delivery"]), "MessageStatus": "delivered", "MessageSid": "SM" + "1" * 32},
        "webhooks.inbound": {"From": "+36205550101", "Body": "OK"},
    }


def _path(rule, ids) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(ids[m.group(1)]), rule.rule)


def _send(client, endpoint, method, path, values: dict, csrf: str):
    """One request with ``values`` in the query string, and for a POST in the form too."""
    query = urlencode(values)
    url = path + (f"?{query}" if query else "")
    if method == "GET":
        return client.get(url)
    form = {**values, "csrf_token": csrf}
    headers = {}
    if endpoint.startswith("webhooks."):
        form = dict(values)
        headers["X-Twilio-Signature"] = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + url, form)
    return client.post(url, data=form, headers=headers)


def _walk(client, rules, ids, csrf, methods) -> list[str]:
    failures = []
    companions = _companions(ids)
    for rule in rules:
        for method in sorted(rule.methods & methods):
            path = _path(rule, ids)
            base = companions.get(rule.endpoint, {})
            _read.clear()
            response = _send(client, rule.endpoint, method, path, base, csrf)
            if response.status_code >= 500:
                failures.append(f"{method} {rule.rule} (no hostile value): {response.status_code}")
            pending, done = set(_read) - {"csrf_token"}, set()
            while pending:
                key = pending.pop()
                done.add(key)
                for value in HOSTILE:
                    _read.clear()
                    response = _send(client, rule.endpoint, method, path, {**base, key: value}, csrf)
                    if response.status_code >= 500:
                        failures.append(f"{method} {rule.rule} {key}={value[:30]!r}: {response.status_code}")
                    pending |= _read - done - {"csrf_token"}
    return failures


def _signed_in(app, user) -> tuple:
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user["email"], "password": user["password"], "csrf_token": token})
    assert response.status_code == 302
    return client, csrf_from(client.get("/groups").get_data(as_text=True))


@pytest.mark.parametrize("role", ["viewer", "officer", "admin"])
@pytest.mark.slow
def test_no_hostile_query_or_form_value_makes_a_server_error(walk_app, make_user, token_for, role):
    admin = make_user("admin")
    ids = _seed(walk_app, walk_app.test_client(), {"Authorization": f"Bearer {token_for(admin)}"})
    client, csrf = _signed_in(walk_app, make_user(role))
    rules = [r for r in walk_app.url_map.iter_rules() if r.endpoint not in SKIPPED]
    if role == "admin":
        rules = [r for r in rules if r.endpoint in ADMIN_ENDPOINTS]
    elif role == "viewer":
        rules = [r for r in rules if not r.endpoint.startswith("webhooks.")]
    methods = {"GET"} if role == "viewer" else {"GET", "POST"}
    failures = _walk(client, rules, ids, csrf, methods)
    assert not failures, "\n".join(failures)


# The cases of the audit, one by one: each a 400 or 422 naming the field, nothing written.

BIG = 2**64


def _names_field(response, field: str) -> bool:
    """Whether an answer names ``field``: under ``errors`` in JSON, or in the page's text (in
    English: the test clients switch to it, whatever the translations say)."""
    body = response.get_json(silent=True)
    if body is not None:
        return any(field in fields for fields in body.get("errors", {}).values())
    page = response.get_data(as_text=True)
    return f"“{field}”" in page or f"„{field}”" in page  # a webhook has no session: Hungarian quotes


@pytest.fixture
def officer_page(app, make_user, login):
    """A test client signed in as an officer through the login form, in English."""
    client = app.test_client()
    client.get("/lang/en")
    user = make_user("officer")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": user["email"], "password": user["password"], "csrf_token": token})
    return client


@pytest.mark.parametrize("path, field", [
    ("/contacts?page=²", "page"),
    (f"/contacts?page={BIG}", "page"),
    ("/contacts?group=²", "group"),
    (f"/contacts?group={BIG}", "group"),
    ("/contacts?group=１２", "group"),
    (f"/resources?page={BIG}", "page"),
    (f"/admin/audit?page={BIG}", "page"),
    (f"/alerts?page={BIG}", "page"),
    ("/alerts/new?incident_id=²", "incident_id"),
    (f"/alerts/new?incident_id={BIG}", "incident_id"),
    ("/alerts/new?incident_id=0", "incident_id"),
    ("/incidents?q=" + "x" * 140_000, "q"),
    ("/contacts?q=" + "árvíz " * 10_000, "q"),
])
def test_a_bad_query_value_is_a_400_page_naming_it(app, make_user, login, client, path, field):
    login(make_user("admin"))
    client.get("/lang/en")
    response = client.get(path)
    assert response.status_code == 400
    assert _names_field(response, field)
    assert "<html" in response.get_data(as_text=True)


@pytest.mark.parametrize("path, field", [
    ("/api/v1/contacts?group=²", "group"),
    (f"/api/v1/contacts?group={BIG}", "group"),
    ("/api/v1/contacts?group=１２", "group"),
    (f"/api/v1/alerts?incident_id={BIG}", "incident_id"),
    ("/api/v1/contacts?offset=2147483648", "offset"),
    ("/api/v1/contacts?q=" + "x" * 140_000, "q"),
    ("/api/v1/resources?q=" + "x" * 140_000, "q"),
    ("/api/v1/incidents?q=" + "x" * 140_000, "q"),
    ("/api/v1/map/resources.geojson?q=" + "x" * 140_000, "q"),
])
def test_a_bad_api_query_value_is_a_422_naming_it(client, api, path, field):
    headers, _ = api("viewer")
    response = client.get(path, headers=headers)
    assert response.status_code == 422
    assert _names_field(response, field)


@pytest.mark.parametrize("target", ["/\r\nSet-Cookie: riado_session=stolen", "/contacts\nX-Other: 1",
                                    "/\\evil.example", "/\t/evil.example", "//evil.example"])
def test_next_with_a_line_break_or_another_host_goes_to_the_dashboard(client, make_user, login, target):
    from urllib.parse import quote

    response = client.get("/lang/en?next=" + quote(target, safe=""))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    user = make_user("viewer")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=" + quote(target, safe=""),
                           data={"email": user["email"], "password": user["password"], "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "stolen" not in str(response.headers)
    response = client.get("/login?next=" + quote(target, safe=""))  # signed in already
    assert response.status_code == 302 and response.headers["Location"] == "/"


def _count(app, model) -> int:
    from incident.extensions import db
    from sqlalchemy import func, select

    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize("ids", [[BIG], [-BIG], ["²"], ["１２"], [2147483648], [0], [True], "5", [1.5]])
def test_json_id_lists_out_of_range_or_not_numbers_are_422(app, client, api, ids):
    from alerts.models import Alert
    from incident.models import Contact

    headers, _ = api("officer")
    group = client.post("/api/v1/groups", json={"name": "Ügyelet"}, headers=headers).get_json()["id"]
    contact = client.post("/api/v1/contacts", json={"name": "Kovács Júlia", "phone": "+36205550101",
                                                    "groups": [group]}, headers=headers).get_json()
    for method, path, body, field in [
        ("POST", "/api/v1/contacts", {"name": "Új", "phone": "+36205550102", "groups": ids}, "groups"),
        ("PATCH", f"/api/v1/contacts/{contact['id']}", {"groups": ids}, "groups"),
        ("POST", "/api/v1/alerts", {"body": "Teszt", "groups": ids}, "groups"),
        ("POST", "/api/v1/alerts", {"body": "Teszt", "groups": [group], "contacts": ids}, "contacts"),
        ("POST", "/api/v1/alerts/recipients", {"body": "Teszt", "contacts": ids}, "contacts"),
    ]:
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == 422, (path, body, response.get_json())
        assert _names_field(response, field), (path, response.get_json())
    assert _count(app, Contact) == 1 and _count(app, Alert) == 0
    assert client.get(f"/api/v1/contacts/{contact['id']}", headers=headers).get_json()["groups"] == [group]


@pytest.mark.parametrize("field, value", [("quantity", 2147483648), ("capacity", 2**63), ("contact_id", BIG),
                                          ("version", 2147483648), ("quantity", "１２")])
def test_numbers_above_the_databases_integer_are_refused_before_it(app, client, api, field, value):
    from incident.models import Resource

    headers, _ = api("officer")
    created = client.post("/api/v1/resources", json={"name": "Szivattyú", "kind": "pump", "location": POINT},
                          headers=headers).get_json()
    response = client.patch(f"/api/v1/resources/{created['id']}", json={field: value}, headers=headers)
    assert response.status_code == 422 and _names_field(response, field)
    response = client.post("/api/v1/resources", json={"name": "Másik", "kind": "shelter", "capacity": 10,
                                                       "location": POINT, field: value}, headers=headers)
    assert response.status_code == 422 and _names_field(response, field)
    assert _count(app, Resource) == 1


def _upload(client, path, text: str, headers):
    import io

    return client.post(path, data={"file": (io.BytesIO(text.encode()), "lista.csv")}, headers=headers,
                       content_type="multipart/form-data")


@pytest.mark.parametrize("cell", [str(BIG), "²", "１２", "-1", "0", "2147483648"])
def test_a_csv_id_that_is_no_id_is_reported_with_its_row(app, client, api, cell):
    from incident.models import Contact, Resource

    headers, _ = api("officer")
    contacts = _upload(client, "/api/v1/contacts/import",
                       f"id,name,phone\n,Jó Ember,06301234567\n{cell},Rossz Id,06301234568\n", headers)
    assert contacts.status_code == 200
    assert [(e["row"], e["field"]) for e in contacts.get_json()["errors"]] == [(3, "id")]
    resources = _upload(client, "/api/v1/resources/import",
                        f"id,name,kind,latitude,longitude\n{cell},Szivattyú,pump,47.5,19.05\n", headers)
    assert [(e["row"], e["field"]) for e in resources.get_json()["errors"]] == [(2, "id")]
    assert _count(app, Contact) == 0 and _count(app, Resource) == 0


def test_a_csv_cell_longer_than_the_csv_modules_limit_is_reported_with_its_row_and_field(app, client, api):
    from incident.models import Contact

    headers, _ = api("officer")
    long = "x" * 131_073
    response = _upload(client, "/api/v1/contacts/import",
                       f'name,phone,notes\nJó Ember,06301234567,\n"{long}",06301234568,\nMás,06301234569,{long}\n',
                       headers)
    assert response.status_code == 200
    assert {(e["row"], e["field"]) for e in response.get_json()["errors"]} == {(3, "name"), (4, "notes")}
    assert _count(app, Contact) == 0


# Areas nested far deeper than any GeoJSON: pasted on the incident form, on the map's area page,
# or sent to the API.

DEEP_AREA = '{"type": "Polygon", "coordinates": ' + "[" * 50_000 + "]" * 50_000 + "}"
MIDDLING_AREA = {"type": "Polygon", "coordinates": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[19.05, 47.5]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}


def test_an_area_nested_50000_deep_is_refused_naming_the_area_everywhere(app, client, api, officer_page):
    from incident.models import Incident, LogEntry

    headers, _ = api("officer")
    incident = create_incident(app, title="Vihar", kind="storm", severity="moderate", location=POINT)
    entries = _count(app, LogEntry)
    page = officer_page.get("/incidents/new").get_data(as_text=True)
    token = csrf_from(page)
    form = {"csrf_token": token, "title": "Árvíz", "kind": "flood", "severity": "severe",
            "latitude": "47.5", "longitude": "19.05"}
    for area in (DEEP_AREA, json.dumps(MIDDLING_AREA)):
        created = officer_page.post("/incidents/new", data={**form, "area": area})
        assert created.status_code == 422 and "nested too deeply" in created.get_data(as_text=True)
        edited = officer_page.post(f"/incidents/{incident['id']}/edit",
                                   data={**form, "area": area, "version": str(incident["version"])})
        assert edited.status_code == 422 and "nested too deeply" in edited.get_data(as_text=True)
        drawn = officer_page.post(f"/map/incidents/{incident['id']}/area",
                                  data={"csrf_token": token, "area": area, "version": str(incident["version"])})
        assert drawn.status_code == 422 and "nested too deeply" in drawn.get_data(as_text=True)
    for body, path in [({"area": MIDDLING_AREA}, f"/api/v1/incidents/{incident['id']}"),
                       ({"body": "Teszt", "area": MIDDLING_AREA}, "/api/v1/alerts")]:
        method = "PATCH" if "incidents" in path else "POST"
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == 422 and _names_field(response, "area"), response.get_json()
    deep = client.patch(f"/api/v1/incidents/{incident['id']}", data=DEEP_AREA.replace('"type"', '"area": {"type"', 1) + "}",
                        headers={**headers, "Content-Type": "application/json"})
    assert deep.status_code == 422
    assert _count(app, Incident) == 1 and _count(app, LogEntry) == entries


# Twilio's status callback, signed as Twilio signs it.

TWILIO_TOKEN = WEBHOOK_TOKEN


@pytest.mark.parametrize("field, query, error", [
    ("ErrorCode", "", "1" * 40),
    ("ErrorCode", "", "²"),
    ("ErrorCode", "", "-30003"),
    ("d", f"?d={BIG}", "30003"),
    ("d", "?d=²", "30003"),
])
def test_a_status_callback_with_an_unusable_number_is_a_400_naming_it(twilio_app, api, field, query, error):
    from alerts.models import Delivery
    from incident.extensions import db
    from sqlalchemy import select

    client = twilio_app.test_client()
    headers, _ = api("officer")
    group = client.post("/api/v1/groups", json={"name": "Ügyelet"}, headers=headers).get_json()["id"]
    client.post("/api/v1/contacts", json={"name": "Kovács Júlia", "phone": "+36205550131", "groups": [group]},
                headers=headers)
    alert = client.post("/api/v1/alerts", json={"body": "Teszt", "groups": [group]}, headers=headers).get_json()["id"]
    with twilio_app.app_context():
        delivery = db.session.execute(select(Delivery).where(Delivery.alert_id == alert)).scalar_one()
        delivery.status = "sent"
        db.session.commit()
        delivery_id = delivery.id
    path = "/webhooks/twilio/status" + (query or f"?d={delivery_id}")
    form = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "failed", "ErrorCode": error}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, form)
    response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 400
    assert _names_field(response, field)
    with twilio_app.app_context():
        assert db.session.get(Delivery, delivery_id).status == "sent"


@pytest.mark.parametrize("code, expected", [("30003", 30003), (21610, 21610), ("²", None), ("1" * 40, None),
                                            (10**40, None), ("-1", None), (None, None)])
def test_twilios_error_codes_are_read_only_when_the_database_can_keep_them(code, expected):
    from alerts.gateways import _classify

    assert _classify(400, code, "refused").code == expected


def test_coordinates_too_large_for_a_float_are_refused_naming_the_field(app, client, api):
    """A JSON integer of 400 digits is a valid number that no float can hold."""
    from incident.models import Contact, Incident

    headers, _ = api("officer")
    big = 10**400
    area = {"type": "Polygon", "coordinates": [[[big, 47.5], [19.1, 47.5], [19.1, 47.6], [big, 47.5]]]}
    incident = create_incident(app, title="Vihar", kind="storm", severity="moderate", location=POINT)
    for method, path, body, field in [
        ("POST", "/api/v1/contacts", {"name": "Kovács Júlia", "phone": "06301234567",
                                      "location": {"type": "Point", "coordinates": [big, 47.5]}}, "location"),
        ("POST", "/api/v1/resources", {"name": "Szivattyú", "kind": "pump",
                                       "location": {"type": "Point", "coordinates": [19.05, -big]}}, "location"),
        ("PATCH", f"/api/v1/incidents/{incident['id']}", {"area": area}, "area"),
        ("POST", "/api/v1/alerts/recipients", {"body": "Teszt", "area": area}, "area"),
    ]:
        response = client.open(path, method=method, data=json.dumps(body), content_type="application/json",
                               headers=headers)
        assert response.status_code == 422 and _names_field(response, field), (path, response.get_json())
    assert _count(app, Contact) == 0 and _count(app, Incident) == 1


# The JSON bodies of the API: every property of every request schema in the OpenAPI document,
# given each hostile JSON value on top of a body that is otherwise right.

HOSTILE_JSON = [2**64, -(2**64), 10**400, 2147483648, 1e308, "²", "１２", True, [2**64], ["²"], {"a": [[[[1]]]]},
                "x" * 140_000, [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
                {"type": "Point", "coordinates": [10**400, 1]},
                {"type": "Polygon", "coordinates": [[[10**400, 1], [2, 1], [2, 2], [10**400, 1]]]}]


def _bases(ids: dict) -> dict[tuple[str, str], dict]:
    area = {"type": "Polygon", "coordinates": [[[19.04, 47.49], [19.06, 47.49], [19.06, 47.51], [19.04, 47.49]]]}
    return {
        ("post", "/api/v1/contacts"): {"name": "Nagy Péter", "phone": "+36205550102"},
        ("patch", "/api/v1/contacts/{contact_id}"): {},
        ("post", "/api/v1/groups"): {"name": "Új csoport"},
        ("patch", "/api/v1/groups/{group_id}"): {},
        ("post", "/api/v1/resources"): {"name": "Szivattyú", "kind": "pump", "location": POINT},
        ("patch", "/api/v1/resources/{resource_id}"): {},
        ("post", "/api/v1/resource-kinds"): {"code": "drone", "label_hu": "Drón", "label_en": "Drone"},
        ("post", "/api/v1/incidents"): {"title": "Vihar", "kind": "storm", "severity": "minor", "location": POINT},
        ("patch", "/api/v1/incidents/{incident_id}"): {},
        ("post", "/api/v1/incidents/{incident_id}/log"): {"text": "Jelentés"},
        ("post", "/api/v1/incidents/{incident_id}/assignments"): {"resource_id": ids["resource_id"], "quantity": 1},
        ("post", "/api/v1/alerts"): {"body": "Teszt", "groups": [ids["group_id"]]},
        ("post", "/api/v1/alerts/recipients"): {"body": "Teszt", "area": area},
        ("post", "/api/v1/alerts/preview"): {"body": "Teszt"},
        ("post", "/api/v1/users"): {"email": "uj@riado-test.example", "password": PASSWORD, "role": "viewer"},
        ("patch", "/api/v1/users/{user_id}"): {},
        ("post", "/api/v1/tokens"): {"email": "nobody@riado-test.example", "password": "x"},
    }


@pytest.mark.slow
def test_no_hostile_json_value_makes_a_server_error(walk_app, make_user, token_for):
    admin = make_user("admin")
    headers = {"Authorization": f"Bearer {token_for(admin)}"}
    client = walk_app.test_client()
    ids = _seed(walk_app, client, headers)
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    failures, walked = [], set()
    for (method, template), base in _bases(ids).items():
        operation = document["paths"][template][method]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        path = re.sub(r"\{([^}]+)\}", lambda m: str(ids[m.group(1)]), template)
        for field in schemas[ref]["properties"]:
            walked.add((method, template, field))
            for value in HOSTILE_JSON:
                response = client.open(path, method=method.upper(), data=json.dumps({**base, field: value}),
                                       content_type="application/json", headers=headers)
                if response.status_code >= 500:
                    failures.append(f"{method.upper()} {template} {field}={str(value)[:30]}: {response.status_code}")
    assert len(walked) > 60  # the walk reached the schemas' properties
    assert not failures, "\n".join(failures)
