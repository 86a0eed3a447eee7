"""Assigning resources to an incident: never more than is available, also when requests race."""

from __future__ import annotations

import threading

import pytest

from conftest import http_json
from factories import create_incident, create_resource

VIGADO = (19.0493, 47.4957)


def point(lon, lat):
    return {"type": "Point", "coordinates": [lon, lat]}


@pytest.fixture
def incident(app):
    return create_incident(app, title="Árvízvédelem, II. fok", location=point(*VIGADO))


def resource(client, **fields):
    return create_resource(client, **{"name": "Szivattyú", "kind": "pump", "quantity": 1, "unit": "",
                                      "location": point(*VIGADO), **fields})


def available(client, headers, rid):
    return client.get(f"/api/v1/resources/{rid}", headers=headers).get_json()["available_quantity"]


def test_assign_part_release_and_the_log(client, officer, incident):
    sandbags = resource(client, name="Homokzsák-depó", kind="sandbags", quantity=5000, unit="zsák")
    url = f"/api/v1/incidents/{incident['id']}/assignments"
    a = client.post(url, json={"resource_id": sandbags["id"], "quantity": 1200}, headers=officer)
    assert a.status_code == 201, a.get_json()
    assert available(client, officer, sandbags["id"]) == 3800
    over = client.post(url, json={"resource_id": sandbags["id"], "quantity": 3801}, headers=officer)
    assert over.status_code == 409 and "quantity" in over.get_json()["errors"]["json"]
    assert available(client, officer, sandbags["id"]) == 3800
    released = client.post(f"/api/v1/assignments/{a.get_json()['id']}/release", headers=officer)
    assert released.status_code == 200 and released.get_json()["released_at"]
    assert client.post(f"/api/v1/assignments/{a.get_json()['id']}/release", headers=officer).status_code == 409
    assert available(client, officer, sandbags["id"]) == 5000
    texts = [e["text"] for e in client.get(f"/api/v1/incidents/{incident['id']}/log", headers=officer).get_json()["items"]]
    assert any("1200 zsák" in t and "Homokzsák-depó" in t for t in texts)
    assert any(t.startswith("Visszaadva: 1200") for t in texts)
    listed = client.get(url, query_string={"active": "false"}, headers=officer).get_json()
    assert listed["total"] == 1 and listed["items"][0]["resource_name"] == "Homokzsák-depó"


def test_shelter_is_assigned_in_persons_up_to_capacity(client, officer, incident):
    gym = resource(client, name="Tornaterem", kind="shelter", capacity=120, unit="épület")
    assert available(client, officer, gym["id"]) == 120
    url = f"/api/v1/incidents/{incident['id']}/assignments"
    assert client.post(url, json={"resource_id": gym["id"], "quantity": 100}, headers=officer).status_code == 201
    assert client.post(url, json={"resource_id": gym["id"], "quantity": 21}, headers=officer).status_code == 409
    assert available(client, officer, gym["id"]) == 20


def test_unavailable_resources_and_closed_incidents_are_refused(client, officer, incident):
    broken = resource(client, status="maintenance")
    url = f"/api/v1/incidents/{incident['id']}/assignments"
    assert client.post(url, json={"resource_id": broken["id"]}, headers=officer).status_code == 409
    ok = resource(client, name="Másik szivattyú")
    for status in ("active", "contained", "closed"):
        client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": status}, headers=officer)
    assert client.post(url, json={"resource_id": ok["id"]}, headers=officer).status_code == 409
    missing = client.post(url, json={"resource_id": 9999}, headers=officer)
    assert missing.status_code == 404 and "resource" in missing.get_json()["message"]  # an unknown id is 404
    assert client.post("/api/v1/incidents/9999/assignments", json={"resource_id": ok["id"]}, headers=officer).status_code == 404


def test_ten_concurrent_requests_for_the_last_unit(client, officer, incident, live_server):
    pump = resource(client, name="Utolsó szivattyú", quantity=3)
    url = f"/api/v1/incidents/{incident['id']}/assignments"
    assert client.post(url, json={"resource_id": pump["id"], "quantity": 2}, headers=officer).status_code == 201
    barrier = threading.Barrier(10)
    statuses = []

    def request():
        barrier.wait()
        statuses.append(http_json("POST", live_server + url, {"resource_id": pump["id"], "quantity": 1}, officer)[0])

    threads = [threading.Thread(target=request) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [201] + [409] * 9
    assert available(client, officer, pump["id"]) == 0
    active = client.get(url, query_string={"active": "true"}, headers=officer).get_json()
    assert sum(a["quantity"] for a in active["items"]) == 3


def test_a_resource_used_by_an_incident_is_not_deleted(client, officer, incident):
    pump = resource(client)
    client.post(f"/api/v1/incidents/{incident['id']}/assignments", json={"resource_id": pump["id"]}, headers=officer)
    response = client.delete(f"/api/v1/resources/{pump['id']}", headers=officer)
    assert response.status_code == 409
    assert client.get(f"/api/v1/resources/{pump['id']}", headers=officer).status_code == 200


def test_nearby_available_resources_by_kind(client, officer, incident):
    near = resource(client, name="Közeli", location=point(19.0500, 47.4960))
    far = resource(client, name="Távoli", location=point(19.0600, 47.5100))
    resource(client, name="Javítás alatt", location=point(19.0494, 47.4958), status="maintenance")
    resource(client, name="Aggregát", kind="generator", location=point(19.0494, 47.4958))
    used = resource(client, name="Kiadva", location=point(19.0495, 47.4958))
    client.post(f"/api/v1/incidents/{incident['id']}/assignments", json={"resource_id": used["id"]}, headers=officer)
    got = client.get(f"/api/v1/incidents/{incident['id']}/nearby-resources", query_string={"kind": "pump"}, headers=officer).get_json()
    assert [r["name"] for r in got["items"]] == [near["name"], far["name"]]
    assert got["items"][0]["distance_m"] < got["items"][1]["distance_m"]
    assert all(r["available_quantity"] > 0 for r in got["items"])


# What is assigned bounds what the register may say there is.


def assign(client, headers, incident_id, rid, quantity):
    response = client.post(f"/api/v1/incidents/{incident_id}/assignments", json={"resource_id": rid, "quantity": quantity},
                           headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def second_incident(app):
    return create_incident(app, title="Belvízvédelem", severity="moderate", location=point(*VIGADO))


def test_quantity_below_what_is_assigned_is_refused_naming_the_incidents(client, officer, incident, second_incident):
    pump = resource(client, quantity=6)
    assign(client, officer, incident["id"], pump["id"], 3)
    assign(client, officer, second_incident["id"], pump["id"], 2)
    released = assign(client, officer, second_incident["id"], pump["id"], 1)
    client.post(f"/api/v1/assignments/{released['id']}/release", headers=officer)  # released: no longer counts

    response = client.patch(f"/api/v1/resources/{pump['id']}", json={"quantity": 4}, headers=officer)
    assert response.status_code == 409
    [message] = response.get_json()["errors"]["json"]["quantity"]
    assert "5" in message and incident["number"] in message and second_incident["number"] in message
    got = client.get(f"/api/v1/resources/{pump['id']}", headers=officer).get_json()
    assert (got["quantity"], got["available_quantity"]) == (6, 1)

    assert client.patch(f"/api/v1/resources/{pump['id']}", json={"quantity": 5}, headers=officer).status_code == 200
    assert available(client, officer, pump["id"]) == 0
    # Other changes of a fully assigned resource are still taken.
    assert client.patch(f"/api/v1/resources/{pump['id']}", json={"name": "Nagy szivattyú"}, headers=officer).status_code == 200


def test_shelter_capacity_below_the_persons_housed_is_refused(client, officer, incident):
    shelter = resource(client, name="Tornaterem", kind="shelter", capacity=120)
    assign(client, officer, incident["id"], shelter["id"], 40)
    response = client.patch(f"/api/v1/resources/{shelter['id']}", json={"capacity": 30}, headers=officer)
    assert response.status_code == 409
    [message] = response.get_json()["errors"]["json"]["capacity"]
    assert "40" in message and incident["number"] in message
    assert client.get(f"/api/v1/resources/{shelter['id']}", headers=officer).get_json()["capacity"] == 120
    # A new kind whose assignable total (its quantity, 1) falls below the 40 persons is refused too.
    response = client.patch(f"/api/v1/resources/{shelter['id']}", json={"kind": "vehicle"}, headers=officer)
    assert response.status_code == 409 and "quantity" in response.get_json()["errors"]["json"]
    assert available(client, officer, shelter["id"]) == 80


def test_a_pump_made_a_shelter_needs_room_for_what_is_assigned(client, officer, incident):
    pump = resource(client, quantity=5)
    assign(client, officer, incident["id"], pump["id"], 4)
    response = client.patch(f"/api/v1/resources/{pump['id']}", json={"kind": "shelter", "capacity": 3}, headers=officer)
    assert response.status_code == 409 and "capacity" in response.get_json()["errors"]["json"]
    assert client.get(f"/api/v1/resources/{pump['id']}", headers=officer).get_json()["kind"] == "pump"


def test_the_edit_page_shows_the_conflict_beside_the_quantity_and_saves_nothing(app, client, officer, incident,
                                                                                 make_user):
    from conftest import csrf_from

    pump = resource(client, quantity=4)
    assign(client, officer, incident["id"], pump["id"], 3)
    page_client = app.test_client()
    user = make_user("officer")
    token = csrf_from(page_client.get("/login").get_data(as_text=True))
    page_client.post("/login", data={"email": user["email"], "password": user["password"], "csrf_token": token})
    page = page_client.get(f"/resources/{pump['id']}/edit").get_data(as_text=True)
    response = page_client.post(f"/resources/{pump['id']}/edit", data={
        "csrf_token": csrf_from(page), "version": str(pump["version"]), "name": "Szivattyú", "kind": "pump",
        "quantity": "1", "unit": "", "capacity": "", "status": "available", "owner": "", "contact_id": "",
        "latitude": str(VIGADO[1]), "longitude": str(VIGADO[0]), "notes": "",
    })
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    quantity_field = html.split('id="quantity"')[1].split('<div class="field')[0]
    assert incident["number"] in quantity_field
    got = client.get(f"/api/v1/resources/{pump['id']}", headers=officer).get_json()
    assert (got["quantity"], got["version"]) == (4, pump["version"])


def test_a_csv_import_lowering_a_quantity_below_what_is_assigned_reports_the_row(client, officer, incident):
    import io

    pump = resource(client, quantity=4)
    generator = resource(client, name="Aggregát", kind="generator", quantity=2)
    assign(client, officer, incident["id"], pump["id"], 3)
    data = (f"id,name,kind,quantity,latitude,longitude\n"
            f"{generator['id']},Aggregát,generator,5,{VIGADO[1]},{VIGADO[0]}\n"
            f"{pump['id']},Szivattyú,pump,2,{VIGADO[1]},{VIGADO[0]}\n").encode()
    report = client.post("/api/v1/resources/import", data={"file": (io.BytesIO(data), "lista.csv")}, headers=officer,
                         content_type="multipart/form-data").get_json()
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(3, "quantity")]
    assert incident["number"] in report["errors"][0]["message"]
    assert report["updated"] == 0
    assert client.get(f"/api/v1/resources/{generator['id']}", headers=officer).get_json()["quantity"] == 2
    assert available(client, officer, pump["id"]) == 1


def test_an_assignment_in_flight_holds_back_a_lower_quantity_until_it_is_committed(client, officer, incident, backend,
                                                                                      cleanup_engine, live_server):
    """The edit takes the resource's row lock before it reads what is assigned, as an assignment
    does: one that is being written meanwhile is counted, never slipped in between."""
    from sqlalchemy import func, select, text

    from conftest import wait_for
    from incident.database import utcnow
    from incident.models import Assignment, Resource

    pump = resource(client, quantity=4)
    outcome = []
    with cleanup_engine.connect() as conn:
        transaction = conn.begin()  # SQLite: BEGIN IMMEDIATE, PostgreSQL: the row lock below
        conn.execute(select(Resource.id).where(Resource.id == pump["id"]).with_for_update())
        conn.execute(Assignment.__table__.insert().values(
            incident_id=incident["id"], resource_id=pump["id"], quantity=3, note="", assigned_at=utcnow(),
            assigned_by="in flight", version=1))
        patch = threading.Thread(target=lambda: outcome.append(http_json(
            "PATCH", f"{live_server}/api/v1/resources/{pump['id']}", {"quantity": 2}, officer)))
        patch.start()
        if backend == "postgis":
            def edit_waits_for_the_lock():
                with cleanup_engine.connect() as watcher:
                    return watcher.execute(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()")).scalar_one()

            wait_for(edit_waits_for_the_lock)
        transaction.commit()
    patch.join(60)
    [(status, body)] = outcome
    assert status == 409 and "quantity" in body["errors"]["json"], body
    got = client.get(f"/api/v1/resources/{pump['id']}", headers=officer).get_json()
    assert (got["quantity"], got["available_quantity"]) == (4, 1)
    with cleanup_engine.connect() as conn:
        assert conn.execute(select(func.sum(Assignment.quantity))).scalar_one() == 3
