"""An incident's affected area, for any shape: every valid Polygon or MultiPolygon is accepted and
comes back as it was sent, and every ring that crosses itself is refused naming ``area``, with
nothing stored (through the API, on both databases, and in the validation itself)."""

from __future__ import annotations

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from shapely.geometry import mapping, shape
from sqlalchemy import func, select

from area_strategies import point_inside, self_intersecting_rings, valid_areas

THROUGH_THE_API = settings(max_examples=40, deadline=None, derandomize=True,
                           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PURE = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def as_json(geom) -> dict:
    """GeoJSON as a client sends it: lists, not tuples."""
    import json

    return json.loads(json.dumps(mapping(geom)))


def incident_count(app) -> int:
    from incident.extensions import db
    from incident.models import Incident

    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Incident)).scalar_one()


@THROUGH_THE_API
@given(area=valid_areas)
def test_any_valid_area_is_accepted_and_comes_back_unchanged(client, officer, area):
    body = {"title": "Árvíz", "kind": "flood", "severity": "severe", "location": point_inside(area),
            "area": as_json(area)}
    response = client.post("/api/v1/incidents", json=body, headers=officer)
    assert response.status_code == 201, response.get_json()
    again = client.get(f"/api/v1/incidents/{response.get_json()['id']}", headers=officer).get_json()
    stored = shape(again["area"])
    assert again["area"] == response.get_json()["area"]
    assert stored.geom_type == area.geom_type
    # Every ring, every vertex in its order, within a nanodegree (a tenth of a millimetre): the
    # SpatiaLite path can lose the last bit of a double.
    assert stored.equals_exact(area, 1e-9)
    assert shapely.get_num_coordinates(stored) == shapely.get_num_coordinates(area)


@THROUGH_THE_API
@given(ring=self_intersecting_rings())
def test_a_ring_that_crosses_itself_is_refused_naming_area_and_nothing_is_stored(app, client, officer, ring):
    before = incident_count(app)
    area = {"type": "Polygon", "coordinates": [ring]}
    location = {"type": "Point", "coordinates": ring[0]}
    response = client.post("/api/v1/incidents", json={"title": "Árvíz", "kind": "flood", "severity": "severe",
                                                      "location": location, "area": area}, headers=officer)
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert list(errors) == ["area"] and "Self-intersection" in errors["area"][0]
    assert incident_count(app) == before


@THROUGH_THE_API
@given(ring=self_intersecting_rings())
def test_an_edit_with_a_crossing_ring_keeps_the_area_that_was_there(client, officer, ring):
    square = {"type": "Polygon", "coordinates": [[[19.04, 47.49], [19.06, 47.49], [19.06, 47.51], [19.04, 47.51],
                                                  [19.04, 47.49]]]}
    created = client.post("/api/v1/incidents", json={"title": "Vihar", "kind": "storm", "severity": "moderate",
                                                     "location": {"type": "Point", "coordinates": [19.05, 47.5]},
                                                     "area": square}, headers=officer).get_json()
    multi = {"type": "MultiPolygon", "coordinates": [square["coordinates"], [ring]]}
    response = client.patch(f"/api/v1/incidents/{created['id']}", json={"area": multi, "version": created["version"]},
                            headers=officer)
    assert response.status_code == 422 and list(response.get_json()["errors"]["json"]) == ["area"]
    after = client.get(f"/api/v1/incidents/{created['id']}", headers=officer).get_json()
    assert after["area"] == square and after["version"] == created["version"]


# The validation alone, for many more shapes than the API tests can afford.


@PURE
@given(area=valid_areas)
def test_the_validation_accepts_every_valid_area_as_it_is(app, area):
    from incident.geo import area_from_geojson

    with app.test_request_context():
        assert area_from_geojson(as_json(area)).equals_exact(area, 0.0)


@PURE
@given(ring=self_intersecting_rings())
def test_the_validation_refuses_every_crossing_ring_naming_area(app, ring):
    from incident.errors import FieldError
    from incident.geo import area_from_geojson

    with app.test_request_context(), pytest.raises(FieldError) as refused:
        area_from_geojson({"type": "Polygon", "coordinates": [ring]})
    assert refused.value.field == "area" and "Self-intersection" in str(refused.value.message)
