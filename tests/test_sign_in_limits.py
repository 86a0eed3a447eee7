"""Sign-in limits (README "Sign-in limits"): counted in the database, so every web process shares
them; one budget per account across /login and POST /api/v1/tokens; an attacker's failures hold
back unknown addresses, never the owner at an address they signed in from before."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select, update

from conftest import PASSWORD, csrf_from

LIMIT = "3 per minute"


def _form(client, email, password, addr):
    """A sign-in through the form from a fresh browser at ``addr`` (its pages in English)."""
    client = client.application.test_client()
    client.get("/lang/en")
    token = csrf_from(client.get("/login", environ_base={"REMOTE_ADDR": addr}).get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": addr})


def _api(client, email, password, addr):
    return client.post("/api/v1/tokens", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": addr})


def _attempts(app):
    from incident.extensions import db
    from incident.models import SignInAttempt

    with app.app_context():
        return db.session.execute(select(func.count()).select_from(SignInAttempt)).scalar_one()


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
    assert _api(first.test_client(), user["email"], "wrong-guess", "10.0.0.1").status_code == 401
    assert _api(second.test_client(), user["email"], "wrong-guess", "10.0.0.1").status_code == 429
    assert _form(first.test_client(), user["email"], PASSWORD, "10.0.0.1").status_code == 429


def test_the_form_and_the_api_share_one_budget_per_account(app_factory, make_user):
    app = app_factory(RIADO_LOGIN_RATE_LIMIT=LIMIT)
    client = app.test_client()
    user = make_user("viewer")
    # From three addresses that never signed in to this account, over both doors.
    assert _form(client, user["email"], "wrong-guess", "10.0.0.1").status_code == 401
    assert _api(client, user["email"], "wrong-guess", "10.0.0.2").status_code == 401
    assert _form(client, user["email"], "wrong-guess", "10.0.0.3").status_code == 401
    # The account's budget for unknown addresses is spent, on both doors, even with the password.
    assert _api(client, user["email"], PASSWORD, "10.0.0.4").status_code == 429
    assert _form(client, user["email"], PASSWORD, "10.0.0.5").status_code == 429
    # The case of the address does not make another account.
    assert _api(client, user["email"].upper(), PASSWORD, "10.0.0.6").status_code == 429


def test_an_attacker_cannot_lock_the_owner_out(app_factory, make_user):
    app = app_factory(RIADO_LOGIN_RATE_LIMIT=LIMIT)
    client = app.test_client()
    owner = make_user("officer")
    # The owner signed in from their office computer B before.
    assert _form(client, owner["email"], PASSWORD, "10.0.0.2").status_code == 302
    # The attacker at A spends the account's budget (and their own address's).
    assert [_form(client, owner["email"], "guess-" + str(i), "10.6.6.6").status_code for i in range(4)] == \
        [401, 401, 401, 429]
    assert _api(client, owner["email"], PASSWORD, "10.6.6.6").status_code == 429
    # The owner at B signs in, on both doors.
    assert _form(client, owner["email"], PASSWORD, "10.0.0.2").status_code == 302
    assert _api(client, owner["email"], PASSWORD, "10.0.0.2").status_code == 201
    # A new address C is refused for this account, even with the right password...
    assert _form(client, owner["email"], PASSWORD, "10.0.0.3").status_code == 429
    assert _api(client, owner["email"], PASSWORD, "10.0.0.3").status_code == 429
    # ...but not for another account.
    other = make_user("viewer")
    assert _api(client, other["email"], PASSWORD, "10.0.0.3").status_code == 201


def test_a_known_address_is_still_held_by_its_own_budget(app_factory, make_user):
    app = app_factory(RIADO_LOGIN_RATE_LIMIT=LIMIT)
    client = app.test_client()
    owner = make_user("officer")
    assert _api(client, owner["email"], PASSWORD, "10.0.0.2").status_code == 201
    assert [_api(client, owner["email"], "wrong-guess", "10.0.0.2").status_code for _ in range(4)] == [401, 401, 401, 429]
    # Those failures came from a known address: the account's budget for others is untouched.
    assert _api(client, owner["email"], PASSWORD, "10.0.0.3").status_code == 201


def test_an_address_unseen_for_90_days_is_no_longer_known(app_factory, make_user):
    from incident.database import utcnow
    from incident.extensions import db
    from incident.models import SignInAttempt

    app = app_factory(RIADO_LOGIN_RATE_LIMIT=LIMIT)
    client = app.test_client()
    owner = make_user("officer")
    assert _api(client, owner["email"], PASSWORD, "10.0.0.2").status_code == 201
    with app.app_context():
        db.session.execute(update(SignInAttempt).values(at=utcnow() - dt.timedelta(days=91)))
        db.session.commit()
    for addr in ("10.6.6.1", "10.6.6.2", "10.6.6.3"):
        assert _api(client, owner["email"], "wrong-guess", addr).status_code == 401
    assert _api(client, owner["email"], PASSWORD, "10.0.0.2").status_code == 429


def test_too_many_failures_from_one_address_is_429_with_retry_after(app_factory, make_user):
    app = app_factory(RIADO_LOGIN_RATE_LIMIT=LIMIT)
    client = app.test_client()
    users = [make_user("viewer") for _ in range(3)]
    statuses = [_form(client, user["email"], "wrong-guess", "10.6.6.6").status_code for user in users]
    statuses.append(_form(client, "nobody@riado-test.example", "wrong-guess", "10.6.6.6").status_code)
    assert statuses == [401, 401, 401, 429]
    page = _form(client, make_user("viewer")["email"], PASSWORD, "10.6.6.6")
    assert page.status_code == 429
    assert 0 < int(page.headers["Retry-After"]) <= 60
    assert "Too many failed sign-ins" in page.get_data(as_text=True)
    api = _api(client, users[0]["email"], PASSWORD, "10.6.6.6")
    assert api.status_code == 429 and 0 < int(api.headers["Retry-After"]) <= 60
    assert api.get_json()["code"] == 429
    # Another address is not held back.
    assert _api(client, users[1]["email"], PASSWORD, "10.0.0.9").status_code == 201


def test_failures_older_than_the_window_no_longer_count_and_are_pruned(app_factory, make_user):
    from incident.database import utcnow
    from incident.extensions import db
    from incident.models import SignInAttempt

    app = app_factory(RIADO_LOGIN_RATE_LIMIT=LIMIT)
    client = app.test_client()
    user = make_user("viewer")
    assert [_api(client, user["email"], "wrong-guess", "10.6.6.6").status_code for _ in range(4)] == [401, 401, 401, 429]
    with app.app_context():
        db.session.execute(update(SignInAttempt).values(at=utcnow() - dt.timedelta(seconds=61)))
        db.session.commit()
    assert _api(client, user["email"], "wrong-guess", "10.6.6.6").status_code == 401
    assert _attempts(app) == 1  # the old failures are gone


def test_a_refused_attempt_is_not_counted_again(app_factory, make_user):
    """Attempts refused with 429 are not recorded: hammering does not push the window forward."""
    app = app_factory(RIADO_LOGIN_RATE_LIMIT=LIMIT)
    client = app.test_client()
    user = make_user("viewer")
    for _ in range(3):
        _api(client, user["email"], "wrong-guess", "10.6.6.6")
    for _ in range(5):
        assert _api(client, user["email"], "wrong-guess", "10.6.6.6").status_code == 429
    assert _attempts(app) == 3


def test_a_wrong_current_password_on_the_own_page_counts_as_a_failed_sign_in(app_factory, make_user):
    """Otherwise a stolen session could guess the password there without a limit."""
    app = app_factory(RIADO_LOGIN_RATE_LIMIT=LIMIT)
    client = app.test_client()
    user = make_user("viewer")
    at = {"REMOTE_ADDR": "10.6.6.6"}
    token = csrf_from(client.get("/login", environ_base=at).get_data(as_text=True))
    signed_in = client.post("/login", data={**user, "csrf_token": token}, environ_base=at)
    assert signed_in.status_code == 302
    statuses = []
    for _ in range(4):
        page = client.get("/account", environ_base={"REMOTE_ADDR": "10.6.6.6"}).get_data(as_text=True)
        statuses.append(client.post("/account/password", environ_base={"REMOTE_ADDR": "10.6.6.6"}, data={
            "current_password": "wrong-guess", "new_password": "lamp-orbit-quarry-71", "csrf_token": csrf_from(page)
        }).status_code)
    assert statuses == [422, 422, 422, 429]


def test_the_setting_reads_like_a_rate_and_a_bad_one_stops_the_start(app_factory):
    from incident import ConfigurationError
    from incident.operations.sign_in import parse_limit

    assert parse_limit("10 per minute") == parse_limit("10/minute")
    assert parse_limit("5 per 15 minutes").window == dt.timedelta(minutes=15)
    assert parse_limit("20 per hour").failures == 20
    for bad in ("lots", "0 per minute", "10 per fortnight", "10 per 0 minutes", ""):
        with pytest.raises(ConfigurationError, match="RIADO_LOGIN_RATE_LIMIT"):
            app_factory(RIADO_LOGIN_RATE_LIMIT=bad)
