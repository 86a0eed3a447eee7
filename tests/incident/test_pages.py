"""The web shell: every route is behind sign-in and its role, Hungarian by default, English on request."""

from __future__ import annotations

import re

import pytest

from conftest import csrf_from

# The only endpoints reachable without signing in. A new public route must be added here on purpose.
PUBLIC = {
    "auth.login",
    "auth.logout",
    "auth.set_language",
    "health.healthz",
    "static",
    "api-docs.openapi_json",
    "api_tokens.create_token",
    # Twilio's webhooks: no session, but a signature (403 without one).
    "webhooks.status",
    "webhooks.inbound",
    # A voice call's key press (its <Gather>'s action) and its status callbacks: Twilio calls them
    # with a signature and no session, like the SMS ones (tests/alerts/test_voice_channel.py).
    "webhooks.voice",
    "webhooks.voice_status",
    # An e-mail alert's acknowledgement link: no session, an unguessable token naming one delivery
    # (404 otherwise; tests/alerts/test_email_channel.py).
    "ack.show",
    "ack.confirm",
    # Prometheus: off (404) unless configured, then a token of its own (tests/alerts/test_metrics.py).
    "metrics.metrics",
    # The public page, a notice's page and CAP, and the feed (SPEC §5): published notices only
    # (tests/alerts/test_notices.py); all 404 with RIADO_PUBLIC=0.
    "public_notices.index",
    "public_notices.notice",
    "public_notices.cap",
    "public_notices.feed",
}
# POSTs that write nothing, open to viewers.
VIEWER_POSTS = {"api_alerts.preview"}
# Writes on one's own account, open to every role (another user's token is 404, not 403).
OWN_ACCOUNT = {"api_tokens.delete_token"}
# Reads of personal data that only officers and admins may make (the reception register).
OFFICER_READS = {"api_evacuees.Evacuees", "api_evacuees.EvacueeById", "api_evacuees.export_csv"}
ALL = {"GET", "POST", "PATCH", "PUT", "DELETE"}
# endpoint → the methods only admins may use
ADMIN_ONLY = {
    "admin.users": ALL, "admin.edit_user": ALL, "admin.audit": ALL,
    "api_users.Users": ALL, "api_users.UserById": ALL, "api_audit.list_audit": ALL,
    "api_kinds.Kinds": {"POST"},
}
NAV_HU = ["Irányítópult", "Események", "Kapcsolattartók", "Erőforrások", "Riasztások", "Térkép"]
NAV_EN = ["Dashboard", "Incidents", "Contacts", "Resources", "Alerts", "Map"]


def _concrete(rule) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", "1", rule.rule).replace("/1/", "/1/")


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_refuses_anonymous_callers(app):
    client = app.test_client()
    reached = set()
    for rule, method in _routes(app):
        if rule.endpoint in PUBLIC:
            reached.add(rule.endpoint)
            if rule.endpoint.startswith("webhooks."):
                assert client.open(_concrete(rule), method=method).status_code == 403, rule.rule
            continue
        response = client.open(_concrete(rule), method=method)
        if rule.rule.startswith("/api/"):
            assert response.status_code == 401, (method, rule.rule, response.status_code)
        else:
            assert response.status_code in (302, 400), (method, rule.rule, response.status_code)
            if response.status_code == 302:
                assert "/login" in response.headers["Location"], rule.rule
    assert reached == PUBLIC  # no public endpoint vanished unnoticed


def test_role_matrix(app, api, make_user, token_for):
    client = app.test_client()
    token_for(make_user("viewer"))  # token 1 (the id every route is called with) is a bystander's
    headers = {role: api(role)[0] for role in ("viewer", "officer", "admin")}
    for rule, method in _routes(app):
        if rule.endpoint in PUBLIC or not rule.rule.startswith("/api/"):
            continue
        for role in ("viewer", "officer", "admin"):
            status = client.open(_concrete(rule), method=method, headers=headers[role], json={}).status_code
            admin_only = method in ADMIN_ONLY.get(rule.endpoint, ())
            may = role == "admin" if admin_only else (
                (method == "GET" and rule.endpoint not in OFFICER_READS) or role != "viewer"
                or rule.endpoint in VIEWER_POSTS | OWN_ACCOUNT)
            if may:
                assert status != 403, (role, method, rule.rule)
            else:
                assert status == 403, (role, method, rule.rule, status)


@pytest.mark.parametrize("path", ["/admin/users", "/admin/audit", "/admin/users/1"])
def test_admin_pages_are_403_for_officers(client, make_user, login, path):
    login(make_user("officer"))
    assert client.get(path).status_code == 403


def test_dashboard_shell_in_hungarian_by_default(client, make_user, login):
    login(make_user("viewer"))
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="hu">' in page
    for label in NAV_HU:
        assert label in page
    assert "Kijelentkezés" in page
    assert "Felhasználók" not in page  # admin links only for admins


def test_english_switch(client, make_user, login):
    login(make_user("admin"))
    response = client.get("/lang/en?next=/")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    for label in NAV_EN:
        assert label in page
    assert "Users" in page and "Audit trail" in page
    client.get("/lang/hu")
    assert "Irányítópult" in client.get("/").get_data(as_text=True)


def test_login_page_in_both_languages(client):
    assert "Bejelentkezés" in client.get("/login").get_data(as_text=True)
    client.get("/lang/en")
    assert "Sign in" in client.get("/login").get_data(as_text=True)


def test_every_section_page_answers(client, make_user, login):
    login(make_user("viewer"))
    for path in ("/", "/incidents", "/contacts", "/resources", "/alerts", "/map"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'aria-current="page"' in response.get_data(as_text=True), path


def test_pages_reference_no_other_host(client, make_user, login):
    login(make_user("admin"))
    for path in ("/", "/login", "/admin/users", "/admin/audit", "/incidents"):
        page = client.get(path).get_data(as_text=True)
        for url in re.findall(r'(?:src|href)="([^"]+)"', page):
            assert not re.match(r"^(https?:)?//", url), (path, url)


def test_admin_creates_a_user_with_errors_beside_the_fields(client, make_user, login):
    login(make_user("admin"))
    page = client.get("/admin/users").get_data(as_text=True)
    response = client.post(
        "/admin/users",
        data={"email": "not-an-email", "role": "viewer", "password": "short", "csrf_token": csrf_from(page)},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="email-error"' in html
    ok = client.post(
        "/admin/users",
        data={"email": "new@riado-test.example", "name": "Új Kolléga", "role": "officer",
              "password": "a-long-password", "csrf_token": csrf_from(html)},
        follow_redirects=True,
    )
    assert ok.status_code == 200
    assert "Új Kolléga" in ok.get_data(as_text=True)


def test_unknown_page_is_a_friendly_404(client, make_user, login):
    login(make_user("viewer"))
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Nincs ilyen oldal" in response.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.is_json
