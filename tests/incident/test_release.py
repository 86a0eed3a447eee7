"""Giving resources back (issue 13, items 12 and 14): the incident page asks once more and how
much, a part may go back while the rest stays deployed, and the log says what went where in its
unit, with no internal ids."""

from __future__ import annotations

import re

from conftest import csrf_from

POINT = {"type": "Point", "coordinates": [19.0493, 47.4957]}


def _post_json(client, url, body, headers):
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _log_texts(client, headers, incident_id) -> list[str]:
    return [e["text"] for e in client.get(f"/api/v1/incidents/{incident_id}/log", headers=headers).get_json()["items"]]


def test_part_of_an_assignment_goes_back_and_the_log_says_it_in_its_unit(client, api, make_user, login):
    officer, _ = api("officer")
    burst = _post_json(client, "/api/v1/incidents", {"title": "Csőtörés", "kind": "other", "severity": "moderate",
                                                     "location": POINT}, officer)
    bags = _post_json(client, "/api/v1/resources", {"name": "Homokzsák-depó", "kind": "sandbags", "quantity": 500,
                                                    "unit": "zsák", "location": POINT}, officer)
    assignment = _post_json(client, f"/api/v1/incidents/{burst['id']}/assignments",
                            {"resource_id": bags["id"], "quantity": 200}, officer)
    login(make_user("officer"))
    path = f"/incidents/{burst['id']}"
    page = client.get(path).get_data(as_text=True)
    # The release is behind a confirmation that asks how much (all of it by default).
    confirm = page.split('data-testid="release-confirm"')[1].split("</details>")[0]
    assert 'data-testid="release-open"' in confirm
    assert re.search(r'name="quantity" value="200" min="1" max="200"', confirm)
    action = f"{path}/assignments/{assignment['id']}/release"

    too_much = client.post(action, data={"csrf_token": csrf_from(page), "quantity": "201"})
    assert too_much.status_code == 422 and "200" in too_much.get_data(as_text=True)
    not_a_number = client.post(action, data={"csrf_token": csrf_from(page), "quantity": "sok"})
    assert not_a_number.status_code == 422

    part = client.post(action, data={"csrf_token": csrf_from(page), "quantity": "150"})
    assert part.status_code == 302
    state = client.get(f"/api/v1/incidents/{burst['id']}/assignments", headers=officer).get_json()["items"]
    open_ = [a for a in state if a["released_at"] is None]
    released = [a for a in state if a["released_at"] is not None]
    assert [a["quantity"] for a in open_] == [50] and [a["quantity"] for a in released] == [150]
    assert client.get(f"/api/v1/resources/{bags['id']}", headers=officer).get_json()["available_quantity"] == 450

    rest = client.post(action, data={"csrf_token": csrf_from(client.get(path).get_data(as_text=True))})
    assert rest.status_code == 302  # no quantity: all that is left
    assert client.get(f"/api/v1/resources/{bags['id']}", headers=officer).get_json()["available_quantity"] == 500

    texts = _log_texts(client, officer, burst["id"])
    assert "Kirendelve: 200 zsák – Homokzsák-depó." in texts
    assert "Visszaadva: 150 zsák – Homokzsák-depó." in texts and "Visszaadva: 50 zsák – Homokzsák-depó." in texts
    assert not any(re.search(r"erőforrás: \d|kirendelés: \d|resource \d|assignment \d", t) for t in texts)


def test_shelter_places_given_back_are_persons(client, api):
    officer, _ = api("officer")
    flood = _post_json(client, "/api/v1/incidents", {"title": "Kitelepítés", "kind": "flood", "severity": "severe",
                                                     "location": POINT}, officer)
    school = _post_json(client, "/api/v1/resources", {"name": "Iskola tornaterme", "kind": "shelter", "quantity": 1,
                                                      "unit": "épület", "capacity": 90, "location": POINT}, officer)
    assignment = _post_json(client, f"/api/v1/incidents/{flood['id']}/assignments",
                            {"resource_id": school["id"], "quantity": 40}, officer)
    assert client.post(f"/api/v1/assignments/{assignment['id']}/release", headers=officer).status_code == 200
    texts = _log_texts(client, officer, flood["id"])
    assert "Befogadás 40 fő részére: Iskola tornaterme." in texts
    assert "Befogadás vége 40 fő részére: Iskola tornaterme." in texts


def test_the_api_gives_back_part_of_an_assignment(client, api):
    officer, _ = api("officer")
    burst = _post_json(client, "/api/v1/incidents", {"title": "Csőtörés", "kind": "other", "severity": "moderate",
                                                     "location": POINT}, officer)
    pumps = _post_json(client, "/api/v1/resources", {"name": "Szivattyúk", "kind": "pump", "quantity": 3, "unit": "db",
                                                     "location": POINT}, officer)
    assignment = _post_json(client, f"/api/v1/incidents/{burst['id']}/assignments",
                            {"resource_id": pumps["id"], "quantity": 3}, officer)
    url = f"/api/v1/assignments/{assignment['id']}/release"
    too_much = client.post(url, json={"quantity": 4}, headers=officer)
    assert too_much.status_code == 422 and "quantity" in too_much.get_json()["errors"]["json"]
    part = client.post(url, json={"quantity": 1}, headers=officer)
    assert part.status_code == 200 and part.get_json()["quantity"] == 1 and part.get_json()["released_at"]
    assert client.get(f"/api/v1/resources/{pumps['id']}", headers=officer).get_json()["available_quantity"] == 1
    rest = client.post(url, headers=officer)
    assert rest.status_code == 200 and rest.get_json()["quantity"] == 2
    again = client.post(url, headers=officer)
    assert again.status_code == 409
