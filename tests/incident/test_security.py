"""What the browser is told to refuse, and forged webhooks: the Content-Security-Policy names the
app itself (and a nonce on the map pages) and, for images only, the configured tile server; the
session cookie is HttpOnly, SameSite=Lax and, behind HTTPS, Secure; a Twilio webhook without a
valid signature is refused and changes nothing."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from conftest import WEBHOOK_PUBLIC_URL, WEBHOOK_TOKEN, csrf_from

TILES = "https://tiles.varos.example:8443/osm/{z}/{x}/{y}.png"
NONCE = re.compile(r"^'nonce-[A-Za-z0-9_-]{20,}'$")


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy as {directive: [sources]}."""
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def allows(sources: list[str], origin: str) -> bool:
    """Whether a source list admits ``origin`` (``scheme://host[:port]``), as a browser matches
    host sources (an exact origin, or ``*.`` for any subdomain)."""
    scheme, rest = origin.split("://")
    for source in sources:
        if "://" not in source:
            continue
        s_scheme, s_rest = source.split("://")
        if s_scheme == scheme and (s_rest == rest or (s_rest.startswith("*.") and rest.endswith(s_rest[1:]))):
            return True
    return False


def sign_in(client, user, base_url="http://localhost"):
    page = client.get("/login", base_url=base_url)
    token = csrf_from(page.get_data(as_text=True))
    # Over HTTPS the CSRF check also wants the Referer a browser sends (same origin).
    return client.post("/login", data={"email": user["email"], "password": user["password"], "csrf_token": token},
                       base_url=base_url, headers={"Referer": base_url + "/login"})


def assert_only_the_app_and_the_tiles(response, tile_origins: list[str], map_page: bool):
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"] and directives["form-action"] == ["'self'"]
    allowed = {
        "img-src": {"'self'", "data:", "blob:", *tile_origins},
        "style-src": {"'self'", "'unsafe-inline'"},  # Leaflet's and folium's element styles
    }
    for directive, sources in directives.items():
        for source in sources:
            if directive == "script-src" and map_page and NONCE.match(source):
                continue
            assert source in allowed.get(directive, {"'self'", "'none'"}), (directive, source)
    scripts = directives["script-src"]
    assert "'self'" in scripts and "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert any(NONCE.match(s) for s in scripts) == map_page  # a nonce on the map pages only
    for origin in tile_origins:
        assert allows(directives["img-src"], origin)
        assert all(origin not in sources for directive, sources in directives.items() if directive != "img-src")


@pytest.mark.parametrize("path", ["/", "/incidents", "/map", "/map/wall"])
def test_the_policy_names_only_the_app_and_the_tile_server(app_factory, make_user, path):
    app = app_factory(RIADO_TILE_URL=TILES)
    client = app.test_client()
    sign_in(client, make_user("viewer"))
    response = client.get(path)
    assert response.status_code == 200
    assert_only_the_app_and_the_tiles(response, ["https://tiles.varos.example:8443"], map_page=path.startswith("/map"))
    if path.startswith("/map"):
        assert TILES in response.get_data(as_text=True)  # the very tile server the policy admits


def test_a_tile_server_with_subdomains_is_allowed_on_each_of_them(app_factory, make_user):
    app = app_factory(RIADO_TILE_URL="https://{s}.tiles.varos.example/{z}/{x}/{y}.png")
    client = app.test_client()
    sign_in(client, make_user("viewer"))
    response = client.get("/map")
    # Leaflet fetches {s} from a, b and c: a tile from any of them must not be blocked.
    origins = [f"https://{sub}.tiles.varos.example" for sub in "abc"]
    assert_only_the_app_and_the_tiles(response, origins, map_page=True)


def test_the_default_tile_server_is_openstreetmaps(client, make_user, login):
    login(make_user("viewer"))
    img = policy(client.get("/map"))["img-src"]
    assert allows(img, "https://tile.openstreetmap.org")
    assert not allows(img, "https://a.tile.openstreetmap.org") and not allows(img, "https://evil.example")


def _session_cookies(response) -> list[str]:
    return [v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("riado_session=")]


def test_behind_https_the_session_cookie_is_secure(monkeypatch, app_factory, make_user):
    monkeypatch.setenv("PUBLIC_URL", "https://riado.varos.example")
    app = app_factory()
    client = app.test_client()
    response = sign_in(client, make_user("viewer"), base_url="https://riado.varos.example")
    assert response.status_code == 302  # signed in
    cookies = _session_cookies(response)
    assert cookies
    for cookie in cookies:
        flags = {flag.strip().split("=")[0].lower(): flag.strip() for flag in cookie.split(";")[1:]}
        assert "secure" in flags and "httponly" in flags and flags["samesite"] == "SameSite=Lax"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_over_plain_http_the_cookie_is_not_secure_so_sign_in_works(monkeypatch, app_factory, make_user):
    monkeypatch.delenv("PUBLIC_URL", raising=False)  # the default, http://127.0.0.1:5000
    app = app_factory()
    client = app.test_client()
    response = sign_in(client, make_user("viewer"))
    cookies = _session_cookies(response)
    assert cookies and all("Secure" not in cookie and "HttpOnly" in cookie for cookie in cookies)
    assert "Strict-Transport-Security" not in response.headers
    assert client.get("/").status_code == 200  # the cookie came back: still signed in


# Forged webhooks

AUTH_TOKEN = WEBHOOK_TOKEN
PUBLIC = WEBHOOK_PUBLIC_URL
PHONE = "+36205550131"


def _post(client, path, params, signature=None, query=""):
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    return client.post(path + query, data=urlencode(params), headers=headers,
                       content_type="application/x-www-form-urlencoded")


def _sign(url, params, token=AUTH_TOKEN):
    return RequestValidator(token).compute_signature(url, params)


def _state(app, contact_id, delivery_id):
    from alerts.models import Delivery, Reply
    from incident.extensions import db
    from incident.models import AuditEntry, Contact, LogEntry

    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        delivery = db.session.get(Delivery, delivery_id)
        return {
            "opted_in": contact.reachable_by_sms,
            "delivery": (delivery.status, delivery.acknowledged_at, delivery.error_code),
            "audit": db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one(),
            "log": db.session.execute(select(func.count()).select_from(LogEntry)).scalar_one(),
            "replies": db.session.execute(select(func.count()).select_from(Reply)).scalar_one(),
        }


def test_forged_webhooks_are_refused_and_record_nothing(twilio_app, api):
    from alerts.models import Delivery
    from incident.extensions import db

    client = twilio_app.test_client()
    headers, _ = api("officer")
    incident = client.post("/api/v1/incidents", json={"title": "Vihar", "kind": "storm", "severity": "moderate",
                                                      "location": {"type": "Point", "coordinates": [19.05, 47.5]}},
                           headers=headers).get_json()
    group = client.post("/api/v1/groups", json={"name": "Ügyelet"}, headers=headers).get_json()["id"]
    contact = client.post("/api/v1/contacts", json={"name": "Kovács Júlia", "phone": PHONE, "groups": [group]},
                          headers=headers).get_json()["id"]
    alert = client.post("/api/v1/alerts", json={"body": "Erősítse meg: OK", "groups": [group], "require_ack": True,
                                                "incident_id": incident["id"]}, headers=headers).get_json()["id"]
    with twilio_app.app_context():
        delivery = db.session.execute(select(Delivery.id).where(Delivery.alert_id == alert)).scalar_one()
        db.session.get(Delivery, delivery).status = "sent"  # as if the gateway had taken it
        db.session.commit()
    before = _state(twilio_app, contact, delivery)

    inbound, status = "/webhooks/twilio/inbound", "/webhooks/twilio/status"
    stop, ack = {"From": PHONE, "Body": "STOP"}, {"From": PHONE, "Body": "OK"}
    failed = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "failed", "ErrorCode": "30003"}
    forgeries = [
        (inbound, stop, None, ""),                                              # no signature
        (inbound, stop, "", ""),                                                # an empty one
        (inbound, stop, _sign(PUBLIC + inbound, stop, "not-the-token"), ""),    # another account's token
        (inbound, stop, _sign(PUBLIC + inbound, {"From": PHONE, "Body": "hi"}), ""),  # signed, then changed
        (inbound, ack, _sign(PUBLIC + status, ack), ""),                        # signed for another URL
        (inbound, ack, _sign("http://localhost" + inbound, ack), ""),           # for the address reached, not PUBLIC_URL
        (status, failed, _sign(PUBLIC + status + f"?d={delivery + 1}", failed), f"?d={delivery}"),  # another delivery's
        (status, failed, None, f"?d={delivery}"),
    ]
    for path, params, signature, query in forgeries:
        response = _post(client, path, params, signature, query)
        assert response.status_code == 403, (path, params, query)
    assert _state(twilio_app, contact, delivery) == before

    # The same requests, signed as Twilio signs them, do change things: the checks above mean it.
    assert _post(client, inbound, ack, _sign(PUBLIC + inbound, ack)).status_code == 200
    assert _post(client, inbound, stop, _sign(PUBLIC + inbound, stop)).status_code == 200
    after = _state(twilio_app, contact, delivery)
    # The log has the acknowledgement and the opt-out.
    assert after["opted_in"] is False and after["delivery"][1] is not None and after["log"] == before["log"] + 2


# Cache-Control: no answer that may carry personal data is kept by a browser or a proxy


def test_every_signed_in_answer_says_no_store_and_static_files_keep_their_caching(app, client, api, login):
    import re as regex

    headers, officer = api("officer")
    group = client.post("/api/v1/groups", json={"name": "Ügyelet"}, headers=headers).get_json()["id"]
    contact = client.post("/api/v1/contacts", json={"name": "Kovács Júlia", "phone": PHONE, "groups": [group]},
                          headers=headers).get_json()["id"]
    point = {"type": "Point", "coordinates": [19.05, 47.5]}
    client.post("/api/v1/resources", json={"name": "Szivattyú", "kind": "pump", "location": point}, headers=headers)
    incident = client.post("/api/v1/incidents", json={"title": "Vihar", "kind": "storm", "severity": "moderate",
                                                      "location": point}, headers=headers).get_json()["id"]
    client.post("/api/v1/alerts", json={"body": "Próba", "contacts": [contact], "incident_id": incident}, headers=headers)
    app.extensions["huey"].flush()
    login(officer)  # the session for the pages, the token for the API

    answered = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if "GET" not in rule.methods or rule.endpoint == "static" or getattr(view, "_riado_public", False):
            continue
        path = regex.sub(r"<(?:[^:>]+:)?[^>]+>", "1", rule.rule)
        response = client.get(path, headers=headers if path.startswith("/api/") else {})
        assert "no-store" in response.headers.get("Cache-Control", ""), (path, response.status_code)
        answered[path] = response.status_code
    for path in ("/", "/contacts", "/contacts/1", "/groups/1", "/incidents/1", "/incidents/1/report", "/alerts/1",
                 "/alerts/outbox", "/map", "/api/v1/contacts", "/api/v1/contacts/1", "/api/v1/incidents/1/log",
                 "/api/v1/alerts/1/deliveries", "/api/v1/me", "/api/v1/contacts/export.csv"):
        assert answered.get(path) == 200, (path, answered.get(path))
    assert "no-store" in client.get("/no-such-page").headers["Cache-Control"]
    static = client.get("/static/css/incidents.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
    # Signed in, yet a static file sets no cookie: one still loading from the previous page would
    # write back an older session (a language just switched, lost).
    assert "Set-Cookie" not in static.headers
    static.close()


def test_answers_to_writes_and_every_api_answer_say_no_store_but_the_openapi_document(client, make_user):
    """A new API token is a secret in the answer to a public POST: no cache keeps it, nor any
    other answer to a write or from the API; the OpenAPI document holds no data and may be kept."""
    user = make_user("viewer")
    answers = {
        "token": client.post("/api/v1/tokens", json={"email": user["email"], "password": user["password"]}),
        "wrong password": client.post("/api/v1/tokens", json={"email": user["email"], "password": "wrong-guess"}),
        "bad body": client.post("/api/v1/tokens", json={"email": 3}),
        "sign-in form": client.post("/login", data={"email": user["email"], "password": "wrong-guess"}),
        "webhook": client.post("/webhooks/twilio/inbound", data={"From": "+36201234567", "Body": "OK"}),
        "no such API path": client.get("/api/v1/no-such-thing"),
    }
    assert answers["token"].status_code == 201 and answers["token"].get_json()["token"]
    for name, response in answers.items():
        assert "no-store" in response.headers.get("Cache-Control", ""), (name, response.status_code)
    openapi = client.get("/api/v1/openapi.json")
    assert openapi.status_code == 200 and "no-store" not in openapi.headers.get("Cache-Control", "")
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")


# Request size: RIADO_MAX_UPLOAD_MB (16 MB by default), refused with 413 before the body is read.

MB = 1024 * 1024


class Unreadable:
    """A request body that fails the test if anything reads it."""

    def read(self, *args, **kwargs):
        raise AssertionError("the body was read")

    readline = readlines = __iter__ = read

    def tell(self, *args):
        return 0

    seek = tell


def test_an_anonymous_17_mb_json_body_is_refused_with_413_before_it_is_read(client):
    for path in ("/api/v1/tokens", "/api/v1/contacts", "/api/v1/alerts/preview"):
        response = client.post(path, input_stream=Unreadable(), content_type="application/json",
                               environ_overrides={"CONTENT_LENGTH": str(17 * MB)})
        assert response.status_code == 413, path
        assert response.get_json()["code"] == 413
        assert "16 MB" in response.get_json()["message"]


def test_a_form_upload_over_the_limit_is_an_html_413_page(client, make_user, login):
    login(make_user("officer"))
    client.get("/lang/en")
    response = client.post("/contacts/import", input_stream=Unreadable(),
                           content_type="multipart/form-data; boundary=x",
                           environ_overrides={"CONTENT_LENGTH": str(16 * MB + 1)})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "<html" in page and "16 MB" in page


def test_a_chunked_body_is_cut_at_the_limit(app_factory):
    import io

    client = app_factory(RIADO_MAX_UPLOAD_MB=1).test_client()
    body = io.BytesIO(b'{"email": "' + b"x" * (2 * MB) + b'", "password": "y"}')
    response = client.post("/api/v1/tokens", input_stream=body, environ_overrides={"wsgi.input_terminated": True},
                           headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    assert response.status_code == 413
    assert response.get_json()["code"] == 413


def test_under_the_limit_uploads_still_work_and_the_csv_limit_stays(client, api):
    import io

    headers, _ = api("officer")
    small = client.post("/api/v1/contacts/import", headers=headers, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(b"name,phone\nKovacs Julia,06301234567\n"), "lista.csv")})
    assert small.status_code == 200 and small.get_json()["created"] == 1
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    eleven = b"name,phone\n" + b"Kovacs Julia,06301234567\n" * (11 * MB // 25)
    # Encoded in memory: the test client would spool a body this large to a file it leaves open.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(eleven), "lista.csv")})
    large = client.post("/api/v1/contacts/import", headers=headers, data=body,
                        content_type=f"multipart/form-data; boundary={boundary}")
    assert large.status_code == 200  # under 16 MB: taken, then refused by the import's own 10 MB limit
    assert [e["field"] for e in large.get_json()["errors"]] == ["file"]
