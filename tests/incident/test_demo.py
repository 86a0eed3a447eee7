"""The demo district is realistic enough to rehearse with: call-out lists and a register placed
inside Budapest V. kerület."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import func, select

# Budapest's district boundaries from OpenStreetMap (ODbL), vendored with their notice (tests/data/README.md).
DISTRICTS = Path(__file__).resolve().parents[1] / "data" / "budapest_districts.geojson"


@pytest.fixture
def demo(app):
    from incident.audit import set_actor
    from incident.demo import load_demo

    with app.app_context():
        set_actor(None, "demo")
        load_demo()
        load_demo()  # idempotent
    return app


def test_demo_contacts_groups_and_resources(demo):
    from incident.extensions import db
    from incident.models import AlertGroup, Contact, Resource
    from incident.operations.resources import kind_summary

    with demo.app_context():
        contacts = db.session.execute(select(Contact)).scalars().all()
        groups = db.session.execute(select(AlertGroup)).scalars().all()
        assert len(contacts) >= 40
        assert len({c.name for c in contacts}) == len(contacts)
        assert all(c.phone.startswith("+36") for c in contacts)
        # Fictional: every phone in the +36 xx 555 xxxx block, every e-mail at an .example domain.
        assert all(re.fullmatch(r"\+36(1|\d\d)555\d{4}", c.phone) for c in contacts)
        assert all(c.email.endswith(".example") for c in contacts if c.email)
        assert {"Helyi Védelmi Bizottság", "Polgármesteri Titkárság"} <= {g.name for g in groups}
        assert all(len(g.members) >= 2 for g in groups)
        assert sum(not c.reachable_by_sms for c in contacts) >= 1  # someone has opted out
        summary = {row["kind"]: row for row in kind_summary()}
        assert sum(row["count"] for row in summary.values()) >= 60
        assert summary["shelter"]["count"] >= 5
        shelters = db.session.execute(select(Resource).where(Resource.kind == "shelter")).scalars().all()
        assert all(s.capacity and s.capacity > 0 for s in shelters)
        assert db.session.execute(select(func.count()).select_from(Resource)).scalar_one() == sum(
            row["count"] for row in summary.values()
        )


def test_demo_places_are_inside_the_fifth_district(demo):
    from incident.extensions import db
    from incident.geo import lonlat
    from incident.models import Contact, Resource

    features = json.loads(DISTRICTS.read_text())["features"]
    district = shape(next(f for f in features if f["properties"]["kerulet"] == 5)["geometry"])
    with demo.app_context():
        points = [lonlat(r.location) for r in db.session.execute(select(Resource)).scalars()]
        points += [lonlat(c.location) for c in db.session.execute(select(Contact)).scalars() if c.location is not None]
    outside = [p for p in points if not district.contains(Point(p))]
    assert len(points) >= 80 and outside == []


def test_demo_incidents_with_verifiable_logs(demo):
    from incident.extensions import db
    from incident.models import Incident, LogEntry
    from incident.operations.incidents import verify_log

    with demo.app_context():
        incidents = db.session.execute(select(Incident).order_by(Incident.created_at)).scalars().all()
        assert [(i.kind, i.status, i.drill) for i in incidents] == [
            ("flood", "closed", False), ("storm", "closed", False), ("gas_leak", "active", True),
            ("flood", "active", True)]
        assert incidents[3].readiness_level == 1
        flood = incidents[0]
        assert flood.created_at.year < incidents[2].created_at.year or flood.created_at < incidents[2].created_at
        decisions = db.session.execute(
            select(LogEntry.text).where(LogEntry.incident_id == flood.id, LogEntry.kind == "decision")
        ).scalars().all()
        assert any("II. fokú" in d for d in decisions)
        for incident in incidents:
            assert verify_log(incident).ok
            assert incident.log_count >= (5 if incident.drill and incident.kind == "flood" else 8)
        # The past is in the past: entries carry their own times, in order.
        times = db.session.execute(select(LogEntry.at).where(LogEntry.incident_id == flood.id).order_by(LogEntry.seq)).scalars().all()
        assert times == sorted(times) and times[-1] - times[0] > __import__("datetime").timedelta(days=3)


def _every_row(app) -> dict[str, list]:
    """Every row of every table, in a comparable form (geometries as their bytes)."""
    from incident.extensions import db

    def plain(value):
        return str(value.data) if hasattr(value, "data") else value

    with app.app_context():
        return {table.name: sorted((tuple(map(plain, row)) for row in db.session.execute(select(table))), key=repr)
                for table in db.metadata.sorted_tables}


def test_loading_the_demo_again_changes_no_row_and_says_so(app):
    from incident.audit import set_actor
    from incident.demo import load_demo

    with app.app_context():
        set_actor(None, "demo")
        first = load_demo()
    before = _every_row(app)
    with app.app_context():
        set_actor(None, "demo")
        second = load_demo()
    assert _every_row(app) == before
    assert first.added["contacts"] >= 40 and first.added["resources"] >= 60 and first.added["alerts"] == 1
    assert set(second.added.values()) == {0}
    assert second.login == first.login


def test_the_demo_files_are_csv_in_the_export_format():
    import csv
    from importlib.resources import files

    from incident.operations.csvio import CONTACT_COLUMNS, RESOURCE_COLUMNS

    data = files("incident.demo")
    for name, columns in (("contacts.csv", CONTACT_COLUMNS), ("resources.csv", RESOURCE_COLUMNS),
                          ("groups.csv", ("name", "description"))):
        rows = list(csv.reader(io.StringIO((data / name).read_text(encoding="utf-8-sig"), newline="")))
        assert tuple(rows[0]) == columns, name
        assert len(rows) > 5
    resources = list(csv.DictReader(io.StringIO((data / "resources.csv").read_text(encoding="utf-8-sig"), newline="")))
    assert all(row["id"] == "" and row["contact_id"] == "" for row in resources)  # ids differ per database
    assert sum(bool(row["contact"]) for row in resources) >= 50  # contact persons by name


@pytest.fixture
def viewer_page(as_viewer):
    """A viewer's signed-in client, its pages in English (``client.get("/lang/hu")`` for Hungarian)."""
    as_viewer.get("/lang/en")
    return as_viewer


def test_the_demo_has_a_past_alert_with_deliveries_and_acknowledgements(demo, viewer_page):
    from incident.extensions import db
    from incident.models import Incident

    with demo.app_context():
        flood = db.session.execute(select(Incident).where(Incident.kind == "flood", Incident.drill.is_(False))).scalar_one()
    alerts = viewer_page.get("/alerts").get_data(as_text=True)
    assert "A HVB ülése" in alerts and "6 / 8" in alerts  # a new user's alert list is not empty
    html = viewer_page.get(f"/incidents/{flood.id}/after-action").get_data(as_text=True)

    def cell(testid):
        return html.split(f'data-testid="{testid}">')[1].split("</td>")[0].strip()

    assert cell("aar-recipients") == "8"
    assert cell("aar-delivery-rate") == "7 (88%)"
    assert cell("aar-ack-rate") == "6 (75%)"
    assert cell("aar-never") == "Tóth Judit, Dr. Vass Károly"  # the Hungarian order: a title is not sorted on
    assert cell("aar-slowest-ack") == "16 min 45 s"
    assert "<svg" in html  # the acknowledgements over time
    page = viewer_page.get(f"/alerts/{_alert_id(demo, flood.id)}").get_data(as_text=True)
    assert "30003" in page and "opted out" in page


def _alert_id(app, incident_id):
    from alerts.models import Alert
    from incident.extensions import db

    with app.app_context():
        return db.session.execute(select(Alert.id).where(Alert.incident_id == incident_id)).scalar_one()


def test_the_demo_alert_keeps_the_incident_log_in_time_order(demo):
    """The alert, its acknowledgements and the officer's notes are one story, told in order."""
    from incident.extensions import db
    from incident.models import Incident, LogEntry
    from incident.operations.incidents import verify_log

    with demo.app_context():
        flood = db.session.execute(select(Incident).where(Incident.kind == "flood", Incident.drill.is_(False))).scalar_one()
        entries = db.session.execute(select(LogEntry).where(LogEntry.incident_id == flood.id).order_by(LogEntry.seq)).scalars().all()
        assert verify_log(flood).ok
        assert [e.at for e in entries] == sorted(e.at for e in entries)
        assert sum("acknowledged SMS alert" in e.text or "visszaigazolta" in e.text for e in entries) == 6


def test_after_action_durations_are_in_the_page_language(demo, viewer_page):
    """The report says "4 nap 0 óra 20 perc" as the incident page does, not "96 h 20 min"."""
    from incident.extensions import db
    from incident.models import Incident

    with demo.app_context():
        flood = db.session.execute(select(Incident).where(Incident.kind == "flood", Incident.drill.is_(False))).scalar_one()
    viewer_page.get("/lang/hu")
    html = viewer_page.get(f"/incidents/{flood.id}/after-action").get_data(as_text=True)
    assert "4 nap 0 óra 20 perc" in html  # the sandbags, 10 June 09:50 to 14 June 10:10
    assert " h " not in html and " min<" not in html


def test_the_past_alert_is_dated_in_the_past_and_audited_at_the_real_time(demo):
    """The demo's alert happened in 2025 (``clock_at``); the audit trail says when it was really
    written."""
    import datetime as dt

    from alerts.models import Alert, OutboxMessage
    from incident.extensions import db
    from incident.models import AuditEntry

    with demo.app_context():
        alert = db.session.execute(select(Alert)).scalar_one()
        assert alert.created_at.year == 2025 and alert.completed_at - alert.created_at < dt.timedelta(minutes=1)
        assert {m.created_at.year for m in db.session.execute(select(OutboxMessage)).scalars()} == {2025}
        audited = db.session.execute(select(AuditEntry.at).where(AuditEntry.entity == "alerts")).scalars().all()
        assert audited and all(dt.datetime.now(dt.timezone.utc) - at < dt.timedelta(hours=1) for at in audited)


def test_clock_at_is_seen_by_its_own_context_only():
    import datetime as dt
    import threading

    from incident.database import clock_at, utcnow

    past = dt.datetime(2025, 6, 10, 5, 35, tzinfo=dt.timezone.utc)
    seen = {}
    with clock_at(past):
        seen["here"] = utcnow()
        thread = threading.Thread(target=lambda: seen.update(other=utcnow()))
        thread.start()
        thread.join()
    assert seen["here"] == past and seen["other"].year > 2025 and utcnow().year > 2025


def test_demo_plans_for_flood_heat_and_storm(demo):
    from incident.extensions import db
    from incident.models import Plan
    from incident.operations.plans import plans_for

    with demo.app_context():
        plans = db.session.execute(select(Plan)).scalars().all()
        assert {(p.hazard, p.level) for p in plans} >= {("flood", 1), ("flood", 2), ("flood", 3), ("heat", 1),
                                                        ("heat", 2), ("heat", 3), ("storm", 1)}
        flood = {p.level: p for p in plans if p.hazard == "flood"}
        assert "620" in flood[1].description and "645" in flood[1].description
        assert "700" in flood[2].description and "800" in flood[3].description
        heat = {p.level: p for p in plans if p.hazard == "heat"}
        assert any("Hűtött" in t.title for t in heat[2].tasks) and any("Idősotthon" in t.title for t in heat[2].tasks)
        assert all(p.tasks and p.revision == 1 for p in plans)
        assert [p.name for p in plans_for("flood", 2)] == ["Dunai árvíz – II. fokú készültség"]


def test_a_new_user_sees_the_flood_drills_overdue_tasks_after_loading_the_demo(demo, client, make_user, login):
    """Nothing but ``riado demo load`` (``load_demo``, twice): the flood drill's level-I plan was
    applied when the level was declared, in the drill's first minutes, so the tasks due 15 and 30
    minutes later are overdue for anyone signing in now: on the dashboard and the drill's page."""
    import datetime as dt

    from conftest import csrf_from
    from incident.extensions import db
    from incident.models import Incident, IncidentTask

    with demo.app_context():
        drill = db.session.execute(select(Incident).where(Incident.kind == "flood", Incident.drill.is_(True))).scalar_one()
        tasks = db.session.execute(select(IncidentTask).where(IncidentTask.incident_id == drill.id)).scalars().all()
        assert {t.plan_name for t in tasks} == {"Dunai árvíz – I. fokú készültség"} and len(tasks) == 5
        assert all(drill.created_at < t.applied_at <= drill.created_at + dt.timedelta(minutes=10) for t in tasks)
        drill_id = drill.id
    for role in ("officer", "viewer"):
        login(make_user(role))
        dashboard = client.get("/").get_data(as_text=True)
        overdue = dashboard.split('data-testid="overdue-tasks"')[1].split("</ul>")[0]
        assert overdue.count('data-testid="overdue-task"') == 2, role
        assert "Vízállás-előrejelzés figyelése" in overdue and "Helyi Védelmi Bizottság tagjainak értesítése" in overdue
        assert "Homokzsák" not in overdue  # due two hours after: not yet
        page = client.get(f"/incidents/{drill_id}").get_data(as_text=True)
        assert page.count('data-overdue="true"') == 2 and "Dunai árvíz – I. fokú készültség" in page
        client.post("/logout", data={"csrf_token": csrf_from(page)})
