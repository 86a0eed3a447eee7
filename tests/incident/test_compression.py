"""Responses cross a slow link compressed (Flask-Compress): brotli where the client asks, gzip or
deflate otherwise; the map's streamed GeoJSON layers too; the security and caching headers kept."""

from __future__ import annotations

import gzip
import json
import zlib

import brotli

from factories import create_resource

BROWSER = "gzip, deflate, br"


def _resources(app, n: int) -> None:
    for i in range(n):
        create_resource(app, name=f"Szivattyú {i:03d}", kind="pump", quantity=1, unit="db",
                        location={"type": "Point", "coordinates": [19.04 + i * 0.0001, 47.50 + i * 0.0001]})


def test_the_resource_layer_is_sent_brotli_compressed_and_reads_the_same(app, client, viewer):
    _resources(app, 60)
    path = "/api/v1/map/resources.geojson"
    plain = client.get(path, headers=viewer)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers  # the client asked for none
    packed = client.get(path, headers={**viewer, "Accept-Encoding": BROWSER})
    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert packed.headers["Cache-Control"] == "no-store"  # the live map is still never cached
    assert packed.headers["Content-Type"].startswith("application/geo+json")
    body = brotli.decompress(packed.get_data())
    assert json.loads(body) == json.loads(plain.get_data())
    assert len(json.loads(body)["features"]) == 60
    assert len(packed.get_data()) < len(plain.get_data()) / 4


def _decoded(response) -> bytes:
    encoding = response.headers["Content-Encoding"]
    assert encoding in ("gzip", "deflate"), encoding
    return gzip.decompress(response.get_data()) if encoding == "gzip" else zlib.decompress(response.get_data())


def test_a_client_without_brotli_gets_gzip_or_deflate(app, as_viewer, viewer):
    _resources(app, 20)
    layer = as_viewer.get("/api/v1/map/resources.geojson", headers={"Accept-Encoding": "gzip, deflate"})
    assert len(json.loads(_decoded(layer))["features"]) == 20
    layer = as_viewer.get("/api/v1/map/resources.geojson", headers={"Accept-Encoding": "gzip"})
    assert layer.headers["Content-Encoding"] == "gzip"  # the largest answer, for a client with gzip alone
    assert len(json.loads(_decoded(layer))["features"]) == 20
    page = as_viewer.get("/resources", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and page.headers["Content-Encoding"] == "gzip"
    assert "Szivattyú 019" in gzip.decompress(page.get_data()).decode()
    assert "default-src" in page.headers["Content-Security-Policy"]  # the headers survive compression
    assert page.headers.get("X-Content-Type-Options") == "nosniff"


def test_small_answers_are_left_alone(client):
    response = client.get("/healthz", headers={"Accept-Encoding": BROWSER})
    assert response.status_code in (200, 503) and "Content-Encoding" not in response.headers


def test_a_static_file_is_compressed_and_its_file_closed(client):
    """A stylesheet streamed from its file and compressed on the way: the file is closed when the
    answer is done (not left open for the garbage collector, a ResourceWarning here)."""
    import gc
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = client.get("/static/css/riado.css", headers={"Accept-Encoding": BROWSER})
        assert response.headers["Content-Encoding"] == "br"
        assert b"{" in brotli.decompress(response.get_data())
        response.close()
        del response
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
