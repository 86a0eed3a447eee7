"""The OpenAPI document tells the truth: every JSON answer of the API, as a client gets it, is
valid against the schema that the app's own /api/v1/openapi.json declares for that path, method
and status; an answer with a field the document does not declare, or without one it requires,
is not. And a page costs the same number of SQL statements whatever the number of rows."""

from __future__ import annotations

import copy
import datetime as dt
import io
import re

import jsonschema_rs
import pytest
from sqlalchemy import event

VIGADO = {"type": "Point", "coordinates": [19.0493, 47.4957]}
AREA = {"type": "Polygon", "coordinates": [[[19.04, 47.49], [19.06, 47.49], [19.06, 47.50], [19.04, 47.49]]]}
PHONE = "+36301234567"


def json_schema(node):
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable: true`` becomes "or null"."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


class Document:
    """The app's OpenAPI document, as a validator of answers."""

    def __init__(self, document: dict):
        self.document = document
        self.components = json_schema(document["components"])
        self.checked: set[tuple[str, str, str]] = set()

    def schema(self, method: str, template: str, status: int) -> dict:
        response = self.document["paths"][template][method.lower()]["responses"][str(status)]
        return response["content"]["application/json"]["schema"]

    def validator(self, method: str, template: str, status: int):
        root = dict(json_schema(self.schema(method, template, status)), components=self.components)
        return jsonschema_rs.Draft7Validator(root, validate_formats=True)

    def errors(self, method: str, template: str, status: int, body) -> list[str]:
        return [f"{error.instance_path}: {error.message}"
                for error in self.validator(method, template, status).iter_errors(body)]

    def json_answers(self) -> set[tuple[str, str, str]]:
        """(method, path, status) of every successful answer the document says is JSON."""
        return {(method.upper(), path, status)
                for path, operations in self.document["paths"].items()
                for method, operation in operations.items() if isinstance(operation, dict)
                for status, response in operation.get("responses", {}).items()
                if status.startswith("2") and "application/json" in response.get("content", {})}


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return Document(response.get_json())


@pytest.fixture
def call(client, document):
    """``call(method, template, status, headers, **path_params_and_request)`` → the answer's
    JSON, after checking its status and that the document describes it."""

    def do(method, template, status, headers, query="", **kwargs):
        params = {key: kwargs.pop(key) for key in re.findall(r"{(\w+)}", template)}
        url = template.format(**params) + query
        response = client.open(url, method=method, headers=headers, **kwargs)
        assert response.status_code == status, (method, url, response.status_code, response.get_data(as_text=True))
        body = response.get_json()
        problems = document.errors(method, template, status, body)
        assert not problems, (method, url, status, problems, body)
        document.checked.add((method, template, str(status)))
        return body

    return do


def test_every_json_answer_is_what_the_document_declares(client, api, document, call):
    officer, _ = api("officer")
    admin, _ = api("admin")
    viewer, _ = api("viewer")

    # Contacts and groups (as an officer sees them, and masked as a viewer sees them)
    group = call("POST", "/api/v1/groups", 201, officer, json={"name": "Tűzoltók", "description": "Önkéntesek"})
    contact = call("POST", "/api/v1/contacts", 201, officer,
                   json={"name": "Kiss Anna", "phone": "06 30 123 4567", "email": "anna@example.hu",
                         "groups": [group["id"]], "location": VIGADO})
    call("POST", "/api/v1/contacts", 201, officer, json={"name": "Nagy Béla", "phone": "+36 20 765 4321"})
    for headers in (officer, viewer):
        listed = call("GET", "/api/v1/contacts", 200, headers)
        assert listed["total"] == 2
        call("GET", "/api/v1/contacts/{contact_id}", 200, headers, contact_id=contact["id"])
        members = call("GET", "/api/v1/groups/{group_id}", 200, headers, group_id=group["id"])["members"]
        assert [m["name"] for m in members] == ["Kiss Anna"]
        call("GET", "/api/v1/groups", 200, headers)
    assert call("GET", "/api/v1/contacts/{contact_id}", 200, viewer, contact_id=contact["id"])["phone"] != PHONE
    call("PATCH", "/api/v1/contacts/{contact_id}", 200, officer, contact_id=contact["id"], json={"role": "parancsnok"})
    patched = call("PATCH", "/api/v1/groups/{group_id}", 200, officer, group_id=group["id"], json={"description": ""})
    assert "members" not in patched
    exported = client.get("/api/v1/contacts/export.csv", headers=officer).get_data()
    call("POST", "/api/v1/contacts/import", 200, officer, query="?dry_run=true",
         data={"file": (io.BytesIO(exported), "contacts.csv")}, content_type="multipart/form-data")

    # Resources, kinds, nearest
    call("POST", "/api/v1/resource-kinds", 201, admin, json={"code": "drone", "label_hu": "Drón", "label_en": "Drone"})
    call("GET", "/api/v1/resource-kinds", 200, viewer)
    pump = call("POST", "/api/v1/resources", 201, officer,
                json={"name": "Szivattyú", "kind": "pump", "quantity": 3, "location": VIGADO, "contact_id": contact["id"]})
    call("POST", "/api/v1/resources", 201, officer,
         json={"name": "Iskola tornaterem", "kind": "shelter", "capacity": 120, "location": VIGADO})
    call("GET", "/api/v1/resources/{resource_id}", 200, viewer, resource_id=pump["id"])
    call("PATCH", "/api/v1/resources/{resource_id}", 200, officer, resource_id=pump["id"], json={"unit": "db"})
    listed = call("GET", "/api/v1/resources", 200, viewer)
    assert all("distance_m" not in item for item in listed["items"])
    nearest = call("GET", "/api/v1/resources", 200, viewer, query="?lat=47.4966&lon=19.0502&limit=5")
    assert all("distance_m" in item for item in nearest["items"])
    exported = client.get("/api/v1/resources/export.csv", headers=officer).get_data()
    call("POST", "/api/v1/resources/import", 200, officer, query="?dry_run=true",
         data={"file": (io.BytesIO(exported), "resources.csv")}, content_type="multipart/form-data")

    # Incidents, their log, assignments
    incident = call("POST", "/api/v1/incidents", 201, officer,
                    json={"title": "Árvíz a Duna-parton", "kind": "flood", "severity": "severe", "location": VIGADO,
                          "area": AREA})
    call("PATCH", "/api/v1/incidents/{incident_id}", 200, officer, incident_id=incident["id"], json={"status": "active"})
    for headers in (officer, viewer):
        call("GET", "/api/v1/incidents", 200, headers)
        call("GET", "/api/v1/incidents/{incident_id}", 200, headers, incident_id=incident["id"])
    entry = call("POST", "/api/v1/incidents/{incident_id}/log", 201, officer, incident_id=incident["id"],
                 json={"text": "Homokzsákok a rakparton.", "kind": "action"})
    for headers in (officer, viewer):
        call("GET", "/api/v1/incidents/{incident_id}/log", 200, headers, incident_id=incident["id"])
        call("GET", "/api/v1/incidents/{incident_id}/log/{seq}", 200, headers, incident_id=incident["id"],
             seq=entry["seq"])
    call("GET", "/api/v1/incidents/{incident_id}/log/verify", 200, viewer, incident_id=incident["id"])
    assignment = call("POST", "/api/v1/incidents/{incident_id}/assignments", 201, officer, incident_id=incident["id"],
                      json={"resource_id": pump["id"], "quantity": 2, "note": "A rakpartra"})
    call("POST", "/api/v1/assignments/{assignment_id}/release", 200, officer, assignment_id=assignment["id"])
    call("POST", "/api/v1/incidents/{incident_id}/assignments", 201, officer, incident_id=incident["id"],
         json={"resource_id": pump["id"]})
    for headers in (officer, viewer):
        call("GET", "/api/v1/incidents/{incident_id}/assignments", 200, headers, incident_id=incident["id"])
    call("GET", "/api/v1/incidents/{incident_id}/nearby-resources", 200, viewer, incident_id=incident["id"])

    # Alerts (the console gateway: nothing leaves the machine)
    call("POST", "/api/v1/alerts/preview", 200, viewer, json={"body": "Árvízvédelmi riasztás"})
    alert_body = {"body": "Gyülekező 10-kor a tűzoltószertárnál", "groups": [group["id"]], "incident_id": incident["id"]}
    call("POST", "/api/v1/alerts/recipients", 200, officer, json=alert_body)
    call("POST", "/api/v1/alerts/area-reach", 200, officer, json={"area": AREA})
    key = {**officer, "Idempotency-Key": "openapi-test-1"}
    accepted = call("POST", "/api/v1/alerts", 202, key, json=alert_body)
    assert call("POST", "/api/v1/alerts", 202, key, json=alert_body)["id"] == accepted["id"]  # the same alert
    for headers in (officer, viewer):
        call("GET", "/api/v1/alerts", 200, headers)
        call("GET", "/api/v1/alerts/{alert_id}", 200, headers, alert_id=accepted["id"])
        call("GET", "/api/v1/alerts/{alert_id}/deliveries", 200, headers, alert_id=accepted["id"])
        call("GET", "/api/v1/alerts/{alert_id}/replies", 200, headers, alert_id=accepted["id"])
    call("POST", "/api/v1/alerts/{alert_id}/escalation/stop", 200, officer, alert_id=accepted["id"])

    # Readiness plans and checklists
    plan = call("POST", "/api/v1/plans", 201, officer, json={
        "name": "Árvíz – II. fokú készültség", "hazard": "flood", "level": 2,
        "tasks": [{"title": "HVB összehívása", "responsible": "Titkárság", "due_minutes": 30}, {"title": "Tájékoztatás"}]})
    for headers in (officer, viewer):
        call("GET", "/api/v1/plans", 200, headers, query="?hazard=flood")
        call("GET", "/api/v1/plans/{plan_id}", 200, headers, plan_id=plan["id"])
        call("GET", "/api/v1/plans/export.json", 200, headers)
        call("GET", "/api/v1/plans/{plan_id}/export.json", 200, headers, plan_id=plan["id"])
    call("PATCH", "/api/v1/plans/{plan_id}", 200, officer, plan_id=plan["id"], json={"description": "Vigadó tér 700 cm"})
    exported = client.get("/api/v1/plans/export.json", headers=officer).get_data()
    call("POST", "/api/v1/plans/import", 200, officer, query="?dry_run=true",
         data={"file": (io.BytesIO(exported), "plans.json")}, content_type="multipart/form-data")
    call("PATCH", "/api/v1/incidents/{incident_id}", 200, officer, incident_id=incident["id"], json={"readiness_level": 2})
    applied = call("POST", "/api/v1/incidents/{incident_id}/plans", 201, officer, incident_id=incident["id"],
                   json={"plan_id": plan["id"]})
    for headers in (officer, viewer):
        call("GET", "/api/v1/incidents/{incident_id}/tasks", 200, headers, incident_id=incident["id"])
        call("GET", "/api/v1/incident-tasks/{task_id}", 200, headers, task_id=applied["tasks"][0]["id"])
    call("PATCH", "/api/v1/incident-tasks/{task_id}", 200, officer, task_id=applied["tasks"][0]["id"],
         json={"status": "done"})
    # Public notices and the media log (SPEC §5): a press officer writes, another officer approves
    press, _ = api("press")
    notice_body = {"title": "Vihar", "body": "Kidőlt fák a körúton.", "incident_id": incident["id"],
                   "area": AREA, "expires_at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).isoformat()}
    notice = call("POST", "/api/v1/notices", 201, press, json=notice_body)
    call("PATCH", "/api/v1/notices/{notice_id}", 200, press, notice_id=notice["id"],
         json={"instruction": "Kerülje el a körutat.", "version": notice["version"]})
    call("POST", "/api/v1/notices/{notice_id}/submit", 200, press, notice_id=notice["id"])
    call("POST", "/api/v1/notices/{notice_id}/reject", 200, officer, notice_id=notice["id"], json={"reason": "Utca?"})
    call("POST", "/api/v1/notices/{notice_id}/submit", 200, press, notice_id=notice["id"])
    call("POST", "/api/v1/notices/{notice_id}/approve", 200, officer, notice_id=notice["id"])
    for headers in (press, viewer):
        call("GET", "/api/v1/notices", 200, headers, query="?status=published")
        call("GET", "/api/v1/notices/{notice_id}", 200, headers, notice_id=notice["id"])
    # The press officer e-mails press lists only (403 for another group, until an officer marks it one).
    assert client.post(f"/api/v1/notices/{notice['id']}/send", json={"groups": [group["id"]]},
                       headers=press).status_code == 403
    assert call("PATCH", "/api/v1/groups/{group_id}", 200, officer, group_id=group["id"],
                json={"press_list": True})["press_list"] is True
    call("POST", "/api/v1/notices/{notice_id}/send", 202, press, notice_id=notice["id"], json={"groups": [group["id"]]})
    call("POST", "/api/v1/notices/{notice_id}/withdraw", 200, press, notice_id=notice["id"])
    call("POST", "/api/v1/incidents/{incident_id}/media", 201, press, incident_id=incident["id"],
         json={"outlet": "Belvárosi Hírek", "asked": "Meddig tart a lezárás?"})

    # The map's counts
    call("GET", "/api/v1/map/summary", 200, viewer)

    # The hazard watch: readings crossing readiness levels, the proposals accepted and dismissed
    call("POST", "/api/v1/gauges/{station}/readings", 201, officer, station="Vigadó tér", json={"level_cm": 625})
    call("POST", "/api/v1/gauges/{station}/readings", 201, officer, station="Vigadó tér",
         json={"level_cm": 705, "at": None})
    for headers in (officer, viewer):
        call("GET", "/api/v1/watch", 200, headers)
        call("GET", "/api/v1/gauges/{station}/readings", 200, headers, station="Vigadó tér")
        proposals = call("GET", "/api/v1/watch/events", 200, headers, query="?status=open")["items"]
        call("GET", "/api/v1/watch/events/{event_id}", 200, headers, event_id=proposals[0]["id"])
    call("POST", "/api/v1/watch/events/{event_id}/dismiss", 200, officer, event_id=proposals[1]["id"],
         json={"reason": "A II. fokú jelzés miatt."})
    call("POST", "/api/v1/watch/events/{event_id}/accept", 201, officer, event_id=proposals[0]["id"],
         json={"location": VIGADO})
    typo = call("POST", "/api/v1/gauges/{station}/readings", 201, officer, station="Óbuda", json={"level_cm": 480})
    assert client.delete(f"/api/v1/gauges/Óbuda/readings/{typo['id']}", headers=officer).status_code == 204
    deleting = document.document["paths"]["/api/v1/gauges/{station}/readings/{reading_id}"]["delete"]
    assert {"204", "404", "409"} <= set(deleting["responses"])

    # Accounts: tokens, users, the audit trail
    user = call("POST", "/api/v1/users", 201, admin,
                json={"email": "uj.kolléga@example.hu", "password": "egy hosszú jelszó 2026", "role": "viewer",
                      "name": "Új Kolléga", "position": "ügyeletes"})
    token = call("POST", "/api/v1/tokens", 201, {}, json={"email": user["email"], "password": "egy hosszú jelszó 2026",
                                                          "name": "openapi", "days": 30})
    call("GET", "/api/v1/tokens", 200, {"Authorization": f"Bearer {token['token']}"})
    call("GET", "/api/v1/tokens", 200, admin, query=f"?user_id={user['id']}")
    call("GET", "/api/v1/me", 200, viewer)
    call("GET", "/api/v1/users", 200, admin)
    call("GET", "/api/v1/users/{user_id}", 200, admin, user_id=user["id"])
    call("PATCH", "/api/v1/users/{user_id}", 200, admin, user_id=user["id"], json={"position": "főügyeletes"})
    call("GET", "/api/v1/audit", 200, admin)

    # The reception register (issue 17)
    reception = call("POST", "/api/v1/incidents", 201, officer,
                     json={"title": "Kitelepítés", "kind": "flood", "severity": "severe", "location": VIGADO})
    gym = call("POST", "/api/v1/resources", 201, officer,
               json={"name": "Tornaterem", "kind": "shelter", "capacity": 10, "location": VIGADO})
    hall = call("POST", "/api/v1/resources", 201, officer,
                json={"name": "Díszterem", "kind": "shelter", "capacity": 10, "location": VIGADO})
    where = {"incident_id": reception["id"], "shelter_id": gym["id"]}
    person = call("POST", "/api/v1/evacuees", 201, officer,
                  json={**where, "name": "Kiss Ödön", "birth_year": 1940, "needs": ["wheelchair"]})
    call("POST", "/api/v1/evacuees/household", 201, officer,
         json={**where, "household": "Varga", "members": [{"name": "Varga Péter"}, {"name": "Varga Bence",
                                                                                    "birth_year": 2015}]})
    call("GET", "/api/v1/evacuees", 200, officer, query="?q=kiss")
    call("GET", "/api/v1/evacuees/{evacuee_id}", 200, officer, evacuee_id=person["id"])
    call("PATCH", "/api/v1/evacuees/{evacuee_id}", 200, officer, evacuee_id=person["id"], json={"notes": "szemüveg"})
    call("POST", "/api/v1/evacuees/{evacuee_id}/move", 200, officer, evacuee_id=person["id"],
         json={"shelter_id": hall["id"]})
    call("POST", "/api/v1/evacuees/{evacuee_id}/checkout", 200, officer, evacuee_id=person["id"],
         json={"destination": "Eger"})
    counts = call("GET", "/api/v1/incidents/{incident_id}/reception", 200, viewer, incident_id=reception["id"])
    assert counts["totals"]["received"] == 3
    exported = client.get(f"/api/v1/evacuees/export.csv?incident_id={reception['id']}&shelter_id={gym['id']}",
                          headers=officer).get_data()
    call("POST", "/api/v1/evacuees/import", 200, officer,
         query=f"?dry_run=true&incident_id={reception['id']}&shelter_id={gym['id']}",
         data={"file": (io.BytesIO(exported), "register.csv")}, content_type="multipart/form-data")

    # Every JSON answer the document names has been checked against it.
    assert document.json_answers() - document.checked == set()


def test_an_answer_the_document_does_not_describe_is_caught(client, api, document):
    """The check is not one that always passes: an extra field, a missing required one, a
    wrong type or a null where none may be are each refused, also inside the items of a page."""
    officer, _ = api("officer")
    client.post("/api/v1/resources", json={"name": "Szivattyú", "kind": "pump", "location": VIGADO}, headers=officer)
    page = client.get("/api/v1/resources", headers=officer).get_json()
    template = ("GET", "/api/v1/resources", 200)
    assert document.errors(*template, page) == []

    def broken(change):
        body = copy.deepcopy(page)
        change(body)
        return document.errors(*template, body)

    assert broken(lambda b: b.update(secret="x"))  # a field the document does not declare
    assert broken(lambda b: b["items"][0].update(phone=PHONE))
    assert broken(lambda b: b["items"][0].pop("available_quantity"))  # a required field missing
    assert broken(lambda b: b.pop("total"))
    assert broken(lambda b: b["items"][0].update(quantity="3"))  # the wrong type
    assert broken(lambda b: b["items"][0].update(name=None))  # null where the document allows none
    assert broken(lambda b: b["items"][0].update(created_at="yesterday"))  # not a date-time
    assert not broken(lambda b: b["items"][0].update(capacity=None))  # nullable, and optional distance_m
    assert not broken(lambda b: b["items"][0].update(distance_m=12.5))


def statements_of(app, client, url, headers) -> list[str]:
    """The SQL statements one ``GET url`` sends to the database."""
    from incident.extensions import db

    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(url, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200, response.get_json()
    return statements


@pytest.mark.parametrize("url", ["/api/v1/resources?limit=20", "/api/v1/incidents?limit=20",
                                 "/api/v1/contacts?limit=20", "/api/v1/incidents/{incident}/log?limit=20"])
def test_a_page_costs_the_same_statements_whatever_its_rows(app, client, api, url):
    officer, _ = api("officer")
    incident = client.post("/api/v1/incidents", json={"title": "Próba", "kind": "flood", "severity": "minor",
                                                      "location": VIGADO}, headers=officer).get_json()
    url = url.format(incident=incident["id"])

    def add(n):
        for _ in range(n):
            i = next(serial)
            for path, body in (("/api/v1/resources", {"name": f"Szivattyú {i}", "kind": "pump", "location": VIGADO}),
                               ("/api/v1/incidents", {"title": f"Eset {i}", "kind": "fire", "severity": "minor",
                                                      "location": VIGADO}),
                               ("/api/v1/contacts", {"name": f"Ügyeletes {i}", "phone": f"+3630{1000000 + i}"}),
                               (f"/api/v1/incidents/{incident['id']}/log", {"text": f"Bejegyzés {i}"})):
                assert client.post(path, json=body, headers=officer).status_code == 201

    serial = iter(range(1, 1000))
    add(2)
    client.get(url, headers=officer)  # the token's first use is noted once: not part of a page's cost
    few = statements_of(app, client, url, officer)
    add(23)
    many = statements_of(app, client, url, officer)
    assert len(many) == len(few), "\n".join(many)
    assert len(few) <= 6  # BEGIN, the token, the count, the page, and at most two batched reads
