"""The reception register (SPEC §6): check-in, move and check-out change a shelter's free places
exactly; the last place raced by two desks; a household all or nothing; the headcounts at their
boundaries; the log and the audit trail without personal data."""

from __future__ import annotations

import re

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from conftest import http_json
from factories import create_incident, create_resource, move_incident

VIGADO = {"type": "Point", "coordinates": [19.0493, 47.4957]}


@pytest.fixture
def incident(app):
    return create_incident(app, title="Dunai árvíz – kitelepítés")


def shelter(app, name="Szemere utcai iskola tornaterme", capacity=10, **fields):
    return create_resource(app, name=name, kind="shelter", quantity=1, unit="épület", capacity=capacity,
                           location=VIGADO, **fields)


def purge(runner, days: str):
    """``riado evacuees purge --closed-days N`` (the riado command group, on the test's app)."""
    from incident.cli import cli

    return runner.invoke(cli, ["evacuees", "purge", "--closed-days", days])


def free(client, headers, shelter_id):
    return client.get(f"/api/v1/resources/{shelter_id}", headers=headers).get_json()["available_quantity"]


def check_in(client, headers, incident_id, shelter_id, **person):
    body = {"name": "Kovács Anna", "incident_id": incident_id, "shelter_id": shelter_id, **person}
    return client.post("/api/v1/evacuees", json=body, headers=headers)


def test_check_in_move_and_check_out_change_free_places_exactly(client, officer, incident):
    gym, school = shelter(client, capacity=3), shelter(client, name="Hold utcai iskola", capacity=5)
    assert free(client, officer, gym["id"]) == 3
    first = check_in(client, officer, incident["id"], gym["id"], birth_year=1950, needs=["wheelchair"],
                     phone="06 30 555 1234")
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["status"] == "present" and body["checked_in_at"] and body["phone"] == "+36305551234"
    assert body["needs"] == ["wheelchair"] and body["duplicates"] == []
    assert free(client, officer, gym["id"]) == 2
    # An assignment of places counts beside the evacuees present.
    assigned = client.post(f"/api/v1/incidents/{incident['id']}/assignments",
                           json={"resource_id": gym["id"], "quantity": 1}, headers=officer)
    assert assigned.status_code == 201
    assert free(client, officer, gym["id"]) == 1
    moved = client.post(f"/api/v1/evacuees/{body['id']}/move", json={"shelter_id": school["id"]}, headers=officer)
    assert moved.status_code == 200 and moved.get_json()["shelter_id"] == school["id"]
    assert (free(client, officer, gym["id"]), free(client, officer, school["id"])) == (2, 4)
    left = client.post(f"/api/v1/evacuees/{body['id']}/checkout", json={"destination": "a lányához, Érd"},
                       headers=officer)
    assert left.status_code == 200 and left.get_json()["status"] == "left"
    assert left.get_json()["destination"] == "a lányához, Érd"
    assert free(client, officer, school["id"]) == 5
    again = client.post(f"/api/v1/evacuees/{body['id']}/checkout", headers=officer)
    assert again.status_code == 409
    # The map and the dashboard read the same free places.
    features = client.get("/api/v1/map/resources.geojson", headers=officer).get_json()["features"]
    by_id = {f["id"]: f["properties"] for f in features}
    assert by_id[gym["id"]]["free_capacity"] == 2 and by_id[school["id"]]["free_capacity"] == 5


def test_over_capacity_is_409_and_writes_nothing(client, officer, incident):
    gym = shelter(client, capacity=1)
    assert check_in(client, officer, incident["id"], gym["id"]).status_code == 201
    full = check_in(client, officer, incident["id"], gym["id"], name="Nagy Béla")
    assert full.status_code == 409 and full.get_json()["free_places"] == 0
    assert "shelter_id" in full.get_json()["errors"]["json"]
    listed = client.get("/api/v1/evacuees", query_string={"shelter_id": gym["id"]}, headers=officer).get_json()
    assert listed["total"] == 1
    # A full shelter cannot lose capacity below its evacuees.
    smaller = client.patch(f"/api/v1/resources/{gym['id']}", json={"capacity": 0}, headers=officer)
    assert smaller.status_code == 409


def test_bad_input_names_the_field(client, officer, incident):
    gym = shelter(client)
    bad = check_in(client, officer, incident["id"], gym["id"], name=" ", birth_year=3000, needs=["unicorn"])
    assert bad.status_code == 422
    assert {"name", "birth_year", "needs"} <= set(bad.get_json()["errors"]["json"])
    pump = create_resource(client, name="Szivattyú", kind="pump", location=VIGADO)
    not_shelter = check_in(client, officer, incident["id"], pump["id"])
    assert not_shelter.status_code == 422 and "shelter_id" in not_shelter.get_json()["errors"]["json"]
    nowhere = check_in(client, officer, 9999, gym["id"])
    assert nowhere.status_code == 422 and "incident_id" in nowhere.get_json()["errors"]["json"]
    assert client.post("/api/v1/evacuees/9999/move", json={"shelter_id": gym["id"]}, headers=officer).status_code == 404


def test_the_last_place_raced_by_two_desks(client, officer, incident, live_server):
    gym = shelter(client, capacity=2)
    assert check_in(client, officer, incident["id"], gym["id"]).status_code == 201
    barrier = threading.Barrier(2)
    statuses = []

    def desk(name):
        barrier.wait()
        statuses.append(http_json("POST", live_server + "/api/v1/evacuees", {
            "name": name, "incident_id": incident["id"], "shelter_id": gym["id"]}, officer)[0])

    threads = [threading.Thread(target=desk, args=(name,)) for name in ("Szabó Éva", "Tóth Ödön")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [201, 409]
    assert free(client, officer, gym["id"]) == 0
    listed = client.get("/api/v1/evacuees", query_string={"shelter_id": gym["id"]}, headers=officer).get_json()
    assert listed["total"] == 2


def test_a_household_is_checked_in_all_or_nothing(client, officer, incident):
    gym = shelter(client, capacity=4)
    family = [{"name": "Varga Péter", "birth_year": 1980}, {"name": "Varga Réka", "birth_year": 1982},
              {"name": "Varga Bence", "birth_year": 2015}, {"name": "Varga Zsófi", "birth_year": 2024,
                                                           "needs": ["infant"]}]
    url = "/api/v1/evacuees/household"
    where = {"incident_id": incident["id"], "shelter_id": gym["id"], "household": "Varga család"}
    bad = client.post(url, json={**where, "members": [*family[:3], {"name": "", "birth_year": 1800}]}, headers=officer)
    assert bad.status_code == 422
    assert {"members.3.name", "members.3.birth_year"} <= set(bad.get_json()["errors"]["json"])
    assert free(client, officer, gym["id"]) == 4
    too_many = client.post(url, json={**where, "members": [*family, {"name": "Varga Nagymama"}]}, headers=officer)
    assert too_many.status_code == 409
    assert free(client, officer, gym["id"]) == 4
    ok = client.post(url, json={**where, "members": family}, headers=officer)
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["total"] == 4 and {e["household"] for e in ok.get_json()["items"]} == {"Varga család"}
    assert free(client, officer, gym["id"]) == 0


def test_duplicates_are_a_warning(client, officer, incident):
    gym, school = shelter(client), shelter(client, name="Hold utcai iskola")
    first = check_in(client, officer, incident["id"], gym["id"], name="Kovács Ödön", birth_year=1944).get_json()
    again = check_in(client, officer, incident["id"], school["id"], name="kovacs odon", birth_year=1944)
    assert again.status_code == 201
    assert again.get_json()["duplicates"] == [{"member": 0, "evacuee_id": first["id"], "incident_id": incident["id"],
                                               "shelter_id": gym["id"], "shelter_name": gym["name"]}]
    other_year = check_in(client, officer, incident["id"], school["id"], name="Kovács Ödön", birth_year=1945)
    assert other_year.get_json()["duplicates"] == []


def test_headcount_boundaries(app, client, officer, incident):
    from incident.database import clock_at

    gym = shelter(client, capacity=20)
    people = [("Child 13", 2013, ["oxygen"]), ("Teen 14", 2012, []), ("Adult 64", 1962, ["dialysis"]),
              ("Elder 65", 1961, ["wheelchair", "medication"]), ("Unknown", None, ["pet"])]
    with clock_at(dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)):
        for name, year, needs in people:
            assert check_in(client, officer, incident["id"], gym["id"], name=name, birth_year=year,
                            needs=needs).status_code == 201
        reception = client.get(f"/api/v1/incidents/{incident['id']}/reception", headers=officer).get_json()
    assert reception["year"] == 2026
    (row,) = reception["shelters"]
    assert (row["present"], row["children"], row["elderly"]) == (5, 1, 1)
    assert row["capacity"] == 20 and row["free_places"] == 15 and row["name"] == gym["name"]
    assert row["needs"] == {"wheelchair": 1, "medication": 1, "oxygen": 1, "dialysis": 1, "infant": 0, "pet": 1,
                            "other": 0}
    assert reception["totals"]["present"] == 5 and reception["totals"]["children"] == 1
    with clock_at(dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)):  # a year on: 14 and 66
        later = client.get(f"/api/v1/incidents/{incident['id']}/reception", headers=officer).get_json()
    assert (later["totals"]["children"], later["totals"]["elderly"]) == (0, 2)


def test_viewers_get_counts_but_never_names(client, officer, viewer, incident):
    gym = shelter(client)
    evacuee = check_in(client, officer, incident["id"], gym["id"], name="Titkos Teréz").get_json()
    for url in ("/api/v1/evacuees", f"/api/v1/evacuees/{evacuee['id']}",
                f"/api/v1/evacuees/export.csv?incident_id={incident['id']}&shelter_id={gym['id']}"):
        assert client.get(url, headers=viewer).status_code == 403, url
    assert check_in(client, viewer, incident["id"], gym["id"]).status_code == 403
    counts = client.get(f"/api/v1/incidents/{incident['id']}/reception", headers=viewer)
    assert counts.status_code == 200 and counts.get_json()["totals"]["present"] == 1
    assert "Titkos" not in counts.get_data(as_text=True)
    assert client.get(f"/api/v1/incidents/{incident['id']}/reception").status_code == 401


def test_search_ignores_accents_and_case_and_is_audited(app, client, officer, incident):
    gym, school = shelter(client), shelter(client, name="Hold utcai iskola")
    anna = check_in(client, officer, incident["id"], gym["id"], name="Kovács Anna").get_json()
    odon = check_in(client, officer, incident["id"], school["id"], name="Őrsi Ödön").get_json()
    found = client.get("/api/v1/evacuees", query_string={"q": "orsi odon"}, headers=officer).get_json()
    assert [e["id"] for e in found["items"]] == [odon["id"]]
    found = client.get("/api/v1/evacuees", query_string={"q": "KOVÁCS"}, headers=officer).get_json()
    assert [e["id"] for e in found["items"]] == [anna["id"]]
    assert client.get(f"/api/v1/evacuees/{anna['id']}", headers=officer).status_code == 200
    with app.app_context():
        from incident.extensions import db

        rows = db.session.execute(text(
            "SELECT action, record_id, changes FROM audit_log WHERE entity = 'evacuees' AND action IN ('search', 'read') "
            "ORDER BY id")).all()
    assert [r.action for r in rows] == ["search", "search", "read"]
    assert all("Kov" not in str(r.changes) and "rsi" not in str(r.changes) for r in rows)
    assert rows[2].record_id == str(anna["id"])
    audit = client.get("/api/v1/audit", query_string={"entity": "evacuees"}, headers=admin_headers(client))
    assert audit.status_code == 200


def admin_headers(client):
    from factories import create_user

    from incident.extensions import db
    from incident.models import User
    from incident.operations.sessions import issue_token

    user = create_user(client, "admin")
    with client.application.app_context():
        token = issue_token(db.session.get(User, user["id"]), "test")
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_the_log_has_counts_and_register_numbers_and_the_audit_no_personal_data(app, client, officer, incident):
    gym = shelter(client)
    evacuee = check_in(client, officer, incident["id"], gym["id"], name="Zárt Zoltán", phone="06 30 555 9876",
                       household="Zárt család", notes="inzulin", needs=["medication"], birth_year=1931).get_json()
    client.patch(f"/api/v1/evacuees/{evacuee['id']}", json={"notes": "inzulin délben"}, headers=officer)
    client.post(f"/api/v1/evacuees/{evacuee['id']}/checkout", json={"destination": "Kórház u. 1."}, headers=officer)
    log = client.get(f"/api/v1/incidents/{incident['id']}/log", headers=officer).get_json()["items"]
    texts = " ".join(e["text"] for e in log)
    assert str(evacuee["id"]) in texts
    with app.app_context():
        from incident.extensions import db

        audit = " ".join(str(r[0]) for r in db.session.execute(text("SELECT changes FROM audit_log")).all())
    for secret in ("Zárt", "Zoltán", "5559876", "inzulin", "Kórház", "medication", "1931"):
        assert secret not in texts and secret not in audit, secret


def test_purge_keeps_counts_and_erases_every_personal_field(app, client, officer, incident, runner):
    gym = shelter(client)
    evacuee = check_in(client, officer, incident["id"], gym["id"], name="Elek Elemér", phone="06 30 555 1111",
                       household="Elek család", notes="szemüveg", needs=["wheelchair"], birth_year=1950).get_json()
    child = check_in(client, officer, incident["id"], gym["id"], name="Elek Ede", birth_year=2020,
                     household="Elek család").get_json()
    client.post(f"/api/v1/evacuees/{child['id']}/checkout", json={"destination": "Nagymama, Szeged"}, headers=officer)
    client.get("/api/v1/evacuees", query_string={"q": "elek"}, headers=officer)
    # Not closed: the purge leaves it.
    result = purge(runner, "0")
    assert result.exit_code == 0, result.output
    assert client.get(f"/api/v1/evacuees/{evacuee['id']}", headers=officer).get_json()["name"] == "Elek Elemér"
    move_incident(client, incident["id"], "active", "contained", "closed", check_out_evacuees=True)
    before = client.get(f"/api/v1/incidents/{incident['id']}/reception", headers=officer).get_json()
    assert before["totals"]["received"] == 2
    result = purge(runner, "0")
    assert result.exit_code == 0, result.output
    assert "Erased the personal data of 2 evacuee records." in result.output
    after = client.get(f"/api/v1/incidents/{incident['id']}/reception", headers=officer).get_json()
    assert after["shelters"] == before["shelters"] and after["totals"] == before["totals"]
    listed = client.get("/api/v1/evacuees", query_string={"incident_id": incident["id"]}, headers=officer).get_json()
    assert listed["total"] == 2
    assert {e["name"] for e in listed["items"]} == {""}
    with app.app_context():
        from incident.extensions import db

        rows = db.session.execute(text(
            "SELECT name, name_key, birth_year, phone, household, notes, destination, search, purged_at "
            "FROM evacuees")).all()
        everything = " ".join(str(tuple(r)) for r in db.session.execute(text("SELECT * FROM evacuees")).all())
        audit = " ".join(str(tuple(r)) for r in db.session.execute(text("SELECT * FROM audit_log")).all())
        log = " ".join(r[0] for r in db.session.execute(text("SELECT text FROM log_entries")).all())
    for row in rows:
        assert (row.name, row.name_key, row.birth_year, row.phone, row.household, row.notes, row.destination,
                row.search) == ("", None, None, "", "", "", "", "")
        assert row.purged_at is not None
    for secret in ("Elek", "elek", "Elemér", "5551111", "szemüveg", "Nagymama", "Szeged"):
        assert secret not in everything and secret not in audit and secret not in log, secret
    # The birth years as numbers of their own (a timestamp's microseconds may hold the digits "2020").
    for year in ("1950", "2020"):
        pattern = re.compile(rf"(?<![0-9]){year}(?![0-9])")
        assert not pattern.search(everything) and not pattern.search(audit) and not pattern.search(log), year
    uri = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if uri.get_backend_name() == "sqlite":  # nor in the file's free pages or its write-ahead log
        for path in (Path(uri.database), Path(uri.database + "-wal")):
            if path.exists():
                data = path.read_bytes()
                assert "Elemér".encode() not in data and "szemüveg".encode() not in data, path
    # Purging again finds nothing more.
    result = purge(runner, "0")
    assert "Erased the personal data of 0 evacuee records." in result.output


def test_purge_waits_for_the_days(app, client, officer, incident, runner):
    gym = shelter(client)
    check_in(client, officer, incident["id"], gym["id"], name="Várakozó Vilma")
    move_incident(client, incident["id"], "active", "contained", "closed", check_out_evacuees=True)
    result = purge(runner, "30")
    assert result.exit_code == 0
    listed = client.get("/api/v1/evacuees", headers=officer).get_json()
    assert listed["items"][0]["name"] == "Várakozó Vilma"
    bad = purge(runner, "-1")
    assert bad.exit_code != 0


def test_a_closed_incident_takes_no_check_in(client, officer, incident):
    gym = shelter(client)
    move_incident(client, incident["id"], "active", "contained", "closed")
    refused = check_in(client, officer, incident["id"], gym["id"])
    assert refused.status_code == 409 and "incident_id" in refused.get_json()["errors"]["json"]


def test_drill_evacuees_are_kept_apart(client, officer, incident):
    drill = create_incident(client, title="Kitelepítési gyakorlat", drill=True)
    gym = shelter(client)
    check_in(client, officer, incident["id"], gym["id"], name="Valódi Vera")
    check_in(client, officer, drill["id"], gym["id"], name="Gyakorló Gábor")
    real = client.get("/api/v1/evacuees", query_string={"drill": "false"}, headers=officer).get_json()
    assert [e["name"] for e in real["items"]] == ["Valódi Vera"] and real["items"][0]["drill"] is False
    drills = client.get("/api/v1/evacuees", query_string={"drill": "true"}, headers=officer).get_json()
    assert [e["name"] for e in drills["items"]] == ["Gyakorló Gábor"]
    # A drill's duplicate is not a real one's.
    again = check_in(client, officer, incident["id"], gym["id"], name="Gyakorló Gábor").get_json()
    assert again["duplicates"] == []
    features = client.get("/api/v1/map/resources.geojson", headers=officer).get_json()["features"]
    (props,) = [f["properties"] for f in features if f["id"] == gym["id"]]
    assert props["reception"]["present"] == 2 and props["reception_drill"]["present"] == 1


def test_nobody_is_moved_on_a_closed_incident(app, client, officer, incident):
    gym, hall = shelter(client), shelter(client, name="Közösségi ház")
    evacuee = check_in(client, officer, incident["id"], gym["id"], name="Mozgó Márta").get_json()
    move_incident(client, incident["id"], "active", "contained", "closed", check_out_evacuees=True)
    moved = client.post(f"/api/v1/evacuees/{evacuee['id']}/move", json={"shelter_id": hall["id"]}, headers=officer)
    assert moved.status_code == 409
    assert client.get(f"/api/v1/evacuees/{evacuee['id']}", headers=officer).get_json()["shelter_id"] == gym["id"]


# Closing an incident: nobody stays "present" in a closed incident's register


def _close(client, headers, incident_id, **closing):
    current = client.get(f"/api/v1/incidents/{incident_id}", headers=headers).get_json()
    return client.patch(f"/api/v1/incidents/{incident_id}",
                        json={"status": "closed", "version": current["version"], **closing}, headers=headers)


def test_closing_refuses_while_people_are_checked_in_then_records_their_departure(app, client, officer, incident):
    gym, school = shelter(client, capacity=10), shelter(client, name="Hold utcai iskola", capacity=5)
    other = create_incident(client, title="Lakástűz, Nádor utca")
    people = [check_in(client, officer, incident["id"], gym["id"], name=name).get_json()
              for name in ("Rejtett Rozália", "Rejtett Róbert", "Távozó Tivadar")]
    in_school = check_in(client, officer, incident["id"], school["id"], name="Iskolás Ilona").get_json()
    neighbour = check_in(client, officer, other["id"], gym["id"], name="Szomszéd Sára").get_json()
    client.post(f"/api/v1/evacuees/{people[2]['id']}/checkout", json={"destination": "Érd"}, headers=officer)
    pump = create_resource(client, name="Szivattyú 1", kind="pump", quantity=1, location=VIGADO)
    assert client.post(f"/api/v1/incidents/{incident['id']}/assignments", json={"resource_id": pump["id"]},
                       headers=officer).status_code == 201
    move_incident(client, incident["id"], "active", "contained")
    log_before = client.get(f"/api/v1/incidents/{incident['id']}/log", headers=officer).get_json()["total"]

    # Neither choice said: the resources are named first, then the people.
    refused = _close(client, officer, incident["id"])
    assert refused.status_code == 409 and "assignments" in refused.get_json()["errors"]["json"]
    refused = _close(client, officer, incident["id"], release_assignments=True)
    assert refused.status_code == 409, refused.get_json()
    body = refused.get_json()
    assert list(body["errors"]["json"]) == ["evacuees"]
    # How many, where (counts only: no name in the answer); the other incident's person is not counted.
    assert body["evacuees"] == [
        {"shelter_id": school["id"], "shelter_name": "Hold utcai iskola", "present": 1},
        {"shelter_id": gym["id"], "shelter_name": gym["name"], "present": 2},
    ]
    assert "3 persons" in body["message"] and "Hold utcai iskola: 1" in body["message"]
    assert "Rejtett" not in refused.get_data(as_text=True)
    # Nothing was written: still contained, the pump still assigned, the people present.
    assert client.get(f"/api/v1/incidents/{incident['id']}", headers=officer).get_json()["status"] == "contained"
    assert client.get(f"/api/v1/incidents/{incident['id']}/log", headers=officer).get_json()["total"] == log_before
    assert free(client, officer, pump["id"]) == 0
    assert (free(client, officer, gym["id"]), free(client, officer, school["id"])) == (7, 4)

    # Said without closing, it is refused by name.
    said = client.patch(f"/api/v1/incidents/{incident['id']}", json={"check_out_evacuees": True}, headers=officer)
    assert said.status_code == 422 and "check_out_evacuees" in said.get_json()["errors"]["json"]

    closed = _close(client, officer, incident["id"], release_assignments=True, check_out_evacuees=True)
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "closed"
    for person in (*people[:2], in_school):
        record = client.get(f"/api/v1/evacuees/{person['id']}", headers=officer).get_json()
        assert record["status"] == "left" and record["checked_out_at"] is not None
    assert client.get(f"/api/v1/evacuees/{people[2]['id']}", headers=officer).get_json()["destination"] == "Érd"
    # The other incident's person stays; every place this incident held is free again.
    assert client.get(f"/api/v1/evacuees/{neighbour['id']}", headers=officer).get_json()["status"] == "present"
    assert (free(client, officer, gym["id"]), free(client, officer, school["id"])) == (9, 5)
    assert free(client, officer, pump["id"]) == 1
    reception = client.get(f"/api/v1/incidents/{incident['id']}/reception", headers=officer).get_json()
    assert reception["totals"]["present"] == 0 and reception["totals"]["received"] == 4
    # The log says it per shelter, with counts and register numbers, never a name.
    log = client.get(f"/api/v1/incidents/{incident['id']}/log", headers=officer).get_json()["items"]
    closing = [e["text"] for e in log if "closing" in e["text"] or "lezárás" in e["text"]]
    assert len(closing) == 2, [e["text"] for e in log]
    gym_line = next(t for t in closing if gym["name"] in t)
    # Two left the gym (register numbers), the other incident's one is still there.
    assert f"{people[0]['id']}, {people[1]['id']})" in gym_line and gym_line.endswith(": 1."), gym_line
    texts = " ".join(e["text"] for e in log)
    for name in ("Rejtett", "Iskolás", "Szomszéd"):
        assert name not in texts


def test_closing_with_nobody_present_needs_no_choice(client, officer, incident):
    gym = shelter(client)
    evacuee = check_in(client, officer, incident["id"], gym["id"], name="Hazatért Hilda").get_json()
    client.post(f"/api/v1/evacuees/{evacuee['id']}/checkout", headers=officer)
    move_incident(client, incident["id"], "active", "contained")
    closed = _close(client, officer, incident["id"])
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"


def test_the_maps_count_only_open_incidents_evacuees(app, client, officer, viewer, incident):
    gym = shelter(client, capacity=10)
    for name in ("Nyitott Nóra", "Nyitott Noé"):
        check_in(client, officer, incident["id"], gym["id"], name=name)
    old = create_incident(client, title="Régi árvíz")
    check_in(client, officer, old["id"], gym["id"], name="Régi Rudolf")
    drill = create_incident(client, title="Gyakorlat", drill=True)
    check_in(client, officer, drill["id"], gym["id"], name="Gyakorló Gréta")

    def counts():
        features = client.get("/api/v1/map/resources.geojson", headers=viewer).get_json()["features"]
        (props,) = [f["properties"] for f in features if f["id"] == gym["id"]]
        wall = {c["key"]: c["value"] for c in client.get("/api/v1/map/summary", headers=viewer).get_json()["counts"]}
        wall_drill = {c["key"]: c["value"] for c in
                      client.get("/api/v1/map/summary?drill=1", headers=viewer).get_json()["counts"]}
        return (props["reception"]["present"], props["reception_drill"]["present"], wall["evacuees_present"],
                wall_drill["evacuees_present"])

    assert counts() == (3, 1, 3, 1)
    # An incident closed before closing asked about its people (or by hand in the database): its
    # evacuees are still marked present, but it is over, so the maps no longer count them.
    with app.app_context():
        from incident.extensions import db

        for closed in (old["id"], drill["id"]):
            db.session.execute(text("UPDATE incidents SET status = 'closed', closed_at = CURRENT_TIMESTAMP, "
                                    "version = version + 1 WHERE id = :id"), {"id": closed})
        db.session.commit()
    assert counts() == (2, 0, 2, 0)


def test_a_stale_patch_of_an_evacuee_is_refused(client, officer, incident):
    gym = shelter(client)
    evacuee = check_in(client, officer, incident["id"], gym["id"], name="Verziós Vilmos").get_json()
    assert evacuee["version"] == 1
    url = f"/api/v1/evacuees/{evacuee['id']}"
    first = client.patch(url, json={"notes": "inzulin délben", "version": 1}, headers=officer)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["version"] == 2
    # A second desk read version 1 too: its write would silently undo the first one's.
    stale = client.patch(url, json={"notes": "szemüveg", "phone": "06 30 555 7777", "version": 1}, headers=officer)
    assert stale.status_code == 409, stale.get_json()
    assert "version" in stale.get_json()["errors"]["json"]
    record = client.get(url, headers=officer).get_json()
    assert record["notes"] == "inzulin délben" and record["phone"] == "" and record["version"] == 2
    # The version read now goes through; one not sent is not checked (as with the other records).
    assert client.patch(url, json={"notes": "szemüveg", "version": 2}, headers=officer).get_json()["version"] == 3
    assert client.patch(url, json={"household": "Verziós család"}, headers=officer).status_code == 200
    bad = client.patch(url, json={"version": "kettő"}, headers=officer)
    assert bad.status_code == 422 and "version" in bad.get_json()["errors"]["json"]
