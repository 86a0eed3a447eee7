"""Incidents through the API: numbering, validation, the lifecycle, and the log the system keeps."""

from __future__ import annotations

import datetime as dt

import pytest

from factories import EMBANKMENT

VIGADO = {"type": "Point", "coordinates": [19.0493, 47.4957]}


def new_incident(client, headers, **fields):
    body = {"title": "Dunai árvíz – II. fokú készültség", "kind": "flood", "severity": "severe", "location": VIGADO}
    body.update(fields)
    response = client.post("/api/v1/incidents", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_incident_gets_a_per_year_number_and_starts_reported(client, officer):
    year = dt.datetime.now(dt.timezone.utc).year
    first = new_incident(client, officer, area=EMBANKMENT)
    second = new_incident(client, officer, title="Vihar", kind="storm", severity="moderate")
    assert first["number"] == f"{year}-0001" and second["number"] == f"{year}-0002"
    assert first["status"] == "reported" and first["drill"] is False
    assert first["area"]["type"] == "Polygon"
    log = client.get(f"/api/v1/incidents/{first['id']}/log", headers=officer).get_json()["items"]
    assert [e["kind"] for e in log] == ["system"]


@pytest.mark.parametrize(
    ("area", "reason"),
    [
        ({"type": "Polygon", "coordinates": [[[19.04, 47.49], [19.05, 47.50], [19.05, 47.49], [19.04, 47.50], [19.04, 47.49]]]}, "Self-intersection"),
        ({"type": "Polygon", "coordinates": [[[19.04, 47.49], [19.05, 47.50], [19.05, 47.49]]]}, "four positions"),
        ({"type": "Polygon", "coordinates": [[[47.49, 19.04], [47.50, 19.05], [47.49, 19.05], [47.49, 119.04]]]}, ""),
        ({"type": "Point", "coordinates": [19.04, 47.49]}, "Polygon"),
        ({"type": "Polygon", "coordinates": "nope"}, ""),
    ],
)
def test_an_invalid_area_is_refused_naming_area(client, officer, area, reason):
    response = client.post(
        "/api/v1/incidents",
        json={"title": "X", "kind": "flood", "severity": "minor", "location": VIGADO, "area": area},
        headers=officer,
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert "area" in errors and reason in errors["area"][0]
    assert client.get("/api/v1/incidents", headers=officer).get_json()["total"] == 0


def test_multipolygon_area_is_kept(client, officer):
    multi = {"type": "MultiPolygon", "coordinates": [EMBANKMENT["coordinates"],
             [[[19.052, 47.50], [19.054, 47.50], [19.054, 47.502], [19.052, 47.50]]]]}
    assert new_incident(client, officer, area=multi)["area"]["type"] == "MultiPolygon"


def test_bad_fields_are_named(client, officer):
    response = client.post("/api/v1/incidents", json={"title": "", "kind": "meteor", "severity": "huge", "location": None},
                           headers=officer)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["json"]) == {"title", "kind", "severity", "location"}


def test_lifecycle_moves_one_step_and_reopens(client, officer):
    inc = new_incident(client, officer)
    url = f"/api/v1/incidents/{inc['id']}"
    jump = client.patch(url, json={"status": "closed"}, headers=officer)
    assert jump.status_code == 409 and "status" in jump.get_json()["errors"]["json"]
    for status in ("active", "contained", "closed", "active", "contained", "closed"):
        response = client.patch(url, json={"status": status}, headers=officer)
        assert response.status_code == 200, (status, response.get_json())
    closed = client.get(url, headers=officer).get_json()
    assert closed["status"] == "closed" and closed["closed_at"] and closed["activated_at"]
    assert client.patch(url, json={"status": "reported"}, headers=officer).status_code == 409
    log = client.get(f"{url}/log?limit=100", headers=officer).get_json()["items"]
    status_entries = [e["text"] for e in log if e["kind"] == "system" and "→" in e["text"]]
    assert len(status_entries) == 6
    assert status_entries[0] == "Állapot: bejelentett → aktív."  # the configured language, not the caller's


def test_every_change_is_written_to_the_log(client, officer):
    inc = new_incident(client, officer)
    url = f"/api/v1/incidents/{inc['id']}"
    client.patch(url, json={"severity": "extreme", "area": EMBANKMENT, "commander": "Dr. Szabó Katalin"}, headers=officer)
    texts = [e["text"] for e in client.get(f"{url}/log", headers=officer).get_json()["items"]][1:]
    assert any("súlyos → rendkívüli" in t for t in texts), texts
    assert any("Dr. Szabó Katalin" in t for t in texts)
    assert len(texts) == 3


def test_stale_version_is_refused(client, officer):
    inc = new_incident(client, officer)
    url = f"/api/v1/incidents/{inc['id']}"
    assert client.patch(url, json={"title": "A", "version": inc["version"]}, headers=officer).status_code == 200
    assert client.patch(url, json={"title": "B", "version": inc["version"]}, headers=officer).status_code == 409
    assert client.get(url, headers=officer).get_json()["title"] == "A"


def test_filters_status_and_drill(client, officer):
    new_incident(client, officer, title="Gyakorlat", drill=True)
    real = new_incident(client, officer, title="Valódi")
    client.patch(f"/api/v1/incidents/{real['id']}", json={"status": "active"}, headers=officer)
    titles = lambda **q: [i["title"] for i in client.get("/api/v1/incidents", query_string=q, headers=officer).get_json()["items"]]  # noqa: E731
    assert titles(drill="true") == ["Gyakorlat"]
    assert titles(drill="false") == ["Valódi"]
    assert titles(status="active") == ["Valódi"]


def test_search_ignores_case_and_accents_and_finds_numbers(client, officer):
    flood = new_incident(client, officer, title="ÁRVÍZ a Duna-korzón", commander="Szűcs Ödön")
    storm = new_incident(client, officer, title="Viharkár a Széchenyi téren")
    found = lambda q: [i["id"] for i in client.get("/api/v1/incidents", query_string={"q": q}, headers=officer).get_json()["items"]]  # noqa: E731
    assert found("árvíz") == [flood["id"]]  # SQLite's lower() alone would not match Á with á
    assert found("arviz korzo") == [flood["id"]]
    assert found("szucs") == [flood["id"]]
    assert found("szechenyi") == [storm["id"]]
    assert found(storm["number"]) == [storm["id"]]
    assert found("100%_") == []  # LIKE's wildcards are plain text
    client.patch(f"/api/v1/incidents/{storm['id']}", json={"title": "Kidőlt fa", "version": storm["version"]},
                 headers=officer)
    assert found("szechenyi") == []
    assert found("kidolt") == [storm["id"]]


def test_viewers_read_but_do_not_write(client, api, officer):
    viewer = api("viewer")[0]
    inc = new_incident(client, officer)
    assert client.get(f"/api/v1/incidents/{inc['id']}", headers=viewer).status_code == 200
    assert client.post(f"/api/v1/incidents/{inc['id']}/log", json={"text": "x"}, headers=viewer).status_code == 403
    assert client.patch(f"/api/v1/incidents/{inc['id']}", json={"status": "active"}, headers=viewer).status_code == 403
