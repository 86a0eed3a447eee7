"""CAP 1.2 export: valid against the OASIS schema, drills as Exercise, the area as a CAP polygon."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import mapping

from alerts.cap import CapAlert, CapIncident, build_cap, cap_polygons, xml_text
from area_strategies import valid_areas

# The OASIS schema and the specification's examples, vendored with their notice (tests/data/README.md).
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "data" / "cap" / "CAP-v1.2.xsd"
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema(str(SCHEMA_PATH))


def test_the_schema_accepts_the_oasis_examples(schema):
    examples = sorted(SCHEMA_PATH.parent.glob("oasis_example*.xml"))
    assert len(examples) == 4, examples  # a glob that finds nothing must not pass
    for example in examples:
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


# Any incident and any alert: titles, texts and names as people type or paste them (control
# characters from word processors included; lone surrogates cannot be stored), areas of any valid
# shape. The document is always valid CAP, and says what was written.

any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)


def as_parsed(text: str) -> str:
    """What an XML parser reads back: line ends normalised, and what XML 1.0 cannot carry as the
    builder writes it instead."""
    return xml_text(text).replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    title=any_text.filter(str.strip), body=any_text.filter(str.strip), sender_name=any_text.filter(str.strip),
    area_description=any_text.filter(str.strip), area=valid_areas, drill=st.booleans(),
    severity=st.sampled_from(["extreme", "severe", "moderate", "minor", "unknown"]),
    status=st.sampled_from(["reported", "active", "contained", "closed"]),
    kind=st.sampled_from(["flood", "storm", "fire", "hazmat", "other", "gas_leak", "epidemic"]),
)
def test_any_alert_on_any_incident_builds_valid_cap_that_says_what_was_written(
    schema, title, body, sender_name, area_description, area, drill, severity, status, kind
):
    area_json = json.loads(json.dumps(mapping(area)))
    incident = CapIncident("2026-0001", title, kind, "árvíz", severity, status, area_json)
    alert = CapAlert("riado-example-alert-1", "riado@example.hu", sender_name,
                     dt.datetime(2026, 11, 26, 3, 0, tzinfo=dt.timezone.utc), drill, body, "hu-HU", area_description,
                     incident)
    xml = build_cap(alert).decode()
    schema.validate(xml)
    info = schema.to_dict(xml)["info"][0]
    assert info["description"] == as_parsed(body)
    assert info["headline"] == as_parsed(title[:160])
    assert info["senderName"] == as_parsed(sender_name)
    assert info["area"][0]["areaDesc"] == as_parsed(area_description)
    # One CAP polygon per outer ring (CAP has no holes), lat,lon pairs, closed, to six decimals.
    shells = [p.exterior for p in getattr(area, "geoms", [area])]
    polygons = info["area"][0]["polygon"]
    assert len(polygons) == len(shells)
    for text, shell in zip(polygons, shells):
        pairs = [tuple(float(v) for v in point.split(",")) for point in text.split(" ")]
        assert len(pairs) == len(shell.coords) >= 4 and pairs[0] == pairs[-1]
        for (lat, lon), (x, y) in zip(pairs, shell.coords):
            assert abs(lat - y) <= 5e-7 and abs(lon - x) <= 5e-7


def test_cap_of_an_alert_pasted_from_a_word_processor_is_valid(client, api, schema):
    headers, _ = api("officer")
    group = client.post("/api/v1/groups", json={"name": "Iskolák"}, headers=headers).get_json()["id"]
    client.post("/api/v1/contacts", json={"name": "Igazgató", "phone": "+36205550121", "groups": [group]}, headers=headers)
    body = "Rendkívüli szünet\x0bholnap is\x0cKöszönjük\x07"  # Word's line and page breaks, a stray bell
    alert = client.post("/api/v1/alerts", json={"body": body, "groups": [group]}, headers=headers).get_json()
    xml = client.get(f"/api/v1/alerts/{alert['id']}/cap", headers=headers).data.decode()
    schema.validate(xml)
    assert schema.to_dict(xml)["info"][0]["description"] == "Rendkívüli szünet\nholnap is\nKöszönjük\ufffd"
