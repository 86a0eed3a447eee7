"""CSV files in the officer's language: a page's export names its columns (and the words in its
cells) as the page does, the API's keeps the codes, and the importer takes either, in Hungarian
or English, naming the person and the cell of every bad row, and warning before a contact is
added twice."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from conftest import csrf_from

VIGADO = {"type": "Point", "coordinates": [19.0493123, 47.4957456]}

HU_CONTACT_HEADER = ["Azonosító", "Név", "Telefonszám", "E-mail", "Szervezet", "Beosztás, feladat",
                     "Riasztási csoportok", "SMS-hozzájárulás", "Szélesség", "Hosszúság", "Megjegyzés"]
EN_CONTACT_HEADER = ["Id", "Name", "Phone", "Email", "Organization", "Task or position", "Alert groups", "SMS consent",
                     "Latitude", "Longitude", "Notes"]
CONTACT_CODES = ["id", "name", "phone", "email", "organization", "role", "groups", "sms_opt_in", "latitude",
                 "longitude", "notes"]
HU_RESOURCE_HEADER = ["Azonosító", "Név", "Fajta", "Mennyiség", "Mértékegység", "Befogadóképesség (fő)", "Állapot",
                      "Tulajdonos", "Kapcsolattartó azonosítója", "Kapcsolattartó", "Szélesség", "Hosszúság",
                      "Megjegyzés"]
RESOURCE_CODES = ["id", "name", "kind", "quantity", "unit", "capacity", "status", "owner", "contact_id", "contact",
                  "latitude", "longitude", "notes"]


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _html(response) -> str:
    return response.get_data(as_text=True)


def _api_upload(client, path, content: bytes, headers, dry_run=False):
    return client.post(path + ("?dry_run=1" if dry_run else ""), data={"file": (io.BytesIO(content), "lista.csv")},
                       headers=headers, content_type="multipart/form-data")


def _page_upload(client, path, content: bytes, dry_run=False):
    """The import page's form, as an officer sends it (with its CSRF token)."""
    token = csrf_from(_html(client.get(path)))
    data = {"csrf_token": token, "file": (io.BytesIO(content), "lista.csv")}
    if dry_run:
        data["dry_run"] = "y"
    return client.post(path, data=data, content_type="multipart/form-data")


def _count(app, model) -> int:
    from incident.extensions import db

    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _counts(app) -> tuple[int, int, int]:
    from incident.models import AuditEntry, Contact, Resource

    return tuple(_count(app, model) for model in (Contact, Resource, AuditEntry))


def _report_number(html: str, testid: str) -> int:
    return int(re.search(rf'data-testid="{testid}">(\d+)<', html).group(1))


@pytest.fixture
def registry(client, officer):
    """Two groups, three contacts (one opted out), a pump (deployed, with a contact person) and a
    shelter, made through the API."""
    g1 = client.post("/api/v1/groups", json={"name": "Helyi Védelmi Bizottság"}, headers=officer).get_json()["id"]
    g2 = client.post("/api/v1/groups", json={"name": "Sajtó, média"}, headers=officer).get_json()["id"]
    anna = client.post("/api/v1/contacts", json={
        "name": "Kovács Anna", "phone": "06 30 123 4567", "email": "kovacs.anna@belvaros.example",
        "organization": "Önkormányzat", "role": "Polgármester", "groups": [g1, g2], "location": VIGADO,
        "notes": 'sor1\nsor2 "idézet"; vessző,'}, headers=officer).get_json()
    client.post("/api/v1/contacts", json={"name": "Nagy Béla", "phone": "+36 20 555 0101", "role": "=referens"},
                headers=officer)
    out = client.post("/api/v1/contacts", json={"name": "Őri Ödön", "phone": "06 70 555 1234"}, headers=officer)
    client.patch(f"/api/v1/contacts/{out.get_json()['id']}", json={"sms_opt_in": False}, headers=officer)
    pump = client.post("/api/v1/resources", json={
        "name": "Szivattyú, Belgrád rakpart", "kind": "pump", "quantity": 3, "unit": "db", "owner": "Vízmű",
        "contact_id": anna["id"], "location": VIGADO}, headers=officer).get_json()
    client.patch(f"/api/v1/resources/{pump['id']}", json={"status": "deployed"}, headers=officer)
    client.post("/api/v1/resources", json={"name": "Tornaterem, Hold utca", "kind": "shelter", "capacity": 220,
                                           "location": VIGADO}, headers=officer)
    return {"anna": anna, "groups": (g1, g2)}


def _state(client, officer):
    return (client.get("/api/v1/contacts", headers=officer).get_json()["items"],
            client.get("/api/v1/resources", headers=officer).get_json()["items"])


# Exports


def test_a_page_export_names_the_columns_and_the_words_in_cells_as_the_page_does(registry, as_officer):
    contacts = as_officer.get("/contacts/export.csv")
    assert contacts.status_code == 200 and contacts.mimetype == "text/csv"
    assert contacts.data.startswith(b"\xef\xbb\xbf")
    header, *rows = _rows(contacts.data)
    assert header == HU_CONTACT_HEADER
    by_name = {row[1]: dict(zip(header, row)) for row in rows}
    assert by_name["Kovács Anna"]["SMS-hozzájárulás"] == "igen" and by_name["Őri Ödön"]["SMS-hozzájárulás"] == "nem"
    assert by_name["Kovács Anna"]["Riasztási csoportok"] == "Helyi Védelmi Bizottság | Sajtó, média"
    assert by_name["Nagy Béla"]["Beosztás, feladat"] == "'=referens"  # still neutralised against formulas

    resources = as_officer.get("/resources/export.csv")
    header, *rows = _rows(resources.data)
    assert header == HU_RESOURCE_HEADER
    by_name = {row[1]: dict(zip(header, row)) for row in rows}
    pump = by_name["Szivattyú, Belgrád rakpart"]
    assert (pump["Fajta"], pump["Állapot"], pump["Kapcsolattartó"]) == ("Szivattyú", "bevetésen", "Kovács Anna")
    assert (by_name["Tornaterem, Hold utca"]["Fajta"], by_name["Tornaterem, Hold utca"]["Állapot"]) == (
        "Befogadóhely", "bevethető")

    as_officer.get("/lang/en")
    header, *rows = _rows(as_officer.get("/contacts/export.csv").data)
    assert header == EN_CONTACT_HEADER
    assert {row[1]: row[7] for row in rows}["Kovács Anna"] == "yes"
    header, *rows = _rows(as_officer.get("/resources/export.csv").data)
    assert header[2] == "Kind" and {row[1]: (row[2], row[6]) for row in rows}["Szivattyú, Belgrád rakpart"] == (
        "Pump", "deployed")


def test_a_page_export_offers_the_codes_and_the_pages_link_both(registry, as_officer):
    header, *rows = _rows(as_officer.get("/contacts/export.csv?headers=codes").data)
    assert header == CONTACT_CODES
    assert {row[1]: row[7] for row in rows} == {"Kovács Anna": "yes", "Nagy Béla": "yes", "Őri Ödön": "no"}
    header, *rows = _rows(as_officer.get("/resources/export.csv?headers=codes").data)
    assert header == RESOURCE_CODES
    assert {row[1]: (row[2], row[6]) for row in rows} == {"Szivattyú, Belgrád rakpart": ("pump", "deployed"),
                                                          "Tornaterem, Hold utca": ("shelter", "available")}
    for page, path in (("/contacts", "/contacts/export.csv"), ("/resources", "/resources/export.csv")):
        html = _html(as_officer.get(page))
        assert f'href="{path}"' in html and f'href="{path}?headers=codes"' in html, page
        assert "oszlopnevek kódként (angolul)" in html


def test_a_viewers_page_export_masks_phones_as_the_api_does(registry, as_viewer):
    header, *rows = _rows(as_viewer.get("/contacts/export.csv").data)
    phones = {row[1]: row[2] for row in rows}
    assert phones["Kovács Anna"] == "'+36 30 *** **67"


def test_the_api_export_keeps_the_codes_unless_labels_are_asked_for(registry, client, officer):
    header, *rows = _rows(client.get("/api/v1/contacts/export.csv", headers=officer).data)
    assert header == CONTACT_CODES and {row[1]: row[7] for row in rows}["Kovács Anna"] == "yes"
    header, *rows = _rows(client.get("/api/v1/resources/export.csv", headers=officer).data)
    assert header == RESOURCE_CODES and {row[1]: row[2] for row in rows}["Szivattyú, Belgrád rakpart"] == "pump"
    header, *rows = _rows(client.get("/api/v1/contacts/export.csv?headers=labels&lang=hu", headers=officer).data)
    assert header == HU_CONTACT_HEADER and {row[1]: row[7] for row in rows}["Kovács Anna"] == "igen"
    header, _ = _rows(client.get("/api/v1/contacts/export.csv?headers=labels", headers=officer).data)[:2]
    assert header == EN_CONTACT_HEADER
    bad = client.get("/api/v1/contacts/export.csv?headers=nevek", headers=officer)
    assert bad.status_code == 422 and "headers" in bad.get_json()["errors"]["query"]


# Imports: the column names and the words in cells


def test_the_importer_takes_the_ui_labels_in_either_language_whatever_their_case_and_spacing(client, officer):
    group = client.post("/api/v1/groups", json={"name": "Iskolaigazgatók"}, headers=officer).get_json()["id"]
    hungarian = ("  NÉV ;telefonszám;Beosztás,   feladat;riasztási csoportok;SMS-HOZZÁJÁRULÁS;Szélesség;Hosszúság\n"
                 "Kovács Júlia;06 30 123 4567;igazgató;Iskolaigazgatók;Igen;47,4930;19,0560\n"
                 "Őri Ödön;06 20 555 0101;elnök;;NEM;;\n").encode("utf-8-sig")
    report = _api_upload(client, "/api/v1/contacts/import", hungarian, officer).get_json()
    assert report["errors"] == [] and report["created"] == 2, report
    english = ("Name,Phone,Task or position,Alert groups,SMS consent\n"
               "Tóth Anna,06 30 765 4321,titkár,iskolaigazgatók,true\n"
               "Kiss Pál,06 70 555 9876,,,false\n").encode()
    report = _api_upload(client, "/api/v1/contacts/import", english, officer).get_json()
    assert report["errors"] == [] and report["created"] == 2, report
    items = {c["name"]: c for c in client.get("/api/v1/contacts", headers=officer).get_json()["items"]}
    assert (items["Kovács Júlia"]["role"], items["Kovács Júlia"]["groups"], items["Kovács Júlia"]["sms_opt_in"]) == (
        "igazgató", [group], True)
    assert items["Kovács Júlia"]["location"]["coordinates"] == [19.056, 47.493]
    assert (items["Tóth Anna"]["role"], items["Tóth Anna"]["groups"]) == ("titkár", [group])
    assert [items[name]["sms_opt_in"] for name in ("Őri Ödön", "Tóth Anna", "Kiss Pál")] == [False, True, False]


def test_the_import_page_takes_a_hungarian_file_as_the_export_writes_it(app, as_officer):
    from incident.models import Contact

    data = ("Név;Telefonszám;Beosztás, feladat;SMS-hozzájárulás\n"
            "Kovács Júlia;06 30 123 4567;igazgató;igen\n").encode("utf-8-sig")
    response = _page_upload(as_officer, "/contacts/import", data)
    assert response.status_code == 200 and 'data-testid="imported"' in _html(response)
    assert _count(app, Contact) == 1
    page = _html(as_officer.get("/contacts/import"))
    assert "<code>role</code> (Beosztás, feladat)" in page and "<code>sms_opt_in</code> (SMS-hozzájárulás)" in page


def test_kinds_and_statuses_are_taken_as_codes_or_names_in_either_language(client, officer):
    data = ("Név;Fajta;Állapot;Befogadóképesség (fő);Szélesség;Hosszúság\n"
            "Szivattyú 1;szivattyú;Bevetésen;;47.49;19.05\n"
            "Szivattyú 2;Pump;in maintenance;;47.49;19.05\n"
            "Tornaterem;BEFOGADÓHELY;bevethető;120;47.49;19.05\n"
            "Aggregátor;generator;unavailable;;47.49;19.05\n").encode()
    report = _api_upload(client, "/api/v1/resources/import", data, officer).get_json()
    assert report["errors"] == [] and report["created"] == 4, report
    items = {r["name"]: (r["kind"], r["status"]) for r in client.get("/api/v1/resources", headers=officer).get_json()["items"]}
    assert items == {"Szivattyú 1": ("pump", "deployed"), "Szivattyú 2": ("pump", "maintenance"),
                     "Tornaterem": ("shelter", "available"), "Aggregátor": ("generator", "unavailable")}


def test_an_unknown_column_is_named_with_the_names_that_are_accepted(app, client, officer, as_officer):
    from incident.models import Contact

    report = _api_upload(client, "/api/v1/contacts/import", "Név;Mobilszám\nKovács Júlia;06301234567\n".encode(),
                         officer).get_json()
    unknown = [e for e in report["errors"] if e["field"] == "Mobilszám"]
    assert len(unknown) == 1 and unknown[0]["row"] == 1
    message = unknown[0]["message"]
    assert "“Mobilszám”" in message
    assert "phone / Telefonszám;" in message and "role / Task or position / Beosztás, feladat" in message
    assert "sms_opt_in / SMS consent / SMS-hozzájárulás" in message
    assert any(e["field"] == "phone" and "“Phone” (phone)" in e["message"] for e in report["errors"])
    response = _page_upload(as_officer, "/contacts/import", "Név;Mobilszám\nKovács Júlia;06301234567\n".encode())
    assert response.status_code == 422
    html = _html(response)
    assert "Ismeretlen oszlop: „Mobilszám”." in html and "phone / Telefonszám;" in html
    assert _count(app, Contact) == 0


# Imports: errors that name the person and the cell


def test_a_bad_row_is_named_by_its_person_and_its_bad_cell(app, client, officer, as_officer):
    before = _counts(app)
    data = ("name,phone,email\n"
            "Jó Ember,06 30 123 4567,\n"
            "Kovács Anna,+36 1 23,\n"
            ",06 30 555 2222,\n"
            "Rossz Email,06 30 555 3333,nem-email\n").encode()
    report = _api_upload(client, "/api/v1/contacts/import", data, officer).get_json()
    errors = {(e["row"], e["field"]): e for e in report["errors"]}
    assert set(errors) == {(3, "phone"), (4, "name"), (5, "email")}
    phone = errors[(3, "phone")]
    assert phone["message"].startswith("Row 3 (Kovács Anna): phone “+36 1 23”: ")
    assert (phone["name"], phone["value"]) == ("Kovács Anna", "+36 1 23")
    assert errors[(4, "name")]["message"].startswith("Row 4: name: ") and errors[(4, "name")]["name"] is None
    assert errors[(5, "email")]["message"].startswith("Row 5 (Rossz Email): email “nem-email”: ")
    assert _counts(app) == before

    hungarian = ("Név;Telefonszám\nJó Ember;06 30 123 4567\nKovács Anna;+36 1 23\n").encode()
    html = _html(_page_upload(as_officer, "/contacts/import", hungarian))
    assert "3. sor (Kovács Anna): Telefonszám „+36 1 23”: Ez a telefonszám érvénytelen" in html
    resources = ("név;fajta;szélesség;hosszúság\nŰrhajó;csillaghajó;47.49;19.05\n").encode()
    html = _html(_page_upload(as_officer, "/resources/import", resources))
    assert "2. sor (Űrhajó): fajta „csillaghajó”: A következők egyike lehet:" in html
    assert _counts(app) == before


# Dry run: rows that would add a contact twice


def test_a_dry_run_lists_the_rows_that_would_add_a_contact_twice_and_writes_nothing(app, registry, client, officer,
                                                                                   as_officer):
    before = _counts(app)
    data = ("Név;Telefonszám;Szervezet\n"
            "kovács  anna;+36 30 123 4567;Önkormányzat\n"  # Kovács Anna: another spelling, the same phone
            "Kovács Anna;06 30 999 8888;\n"  # another phone: someone else (or a new number)
            "Új Ember;06 30 111 2233;\n"
            "Új Ember;06 30 111 2233;\n"  # the same as the row before
            "Nagy Béla;06 20 555 0101;\n").encode()
    report = _api_upload(client, "/api/v1/contacts/import", data, officer, dry_run=True).get_json()
    assert report["errors"] == [] and report["created"] == 5 and report["dry_run"] is True
    warnings = {w["row"]: w for w in report["warnings"]}
    assert set(warnings) == {2, 5, 6}
    assert warnings[2]["name"] == "kovács anna" and warnings[2]["phone"] == "+36 30 123 4567"
    assert "already in the list" in warnings[2]["message"] and "row 4" in warnings[5]["message"]
    assert _counts(app) == before

    response = _page_upload(as_officer, "/contacts/import", data, dry_run=True)
    assert response.status_code == 200
    html = _html(response)
    listed = html[html.index('data-testid="import-warnings"'):]
    listed = listed[:listed.index("</div>")]
    assert "3 sor olyan kapcsolattartót venne fel" in listed
    assert "2. sor (kovács anna): ezzel a névvel és telefonszámmal (+36 30 123 4567) már van kapcsolattartó" in listed
    assert "5. sor (Új Ember): ugyanaz a név és telefonszám (+36 30 111 2233), mint a(z) 4. sorban." in listed
    assert "6. sor (Nagy Béla)" in listed and "3. sor" not in listed
    assert _counts(app) == before


# Round trips


def test_a_hungarian_export_imports_back_unchanged_through_the_page(app, registry, client, officer, as_officer):
    before = _state(client, officer)
    for path in ("/contacts", "/resources"):
        exported = as_officer.get(f"{path}/export.csv").data
        assert _rows(exported)[0][1] == "Név"
        html = _html(_page_upload(as_officer, f"{path}/import", exported))
        assert 'data-testid="imported"' in html, html
        assert (_report_number(html, "created"), _report_number(html, "updated"), _report_number(html, "unchanged")) \
            == (0, 0, 3 if path == "/contacts" else 2), path
        assert 'data-testid="import-warnings"' not in html
    assert _state(client, officer) == before


def test_a_codes_export_and_an_english_export_import_back_unchanged(app, registry, client, officer, as_officer):
    before = _state(client, officer)
    audit = _counts(app)[2]
    exports = [as_officer.get(f"{path}/export.csv?headers=codes").data for path in ("/contacts", "/resources")]
    as_officer.get("/lang/en")
    exports += [as_officer.get(f"{path}/export.csv").data for path in ("/contacts", "/resources")]
    as_officer.get("/lang/hu")  # an English file imported by someone whose pages are Hungarian
    for data, path in zip(exports, ("contacts", "resources") * 2, strict=True):
        report = _api_upload(client, f"/api/v1/{path}/import", data, officer).get_json()
        assert report["errors"] == [] and report["created"] == report["updated"] == 0, report
        html = _html(_page_upload(as_officer, f"/{path}/import", data))
        assert _report_number(html, "unchanged") == (3 if path == "contacts" else 2)
    assert _state(client, officer) == before
    assert _counts(app)[2] == audit  # nothing written, not even an audit row


# The vocabulary itself


def test_no_name_of_a_column_means_another_column_in_either_language(app):
    from incident.config import LOCALES
    from incident.operations.csvheaders import ALIASES, CONTACTS, RESOURCES, in_locale, word_key

    with app.app_context():
        for table in (CONTACTS, RESOURCES):
            names = table.names()
            for code in table.columns:
                assert names[word_key(code)] == code
                for locale in LOCALES:
                    for label in (table.labels[code], *table.also.get(code, ())):
                        assert names[word_key(in_locale(label, locale))] == code, (code, locale)
            # People's own names mean what they meant, unless they are a UI label of another column.
            labels = {word_key(in_locale(label, locale)) for label in table.labels.values() for locale in LOCALES}
            for alias, code in ALIASES.items():
                if code in table.columns and word_key(alias) not in labels:
                    assert names[word_key(alias)] == code
