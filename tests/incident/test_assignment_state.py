"""One notion of "assigned to 2026-0003" everywhere (issue 13, item 3): a pump that is wholly
assigned is not deployable on the dashboard, names its incident on its own page and on the map,
and is deployable again once released; a shelter counts free places for persons."""

from __future__ import annotations

import re

POINT = {"type": "Point", "coordinates": [19.0493, 47.4957]}


def _post(client, url, body, headers):
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _summary_cell(html: str, kind: str) -> str:
    match = re.search(rf'<td data-kind="{kind}">(.*?)</td>', html, re.S)
    assert match, f"no dashboard row for {kind}"
    return " ".join(match.group(1).split())


def _map_resource(client, headers, resource_id):
    layer = client.get("/api/v1/map/resources.geojson", headers=headers).get_json()
    return next(f["properties"] for f in layer["features"] if f["id"] == resource_id)


def test_an_assigned_pump_names_its_incident_everywhere_and_is_deployable_again_after_release(client, api, make_user, login):
    officer, _ = api("officer")
    viewer, _ = api("viewer")
    burst = _post(client, "/api/v1/incidents", {"title": "Csőtörés az Október 6. utcában", "kind": "other",
                                                "severity": "moderate", "location": POINT}, officer)
    pump = _post(client, "/api/v1/resources", {"name": "Zagyszivattyú", "kind": "pump", "quantity": 1, "unit": "db",
                                               "location": POINT}, officer)
    _post(client, "/api/v1/resources", {"name": "Tartalék szivattyú", "kind": "pump", "quantity": 1, "unit": "db",
                                        "location": POINT, "status": "maintenance"}, officer)
    login(make_user("viewer"))
    assert _summary_cell(client.get("/").get_data(as_text=True), "pump") == "1 / 2"

    assignment = _post(client, f"/api/v1/incidents/{burst['id']}/assignments", {"resource_id": pump["id"]}, officer)

    # The dashboard no longer counts it as deployable.
    assert _summary_cell(client.get("/").get_data(as_text=True), "pump") == "0 / 2"
    # Its own page names the incident, now and in its history.
    page = client.get(f"/resources/{pump['id']}").get_data(as_text=True)
    assert re.search(rf'data-testid="assigned-to">{burst["number"]}</a>', page)
    assert page.count('data-testid="assignment-open"') == 1 and "Csőtörés az Október 6. utcában" in page
    # The map: nothing available, and the incident with its page.
    props = _map_resource(client, viewer, pump["id"])
    assert props["available_quantity"] == 0
    assert (props["status"], props["status_label"]) == ("deployed", "deployed")  # not "available · 0 of 1"
    # The register reads "deployed" too, and its "deployed" filter finds it.
    listed = client.get("/resources").get_data(as_text=True)
    row = re.search(rf'<tr[^>]*>(?:(?!</tr>).)*?/resources/{pump["id"]}"(?:(?!</tr>).)*</tr>', listed, re.S).group(0)
    assert 'data-testid="resource-status" data-status="deployed">bevetésen<' in row
    deployed = client.get("/resources?status=deployed").get_data(as_text=True)
    assert "Zagyszivattyú" in deployed and "Tartalék szivattyú" not in deployed
    assert props["assigned_to"] == [{"number": burst["number"], "title": burst["title"], "quantity": 1,
                                     "drill": False, "url": f"/incidents/{burst['id']}"}]

    # The layer is cached until what it shows changes: a renamed incident is such a change.
    renamed = client.patch(f"/api/v1/incidents/{burst['id']}", json={"title": "Csőtörés – Október 6. utca 12."},
                           headers=officer)
    assert renamed.status_code == 200, renamed.get_json()
    assert _map_resource(client, viewer, pump["id"])["assigned_to"][0]["title"] == "Csőtörés – Október 6. utca 12."

    released = client.post(f"/api/v1/assignments/{assignment['id']}/release", headers=officer)
    assert released.status_code == 200, released.get_json()
    assert _summary_cell(client.get("/").get_data(as_text=True), "pump") == "1 / 2"
    page = client.get(f"/resources/{pump['id']}").get_data(as_text=True)
    assert 'data-testid="assigned-to"' not in page and page.count('data-testid="assignment-released"') == 1
    assert "assigned_to" not in _map_resource(client, viewer, pump["id"])
    assert _map_resource(client, viewer, pump["id"])["status"] == "available"
    assert "Zagyszivattyú" not in client.get("/resources?status=deployed").get_data(as_text=True)


def test_a_shelter_counts_free_places_for_persons(client, api, make_user, login):
    officer, _ = api("officer")
    incident = _post(client, "/api/v1/incidents", {"title": "Kitelepítés", "kind": "flood", "severity": "severe",
                                                   "location": POINT}, officer)
    school = _post(client, "/api/v1/resources", {"name": "Iskola tornaterme", "kind": "shelter", "quantity": 1,
                                                 "unit": "épület", "capacity": 90, "location": POINT}, officer)
    _post(client, f"/api/v1/incidents/{incident['id']}/assignments", {"resource_id": school["id"], "quantity": 30},
          officer)
    login(make_user("viewer"))
    client.get("/lang/en")
    cell = _summary_cell(client.get("/").get_data(as_text=True), "shelter")
    assert cell == "1 / 1 · 60 free places"  # places for persons, not buildings
    page = client.get(f"/resources/{school['id']}").get_data(as_text=True)
    assert re.search(r'data-testid="available">60 persons', page)
    listing = client.get("/resources?kind=shelter").get_data(as_text=True)
    assert re.search(r'data-testid="available">60 persons</td>', listing)  # not "60 épület"
    assert re.search(r"<td>30 persons</td>", page)
