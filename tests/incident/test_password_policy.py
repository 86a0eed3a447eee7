"""The password policy: long enough, not one character over and over, not common or easily
guessed (zxcvbn), and not containing the e-mail's name; on the API, the pages and the CLI."""

from __future__ import annotations

import pytest

from conftest import PASSWORD, csrf_from
from test_cli import riado

EMAIL = "kovacs.eva@riado-test.example"
STRONG = "lamp-orbit-quarry-71"
WEAK = {
    "spaces": " " * 12,
    "one character": "aaaaaaaaaaaa",
    "one digit": "1111111111",
    "one symbol": "!!!!!!!!!!!!!!!!",
    "common digits": "1234567890",
    "common word": "password123",
    "keyboard walk": "qwertyuiop",
    "common phrase": "iloveyou12",
    "e-mail name": "KOVACS.EVA-2026!",
    "e-mail name inside": "my-kovacs.eva-secret",
    "e-mail name without its dot": "KovacsEva-ablak",
    "hungarian word and digits": "jelszo123456",
    "hungarian word, accented": "Jelszó12345",
    "riadó": "Riadó12345",
    "titok": "titok123456",
    "budapest": "Budapest2026",
    "too short": "x7#Qp",
}


def test_the_suites_and_a_strong_password_pass():
    from incident.operations.users import check_password

    for password in (PASSWORD, STRONG, "tuzoltosag-2026", "Riado-referens"):
        check_password(password, EMAIL)


@pytest.mark.parametrize("kind", sorted(WEAK))
def test_the_api_refuses_a_weak_password_naming_it(client, api, kind):
    headers, _admin = api("admin")
    response = client.post("/api/v1/users", json={"email": EMAIL, "role": "viewer", "password": WEAK[kind]},
                           headers=headers)
    assert response.status_code == 422, kind
    assert list(response.get_json()["errors"]["json"]) == ["password"]
    assert client.get("/api/v1/users", headers=headers).get_json()["total"] == 1  # nothing written


def test_the_messages_say_what_is_wrong(client, api):
    headers, _admin = api("admin")

    def message(password):
        response = client.post("/api/v1/users", json={"email": EMAIL, "role": "viewer", "password": password},
                               headers=headers)
        return response.get_json()["errors"]["json"]["password"][0]

    assert "one character" in message(" " * 12)
    assert "common" in message("password123")
    assert "e-mail" in message("Kovacs.Eva.2026")
    assert "at least 10" in message("short")


def test_zxcvbn_gets_the_users_names_and_the_municipalitys_as_hints(app, client, api, make_user):
    from incident.extensions import db
    from incident.models import Municipality
    from incident.operations.users import check_password

    check_password("Lipotvaros2026", EMAIL)  # strong as English goes...
    headers, _admin = api("admin")
    with app.app_context():
        db.session.add(Municipality(name="Budapest V. kerület Belváros-Lipótváros", short_name="Belváros-Lipótváros"))
        db.session.commit()
    for password in ("Lipotvaros2026", "Belvaros2026"):  # ...not for the district's own accounts
        response = client.post("/api/v1/users", json={"email": EMAIL, "role": "viewer", "password": password},
                               headers=headers)
        assert response.status_code == 422 and "common" in response.get_json()["errors"]["json"]["password"][0]
    check_password("Dervishazi2026", EMAIL)
    response = client.post("/api/v1/users", json={"email": EMAIL, "name": "Dervisházi Mária", "role": "viewer",
                                                  "password": "Dervishazi2026"}, headers=headers)
    assert response.status_code == 422 and "password" in response.get_json()["errors"]["json"]
    user = make_user("viewer", email="m.dervishazi@riado-test.example", name="Dervisházi Mária")
    response = client.patch(f"/api/v1/users/{user['id']}", json={"password": "Dervishazi2026"}, headers=headers)
    assert response.status_code == 422 and "password" in response.get_json()["errors"]["json"]


def test_the_own_page_refuses_the_current_password_as_the_new_one(client, make_user, login):
    user = make_user("viewer")
    client.get("/lang/en")
    login(user)
    page = client.get("/account").get_data(as_text=True)
    response = client.post("/account/password", data={"current_password": PASSWORD, "new_password": PASSWORD,
                                                      "csrf_token": csrf_from(page)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="new_password-error"' in html and "same as the current one" in html
    assert "Your password was changed" not in client.get("/account").get_data(as_text=True)


def test_a_password_change_through_the_api_is_checked_too(client, api, make_user):
    headers, _admin = api("admin")
    user = make_user("viewer", email=EMAIL)
    for password in ("zzzzzzzzzzzz", "1234567890", "kovacs.eva1234"):
        response = client.patch(f"/api/v1/users/{user['id']}", json={"password": password}, headers=headers)
        assert response.status_code == 422 and "password" in response.get_json()["errors"]["json"], password
    assert client.patch(f"/api/v1/users/{user['id']}", json={"password": STRONG}, headers=headers).status_code == 200


def test_the_api_accepts_a_strong_password(client, api):
    headers, _admin = api("admin")
    response = client.post("/api/v1/users", json={"email": EMAIL, "role": "viewer", "password": STRONG},
                           headers=headers)
    assert response.status_code == 201
    assert client.post("/api/v1/tokens", json={"email": EMAIL, "password": STRONG}).status_code == 201


def test_the_admin_pages_show_the_message_beside_the_field(client, make_user, login):
    client.get("/lang/en")
    login(make_user("admin"))
    page = client.get("/admin/users").get_data(as_text=True)
    response = client.post("/admin/users", data={"email": EMAIL, "role": "viewer", "password": "1234567890",
                                                 "csrf_token": csrf_from(page)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="password-error"' in html and "common" in html
    user = make_user("viewer", email="szabo.anna@riado-test.example")
    page = client.get(f"/admin/users/{user['id']}").get_data(as_text=True)
    response = client.post(f"/admin/users/{user['id']}", data={
        "name": "", "position": "", "role": "viewer", "active": "y", "password": "Szabo.Anna-2026",
        "csrf_token": csrf_from(page)})
    assert response.status_code == 422
    assert 'id="password-error"' in response.get_data(as_text=True)


def test_the_own_page_shows_the_message_beside_the_field(client, make_user, login):
    user = make_user("viewer")
    client.get("/lang/en")
    login(user)
    page = client.get("/account").get_data(as_text=True)
    response = client.post("/account/password", data={"current_password": PASSWORD, "new_password": " " * 12,
                                                      "csrf_token": csrf_from(page)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="new_password-error"' in html and "one character" in html


@pytest.mark.slow
def test_riado_user_create_refuses_a_weak_password():
    for password in ("aaaaaaaaaaaa", "password123", "kovacs.eva99"):
        made = riado("user", "create", EMAIL, "--role", "viewer", "--password-stdin", input=password + "\n")
        assert made.returncode != 0 and "password" in made.stderr and "Traceback" not in made.stderr, password
    made = riado("user", "create", EMAIL, "--role", "viewer", "--password-stdin", input=STRONG + "\n")
    assert made.returncode == 0, made.stderr
