"""Who may do what: tokens, roles, sessions and CSRF, as a client of the service sees them."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from conftest import PASSWORD, csrf_from


def test_api_without_credentials_is_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["code"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_api_with_a_bad_token_is_401(client, api):
    headers, _user = api("admin")
    for bad in ("Bearer riado_not-a-real-token", "Bearer " + headers["Authorization"][7:] + "x", "Basic Zm9vOmJhcg=="):
        response = client.get("/api/v1/me", headers={"Authorization": bad})
        assert response.status_code == 401, bad


def test_token_from_email_and_password_works_and_is_stored_hashed(app, client, make_user):
    user = make_user("viewer")
    response = client.post("/api/v1/tokens", json={"email": user["email"].upper(), "password": PASSWORD})
    assert response.status_code == 201
    token = response.get_json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json()["email"] == user["email"]
    assert "password" not in me.get_json()
    from incident.extensions import db

    with app.app_context():
        stored = db.session.execute(text("SELECT token_hash, prefix FROM api_tokens")).all()
    assert len(stored) == 1
    assert token not in stored[0][0]
    assert len(stored[0][0]) == 64  # a SHA-256 digest, not the token


def test_token_request_with_a_wrong_password_is_401_and_names_no_detail(client, make_user):
    user = make_user("viewer")
    wrong = client.post("/api/v1/tokens", json={"email": user["email"], "password": "nope-nope-nope"})
    unknown = client.post("/api/v1/tokens", json={"email": "nobody@riado-test.example", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json()["message"] == unknown.get_json()["message"]


def test_token_request_missing_fields_names_them(client):
    response = client.post("/api/v1/tokens", json={"email": "a@b.example"})
    assert response.status_code == 422
    assert "password" in response.get_json()["errors"]["json"]


def test_revoked_token_and_deactivated_user_are_refused(app, client, api):
    headers, user = api("officer")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    from incident.database import utcnow
    from incident.extensions import db
    from incident.models import ApiToken, User

    with app.app_context():
        db.session.get(User, user["id"]).active = False
        db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    with app.app_context():
        db.session.get(User, user["id"]).active = True
        for token in db.session.execute(select(ApiToken)).scalars():
            token.revoked_at = utcnow()
        db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_viewer_write_is_403(client, api):
    headers, _ = api("viewer")
    response = client.post("/api/v1/users", json={"email": "x@riado-test.example"}, headers=headers)
    assert response.status_code == 403


def test_officer_user_admin_calls_are_403(client, api, make_user):
    headers, _ = api("officer")
    other = make_user("viewer")
    assert client.get("/api/v1/users", headers=headers).status_code == 403
    assert client.get(f"/api/v1/users/{other['id']}", headers=headers).status_code == 403
    create = client.post(
        "/api/v1/users",
        json={"email": "new@riado-test.example", "role": "admin", "password": PASSWORD},
        headers=headers,
    )
    assert create.status_code == 403
    promote = client.patch(f"/api/v1/users/{other['id']}", json={"role": "admin"}, headers=headers)
    assert promote.status_code == 403
    assert client.get("/api/v1/audit", headers=headers).status_code == 403


def test_admin_manages_users_through_the_api(client, api):
    headers, admin = api("admin")
    response = client.post(
        "/api/v1/users",
        json={"email": "Duty.Officer@Riado-Test.example", "role": "officer", "password": PASSWORD, "name": "Ügyeletes"},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["email"] == "duty.officer@riado-test.example"
    assert created["name"] == "Ügyeletes"
    assert "password" not in created and "password_hash" not in created
    demoted = client.patch(f"/api/v1/users/{created['id']}", json={"role": "viewer"}, headers=headers)
    assert demoted.get_json()["role"] == "viewer"
    listing = client.get("/api/v1/users?limit=1", headers=headers).get_json()
    assert listing["total"] == 2 and len(listing["items"]) == 1


def test_user_creation_errors_name_the_field_and_write_nothing(client, api):
    headers, _ = api("admin")
    cases = [
        ({"email": "not-an-email", "role": "officer", "password": PASSWORD}, "email"),
        ({"email": "a@riado-test.example", "role": "chief", "password": PASSWORD}, "role"),
        ({"email": "a@riado-test.example", "role": "officer", "password": "short"}, "password"),
        ({"role": "officer", "password": PASSWORD}, "email"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/users", json=body, headers=headers)
        assert response.status_code == 422, body
        assert field in response.get_json()["errors"]["json"], response.get_json()
    assert client.get("/api/v1/users", headers=headers).get_json()["total"] == 1


def test_duplicate_email_is_refused(client, api, make_user):
    headers, _ = api("admin")
    existing = make_user("viewer")
    response = client.post(
        "/api/v1/users", json={"email": existing["email"], "role": "viewer", "password": PASSWORD}, headers=headers
    )
    assert response.status_code == 409
    assert "email" in response.get_json()["errors"]["json"]


@pytest.mark.parametrize("lookalike", ["saj\u200btó@varos.example", "sajto\u0301@varos.example",
                                       "\u202eótjas\u202c@varos.example", "SAJTÓ@VAROS.EXAMPLE",
                                       "\u2060sajtó@varos.example\ufeff"])
def test_an_email_that_only_looks_different_is_the_same_user(app, client, api, lookalike):
    from sqlalchemy import func, select

    from incident.extensions import db
    from incident.models import User

    headers, _ = api("admin")
    body = {"email": "sajtó@varos.example", "name": "Saj\u200btó Péter", "role": "viewer", "password": PASSWORD}
    created = client.post("/api/v1/users", json=body, headers=headers)
    assert created.status_code == 201 and created.get_json()["name"] == "Sajtó Péter"
    response = client.post("/api/v1/users", json={**body, "email": lookalike}, headers=headers)
    assert response.status_code == 409 and "email" in response.get_json()["errors"]["json"], response.get_json()
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 2  # the admin and one


def test_a_look_alike_email_on_the_users_page_is_a_conflict_beside_the_field(client, make_user, login):
    from conftest import csrf_from

    login(make_user("admin"))
    page = client.get("/admin/users").get_data(as_text=True)
    form = {"name": "Sajtós", "role": "viewer", "password": "a-long-password", "csrf_token": csrf_from(page)}
    assert client.post("/admin/users", data={**form, "email": "sajto@varos.example"}).status_code == 302
    response = client.post("/admin/users", data={**form, "email": "saj\u200bto@varos.example"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'id="email-error"' in html


def test_user_names_are_stored_without_invisible_characters(client, api, make_user):
    headers, _ = api("admin")
    user = make_user("viewer")
    response = client.patch(f"/api/v1/users/{user['id']}", json={"name": "Kova\u0301cs\u200b Júlia\u202e"},
                            headers=headers)
    assert response.status_code == 200 and response.get_json()["name"] == "Kovács Júlia"


def test_admin_cannot_lock_themself_out(client, api):
    headers, admin = api("admin")
    response = client.patch(f"/api/v1/users/{admin['id']}", json={"role": "viewer"}, headers=headers)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]["json"]) == ["role"]
    response = client.patch(f"/api/v1/users/{admin['id']}", json={"active": False}, headers=headers)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]["json"]) == ["active"]
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["role"] == "admin" and me["active"] is True


def test_login_logout_through_the_form(client, make_user, login):
    user = make_user("viewer")
    assert client.get("/").status_code == 302
    response = login(user)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    page = client.get("/").get_data(as_text=True)
    logout = client.post("/logout", data={"csrf_token": csrf_from(page)})
    assert logout.status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_on_the_form_says_so(client, make_user, login):
    user = make_user("viewer")
    response = login({"email": user["email"], "password": "wrong-password"})
    assert response.status_code == 401
    assert client.get("/").status_code == 302


def test_login_redirect_goes_back_but_never_offsite(client, make_user, login):
    user = make_user("viewer")
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    ok = client.post("/login?next=/admin/users", data={**user, "csrf_token": token})
    assert ok.headers["Location"].endswith("/admin/users")
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        token = csrf_from(client.get("/login").get_data(as_text=True))
        response = client.post("/login", query_string={"next": target}, data={**user, "csrf_token": token})
        assert "evil" not in response.headers["Location"] and "javascript" not in response.headers["Location"]
        client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})


def test_form_post_without_csrf_token_is_refused(client, make_user, login):
    user = make_user("admin")
    refused = client.post("/login", data={"email": user["email"], "password": user["password"]})
    assert refused.status_code == 400
    assert client.get("/").status_code == 302  # not signed in
    login(user)
    create = client.post(
        "/admin/users",
        data={"email": "x@riado-test.example", "role": "viewer", "password": PASSWORD},
    )
    assert create.status_code == 400
    assert client.get("/").status_code == 200  # still signed in: logout without token refused too
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_session_api_writes_need_the_csrf_header(client, make_user, login):
    user = make_user("admin")
    login(user)
    body = {"email": "y@riado-test.example", "role": "viewer", "password": PASSWORD}
    assert client.post("/api/v1/users", json=body).status_code == 400
    token = csrf_from(client.get("/").get_data(as_text=True))
    assert client.post("/api/v1/users", json=body, headers={"X-CSRFToken": token}).status_code == 201
    # Reads with the session need no token.
    assert client.get("/api/v1/me").get_json()["email"] == user["email"]


def test_login_attempts_are_rate_limited(app_factory, make_user):
    app = app_factory(RIADO_LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    user = make_user("viewer")
    statuses = []
    for _ in range(4):
        token = csrf_from(client.get("/login").get_data(as_text=True))
        statuses.append(client.post("/login", data={"email": user["email"], "password": "wrong", "csrf_token": token}).status_code)
    assert statuses == [401, 401, 401, 429]
    # The right password does not get through either while the limit holds.
    token = csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={**user, "csrf_token": token}).status_code == 429
    api_statuses = [
        client.post("/api/v1/tokens", json={"email": user["email"], "password": "wrong"}).status_code for _ in range(4)
    ]
    assert api_statuses[-1] == 429


def _failed_sign_ins(client, email, forwarded_for, times):
    statuses = []
    for _ in range(times):
        token = csrf_from(client.get("/login").get_data(as_text=True))
        statuses.append(client.post("/login", data={"email": email, "password": "wrong", "csrf_token": token},
                                    headers={"X-Forwarded-For": forwarded_for}).status_code)
    return statuses


def test_behind_a_trusted_proxy_each_client_has_its_own_sign_in_limit(app_factory, make_user):
    """RIADO_TRUSTED_PROXIES=1 (nginx in front): the limit per address counts each office
    computer apart, and the audit trail records the computer's address, not the proxy's."""
    app = app_factory(RIADO_LOGIN_RATE_LIMIT="3 per minute", RIADO_TRUSTED_PROXIES=1)
    client = app.test_client()
    first, second, third = make_user("viewer"), make_user("viewer"), make_user("admin")
    assert _failed_sign_ins(client, first["email"], "10.5.0.11", 3) == [401, 401, 401]
    # Another account from the same computer: that address has used its three attempts.
    assert _failed_sign_ins(client, second["email"], "10.5.0.11", 1) == [429]
    # Another computer behind the same proxy signs in.
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={**third, "csrf_token": token}, headers={"X-Forwarded-For": "10.5.0.12"})
    assert response.status_code == 302
    token = csrf_from(client.get("/", headers={"X-Forwarded-For": "10.5.0.12"}).get_data(as_text=True))
    created = client.post("/api/v1/users", json={"email": "z@riado-test.example", "role": "viewer", "password": PASSWORD},
                          headers={"X-CSRFToken": token, "X-Forwarded-For": "10.5.0.12"})
    assert created.status_code == 201
    entries = client.get("/api/v1/audit", query_string={"entity": "users", "record_id": str(created.get_json()["id"])},
                         headers={"X-Forwarded-For": "10.5.0.12"}).get_json()["items"]
    assert [entry["remote_addr"] for entry in entries] == ["10.5.0.12"]


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_limit(app_factory, make_user):
    app = app_factory(RIADO_LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    first, second = make_user("viewer"), make_user("viewer")
    assert _failed_sign_ins(client, first["email"], "10.5.0.11", 3) == [401, 401, 401]
    assert _failed_sign_ins(client, second["email"], "10.5.0.99", 1) == [429]


def test_session_cookie_flags(client, make_user, login):
    user = make_user("viewer")
    response = login(user)
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("riado_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
