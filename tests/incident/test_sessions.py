"""Sessions and tokens that end (SPEC §3 "Sessions and tokens"): signing out, a password change
or reset and a deactivation end what they must everywhere; tokens expire and can be revoked."""

from __future__ import annotations

import datetime as dt

import pytest

from sqlalchemy import select, update

from conftest import PASSWORD, csrf_from
from test_cli import riado

NEW_PASSWORD = "lamp-orbit-quarry-71"


def _sign_in(app, user, **environ):
    """A fresh browser signed in as ``user`` through the real form (its pages in English)."""
    browser = app.test_client()
    browser.get("/lang/en", environ_base=environ)
    token = csrf_from(browser.get("/login", environ_base=environ).get_data(as_text=True))
    response = browser.post("/login", data={"email": user["email"], "password": user["password"], "csrf_token": token},
                            environ_base=environ)
    assert response.status_code == 302, response.status_code
    return browser


def _signed_in(browser) -> bool:
    page = browser.get("/")
    api = browser.get("/api/v1/me")
    assert (page.status_code == 200) == (api.status_code == 200), (page.status_code, api.status_code)
    if page.status_code != 200:
        assert page.status_code == 302 and "/login" in page.headers["Location"]
        assert api.status_code == 401
    return page.status_code == 200


def _copy_of(app, browser):
    """Another browser holding a copy of ``browser``'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("riado_session", browser.get_cookie("riado_session").value)
    return thief


def _works(client, token) -> bool:
    status = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code
    assert status in (200, 401)
    return status == 200


def _csrf(browser, path="/") -> str:
    return csrf_from(browser.get(path).get_data(as_text=True))


def _audit(app, entity):
    from incident.extensions import db
    from incident.models import AuditEntry

    with app.app_context():
        rows = db.session.execute(select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)).scalars()
        return [(row.actor, row.action, row.changes) for row in rows]


# --- sign-out ---------------------------------------------------------------------------------

def test_a_cookie_copied_before_sign_out_is_dead_after_it(app, make_user):
    user = make_user("officer")
    browser = _sign_in(app, user)
    thief = _copy_of(app, browser)
    assert _signed_in(thief)
    assert browser.post("/logout", data={"csrf_token": _csrf(browser)}).status_code == 302
    assert not _signed_in(browser)
    assert not _signed_in(thief)


def test_signing_out_one_browser_leaves_the_users_other_sessions(app, make_user):
    user = make_user("viewer")
    first, second = _sign_in(app, user), _sign_in(app, user)
    first.post("/logout", data={"csrf_token": _csrf(first)})
    assert not _signed_in(first)
    assert _signed_in(second)


def test_an_expired_session_is_dead(app, make_user):
    from incident.database import utcnow
    from incident.extensions import db
    from incident.models import UserSession

    user = make_user("viewer")
    browser = _sign_in(app, user)
    assert _signed_in(browser)
    with app.app_context():
        db.session.execute(update(UserSession).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()
    assert not _signed_in(browser)


def test_a_session_in_use_is_kept_alive(app, make_user):
    """The expiry slides with use (as the cookie's does): a session seen a while ago is touched."""
    from incident.database import utcnow
    from incident.extensions import db
    from incident.models import UserSession

    user = make_user("viewer")
    browser = _sign_in(app, user)
    long_ago = utcnow() - dt.timedelta(hours=1)
    with app.app_context():
        db.session.execute(update(UserSession).values(last_seen_at=long_ago, expires_at=utcnow() + dt.timedelta(minutes=1)))
        db.session.commit()
    assert _signed_in(browser)
    with app.app_context():
        row = db.session.execute(select(UserSession)).scalar_one()
        assert row.last_seen_at > long_ago
        assert row.expires_at > utcnow() + dt.timedelta(hours=11)


def test_a_session_ends_a_day_after_sign_in_however_much_it_is_used(app, make_user):
    """RIADO_SESSION_MAX_AGE (24 hours): the idle expiry slides with use, the absolute one does not."""
    from incident.database import utcnow
    from incident.extensions import db
    from incident.models import UserSession

    user = make_user("viewer")
    browser = _sign_in(app, user)
    now = utcnow()
    with app.app_context():  # used all day long: seen a minute ago, its idle expiry far ahead
        db.session.execute(update(UserSession).values(created_at=now - dt.timedelta(hours=23, minutes=50),
                                                      last_seen_at=now - dt.timedelta(minutes=6),
                                                      expires_at=now + dt.timedelta(hours=11)))
        db.session.commit()
    assert _signed_in(browser)
    with app.app_context():  # touched: its expiry now stops at the day's end, not 12 hours on
        row = db.session.execute(select(UserSession)).scalar_one()
        assert row.expires_at <= row.created_at + dt.timedelta(hours=24)
        db.session.execute(update(UserSession).values(created_at=now - dt.timedelta(hours=24, minutes=1),
                                                      last_seen_at=now - dt.timedelta(minutes=1),
                                                      expires_at=now + dt.timedelta(hours=11)))
        db.session.commit()
    assert not _signed_in(browser)
    assert not _signed_in(_copy_of(app, browser))
    with app.app_context():
        assert app.config["RIADO_SESSION_MAX_AGE"] == dt.timedelta(hours=24)


def test_sessions_ended_or_expired_over_90_days_ago_are_deleted(app, make_user):
    """Their address and browser are personal data: kept 90 days for a look back, then gone."""
    from incident.database import utcnow
    from incident.extensions import db
    from incident.models import UserSession

    user = make_user("viewer")
    for _ in range(4):
        _sign_in(app, user)
    now = utcnow()
    with app.app_context():
        ids = db.session.execute(select(UserSession.id).order_by(UserSession.id)).scalars().all()
        old = now - dt.timedelta(days=91)
        db.session.execute(update(UserSession).where(UserSession.id == ids[0]).values(ended_at=old, ended_reason="sign-out"))
        db.session.execute(update(UserSession).where(UserSession.id == ids[1]).values(expires_at=old))
        db.session.execute(update(UserSession).where(UserSession.id == ids[2]).values(
            ended_at=now - dt.timedelta(days=89), ended_reason="sign-out"))
        db.session.commit()
    _sign_in(app, user)  # any sign-in attempt prunes
    with app.app_context():
        left = db.session.execute(select(UserSession.id).order_by(UserSession.id)).scalars().all()
    assert left[:2] == ids[2:] and len(left) == 3


def test_signing_in_over_a_live_session_ends_it(app, make_user):
    """Signing in again in a browser (as the same or another user) starts a new session: the old
    one ends on the server too, so a copy of its cookie is dead."""
    first, second = make_user("viewer"), make_user("officer")
    browser = _sign_in(app, first)
    thief = _copy_of(app, browser)
    assert _signed_in(thief)
    for user in (second, first):
        token = csrf_from(browser.get("/account").get_data(as_text=True))
        response = browser.post("/login", data={"email": user["email"], "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302
        assert not _signed_in(thief)
        assert _signed_in(browser)
        thief = _copy_of(app, browser)
    from incident.extensions import db
    from incident.models import UserSession

    with app.app_context():
        reasons = db.session.execute(select(UserSession.ended_reason).order_by(UserSession.id)).scalars().all()
    assert reasons == ["signed-in-again", "signed-in-again", None]


def test_the_session_key_is_stored_only_as_a_digest(app, make_user):
    from incident.extensions import db
    from incident.models import UserSession

    user = make_user("viewer")
    browser = _sign_in(app, user, REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="Firefox/140 " + "x" * 500)
    cookie = browser.get_cookie("riado_session").value
    with app.app_context():
        row = db.session.execute(select(UserSession)).scalar_one()
        assert len(row.key_hash) == 64 and row.key_hash not in cookie
        assert row.remote_addr == "10.1.2.3"
        assert row.user_agent.startswith("Firefox/140") and len(row.user_agent) <= 200
        assert row.user_id == user["id"] and row.ended_at is None


# --- password changes and resets ----------------------------------------------------------------

def test_an_admin_password_reset_ends_the_users_sessions_and_tokens_but_not_the_admins(app, make_user, token_for):
    admin, user = make_user("admin"), make_user("officer")
    admin_browser, user_browser = _sign_in(app, admin), _sign_in(app, user)
    token = token_for(user)
    client = app.test_client()
    assert _works(client, token)
    page = admin_browser.get(f"/admin/users/{user['id']}").get_data(as_text=True)
    response = admin_browser.post(f"/admin/users/{user['id']}", data={
        "name": "", "position": "", "role": "officer", "active": "y", "password": NEW_PASSWORD,
        "csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert not _signed_in(user_browser)
    assert not _works(client, token)
    assert _signed_in(admin_browser)
    # The user signs in again with the new password.
    assert _signed_in(_sign_in(app, {**user, "password": NEW_PASSWORD}))
    # The audit trail says who ended them.
    ended = [row for row in _audit(app, "user_sessions") if row[1] == "update"]
    assert ended and all(actor == admin["email"] for actor, _action, _changes in ended)
    revoked = [row for row in _audit(app, "api_tokens") if row[1] == "update"]
    assert revoked and revoked[0][0] == admin["email"] and "revoked_at" in revoked[0][2]


def test_a_password_reset_through_the_api_ends_the_users_sessions_and_tokens(app, make_user, token_for, api):
    headers, _admin = api("admin")
    user = make_user("viewer")
    user_browser, token = _sign_in(app, user), token_for(user)
    client = app.test_client()
    response = client.patch(f"/api/v1/users/{user['id']}", json={"password": NEW_PASSWORD}, headers=headers)
    assert response.status_code == 200
    assert not _signed_in(user_browser)
    assert not _works(client, token)
    assert _works(client, headers["Authorization"][7:])


def test_a_password_change_through_the_api_keeps_the_calling_token(app, make_user, token_for):
    """As the calling browser session is kept: the token making the change goes on working."""
    admin = make_user("admin")
    calling, other = token_for(admin), token_for(admin)
    client = app.test_client()
    response = client.patch(f"/api/v1/users/{admin['id']}", json={"password": NEW_PASSWORD},
                            headers={"Authorization": f"Bearer {calling}"})
    assert response.status_code == 200
    assert _works(client, calling)
    assert not _works(client, other)


def test_a_token_asked_for_with_a_password_is_audited_as_the_users(app, make_user):
    user = make_user("officer")
    response = app.test_client().post("/api/v1/tokens", json={"email": user["email"], "password": PASSWORD,
                                                              "name": "laptop"})
    assert response.status_code == 201
    created = [row for row in _audit(app, "api_tokens") if row[1] == "create"]
    assert [actor for actor, _action, _changes in created] == [user["email"]]


def test_a_name_change_ends_nothing(app, make_user, token_for, api):
    headers, _admin = api("admin")
    user = make_user("viewer")
    user_browser, token = _sign_in(app, user), token_for(user)
    client = app.test_client()
    assert client.patch(f"/api/v1/users/{user['id']}", json={"name": "Kovács Éva"}, headers=headers).status_code == 200
    assert _signed_in(user_browser) and _works(client, token)


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(app, make_user, token_for):
    user = make_user("viewer")
    here, elsewhere = _sign_in(app, user), _sign_in(app, user)
    token = token_for(user)
    page = here.get("/account").get_data(as_text=True)
    wrong = here.post("/account/password", data={"current_password": "not-my-password", "new_password": NEW_PASSWORD,
                                                 "csrf_token": csrf_from(page)})
    assert wrong.status_code == 422
    assert 'id="current_password-error"' in wrong.get_data(as_text=True)
    assert _signed_in(elsewhere)
    response = here.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                    "csrf_token": csrf_from(page)}, follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Your password was changed" in html and "1 other session" in html and "1 token" in html
    assert _signed_in(here)
    assert not _signed_in(elsewhere)
    assert not _works(app.test_client(), token)


def test_the_own_password_change_needs_the_csrf_token(app, make_user):
    user = make_user("viewer")
    here = _sign_in(app, user)
    response = here.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert _signed_in(_sign_in(app, user))  # the old password still works


# --- deactivation ---------------------------------------------------------------------------------

def test_deactivating_ends_everything_and_reactivating_revives_nothing(app, make_user, token_for, api):
    headers, _admin = api("admin")
    user = make_user("officer")
    browser, token = _sign_in(app, user), token_for(user)
    thief = _copy_of(app, browser)
    client = app.test_client()
    assert client.patch(f"/api/v1/users/{user['id']}", json={"active": False}, headers=headers).status_code == 200
    assert client.patch(f"/api/v1/users/{user['id']}", json={"active": True}, headers=headers).status_code == 200
    assert not _signed_in(browser)
    assert not _signed_in(thief)
    assert not _works(client, token)
    assert _signed_in(_sign_in(app, user))  # a new sign-in works again


def test_deactivating_on_the_admin_page_ends_everything(app, make_user, token_for):
    admin, user = make_user("admin"), make_user("officer")
    admin_browser, user_browser, token = _sign_in(app, admin), _sign_in(app, user), token_for(user)
    page = admin_browser.get(f"/admin/users/{user['id']}").get_data(as_text=True)
    response = admin_browser.post(f"/admin/users/{user['id']}", data={
        "name": "", "position": "", "role": "officer", "csrf_token": csrf_from(page)})  # "active" unchecked
    assert response.status_code == 302
    page = admin_browser.get(f"/admin/users/{user['id']}").get_data(as_text=True)
    admin_browser.post(f"/admin/users/{user['id']}", data={
        "name": "", "position": "", "role": "officer", "active": "y", "csrf_token": csrf_from(page)})
    assert not _signed_in(user_browser)
    assert not _works(app.test_client(), token)


# --- tokens: expiry, list, revoke ---------------------------------------------------------------

def test_an_expired_token_is_401(app, client, api):
    from incident.database import utcnow
    from incident.extensions import db
    from incident.models import ApiToken

    headers, _user = api("viewer")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with app.app_context():
        db.session.execute(update(ApiToken).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert "expired" in response.get_json()["message"]


def test_a_token_asked_for_with_days_expires_then(app, client, make_user):
    from incident.database import utcnow

    user = make_user("viewer")
    response = client.post("/api/v1/tokens", json={"email": user["email"], "password": PASSWORD, "days": 7})
    assert response.status_code == 201
    token = response.get_json()["token"]
    listed = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
    expires = dt.datetime.fromisoformat(listed[0]["expires_at"])
    assert abs(expires - (utcnow() + dt.timedelta(days=7))) < dt.timedelta(minutes=5)
    for days in (0, -1, "soon"):
        refused = client.post("/api/v1/tokens", json={"email": user["email"], "password": PASSWORD, "days": days})
        assert refused.status_code == 422 and "days" in refused.get_json()["errors"]["json"], days
    forever = client.post("/api/v1/tokens", json={"email": user["email"], "password": PASSWORD})
    listed = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {forever.get_json()['token']}"}).get_json()
    assert listed["total"] == 2 and [item["expires_at"] for item in listed["items"]].count(None) == 1


def test_the_token_list_shows_ones_own_tokens_without_secrets(app, client, make_user, token_for):
    user, other = make_user("viewer"), make_user("viewer")
    mine = [token_for(user), token_for(user)]
    token_for(other)
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {mine[0]}"})
    listing = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {mine[0]}"})
    assert listing.status_code == 200
    body = listing.get_json()
    assert body["total"] == 2
    item = body["items"][0]
    assert set(item) == {"id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"}
    text = listing.get_data(as_text=True)
    assert all(token not in text and token[12:] not in text for token in mine)
    assert all(token[:12] in text for token in mine)
    assert any(item["last_used_at"] for item in body["items"])
    # Someone else's list is for admins only.
    assert client.get(f"/api/v1/tokens?user_id={other['id']}", headers={"Authorization": f"Bearer {mine[0]}"}).status_code == 403


def test_an_admin_lists_another_users_tokens(client, api, make_user, token_for):
    headers, _admin = api("admin")
    user = make_user("officer")
    token_for(user)
    listing = client.get(f"/api/v1/tokens?user_id={user['id']}", headers=headers)
    assert listing.status_code == 200 and listing.get_json()["total"] == 1
    assert client.get("/api/v1/tokens?user_id=99999", headers=headers).status_code == 404


def test_revoking_ones_own_token(app, client, make_user, token_for):
    user = make_user("viewer")
    keep, drop = token_for(user), token_for(user)
    headers = {"Authorization": f"Bearer {keep}"}
    items = client.get("/api/v1/tokens", headers=headers).get_json()["items"]
    drop_id = next(item["id"] for item in items if drop.startswith(item["prefix"]))
    response = client.delete(f"/api/v1/tokens/{drop_id}", headers=headers)
    assert response.status_code == 204
    assert not _works(client, drop)
    assert _works(client, keep)
    listed = {item["id"]: item for item in client.get("/api/v1/tokens", headers=headers).get_json()["items"]}
    assert listed[drop_id]["revoked_at"] is not None
    assert client.delete(f"/api/v1/tokens/{drop_id}", headers=headers).status_code == 204  # already revoked
    assert client.delete("/api/v1/tokens/99999", headers=headers).status_code == 404


def test_another_users_token_is_404_for_a_non_admin_and_revocable_by_an_admin(app, client, make_user, token_for, api):
    officer, victim = make_user("officer"), make_user("viewer")
    officer_headers = {"Authorization": f"Bearer {token_for(officer)}"}
    victim_token = token_for(victim)
    admin_headers, admin = api("admin")
    victim_id = client.get(f"/api/v1/tokens?user_id={victim['id']}", headers=admin_headers).get_json()["items"][0]["id"]
    assert client.delete(f"/api/v1/tokens/{victim_id}", headers=officer_headers).status_code == 404
    assert _works(client, victim_token)
    assert client.delete(f"/api/v1/tokens/{victim_id}", headers=admin_headers).status_code == 204
    assert not _works(client, victim_token)
    revoked = [row for row in _audit(app, "api_tokens") if row[1] == "update"]
    assert revoked[-1][0] == admin["email"] and "revoked_at" in revoked[-1][2]


def test_revoking_through_the_session_needs_the_csrf_header(app, make_user, token_for):
    user = make_user("viewer")
    token = token_for(user)
    browser = _sign_in(app, user)
    token_id = browser.get("/api/v1/tokens").get_json()["items"][0]["id"]
    assert browser.delete(f"/api/v1/tokens/{token_id}").status_code == 400
    assert _works(browser, token)
    assert browser.delete(f"/api/v1/tokens/{token_id}", headers={"X-CSRFToken": _csrf(browser)}).status_code == 204
    assert not _works(app.test_client(), token)


# --- the command line -----------------------------------------------------------------------------

@pytest.mark.slow
def test_cli_token_create_with_days_and_revoke(app, client, make_user):
    from incident.database import utcnow
    from incident.extensions import db
    from incident.models import ApiToken

    user = make_user("officer")
    made = riado("token", "create", user["email"], "--days", "30")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert _works(client, token)
    with app.app_context():
        expires = db.session.execute(select(ApiToken.expires_at)).scalar_one()
    assert abs(expires - (utcnow() + dt.timedelta(days=30))) < dt.timedelta(minutes=5)
    for days in ("0", "-3", "x"):
        refused = riado("token", "create", user["email"], "--days", days)
        assert refused.returncode != 0 and refused.stdout == "" and "days" in refused.stderr, days
    second = riado("token", "create", user["email"]).stdout.strip()
    revoked = riado("token", "revoke", user["email"])
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout == ""
    assert "2" in revoked.stderr
    assert not _works(client, token) and not _works(client, second)
    again = riado("token", "revoke", user["email"])
    assert again.returncode == 0 and "0" in again.stderr
    unknown = riado("token", "revoke", "nobody@riado-test.example")
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr
    assert [row[0] for row in _audit(app, "api_tokens") if row[1] == "update"] == ["cli", "cli"]


# --- the user's own page ----------------------------------------------------------------------

def test_every_role_has_its_own_page_linked_from_the_header(app, make_user):
    for role in ("viewer", "officer", "admin"):
        user = make_user(role, name=f"Teszt {role}", position="Referens")
        browser = _sign_in(app, user)
        header = browser.get("/").get_data(as_text=True)
        assert 'href="/account"' in header
        page = browser.get("/account")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert f"Teszt {role}" in html and "Referens" in html and user["email"] in html


def test_creating_and_revoking_a_token_on_ones_own_page(app, make_user):
    user = make_user("viewer")
    browser = _sign_in(app, user)
    page = browser.get("/account").get_data(as_text=True)
    created = browser.post("/account/tokens", data={"name": "laptop script", "days": "30", "csrf_token": csrf_from(page)})
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    html = created.get_data(as_text=True)
    token = next(word for word in html.replace('"', " ").replace("<", " ").replace(">", " ").split()
                 if word.startswith("riado_") and len(word) > 30)
    client = app.test_client()
    assert _works(client, token)
    later = browser.get("/account").get_data(as_text=True)
    assert "laptop script" in later and token[:12] in later and token not in later  # shown once
    token_id = browser.get("/api/v1/tokens").get_json()["items"][0]["id"]
    # Without the CSRF token the revoke button does nothing.
    assert browser.post(f"/account/tokens/{token_id}/revoke").status_code == 400
    assert _works(client, token)
    revoked = browser.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_from(later)})
    assert revoked.status_code == 302
    assert not _works(client, token)
    for days in ("0", "１２", "1 2", "soon", "3651"):
        bad = browser.post("/account/tokens", data={"name": "x", "days": days, "csrf_token": csrf_from(later)})
        assert bad.status_code == 422 and 'id="days-error"' in bad.get_data(as_text=True), days


def test_reloading_the_answer_that_showed_a_new_token_makes_no_second_one(app, make_user):
    import re

    user = make_user("viewer")
    browser = _sign_in(app, user)
    page = browser.get("/account").get_data(as_text=True)
    nonce = re.search(r'name="nonce"[^>]*value="([^"]+)"', page).group(1)
    form = {"name": "laptop script", "days": "", "nonce": nonce, "csrf_token": csrf_from(page)}
    assert browser.post("/account/tokens", data=form).status_code == 200
    again = browser.post("/account/tokens", data=form)  # the browser's "resubmit the form?"
    assert again.status_code == 302 and again.headers["Location"].endswith("/account")
    assert len(browser.get("/api/v1/tokens").get_json()["items"]) == 1
    assert browser.get("/account/tokens").status_code == 302  # the answer's address, from the history
    fresh = browser.get("/account").get_data(as_text=True)
    assert re.search(r'name="nonce"[^>]*value="([^"]+)"', fresh).group(1) != nonce


def test_ones_own_page_cannot_revoke_someone_elses_token(app, make_user, token_for):
    user, other = make_user("officer"), make_user("viewer")
    other_token = token_for(other)
    browser = _sign_in(app, user)
    from incident.extensions import db
    from incident.models import ApiToken

    with app.app_context():
        other_id = db.session.execute(select(ApiToken.id)).scalar_one()
    response = browser.post(f"/account/tokens/{other_id}/revoke", data={"csrf_token": _csrf(browser, "/account")})
    assert response.status_code == 404
    assert _works(app.test_client(), other_token)


def test_signing_out_ones_other_sessions(app, make_user, token_for):
    user = make_user("viewer")
    here, elsewhere = _sign_in(app, user), _sign_in(app, user)
    token = token_for(user)
    response = here.post("/account/sessions/end-others", data={"csrf_token": _csrf(here, "/account")},
                         follow_redirects=True)
    assert response.status_code == 200 and "1 other session" in response.get_data(as_text=True)
    assert _signed_in(here)
    assert not _signed_in(elsewhere)
    assert _works(app.test_client(), token)  # tokens are revoked one by one


# --- the admin's user page ------------------------------------------------------------------------

def test_the_admin_user_page_lists_and_revokes_tokens_and_ends_sessions(app, make_user, token_for):
    admin, user = make_user("admin"), make_user("officer")
    admin_browser, user_browser = _sign_in(app, admin), _sign_in(app, user, HTTP_USER_AGENT="Firefox/140")
    token = token_for(user)
    page = admin_browser.get(f"/admin/users/{user['id']}").get_data(as_text=True)
    assert token[:12] in page and "Firefox/140" in page
    token_id = admin_browser.get(f"/api/v1/tokens?user_id={user['id']}").get_json()["items"][0]["id"]
    assert admin_browser.post(f"/admin/users/{user['id']}/tokens/{token_id}/revoke").status_code == 400
    revoked = admin_browser.post(f"/admin/users/{user['id']}/tokens/{token_id}/revoke",
                                 data={"csrf_token": csrf_from(page)})
    assert revoked.status_code == 302
    assert not _works(app.test_client(), token)
    assert _signed_in(user_browser)
    assert admin_browser.post(f"/admin/users/{user['id']}/sessions/end").status_code == 400
    assert _signed_in(user_browser)
    second = token_for(user)
    ended = admin_browser.post(f"/admin/users/{user['id']}/sessions/end", data={"csrf_token": csrf_from(page)})
    assert ended.status_code == 302
    assert not _signed_in(user_browser)
    assert not _works(app.test_client(), second)  # "everywhere": the tokens too
    assert _signed_in(admin_browser)
    sessions = [row for row in _audit(app, "user_sessions") if row[1] == "update"]
    assert sessions and sessions[-1][0] == admin["email"]
    assert "Firefox/140" not in admin_browser.get(f"/admin/users/{user['id']}").get_data(as_text=True)


def test_officers_cannot_use_the_admin_session_and_token_buttons(app, make_user, token_for):
    officer, user = make_user("officer"), make_user("viewer")
    token = token_for(user)
    browser, user_browser = _sign_in(app, officer), _sign_in(app, user)
    csrf = _csrf(browser)
    from incident.extensions import db
    from incident.models import ApiToken

    with app.app_context():
        token_id = db.session.execute(select(ApiToken.id)).scalar_one()
    assert browser.post(f"/admin/users/{user['id']}/tokens/{token_id}/revoke", data={"csrf_token": csrf}).status_code == 403
    assert browser.post(f"/admin/users/{user['id']}/sessions/end", data={"csrf_token": csrf}).status_code == 403
    assert _works(app.test_client(), token) and _signed_in(user_browser)

