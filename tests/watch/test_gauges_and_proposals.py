"""River gauges and the proposals they make: readings crossing 620, then 700, falling to 690 and
rising to 705 propose exactly once per crossing, by hand or from the gauge file; accepting opens
the incident (readiness level II, the level-II plan), dismissing asks why; both are written to
the log and the audit trail. Times are the test's, never slept."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from factories import VIGADO, create_incident, store_district_outline
from feed_server import Answer

STATION = "Vigadó tér"
LEVELS = [600, 625, 650, 700, 690, 705, 705, 680]  # one reading every STEP
STEP = dt.timedelta(minutes=10)
START = dt.datetime.now(dt.timezone.utc)


@pytest.fixture(autouse=True)
def _start():
    """Each test's readings begin two hours before it runs: current readings (only they propose;
    a reading already old when it comes is history)."""
    global START
    START = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) - dt.timedelta(hours=2)


def at(i: int) -> str:
    return (START + STEP * i).isoformat()


def post_reading(client, headers, level, when, station=STATION):
    return client.post(f"/api/v1/gauges/{station}/readings", headers=headers, json={"level_cm": level, "at": when})


def proposals(client, headers, status=""):
    return client.get(f"/api/v1/watch/events{'?status=' + status if status else ''}", headers=headers).get_json()


def test_readings_by_hand_propose_once_per_crossing(client, officer, viewer):
    made = []
    for i, level in enumerate(LEVELS):
        answer = post_reading(client, officer, level, at(i))
        assert answer.status_code == 201, answer.get_json()
        made.append((answer.get_json()["threshold"], answer.get_json()["event_id"] is not None))
    assert made == [(0, False), (1, True), (1, False), (2, True), (1, False), (2, True), (2, False), (1, False)]
    listed = proposals(client, viewer)
    assert listed["total"] == 3
    assert [(e["threshold"], e["level_cm"], e["status"], e["readiness_level"]) for e in reversed(listed["items"])] == [
        (1, 625, "open", 1), (2, 700, "open", 2), (2, 705, "open", 2)]
    # The same reading again is refused, and proposes nothing.
    again = post_reading(client, officer, 705, at(5))
    assert again.status_code == 409 and "at" in again.get_json()["errors"]["json"]
    # A reading arriving late (older than the newest) is kept, and moves nothing.
    late = post_reading(client, officer, 810, (START + STEP / 2).isoformat())
    assert late.status_code == 201 and late.get_json()["event_id"] is None
    assert proposals(client, viewer)["total"] == 3
    watch = client.get("/api/v1/watch", headers=viewer).get_json()
    # The trend: the newest (680) less the oldest of its 24 hours (600).
    assert watch["gauges"] == [{"station": STATION, "level_cm": 680, "at": at(7), "threshold": 1, "trend_24h_cm": 80}]
    readings = client.get(f"/api/v1/gauges/{STATION}/readings", headers=viewer).get_json()
    assert readings["total"] == 9 and readings["items"][0]["level_cm"] == 680


@pytest.mark.parametrize("body, field", [
    ({"level_cm": "sok"}, "level_cm"), ({"level_cm": 99999}, "level_cm"), ({}, "level_cm"),
    ({"level_cm": 700, "at": "tegnap"}, "at"), ({"level_cm": 700, "at": "2999-01-01T00:00:00+00:00"}, "at"), ({"level_cm": 700, "at": "0001-01-01T00:30:00+05:00"}, "at"),
])
def test_a_bad_reading_is_refused_naming_the_field(client, officer, body, field):
    answer = client.post(f"/api/v1/gauges/{STATION}/readings", headers=officer, json=body)
    assert answer.status_code == 422 and field in answer.get_json()["errors"]["json"]
    assert client.get("/api/v1/watch", headers=officer).get_json()["gauges"] == []  # nothing half written


def test_viewers_read_and_officers_write(client, viewer):
    assert post_reading(client, viewer, 700, at(0)).status_code == 403
    assert client.post("/api/v1/watch/events/1/accept", headers=viewer, json={}).status_code == 403
    assert client.post("/api/v1/watch/events/1/dismiss", headers=viewer, json={"reason": "x"}).status_code == 403
    assert client.get("/api/v1/watch").status_code == 401


def test_the_gauge_file_proposes_the_same_once_however_often_it_is_read(feeds, app_factory, client, viewer):
    from watch.poll import poll

    rows = [{"station": STATION, "level_cm": level, "time": at(i)} for i, level in enumerate(LEVELS[:6])]
    feeds.set("/gauges.json", Answer(json.dumps({"readings": rows}).encode(), content_type="application/json"))
    app = app_factory(RIADO_METEOALARM_URL=None, RIADO_GAUGE_URL=feeds.url("/gauges.json"))
    now = START + STEP * len(LEVELS)
    with app.app_context():
        assert poll(now=now) == {"gauges": {"readings": 6, "events": 3}}
        assert poll(now=now + dt.timedelta(minutes=10)) == {"gauges": {"readings": 0, "events": 0}}
    # The same as CSV (semicolons, as Excel writes it), with two more readings: only they are new.
    csv = "station;level_cm;time\n" + "".join(f"{STATION};{level};{at(i)}\n" for i, level in enumerate(LEVELS))
    feeds.set("/gauges.json", Answer(csv.encode("utf-8-sig"), content_type="text/csv"))
    with app.app_context():
        assert poll(now=now + dt.timedelta(minutes=20)) == {"gauges": {"readings": 2, "events": 0}}
    assert proposals(client, viewer)["total"] == 3
    # A file with a bad row is refused whole, naming it; what was read stays.
    feeds.set("/gauges.json", Answer(b"station,level_cm,time\nVigad\xc3\xb3 t\xc3\xa9r,sok,2026-06-09T10:00:00+02:00\n",
                                     content_type="text/csv"))
    with app.app_context():
        result = poll(now=now + dt.timedelta(minutes=30))["gauges"]
    assert result.startswith("error") and "row 2, level_cm" in result
    shown = client.get("/api/v1/watch", headers=viewer).get_json()
    assert shown["stale"] is True and shown["gauges"][0]["level_cm"] == 680


def _crossings(client, officer, readings: int = 6):
    for i, level in enumerate(LEVELS[:readings]):
        post_reading(client, officer, level, at(i))
    return {e["level_cm"]: e["id"] for e in proposals(client, officer)["items"]}


def flood_plans(client, officer) -> dict[int, dict]:
    """The district's Danube flood plans for readiness levels I and II (and a storm plan at II)."""
    made = {}
    for level, tasks in ((1, ["Rakpart figyelése", "HVB értesítése"]), (2, ["Alsó rakpart lezárása", "Homokzsákok"])):
        answer = client.post("/api/v1/plans", headers=officer, json={
            "name": f"Dunai árvíz – {level}. fok", "hazard": "flood", "level": level,
            "tasks": [{"title": title, "due_minutes": 60} for title in tasks]})
        assert answer.status_code == 201, answer.get_json()
        made[level] = answer.get_json()
    client.post("/api/v1/plans", headers=officer, json={"name": "Vihar", "hazard": "storm", "level": 2,
                                                          "tasks": [{"title": "Fák ellenőrzése"}]})
    return made


def test_accepting_705_opens_the_incident_at_level_ii_with_its_plan_and_a_drafted_alert(app, client, officer, viewer):
    from incident.extensions import db
    from incident.models import Incident

    plans = flood_plans(client, officer)
    ids = _crossings(client, officer)
    accepted = client.post(f"/api/v1/watch/events/{ids[705]}/accept", headers=officer, json={"location": VIGADO})
    assert accepted.status_code == 201, accepted.get_json()
    body = accepted.get_json()
    assert "705 cm" in body["alert_draft"]["body"] and body["readiness_level"] == 2
    assert body["compose_url"].startswith("/alerts/new?")
    incident = client.get(f"/api/v1/incidents/{body['incident_id']}", headers=viewer).get_json()
    assert incident["kind"] == "flood" and incident["severity"] == "severe" and "705" in incident["title"]
    assert incident["readiness_level"] == 2
    assert body["plans_applied"] == [plans[2]["name"]]  # the level-II flood plan, not level I's nor the storm's
    tasks = client.get(f"/api/v1/incidents/{body['incident_id']}/tasks", headers=viewer).get_json()["items"]
    assert [(t["title"], t["status"]) for t in tasks] == [("Alsó rakpart lezárása", "open"), ("Homokzsákok", "open")]
    log = client.get(f"/api/v1/incidents/{body['incident_id']}/log", headers=viewer).get_json()["items"]
    assert any(e["kind"] == "decision" and "705 cm" in e["text"] and "Vigadó tér" in e["text"] for e in log)
    assert any("II" in e["text"] for e in log if e["kind"] == "system")  # the readiness level, logged
    assert any(plans[2]["name"] in e["text"] for e in log if e["kind"] == "system")  # the plan applied, logged
    decided = client.get(f"/api/v1/watch/events/{ids[705]}", headers=viewer).get_json()
    assert decided["status"] == "accepted" and decided["incident_id"] == body["incident_id"] and decided["decided_by"]
    # Nothing was sent: no alert exists.
    assert client.get("/api/v1/alerts", headers=viewer).get_json()["total"] == 0
    # Decided once: a second answer is refused.
    assert client.post(f"/api/v1/watch/events/{ids[705]}/accept", headers=officer, json={}).status_code == 409
    assert client.post(f"/api/v1/watch/events/{ids[705]}/dismiss", headers=officer,
                       json={"reason": "késő"}).status_code == 409
    with app.app_context():
        assert db.session.get(Incident, body["incident_id"]).status == "reported"


def test_accepting_a_higher_level_raises_the_incident_an_earlier_one_opened(client, officer):
    plans = flood_plans(client, officer)
    ids = _crossings(client, officer, readings=4)  # 625 (level I) and 700 (level II) proposed
    first = client.post(f"/api/v1/watch/events/{ids[625]}/accept", headers=officer, json={"location": VIGADO}).get_json()
    assert first["plans_applied"] == [plans[1]["name"]] and first["readiness_level"] == 1
    second = client.post(f"/api/v1/watch/events/{ids[700]}/accept", headers=officer, json={}).get_json()
    assert second["incident_id"] == first["incident_id"] and second["plans_applied"] == [plans[2]["name"]]
    incident = client.get(f"/api/v1/incidents/{first['incident_id']}", headers=officer).get_json()
    assert incident["readiness_level"] == 2
    tasks = client.get(f"/api/v1/incidents/{first['incident_id']}/tasks", headers=officer).get_json()["items"]
    assert len(tasks) == 4
    # The river falls to 690 and rises to 705: a third crossing, of level II again, which finds the
    # plan applied: the level stays, nothing doubled.
    post_reading(client, officer, 690, at(4))
    assert post_reading(client, officer, 705, at(5)).get_json()["event_id"]
    ids = {e["level_cm"]: e["id"] for e in proposals(client, officer, "open")["items"]}
    third = client.post(f"/api/v1/watch/events/{ids[705]}/accept", headers=officer, json={}).get_json()
    assert third["incident_id"] == first["incident_id"] and third["plans_applied"] == []
    assert len(client.get(f"/api/v1/incidents/{first['incident_id']}/tasks", headers=officer).get_json()["items"]) == 4


def test_accepting_without_a_plan_for_the_level_still_opens_the_incident(client, officer):
    ids = _crossings(client, officer)
    body = client.post(f"/api/v1/watch/events/{ids[705]}/accept", headers=officer, json={"location": VIGADO}).get_json()
    assert body["plans_applied"] == []
    assert client.get(f"/api/v1/incidents/{body['incident_id']}", headers=officer).get_json()["readiness_level"] == 2


def test_accepting_needs_a_place_without_the_municipality_outline(client, officer):
    ids = _crossings(client, officer)
    refused = client.post(f"/api/v1/watch/events/{ids[625]}/accept", headers=officer, json={})
    assert refused.status_code == 422 and "location" in refused.get_json()["errors"]["json"]
    assert proposals(client, officer, "open")["total"] == 3  # nothing half written
    assert client.get("/api/v1/incidents", headers=officer).get_json()["total"] == 0


def test_accepting_places_the_incident_in_the_middle_of_the_municipality(app, client, officer):
    store_district_outline(app)
    ids = _crossings(client, officer)
    accepted = client.post(f"/api/v1/watch/events/{ids[625]}/accept", headers=officer, json={})
    assert accepted.status_code == 201
    incident = client.get(f"/api/v1/incidents/{accepted.get_json()['incident_id']}", headers=officer).get_json()
    lon, lat = incident["location"]["coordinates"]
    assert 19.03 < lon < 19.07 and 47.49 < lat < 47.52  # inside Belváros-Lipótváros


def test_dismissing_asks_why_and_is_written_to_the_open_incidents_log_and_the_audit(app, client, officer, api):
    ids = _crossings(client, officer)
    for reason in ("", "   ", None):
        refused = client.post(f"/api/v1/watch/events/{ids[625]}/dismiss", headers=officer, json={"reason": reason})
        assert refused.status_code == 422 and "reason" in refused.get_json()["errors"]["json"]
    flood = create_incident(app, title="Dunai árvíz")
    dismissed = client.post(f"/api/v1/watch/events/{ids[625]}/dismiss", headers=officer,
                            json={"reason": "<b>Már kezeljük</b>"})
    assert dismissed.status_code == 200
    assert dismissed.get_json()["status"] == "dismissed" and dismissed.get_json()["reason"] == "<b>Már kezeljük</b>"
    log = client.get(f"/api/v1/incidents/{flood['id']}/log", headers=officer).get_json()["items"]
    assert any("Már kezeljük" in e["text"] and e["kind"] == "decision" for e in log)
    admin, _ = api("admin")
    trail = client.get("/api/v1/audit?entity=watch_events", headers=admin).get_json()["items"]
    assert any(row["changes"].get("status") == ["open", "dismissed"] for row in trail)


def test_history_in_the_gauge_file_proposes_nothing_and_the_current_reading_does(feeds, app_factory, client, viewer,
                                                                                 officer):
    from watch.poll import poll

    now = START + dt.timedelta(hours=2)
    # Last week's flood (it crossed levels I and II), and the river now, at level I.
    rows = [(600, now - dt.timedelta(days=3)), (705, now - dt.timedelta(days=3, hours=-6)),
            (640, now - dt.timedelta(days=2)), (690, now - dt.timedelta(minutes=20))]
    feeds.set("/gauges.json", Answer(json.dumps({"readings": [
        {"station": STATION, "level_cm": level, "time": when.isoformat()} for level, when in rows]}).encode(),
        content_type="application/json"))
    app = app_factory(RIADO_METEOALARM_URL=None, RIADO_GAUGE_URL=feeds.url("/gauges.json"))
    with app.app_context():
        assert poll(now=now) == {"gauges": {"readings": 4, "events": 1}}
    [proposal] = proposals(client, viewer)["items"]
    assert (proposal["level_cm"], proposal["threshold"]) == (690, 1)  # the river now, not last week's 705
    assert client.get("/api/v1/watch", headers=viewer).get_json()["gauges"][0]["level_cm"] == 690
    # A reading typed in long after it was read off the gauge is history too: shown, proposing nothing.
    late = post_reading(client, officer, 810, (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).isoformat(),
                        station="Óbuda")
    assert late.status_code == 201 and late.get_json()["event_id"] is None and late.get_json()["threshold"] == 3
    assert proposals(client, viewer)["total"] == 1


def test_accepting_705_settles_the_lower_proposals_of_the_gauge(client, officer, viewer):
    ids = _crossings(client, officer)
    assert proposals(client, viewer, "open")["total"] == 3
    accepted = client.post(f"/api/v1/watch/events/{ids[705]}/accept", headers=officer, json={"location": VIGADO})
    assert accepted.status_code == 201
    incident_id = accepted.get_json()["incident_id"]
    assert proposals(client, viewer, "open")["total"] == 0
    for level in (625, 700):
        settled = client.get(f"/api/v1/watch/events/{ids[level]}", headers=viewer).get_json()
        assert settled["status"] == "dismissed" and settled["decided_by"] == "system"
        assert settled["incident_id"] == incident_id and f"#{ids[705]}" in settled["reason"]
    assert client.post(f"/api/v1/watch/events/{ids[625]}/accept", headers=officer, json={}).status_code == 409
    # Another gauge's proposal is another matter.
    assert post_reading(client, officer, 650, at(6), station="Óbuda").get_json()["event_id"]
    assert proposals(client, viewer, "open")["total"] == 1


@pytest.mark.parametrize("first, second, outcome", [(705, 705, 409), (705, 625, 409), (625, 705, 201)])
def test_two_officers_accepting_at_once_open_one_incident(app, client, api, monkeypatch, first, second, outcome):
    """The first accept holds on, while opening its incident, until the second one has been
    made and had time to finish: with the locks the second waits for the first, then finds its
    proposal decided or settled (or the first's incident, which it raises), and never opens a
    second incident. Without them it would go ahead and open its own meanwhile."""
    import threading

    from watch import operations as ops

    first_officer, _ = api("officer")
    second_officer, _ = api("officer")
    ids = _crossings(client, first_officer)
    answers, started = {}, []

    def accept_second():
        answers["second"] = app.test_client().post(f"/api/v1/watch/events/{ids[second]}/accept",
                                                   headers=second_officer, json={"location": VIGADO})

    other = threading.Thread(target=accept_second)
    real_create = ops.create_incident

    def create_and_let_the_other_try(*args, **kwargs):
        made = real_create(*args, **kwargs)
        if not started:
            started.append(True)
            other.start()
            other.join(2)  # it cannot finish while the first holds the locks: it waits for them
        return made

    monkeypatch.setattr(ops, "create_incident", create_and_let_the_other_try)
    answer = client.post(f"/api/v1/watch/events/{ids[first]}/accept", headers=first_officer, json={"location": VIGADO})
    other.join(60)
    assert answer.status_code == 201, answer.get_json()
    assert answers["second"].status_code == outcome, answers["second"].get_json()
    incidents = client.get("/api/v1/incidents", headers=first_officer).get_json()
    assert incidents["total"] == 1
    if outcome == 201:
        assert answers["second"].get_json()["incident_id"] == answer.get_json()["incident_id"]
        assert incidents["items"][0]["readiness_level"] == 2
    assert proposals(client, first_officer, "open")["total"] == 0


def test_a_station_name_with_a_nul_in_the_gauge_file_is_refused_naming_it(feeds, app_factory, client, viewer,
                                                                          officer, make_user):
    from watch.poll import poll

    app = app_factory(RIADO_METEOALARM_URL=None, RIADO_GAUGE_URL=feeds.url("/gauges"))
    files = [
        (json.dumps({"readings": [{"station": "Vigadó\u0000tér", "level_cm": 705, "time": at(0)}]}).encode(), "row 1, station"),
        (f"station,level_cm,time\nDuna,600,{at(0)}\nVigadó\x00tér,705,{at(1)}\n".encode(), "row 3, station"),
        (json.dumps({"readings": [{"station": "Vigadó \ud800", "level_cm": 705, "time": at(0)}]}).encode(), "row 1, station"),
    ]
    for number, (body, said) in enumerate(files):
        feeds.set("/gauges", Answer(body, content_type="text/csv"))
        with app.app_context():
            result = poll(now=START + STEP * (2 + number))["gauges"]
        assert result.startswith("error") and said in result and "cannot be stored" in result, result
    shown = client.get("/api/v1/watch", headers=viewer).get_json()
    assert shown["gauges"] == [] and shown["stale"] is True  # nothing half stored
    assert proposals(client, viewer)["total"] == 0
    from conftest import csrf_from

    user, browser = make_user("officer"), app.test_client()  # the app reading the gauge file
    browser.post("/login", data={"email": user["email"], "password": user["password"],
                                 "csrf_token": csrf_from(browser.get("/login").get_data(as_text=True))})
    page = browser.get("/watch")
    assert page.status_code == 200 and 'data-testid="feed-error"' in page.get_data(as_text=True)
    # Typed in (the station in the address), it is refused naming the field.
    answer = post_reading(client, officer, 705, at(0), station="Vigad%00t%C3%A9r")
    assert answer.status_code == 422 and "station" in answer.get_json()["errors"]["json"]
