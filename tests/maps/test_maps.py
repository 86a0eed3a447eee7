"""The map wing: GeoJSON layers (RFC 7946, filters, roles), the folium pages (local assets, the
CSP nonce, nothing of the records written into them), the wall's counts, and saving an area."""

from __future__ import annotations

import ast
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from shapely.geometry import Point, shape

from factories import EMBANKMENT, PAYLOADS, create_incident, create_resource, move_incident

DISTRICT_FILE = Path(__file__).resolve().parents[2] / "incident" / "demo" / "district_v.geojson"
VIGADO = {"type": "Point", "coordinates": [19.04931234567, 47.49571234567]}
PARLIAMENT = {"type": "Point", "coordinates": [19.0457, 47.5071]}
BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[19.0470, 47.4930], [19.0500, 47.4990], [19.0500, 47.4930], [19.0470, 47.4990], [19.0470, 47.4930]]],
}
GEOJSON_PATHS = ("/api/v1/map/incidents.geojson", "/api/v1/map/incident-areas.geojson",
                 "/api/v1/map/resources.geojson", "/api/v1/map/boundary.geojson")


def district():
    data = json.loads(DISTRICT_FILE.read_text(encoding="utf-8"))
    return shape(data["features"][0]["geometry"])


def incident(client, **fields):
    return create_incident(client, **{"title": "Dunai árvíz", "location": VIGADO, **fields})


def resource(client, **fields):
    return create_resource(client, **{"location": PARLIAMENT, **fields})


def layer(client, path, headers, **params):
    response = client.get(path, query_string=params, headers=headers)
    assert response.status_code == 200, (path, response.get_data(as_text=True))
    assert response.mimetype == "application/geo+json"
    assert response.headers["Cache-Control"] == "no-store"
    return json.loads(response.get_data(as_text=True))


def assert_rfc7946(collection):
    """The FeatureCollection shape of RFC 7946: no crs, longitude first, six decimals at most."""
    assert collection["type"] == "FeatureCollection" and isinstance(collection["features"], list)
    assert "crs" not in collection
    for feature in collection["features"]:
        assert feature["type"] == "Feature" and "crs" not in feature
        assert isinstance(feature["properties"], dict)
        geometry = feature["geometry"]
        assert "crs" not in geometry
        for lon, lat in _positions(geometry):
            assert 18 < lon < 20 and 47 < lat < 48, (lon, lat)  # Budapest: longitude first
            assert round(lon, 6) == lon and round(lat, 6) == lat


def _positions(geometry):
    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            yield coords
        else:
            for part in coords:
                yield from walk(part)

    yield from walk(geometry["coordinates"])


def ids(collection):
    return sorted(f["properties"]["id"] for f in collection["features"])


# GeoJSON layers


def test_incident_layer_is_rfc7946_inside_the_district_and_skips_closed(client, viewer):
    flood = incident(client, area=EMBANKMENT)
    drill = incident(client, title="Gyakorlat: gázszivárgás", kind="gas_leak", severity="moderate",
                     drill=True, location=PARLIAMENT)
    closed = incident(client, title="Lezárt vihar", kind="storm", severity="minor")
    move_incident(client, closed["id"], "active", "contained", "closed")

    collection = layer(client, "/api/v1/map/incidents.geojson", viewer)
    assert_rfc7946(collection)
    assert ids(collection) == [flood["id"], drill["id"]]  # not closed, by default
    outline = district()
    by_id = {f["properties"]["id"]: f for f in collection["features"]}
    for feature in collection["features"]:
        assert feature["geometry"]["type"] == "Point"
        assert outline.contains(Point(feature["geometry"]["coordinates"]))
    first = by_id[flood["id"]]
    assert first["geometry"]["coordinates"] == [19.049312, 47.495712]  # rounded to six decimals
    assert first["properties"] == {
        "id": flood["id"], "number": flood["number"], "title": "Dunai árvíz", "name": "Dunai árvíz",
        "kind": "flood", "kind_label": "flood", "severity": "severe", "severity_label": "severe",
        "status": "reported", "status_label": "reported", "drill": False, "has_area": True,
        "url": f"/incidents/{flood['id']}",
    }
    assert by_id[drill["id"]]["properties"]["drill"] is True
    hungarian = layer(client, "/api/v1/map/incidents.geojson", viewer, lang="hu")
    words = {f["properties"]["id"]: f["properties"] for f in hungarian["features"]}[flood["id"]]
    assert (words["kind_label"], words["severity_label"], words["status_label"]) == ("árvíz", "súlyos", "bejelentett")


def test_incident_layer_filters(client, viewer):
    flood = incident(client)
    storm = incident(client, title="Vihar", kind="storm", severity="moderate", drill=True)
    closed = incident(client, title="Régi tűz", kind="fire")
    move_incident(client, closed["id"], "active", "contained", "closed")
    move_incident(client, flood["id"], "active")
    path = "/api/v1/map/incidents.geojson"
    assert ids(layer(client, path, viewer, status="closed")) == [closed["id"]]
    assert ids(layer(client, path, viewer, status="all")) == [flood["id"], storm["id"], closed["id"]]
    assert ids(layer(client, path, viewer, status="active")) == [flood["id"]]
    assert ids(layer(client, path, viewer, drill="true")) == [storm["id"]]
    assert ids(layer(client, path, viewer, drill="false")) == [flood["id"]]
    assert ids(layer(client, path, viewer, kind="storm")) == [storm["id"]]
    bad = client.get(path, query_string={"status": "burning"}, headers=viewer)
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]["query"]


def test_areas_are_a_layer_of_their_own(client, viewer):
    with_area = incident(client, area=EMBANKMENT)
    incident(client, title="Pont csak")
    two = {"type": "MultiPolygon", "coordinates": [
        EMBANKMENT["coordinates"],
        [[[19.0520, 47.5000], [19.0540, 47.5000], [19.0540, 47.5020], [19.0520, 47.5000]]],
    ]}
    multi = incident(client, title="Két terület", area=two, drill=True)
    collection = layer(client, "/api/v1/map/incident-areas.geojson", viewer)
    assert_rfc7946(collection)
    assert ids(collection) == [with_area["id"], multi["id"]]
    by_id = {f["properties"]["id"]: f for f in collection["features"]}
    polygon = by_id[with_area["id"]]
    assert polygon["geometry"]["type"] == "Polygon"
    assert shape(polygon["geometry"]).equals(shape(EMBANKMENT))
    assert polygon["properties"]["point"] == [19.049312, 47.495712]
    assert polygon["properties"]["number"] == with_area["number"]
    assert by_id[multi["id"]]["geometry"]["type"] == "MultiPolygon"
    assert ids(layer(client, "/api/v1/map/incident-areas.geojson", viewer, drill="false")) == [with_area["id"]]


def test_resource_layer_with_free_capacity_filters_and_bbox(client, officer, viewer):
    depot = resource(client)
    shelter = resource(client, name="Szent István Gimnázium tornaterme", kind="shelter", quantity=1,
                       capacity=120, unit="fő", location={"type": "Point", "coordinates": [19.0530, 47.5000]})
    pump = resource(client, name="Zagyva-szivattyú", kind="pump", quantity=2, unit="db", status="maintenance",
                    location={"type": "Point", "coordinates": [19.0600, 47.5120]})
    flood = incident(client)
    assigned = client.post(f"/api/v1/incidents/{flood['id']}/assignments",
                           json={"resource_id": shelter["id"], "quantity": 45}, headers=officer)
    assert assigned.status_code == 201, assigned.get_json()

    collection = layer(client, "/api/v1/map/resources.geojson", viewer)
    assert_rfc7946(collection)
    assert ids(collection) == [depot["id"], shelter["id"], pump["id"]]
    props = {f["properties"]["id"]: f["properties"] for f in collection["features"]}
    assert props[shelter["id"]] == {
        "id": shelter["id"], "name": "Szent István Gimnázium tornaterme", "kind": "shelter", "kind_label": "Shelter",
        "status": "available", "status_label": "available", "quantity": 1, "unit": "fő",
        "available_quantity": 75, "capacity": 120, "free_capacity": 75, "url": f"/resources/{shelter['id']}",
        "assigned_to": [{"number": flood["number"], "title": flood["title"], "quantity": 45, "drill": False,
                         "url": f"/incidents/{flood['id']}"}],
    }
    assert "assigned_to" not in props[depot["id"]]
    assert props[depot["id"]]["available_quantity"] == 500 and "free_capacity" not in props[depot["id"]]
    assert props[pump["id"]]["available_quantity"] == 0  # in maintenance
    assert all("phone" not in p and "contact" not in p for p in props.values())
    hungarian = layer(client, "/api/v1/map/resources.geojson", viewer, lang="hu")
    assert {f["properties"]["kind_label"] for f in hungarian["features"]} == {"Homokzsák", "Befogadóhely", "Szivattyú"}

    path = "/api/v1/map/resources.geojson"
    assert ids(layer(client, path, viewer, kind="shelter")) == [shelter["id"]]
    assert ids(layer(client, path, viewer, status="maintenance")) == [pump["id"]]
    assert ids(layer(client, path, viewer, q="gimnazium")) == [shelter["id"]]  # accents ignored
    # A box around the Parliament and the gymnasium, not the pump in the north-east.
    assert ids(layer(client, path, viewer, bbox="19.04,47.49,19.055,47.508")) == [depot["id"], shelter["id"]]
    assert ids(layer(client, path, viewer, bbox="19.0599,47.5119,19.0601,47.5121")) == [pump["id"]]
    assert ids(layer(client, path, viewer, bbox="18.0,46.0,18.1,46.1")) == []
    for bad in ("19.04,47.49,19.055", "a,b,c,d", "19.06,47.49,19.04,47.5", "19,91,20,92", "nan,1,2,3"):
        response = client.get(path, query_string={"bbox": bad}, headers=viewer)
        assert response.status_code == 422, bad
        assert "bbox" in response.get_json()["errors"]["query"], bad


def test_resource_layer_follows_every_change(client, officer, viewer, api):
    """The encoded layer is kept between requests; any write it shows makes it new."""
    path = "/api/v1/map/resources.geojson"

    def props():
        return {f["properties"]["id"]: f["properties"] for f in layer(client, path, viewer)["features"]}

    shelter = resource(client, name="Tornaterem", kind="shelter", quantity=1, capacity=100, unit="fő")
    depot = resource(client)
    assert props()[shelter["id"]]["free_capacity"] == 100
    assert props() == props()  # the same answer twice
    renamed = client.patch(f"/api/v1/resources/{depot['id']}", json={"name": "Új depó", "status": "deployed"},
                           headers=officer)
    assert renamed.status_code == 200
    now = props()
    assert now[depot["id"]]["name"] == "Új depó" and now[depot["id"]]["status"] == "deployed"
    flood = incident(client)
    assignment = client.post(f"/api/v1/incidents/{flood['id']}/assignments",
                             json={"resource_id": shelter["id"], "quantity": 30}, headers=officer).get_json()
    assert props()[shelter["id"]]["free_capacity"] == 70
    assert client.post(f"/api/v1/assignments/{assignment['id']}/release", headers=officer).status_code == 200
    assert props()[shelter["id"]]["free_capacity"] == 100
    assert client.delete(f"/api/v1/resources/{depot['id']}", headers=officer).status_code in (200, 204)
    assert list(props()) == [shelter["id"]]
    admin = api("admin")[0]
    client.post("/api/v1/resource-kinds", json={"code": "drone", "label_hu": "Drón", "label_en": "Drone"}, headers=admin)
    drone = resource(client, name="Drón 1", kind="drone", quantity=1)
    assert props()[drone["id"]]["kind_label"] == "Drone"


def _store_boundary(app):
    from incident.extensions import db
    from incident.geo import boundary_from_file, to_element
    from incident.models import Municipality

    with app.app_context():
        db.session.add(Municipality(name="Budapest Főváros V. kerület Belváros-Lipótváros Önkormányzata",
                                    short_name="Belváros-Lipótváros", boundary=to_element(boundary_from_file(DISTRICT_FILE))))
        db.session.commit()


def test_boundary_from_the_municipality_or_a_file(app, app_factory, client, viewer, tmp_path):
    assert layer(client, "/api/v1/map/boundary.geojson", viewer) == {"type": "FeatureCollection", "features": []}
    _store_boundary(app)
    collection = layer(client, "/api/v1/map/boundary.geojson", viewer)
    assert_rfc7946(collection)
    [feature] = collection["features"]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert feature["properties"]["short_name"] == "Belváros-Lipótváros"
    assert shape(feature["geometry"]).symmetric_difference(district()).area < 1e-9

    square = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [
        [[19.0, 47.4], [19.1, 47.4], [19.1, 47.6], [19.0, 47.6], [19.0, 47.4]]]}}
    path = tmp_path / "outline.geojson"
    path.write_text(json.dumps(square), encoding="utf-8")
    other = app_factory(RIADO_BOUNDARY_GEOJSON=str(path)).test_client()
    [feature] = layer(other, "/api/v1/map/boundary.geojson", viewer)["features"]
    assert shape(feature["geometry"]).equals(shape(square["geometry"]))


def test_layers_need_a_signed_in_user(client, viewer):
    for path in (*GEOJSON_PATHS, "/api/v1/map/summary"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert client.get(path, headers={"Authorization": "Bearer riado_nope"}).status_code == 401
        assert client.get(path, headers=viewer).status_code == 200, path
    assert client.get("/map").status_code == 302 and client.get("/map/wall").status_code == 302


def test_layers_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in GEOJSON_PATHS:
        assert path in paths and "application/geo+json" in json.dumps(paths[path])


def test_ten_thousand_features_stream_as_one_valid_document(app):
    from maps.geojson import feature_collection

    features = [{"type": "Feature", "id": i, "geometry": {"type": "Point", "coordinates": [19.05, 47.5]},
                 "properties": {"name": f"<b>{i}</b> \"x\""}} for i in range(2_345)]
    chunks = list(feature_collection(features))
    assert len(chunks) > 3  # streamed in batches
    parsed = json.loads("".join(chunks))
    assert len(parsed["features"]) == 2_345 and parsed["features"][7]["properties"]["name"] == '<b>7</b> "x"'
    assert json.loads("".join(feature_collection([]))) == {"type": "FeatureCollection", "features": []}


# The wall's counts


def test_summary_counts_open_incidents_and_alerts_in_flight(app, client, officer, viewer):
    from alerts.models import Delivery
    from incident.extensions import db

    real = incident(client)
    incident(client, title="Gyakorlat", drill=True)
    incident(client, title="Második gyakorlat", drill=True, severity="minor")
    done = incident(client, title="Lezárt")
    move_incident(client, done["id"], "active", "contained", "closed")
    group = client.post("/api/v1/groups", json={"name": "Ügyelet"}, headers=officer).get_json()
    for name, phone in (("Kovács Júlia", "+36305550101"), ("Nagy Péter", "+36205550102")):
        created = client.post("/api/v1/contacts", json={"name": name, "phone": phone, "groups": [group["id"]]},
                              headers=officer)
        assert created.status_code == 201
    sent = client.post("/api/v1/alerts", json={"body": "Riasztás: erősítse meg OK", "groups": [group["id"]],
                                               "require_ack": True, "incident_id": real["id"]}, headers=officer)
    assert sent.status_code in (201, 202), sent.get_json()
    with app.app_context():
        delivery = db.session.query(Delivery).filter_by(alert_id=sent.get_json()["id"]).order_by(Delivery.id).first()
        delivery.acknowledged_at = delivery.next_attempt_at
        db.session.commit()

    real_counts = client.get("/api/v1/map/summary", headers=viewer).get_json()
    assert real_counts["drill"] is False
    assert real_counts["incidents"]["open"] == 1 and real_counts["incidents"]["by_severity"] == {"severe": 1}
    counts = {c["key"]: c for c in real_counts["counts"]}
    assert counts["acknowledged"]["value"] == "1 / 2"
    assert counts["alerts_in_flight"]["label"] == "Alerts in flight"
    assert counts["alerts_in_flight"]["value"] in (0, 1)  # 1 until the queue has sent it
    drills = client.get("/api/v1/map/summary?drill=1&lang=hu", headers=viewer).get_json()
    assert drills["incidents"]["open"] == 2
    assert {c["key"]: c["value"] for c in drills["counts"]} == {"overdue_tasks": 0, "alerts_in_flight": 0, "acknowledged": "0 / 0"}
    assert {c["key"]: c["label"] for c in drills["counts"]}["alerts_in_flight"] != "Alerts in flight"  # Hungarian


# The pages


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes, as a browser reads them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def _tags(html):
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


OTHER_HOST = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def _check_map_page(response):
    """A map page loads every script and style from this site, runs exactly one inline script
    (folium's map, carrying this response's nonce), has no inline event handler and declares its
    charset once."""
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    policy = response.headers["Content-Security-Policy"]
    match = re.search(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{20,})'", policy)
    assert match, policy
    nonce = match.group(1)
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    tags = _tags(html)
    scripts = [attrs for tag, attrs in tags if tag == "script"]
    inline = [attrs for attrs in scripts if "src" not in attrs]
    assert [attrs.get("nonce") for attrs in inline] == [nonce], inline
    for attrs in scripts:
        assert "src" not in attrs or attrs["src"].startswith("/static/"), attrs
    for tag, attrs in tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, attrs)  # no inline handler
            if name in ("src", "href", "action", "srcset"):
                assert not OTHER_HOST.match(value or ""), (tag, attrs)
                assert not (value or "").strip().lower().startswith(("javascript:", "data:")), (tag, attrs)
    charsets = [attrs for tag, attrs in tags if tag == "meta"
                and ("charset" in attrs or (attrs.get("http-equiv") or "").lower() == "content-type")]
    assert len(charsets) == 1, charsets
    for host in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn", "fontawesome", "unpkg"):
        assert host not in html
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower()
    assert "html, body" not in html and "user-scalable=no" not in html  # folium's page-wide settings left out
    return html, nonce


def test_map_pages_are_folium_with_local_assets_and_a_nonce(app, client, make_user, login):
    flood = incident(client)
    login(make_user("viewer"))
    for path in ("/map", "/map/wall", "/map/wall?drill=1"):
        html, nonce = _check_map_page(client.get(path))
        assert "L.map(" in html and "L.markerClusterGroup(" in html and "L.control.layers(" in html
        assert app.config["RIADO_TILE_URL"] in html
        assert "/static/vendor/leaflet/leaflet.js" in html
        assert "/static/vendor/leaflet.markercluster/leaflet.markercluster.js" in html
        assert "/static/js/map-layers.js" in html
        assert "data-incidents-url=\"/api/v1/map/incidents.geojson" in html
        assert "Dunai árvíz" not in html  # data come from the endpoints, never inlined
        second = client.get(path)
        assert nonce not in second.headers["Content-Security-Policy"]  # one per response
    # Other pages keep script-src 'self' alone.
    assert "nonce" not in client.get(f"/incidents/{flood['id']}").headers["Content-Security-Policy"]


def test_wall_map_is_full_screen_with_clock_counts_and_drill_banner(client, make_user, login):
    login(make_user("viewer"))
    html = client.get("/map/wall").get_data(as_text=True)
    assert 'class="mainnav"' not in html and "data-clock" in html and 'data-timezone="Europe/Budapest"' in html
    assert "data-drill-banner" not in html and 'data-testid="drill-banner"' not in html
    assert "/api/v1/map/incidents.geojson?lang=hu&amp;drill=false" in html
    assert "/api/v1/map/summary?lang=hu&amp;drill=false" in html
    assert 'data-refresh="15"' in html and "/static/js/map-wall.js" in html
    drill = client.get("/map/wall?drill=1").get_data(as_text=True)
    assert 'data-testid="drill-banner"' in drill and "GYAKORLAT" in drill
    assert "drill=true" in drill and "drill=false" not in drill


def test_record_texts_never_reach_the_map_pages(app, client, make_user, login, api):
    admin = api("admin")[0]
    evil_kind = client.post("/api/v1/resource-kinds", json={"code": "evil", "label_hu": PAYLOADS[0],
                                                            "label_en": PAYLOADS[4]}, headers=admin)
    assert evil_kind.status_code == 201, evil_kind.get_json()
    for text in PAYLOADS:
        resource(client, name=text, kind="evil", owner=text, notes=text)
        incident(client, title=text, commander=text, description=text)
    login(make_user("viewer"))
    for path in ("/map", "/map/wall"):
        html = client.get(path).get_data(as_text=True)
        for text in PAYLOADS[:2] + PAYLOADS[4:]:
            assert text not in html, (path, text)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the kind's label, as text (legend)
        script = html.split('<script nonce=')[-1]
        assert "<img" not in script and "<script>alert" not in script
        assert script.count("</script>") == 1  # nothing ends folium's script early
    # The GeoJSON carries the texts as they were typed; the page's script puts them in as text.
    features = layer(client, "/api/v1/map/resources.geojson", {})["features"]
    assert sorted(f["properties"]["name"] for f in features) == sorted(PAYLOADS)
    assert {f["properties"]["kind_label"] for f in features} == {PAYLOADS[4]}


def static(filename):
    return "/static/" + filename


TILES = {"tile_url": "https://tiles.example/{z}/{x}/{y}.png", "tile_attribution": "x", "centre": (47.5, 19.05),
         "zoom": 15}


def test_layer_names_are_escaped_for_leaflets_layer_control():
    from maps import builder

    m = builder.build_map({**TILES, "layer_control": {"collapsed": True},
                           "layers": [{"key": "resources:evil", "name": '</script><img src=x onerror=alert(1)>',
                                       "cluster": True}]}, static)
    parts = builder.render_parts(m)
    assert "<img" not in parts["script"] and "</script" not in parts["script"]
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in parts["script"]


def test_assets_are_local_and_folium_s_classes_untouched():
    import folium
    from folium.plugins import Draw, MarkerCluster

    from maps import assets, builder

    before = (list(folium.Map.default_js), list(MarkerCluster.default_css), list(Draw.default_js))
    m = builder.build_map({**TILES, "layer_control": None, "draw": {"layer": "a"},
                           "layers": [{"key": "a", "name": "A"}, {"key": "b", "name": "B", "cluster": True},
                                      {"key": "c", "name": "C", "parent": "b"}]}, static)
    parts = builder.render_parts(m)
    head = str(parts["head"])
    tags = _tags(head)
    assert {attrs.get("src") or attrs.get("href") for tag, attrs in tags if tag in ("script", "link")} == {
        "/static/" + path for path in assets.VENDORED.values()}
    assert [tag for tag, attrs in tags if tag == "script" and "src" not in attrs] == []
    assert "<script" not in str(parts["html"])
    # folium's classes still name their CDN: other maps are not changed behind their back.
    assert (list(folium.Map.default_js), list(MarkerCluster.default_css), list(Draw.default_js)) == before

    # An element that wants a file from elsewhere stops the page instead of reaching out to a CDN.
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(assets.UnknownAsset):
        builder.render_parts(m)


def test_the_maps_use_folium_only_through_its_public_api():
    """No reaching into folium's or branca's private attributes (``_children``, ``_parent``…) and no
    rewriting of the HTML folium writes: what works with one folium works with the next."""
    for path in sorted((Path(__file__).resolve().parents[2] / "maps").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                assert isinstance(node.value, ast.Name) and node.value.id == "self", f"{where} uses .{node.attr}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in ("sub", "subn"), f"{where} rewrites text with a regular expression"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not re.search(r"\b(?:this|self)\._(?:parent|children)", node.value), f"{where} (template)"


def test_vendored_files_are_served_with_their_licences(client):
    root = Path(__file__).resolve().parents[2] / "incident" / "static" / "vendor"
    for package in ("leaflet", "leaflet.markercluster", "leaflet.featuregroup.subgroup", "leaflet-draw"):
        assert (root / package / "LICENSE").stat().st_size > 500
        assert "npm pack" in (root / package / "README.md").read_text()
    for path in ("vendor/leaflet.markercluster/leaflet.markercluster.js", "vendor/leaflet.markercluster/MarkerCluster.css",
                 "vendor/leaflet.featuregroup.subgroup/leaflet.featuregroup.subgroup.js",
                 "vendor/leaflet.markercluster/MarkerCluster.Default.css", "vendor/leaflet-draw/leaflet.draw.js",
                 "vendor/leaflet-draw/leaflet.draw.css", "vendor/leaflet-draw/images/spritesheet.svg",
                 "js/map-layers.js", "js/map-wall.js", "js/map-area.js", "css/maps.css"):
        response = client.get("/static/" + path)
        assert response.status_code == 200, path
        response.close()


# Drawing an incident's affected area


def _area_form(client, incident_id):
    from conftest import csrf_from

    page = client.get(f"/map/incidents/{incident_id}/area")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    return csrf_from(html), version, html


def _collection(*geometries):
    return json.dumps({"type": "FeatureCollection",
                       "features": [{"type": "Feature", "properties": {}, "geometry": g} for g in geometries]})


def test_officer_saves_a_drawn_area_through_the_incident_operations(app, client, officer, make_user, login):
    flood = incident(client)
    login(make_user("officer"))
    token, version, html = _area_form(client, flood["id"])
    _check_map_page(client.get(f"/map/incidents/{flood['id']}/area"))
    assert "/static/vendor/leaflet-draw/leaflet.draw.js" in html and "L.Control.Draw(" in html
    response = client.post(f"/map/incidents/{flood['id']}/area",
                           data={"csrf_token": token, "version": version, "area": _collection(EMBANKMENT)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/incidents/{flood['id']}")
    stored = client.get(f"/api/v1/incidents/{flood['id']}", headers=officer).get_json()
    assert shape(stored["area"]).equals(shape(EMBANKMENT)) and stored["version"] == int(version) + 1
    log = client.get(f"/api/v1/incidents/{flood['id']}/log", headers=officer).get_json()["items"]
    assert log[-1]["kind"] == "system" and "érintett terület" in log[-1]["text"].lower()

    # Two shapes become one MultiPolygon; the page shows the stored area for the next edit.
    token, version, html = _area_form(client, flood["id"])
    assert "19.047" in html  # data-area holds the stored polygon
    second = {"type": "Polygon", "coordinates": [[[19.052, 47.5], [19.054, 47.5], [19.054, 47.502], [19.052, 47.5]]]}
    client.post(f"/map/incidents/{flood['id']}/area",
                data={"csrf_token": token, "version": version, "area": _collection(EMBANKMENT, second)})
    stored = client.get(f"/api/v1/incidents/{flood['id']}", headers=officer).get_json()
    assert stored["area"]["type"] == "MultiPolygon" and len(stored["area"]["coordinates"]) == 2

    # Nothing drawn: the area is removed.
    token, version, _ = _area_form(client, flood["id"])
    client.post(f"/map/incidents/{flood['id']}/area", data={"csrf_token": token, "version": version, "area": ""})
    assert client.get(f"/api/v1/incidents/{flood['id']}", headers=officer).get_json()["area"] is None


def test_an_invalid_or_stale_area_is_refused_with_the_reason(app, client, officer, make_user, login):
    flood = incident(client, area=EMBANKMENT)
    login(make_user("officer"))
    token, version, _ = _area_form(client, flood["id"])
    bad = client.post(f"/map/incidents/{flood['id']}/area",
                      data={"csrf_token": token, "version": version, "area": _collection(BOWTIE)})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'data-testid="area-error"' in html and "A sokszög érvénytelen" in html  # "The polygon is not valid: …"
    assert "Self-intersection" in html
    stored = client.get(f"/api/v1/incidents/{flood['id']}", headers=officer).get_json()
    assert shape(stored["area"]).equals(shape(EMBANKMENT)) and stored["version"] == int(version)

    broken = client.post(f"/map/incidents/{flood['id']}/area", data={"csrf_token": token, "version": version, "area": "{"})
    assert broken.status_code == 422 and 'data-testid="area-error"' in broken.get_data(as_text=True)

    client.patch(f"/api/v1/incidents/{flood['id']}", json={"title": "Dunai árvíz – III. fok"}, headers=officer)
    stale = client.post(f"/map/incidents/{flood['id']}/area",
                        data={"csrf_token": token, "version": version, "area": _collection(PARLIAMENT_SQUARE)})
    assert stale.status_code == 409 and 'data-testid="area-conflict"' in stale.get_data(as_text=True)
    stored = client.get(f"/api/v1/incidents/{flood['id']}", headers=officer).get_json()
    assert shape(stored["area"]).equals(shape(EMBANKMENT))


PARLIAMENT_SQUARE = {"type": "Polygon", "coordinates": [
    [[19.044, 47.506], [19.048, 47.506], [19.048, 47.509], [19.044, 47.509], [19.044, 47.506]]]}


def test_shapes_drawn_so_that_they_overlap_are_saved_as_one_outline(app, client, officer, make_user, login):
    # An officer draws the embankment, then a second rectangle over its southern half to take in
    # the quay: both the map editor and the incident form's text field save their union.
    flood = incident(client)
    login(make_user("officer"))
    quay = {"type": "Polygon", "coordinates": [
        [[19.0480, 47.4900], [19.0520, 47.4900], [19.0520, 47.4950], [19.0480, 47.4950], [19.0480, 47.4900]]]}
    token, version, _ = _area_form(client, flood["id"])
    response = client.post(f"/map/incidents/{flood['id']}/area",
                           data={"csrf_token": token, "version": version, "area": _collection(EMBANKMENT, quay)})
    assert response.status_code == 302, response.get_data(as_text=True)
    stored = shape(client.get(f"/api/v1/incidents/{flood['id']}", headers=officer).get_json()["area"])
    assert stored.geom_type == "Polygon" and stored.equals(shape(EMBANKMENT).union(shape(quay)))

    from incident.geo import parse_area_text

    value, problem = parse_area_text(_collection(EMBANKMENT, quay))
    assert problem is None and shape(value).equals(stored)
    # One bad shape among several is handed on as it is, to be refused with its own reason.
    value, _ = parse_area_text(_collection(EMBANKMENT, BOWTIE))
    assert value == BOWTIE


def test_only_officers_draw_areas_and_need_a_csrf_token(app, client, make_user):
    from conftest import csrf_from

    flood = incident(client)
    viewer = app.test_client()
    token = csrf_from(viewer.get("/login").get_data(as_text=True))
    user = make_user("viewer")
    viewer.post("/login", data={"email": user["email"], "password": user["password"], "csrf_token": token})
    assert viewer.get(f"/map/incidents/{flood['id']}/area").status_code == 403
    assert viewer.post(f"/map/incidents/{flood['id']}/area", data={"area": ""}).status_code in (400, 403)
    user = make_user("officer")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": user["email"], "password": user["password"], "csrf_token": token})
    token, version, _ = _area_form(client, flood["id"])
    refused = client.post(f"/map/incidents/{flood['id']}/area", data={"version": version, "area": _collection(EMBANKMENT)})
    assert refused.status_code == 400
    assert client.get("/map/incidents/999999/area").status_code == 404


def test_the_incident_page_links_to_the_area_editor(client, make_user, login):
    flood = incident(client)
    login(make_user("officer"))
    html = client.get(f"/incidents/{flood['id']}").get_data(as_text=True)
    assert f'href="/map/incidents/{flood["id"]}/area"' in html


def test_the_wall_counts_people_not_messages_on_an_alert_of_several_channels(app, client, officer, viewer):
    """Two people reached by SMS and e-mail, one of whom confirmed by the e-mail's link: the wall
    says 1 / 2 (not 1 / 4), and the alert no longer waits for that person's SMS answer."""
    from alerts.models import Delivery
    from incident.extensions import db

    group = client.post("/api/v1/groups", json={"name": "Kettős csatorna"}, headers=officer).get_json()
    for name, phone, email in (("Kovács Júlia", "+36305550111", "julia@belvaros.example"),
                               ("Nagy Péter", "+36205550112", "peter@belvaros.example")):
        assert client.post("/api/v1/contacts", json={"name": name, "phone": phone, "email": email,
                                                     "groups": [group["id"]]}, headers=officer).status_code == 201
    sent = client.post("/api/v1/alerts", json={"body": "Riasztás", "groups": [group["id"]], "require_ack": True,
                                               "channels": ["sms", "email"]}, headers=officer)
    assert sent.status_code == 202, sent.get_json()
    with app.app_context():
        julia_email = db.session.query(Delivery).filter_by(alert_id=sent.get_json()["id"], channel="email",
                                                           name="Kovács Júlia").one()
        julia_email.acknowledged_at = julia_email.next_attempt_at
        db.session.commit()
    counts = {c["key"]: c for c in client.get("/api/v1/map/summary", headers=viewer).get_json()["counts"]}
    assert counts["acknowledged"]["value"] == "1 / 2"
