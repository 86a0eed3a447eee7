"""The reception pages: the registration desk (a household in one submit, the shelter remembered,
the duplicate warning), finding a person (audited), the printed list and the CSV (names for
officers only), the headcounts on the incident page, the dashboard and the situation report."""

from __future__ import annotations

import io
import re

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


def search_post(client, q: str, **extra):
    """The find-a-person form, sent as a person sends it (POST, with its CSRF token)."""
    page = client.get("/reception/search").get_data(as_text=True)
    return client.post("/reception/search", data={"csrf_token": csrf_from(page), "q": q, **extra})


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
    # Beside the row typed: who it may be (register no. 1, in this shelter).
    assert re.search(r'id="duplicate_0" data-testid="row-duplicate">[^<]*\b1\b[^<]*Szemere utcai iskola', page)
    assert as_officer.get(f"/api/v1/incidents/{incident['id']}/reception").get_json()["totals"]["present"] == 1
    shown = re.search(r'name="duplicates_shown" value="([^"]*)"', page).group(1)
    assert shown == "0:1"  # row 0 is like register no. 1
    # A confirmation sent for other people than those the warning named asks again.
    other = desk_post(as_officer, incident, gym, [{"name": "kiss ilona", "birth_year": "1948"}],
                      confirm_duplicates="1", duplicates_shown="")
    assert other.status_code == 200 and 'data-testid="desk-duplicates"' in other.get_data(as_text=True)
    confirmed = desk_post(as_officer, incident, gym, [{"name": "kiss ilona", "birth_year": "1948"}],
                          confirm_duplicates="1", duplicates_shown=shown)
    assert confirmed.status_code == 302
    assert as_officer.get(f"/api/v1/incidents/{incident['id']}/reception").get_json()["totals"]["present"] == 2


def test_search_record_move_and_checkout_pages(app, as_officer, incident, gym):
    school = create_resource(app, name="Hold utcai iskola", kind="shelter", capacity=5, location=VIGADO)
    desk_post(as_officer, incident, gym, [{"name": "Őrsi Ödön", "birth_year": "1939", "needs": "oxygen"}])
    found = search_post(as_officer, "orsi")
    assert found.status_code == 200
    assert re.search(r'<a href="/reception/evacuees/1">Őrsi Ödön</a>', found.get_data(as_text=True))
    record = as_officer.get("/reception/evacuees/1")
    page = record.get_data(as_text=True)
    assert record.status_code == 200 and "1939" in page
    moved = as_officer.post("/reception/evacuees/1/move", data={"csrf_token": csrf_from(page), "shelter_id": school["id"]})
    assert moved.status_code == 302
    page = as_officer.get("/reception/evacuees/1").get_data(as_text=True)
    assert 'data-testid="record-departure">Távozás rögzítése<' in page and "Kijelentkeztet" not in page
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
    # A viewer's search, sent properly (signed in, with the form's CSRF token), is refused for the role.
    token = csrf_from(client.get("/reception").get_data(as_text=True))
    refused = client.post("/reception/search", data={"csrf_token": token, "q": "titkos"})
    assert refused.status_code == 403 and "Titkos" not in refused.get_data(as_text=True)
    for url in ("/reception/desk", "/reception/search?q=titkos", "/reception/evacuees/1",
                f"/reception/incidents/{incident['id']}/import?shelter_id={gym['id']}",
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
                f"/incidents/{incident['id']}", "/reception"):
        body = as_officer.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in body and '"><img src=x' not in body, url
    body = search_post(as_officer, "img").get_data(as_text=True)
    assert "1 személy" in body or "1 person" in body
    assert "<script>alert(1)</script>" not in body and '"><img src=x' not in body


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


# Closing an incident through its pages: the people still checked in are asked about


def test_closing_page_names_the_people_still_in_shelters_and_records_their_departure(app, as_officer, incident, gym):
    from factories import move_incident

    school = create_resource(app, name="Hold utcai iskola", kind="shelter", capacity=5, location=VIGADO)
    desk_post(as_officer, incident, gym, [{"name": "Maradó Margit"}, {"name": "Maradó Miklós"}])
    desk_post(as_officer, incident, school, [{"name": "Iskolai Irén"}])
    move_incident(app, incident["id"], "active", "contained")
    detail = as_officer.get(f"/incidents/{incident['id']}").get_data(as_text=True)
    # The step to closed leads to the closing page, which asks.
    assert re.search(rf'href="/incidents/{incident["id"]}/close" data-testid="to-closed"', detail)
    closing = as_officer.get(f"/incidents/{incident['id']}/close").get_data(as_text=True)
    rows = re.findall(r'data-testid="shelter-name">([^<]+)</td>\s*<td class="num" data-testid="present">(\d+)<',
                      closing)
    assert rows == [("Hold utcai iskola", "1"), ("Szemere utcai iskola tornaterme", "2")]
    assert 'href="/reception"' in closing and "Maradó" not in closing  # counts and links, no names
    assert 'name="check_out_evacuees" value="yes"' in closing
    shown = re.search(r'name="evacuees_shown" value="([^"]*)"', closing).group(1)
    assert shown == "1,2,3" or sorted(shown.split(",")) == ["1", "2", "3"]

    # A form without the choice (an old page, a hand-made request) is refused by the closing page.
    plain = as_officer.post(f"/incidents/{incident['id']}/status",
                            data={"csrf_token": csrf_from(closing), "status": "closed", "from": "contained"})
    assert plain.status_code == 409
    body = plain.get_data(as_text=True)
    assert 'data-testid="closing-error"' in body and "Hold utcai iskola: 1" in body
    # Someone checked in meanwhile: the page's count is stale, nothing is changed.
    desk_post(as_officer, incident, gym, [{"name": "Késő Kornél"}])
    stale = as_officer.post(f"/incidents/{incident['id']}/status", data={
        "csrf_token": csrf_from(closing), "status": "closed", "from": "contained", "check_out_evacuees": "yes",
        "evacuees_shown": shown})
    assert stale.status_code == 409 and 'data-testid="present-evacuees"' in stale.get_data(as_text=True)
    assert as_officer.get(f"/api/v1/incidents/{incident['id']}").get_json()["status"] == "contained"
    assert as_officer.get(f"/api/v1/incidents/{incident['id']}/reception").get_json()["totals"]["present"] == 4

    closing = as_officer.get(f"/incidents/{incident['id']}/close").get_data(as_text=True)
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', closing))
    closed = as_officer.post(f"/incidents/{incident['id']}/status", data=form, follow_redirects=True)
    assert closed.status_code == 200
    page = closed.get_data(as_text=True)
    assert "4 személy távozását" in page or "The departure of 4 persons" in page
    assert as_officer.get(f"/api/v1/incidents/{incident['id']}").get_json()["status"] == "closed"
    counts = as_officer.get(f"/api/v1/incidents/{incident['id']}/reception").get_json()
    assert counts["totals"]["present"] == 0 and counts["totals"]["received"] == 4
    assert as_officer.get(f"/api/v1/resources/{gym['id']}").get_json()["available_quantity"] == 10


# The import page is found from the reception pages


def test_the_import_page_is_linked_for_officers(app, as_officer, incident, gym):
    index = as_officer.get("/reception").get_data(as_text=True)
    chooser = re.search(r'<form method="get" action="([^"]+)"[^>]*data-testid="import-choose">(.*?)</form>', index, re.S)
    assert chooser, "no import form on the reception page"
    assert chooser.group(1) == f"/reception/incidents/{incident['id']}/import"
    assert f'<option value="{gym["id"]}">Szemere utcai iskola tornaterme</option>' in chooser.group(2)
    opened = as_officer.get(chooser.group(1), query_string={"shelter_id": gym["id"]}, follow_redirects=True)
    assert opened.status_code == 200
    assert opened.request.path == f"/reception/incidents/{incident['id']}/shelters/{gym['id']}/import"
    assert "Szemere utcai iskola tornaterme" in opened.get_data(as_text=True)
    pump = create_resource(app, name="Szivattyú", kind="pump", location=VIGADO)
    for bad in (pump["id"], 9999):
        assert as_officer.get(chooser.group(1), query_string={"shelter_id": bad}).status_code == 404, bad
    for bad in ("x", "", 2**64):
        assert as_officer.get(chooser.group(1), query_string={"shelter_id": bad}).status_code == 400, bad
    # The desk links to the import of the shelter it works for.
    desk_post(as_officer, incident, gym, [{"name": "Import Ida"}])
    desk = as_officer.get("/reception/desk").get_data(as_text=True)
    assert f'href="/reception/incidents/{incident["id"]}/shelters/{gym["id"]}/import" data-testid="desk-import"' in desk


def test_viewers_see_no_import_form(as_viewer, incident, gym):
    index = as_viewer.get("/reception").get_data(as_text=True)
    assert 'data-testid="import-choose"' not in index and "/import" not in index


# A searched name never reaches the access log


def test_a_searched_name_is_not_in_the_access_log(app, client, live_server, officer, incident, gym):
    import logging
    import urllib.parse
    import urllib.request

    from conftest import http_json

    from incident.logs import Redact

    assert http_json("POST", live_server + "/api/v1/evacuees", {
        "name": "Naplótlan Noémi", "incident_id": incident["id"], "shelter_id": gym["id"]}, officer)[0] == 201
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(Redact())  # as on every handler of riado run and riado serve
    access = logging.getLogger("werkzeug")
    level = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        status, found = http_json("GET", live_server + "/api/v1/evacuees?" + urllib.parse.urlencode(
            {"q": "Naplótlan Noémi", "status": "present"}), headers=officer)
        assert status == 200 and [e["name"] for e in found["items"]] == ["Naplótlan Noémi"]
        # The page: the name goes in the body; an old link with ?q= searches nothing.
        form = urllib.request.Request(live_server + "/reception/search", method="POST", headers=officer,
                                      data=urllib.parse.urlencode({"q": "naplotlan"}).encode())
        with urllib.request.urlopen(form, timeout=60) as response:
            assert "Naplótlan Noémi" in response.read().decode()
        old = urllib.request.Request(live_server + "/reception/search?q=Napl%C3%B3tlan", headers=officer)
        with urllib.request.urlopen(old, timeout=60) as response:
            assert "Naplótlan Noémi" not in response.read().decode()
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    log = out.getvalue()
    lines = [line for line in log.splitlines() if "/api/v1/evacuees?" in line or "/reception/search" in line]
    assert len(lines) == 3, log
    assert "q=***" in lines[0] and "status=present" in lines[0]  # what was asked stays readable
    for secret in ("Napl", "napl", "No%C3%A9mi", "Noémi"):
        assert secret not in log, secret


@pytest.mark.parametrize("line", [
    # gunicorn's access log (riado serve, text format)
    '127.0.0.1 - - [30/Nov/2026:17:24:38 +0100] "GET /api/v1/evacuees?q=Kov%C3%A1cs+Anna&limit=5 HTTP/1.1" 200 312',
    '127.0.0.1 - - [30/Nov/2026:17:24:38 +0100] "GET /api/v1/evacuees?status=present&q=Kovacs HTTP/1.1" 200 312',
    # a signed-out officer's old link, carried to the sign-in page
    '"GET /login?next=%2Freception%2Fsearch%3Fq%3DKov%C3%A1cs%26drill%3D1 HTTP/1.1" 200 -',
])
def test_the_access_log_masks_a_searched_text(line):
    from incident.logs import mask

    masked = mask(line)
    assert "Kov" not in masked and "q=***" in masked.replace("%3D", "=")
    assert ("limit=5" in masked) == ("limit=5" in line) and " 200 " in masked


def test_the_desk_forgets_an_incident_closed_since(app, as_officer, incident, gym):
    from factories import move_incident

    desk_post(as_officer, incident, gym, [{"name": "Záró Zita"}])
    desk = as_officer.get("/reception/desk").get_data(as_text=True)
    assert 'data-testid="desk-print"' in desk and f'<option value="{incident["id"]}" selected' in desk
    move_incident(app, incident["id"], "active", "contained", "closed", check_out_evacuees=True)
    desk = as_officer.get("/reception/desk").get_data(as_text=True)
    incidents = re.search(r'<select id="incident_id".*?</select>', desk, re.S).group(0)
    assert f'<option value="{incident["id"]}"' not in incidents  # a closed incident takes nobody
    assert 'data-testid="desk-print"' not in desk and 'data-testid="desk-import"' not in desk
