"""CSV import and export of contacts and resources, as an officer does it with Excel."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select


def upload(client, path, content: bytes, headers, dry_run=False):
    return client.post(
        path + ("?dry_run=1" if dry_run else ""),
        data={"file": (io.BytesIO(content), "lista.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )


def counts(app):
    from incident.extensions import db
    from incident.models import AuditEntry, Contact, Resource

    with app.app_context():
        return tuple(db.session.execute(select(func.count()).select_from(m)).scalar_one() for m in (Contact, Resource, AuditEntry))


HU_EXCEL = (
    "név;telefon;e-mail;szervezet;beosztás;csoportok;sms;szélesség;hosszúság;megjegyzés\r\n"
    "Kovács Júlia;06 30 123 4567;kovacs@iskola.example;Eötvös Gimnázium;igazgató;Iskolaigazgatók;igen;47,4930;19,0560;\"Tornaterem; 200 fő\"\r\n"
    "Őri Ödön;+36 20 555 0101;;Vöröskereszt;elnök;;nem;;;\r\n"
    "\r\n"
)


def test_hungarian_excel_file_with_bom_and_semicolons(app, client, officer):
    group = client.post("/api/v1/groups", json={"name": "Iskolaigazgatók"}, headers=officer).get_json()
    data = ("\ufeff" + HU_EXCEL).encode("utf-8")
    report = upload(client, "/api/v1/contacts/import", data, officer).get_json()
    assert report["errors"] == [] and report["created"] == 2
    items = {c["name"]: c for c in client.get("/api/v1/contacts", headers=officer).get_json()["items"]}
    julia = items["Kovács Júlia"]
    assert julia["phone"] == "+36301234567"
    assert julia["groups"] == [group["id"]]
    assert julia["location"]["coordinates"] == [19.056, 47.493]
    assert julia["notes"] == "Tornaterem; 200 fő"
    assert items["Őri Ödön"]["sms_opt_in"] is False


def test_utf8_without_bom_and_commas_and_windows_1250(client, officer):
    plain = "name,phone\nÁrvíztűrő Tükörfúró,06 30 765 4321\n".encode("utf-8")
    assert upload(client, "/api/v1/contacts/import", plain, officer).get_json()["created"] == 1
    ansi = "név;telefon\nŐsz Gyöngyi;06 70 555 1234\n".encode("cp1250")
    assert upload(client, "/api/v1/contacts/import", ansi, officer).get_json()["created"] == 1
    names = {c["name"] for c in client.get("/api/v1/contacts", headers=officer).get_json()["items"]}
    assert names == {"Árvíztűrő Tükörfúró", "Ősz Gyöngyi"}


def test_a_file_with_three_bad_rows_reports_all_three_and_imports_nothing(app, client, officer):
    before = counts(app)
    data = (
        "name;phone;email;groups\n"
        "Jó Ember;06 30 123 4567;jo@example.hu;\n"
        "Rossz Szám;12345;;\n"
        "Jó Másik;06 20 555 1111;;\n"
        ";06 30 555 2222;;\n"
        "Rossz Csoport;06 30 555 3333;nem-email;Nincs ilyen\n"
    ).encode()
    response = upload(client, "/api/v1/contacts/import", data, officer)
    report = response.get_json()
    assert report["created"] == 0 and report["updated"] == 0
    by_row = {(e["row"], e["field"]) for e in report["errors"]}
    assert by_row == {(3, "phone"), (5, "name"), (6, "email"), (6, "groups")}
    assert {e["row"] for e in report["errors"]} == {3, 5, 6}
    assert all(e["message"] for e in report["errors"])
    assert counts(app) == before  # nothing written, not even an audit row


def test_dry_run_validates_and_writes_nothing(app, client, officer):
    before = counts(app)
    report = upload(client, "/api/v1/contacts/import", b"name,phone\nA,06301234567\nB,06301234568\n", officer, dry_run=True).get_json()
    assert report == {"created": 2, "updated": 0, "unchanged": 0, "dry_run": True, "errors": [], "warnings": []}
    assert counts(app) == before


def test_header_problems_are_reported(client, officer):
    report = upload(client, "/api/v1/contacts/import", b"nev;mobilszam\nA;06301234567\n", officer).get_json()
    fields = {e["field"] for e in report["errors"]}
    assert "mobilszam" in fields and "phone" in fields
    assert report["created"] == 0


def test_contacts_export_then_import_round_trips(app, client, officer):
    g1 = client.post("/api/v1/groups", json={"name": "Közművek"}, headers=officer).get_json()["id"]
    g2 = client.post("/api/v1/groups", json={"name": "Sajtó, média"}, headers=officer).get_json()["id"]
    client.post("/api/v1/contacts", json={"name": "Gáz Ügyelet", "phone": "06 1 872 7211", "groups": [g1, g2],
                                          "location": {"type": "Point", "coordinates": [19.0512345678, 47.4987654321]},
                                          "notes": 'sor1\nsor2 "idézet"; vessző,'}, headers=officer)
    c2 = client.post("/api/v1/contacts", json={"name": "Leiratkozott", "phone": "06 30 555 0000"}, headers=officer).get_json()
    client.patch(f"/api/v1/contacts/{c2['id']}", json={"sms_opt_in": False}, headers=officer)
    before = client.get("/api/v1/contacts", headers=officer).get_json()["items"]
    exported = client.get("/api/v1/contacts/export.csv", headers=officer)
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert exported.data.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    report = upload(client, "/api/v1/contacts/import", exported.data, officer).get_json()
    assert report == {"created": 0, "updated": 0, "unchanged": 2, "dry_run": False, "errors": [], "warnings": []}
    after = client.get("/api/v1/contacts", headers=officer).get_json()["items"]
    assert after == before


def test_import_updates_by_id_and_refuses_unknown_ids(client, officer):
    c = client.post("/api/v1/contacts", json={"name": "Régi Név", "phone": "06301234567"}, headers=officer).get_json()
    report = upload(client, "/api/v1/contacts/import", f"id,name,phone\n{c['id']},Új Név,06301234567\n".encode(), officer).get_json()
    assert report["updated"] == 1 and report["created"] == 0
    assert client.get(f"/api/v1/contacts/{c['id']}", headers=officer).get_json()["name"] == "Új Név"
    bad = upload(client, "/api/v1/contacts/import", b"id,name,phone\n9999,X,06301234567\n", officer).get_json()
    assert bad["errors"][0]["row"] == 2 and bad["errors"][0]["field"] == "id"


def test_import_does_not_opt_back_in_someone_who_opted_out(client, officer):
    c = client.post("/api/v1/contacts", json={"name": "Nem Kér", "phone": "06301234567", "sms_opt_in": False}, headers=officer).get_json()
    report = upload(client, "/api/v1/contacts/import", f"id,name,phone,sms_opt_in\n{c['id']},Nem Kér,06301234567,igen\n".encode(), officer).get_json()
    assert report["errors"][0]["field"] == "sms_opt_in"
    assert client.get(f"/api/v1/contacts/{c['id']}", headers=officer).get_json()["sms_opt_in"] is False


def test_viewers_cannot_import(client, api):
    viewer = api("viewer")[0]
    assert upload(client, "/api/v1/contacts/import", b"name,phone\nA,06301234567\n", viewer).status_code == 403


def test_resources_import_export_round_trip_with_coordinates(app, client, officer):
    data = (
        "name;kind;quantity;unit;capacity;status;owner;latitude;longitude;notes\n"
        "Homokzsák-depó Belgrád rakpart;sandbags;4000;zsák;;available;Városgazdálkodás;47,491234;19,052345;\n"
        "Tornaterem, Hold utca;shelter;1;épület;220;available;Önkormányzat;47.504321;19.051234;hideg víz\n"
    ).encode("utf-8")
    assert upload(client, "/api/v1/resources/import", data, officer).get_json()["created"] == 2
    items = {r["name"]: r for r in client.get("/api/v1/resources", headers=officer).get_json()["items"]}
    assert items["Homokzsák-depó Belgrád rakpart"]["location"]["coordinates"] == [19.052345, 47.491234]
    assert items["Tornaterem, Hold utca"]["capacity"] == 220
    exported = client.get("/api/v1/resources/export.csv", headers=officer).data
    report = upload(client, "/api/v1/resources/import", exported, officer).get_json()
    assert report["unchanged"] == 2 and report["created"] == report["updated"] == 0 and report["errors"] == []


def test_resources_import_reports_each_bad_row(app, client, officer):
    before = counts(app)
    data = (
        "name,kind,quantity,status,latitude,longitude\n"
        "Szivattyú,pump,2,available,47.49,19.05\n"
        "Űrhajó,spaceship,1,available,47.49,19.05\n"
        "Zsák,sandbags,sok,available,47.49,19.05\n"
        "Aggregát,generator,1,available,,19.05\n"
        "Menedék,shelter,1,available,47.49,19.05\n"
    ).encode()
    report = upload(client, "/api/v1/resources/import", data, officer).get_json()
    assert {(e["row"], e["field"]) for e in report["errors"]} == {(3, "kind"), (4, "quantity"), (5, "latitude"), (6, "capacity")}
    assert counts(app) == before


# Formula injection: a text cell never starts a spreadsheet formula, and still imports back.

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "@SUM(1+1)", "-2+3", "+36201234567", "\t=1+1",
                                  "\r=1+1", "'=1+1", "''", "'", "'x", "x=1", ""])
def test_a_text_cell_is_neutralised_and_restored_exactly(text):
    from incident.spreadsheet import neutralise, restore

    cell = neutralise(text)
    assert not cell.startswith(FORMULA_START)
    assert restore(cell) == text


def _rows(response) -> list[dict]:
    import csv

    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _neutralised(rows: list[dict]) -> bool:
    """No text cell starts a formula (a negative number may start with a minus)."""
    return all(not cell.startswith(FORMULA_START) or _is_number(cell) for row in rows for cell in row.values())


def test_contact_and_resource_exports_neutralise_formulas_and_import_back_unchanged(app, client, officer, api):
    group = client.post("/api/v1/groups", json={"name": "=Sajtó"}, headers=officer).get_json()["id"]
    hyperlink = client.post("/api/v1/contacts", json={
        "name": '=HYPERLINK("http://x","y")', "phone": "06 20 123 4567", "email": "kovacs@example.hu",
        "organization": "-2+3", "role": "+ügyeletes", "notes": "@SUM(A1:A9)", "groups": [group],
    }, headers=officer).get_json()
    quoted = client.post("/api/v1/contacts", json={"name": "'=már idézett", "phone": "+36 1 872 7211",
                                                    "notes": "''"}, headers=officer).get_json()
    assert hyperlink["phone"] == "+36201234567"
    client.post("/api/v1/resources", json={"name": "=1+1", "kind": "pump", "quantity": 3, "unit": "-",
                                           "owner": "@Vízmű", "notes": "'+x", "contact_id": quoted["id"],
                                           "location": {"type": "Point", "coordinates": [-0.1276, 51.5072]}},
                headers=officer)
    contacts_before = client.get("/api/v1/contacts", headers=officer).get_json()["items"]
    resources_before = client.get("/api/v1/resources", headers=officer).get_json()["items"]

    contacts = client.get("/api/v1/contacts/export.csv", headers=officer)
    rows = {row["id"]: row for row in _rows(contacts)}
    assert _neutralised(rows.values())
    row = rows[str(hyperlink["id"])]
    assert row["name"] == "'=HYPERLINK(\"http://x\",\"y\")" and row["phone"] == "'+36201234567"
    assert (row["organization"], row["role"], row["notes"], row["groups"]) == ("'-2+3", "'+ügyeletes", "'@SUM(A1:A9)",
                                                                               "'=Sajtó")
    assert (rows[str(quoted["id"])]["name"], rows[str(quoted["id"])]["notes"]) == ("''=már idézett", "'''")
    viewer, _ = api("viewer")
    assert _neutralised(_rows(client.get("/api/v1/contacts/export.csv", headers=viewer)))  # masked phones too

    resources = client.get("/api/v1/resources/export.csv", headers=officer)
    [resource] = _rows(resources)
    assert _neutralised([resource])
    assert (resource["name"], resource["unit"], resource["owner"], resource["notes"]) == ("'=1+1", "'-", "'@Vízmű", "''+x")
    assert (resource["longitude"], resource["quantity"]) == ("-0.1276", "3")  # Riadó's own numbers stay numbers

    for path, exported in (("/api/v1/contacts/import", contacts), ("/api/v1/resources/import", resources)):
        report = upload(client, path, exported.data, officer).get_json()
        assert report["errors"] == [] and report["created"] == report["updated"] == 0, report
    assert client.get("/api/v1/contacts", headers=officer).get_json()["items"] == contacts_before
    assert client.get("/api/v1/resources", headers=officer).get_json()["items"] == resources_before


def test_a_quoted_phone_from_a_spreadsheet_is_stored_as_a_phone(client, officer):
    report = upload(client, "/api/v1/contacts/import", "name,phone\n'@Kovács,'+36 20 123 4567\n".encode(), officer)
    assert report.get_json()["created"] == 1
    [contact] = client.get("/api/v1/contacts", headers=officer).get_json()["items"]
    assert (contact["name"], contact["phone"]) == ("@Kovács", "+36201234567")


def test_a_look_alike_group_name_in_a_csv_finds_the_group(client, officer):
    group = client.post("/api/v1/groups", json={"name": "Sajtó"}, headers=officer).get_json()["id"]
    data = "name,phone,groups\nKovács Júlia,06301234567,Saj\u200bto\u0301\nNagy Péter,06301234568,SAJTÓ\n".encode()
    assert upload(client, "/api/v1/contacts/import", data, officer).get_json()["created"] == 2
    items = client.get("/api/v1/contacts", headers=officer).get_json()["items"]
    assert [c["groups"] for c in items] == [[group], [group]]


# A resource's contact person named by name (the demo district's files do it; so may anyone's)


def test_a_resource_names_its_contact_person_by_name_and_the_export_writes_it(client, officer):
    julia = client.post("/api/v1/contacts", json={"name": "Kovács Júlia", "phone": "06301234567"}, headers=officer).get_json()
    data = ("name,kind,contact,latitude,longitude\n"
            "Szivattyú,pump,Kovács Júlia,47.49,19.05\n"
            "Aggregátor,generator,KOVÁCS JÚLIA,47.49,19.05\n"
            "Kúp,other,,47.49,19.05\n").encode()
    report = upload(client, "/api/v1/resources/import", data, officer).get_json()
    assert report["errors"] == [] and report["created"] == 3, report
    items = {r["name"]: r for r in client.get("/api/v1/resources", headers=officer).get_json()["items"]}
    assert (items["Szivattyú"]["contact_id"], items["Aggregátor"]["contact_id"], items["Kúp"]["contact_id"]) == (
        julia["id"], julia["id"], None)
    exported = client.get("/api/v1/resources/export.csv", headers=officer)
    rows = {row["name"]: row for row in _rows(exported)}
    assert (rows["Szivattyú"]["contact"], rows["Szivattyú"]["contact_id"]) == ("Kovács Júlia", str(julia["id"]))
    assert (rows["Kúp"]["contact"], rows["Kúp"]["contact_id"]) == ("", "")
    again = upload(client, "/api/v1/resources/import", exported.data, officer).get_json()
    assert again["errors"] == [] and again["unchanged"] == 3, again


def test_a_contact_name_that_is_unknown_ambiguous_or_contradicts_the_id_is_refused(app, client, officer):
    julia = client.post("/api/v1/contacts", json={"name": "Kovács Júlia", "phone": "06301234567"}, headers=officer).get_json()
    for phone in ("06301234568", "06301234569"):
        client.post("/api/v1/contacts", json={"name": "Nagy Péter", "phone": phone}, headers=officer)
    other = client.post("/api/v1/contacts", json={"name": "Tóth Anna", "phone": "06301234570"}, headers=officer).get_json()
    before = counts(app)
    data = ("name,kind,contact_id,contact,latitude,longitude\n"
            "Jó,pump,,Kovács Júlia,47.49,19.05\n"
            "Ismeretlen,pump,,Senki Sem,47.49,19.05\n"
            "Kétértelmű,pump,,Nagy Péter,47.49,19.05\n"
            f"Ellentmondó,pump,{other['id']},Kovács Júlia,47.49,19.05\n"
            f"Egyező,pump,{julia['id']},Kovács Júlia,47.49,19.05\n").encode()
    report = upload(client, "/api/v1/resources/import", data, officer).get_json()
    assert {(e["row"], e["field"]) for e in report["errors"]} == {(3, "contact"), (4, "contact"), (5, "contact")}
    messages = {e["row"]: e["message"] for e in report["errors"]}
    assert "Senki Sem" in messages[3] and "contact_id" in messages[4] and "contact_id" in messages[5]
    assert counts(app) == before
