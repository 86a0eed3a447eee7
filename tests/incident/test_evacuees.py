"""The reception register (SPEC §6): check-in, move and check-out change a shelter's free places
exactly; the last place raced by two desks; a household all or nothing; the headcounts at their
boundaries; the log and the audit trail without personal data."""

from __future__ import annotations

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
    before = client.get(f"/api/v1/incidents/{incident['id']}/reception", headers=officer).get_json()
    # Not closed: the purge leaves it.
    result = purge(runner, "0")
    assert result.exit_code == 0, result.output
    assert client.get(f"/api/v1/evacuees/{evacuee['id']}", headers=officer).get_json()["name"] == "Elek Elemér"
    move_incident(client, incident["id"], "active", "contained", "closed")
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
    for secret in ("Elek", "elek", "Elemér", "5551111", "szemüveg", "Nagymama", "Szeged", "1950", "2020"):
        assert secret not in everything and secret not in audit and secret not in log, secret
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
    move_incident(client, incident["id"], "active", "contained", "closed")
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
    move_incident(client, incident["id"], "active", "contained", "closed")
    moved = client.post(f"/api/v1/evacuees/{evacuee['id']}/move", json={"shelter_id": hall["id"]}, headers=officer)
    assert moved.status_code == 409
    assert client.get(f"/api/v1/evacuees/{evacuee['id']}", headers=officer).get_json()["shelter_id"] == gym["id"]
