"""The demo district is realistic enough to rehearse with: call-out lists and a register placed
inside Budapest V. kerület."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import func, select

# Budapest's district boundaries from OpenStreetMap (ODbL), vendored with their notice (tests/data/README.md).
DISTRICTS = Path(__file__).resolve().parent / "data" / "budapest_districts.geojson"


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
            ("flood", "closed", False), ("storm", "closed", False), ("gas_leak", "active", True)]
        flood = incidents[0]
        assert flood.created_at.year < incidents[2].created_at.year or flood.created_at < incidents[2].created_at
        decisions = db.session.execute(
            select(LogEntry.text).where(LogEntry.incident_id == flood.id, LogEntry.kind == "decision")
        ).scalars().all()
        assert any("II. fokú" in d for d in decisions)
        for incident in incidents:
            assert verify_log(incident).ok
            assert incident.log_count >= 8
        # The past is in the past: entries carry their own times, in order.
        times = db.session.execute(select(LogEntry.at).where(LogEntry.incident_id == flood.id).order_by(LogEntry.seq)).scalars().all()
        assert times == sorted(times) and times[-1] - times[0] > __import__("datetime").timedelta(days=3)
