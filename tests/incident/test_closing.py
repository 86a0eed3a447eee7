"""Closing an incident with resources still assigned (issue 13, item 2): closing asks what happens
to them; releasing them all (now, or at an earlier time the officer gives) is written to the log,
one entry per resource, and the after-action report shows them given back at that time; going
back leaves the incident open; closing with no choice is refused, on the page and in the API
(409 naming ``assignments`` and listing them); a bad time is refused naming ``released_at``, with
nothing written; a viewer cannot close."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from conftest import csrf_from
from factories import committed, create_incident, create_resource, move_incident
from test_incident_pages import dom

BUDAPEST = ZoneInfo("Europe/Budapest")  # RIADO_TIMEZONE's default: the form's times are wall-clock times there


def _assign_at(app, incident_id: int, resource_id: int, at: dt.datetime, quantity: int = 1) -> dict:
    """An assignment made at ``at`` (as if the officer had assigned it then)."""
    from incident.database import clock_at
    from incident.operations import incidents

    def make():
        with clock_at(at):
            return incidents.assign(incident_id, {"resource_id": resource_id, "quantity": quantity})

    return committed(app, make)


def _contained_with_pump(app, hours_ago: float = 2.0):
    """A contained incident with a pump (1 db) assigned ``hours_ago``: (incident, pump, assignment)."""
    incident = create_incident(app, title="Csőtörés az Október 6. utcában", kind="other", severity="moderate")
    pump = create_resource(app, name="Zagyszivattyú", kind="pump", quantity=1, unit="db")
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours_ago)
    assignment = _assign_at(app, incident["id"], pump["id"], since)
    move_incident(app, incident["id"], "active", "contained")
    return incident, pump, assignment


def _state(client, headers, incident_id) -> dict:
    """What a user would check: the status, the log's texts, the assignments as they stand."""
    incident = client.get(f"/api/v1/incidents/{incident_id}", headers=headers).get_json()
    log = client.get(f"/api/v1/incidents/{incident_id}/log?limit=500", headers=headers).get_json()["items"]
    assignments = client.get(f"/api/v1/incidents/{incident_id}/assignments", headers=headers).get_json()["items"]
    return {"status": incident["status"], "closed_at": incident["closed_at"], "log": log, "assignments": assignments}


def _available(client, headers, resource_id) -> int:
    return client.get(f"/api/v1/resources/{resource_id}", headers=headers).get_json()["available_quantity"]


def _local(moment: dt.datetime) -> str:
    """A time as a datetime-local field sends it (Budapest wall clock, to the minute)."""
    return moment.astimezone(BUDAPEST).strftime("%Y-%m-%dT%H:%M")


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# The page


def test_closing_asks_and_releasing_all_is_logged_and_reported_at_the_given_time(app, client, officer, make_user, login):
    incident, pump, assignment = _contained_with_pump(app)
    login(make_user("officer"))
    path = f"/incidents/{incident['id']}"

    # The incident page's "Close" leads to the question, not straight to a closed incident.
    control = dom(client.get(path).get_data(as_text=True)).one("to-closed")
    assert control.tag == "a" and control.attrs["href"] == f"{path}/close"

    page = client.get(f"{path}/close")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = dom(html).one("open-assignments").all("open-assignment")
    assert [row.one("resource-name").text() for row in rows] == ["Zagyszivattyú"]
    assert rows[0].one("quantity").text() == "1 db"
    assert rows[0].one("since").text() == assignment["assigned_at"].astimezone(BUDAPEST).strftime("%Y-%m-%d %H:%M")
    assert dom(html).one("go-back").attrs["href"] == path

    # Released an hour ago (the pump came back before the paperwork), then closed.
    back_then = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    entries_before = len(_state(client, officer, incident["id"])["log"])
    done = client.post(f"{path}/status", data={
        "csrf_token": csrf_from(html), "status": "closed", "from": "contained", "release_assignments": "yes",
        "shown": str(assignment["id"]), "released_at": _local(back_then)})
    assert done.status_code == 302, done.get_data(as_text=True)
    shown = client.get(path).get_data(as_text=True)
    assert "1 erőforrás visszaadva." in shown and "Az esemény állapota mostantól: lezárt." in shown

    state = _state(client, officer, incident["id"])
    assert state["status"] == "closed"
    expected = back_then.astimezone(BUDAPEST).replace(second=0, microsecond=0)
    [released] = state["assignments"]
    assert released["released_at"] is not None and _parse(released["released_at"]) == expected
    new = state["log"][entries_before:]
    assert [e["text"] for e in new] == [
        f"Visszaadva: 1 db – Zagyszivattyú. Visszaadás ideje: {expected.strftime('%Y-%m-%d %H:%M')}.",
        "Állapot: megfékezett → lezárt."]
    # The log's own time is when it was written, never earlier than the entry before it: the
    # release time the officer gave is in its words.
    assert _parse(new[0]["at"]) > expected and _parse(new[0]["at"]) >= _parse(state["log"][entries_before - 1]["at"])
    assert _available(client, officer, pump["id"]) == 1

    # The after-action report: given back at that time, not "still deployed".
    report = client.get(f"{path}/after-action").get_data(as_text=True)
    table = dom(report).one("aar-resources").text()
    assert "Zagyszivattyú" in table and expected.strftime("%Y-%m-%d %H:%M") in table
    assert "még kirendelve" not in table


def test_going_back_or_giving_no_choice_leaves_the_incident_open(app, client, officer, make_user, login):
    incident, pump, assignment = _contained_with_pump(app)
    login(make_user("officer"))
    path = f"/incidents/{incident['id']}"
    before = _state(client, officer, incident["id"])

    # Go back: the incident is still contained, the pump still deployed, nothing was written.
    back = dom(client.get(f"{path}/close").get_data(as_text=True)).one("go-back").attrs["href"]
    page = dom(client.get(back).get_data(as_text=True))
    assert {pill.attrs["data-status"] for pill in page.all("status")} == {"contained"}
    assert [row.attrs["data-resource"] for row in page.one("active-assignments").all("assignment")] == [str(pump["id"])]

    # A close posted with no choice (a page loaded before the pump was assigned) is refused with
    # the question and a message naming the pump.
    refused = client.post(f"{path}/status", data={"csrf_token": csrf_from(client.get(path).get_data(as_text=True)),
                                                  "status": "closed", "from": "contained"})
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    message = dom(html).one("closing-error").text()
    assert "Zagyszivattyú" in message and "1 db" in message
    assert dom(html).has("open-assignments") and dom(html).has("go-back")
    assert _state(client, officer, incident["id"]) == before
    assert _available(client, officer, pump["id"]) == 0

    # A resource assigned after the question was shown is not released unseen.
    question = client.get(f"{path}/close").get_data(as_text=True)
    client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "active"}, headers=officer)
    cones = create_resource(app, name="Forgalomterelő kúp", kind="other", quantity=40, unit="db")
    _assign_at(app, incident["id"], cones["id"], dt.datetime.now(dt.timezone.utc), quantity=10)
    client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "contained"}, headers=officer)
    before = _state(client, officer, incident["id"])
    stale = client.post(f"{path}/status", data={"csrf_token": csrf_from(question), "status": "closed",
                                                "from": "contained", "release_assignments": "yes",
                                                "shown": str(assignment["id"])})
    assert stale.status_code == 409
    assert [r.one("resource-name").text() for r in dom(stale.get_data(as_text=True)).all("open-assignment")] == [
        "Zagyszivattyú", "Forgalomterelő kúp"]
    assert _state(client, officer, incident["id"]) == before


def test_a_bad_time_of_release_is_named_and_nothing_is_written(app, client, officer, make_user, login):
    incident, pump, assignment = _contained_with_pump(app, hours_ago=1)
    login(make_user("officer"))
    path = f"/incidents/{incident['id']}"
    before = _state(client, officer, incident["id"])
    now = dt.datetime.now(dt.timezone.utc)
    for typed, words in (
        (_local(now + dt.timedelta(hours=2)), "jövőbeli"),
        (_local(now - dt.timedelta(hours=3)), "Zagyszivattyú"),  # before the pump was assigned
        ("holnap reggel", "dátum"),
    ):
        html = client.get(f"{path}/close").get_data(as_text=True)
        answer = client.post(f"{path}/status", data={
            "csrf_token": csrf_from(html), "status": "closed", "from": "contained", "release_assignments": "yes",
            "shown": str(assignment["id"]), "released_at": typed})
        assert answer.status_code == 422, typed
        page = dom(answer.get_data(as_text=True))
        assert words in page.one("released-at-error").text(), (typed, page.one("released-at-error").text())
        assert page.one("released-at").attrs["value"] == typed  # what was typed stays, to be put right
        assert page.one("released-at").attrs["aria-invalid"] == "true"
        assert _state(client, officer, incident["id"]) == before
    assert _available(client, officer, pump["id"]) == 0

    # The API names the field the same way, and writes nothing either.
    url = f"/api/v1/incidents/{incident['id']}"
    for released_at in ((now - dt.timedelta(hours=3)).isoformat(), (now + dt.timedelta(hours=1)).isoformat(),
                        "2026-06-10T14:30", "tegnap"):
        answer = client.patch(url, json={"status": "closed", "release_assignments": True, "released_at": released_at},
                              headers=officer)
        assert answer.status_code == 422, (released_at, answer.get_json())
        assert list(answer.get_json()["errors"]["json"]) == ["released_at"], answer.get_json()
        assert _state(client, officer, incident["id"]) == before


# The API


def test_the_api_refuses_to_close_with_open_assignments_unless_told_to_release_them(app, client, officer):
    incident, pump, assignment = _contained_with_pump(app)
    school = create_resource(app, name="Iskola tornaterme", kind="shelter", quantity=1, unit="épület", capacity=90)
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=30)
    shelter = _assign_at(app, incident["id"], school["id"], since, quantity=40)
    url = f"/api/v1/incidents/{incident['id']}"
    before = _state(client, officer, incident["id"])

    for body in ({"status": "closed"}, {"status": "closed", "release_assignments": False}):
        refused = client.patch(url, json=body, headers=officer)
        assert refused.status_code == 409
        answer = refused.get_json()
        assert list(answer["errors"]["json"]) == ["assignments"]
        assert "Zagyszivattyú" in answer["message"] and "Iskola tornaterme" in answer["message"]
        listed = [{k: a[k] for k in ("id", "resource_id", "resource_name", "quantity", "unit")}
                  for a in answer["assignments"]]
        assert listed == [
            {"id": assignment["id"], "resource_id": pump["id"], "resource_name": "Zagyszivattyú", "quantity": 1,
             "unit": "db"},
            {"id": shelter["id"], "resource_id": school["id"], "resource_name": "Iskola tornaterme", "quantity": 40,
             "unit": "persons"},
        ]
        assert all(_parse(a["assigned_at"]) for a in answer["assignments"])
        assert _state(client, officer, incident["id"]) == before

    closed = client.patch(url, json={"status": "closed", "release_assignments": True}, headers=officer)
    assert closed.status_code == 200, closed.get_json()
    state = _state(client, officer, incident["id"])
    assert state["status"] == "closed"
    # Released now: at the moment of closing, by the officer.
    assert {a["released_at"] for a in state["assignments"]} == {state["closed_at"]}
    assert all(a["released_by"] for a in state["assignments"])
    new = [e["text"] for e in state["log"][len(before["log"]):]]
    assert new == ["Visszaadva: 1 db – Zagyszivattyú.", "Befogadás vége 40 fő részére: Iskola tornaterme.",
                   "Állapot: megfékezett → lezárt."]
    assert not any(re.search(r"\d{3,}|erőforrás: \d|kirendelés: \d", text) for text in new[:2])  # no ids
    assert _available(client, officer, pump["id"]) == 1 and _available(client, officer, school["id"]) == 90
    assert client.get(f"{url}/log/verify", headers=officer).get_json()["ok"] is True


def test_the_api_releases_at_an_earlier_time_and_an_incident_with_nothing_assigned_closes_as_before(app, client, officer):
    incident, pump, assignment = _contained_with_pump(app)
    url = f"/api/v1/incidents/{incident['id']}"
    earlier = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=45)).astimezone(BUDAPEST).replace(microsecond=0)
    closed = client.patch(url, json={"status": "closed", "release_assignments": True,
                                     "released_at": earlier.isoformat()}, headers=officer)
    assert closed.status_code == 200, closed.get_json()
    [released] = client.get(f"{url}/assignments", headers=officer).get_json()["items"]
    assert _parse(released["released_at"]) == earlier

    quiet = create_incident(app, title="Hamis riasztás")
    move_incident(app, quiet["id"], "active", "contained")
    assert client.patch(f"/api/v1/incidents/{quiet['id']}", json={"status": "closed"}, headers=officer).status_code == 200


def test_closing_words_without_closing_are_refused_not_dropped(app, client, officer):
    incident, _pump, _assignment = _contained_with_pump(app)
    url = f"/api/v1/incidents/{incident['id']}"
    for body in ({"release_assignments": True}, {"title": "Csőtörés", "released_at": "2026-11-30T10:00:00+01:00"}):
        refused = client.patch(url, json=body, headers=officer)
        assert refused.status_code == 422, refused.get_json()
        [field] = [key for key in ("release_assignments", "released_at") if key in body]
        assert "closing" in refused.get_json()["errors"]["json"][field][0]
    assert _state(client, officer, incident["id"])["status"] == "contained"


def test_a_release_typed_to_the_minute_of_the_assignment_is_taken(app, client, officer):
    """The page's time field is to the minute: the minute the pump was assigned in is not "before"
    it; it is given back no earlier than it was assigned."""
    incident, _pump, assignment = _contained_with_pump(app, hours_ago=0)
    assigned = assignment["assigned_at"]
    same_minute = assigned.astimezone(BUDAPEST).replace(second=0, microsecond=0)
    closed = client.patch(f"/api/v1/incidents/{incident['id']}", json={
        "status": "closed", "release_assignments": True, "released_at": same_minute.isoformat()}, headers=officer)
    assert closed.status_code == 200, closed.get_json()
    [released] = client.get(f"/api/v1/incidents/{incident['id']}/assignments", headers=officer).get_json()["items"]
    assert _parse(released["released_at"]) == assigned


# Roles


def test_a_viewer_cannot_close_or_release(app, client, officer, viewer, make_user, login):
    incident, pump, assignment = _contained_with_pump(app)
    path = f"/incidents/{incident['id']}"
    before = _state(client, officer, incident["id"])
    answer = client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "closed", "release_assignments": True},
                          headers=viewer)
    assert answer.status_code == 403
    login(make_user("viewer"))
    html = client.get(path).get_data(as_text=True)
    assert not dom(html).has("status-controls") and not dom(html).has("to-closed")
    assert client.get(f"{path}/close").status_code == 403
    posted = client.post(f"{path}/status", data={"csrf_token": csrf_from(html), "status": "closed", "from": "contained",
                                                 "release_assignments": "yes", "shown": str(assignment["id"])})
    assert posted.status_code == 403
    assert _state(client, officer, incident["id"]) == before
