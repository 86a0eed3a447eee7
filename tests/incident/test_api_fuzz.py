"""Hostile input against the whole JSON API: schemathesis generates requests from the app's own
OpenAPI document (/api/v1/openapi.json), valid ones and invalid ones, and sends them as an admin
through the WSGI app. No request may end in a server error, and every answer must be what the
document promises: a documented status code, with a body that matches its schema.

schemathesis's pytest integration (``schemathesis.pytest.from_fixture``) relies on a private
attribute that pytest 9.2 no longer has, so the operations are driven through its Python API:
one Hypothesis run per operation and generation mode, every failure collected and reported."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Hundreds of generated requests: tens of seconds.
pytestmark = pytest.mark.slow


def examples(n: int):
    """Hypothesis settings for one run: ``n`` examples, the same every run, no shrinking (the
    report shows the request as it was sent)."""
    return settings(max_examples=n, derandomize=True, database=None, deadline=None,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


POINT = {"type": "Point", "coordinates": [19.0502, 47.4966]}
AREA = {"type": "Polygon", "coordinates": [[[19.047, 47.493], [19.053, 47.493], [19.053, 47.499], [19.047, 47.493]]]}


def _seed(client, headers, admin_id) -> dict[str, int]:
    """A few records of every kind; returns the id of one of each, by path parameter name."""

    def post(path, body):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code in (201, 202), (path, response.get_json())
        return response.get_json()

    group = post("/api/v1/groups", {"name": "Helyi Védelmi Bizottság"})
    contacts = [post("/api/v1/contacts", {"name": f"Tag {n}", "phone": f"+3620555010{n}", "groups": [group["id"]],
                                          "location": POINT}) for n in range(3)]
    shelter = post("/api/v1/resources", {"name": "Iskola tornaterem", "kind": "shelter", "quantity": 1,
                                         "capacity": 120, "location": POINT})
    pump = post("/api/v1/resources", {"name": "Szivattyú", "kind": "pump", "quantity": 3, "location": POINT})
    incident = post("/api/v1/incidents", {"title": "Dunai árvíz", "kind": "flood", "severity": "severe",
                                          "location": POINT, "area": AREA})
    entry = post(f"/api/v1/incidents/{incident['id']}/log", {"text": "Védekezés megkezdve", "kind": "decision"})
    assignment = post(f"/api/v1/incidents/{incident['id']}/assignments", {"resource_id": shelter["id"], "quantity": 40})
    alert = post("/api/v1/alerts", {"body": "Árvízveszély: kérjük, kövesse a hatóság utasításait.",
                                    "groups": [group["id"]], "incident_id": incident["id"]})
    plan = post("/api/v1/plans", {"name": "Árvíz II.", "hazard": "flood", "level": 2,
                                  "tasks": [{"title": "HVB összehívása", "due_minutes": 30}]})
    task = post(f"/api/v1/incidents/{incident['id']}/plans", {"plan_id": plan["id"]})["tasks"][0]
    first_reading = post("/api/v1/gauges/Vigadó tér/readings", {"level_cm": 625})  # one the fuzzer may delete
    crossed = post("/api/v1/gauges/Vigadó tér/readings", {"level_cm": 705})  # hazard watch proposals
    evacuee = post("/api/v1/evacuees", {"name": "Kovács Júlia", "incident_id": incident["id"], "shelter_id": shelter["id"],
                                        "birth_year": 1950, "needs": ["wheelchair"]})
    notice = post("/api/v1/notices", {"title": "Árvíz", "body": "A rakpart lezárva.", "incident_id": incident["id"]})
    return {"evacuee_id": evacuee["id"], "notice_id": notice["id"],"user_id": admin_id, "contact_id": contacts[-1]["id"], "group_id": group["id"], "resource_id": pump["id"],
            "incident_id": incident["id"], "seq": entry["seq"], "assignment_id": assignment["id"],
            "alert_id": alert["id"], "plan_id": plan["id"], "task_id": task["id"], "event_id": crossed["event_id"],
            "station": "Vigadó tér", "reading_id": first_reading["id"]}


def _run(operation, mode, headers, n, path_parameters=None) -> str | None:
    """Fuzz one operation in one mode; the report of its first failure, or None."""
    last = []

    @examples(n)
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def run(case):
        last[:] = [case]
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001  (failed checks, or the app's own exception)
        request = last[0].as_curl_command() if last else ""
        return f"{mode.value} {operation.label}: {type(exc).__name__}: {str(exc)[:3000]}\n  {request}"
    return None


def test_api_answers_hostile_input_as_documented(app, client, make_user, token_for):
    admin = make_user("admin")
    # Uncompressed answers: the WSGI transport hands the fuzzer the bytes as sent (compression
    # itself is tested in tests/incident/test_compression.py).
    headers = {"Authorization": f"Bearer {token_for(admin)}", "Accept-Encoding": "identity"}
    known = _seed(client, headers, admin["id"])
    # A token of the admin's own for DELETE /tokens/{token_id}: revoking it leaves the fuzzer's.
    spare = token_for(admin)
    known["token_id"] = next(item["id"] for item in client.get("/api/v1/tokens", headers=headers).get_json()["items"]
                             if spare.startswith(item["prefix"]))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 50  # the whole document, nothing left out
    runs = []
    for operation in operations:
        names = re.findall(r"{(\w+)}", operation.path)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if names:
                # Generated ids seldom name a record: mostly 404. The records made above, then.
                runs.append((operation, mode, 10, None))
                runs.append((operation, mode, 25, {name: known[name] for name in names}))
            else:
                runs.append((operation, mode, 25, None))
    try:
        failures = [failure for operation, mode, n, pinned in runs
                    if (failure := _run(operation, mode, headers, n, pinned))]
    finally:
        app.extensions["huey"].flush()  # the alerts' queued tasks: no worker runs in this test
    assert not failures, "\n\n".join(failures)


# What the fuzzer found, pinned down: each of these was a 500 (or an answer the document did not
# describe) before the fix.


def _count(app, model) -> int:
    from sqlalchemy import func, select

    from incident.extensions import db

    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_ids_beyond_the_database_range_are_not_found(client, api, make_user, login):
    headers, _ = api("admin")
    huge = 10**25
    for path in (f"/api/v1/incidents/{huge}", f"/api/v1/contacts/{huge}", f"/api/v1/incidents/1/log/{huge}",
                 f"/api/v1/alerts/{huge}/deliveries", f"/api/v1/users/{2**31}"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
    assert client.patch(f"/api/v1/resources/{huge}", json={"name": "x"}, headers=headers).status_code == 404
    login(make_user("viewer"))
    assert client.get(f"/incidents/{huge}").status_code == 404  # the pages too


def test_numbers_beyond_the_database_range_are_refused_naming_the_field(app, client, api):
    from incident.models import Contact

    headers, _ = api("admin")
    response = client.post("/api/v1/contacts", json={"name": "Kiss Anna", "phone": "+36205550101", "groups": [10**25]},
                           headers=headers)
    assert response.status_code == 422 and "groups" in response.get_json()["errors"]["json"]
    assert _count(app, Contact) == 0
    response = client.get(f"/api/v1/contacts?offset={10**20}", headers=headers)
    assert response.status_code == 422 and "offset" in response.get_json()["errors"]["query"]
    response = client.get(f"/api/v1/audit?actor_id={2**63}", headers=headers)
    assert response.status_code == 422 and "actor_id" in response.get_json()["errors"]["query"]
    response = client.post("/api/v1/incidents", json={"title": "Árvíz", "kind": "flood", "severity": "severe",
                                                      "location": POINT, "version": 2**40}, headers=headers)
    assert response.status_code == 422 and "version" in response.get_json()["errors"]["json"]
    # The limits are in the OpenAPI document, for clients to see.
    doc = client.get("/api/v1/openapi.json").get_json()
    parameters = doc["paths"]["/api/v1/incidents/{incident_id}"]["parameters"]
    assert parameters[0]["schema"]["maximum"] == 2**31 - 1


@pytest.mark.parametrize("text", ["Tűzoltó\x00parancsnok", "Tűzoltó\ud800"])
def test_text_no_database_can_store_is_refused_naming_the_field(app, client, api, text):
    import json

    from incident.models import AlertGroup

    headers, _ = api("admin")
    body = json.dumps({"name": text, "description": "ok"})  # ASCII JSON: \u0000, \ud800 as escapes
    response = client.post("/api/v1/groups", data=body, headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]["json"]) == ["name"]
    assert _count(app, AlertGroup) == 0


def test_nul_in_a_query_is_refused_naming_the_parameter(client, api, make_user, login):
    headers, _ = api("viewer")
    response = client.get("/api/v1/contacts", query_string={"q": "Kiss\x00"}, headers=headers)
    assert response.status_code == 422 and list(response.get_json()["errors"]["query"]) == ["q"]
    login(make_user("viewer"))
    assert client.get("/contacts", query_string={"q": "Kiss\x00"}).status_code == 400  # a page: Bad Request


def test_nul_in_a_csv_import_names_the_row_and_column_and_imports_nothing(app, client, api):
    import io

    from incident.models import Contact

    headers, _ = api("officer")
    data = "name,phone\nKiss Anna,+36205550101\nNagy\x00Béla,+36205550102\n".encode()
    response = client.post("/api/v1/contacts/import", data={"file": (io.BytesIO(data), "contacts.csv")},
                           headers=headers, content_type="multipart/form-data")
    assert response.status_code == 200
    assert [(e["row"], e["field"]) for e in response.get_json()["errors"]] == [(3, "name")]
    assert _count(app, Contact) == 0


def test_an_idempotency_key_with_nul_is_refused(client, api):
    headers, _ = api("officer")
    response = client.post("/api/v1/alerts", json={"body": "Próba", "groups": [1]},
                           headers={**headers, "Idempotency-Key": "kulcs\x00"})
    assert response.status_code == 422 and "Idempotency-Key" in response.get_json()["errors"]["headers"]


def test_json_nested_beyond_the_parser_is_refused(client, api, make_user):
    headers, _ = api("admin")
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in ("/api/v1/groups", "/api/v1/incidents", "/api/v1/tokens"):
        response = client.post(path, data=deep, headers={**headers, "Content-Type": "application/json"})
        assert response.status_code in (400, 422), path
    # As deep as the parser follows, with NUL at the bottom: named, not a crash.
    for depth in (200, 500, 900):
        body = b'{"name": ' + b"[" * depth + b'"x\\u0000"' + b"]" * depth + b"}"
        response = client.post("/api/v1/groups", data=body, headers={**headers, "Content-Type": "application/json"})
        assert response.status_code in (400, 422), depth


def test_group_names_with_accented_capitals_are_duplicates_and_found_by_name(client, api):
    import io

    headers, _ = api("officer")
    assert client.post("/api/v1/groups", json={"name": "Önkéntesek"}, headers=headers).status_code == 201
    again = client.post("/api/v1/groups", json={"name": "Önkéntesek"}, headers=headers)
    assert again.status_code == 409 and "name" in again.get_json()["errors"]["json"]
    data = "name,phone,groups\nKiss Anna,+36205550101,Önkéntesek\n".encode()
    report = client.post("/api/v1/contacts/import", data={"file": (io.BytesIO(data), "contacts.csv")},
                         headers=headers, content_type="multipart/form-data").get_json()
    assert report["errors"] == [] and report["created"] == 1
