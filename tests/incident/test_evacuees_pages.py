"""The reception pages: the registration desk (a household in one submit, the shelter remembered,
the duplicate warning), finding a person (audited), the printed list and the CSV (names for
officers only), the headcounts on the incident page, the dashboard and the situation report."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from conftest import csrf_from
from factories import PAYLOADS, create_incident, create_resource

VIGADO = {"type": "Point", "coordinates": [19.0493, 47.4957]}


@pytest.fixture
def incident(app):
    return create_incident(app, title="Dunai árvíz – kitelepítés")


@pytest.fixture
def gym(app):
    return create_resource(app, name="Szemere utcai iskola tornaterme", kind="shelter", quantity=1, unit="épület",
                           capacity=10, location=VIGADO)


def desk_post(client, incident, gym, persons, household="", **extra):
    page = client.get("/reception/desk")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "incident_id": incident["id"],
            "shelter_id": gym["id"], "household": household, **extra}
    for i, person in enumerate(persons):
        for key, value in person.items():
            data[f"{key}_{i}"] = value
    return client.post("/reception/desk", data=data)


def test_desk_checks_in_a_household_and_remembers_the_shelter(as_officer, incident, gym):
    family = [{"name": "Varga Péter", "birth_year": "1980"}, {"name": "Varga Réka", "birth_year": "1982"},
              {"name": "Varga Bence", "birth_year": "2015"}, {"name": "Varga Zsófi", "birth_year": "2024",
                                                              "needs": "infant"}]
    response = desk_post(as_officer, incident, gym, family, household="Varga család, Nádor u. 3.")
    assert response.status_code == 302
    page = as_officer.get("/reception/desk").get_data(as_text=True)
    assert "register no. 1, 2, 3, 4" in page or "nyilvántartási szám: 1, 2, 3, 4" in page
    # The incident and the shelter stay chosen; its free places are shown.
    assert f'<option value="{gym["id"]}" selected' in page and f'<option value="{incident["id"]}" selected' in page
    assert 'data-testid="desk-free-places">6 ' in page
    listed = as_officer.get(f"/reception/incidents/{incident['id']}/shelters/{gym['id']}/print").get_data(as_text=True)
    for person in family:
        assert person["name"] in listed


def test_desk_errors_stand_beside_the_row_and_nothing_is_written(as_officer, incident, gym):
    response = desk_post(as_officer, incident, gym, [{"name": "Jó Ember"}, {"name": "", "birth_year": "1700"}])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="birth_year_1"' in page and "field-error" in page and 'value="Jó Ember"' in page
    assert as_officer.get(f"/api/v1/incidents/{incident['id']}/reception").get_json()["totals"]["present"] == 0
    full = desk_post(as_officer, incident, gym, [{"name": f"Ember {i}"} for i in range(6)])
    assert full.status_code == 302
    over = desk_post(as_officer, incident, gym, [{"name": f"Más {i}"} for i in range(5)])
    assert over.status_code == 409 and 'data-testid="desk-conflict"' in over.get_data(as_text=True)


def test_desk_warns_of_someone_present_already(as_officer, incident, gym):
    assert desk_post(as_officer, incident, gym, [{"name": "Kiss Ilona", "birth_year": "1948"}]).status_code == 302
    again = desk_post(as_officer, incident, gym, [{"name": "kiss ilona", "birth_year": "1948"}])
    assert again.status_code == 200
    page = again.get_data(as_text=True)
    assert 'data-testid="desk-duplicates"' in page and 'name="confirm_duplicates"' in page
    assert as_officer.get(f"/api/v1/incidents/{incident['id']}/reception").get_json()["totals"]["present"] == 1
    confirmed = desk_post(as_officer, incident, gym, [{"name": "kiss ilona", "birth_year": "1948"}],
                          confirm_duplicates="1")
    assert confirmed.status_code == 302
    assert as_officer.get(f"/api/v1/incidents/{incident['id']}/reception").get_json()["totals"]["present"] == 2


def test_search_record_move_and_checkout_pages(app, as_officer, incident, gym):
    school = create_resource(app, name="Hold utcai iskola", kind="shelter", capacity=5, location=VIGADO)
    desk_post(as_officer, incident, gym, [{"name": "Őrsi Ödön", "birth_year": "1939", "needs": "oxygen"}])
    found = as_officer.get("/reception/search", query_string={"q": "orsi"})
    assert found.status_code == 200 and "Őrsi Ödön" in found.get_data(as_text=True)
    record = as_officer.get("/reception/evacuees/1")
    page = record.get_data(as_text=True)
    assert record.status_code == 200 and "1939" in page
    moved = as_officer.post("/reception/evacuees/1/move", data={"csrf_token": csrf_from(page), "shelter_id": school["id"]})
    assert moved.status_code == 302
    page = as_officer.get("/reception/evacuees/1").get_data(as_text=True)
    left = as_officer.post("/reception/evacuees/1/checkout", data={"csrf_token": csrf_from(page), "destination": "Eger"})
    assert left.status_code == 302
    assert as_officer.get(f"/api/v1/resources/{school['id']}").get_json()["available_quantity"] == 5
    with app.app_context():
        from incident.extensions import db

        actions = [r[0] for r in db.session.execute(text(
            "SELECT action FROM audit_log WHERE entity = 'evacuees' AND action IN ('search', 'read') ORDER BY id"))]
    assert actions == ["search", "read", "read"]


def test_viewers_are_refused_names_on_every_page(client, make_user, login, app, incident, gym):
    officer = make_user("officer")
    login(officer)
    desk_post(client, incident, gym, [{"name": "Titkos Teréz", "birth_year": "1950", "needs": "wheelchair"}])
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})
    login(make_user("viewer"))
    for url in ("/reception/desk", "/reception/search?q=titkos", "/reception/evacuees/1",
                f"/reception/incidents/{incident['id']}/shelters/{gym['id']}/export.csv",
                f"/reception/incidents/{incident['id']}/shelters/{gym['id']}/import"):
        assert client.get(url).status_code == 403, url
    for url in ("/reception", f"/reception/incidents/{incident['id']}/shelters/{gym['id']}/print",
                f"/incidents/{incident['id']}", f"/incidents/{incident['id']}/report", "/",
                "/api/v1/map/resources.geojson"):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert "Titkos" not in body and "Teréz" not in body, url
    printed = client.get(f"/reception/incidents/{incident['id']}/shelters/{gym['id']}/print").get_data(as_text=True)
    assert 'data-testid="print-present">1<' in printed and 'data-testid="print-counts-only"' in printed


def test_headcounts_on_the_incident_page_dashboard_and_report(as_officer, incident, gym):
    desk_post(as_officer, incident, gym, [{"name": "Öreg Olga", "birth_year": "1940", "needs": "wheelchair"},
                                          {"name": "Kis Kata", "birth_year": "2020"}])
    detail = as_officer.get(f"/incidents/{incident['id']}").get_data(as_text=True)
    assert 'data-testid="total-present">2<' in detail and 'data-testid="total-children">1<' in detail
    assert 'data-testid="total-elderly">1<' in detail
    report = as_officer.get(f"/incidents/{incident['id']}/report").get_data(as_text=True)
    assert 'data-testid="report-reception-counts"' in report and 'data-testid="total-present">2<' in report
    assert "Öreg Olga" not in report  # the report is counts only, whoever prints it
    dashboard = as_officer.get("/").get_data(as_text=True)
    assert 'data-testid="reception-present">2<' in dashboard


def test_user_text_is_escaped_on_the_pages(as_officer, incident, app):
    hostile = create_resource(app, name=PAYLOADS[0], kind="shelter", capacity=3, location=VIGADO)
    desk_post(as_officer, incident, hostile, [{"name": PAYLOADS[1], "notes": PAYLOADS[4]}], household=PAYLOADS[2])
    for url in ("/reception/evacuees/1", f"/reception/incidents/{incident['id']}/shelters/{hostile['id']}/print",
                f"/incidents/{incident['id']}", "/reception", "/reception/search?q=img"):
        body = as_officer.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in body and '"><img src=x' not in body, url


def test_csv_export_and_import_all_or_nothing(as_officer, incident, gym):
    desk_post(as_officer, incident, gym, [{"name": "Export Elek", "birth_year": "1960", "needs": "medication"}])
    url = f"/reception/incidents/{incident['id']}/shelters/{gym['id']}"
    exported = as_officer.get(f"{url}/export.csv?headers=codes")
    assert exported.status_code == 200
    csv_text = exported.get_data(as_text=True)
    assert "Export Elek" in csv_text and "medication" in csv_text

    def upload(data: str, **form):
        page = as_officer.get(f"{url}/import").get_data(as_text=True)
        return as_officer.post(f"{url}/import", data={"csrf_token": csrf_from(page), **form,
                                                      "file": (io.BytesIO(data.encode("utf-8")), "list.csv")},
                               content_type="multipart/form-data")

    # The export imports back unchanged.
    same = upload(csv_text)
    assert same.status_code == 200 and 'data-testid="unchanged">1<' in same.get_data(as_text=True)
    bad = upload("name;birth_year;needs\nÚj Ugor;1990;\n;1800;unicorn\n")
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "Row 3" in page or "3. sor" in page or ">3<" in page
    assert as_officer.get(f"/api/v1/incidents/{incident['id']}/reception").get_json()["totals"]["present"] == 1
    good = upload("Név;Születési év;Szükségletek\nÚj Ugor;1990;wheelchair|pet\nÚj Ubul;2019;\n")
    assert good.status_code == 200, good.get_data(as_text=True)
    counts = as_officer.get(f"/api/v1/incidents/{incident['id']}/reception").get_json()["totals"]
    assert counts["present"] == 3 and counts["needs"]["pet"] == 1
    too_many = upload("name\n" + "\n".join(f"Sok {i}" for i in range(8)) + "\n")
    assert too_many.status_code == 422
    assert as_officer.get(f"/api/v1/incidents/{incident['id']}/reception").get_json()["totals"]["present"] == 3
