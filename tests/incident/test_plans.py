"""Readiness plans and checklists (SPEC §7): plans written and shared through the API, applied to
an incident as tasks with due times from that moment, ticked, skipped and reopened with each
change in the incident's hash-chained log; overdue at the boundary; the readiness level."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from factories import create_incident

T0 = dt.datetime(2026, 6, 10, 5, 30, tzinfo=dt.timezone.utc)

FLOOD_II = {
    "name": "Árvíz – II. fokú készültség", "hazard": "flood", "level": 2,
    "description": "Vigadó tér 700 cm felett.",
    "tasks": [
        {"title": "HVB összehívása", "details": "Telefonon és SMS-ben.", "responsible": "Titkárság", "due_minutes": 30},
        {"title": "Alsó rakpart lezárása", "responsible": "Közterület-felügyelet", "due_minutes": 60},
        {"title": "Lakossági tájékoztató", "responsible": "Sajtóreferens"},
    ],
}


def _plan(client, headers, **changes):
    response = client.post("/api/v1/plans", json={**FLOOD_II, **changes}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _log(client, headers, incident_id):
    return client.get(f"/api/v1/incidents/{incident_id}/log?limit=500", headers=headers).get_json()["items"]


def test_a_plan_is_written_read_listed_and_changed_to_a_new_revision(client, officer, viewer):
    plan = _plan(client, officer)
    assert plan["revision"] == 1 and plan["version"] == 1
    assert [(t["position"], t["title"], t["due_minutes"]) for t in plan["tasks"]] == [
        (1, "HVB összehívása", 30), (2, "Alsó rakpart lezárása", 60), (3, "Lakossági tájékoztató", None)]
    assert client.get(f"/api/v1/plans/{plan['id']}", headers=viewer).get_json()["name"] == FLOOD_II["name"]
    listed = client.get("/api/v1/plans?hazard=flood", headers=viewer).get_json()
    assert listed["total"] == 1 and client.get("/api/v1/plans?hazard=heat", headers=viewer).get_json()["total"] == 0
    # Reordered: the whole list in its new order makes a new revision.
    reordered = [plan["tasks"][1], plan["tasks"][0], plan["tasks"][2]]
    changed = client.patch(f"/api/v1/plans/{plan['id']}", json={"tasks": reordered, "version": 1}, headers=officer)
    assert changed.status_code == 200
    assert changed.get_json()["revision"] == 2
    assert [t["title"] for t in changed.get_json()["tasks"]][:2] == ["Alsó rakpart lezárása", "HVB összehívása"]
    # A stale edit is refused; the same content is no new revision.
    stale = client.patch(f"/api/v1/plans/{plan['id']}", json={"name": "Más", "version": 1}, headers=officer)
    assert stale.status_code == 409
    same = client.patch(f"/api/v1/plans/{plan['id']}", json={"tasks": reordered}, headers=officer)
    assert same.get_json()["revision"] == 2


def test_viewers_read_plans_and_checklists_but_change_nothing(client, officer, viewer, app):
    plan = _plan(client, officer)
    incident = create_incident(app)
    assert client.post("/api/v1/plans", json=FLOOD_II, headers=viewer).status_code == 403
    assert client.patch(f"/api/v1/plans/{plan['id']}", json={"name": "x"}, headers=viewer).status_code == 403
    assert client.delete(f"/api/v1/plans/{plan['id']}", headers=viewer).status_code == 403
    assert client.post(f"/api/v1/incidents/{incident['id']}/plans", json={"plan_id": plan["id"]},
                       headers=viewer).status_code == 403
    tasks = client.post(f"/api/v1/incidents/{incident['id']}/plans", json={"plan_id": plan["id"]},
                        headers=officer).get_json()["tasks"]
    assert client.patch(f"/api/v1/incident-tasks/{tasks[0]['id']}", json={"status": "done"},
                        headers=viewer).status_code == 403
    assert client.get(f"/api/v1/incidents/{incident['id']}/tasks", headers=viewer).get_json()["total"] == 3
    assert client.get("/api/v1/plans").status_code == 401


@pytest.mark.parametrize(("body", "field"), [
    ({"hazard": "flood", "tasks": []}, "name"),
    ({"name": "X", "hazard": "tsunami"}, "hazard"),
    ({"name": "X", "hazard": "flood", "level": 4}, "level"),
    ({"name": "X", "hazard": "flood", "tasks": [{"title": "A"}, {"title": ""}]}, "tasks.2.title"),
    ({"name": "X", "hazard": "flood", "tasks": [{"title": "A", "due_minutes": -5}]}, "tasks.1.due_minutes"),
    ({"name": "X", "hazard": "flood", "tasks": [{"title": "A", "due_minutes": "soon"}]}, "tasks.1.due_minutes"),
])
def test_a_bad_plan_is_refused_naming_the_field(client, officer, body, field):
    response = client.post("/api/v1/plans", json=body, headers=officer)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]["json"]
    assert client.get("/api/v1/plans", headers=officer).get_json()["total"] == 0


def test_applying_a_plan_copies_its_tasks_due_from_that_moment(app, client, officer):
    from incident.extensions import db
    from incident.operations import plans as ops

    plan = _plan(client, officer)
    incident = create_incident(app)
    with app.test_request_context():
        tasks = ops.apply_plan(incident["id"], plan["id"], now=T0)
        db.session.commit()
        copied = [(t.title, t.status, t.due_at) for t in tasks]
    assert copied == [
        ("HVB összehívása", "open", T0 + dt.timedelta(minutes=30)),
        ("Alsó rakpart lezárása", "open", T0 + dt.timedelta(minutes=60)),
        ("Lakossági tájékoztató", "open", None)]
    # Through the API: 201 with the tasks, each due its minutes after the moment of applying.
    other = create_incident(app, title="Második")
    before = dt.datetime.now(dt.timezone.utc)
    response = client.post(f"/api/v1/incidents/{other['id']}/plans", json={"plan_id": plan["id"]}, headers=officer)
    after = dt.datetime.now(dt.timezone.utc)
    assert response.status_code == 201
    body = response.get_json()
    assert body["plan_revision"] == 1 and len(body["tasks"]) == 3
    first = body["tasks"][0]
    assert set(first) >= {"id", "title", "status", "due_at", "done_at", "done_by"}
    assert first["status"] == "open" and first["done_at"] is None and first["done_by"] is None
    applied = dt.datetime.fromisoformat(body["applied_at"])
    assert before - dt.timedelta(seconds=1) <= applied <= after
    assert dt.datetime.fromisoformat(first["due_at"]) == applied + dt.timedelta(minutes=30)
    assert body["tasks"][2]["due_at"] is None
    # The log says so; applying it twice is refused.
    assert FLOOD_II["name"] in _log(client, officer, other["id"])[-1]["text"]
    again = client.post(f"/api/v1/incidents/{other['id']}/plans", json={"plan_id": plan["id"]}, headers=officer)
    assert again.status_code == 409
    missing = client.post(f"/api/v1/incidents/{other['id']}/plans", json={"plan_id": 999999}, headers=officer)
    assert missing.status_code == 422 and "plan_id" in missing.get_json()["errors"]["json"]


def test_done_skipped_and_reopened_are_each_logged_and_the_chain_holds(app, client, officer):
    plan = _plan(client, officer)
    incident = create_incident(app)
    tasks = client.post(f"/api/v1/incidents/{incident['id']}/plans", json={"plan_id": plan["id"]},
                        headers=officer).get_json()["tasks"]
    entries = len(_log(client, officer, incident["id"]))
    url = f"/api/v1/incident-tasks/{tasks[0]['id']}"
    done = client.patch(url, json={"status": "done"}, headers=officer)
    assert done.status_code == 200
    assert done.get_json()["status"] == "done" and done.get_json()["done_at"] and done.get_json()["done_by"]
    no_reason = client.patch(f"/api/v1/incident-tasks/{tasks[1]['id']}", json={"status": "skipped"}, headers=officer)
    assert no_reason.status_code == 422 and "note" in no_reason.get_json()["errors"]["json"]
    skipped = client.patch(f"/api/v1/incident-tasks/{tasks[1]['id']}",
                           json={"status": "skipped", "note": "A rakpart már lezárva (BKK)."}, headers=officer)
    assert skipped.status_code == 200 and skipped.get_json()["note"] == "A rakpart már lezárva (BKK)."
    reopened = client.patch(url, json={"status": "open"}, headers=officer)
    assert reopened.get_json()["status"] == "open" and reopened.get_json()["done_at"] is None
    log = _log(client, officer, incident["id"])
    new = log[entries:]
    assert len(new) == 3 and all(e["kind"] == "system" for e in new)
    assert "HVB összehívása" in new[0]["text"] and "HVB összehívása" in new[2]["text"]
    assert "A rakpart már lezárva (BKK)." in new[1]["text"]
    assert {e["author"] for e in new} == {done.get_json()["done_by"]}  # the person, not "system"
    verify = client.get(f"/api/v1/incidents/{incident['id']}/log/verify", headers=officer).get_json()
    assert verify == {"ok": True, "entries": len(log), "first_bad_seq": None}
    with app.app_context():
        from incident.extensions import db
        from incident.models import Incident
        from incident.operations.incidents import verify_log

        assert verify_log(db.session.get(Incident, incident["id"])).ok
    # The same status again changes nothing and writes nothing; a stale version is refused.
    assert client.patch(f"/api/v1/incident-tasks/{tasks[1]['id']}", json={"status": "skipped", "note": "x"},
                        headers=officer).status_code == 200
    assert len(_log(client, officer, incident["id"])) == len(log)
    stale = client.patch(url, json={"status": "done", "version": 1}, headers=officer)
    assert stale.status_code == 409


def test_editing_or_deleting_the_plan_leaves_the_incidents_tasks_alone(app, client, officer):
    plan = _plan(client, officer)
    incident = create_incident(app)
    client.post(f"/api/v1/incidents/{incident['id']}/plans", json={"plan_id": plan["id"]}, headers=officer)
    before = client.get(f"/api/v1/incidents/{incident['id']}/tasks", headers=officer).get_json()["items"]
    client.patch(f"/api/v1/plans/{plan['id']}", json={
        "name": "Árvíz II. (átdolgozott)", "tasks": [{"title": "Új feladat", "due_minutes": 5}]}, headers=officer)
    after_edit = client.get(f"/api/v1/incidents/{incident['id']}/tasks", headers=officer).get_json()["items"]
    assert after_edit == before
    assert before[0]["plan_name"] == FLOOD_II["name"] and before[0]["plan_revision"] == 1
    assert client.delete(f"/api/v1/plans/{plan['id']}", headers=officer).status_code == 204
    after_delete = client.get(f"/api/v1/incidents/{incident['id']}/tasks", headers=officer).get_json()["items"]
    # The same tasks, named after the plan and its revision; only the deleted plan's id is gone
    # (a new plan may get it).
    assert after_delete == [{**task, "plan_id": None} for task in before]


def test_overdue_at_the_boundary_with_a_controlled_clock(app, client, officer):
    from incident.extensions import db
    from incident.models import IncidentTask
    from incident.operations import plans as ops

    plan = _plan(client, officer)
    incident = create_incident(app)
    drill = create_incident(app, title="Gyakorlat", drill=True)
    with app.test_request_context():
        ops.apply_plan(incident["id"], plan["id"], now=T0)
        ops.apply_plan(drill["id"], plan["id"], now=T0)
        db.session.commit()
        due = T0 + dt.timedelta(minutes=30)
        first = db.session.execute(db.select(IncidentTask).where(IncidentTask.incident_id == incident["id"],
                                                                 IncidentTask.position == 1)).scalar_one()
        assert not first.overdue(due) and first.overdue(due + dt.timedelta(microseconds=1))
        assert ops.overdue_count(due, drill=False) == 0
        assert ops.overdue_count(due + dt.timedelta(seconds=1), drill=False) == 1
        assert ops.overdue_count(due + dt.timedelta(seconds=1), drill=True) == 1
        assert ops.overdue_count(T0 + dt.timedelta(minutes=61)) == 4  # two a plan, the third has no deadline
        listed = ops.overdue_tasks(T0 + dt.timedelta(minutes=61), drill=False)
        assert [(t.title, i.id) for t, i in listed] == [("HVB összehívása", incident["id"]),
                                                        ("Alsó rakpart lezárása", incident["id"])]
        # Done is never overdue, and a late one shows its delay in the checklist.
        ops.change_task(first.id, {"status": "done"}, now=due + dt.timedelta(minutes=12))
        db.session.commit()
        checklist = ops.checklist(incident["id"], now=T0 + dt.timedelta(minutes=61))
        assert (checklist.planned, checklist.done, checklist.open, checklist.overdue, checklist.done_late) == (3, 1, 2, 1, 1)
        assert checklist.delay(checklist.tasks[0]) == 12 * 60


def test_an_exported_plan_imports_back_the_same(client, officer):
    plan = _plan(client, officer, description="Első sor\nMásodik sor; =nem képlet")
    heat = _plan(client, officer, name="Hőségriadó 1.", hazard="heat", level=1,
                 tasks=[{"title": "-Hűtött helyiség nyitása", "responsible": "Intézményüzemeltetés", "due_minutes": 120}])

    def content(p):
        return {k: p[k] for k in ("name", "hazard", "level", "description")} | {
            "tasks": [{k: t[k] for k in ("title", "details", "responsible", "due_minutes")} for t in p["tasks"]]}

    for fmt in ("json", "csv"):
        exported = client.get(f"/api/v1/plans/export.{fmt}", headers=officer)
        assert exported.status_code == 200
        for p in (plan, heat):
            client.delete(f"/api/v1/plans/{p['id']}", headers=officer)
        imported = client.post("/api/v1/plans/import", headers=officer, data={
            "file": (io.BytesIO(exported.data), f"plans.{fmt}")}, content_type="multipart/form-data")
        assert imported.status_code == 200, imported.get_json()
        assert imported.get_json()["errors"] == [] and imported.get_json()["created"] == 2
        items = client.get("/api/v1/plans", headers=officer).get_json()["items"]
        assert sorted(map(content, items), key=lambda p: p["name"]) == sorted(map(content, (plan, heat)),
                                                                              key=lambda p: p["name"])
        plan, heat = sorted(items, key=lambda p: p["name"] != FLOOD_II["name"])
    one = client.get(f"/api/v1/plans/{plan['id']}/export.json", headers=officer)
    assert json.loads(one.data)["plans"][0]["name"] == FLOOD_II["name"]


def test_a_bad_plan_file_is_refused_naming_the_row_and_field_and_imports_nothing(client, officer):
    # Problems found in different passes (a row's cells while the file is read, a plan's fields
    # when it is checked) come back in the file's order, each with its CSV row, the column as the
    # file names it and the field as the plan's form calls it.
    bad_csv = ("plan;hazard;level;plan_description;position;title;details;responsible;due_minutes\r\n"
               "Hőségriadó 2.;heat;2;;1;Hűtött helyiségek;;Intézmények;60\r\n"
               "Hőségriadó 2.;heat;2;;2;Idősotthonok hívása;;Szociális iroda;soon\r\n"
               "Vihar;tornado;;;1;Fák ellenőrzése;;Kertészet;30\r\n"
               "Hőségriadó 2.;heat;3;;harmadik;;;Sajtó;-5\r\n").encode("utf-8")
    response = client.post("/api/v1/plans/import", headers=officer, data={
        "file": (io.BytesIO(bad_csv), "plans.csv")}, content_type="multipart/form-data")
    assert response.status_code == 200
    errors = response.get_json()["errors"]
    assert [(e["row"], e["field"], e["label"]) for e in errors] == [
        (3, "due_minutes", "Due (minutes)"),
        (4, "hazard", "Hazard"),
        (5, "level", "Readiness level"),  # differs from the plan's first row
        (5, "position", "Order"),
        (5, "title", "Task"),
        (5, "due_minutes", "Due (minutes)"),
    ]
    assert all(e["message"] for e in errors)
    assert response.get_json()["created"] == 0
    assert client.get("/api/v1/plans", headers=officer).get_json()["total"] == 0
    bad_json = json.dumps({"plans": [FLOOD_II, {"name": "Vihar", "hazard": "storm", "tasks": [{"details": "x"}]}]})
    response = client.post("/api/v1/plans/import", headers=officer, data={
        "file": (io.BytesIO(bad_json.encode()), "plans.json")}, content_type="multipart/form-data")
    assert [(e["row"], e["field"], e["label"]) for e in response.get_json()["errors"]] == [
        (2, "tasks.1.title", "Task 1: Task")]
    assert client.get("/api/v1/plans", headers=officer).get_json()["total"] == 0
    broken = client.post("/api/v1/plans/import", headers=officer, data={
        "file": (io.BytesIO(b"{not json"), "plans.json")}, content_type="multipart/form-data")
    assert broken.get_json()["errors"][0]["field"] == "file"
    twice = client.post("/api/v1/plans/import", headers=officer, data={
        "file": (io.BytesIO("plan;hazard;title;title\r\nVihar;storm;Fák;Tetők\r\n".encode()), "plans.csv")},
        content_type="multipart/form-data").get_json()
    assert [(e["row"], e["field"]) for e in twice["errors"]] == [(1, "title")] and "twice" in twice["errors"][0]["message"]
    assert client.get("/api/v1/plans", headers=officer).get_json()["total"] == 0


def test_the_readiness_level_is_changed_and_logged(app, client, officer, viewer):
    incident = create_incident(app)
    url = f"/api/v1/incidents/{incident['id']}"
    assert client.get(url, headers=viewer).get_json()["readiness_level"] == 0
    changed = client.patch(url, json={"readiness_level": 2}, headers=officer)
    assert changed.status_code == 200 and changed.get_json()["readiness_level"] == 2
    assert client.patch(url, json={"readiness_level": 4}, headers=officer).status_code == 422
    assert client.patch(url, json={"readiness_level": 1}, headers=viewer).status_code == 403
    log = _log(client, officer, incident["id"])
    assert log[-1]["kind"] == "system" and "II" in log[-1]["text"] and log[-1]["author"] != "system"
    assert client.get(f"{url}/log/verify", headers=officer).get_json()["ok"]


class SecondOfficerWaits:
    """Two officers' requests on the same task, made to overlap for certain: the first is held
    inside its transaction, right after it took the incident's lock and read the task, until the
    second reaches the point where the database must make it wait for the first: on PostgreSQL
    the incident's row lock (having read the task, still as it was, on its way there), on SQLite
    the start of its write transaction (its connection taken, the BEGIN IMMEDIATE next). Then the
    first goes on and commits."""

    def __init__(self, app, monkeypatch, backend):
        import threading

        from sqlalchemy import event

        from incident.extensions import db
        from incident.operations import plans as ops

        self.holding, self.waiting = threading.Event(), threading.Event()
        self.first = None
        self.armed = False  # only while ``run`` sends the two requests
        self.stuck = []  # a wait that never ended (the test fails on it, never hangs)
        real_lock = ops.lock_incident

        def lock_incident(incident_id):
            me = threading.get_ident()
            if not self.armed:
                return real_lock(incident_id)
            if self.first is not None and self.first != me:
                self.waiting.set()  # the second, about to wait for the first's row lock
                return real_lock(incident_id)
            incident = real_lock(incident_id)
            if self.first is None:
                self.first = me
                self.holding.set()
                if not self.waiting.wait(60):
                    self.stuck.append("the second request never came to wait")
            return incident

        monkeypatch.setattr(ops, "lock_incident", lock_incident)
        if backend == "sqlite":
            with app.app_context():
                engine = db.engine

            def checkout(*_args):
                if self.armed and self.first is not None and self.first != threading.get_ident():
                    self.waiting.set()  # its connection's BEGIN IMMEDIATE, next, waits for the first's commit

            event.listen(engine, "checkout", checkout)
            self.unlisten = lambda: event.remove(engine, "checkout", checkout)
        else:
            self.unlisten = lambda: None

    def run(self, first, second):
        """Send ``first`` (a function making one request), hold it, send ``second``: their answers."""
        import threading

        self.first = None
        self.holding.clear()
        self.waiting.clear()
        self.armed = True
        answers = {}
        a = threading.Thread(target=lambda: answers.update(first=first()))
        a.start()
        if not self.holding.wait(60):
            self.stuck.append("the first request never took the lock")
        b = threading.Thread(target=lambda: answers.update(second=second()))
        b.start()
        a.join(60)
        b.join(60)
        self.armed = False
        assert self.stuck == [] and not a.is_alive() and not b.is_alive()
        return answers["first"], answers["second"]


@pytest.fixture
def second_officer_waits(app, monkeypatch, backend):
    interleave = SecondOfficerWaits(app, monkeypatch, backend)
    yield interleave
    interleave.unlisten()


def test_two_officers_ticking_the_same_task_at_once_make_one_change(app, live_server, make_user, token_for,
                                                                    second_officer_waits):
    """Real concurrent requests on their own connections, the second reading the task while the
    first holds it: the same tick twice is one change and one log entry; a different change made
    from the same version of the page is refused with the conflict the officer is shown, and the
    first officer's change stays (no lost update)."""
    from conftest import http_json

    officers = [{"Authorization": f"Bearer {token_for(make_user('officer'))}"} for _ in range(2)]
    client = app.test_client()
    plan = _plan(client, officers[0])
    incident = create_incident(app)
    tasks = client.post(f"/api/v1/incidents/{incident['id']}/plans", json={"plan_id": plan["id"]},
                        headers=officers[0]).get_json()["tasks"]
    entries = len(_log(client, officers[0], incident["id"]))

    def patch(task, body, headers):
        return lambda: http_json("PATCH", f"{live_server}/api/v1/incident-tasks/{task['id']}", body, headers)

    # Both tick the same task done.
    first, second = second_officer_waits.run(patch(tasks[0], {"status": "done"}, officers[0]),
                                             patch(tasks[0], {"status": "done"}, officers[1]))
    assert (first[0], second[0]) == (200, 200)
    assert first[1]["done_by"] == second[1]["done_by"]  # both see the one change: the first officer's
    log = _log(client, officers[0], incident["id"])
    assert len(log) == entries + 1 and "HVB összehívása" in log[-1]["text"]

    # From the same page (version 1): one marks it done, the other skips it.
    version = tasks[1]["version"]
    first, second = second_officer_waits.run(
        patch(tasks[1], {"status": "done", "version": version}, officers[0]),
        patch(tasks[1], {"status": "skipped", "note": "Már lezárták.", "version": version}, officers[1]))
    assert first[0] == 200 and second[0] == 409
    assert "meanwhile" in json.dumps(second[1])
    now = client.get(f"/api/v1/incident-tasks/{tasks[1]['id']}", headers=officers[0]).get_json()
    assert now["status"] == "done" and now["note"] == "" and now["done_by"] == first[1]["done_by"]
    log = _log(client, officers[0], incident["id"])
    assert len(log) == entries + 2 and "Már lezárták." not in log[-1]["text"]
    assert client.get(f"/api/v1/incidents/{incident['id']}/log/verify", headers=officers[0]).get_json()["ok"]


def test_review_edges_names_ids_hazards_and_closed_incidents(app, client, officer):
    """A name taken whatever the case of its accented capital is a 409 (never a 500), on both
    backends alike; a plan deleted after use frees its id without a new plan reading as applied
    already; a plan for another hazard is refused naming plan_id; a closed incident's readiness
    level stays as it was closed; a task already in the state asked is no conflict."""
    first = _plan(client, officer, name="Ónos eső – I. fok", hazard="snow_ice", level=1)
    for name in ("Ónos eső – I. fok", "ónos eső – i. fok", "ÓNOS ESŐ – I. FOK"):
        taken = client.post("/api/v1/plans", json={**FLOOD_II, "name": name}, headers=officer)
        assert taken.status_code == 409 and "name" in json.dumps(taken.get_json()), name

    incident = create_incident(app)
    flood = _plan(client, officer)
    assert client.post(f"/api/v1/incidents/{incident['id']}/plans", json={"plan_id": first["id"]},
                       headers=officer).status_code == 422  # snow and ice, not a flood
    applied = client.post(f"/api/v1/incidents/{incident['id']}/plans", json={"plan_id": flood["id"]}, headers=officer)
    assert applied.status_code == 201
    assert client.delete(f"/api/v1/plans/{flood['id']}", headers=officer).status_code in (200, 204)
    again = _plan(client, officer, name="Árvíz – II. fok, új")
    assert client.post(f"/api/v1/incidents/{incident['id']}/plans", json={"plan_id": again["id"]},
                       headers=officer).status_code == 201  # whatever id it got
    tasks = client.get(f"/api/v1/incidents/{incident['id']}/tasks", headers=officer).get_json()["items"]
    assert len(tasks) == 2 * len(FLOOD_II["tasks"])

    task = tasks[0]
    assert client.patch(f"/api/v1/incident-tasks/{task['id']}", json={"status": "done"}, headers=officer).status_code == 200
    stale = client.patch(f"/api/v1/incident-tasks/{task['id']}", json={"status": "done", "version": task["version"]},
                         headers=officer)
    assert stale.status_code == 200 and stale.get_json()["status"] == "done"  # done meanwhile: no conflict

    for status in ("active", "contained", "closed"):
        moved = client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": status}, headers=officer)
        assert moved.status_code == 200, moved.get_json()
    raised = client.patch(f"/api/v1/incidents/{incident['id']}", json={"readiness_level": 3}, headers=officer)
    assert raised.status_code == 409
    assert client.get(f"/api/v1/incidents/{incident['id']}", headers=officer).get_json()["readiness_level"] == 0
