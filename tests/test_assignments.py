"""Assigning resources to an incident: never more than is available, also when requests race."""

from __future__ import annotations

import threading

import pytest

from conftest import http_json

VIGADO = (19.0493, 47.4957)


def point(lon, lat):
    return {"type": "Point", "coordinates": [lon, lat]}


@pytest.fixture
def officer(api):
    return api("officer")[0]


@pytest.fixture
def incident(client, officer):
    body = {"title": "Árvízvédelem, II. fok", "kind": "flood", "severity": "severe", "location": point(*VIGADO)}
    return client.post("/api/v1/incidents", json=body, headers=officer).get_json()


def resource(client, headers, **fields):
    body = {"name": "Szivattyú", "kind": "pump", "quantity": 1, "location": point(*VIGADO)}
    body.update(fields)
    response = client.post("/api/v1/resources", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def available(client, headers, rid):
    return client.get(f"/api/v1/resources/{rid}", headers=headers).get_json()["available_quantity"]


def test_assign_part_release_and_the_log(client, officer, incident):
    sandbags = resource(client, officer, name="Homokzsák-depó", kind="sandbags", quantity=5000, unit="zsák")
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
    gym = resource(client, officer, name="Tornaterem", kind="shelter", capacity=120, unit="épület")
    assert gym["available_quantity"] == 120
    url = f"/api/v1/incidents/{incident['id']}/assignments"
    assert client.post(url, json={"resource_id": gym["id"], "quantity": 100}, headers=officer).status_code == 201
    assert client.post(url, json={"resource_id": gym["id"], "quantity": 21}, headers=officer).status_code == 409
    assert available(client, officer, gym["id"]) == 20


def test_unavailable_resources_and_closed_incidents_are_refused(client, officer, incident):
    broken = resource(client, officer, status="maintenance")
    url = f"/api/v1/incidents/{incident['id']}/assignments"
    assert client.post(url, json={"resource_id": broken["id"]}, headers=officer).status_code == 409
    ok = resource(client, officer, name="Másik szivattyú")
    for status in ("active", "contained", "closed"):
        client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": status}, headers=officer)
    assert client.post(url, json={"resource_id": ok["id"]}, headers=officer).status_code == 409
    missing = client.post(url, json={"resource_id": 9999}, headers=officer)
    assert missing.status_code == 422 and "resource_id" in missing.get_json()["errors"]["json"]
    assert client.post("/api/v1/incidents/9999/assignments", json={"resource_id": ok["id"]}, headers=officer).status_code == 404


def test_ten_concurrent_requests_for_the_last_unit(client, officer, incident, live_server):
    pump = resource(client, officer, name="Utolsó szivattyú", quantity=3)
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
    pump = resource(client, officer)
    client.post(f"/api/v1/incidents/{incident['id']}/assignments", json={"resource_id": pump["id"]}, headers=officer)
    response = client.delete(f"/api/v1/resources/{pump['id']}", headers=officer)
    assert response.status_code == 409
    assert client.get(f"/api/v1/resources/{pump['id']}", headers=officer).status_code == 200


def test_nearby_available_resources_by_kind(client, officer, incident):
    near = resource(client, officer, name="Közeli", location=point(19.0500, 47.4960))
    far = resource(client, officer, name="Távoli", location=point(19.0600, 47.5100))
    resource(client, officer, name="Javítás alatt", location=point(19.0494, 47.4958), status="maintenance")
    resource(client, officer, name="Aggregát", kind="generator", location=point(19.0494, 47.4958))
    used = resource(client, officer, name="Kiadva", location=point(19.0495, 47.4958))
    client.post(f"/api/v1/incidents/{incident['id']}/assignments", json={"resource_id": used["id"]}, headers=officer)
    got = client.get(f"/api/v1/incidents/{incident['id']}/nearby-resources", query_string={"kind": "pump"}, headers=officer).get_json()
    assert [r["name"] for r in got["items"]] == [near["name"], far["name"]]
    assert got["items"][0]["distance_m"] < got["items"][1]["distance_m"]
    assert all(r["available_quantity"] > 0 for r in got["items"])
