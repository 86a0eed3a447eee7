"""CAP 1.2 export: valid against the OASIS schema, drills as Exercise, the area as a CAP polygon."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.cap import CapAlert, CapIncident, build_cap, cap_polygons

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = next(
    (p for p in (ROOT.parent / "shared" / "cap" / "CAP-v1.2.xsd", Path("/work/shared/cap/CAP-v1.2.xsd")) if p.exists()),
    ROOT.parent / "shared" / "cap" / "CAP-v1.2.xsd",
)
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema(str(SCHEMA_PATH))


def test_the_schema_accepts_the_oasis_examples(schema):
    for example in sorted(SCHEMA_PATH.parent.glob("oasis_example*.xml")):
        schema.validate(str(example))


def test_cap_of_a_drill_alert_on_an_incident(client, api, schema):
    headers, _ = api("officer")
    area = {"type": "Polygon", "coordinates": [[[19.047, 47.493], [19.050, 47.493], [19.050, 47.499], [19.047, 47.493]]]}
    incident = client.post("/api/v1/incidents", json={"title": "GYAKORLAT: árvíz", "kind": "flood", "severity": "severe",
                                                      "drill": True, "area": area,
                                                      "location": {"type": "Point", "coordinates": [19.049, 47.496]}},
                           headers=headers).get_json()
    client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "active"}, headers=headers)
    group = client.post("/api/v1/groups", json={"name": "HVB"}, headers=headers).get_json()["id"]
    client.post("/api/v1/contacts", json={"name": "Tag", "phone": "+36205550101", "groups": [group]}, headers=headers)
    alert = client.post("/api/v1/alerts", json={"body": "Kiürítés <azonnal> & most", "groups": [group],
                                                "incident_id": incident["id"]}, headers=headers).get_json()
    response = client.get(f"/api/v1/alerts/{alert['id']}/cap", headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/cap+xml"
    schema.validate(response.data.decode())
    doc = schema.to_dict(response.data.decode())
    assert doc["status"] == "Exercise"
    assert doc["incidents"] == incident["number"]
    sent = dt.datetime.fromisoformat(doc["sent"])
    assert sent.utcoffset() in (dt.timedelta(hours=1), dt.timedelta(hours=2))
    info = doc["info"][0]
    assert (info["category"], info["urgency"], info["severity"], info["certainty"]) == (["Met"], "Immediate", "Severe", "Observed")
    assert info["description"] == "GYAKORLAT! Kiürítés <azonnal> & most"
    assert info["area"][0]["polygon"] == ["47.493000,19.047000 47.493000,19.050000 47.499000,19.050000 47.493000,19.047000"]


def test_cap_of_a_plain_alert_is_actual(client, api, schema):
    headers, _ = api("officer")
    group = client.post("/api/v1/groups", json={"name": "Sajtó"}, headers=headers).get_json()["id"]
    client.post("/api/v1/contacts", json={"name": "Újságíró", "phone": "+36205550111", "groups": [group]}, headers=headers)
    alert = client.post("/api/v1/alerts", json={"body": "Tájékoztatás", "groups": [group]}, headers=headers).get_json()
    xml = client.get(f"/api/v1/alerts/{alert['id']}/cap", headers=headers).data.decode()
    schema.validate(xml)
    assert schema.to_dict(xml)["status"] == "Actual"


coordinate = st.tuples(st.floats(-179.9, 179.9, allow_nan=False), st.floats(-89.9, 89.9, allow_nan=False))


@settings(max_examples=150, deadline=None)
@given(
    body=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=400),
    drill=st.booleans(),
    ring=st.lists(coordinate, min_size=3, max_size=12),
    severity=st.sampled_from(["extreme", "severe", "moderate", "minor", "unknown"]),
    status=st.sampled_from(["reported", "active", "contained", "closed"]),
    kind=st.sampled_from(["flood", "storm", "fire", "hazmat", "other", "gas_leak"]),
)
def test_any_alert_builds_valid_cap(schema, body, drill, ring, severity, status, kind):
    ring = [list(p) for p in ring] + [list(ring[0])]
    incident = CapIncident("2026-0001", "Esemény <x>", kind, "árvíz", severity, status, {"type": "Polygon", "coordinates": [ring]})
    alert = CapAlert("riado-example-alert-1", "riado@example.hu", "Önkormányzat & Co",
                     dt.datetime(2026, 11, 26, 3, 0, tzinfo=dt.timezone.utc), drill, body, "hu-HU", "Belváros", incident)
    xml = build_cap(alert)
    schema.validate(xml.decode())
    assert schema.to_dict(xml.decode())["status"] == ("Exercise" if drill else "Actual")
    polygon = cap_polygons(incident.area)[0].split(" ")
    assert polygon[0] == polygon[-1] and len(polygon) == len(ring)
