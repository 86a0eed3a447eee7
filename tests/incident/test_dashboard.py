"""The dashboard shows what is open now: incidents by severity, drills apart, availability by kind."""

from __future__ import annotations


def test_dashboard_lists_open_incidents_and_drills_apart(client, api, make_user, login):
    headers, _ = api("officer")
    point = {"type": "Point", "coordinates": [19.05, 47.5]}
    minor = client.post("/api/v1/incidents", json={"title": "Kisebb baj", "kind": "other", "severity": "minor", "location": point}, headers=headers).get_json()
    big = client.post("/api/v1/incidents", json={"title": "Nagy baj", "kind": "flood", "severity": "extreme", "location": point}, headers=headers).get_json()
    client.post("/api/v1/incidents", json={"title": "Gyakorló <b>", "kind": "fire", "severity": "severe", "drill": True, "location": point}, headers=headers)
    closed = client.post("/api/v1/incidents", json={"title": "Lezárt", "kind": "storm", "severity": "severe", "location": point}, headers=headers).get_json()
    for status in ("active", "contained", "closed"):
        client.patch(f"/api/v1/incidents/{closed['id']}", json={"status": status}, headers=headers)
    client.post("/api/v1/resources", json={"name": "Szivattyú", "kind": "pump", "location": point}, headers=headers)
    login(make_user("viewer"))
    page = client.get("/").get_data(as_text=True)
    open_list = page.split('data-testid="open-incidents"')[1].split("</ul>")[0]
    assert open_list.index(big["title"]) < open_list.index(minor["title"])  # by severity
    assert "Lezárt" not in page and "Gyakorló" not in open_list
    drills = page.split('data-testid="open-drills"')[1].split("</ul>")[0]
    assert "Gyakorló &lt;b&gt;" in drills
    assert 'data-testid="resource-summary"' in page and "Szivattyú" in page
    assert 'data-testid="alerts-panel"' in page
