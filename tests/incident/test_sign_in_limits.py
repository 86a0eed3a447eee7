"""Sign-in limits (README "Sign-in limits"), after OWASP's "Slow Down Online Guessing Attacks with
Device Cookies": a browser that signed in to an account before carries a signed device cookie and
is held back only by its own budget; every other attempt (a new browser, a script) spends the
account's budget for untrusted clients and its address's. Counted in the database, so every web
process shares them, over /login, POST /api/v1/tokens and the current password on /account."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading

import pytest
from sqlalchemy import func, select, update

from conftest import PASSWORD, csrf_from, http_json

LIMIT = "3 per minute"


@pytest.fixture
def app(app_factory):
    """This module's app: 3 failures per minute, so that budgets run out in a few requests."""
    return app_factory(RIADO_LOGIN_RATE_LIMIT=LIMIT)


def _browser(app, addr="10.0.0.1"):
    """A new browser (no cookies) at ``addr``, its pages in English."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = addr
    browser.get("/lang/en")
    return browser


def _form(browser, email, password):
    """A sign-in through the form from ``browser`` (with whatever cookies it holds; signed out
    first if it is signed in, as when its session ended some day before)."""
    page = browser.get("/login")
    if page.status_code == 302:
        assert browser.post("/logout", data={"csrf_token": csrf_from(_text(browser.get("/account")))}).status_code == 302
        page = browser.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    return browser.post("/login", data={"email": email, "password": password, "csrf_token": token})


def _api(app, email, password, addr="10.0.0.1"):
    """A script asking for a token: no cookies at all."""
    return app.test_client().post("/api/v1/tokens", json={"email": email, "password": password},
                                  environ_base={"REMOTE_ADDR": addr})


def _text(response) -> str:
    return response.get_data(as_text=True)


def _attempts(app):
    from incident.extensions import db
    from incident.models import SignInAttempt

    with app.app_context():
        return db.session.execute(select(func.count()).select_from(SignInAttempt)).scalar_one()


def _signed_in_browser(app, user, addr="10.0.0.1"):
    browser = _browser(app, addr)
    assert _form(browser, user["email"], user["password"]).status_code == 302
    return browser


OTHER_PROCESS = """
import sys
from incident import create_app
app = create_app({"TESTING": True, "RIADO_LOGIN_RATE_LIMIT": "3 per minute"})
client = app.test_client()
for _ in range(2):
    response = client.post("/api/v1/tokens", json={"email": sys.argv[1], "password": "wrong-guess"},
                           environ_base={"REMOTE_ADDR": "10.0.0.1"})
    print(response.status_code)
"""


def test_two_processes_share_the_count(app_factory, make_user):
    """Another process on the same database (as another gunicorn worker is): its failures count
    here, and both app instances in this process count together too."""
    first, second = app_factory(RIADO_LOGIN_RATE_LIMIT=LIMIT), app_factory(RIADO_LOGIN_RATE_LIMIT=LIMIT)
    user = make_user("viewer")
    other = subprocess.run([sys.executable, "-c", OTHER_PROCESS, user["email"]], capture_output=True, text=True,
                           timeout=120, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert other.returncode == 0, other.stderr
    assert other.stdout.split() == ["401", "401"]
    assert _api(first, user["email"], "wrong-guess").status_code == 401
    assert _api(second, user["email"], "wrong-guess", "10.0.0.2").status_code == 429
    assert _form(_browser(first, "10.0.0.3"), user["email"], PASSWORD).status_code == 429


def test_the_form_and_the_api_share_one_budget_for_new_browsers(app, make_user):
    user = make_user("viewer")
    # Three clients without a device cookie, from three addresses, over both doors.
    assert _form(_browser(app, "10.0.0.1"), user["email"], "wrong-guess").status_code == 401
    assert _api(app, user["email"], "wrong-guess", "10.0.0.2").status_code == 401
    assert _form(_browser(app, "10.0.0.3"), user["email"], "wrong-guess").status_code == 401
    # The account's budget for untrusted clients is spent, on both doors, even with the password.
    assert _api(app, user["email"], PASSWORD, "10.0.0.4").status_code == 429
    assert _form(_browser(app, "10.0.0.5"), user["email"], PASSWORD).status_code == 429
    # The case of the address does not make another account.
    assert _api(app, user["email"].upper(), PASSWORD, "10.0.0.6").status_code == 429


def test_an_attacker_cannot_lock_out_a_browser_the_owner_signed_in_from(app, make_user):
    owner = make_user("officer")
    office = _signed_in_browser(app, owner, "10.0.0.2")  # the owner's office computer, some day before
    # The attacker, even behind the same address, spends the account's budget for new browsers.
    attacker = _browser(app, "10.0.0.2")
    assert [_form(attacker, owner["email"], f"guess-{i}").status_code for i in range(4)] == [401, 401, 401, 429]
    assert _api(app, owner["email"], PASSWORD, "10.0.0.2").status_code == 429
    # The owner's browser signs in (its device cookie), again and again.
    assert _form(office, owner["email"], PASSWORD).status_code == 302
    assert _form(office, owner["email"], PASSWORD).status_code == 302
    # A new browser is refused for this account, even with the right password...
    assert _form(_browser(app, "10.0.0.3"), owner["email"], PASSWORD).status_code == 429
    # ...but not for another account.
    other = make_user("viewer")
    assert _form(_browser(app, "10.0.0.3"), other["email"], PASSWORD).status_code == 302
    assert _api(app, other["email"], PASSWORD, "10.0.0.3").status_code == 201


def test_colleagues_behind_one_address_are_held_back_neither_by_a_stranger_nor_by_each_other(app, make_user):
    first, second, third = make_user("officer"), make_user("officer"), make_user("viewer")
    office_a, office_b = _signed_in_browser(app, first, "10.0.0.1"), _signed_in_browser(app, second, "10.0.0.1")
    # A stranger behind the office's NAT sprays three accounts: the address's budget for
    # untrusted clients is spent.
    for user in (first, second, third):
        assert _api(app, user["email"], "wrong-guess", "10.0.0.1").status_code == 401
    assert _api(app, make_user("viewer")["email"], PASSWORD, "10.0.0.1").status_code == 429
    assert _form(_browser(app, "10.0.0.1"), third["email"], PASSWORD).status_code == 429
    # The colleagues' browsers sign in all the same.
    assert _form(office_a, first["email"], PASSWORD).status_code == 302
    assert _form(office_b, second["email"], PASSWORD).status_code == 302
    # One colleague's typos spend their own browser's budget only.
    assert [_form(office_a, first["email"], "typo-typo").status_code for _ in range(4)] == [401, 401, 401, 429]
    assert _form(office_b, second["email"], PASSWORD).status_code == 302
    # And the account's budget for new browsers is untouched by them: from home, the first signs in.
    assert _form(_browser(app, "10.9.9.9"), first["email"], PASSWORD).status_code == 302


def test_the_device_budget_holds_the_owners_own_typos(app, make_user):
    owner = make_user("officer")
    office = _signed_in_browser(app, owner)
    assert [_form(office, owner["email"], "typo-typo").status_code for _ in range(3)] == [401, 401, 401]
    refused = _form(office, owner["email"], PASSWORD)
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    assert "Try again in 1 minute." in _text(refused)
    # Another browser of the owner is a new browser: the account's budget for those is untouched.
    assert _form(_browser(app, "10.0.0.1"), owner["email"], PASSWORD).status_code == 302


def test_a_device_cookie_counts_only_for_its_own_account_and_only_when_signed(app, app_factory, make_user):
    insider, victim = make_user("viewer"), make_user("officer")
    # The victim's device cookie as a server with another SECRET_KEY signed it.
    elsewhere = app_factory(RIADO_LOGIN_RATE_LIMIT=LIMIT, SECRET_KEY="another-secret-key")
    foreign = _signed_in_browser(elsewhere, victim, "10.0.0.9").get_cookie("riado_device").value
    browser = _signed_in_browser(app, insider, "10.0.0.7")  # the insider's own device cookie
    # Guessing the victim's password from it spends the victim's budget for untrusted clients.
    assert [_form(browser, victim["email"], f"guess-{i}").status_code for i in range(4)] == [401, 401, 401, 429]
    assert _form(_browser(app, "10.0.0.8"), victim["email"], PASSWORD).status_code == 429
    # A cookie not signed with this server's key is no device cookie here...
    forged = _browser(app, "10.0.0.9")
    forged.set_cookie("riado_device", foreign)
    assert _form(forged, victim["email"], PASSWORD).status_code == 429
    # ...where it was signed, it is.
    there = _browser(elsewhere, "10.0.0.9")
    there.set_cookie("riado_device", foreign)
    assert _form(there, victim["email"], PASSWORD).status_code == 302
    # The insider's browser still signs in as the insider.
    assert _form(browser, insider["email"], PASSWORD).status_code == 302


def test_the_device_cookie_is_long_lived_private_and_stored_only_as_a_digest(app_factory, make_user):
    from incident.extensions import db
    from incident.models import SignInAttempt

    app = app_factory(RIADO_LOGIN_RATE_LIMIT=LIMIT, SESSION_COOKIE_SECURE=True)
    owner = make_user("officer")
    browser = _browser(app)
    response = _form(browser, owner["email"], PASSWORD)
    assert response.status_code == 302
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("riado_device="))
    flags = [part.strip() for part in cookie.split(";")]
    assert "HttpOnly" in flags and "SameSite=Lax" in flags and "Secure" in flags and "Path=/" in flags
    assert int(next(f for f in flags if f.startswith("Max-Age=")).split("=")[1]) >= 180 * 86400
    value = browser.get_cookie("riado_device").value
    assert owner["email"].split("@")[0] not in value  # the account appears only as a digest
    assert _form(browser, owner["email"], "typo-typo").status_code == 401
    with app.app_context():
        row = db.session.execute(select(SignInAttempt)).scalar_one()
        assert len(row.device) == 64 and row.device not in value
    # Signing in again keeps the browser's device (its budget goes on), with a fresh signature.
    assert _form(browser, owner["email"], PASSWORD).status_code == 302
    assert _form(browser, owner["email"], "typo-typo").status_code == 401
    with app.app_context():
        assert len(set(db.session.execute(select(SignInAttempt.device)).scalars())) == 1


def test_a_browser_keeps_device_cookies_for_several_accounts(app, make_user):
    """A shared office computer: each colleague who signed in there is trusted there."""
    first, second = make_user("officer"), make_user("officer")
    shared = _signed_in_browser(app, first)
    assert _form(shared, second["email"], PASSWORD).status_code == 302
    for user in (first, second):
        for i in range(3):
            assert _form(_browser(app, f"10.1.0.{i}"), user["email"], "guess").status_code == 401
    assert _form(shared, first["email"], PASSWORD).status_code == 302
    assert _form(shared, second["email"], PASSWORD).status_code == 302


@pytest.mark.parametrize("spelling", ["{e}\u200b", "\u2060{e}", " {E} ", "{nfd}", "{e}\u202c"])
def test_look_alike_spellings_of_an_address_spend_the_same_budget(app, make_user, spelling):
    """Each spelling finds the same user at sign-in, so it must count against the same budget."""
    import unicodedata

    victim = make_user("officer", email="ágnes.kiss@riado-test.example")
    email = victim["email"]
    variant = spelling.format(e=email, E=email.upper(), nfd=unicodedata.normalize("NFD", email))
    assert variant != email
    assert _api(app, variant, PASSWORD, "10.0.0.1").status_code == 201  # the same account
    for i in range(3):
        assert _api(app, variant, "wrong-guess", f"10.0.1.{i}").status_code == 401
    assert _api(app, email, PASSWORD, "10.0.0.9").status_code == 429


def test_parallel_wrong_guesses_check_at_most_the_limit(app, make_user, live_server):
    """Twelve wrong guesses at once against a limit of three: at most three passwords are
    checked, every other guess is refused, and nothing refused stays counted."""
    user = make_user("officer")
    barrier = threading.Barrier(12)
    statuses = []

    def guess(i):
        barrier.wait()
        status, _body = http_json("POST", f"{live_server}/api/v1/tokens",
                                  {"email": user["email"], "password": f"wrong-guess-{i}"})
        statuses.append(status)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(statuses) == 12 and set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= 3, statuses
    assert _attempts(app) == statuses.count(401)
    # The budget holds afterwards too.
    assert _api(app, user["email"], PASSWORD, "10.0.0.2").status_code == (201 if statuses.count(401) < 3 else 429)


def test_too_many_failures_from_one_address_is_429_with_retry_after(app, make_user):
    users = [make_user("viewer") for _ in range(3)]
    statuses = [_form(_browser(app, "10.6.6.6"), user["email"], "wrong-guess").status_code for user in users]
    statuses.append(_form(_browser(app, "10.6.6.6"), "nobody@riado-test.example", "wrong-guess").status_code)
    assert statuses == [401, 401, 401, 429]
    page = _form(_browser(app, "10.6.6.6"), make_user("viewer")["email"], PASSWORD)
    assert page.status_code == 429
    assert 0 < int(page.headers["Retry-After"]) <= 60
    assert "Too many failed sign-ins. Try again in 1 minute." in _text(page)
    api = _api(app, users[0]["email"], PASSWORD, "10.6.6.6")
    assert api.status_code == 429 and 0 < int(api.headers["Retry-After"]) <= 60
    assert api.get_json()["code"] == 429
    # Another address is not held back.
    assert _api(app, users[1]["email"], PASSWORD, "10.0.0.9").status_code == 201


def test_the_pause_message_tells_the_owner_what_still_works(app_factory, make_user):
    app = app_factory(RIADO_LOGIN_RATE_LIMIT="3 per 15 minutes")
    owner = make_user("officer")
    for i in range(3):
        assert _api(app, owner["email"], "wrong-guess", f"10.6.6.{i}").status_code == 401
    page = _form(_browser(app, "10.0.0.1"), owner["email"], PASSWORD)
    assert page.status_code == 429 and 840 < int(page.headers["Retry-After"]) <= 900
    text = " ".join(_text(page).split())
    assert "Sign-in to this account from a new browser is paused for 15 minutes because of repeated failed " \
           "attempts." in text
    assert "A browser you have signed in from before still works" in text
    assert "an administrator can lift the pause" in text
    assert "seconds" not in text
    api = _api(app, owner["email"], PASSWORD, "10.0.0.1")
    assert "paused for 15 minutes" in api.get_json()["message"]


def test_failures_older_than_the_window_no_longer_count_and_are_pruned_after_a_day(app, make_user):
    from incident.database import utcnow
    from incident.extensions import db
    from incident.models import SignInAttempt

    user = make_user("viewer")
    assert [_api(app, user["email"], "wrong-guess").status_code for _ in range(4)] == [401, 401, 401, 429]
    with app.app_context():
        db.session.execute(update(SignInAttempt).values(at=utcnow() - dt.timedelta(seconds=61)))
        db.session.commit()
    assert _api(app, user["email"], "wrong-guess").status_code == 401
    assert _attempts(app) == 4  # kept for the admin's page (a day)...
    with app.app_context():
        db.session.execute(update(SignInAttempt).values(at=utcnow() - dt.timedelta(hours=24, seconds=1)))
        db.session.commit()
    assert _api(app, user["email"], "wrong-guess").status_code == 401
    assert _attempts(app) == 1  # ...and no longer


def test_a_refused_attempt_is_not_counted_and_a_success_leaves_nothing(app, make_user):
    """Attempts refused with 429 are not kept: hammering does not push the window forward."""
    user, other = make_user("viewer"), make_user("viewer")
    for _ in range(3):
        _api(app, user["email"], "wrong-guess")
    for _ in range(5):
        assert _api(app, user["email"], "wrong-guess").status_code == 429
    assert _attempts(app) == 3
    assert _api(app, other["email"], PASSWORD, "10.0.0.2").status_code == 201
    assert _attempts(app) == 3


def test_a_wrong_current_password_on_the_own_page_counts_as_a_failed_sign_in(app, make_user):
    """Otherwise a stolen session could guess the password there without a limit."""
    user = make_user("viewer")
    browser = _signed_in_browser(app, user, "10.6.6.6")
    assert browser.get("/account").status_code == 200
    statuses = []
    for _ in range(4):
        page = browser.get("/account").get_data(as_text=True)
        statuses.append(browser.post("/account/password", data={
            "current_password": "wrong-guess", "new_password": "lamp-orbit-quarry-71", "csrf_token": csrf_from(page)
        }).status_code)
    assert statuses == [422, 422, 422, 429]


def test_the_setting_reads_like_a_rate_and_a_bad_one_stops_the_start(app_factory):
    from incident import ConfigurationError
    from incident.operations.sign_in import parse_limit

    assert parse_limit("10 per minute") == parse_limit("10/minute")
    assert parse_limit("5 per 15 minutes").window == dt.timedelta(minutes=15)
    assert parse_limit("20 per hour").failures == 20
    assert parse_limit("100000 per 24 hours").window == dt.timedelta(days=1)
    for bad in ("lots", "0 per minute", "10 per fortnight", "10 per 0 minutes", "",
                "\u0661\u0660 per minute", "10 per \u0661\u0665 minutes", "10 per 99999999999999999999 days",
                "99999999999999999999999 per minute", "10 per 2 days", "100001 per hour"):
        with pytest.raises(ConfigurationError, match="RIADO_LOGIN_RATE_LIMIT") as caught:
            app_factory(RIADO_LOGIN_RATE_LIMIT=bad)
        assert str(caught.value).count(".") <= 2 and "\n" not in str(caught.value), bad


# --- the admin's view: failures of the last day, and lifting the pause --------------------------

def test_the_admin_sees_failed_sign_ins_and_lifts_the_pause(app, make_user):
    from incident.extensions import db
    from incident.models import AuditEntry

    admin, owner = make_user("admin"), make_user("officer")
    for i in range(3):
        assert _api(app, owner["email"], "wrong-guess", f"10.6.6.{i}").status_code == 401
    assert _form(_browser(app, "10.0.0.5"), owner["email"], PASSWORD).status_code == 429
    console = _signed_in_browser(app, admin, "10.0.0.9")
    page = " ".join(_text(console.get(f"/admin/users/{owner['id']}")).split())
    assert "Failed sign-ins in the last 24 hours: 3" in page
    assert "10.6.6.2" in page  # the last address
    assert "Sign-in to this account from a new browser is paused for 1 more minute." in page
    assert "Lift the sign-in pause" in page
    # Without the CSRF token: refused, nothing cleared.
    assert console.post(f"/admin/users/{owner['id']}/sign-in-pause/lift").status_code == 400
    assert _attempts(app) == 3
    token = csrf_from(_text(console.get(f"/admin/users/{owner['id']}")))
    lifted = console.post(f"/admin/users/{owner['id']}/sign-in-pause/lift", data={"csrf_token": token})
    assert lifted.status_code == 302
    page = " ".join(_text(console.get(lifted.headers["Location"])).split())
    assert "Failed sign-ins in the last 24 hours: 0" in page and "paused" not in page
    assert _form(_browser(app, "10.0.0.5"), owner["email"], PASSWORD).status_code == 302
    with app.app_context():
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "lift-pause")).scalar_one()
        assert (entry.actor, entry.entity, entry.record_id) == (admin["email"], "users", str(owner["id"]))
        assert entry.changes == {"failed_sign_ins_cleared": 3}


def test_only_admins_lift_a_sign_in_pause(app, make_user):
    officer, owner = make_user("officer"), make_user("officer")
    for i in range(3):
        _api(app, owner["email"], "wrong-guess", f"10.6.6.{i}")
    browser = _signed_in_browser(app, officer, "10.0.0.9")
    token = csrf_from(_text(browser.get("/account")))
    assert browser.post(f"/admin/users/{owner['id']}/sign-in-pause/lift", data={"csrf_token": token}).status_code == 403
    assert _attempts(app) == 3
