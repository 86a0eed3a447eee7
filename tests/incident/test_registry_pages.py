"""The pages of the call-out lists and of the resource register, as officers and viewers use them."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from conftest import csrf_from
from factories import create_contact, create_group, create_resource

BUDAPEST_V = {"type": "Point", "coordinates": [19.0502, 47.4966]}


# Helpers


def _count(app, model) -> int:
    from incident.extensions import db

    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _html(response) -> str:
    return response.get_data(as_text=True)


def _field_block(html: str, field_id: str) -> str:
    """The ``<div class="field">`` that holds the input with this id (as the _forms macro renders it)."""
    match = re.search(r'<div class="field[^"]*">(?:(?!<div class="field).)*?id="' + re.escape(field_id) + r'".*?</div>',
                      html, re.S)
    assert match, f"no field {field_id}"
    return match.group(0)


def _post_form(client, path, data, **kwargs):
    """GET the form page, then POST it with its CSRF token."""
    token = csrf_from(_html(client.get(path)))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


CONTACT_FORM = {
    "name": "Dr. Szabó Katalin",
    "phone": "06 30 123 4567",
    "email": "szabo.katalin@belvaros.example",
    "organization": "Önkormányzat",
    "role": "Polgármester",
    "sms_opt_in": "y",
    "latitude": "47.4966",
    "longitude": "19.0502",
    "notes": "Éjjel is hívható.",
}

RESOURCE_FORM = {
    "name": "Zagyva-szivattyú",
    "kind": "pump",
    "quantity": "2",
    "unit": "db",
    "capacity": "",
    "status": "available",
    "owner": "Városgazdálkodási Kft.",
    "contact_id": "",
    "latitude": "47.5003",
    "longitude": "19.0461",
    "notes": "",
}


# Viewers: masked, read-only


def test_viewer_sees_masked_phones_and_no_write_buttons(client, as_viewer):
    group = create_group(client)
    contact = create_contact(client, email="kovacs.julia@belvaros.example", groups=[group["id"]])
    resource = create_resource(client, contact_id=contact["id"])

    listing = _html(as_viewer.get("/contacts"))
    assert "Kovács Júlia" in listing
    assert "+36 30 *** **67" in listing
    assert "123 4567" not in listing and "+36301234567" not in listing
    for marker in ("new-contact", "import-contacts", "export-contacts", "/contacts/new", "/contacts/import",
                   "export.csv"):
        assert marker not in listing, marker

    detail = _html(as_viewer.get(f"/contacts/{contact['id']}"))
    assert "+36 30 *** **67" in detail and "k***@belvaros.example" in detail
    assert "kovacs.julia@" not in detail and "tel:" not in detail
    assert "/edit" not in detail and "/delete" not in detail and 'action="/contacts' not in detail

    group_page = _html(as_viewer.get(f"/groups/{group['id']}"))
    assert "+36 30 *** **67" in group_page and "123 4567" not in group_page
    assert "group-form" not in group_page and "/delete" not in group_page
    assert "group-form" not in _html(as_viewer.get("/groups"))

    resources = _html(as_viewer.get("/resources"))
    assert "Homokzsák-depó" in resources
    assert "new-resource" not in resources and "/resources/new" not in resources and "export.csv" not in resources
    resource_page = _html(as_viewer.get(f"/resources/{resource['id']}"))
    assert "Kovács Júlia" in resource_page and "+36 30 *** **67" in resource_page and "123 4567" not in resource_page
    assert "/edit" not in resource_page and "/delete" not in resource_page


def test_viewer_gets_403_on_every_write_page_and_post(app, client, as_viewer):
    from incident.models import AlertGroup, Contact, Resource

    group = create_group(client)
    contact = create_contact(client)
    resource = create_resource(client)
    for path in ("/contacts/new", f"/contacts/{contact['id']}/edit", "/contacts/import",
                 "/resources/new", f"/resources/{resource['id']}/edit", "/resources/import"):
        assert as_viewer.get(path).status_code == 403, path
    token = csrf_from(_html(as_viewer.get("/contacts")))  # a valid token: the refusal is about the role
    posts = {
        "/contacts/new": CONTACT_FORM,
        f"/contacts/{contact['id']}/edit": {**CONTACT_FORM, "version": "1"},
        f"/contacts/{contact['id']}/delete": {},
        "/contacts/import": {"file": (io.BytesIO(b"name,phone\nX,06301234567\n"), "c.csv")},
        "/groups": {"name": "Új csoport"},
        f"/groups/{group['id']}": {"name": "Átnevezve"},
        f"/groups/{group['id']}/delete": {},
        "/resources/new": RESOURCE_FORM,
        f"/resources/{resource['id']}/edit": {**RESOURCE_FORM, "version": "1"},
        f"/resources/{resource['id']}/delete": {},
        "/resources/import": {"file": (io.BytesIO(b"name,kind,latitude,longitude\nX,pump,47.5,19.05\n"), "r.csv")},
    }
    for path, data in posts.items():
        response = as_viewer.post(path, data={"csrf_token": token, **data}, content_type="multipart/form-data")
        assert response.status_code == 403, (path, response.status_code)
    assert (_count(app, Contact), _count(app, AlertGroup), _count(app, Resource)) == (1, 1, 1)
    assert _html(as_viewer.get(f"/groups/{group['id']}")).count("Helyi Védelmi Bizottság") >= 1


def test_write_posts_without_csrf_token_are_refused(app, client, as_officer):
    from incident.models import Contact

    contact = create_contact(client)
    assert as_officer.post("/contacts/new", data=CONTACT_FORM).status_code == 400
    assert as_officer.post(f"/contacts/{contact['id']}/delete").status_code == 400
    assert _count(app, Contact) == 1


# Officers: contacts through the form


def test_officer_creates_a_contact_through_the_form(app, client, officer, as_officer):
    from incident.models import Contact

    group = create_group(client)
    form = _html(as_officer.get("/contacts/new"))
    assert 'name="csrf_token"' in form and "pl. 06 30 123 4567" in form
    assert "data-location-picker" in form and 'type="hidden"' in form
    assert "Helyi Védelmi Bizottság" in form

    response = _post_form(as_officer, "/contacts/new", {**CONTACT_FORM, "groups": str(group["id"])})
    assert response.status_code == 302
    detail = as_officer.get(response.headers["Location"])
    html = _html(detail)
    assert "+36 30 123 4567" in html
    assert "szabo.katalin@belvaros.example" in html
    assert "Helyi Védelmi Bizottság" in html and f"/groups/{group['id']}" in html
    assert 'data-location-map' in html and 'data-lat="47.4966"' in html and 'data-lon="19.0502"' in html
    assert "Éjjel is hívható." in html
    assert _count(app, Contact) == 1
    stored = client.get("/api/v1/contacts", headers=officer).get_json()["items"][0]
    assert stored["phone"] == "+36301234567" and stored["groups"] == [group["id"]]
    assert stored["location"] == BUDAPEST_V and stored["sms_opt_in"] is True
    assert "+36 30 123 4567" in _html(as_officer.get("/contacts"))


def test_bad_phone_is_shown_beside_the_field_and_nothing_is_written(app, as_officer):
    from incident.models import AuditEntry, Contact

    audit_before = _count(app, AuditEntry)
    response = _post_form(as_officer, "/contacts/new", {**CONTACT_FORM, "phone": "06 30 123"})
    assert response.status_code == 422
    html = _html(response)
    phone = _field_block(html, "phone")
    assert 'id="phone-error"' in phone and 'aria-invalid="true"' in phone
    assert "Ez a telefonszám érvénytelen" in phone
    assert 'value="06 30 123"' in phone  # what the user typed stays
    assert 'value="Dr. Szabó Katalin"' in _field_block(html, "name")
    assert 'value="47.4966"' in html and "Éjjel is hívható." in html
    assert "phone-error" not in _field_block(html, "name")
    assert _count(app, Contact) == 0 and _count(app, AuditEntry) == audit_before


def test_every_bad_field_is_marked_at_once(app, as_officer):
    from incident.models import Contact

    response = _post_form(as_officer, "/contacts/new",
                          {**CONTACT_FORM, "name": "", "phone": "hello", "email": "nope", "latitude": "95"})
    assert response.status_code == 422
    html = _html(response)
    for field_id in ("name", "phone", "email"):
        assert f'id="{field_id}-error"' in _field_block(html, field_id), field_id
    assert 'id="location-error"' in html and "-90 és 90" in html
    assert _count(app, Contact) == 0


def test_half_given_location_is_refused(app, as_officer):
    from incident.models import Contact

    response = _post_form(as_officer, "/contacts/new", {**CONTACT_FORM, "longitude": ""})
    assert response.status_code == 422
    assert "Adja meg a szélességet és a hosszúságot is" in _html(response)
    assert _count(app, Contact) == 0


def test_edit_keeps_the_form_and_saves(client, officer, as_officer):
    contact = create_contact(client, location=BUDAPEST_V)
    form = _html(as_officer.get(f"/contacts/{contact['id']}/edit"))
    assert 'value="+36 30 123 4567"' in form and 'name="version"' in form
    assert 'value="47.4966"' in form and 'value="19.0502"' in form
    response = _post_form(as_officer, f"/contacts/{contact['id']}/edit",
                          {**CONTACT_FORM, "version": "1", "latitude": "", "longitude": "", "sms_opt_in": ""})
    assert response.status_code == 302
    html = _html(as_officer.get(response.headers["Location"]))
    assert "Dr. Szabó Katalin" in html and "leiratkozott" in html and "Nincs rögzített helyszín." in html
    got = client.get(f"/api/v1/contacts/{contact['id']}", headers=officer).get_json()
    assert got["location"] is None and got["sms_opt_in"] is False and got["opted_out_at"] and got["version"] == 2


def test_stale_edit_shows_a_conflict_and_overwrites_nothing(client, officer, as_officer):
    contact = create_contact(client)
    page = _html(as_officer.get(f"/contacts/{contact['id']}/edit"))
    assert re.search(r'name="version"[^>]*value="1"|value="1"[^>]*name="version"', page)
    # Someone else saves meanwhile.
    changed = client.patch(f"/api/v1/contacts/{contact['id']}", json={"role": "Ügyeletes"}, headers=officer)
    assert changed.status_code == 200
    response = as_officer.post(f"/contacts/{contact['id']}/edit", data={
        **CONTACT_FORM, "version": "1", "name": "Felülírt Név", "csrf_token": csrf_from(page),
    })
    assert response.status_code == 409
    html = _html(response)
    assert "Időközben valaki más módosította ezt a tételt" in html
    assert 'data-testid="conflict"' in html and 'value="Felülírt Név"' in html
    got = client.get(f"/api/v1/contacts/{contact['id']}", headers=officer).get_json()
    assert got["name"] == "Kovács Júlia" and got["role"] == "Ügyeletes" and got["version"] == 2


def test_delete_contact_with_a_post(app, client, as_officer):
    from incident.models import Contact

    contact = create_contact(client)
    detail = _html(as_officer.get(f"/contacts/{contact['id']}"))
    assert "<details" in detail and f'action="/contacts/{contact["id"]}/delete"' in detail
    assert as_officer.get(f"/contacts/{contact['id']}/delete").status_code == 405
    response = as_officer.post(f"/contacts/{contact['id']}/delete", data={"csrf_token": csrf_from(detail)})
    assert response.status_code == 302 and response.headers["Location"] == "/contacts"
    assert _count(app, Contact) == 0
    assert as_officer.get(f"/contacts/{contact['id']}").status_code == 404


# The contact list


def test_contact_list_search_filters_and_paging(client, officer, as_officer):
    hvb = create_group(client)
    create_contact(client, name="Őrsi Ödön", organization="Polgárőrség", groups=[hvb["id"]])
    stop = create_contact(client, name="Leiratkozott Lili", phone="06 20 555 0101")
    client.patch(f"/api/v1/contacts/{stop['id']}", json={"sms_opt_in": False}, headers=officer)
    for i in range(51):
        create_contact(client, name=f"Tag {i:02d}", phone="06 1 872 7211")

    first = _html(as_officer.get("/contacts"))
    assert "53 kapcsolattartó" in first and "1. oldal / 2" in first
    assert "Tag 00" in first and "Tag 50" not in first  # 50 a page, by name
    assert 'href="/contacts?page=2"' in first
    second = _html(as_officer.get("/contacts?page=2"))
    assert "Tag 50" in second and "Tag 00" not in second

    found = _html(as_officer.get("/contacts?q=orsi+odon"))  # accents and case ignored
    assert "Őrsi Ödön" in found and "Tag 00" not in found and "1 kapcsolattartó" in found
    by_group = _html(as_officer.get(f"/contacts?group={hvb['id']}"))
    assert "Őrsi Ödön" in by_group and "Tag 00" not in by_group
    opted_out = _html(as_officer.get("/contacts?sms=no"))
    assert "Leiratkozott Lili" in opted_out and "Őrsi Ödön" not in opted_out
    assert re.search(r"leiratkozott: \d{4}-\d{2}-\d{2}", opted_out)
    assert "Leiratkozott Lili" not in _html(as_officer.get("/contacts?sms=yes"))
    assert "Nincs a feltételeknek megfelelő kapcsolattartó." in _html(as_officer.get("/contacts?q=senki"))
    # Paging links keep the filters.
    many = _html(as_officer.get("/contacts?q=tag"))
    assert re.search(r'href="/contacts\?(?=[^"]*page=2)(?=[^"]*q=tag)[^"]*"', many)


def test_contacts_page_links_groups_and_offers_officer_buttons(as_officer):
    html = _html(as_officer.get("/contacts"))
    assert 'href="/groups"' in html
    assert 'href="/contacts/new"' in html and 'href="/contacts/import"' in html
    assert 'href="/contacts/export.csv"' in html and 'href="/contacts/export.csv?headers=codes"' in html
    export = as_officer.get("/contacts/export.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert as_officer.get("/api/v1/contacts/export.csv").status_code == 200  # works with the browser session


# Alert groups


def test_groups_create_rename_count_and_delete(app, client, as_officer):
    from incident.models import AlertGroup, Contact

    response = _post_form(as_officer, "/groups", {"name": "Iskolaigazgatók", "description": "Iskolák vezetői"})
    assert response.status_code == 302
    group_id = int(response.headers["Location"].rsplit("/", 1)[1])
    create_contact(client, groups=[group_id])
    create_contact(client, name="Második Tag", groups=[group_id])
    listing = _html(as_officer.get("/groups"))
    assert "Iskolaigazgatók" in listing and "Iskolák vezetői" in listing
    assert re.search(rf'href="/contacts\?group={group_id}">2</a>', listing)

    _post_form(as_officer, "/groups", {"name": "Sajtó"})
    clash = _post_form(as_officer, f"/groups/{group_id}", {"name": "sajtó", "description": ""})
    assert clash.status_code == 409
    assert 'id="name-error"' in _field_block(_html(clash), "name")
    assert "Ilyen nevű csoport már létezik." in _html(clash)

    renamed = _post_form(as_officer, f"/groups/{group_id}", {"name": "Intézményvezetők", "description": "Új leírás"})
    assert renamed.status_code == 302
    page = _html(as_officer.get(f"/groups/{group_id}"))
    assert "Intézményvezetők" in page and "Új leírás" in page and "Második Tag" in page
    assert "+36 30 123 4567" in page  # officers see the numbers

    deleted = as_officer.post(f"/groups/{group_id}/delete", data={"csrf_token": csrf_from(page)})
    assert deleted.status_code == 302
    assert _count(app, AlertGroup) == 1 and _count(app, Contact) == 2


@pytest.mark.parametrize("lookalike", ["Saj\u200btó", "Sajto\u0301", "\u202eótjaS"])
def test_a_look_alike_group_name_is_a_conflict_beside_the_field(app, as_officer, lookalike):
    from incident.models import AlertGroup

    assert _post_form(as_officer, "/groups", {"name": "Sajtó"}).status_code == 302
    response = _post_form(as_officer, "/groups", {"name": lookalike, "description": ""})
    assert response.status_code == 409
    assert "Ilyen nevű csoport már létezik." in _field_block(_html(response), "name")
    assert _count(app, AlertGroup) == 1


def test_empty_group_name_is_refused_beside_the_field(app, as_officer):
    from incident.models import AlertGroup

    response = _post_form(as_officer, "/groups", {"name": "  ", "description": "x"})
    assert response.status_code == 422
    assert "Ez a mező kötelező." in _field_block(_html(response), "name")
    assert _count(app, AlertGroup) == 0


# CSV import


def test_contact_import_with_three_bad_rows_reports_all_and_writes_nothing(app, client, officer, as_officer):
    from incident.models import AuditEntry, Contact

    existing = create_contact(client, name="Meglévő Mária")
    audit_before = _count(app, AuditEntry)
    csv = (
        "név;telefon;csoportok;email\n"
        "Jó Sor;06 30 111 2233;;\n"
        "Rossz Telefon;12345;;\n"
        ";06 30 444 5566;;\n"
        "Rossz Csoport;06 30 777 8899;Nincs ilyen;nem-email\n"
        "Meglévő Mária módosítva;06 30 123 4567;;\n"
    ).encode("utf-8-sig")
    response = _post_form(as_officer, "/contacts/import",
                          {"file": (io.BytesIO(csv), "kapcsolattartok.csv")}, content_type="multipart/form-data")
    assert response.status_code == 422
    html = _html(response)
    assert "Semmit sem importáltunk." in html
    table = html[html.index('data-testid="import-errors"'):]
    rows = re.findall(r'<td class="num">(\d+)</td>', table)
    assert sorted(set(rows)) == ["3", "4", "5"]
    assert "phone" in table and "name" in table and "groups" in table and "email" in table
    assert "Nincs ilyen csoport: Nincs ilyen." in table
    assert _count(app, Contact) == 1 and _count(app, AuditEntry) == audit_before
    assert client.get(f"/api/v1/contacts/{existing['id']}", headers=officer).get_json()["name"] == "Meglévő Mária"


def test_contact_import_dry_run_then_for_real(app, as_officer):
    from incident.models import Contact

    csv = b"name,phone,sms_opt_in\nElso Ember,06 30 111 2233,igen\nMasodik Ember,+36 20 555 0101,nem\n"
    dry = _post_form(as_officer, "/contacts/import", {"file": (io.BytesIO(csv), "c.csv"), "dry_run": "y"},
                     content_type="multipart/form-data")
    assert dry.status_code == 200
    html = _html(dry)
    assert 'data-testid="dry-run"' in html and re.search(r'data-testid="created">2<', html)
    assert _count(app, Contact) == 0
    real = _post_form(as_officer, "/contacts/import", {"file": (io.BytesIO(csv), "c.csv")},
                      content_type="multipart/form-data")
    assert real.status_code == 200 and 'data-testid="imported"' in _html(real)
    assert _count(app, Contact) == 2


def test_import_page_explains_the_file_and_asks_for_one(as_officer):
    page = _html(as_officer.get("/contacts/import"))
    for column in ("name", "phone", "email", "organization", "role", "groups", "sms_opt_in", "latitude", "longitude"):
        assert f"<code>{column}</code>" in page, column
    assert "UTF-8" in page and "pontosvessző" in page and "„|”" in page
    assert 'enctype="multipart/form-data"' in page
    empty = _post_form(as_officer, "/contacts/import", {}, content_type="multipart/form-data")
    assert empty.status_code == 422 and "Válasszon ki egy CSV-fájlt." in _html(empty)


def test_resource_import_reports_bad_rows(app, as_officer):
    from incident.models import Resource

    page = _html(as_officer.get("/resources/import"))
    assert "<code>pump</code> (Szivattyú)" in page and "<code>deployed</code> (bevetésen)" in page
    csv = ("name;kind;latitude;longitude;capacity\n"
           "Tornaterem;shelter;47,5;19,05;\n"
           "Szivattyú;nincs;47.5;19.05;\n"
           "Jó;pump;47.5;19.05;\n").encode()
    response = _post_form(as_officer, "/resources/import", {"file": (io.BytesIO(csv), "r.csv")},
                          content_type="multipart/form-data")
    assert response.status_code == 422
    html = _html(response)
    assert "Semmit sem importáltunk." in html and "Befogadóhelynél meg kell adni" in html
    assert _count(app, Resource) == 0


# Resources


def test_officer_creates_a_resource_and_sees_it_in_the_register(client, as_officer):
    contact = create_contact(client)
    form = _html(as_officer.get("/resources/new"))
    assert '<option value="pump">Szivattyú</option>' in form
    assert '<option value="shelter">Befogadóhely</option>' in form
    assert f'<option value="{contact["id"]}">Kovács Júlia</option>' in form
    response = _post_form(as_officer, "/resources/new", {**RESOURCE_FORM, "contact_id": str(contact["id"])})
    assert response.status_code == 302
    detail = _html(as_officer.get(response.headers["Location"]))
    assert "Zagyva-szivattyú" in detail and "Szivattyú" in detail and "bevethető" in detail
    assert "Kovács Júlia" in detail and "+36 30 123 4567" in detail
    assert 'data-lat="47.5003"' in detail and 'data-lon="19.0461"' in detail
    listing = _html(as_officer.get("/resources"))
    assert "Zagyva-szivattyú" in listing and "2 db" in listing


def test_resource_needs_a_location_and_a_shelter_its_capacity(app, as_officer):
    from incident.models import Resource

    response = _post_form(as_officer, "/resources/new",
                          {**RESOURCE_FORM, "kind": "shelter", "latitude": "", "longitude": "", "quantity": "-1"})
    assert response.status_code == 422
    html = _html(response)
    assert 'id="location-error"' in html and "A helyszín megadása kötelező." in html
    assert 'id="capacity-error"' in _field_block(html, "capacity")
    assert 'id="quantity-error"' in _field_block(html, "quantity")
    assert '<option selected value="shelter">' in html  # the choice stays
    assert _count(app, Resource) == 0


def test_available_quantity_kind_and_status_in_the_list(client, as_officer):
    create_resource(client, name="Raktár A", quantity=300)
    create_resource(client, name="Raktár B", quantity=200, status="deployed")
    create_resource(client, name="Tornaterem", kind="shelter", quantity=1, unit="", capacity=120)
    html = _html(as_officer.get("/resources"))
    cells = dict(re.findall(r'<a href="/resources/\d+">([^<]+)</a>.*?data-testid="available">([^<]+)<', html, re.S))
    assert cells["Raktár A"].strip() == "300 zsák" and cells["Raktár B"].strip() == "0 zsák"
    assert "bevetésen" in html and "Homokzsák" in html and "Befogadóhely" in html and ">120<" in html
    only_deployed = _html(as_officer.get("/resources?status=deployed"))
    assert "Raktár B" in only_deployed and "Raktár A" not in only_deployed
    shelters = _html(as_officer.get("/resources?kind=shelter"))
    assert "Tornaterem" in shelters and "Raktár A" not in shelters
    assert "Raktár A" in _html(as_officer.get("/resources?q=raktar+a"))


def test_nearest_mode_lists_by_distance(client, as_officer):
    create_resource(client, name="Távoli", location={"type": "Point", "coordinates": [19.10, 47.55]})
    create_resource(client, name="Közeli", location={"type": "Point", "coordinates": [19.0505, 47.5001]})
    create_resource(client, name="Középső", location={"type": "Point", "coordinates": [19.06, 47.51]})
    html = _html(as_officer.get("/resources?lat=47.5&lon=19.05"))
    assert 'data-testid="nearest-mode"' in html
    names = re.findall(r'<a href="/resources/\d+">([^<]+)</a>', html)
    assert names == ["Közeli", "Középső", "Távoli"]
    distances = re.findall(r'data-testid="distance">([^<]+)<', html)
    assert re.fullmatch(r"\d+ m", distances[0]) and distances[1].endswith(" km") and "," in distances[1]
    within = _html(as_officer.get("/resources?lat=47,5&lon=19,05&within_m=2000"))
    assert re.findall(r'<a href="/resources/\d+">([^<]+)</a>', within) == ["Közeli", "Középső"]
    bad = as_officer.get("/resources?lat=95&lon=19.05&within_m=-3")
    assert bad.status_code == 422
    assert "-90 és 90" in _html(bad) and 'id="near-within-error"' in _html(bad)


def test_stale_resource_edit_is_a_conflict(client, officer, as_officer):
    resource = create_resource(client, location=BUDAPEST_V)
    page = _html(as_officer.get(f"/resources/{resource['id']}/edit"))
    assert 'value="47.4966"' in page and '<option selected value="sandbags">' in page
    client.patch(f"/api/v1/resources/{resource['id']}", json={"status": "deployed"}, headers=officer)
    response = as_officer.post(f"/resources/{resource['id']}/edit", data={
        **RESOURCE_FORM, "version": "1", "csrf_token": csrf_from(page),
    })
    assert response.status_code == 409 and "Időközben valaki más módosította" in _html(response)
    got = client.get(f"/api/v1/resources/{resource['id']}", headers=officer).get_json()
    assert got["name"] == "Homokzsák-depó" and got["status"] == "deployed"


def test_delete_resource(app, client, as_officer):
    from incident.models import Resource

    resource = create_resource(client)
    page = _html(as_officer.get(f"/resources/{resource['id']}"))
    response = as_officer.post(f"/resources/{resource['id']}/delete", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302 and _count(app, Resource) == 0


# Language, escaping, what the pages load


def test_pages_are_hungarian_by_default_and_english_on_request(client, as_officer):
    create_contact(client)
    create_resource(client)
    contacts = _html(as_officer.get("/contacts"))
    for label in ("Kapcsolattartók", "Új kapcsolattartó", "Riasztási csoportok", "Telefonszám", "SMS-hozzájárulás",
                  "Keresés", "Szervezet"):
        assert label in contacts, label
    assert 'aria-current="page">Kapcsolattartók' in contacts
    resources = _html(as_officer.get("/resources"))
    for label in ("Erőforrások", "Új erőforrás", "Fajta", "Mennyiség", "Bevethető", "Homokzsák", "bevethető"):
        assert label in resources, label
    assert "Kapcsolattartó szerkesztése" in _html(as_officer.get("/contacts/1/edit"))
    assert 'aria-current="page">Kapcsolattartók' in _html(as_officer.get("/groups"))
    assert 'aria-current="page">Erőforrások' in _html(as_officer.get("/resources/new"))

    as_officer.get("/lang/en")
    contacts = _html(as_officer.get("/contacts"))
    for label in ("Contacts", "New contact", "Alert groups", "Phone", "SMS consent"):
        assert label in contacts, label
    resources = _html(as_officer.get("/resources"))
    assert "<td>Sandbags</td>" in resources and "available" in resources and "<td>Homokzsák</td>" not in resources


def test_user_text_is_escaped_everywhere(client, as_officer):
    evil = '<script>alert("x")</script>'
    group = create_group(client, name=f"Csoport {evil}")
    contact = create_contact(client, name=f"Név {evil}", organization=evil, role=evil, notes=evil,
                       groups=[group["id"]])
    resource = create_resource(client, name=f"Eszköz {evil}", owner=evil, notes=evil, unit="<b>",
                         contact_id=contact["id"])
    for path in ("/contacts", f"/contacts/{contact['id']}", f"/contacts/{contact['id']}/edit", "/groups",
                 f"/groups/{group['id']}", "/resources", f"/resources/{resource['id']}",
                 f"/resources/{resource['id']}/edit", "/resources/new", "/contacts/new"):
        html = _html(as_officer.get(path))
        assert evil not in html and "<b>" not in html, path
        assert "&lt;script&gt;" in html, path


def test_registry_pages_load_nothing_from_elsewhere_and_have_no_inline_script(client, as_officer):
    contact = create_contact(client, location=BUDAPEST_V)
    resource = create_resource(client)
    group = create_group(client)
    for path in ("/contacts", "/contacts/new", f"/contacts/{contact['id']}", f"/contacts/{contact['id']}/edit",
                 "/contacts/import", "/groups", f"/groups/{group['id']}", "/resources", "/resources/new",
                 f"/resources/{resource['id']}", f"/resources/{resource['id']}/edit", "/resources/import",
                 "/resources?lat=47.5&lon=19.05"):
        response = as_officer.get(path)
        assert response.status_code == 200, path
        html = _html(response)
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not re.match(r"^(https?:)?//", url), (path, url)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert 'src="/static/' in tag, (path, tag)
        assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), path  # no inline code
        assert not re.search(r"\son[a-z]+\s*=", html), path  # no inline handlers
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_map_assets_are_served_locally(app, as_officer):
    from markupsafe import escape

    for path in ("/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css",
                 "/static/vendor/leaflet/images/marker-icon.png", "/static/js/location-picker.js"):
        response = as_officer.get(path)
        assert response.status_code == 200, path
        response.close()
    page = _html(as_officer.get("/resources/new"))
    assert f'data-tile-url="{escape(app.config["RIADO_TILE_URL"])}"' in page


def test_the_location_picker_opens_on_the_municipality(app, as_officer, tmp_path):
    """A form's map opens on the municipality's outline (its middle, at a zoom that shows it),
    not on a place written into the code; before any outline exists, on Budapest."""
    import json

    from shapely.geometry import Point, shape

    def view(page):
        found = {key: float(re.search(rf'data-{key}="([^"]+)"', page).group(1))
                 for key in ("centre-lat", "centre-lon", "zoom")}
        return found["centre-lat"], found["centre-lon"], found["zoom"]

    lat, lon, zoom = view(_html(as_officer.get("/resources/new")))
    assert (lat, lon, zoom) == (47.4979, 19.0402, 13)  # no outline yet
    # A town far from Budapest: Szeged's centre, about 6 km across.
    outline = {"type": "Polygon", "coordinates": [[[20.10, 46.23], [20.19, 46.23], [20.19, 46.28], [20.10, 46.28],
                                                   [20.10, 46.23]]]}
    path = tmp_path / "town.geojson"
    path.write_text(json.dumps(outline))
    app.config["RIADO_BOUNDARY_GEOJSON"] = str(path)
    lat, lon, zoom = view(_html(as_officer.get("/resources/new")))
    assert shape(outline).contains(Point(lon, lat)) and 11 <= zoom <= 14


def test_a_viewers_search_on_the_contacts_page_matches_only_what_they_see(app, client, officer, make_user, login):
    create_contact(client, email="titkos.cim@belvaros.example", organization="Önkormányzat")
    login(make_user("viewer"))
    for q in ("4567", "123 4567", "titkos", "belvaros.example"):
        page = _html(client.get("/contacts", query_string={"q": q}))
        assert "Kovács Júlia" not in page and "Nincs a feltételeknek megfelelő kapcsolattartó." in page, q
    assert "Kovács Júlia" in _html(client.get("/contacts?q=onkormanyzat"))
    officer = app.test_client()
    sign_in = officer.get("/login")
    user = make_user("officer")
    officer.post("/login", data={"email": user["email"], "password": user["password"],
                                 "csrf_token": csrf_from(_html(sign_in))})
    for q in ("4567", "titkos"):
        assert "Kovács Júlia" in _html(officer.get("/contacts", query_string={"q": q})), q
