"""Staff are shown by name and position: log authors, who assigned and released a resource, who
sent an alert. Their e-mails reach officers and admins only; a viewer finds none anywhere (pages,
the API, the ICS-214 CSV, the situation report, the after-action report and its CSV)."""

from __future__ import annotations

import pytest

from conftest import csrf_from

POINT = {"type": "Point", "coordinates": [19.05, 47.5]}
ANNA = "kiss.anna@riado-test.example"
SHOWN = "Kiss Anna (közbiztonsági referens)"


@pytest.fixture
def record(app, client, make_user, token_for):
    """An incident whose log, assignments and alert were all written by Kiss Anna."""
    anna = make_user("officer", email=ANNA, name="Kiss Anna", position="közbiztonsági referens")
    headers = {"Authorization": f"Bearer {token_for(anna)}"}
    incident = client.post("/api/v1/incidents", json={"title": "Vihar", "kind": "storm", "severity": "moderate",
                                                      "location": POINT}, headers=headers).get_json()
    client.post(f"/api/v1/incidents/{incident['id']}/log", json={"text": "Helyszíni szemle", "kind": "action"},
                headers=headers)
    pump = client.post("/api/v1/resources", json={"name": "Szivattyú", "kind": "pump", "quantity": 2, "location": POINT},
                       headers=headers).get_json()
    assignment = client.post(f"/api/v1/incidents/{incident['id']}/assignments", json={"resource_id": pump["id"]},
                             headers=headers).get_json()
    client.post(f"/api/v1/assignments/{assignment['id']}/release", headers=headers)
    client.post(f"/api/v1/incidents/{incident['id']}/assignments", json={"resource_id": pump["id"]}, headers=headers)
    contact = client.post("/api/v1/contacts", json={"name": "Tag Egy", "phone": "+36205550101"}, headers=headers).get_json()
    alert = client.post("/api/v1/alerts", json={"body": "Próba", "contacts": [contact["id"]], "incident_id": incident["id"]},
                        headers=headers)
    assert alert.status_code == 202, alert.get_json()
    yield {"incident": incident["id"], "alert": alert.get_json()["id"], "anna": anna}
    app.extensions["huey"].flush()  # the alert's queued task: no worker runs here


def signed_in(app, user):
    client = app.test_client()
    page = client.get("/login")
    client.post("/login", data={"email": user["email"], "password": user["password"],
                                "csrf_token": csrf_from(page.get_data(as_text=True))})
    return client


def everything(record) -> list[str]:
    incident, alert = record["incident"], record["alert"]
    return [
        f"/incidents/{incident}", f"/incidents/{incident}/report", f"/incidents/{incident}/after-action",
        f"/incidents/{incident}/after-action.csv", f"/alerts/{alert}", "/alerts", "/",
        f"/api/v1/incidents/{incident}/log", f"/api/v1/incidents/{incident}/log/2",
        f"/api/v1/incidents/{incident}/log.csv", f"/api/v1/incidents/{incident}/assignments",
        f"/api/v1/alerts/{alert}", "/api/v1/alerts",
    ]


def test_a_viewer_sees_staff_by_name_and_position_and_never_their_e_mail(app, make_user, record):
    viewer = signed_in(app, make_user("viewer"))
    for path in everything(record):
        response = viewer.get(path)
        assert response.status_code == 200, path
        body = response.data.decode("utf-8-sig")
        assert "kiss.anna" not in body and "k***@" not in body, path
    page = viewer.get(f"/incidents/{record['incident']}").get_data(as_text=True)
    assert SHOWN in page
    log = viewer.get(f"/api/v1/incidents/{record['incident']}/log").get_json()["items"]
    assert [e["author"] for e in log[:2]] == [SHOWN, SHOWN]
    assert [e["author_name"] for e in log[:2]] == [SHOWN, SHOWN]
    assignments = viewer.get(f"/api/v1/incidents/{record['incident']}/assignments").get_json()["items"]
    assert assignments[0]["assigned_by"] == SHOWN and assignments[0]["released_by"] == SHOWN
    assert assignments[1]["released_by"] is None and assignments[1]["released_by_name"] is None
    alert = viewer.get(f"/api/v1/alerts/{record['alert']}").get_json()
    assert alert["created_by"] == SHOWN == alert["created_by_name"]
    assert SHOWN in viewer.get(f"/alerts/{record['alert']}").get_data(as_text=True)
    ics = viewer.get(f"/api/v1/incidents/{record['incident']}/log.csv").data.decode("utf-8-sig").splitlines()
    assert ics[0].split(",")[5:8] == ["name", "position", "email"]
    assert ics[2].split(",")[5:8] == ["Kiss Anna", "közbiztonsági referens", ""]


def test_officers_and_admins_still_get_the_e_mail(app, make_user, token_for, record):
    for role in ("officer", "admin"):
        reader = make_user(role)
        headers = {"Authorization": f"Bearer {token_for(reader)}"}
        client = app.test_client()
        log = client.get(f"/api/v1/incidents/{record['incident']}/log", headers=headers).get_json()["items"]
        assert log[0]["author"] == ANNA and log[0]["author_name"] == SHOWN  # as stored, hash chain and all
        assignment = client.get(f"/api/v1/incidents/{record['incident']}/assignments", headers=headers).get_json()["items"][0]
        assert assignment["assigned_by"] == ANNA == assignment["released_by"]
        assert assignment["assigned_by_name"] == SHOWN
        alert = client.get(f"/api/v1/alerts/{record['alert']}", headers=headers).get_json()
        assert alert["created_by"] == ANNA and alert["created_by_name"] == SHOWN
        ics = client.get(f"/api/v1/incidents/{record['incident']}/log.csv", headers=headers).data.decode("utf-8-sig")
        assert ics.splitlines()[2].split(",")[5:8] == ["Kiss Anna", "közbiztonsági referens", ANNA]
        pages = signed_in(app, reader)
        for path in (f"/incidents/{record['incident']}", f"/alerts/{record['alert']}",
                     f"/incidents/{record['incident']}/after-action"):
            html = pages.get(path).get_data(as_text=True)
            assert SHOWN in html and ANNA in html, (role, path)


def test_system_and_sms_authors_stay_as_they_are_and_an_unknown_address_is_masked(app, client, make_user, token_for):
    from incident.extensions import db
    from incident.models import Incident
    from incident.operations import incidents as ops

    officer = make_user("officer")
    headers = {"Authorization": f"Bearer {token_for(officer)}"}
    incident = client.post("/api/v1/incidents", json={"title": "Árvíz", "kind": "flood", "severity": "severe",
                                                      "location": POINT}, headers=headers).get_json()
    with app.app_context():
        row = db.session.get(Incident, incident["id"])
        ops.append_entry(row, "system", "Rendszer", author=ops.Who(None, "system"))
        ops.append_entry(row, "communication", "Válasz", author=ops.Who(None, "sms"))
        ops.append_entry(row, "note", "Régi", author=ops.Who(None, "volt.munkatars@riado-test.example"))
        db.session.commit()
    viewer = {"Authorization": f"Bearer {token_for(make_user('viewer'))}"}
    log = client.get(f"/api/v1/incidents/{incident['id']}/log", headers=viewer).get_json()["items"]
    assert [e["author"] for e in log[1:]] == ["system", "sms", "v***@riado-test.example"]
    mine = client.get(f"/api/v1/incidents/{incident['id']}/log", headers=headers).get_json()["items"]
    assert mine[3]["author"] == "volt.munkatars@riado-test.example"
