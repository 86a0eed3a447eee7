"""The register of forces and equipment through the API, and nearest-first search in metres."""

from __future__ import annotations

import math
import random

import pytest
from geographiclib.geodesic import Geodesic

from incident.geo import EARTH_RADIUS_M

VIGADO_TER = (19.0493, 47.4957)  # lon, lat


def point(lon, lat):
    return {"type": "Point", "coordinates": [lon, lat]}


def add(client, headers, **fields):
    body = {"name": "Szivattyú", "kind": "pump", "quantity": 1, "status": "available", "location": point(*VIGADO_TER)}
    body.update(fields)
    response = client.post("/api/v1/resources", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_kinds_are_seeded_and_admins_add_more(client, api):
    admin = api("admin")[0]
    codes = [k["code"] for k in client.get("/api/v1/resource-kinds", headers=admin).get_json()["items"]]
    for code in ("vehicle", "boat", "pump", "generator", "sandbags", "shelter", "heavy_machinery", "medical",
                 "food_water", "communications", "lighting", "other"):
        assert code in codes
    new = client.post("/api/v1/resource-kinds", json={"code": "drone", "label_hu": "Drón", "label_en": "Drone"}, headers=admin)
    assert new.status_code == 201
    bad = client.post("/api/v1/resource-kinds", json={"code": "Drón!", "label_hu": "x", "label_en": "x"}, headers=admin)
    assert bad.status_code == 422 and "code" in bad.get_json()["errors"]["json"]


@pytest.mark.parametrize("field, value", [
    ("code", "drone"),
    ("label_hu", "Dro\u0301n"), ("label_hu", "D\u200brón"), ("label_hu", "\u202enórD"), ("label_hu", "DRÓN"),
    ("label_en", "Dr\u200bone"), ("label_en", "\u202eenorD"), ("label_en", "drone"),
    ("label_en", "Véhicle".replace("é", "e").upper()),  # a seeded kind's label: "Vehicle"
])
def test_a_kind_that_only_looks_different_is_a_conflict_naming_the_field(client, api, field, value):
    admin = api("admin")[0]
    assert client.post("/api/v1/resource-kinds", json={"code": "drone", "label_hu": "Drón", "label_en": "Drone"},
                       headers=admin).status_code == 201
    body = {"code": "drone2", "label_hu": "Drón 2", "label_en": "Drone 2", field: value}
    response = client.post("/api/v1/resource-kinds", json=body, headers=admin)
    assert response.status_code == 409 and field in response.get_json()["errors"]["json"], response.get_json()
    codes = [k["code"] for k in client.get("/api/v1/resource-kinds", headers=admin).get_json()["items"]]
    assert "drone2" not in codes


def test_resource_with_available_quantity(client, officer):
    r = add(client, officer, name="Homokzsák-depó, Belgrád rakpart", kind="sandbags", quantity=5000, unit="zsák")
    assert r["available_quantity"] == 5000
    fixed = client.patch(f"/api/v1/resources/{r['id']}", json={"status": "maintenance"}, headers=officer).get_json()
    assert fixed["available_quantity"] == 0


def test_resource_validation_names_fields(app, client, officer):
    response = client.post(
        "/api/v1/resources",
        json={"name": "", "kind": "spaceship", "quantity": -1, "status": "lost", "location": point(200, 47)},
        headers=officer,
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert {"quantity", "status"} <= set(errors)  # schema-level types and ranges first
    response = client.post(
        "/api/v1/resources", json={"name": "", "kind": "spaceship", "location": point(200, 47)}, headers=officer
    )
    assert set(response.get_json()["errors"]["json"]) == {"name", "kind", "location"}
    missing = client.post("/api/v1/resources", json={"name": "X", "kind": "pump"}, headers=officer)
    assert "location" in missing.get_json()["errors"]["json"]
    shelter = client.post("/api/v1/resources", json={"name": "Tornaterem", "kind": "shelter", "location": point(*VIGADO_TER)}, headers=officer)
    assert "capacity" in shelter.get_json()["errors"]["json"]
    assert client.get("/api/v1/resources", headers=officer).get_json()["total"] == 0


def test_filters_by_kind_status_and_text(client, officer):
    add(client, officer, name="Áramfejlesztő 1", kind="generator")
    add(client, officer, name="Áramfejlesztő 2", kind="generator", status="maintenance")
    add(client, officer, name="Zagyszivattyú", kind="pump")

    def names(**q):
        return [r["name"] for r in client.get("/api/v1/resources", query_string=q, headers=officer).get_json()["items"]]

    assert names(kind="generator") == ["Áramfejlesztő 1", "Áramfejlesztő 2"]
    assert names(kind="generator", status="available") == ["Áramfejlesztő 1"]
    assert names(q="aramfejleszto 2") == ["Áramfejlesztő 2"]


def reference_distance(lon1, lat1, lon2, lat2) -> float:
    return Geodesic.WGS84.Inverse(lat1, lon1, lat2, lon2)["s12"]


def haversine(lon1, lat1, lon2, lat2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def _bulk_resources(app, points, kinds=("pump",)):
    from incident.extensions import db
    from incident.operations.resources import create_resource

    with app.app_context():
        for i, (lon, lat) in enumerate(points):
            create_resource({"name": f"R{i}", "kind": kinds[i % len(kinds)], "location": point(lon, lat)})
        db.session.commit()


def test_nearest_matches_the_geodesic_reference_in_order(app, client, officer):
    rng = random.Random(7)
    pts = [(19.04 + rng.random() * 0.03, 47.48 + rng.random() * 0.04) for _ in range(300)]
    pts += [(21.6273, 47.5316), (20.1414, 46.2530), (16.3738, 48.2082), (-0.1276, 51.5072), (151.2, -33.87)]
    _bulk_resources(app, pts)
    for ref in (VIGADO_TER, (19.0457, 47.5066), (19.2, 47.3), (0.0, 0.0)):
        got = client.get(
            "/api/v1/resources", query_string={"lat": ref[1], "lon": ref[0], "limit": 8}, headers=officer
        ).get_json()["items"]
        expected = sorted(pts, key=lambda p: reference_distance(ref[0], ref[1], *p))[:8]
        got_points = [tuple(r["location"]["coordinates"]) for r in got]
        assert [pytest.approx(p, abs=1e-9) for p in expected] == got_points, ref
        for r in got:
            lon, lat = r["location"]["coordinates"]
            exact = reference_distance(ref[0], ref[1], lon, lat)
            assert r["distance_m"] == pytest.approx(exact, rel=0.005, abs=0.5)
            assert r["distance_m"] == pytest.approx(haversine(ref[0], ref[1], lon, lat), rel=0.005, abs=0.5)
        distances = [r["distance_m"] for r in got]
        assert distances == sorted(distances)


def test_nearest_within_m_and_kind(app, client, officer):
    rng = random.Random(11)
    pts = [(19.03 + rng.random() * 0.05, 47.47 + rng.random() * 0.05) for _ in range(200)]
    _bulk_resources(app, pts, kinds=("pump", "generator"))
    ref = VIGADO_TER
    got = client.get(
        "/api/v1/resources",
        query_string={"lat": ref[1], "lon": ref[0], "within_m": 800, "kind": "generator", "limit": 500},
        headers=officer,
    ).get_json()["items"]
    expected = [p for i, p in enumerate(pts) if i % 2 == 1 and reference_distance(ref[0], ref[1], *p) <= 800]
    assert len(got) == len(expected) > 3
    assert all(r["kind"] == "generator" and r["distance_m"] <= 800 for r in got)
    assert [r["distance_m"] for r in got] == sorted(r["distance_m"] for r in got)


def test_nearest_with_fewer_matches_than_asked(app, client, officer):
    _bulk_resources(app, [(19.05, 47.50), (19.06, 47.49)])
    got = client.get("/api/v1/resources", query_string={"lat": 47.5, "lon": 19.05, "limit": 5}, headers=officer).get_json()
    assert len(got["items"]) == 2 and got["total"] == 2
    assert got["items"][0]["distance_m"] == pytest.approx(0, abs=0.01)


def test_nearest_arguments_are_checked(client, officer):
    assert client.get("/api/v1/resources", query_string={"lat": 47.5}, headers=officer).status_code == 422
    assert client.get("/api/v1/resources", query_string={"lat": 95, "lon": 19}, headers=officer).status_code == 422
    assert client.get("/api/v1/resources", query_string={"within_m": 100}, headers=officer).status_code == 422


def test_nearest_uses_the_spatial_index(app, backend):
    """The plan reads the R*Tree (SpatiaLite) or the GiST index on geography (PostGIS)."""
    from sqlalchemy import event, text

    from incident.extensions import db
    from incident.geo import nearest
    from incident.models import Resource

    _bulk_resources(app, [(19.04 + i * 1e-4, 47.49 + i * 1e-4) for i in range(50)])
    statements = []
    with app.app_context():
        def capture(conn, cursor, statement, parameters, context, executemany):
            if "resources" in statement:
                statements.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            assert len(nearest(Resource, 19.05, 47.5, 5)) == 5
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        plans = []
        conn = db.session.connection()
        if backend == "postgis":
            conn.execute(text("SET LOCAL enable_seqscan = off"))  # 50 rows: force the planner's hand
        for statement, parameters in statements:
            prefix = "EXPLAIN " if backend == "postgis" else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(prefix + statement, parameters).all()
            plans.append(" ".join(str(r[-1]) for r in rows))
        db.session.rollback()
    if backend == "postgis":
        assert any("ix_resources_location_geog" in p for p in plans), plans
    else:
        assert all("idx_resources_location" in p for p in plans), plans
