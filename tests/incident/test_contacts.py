"""Contacts and alert groups through the API, as the officer keeps the call-out lists."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

BUDAPEST_V = {"type": "Point", "coordinates": [19.0502, 47.4966]}


def _count(app, model):
    from incident.extensions import db

    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize("typed", ["06 30 123 4567", "+36 30 123 4567", "30/123-4567", "06-30-123-45-67", "0036301234567"])
def test_phone_formats_become_e164(client, officer, typed):
    response = client.post("/api/v1/contacts", json={"name": "Kovács Júlia", "phone": typed}, headers=officer)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["phone"] == "+36301234567"


@pytest.mark.parametrize("bad", ["12345", "06 30 123", "hello", "+36 99 123 4567", ""])
def test_invalid_phone_is_refused_naming_phone_and_nothing_is_written(app, client, officer, bad):
    from incident.models import Contact

    response = client.post("/api/v1/contacts", json={"name": "Hibás Szám", "phone": bad}, headers=officer)
    assert response.status_code == 422
    assert "phone" in response.get_json()["errors"]["json"]
    assert _count(app, Contact) == 0


def test_every_bad_field_is_named_at_once(client, officer):
    response = client.post(
        "/api/v1/contacts",
        json={"name": "", "phone": "123", "email": "nope", "location": {"type": "Point", "coordinates": [47.5, 190]}},
        headers=officer,
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["json"]) == {"name", "phone", "email", "location"}


def test_contact_round_trip_with_groups_and_location(client, officer):
    group = client.post("/api/v1/groups", json={"name": "Helyi Védelmi Bizottság"}, headers=officer).get_json()
    created = client.post(
        "/api/v1/contacts",
        json={"name": "Dr. Szabó Katalin", "phone": "+36 20 555 0101", "email": "Polgarmester@Belvaros.example",
              "organization": "Önkormányzat", "role": "Polgármester", "groups": [group["id"]],
              "location": BUDAPEST_V, "notes": "éjjel is hívható"},
        headers=officer,
    ).get_json()
    got = client.get(f"/api/v1/contacts/{created['id']}", headers=officer).get_json()
    assert got["groups"] == [group["id"]]
    assert got["location"] == {"type": "Point", "coordinates": [19.0502, 47.4966]}
    assert got["email"] == "Polgarmester@belvaros.example"
    assert got["sms_opt_in"] is True and got["opted_out_at"] is None
    members = client.get(f"/api/v1/groups/{group['id']}", headers=officer).get_json()["members"]
    assert [m["name"] for m in members] == ["Dr. Szabó Katalin"]


def test_two_contacts_may_share_a_duty_phone(client, officer):
    for name in ("Ügyeletes 1", "Ügyeletes 2"):
        assert client.post("/api/v1/contacts", json={"name": name, "phone": "06 1 872 7211"}, headers=officer).status_code == 201


def test_unknown_group_is_refused(app, client, officer):
    from incident.models import Contact

    response = client.post("/api/v1/contacts", json={"name": "X", "phone": "06301234567", "groups": [999]}, headers=officer)
    assert response.status_code == 422 and "groups" in response.get_json()["errors"]["json"]
    assert _count(app, Contact) == 0


def test_opt_out_records_when(client, officer):
    c = client.post("/api/v1/contacts", json={"name": "X", "phone": "06301234567"}, headers=officer).get_json()
    out = client.patch(f"/api/v1/contacts/{c['id']}", json={"sms_opt_in": False}, headers=officer).get_json()
    assert out["sms_opt_in"] is False and out["opted_out_at"]
    back = client.patch(f"/api/v1/contacts/{c['id']}", json={"sms_opt_in": True}, headers=officer).get_json()
    assert back["sms_opt_in"] is True and back["opted_out_at"] is None


def test_viewers_see_phone_and_email_masked(client, api, officer):
    viewer = api("viewer")[0]
    c = client.post(
        "/api/v1/contacts", json={"name": "Kiss Gábor", "phone": "06 30 123 4567", "email": "kiss.gabor@example.hu"},
        headers=officer,
    ).get_json()
    seen = client.get(f"/api/v1/contacts/{c['id']}", headers=viewer).get_json()
    assert seen["phone"] == "+36 30 *** **67"
    assert seen["email"] == "k***@example.hu"
    listed = client.get("/api/v1/contacts", headers=viewer).get_json()["items"][0]
    assert listed["phone"] == "+36 30 *** **67"
    exported = client.get("/api/v1/contacts/export.csv", headers=viewer).get_data(as_text=True)
    assert "4567" not in exported and "+36 30 *** **67" in exported
    assert client.get(f"/api/v1/contacts/{c['id']}", headers=officer).get_json()["phone"] == "+36301234567"


def test_search_ignores_case_and_accents(client, officer):
    for name, org in (("Kovács Júlia", "Eötvös Gimnázium"), ("Nagy Péter", "ELMŰ ügyelet"), ("Tóth Ádám", "Vöröskereszt")):
        client.post("/api/v1/contacts", json={"name": name, "phone": "06301234567", "organization": org}, headers=officer)

    def names(q):
        return [c["name"] for c in client.get("/api/v1/contacts", query_string={"q": q}, headers=officer).get_json()["items"]]

    assert names("kovacs") == ["Kovács Júlia"]
    assert names("EÖTVÖS") == ["Kovács Júlia"]
    assert names("elmu") == ["Nagy Péter"]
    assert names("ádám vörös") == ["Tóth Ádám"]
    assert names("100%") == []


def test_group_filter_and_paging(client, officer):
    g = client.post("/api/v1/groups", json={"name": "Iskolaigazgatók"}, headers=officer).get_json()
    for i in range(7):
        client.post("/api/v1/contacts", json={"name": f"Igazgató {i}", "phone": "06301234567", "groups": [g["id"]]}, headers=officer)
    client.post("/api/v1/contacts", json={"name": "Más", "phone": "06301234567"}, headers=officer)
    page = client.get("/api/v1/contacts", query_string={"group": g["id"], "limit": 3, "offset": 3}, headers=officer).get_json()
    assert page["total"] == 7
    assert [c["name"] for c in page["items"]] == ["Igazgató 3", "Igazgató 4", "Igazgató 5"]


def test_group_names_are_unique_ignoring_case(client, officer):
    assert client.post("/api/v1/groups", json={"name": "Sajtó"}, headers=officer).status_code == 201
    dup = client.post("/api/v1/groups", json={"name": "SAJTÓ"}, headers=officer)
    assert dup.status_code == 409 and "name" in dup.get_json()["errors"]["json"]


# Look-alikes of "Sajtó": a zero-width space inside, "o" + a combining acute accent, and the word
# written backwards behind a right-to-left override (which shows it as "Sajtó").
LOOKALIKES = ["Saj\u200btó", "Sajto\u0301", "\u202eótjaS", "\ufeffSAJTÓ\u2069", "Saj\u00adtó", "\u202eo\u0301tjaS",
              "Saj\u2061tó", "Sajtó\ufe0f"]


@pytest.mark.parametrize("lookalike", LOOKALIKES)
def test_a_group_that_only_looks_different_is_the_same_group(client, officer, lookalike):
    sajto = client.post("/api/v1/groups", json={"name": "Sajtó"}, headers=officer).get_json()
    other = client.post("/api/v1/groups", json={"name": "Média"}, headers=officer).get_json()
    created = client.post("/api/v1/groups", json={"name": lookalike}, headers=officer)
    assert created.status_code == 409 and "name" in created.get_json()["errors"]["json"]
    renamed = client.patch(f"/api/v1/groups/{other['id']}", json={"name": lookalike}, headers=officer)
    assert renamed.status_code == 409 and "name" in renamed.get_json()["errors"]["json"]
    names = sorted(g["name"] for g in client.get("/api/v1/groups", headers=officer).get_json()["items"])
    assert names == ["Média", "Sajtó"]
    assert client.patch(f"/api/v1/groups/{sajto['id']}", json={"name": lookalike}, headers=officer).status_code == 200


def test_names_and_titles_are_stored_without_invisible_characters_and_composed(client, officer):
    group = client.post("/api/v1/groups", json={"name": "Saj\u200bto\u0301 \u202aés\u202c média"}, headers=officer)
    assert group.get_json()["name"] == "Sajtó és média"
    contact = client.post("/api/v1/contacts", json={"name": "Kova\u0301cs\u200d Júlia", "phone": "06301234567"},
                          headers=officer).get_json()
    assert contact["name"] == "Kovács Júlia"
    resource = client.post("/api/v1/resources", json={"name": "\u2066Szivattyú\u2069", "kind": "pump",
                                                       "location": {"type": "Point", "coordinates": [19.05, 47.5]}},
                           headers=officer).get_json()
    assert resource["name"] == "Szivattyú"
    incident = client.post("/api/v1/incidents", json={"title": "A\u0301rvi\u0301z\u200e", "kind": "flood",
                                                      "severity": "severe",
                                                      "location": {"type": "Point", "coordinates": [19.05, 47.5]}},
                           headers=officer).get_json()
    assert incident["title"] == "Árvíz"


def test_stale_version_is_a_conflict(client, officer):
    c = client.post("/api/v1/contacts", json={"name": "X", "phone": "06301234567"}, headers=officer).get_json()
    assert client.patch(f"/api/v1/contacts/{c['id']}", json={"role": "a", "version": c["version"]}, headers=officer).status_code == 200
    stale = client.patch(f"/api/v1/contacts/{c['id']}", json={"role": "b", "version": c["version"]}, headers=officer)
    assert stale.status_code == 409
    assert client.get(f"/api/v1/contacts/{c['id']}", headers=officer).get_json()["role"] == "a"


def test_delete_and_unknown_ids(client, officer):
    c = client.post("/api/v1/contacts", json={"name": "X", "phone": "06301234567"}, headers=officer).get_json()
    assert client.delete(f"/api/v1/contacts/{c['id']}", headers=officer).status_code == 204
    assert client.get(f"/api/v1/contacts/{c['id']}", headers=officer).status_code == 404
    assert client.patch("/api/v1/contacts/999", json={"name": "Y"}, headers=officer).status_code == 404


def test_membership_changes_are_audited(client, api, officer):
    admin = api("admin")[0]
    g = client.post("/api/v1/groups", json={"name": "Közművek"}, headers=officer).get_json()
    c = client.post("/api/v1/contacts", json={"name": "X", "phone": "06301234567"}, headers=officer).get_json()
    client.patch(f"/api/v1/contacts/{c['id']}", json={"groups": [g["id"]]}, headers=officer)
    entry = client.get("/api/v1/audit", query_string={"entity": "contacts", "record_id": c["id"]}, headers=admin).get_json()["items"][0]
    assert entry["changes"] == {"groups": [[], [str(g["id"])]]}


def test_one_change_is_one_version_step_and_one_audit_row(client, api, officer):
    admin = api("admin")[0]
    g = client.post("/api/v1/groups", json={"name": "Civil szervezetek"}, headers=officer).get_json()
    c = client.post("/api/v1/contacts", json={"name": "X", "phone": "06301234567"}, headers=officer).get_json()
    changed = client.patch(
        f"/api/v1/contacts/{c['id']}", json={"name": "Y", "groups": [g["id"]], "version": c["version"]}, headers=officer
    ).get_json()
    assert changed["version"] == c["version"] + 1
    entries = client.get("/api/v1/audit", query_string={"entity": "contacts", "record_id": c["id"]}, headers=admin).get_json()
    assert [e["action"] for e in entries["items"]] == ["update", "create"]
    assert entries["items"][0]["changes"] == {"name": ["X", "Y"], "groups": [[], [str(g["id"])]]}


# A viewer's search matches only what a viewer sees (the masked digits and e-mail stay hidden)


def test_a_viewers_search_finds_nobody_by_phone_digits_or_email(client, officer, api):
    client.post("/api/v1/contacts", json={"name": "Kovács Júlia", "phone": "06 30 123 4567",
                                          "email": "titkos.cim@belvaros.example", "organization": "Önkormányzat",
                                          "role": "Jegyző"}, headers=officer)
    viewer, _ = api("viewer")

    def found(headers, q):
        response = client.get("/api/v1/contacts", query_string={"q": q}, headers=headers)
        assert response.status_code == 200
        return [c["name"] for c in response.get_json()["items"]]

    for q in ("4567", "1234567", "+3630", "67", "titkos", "titkos.cim", "belvaros.example", "@"):
        assert found(viewer, q) == [], q
        assert found(officer, q) == ["Kovács Júlia"], q
    for q in ("kovacs", "onkormanyzat", "jegyzo", "Júlia Jegyző"):  # what the viewer sees is searchable
        assert found(viewer, q) == ["Kovács Júlia"], q


def test_an_officer_finds_a_contact_by_the_phone_number_written_any_usual_way(client, officer, api):
    client.post("/api/v1/contacts", json={"name": "Kovács Júlia", "phone": "+36 30 555 0331"}, headers=officer)
    client.post("/api/v1/contacts", json={"name": "Szabó Péter", "phone": "+36 20 555 0332"}, headers=officer)
    viewer, _ = api("viewer")
    for q in ("06 30 555 0331", "06305550331", "30/555-0331", "(30) 555-0331", "+36 30 555 0331", "0036305550331",
              "5550331"):
        names = [c["name"] for c in client.get("/api/v1/contacts", query_string={"q": q}, headers=officer).get_json()["items"]]
        assert names == ["Kovács Júlia"], q
        assert client.get("/api/v1/contacts", query_string={"q": q}, headers=viewer).get_json()["items"] == [], q


def test_a_stop_stays_with_the_phone_number(app, client, officer):
    """A contact who replied STOP is not given SMS alerts again by a new contact (an import row
    without an id, say) or another contact moved to the same number, while saving them without
    consent still works; the person's own page can record new consent."""
    from incident.extensions import db
    from incident.models import Contact
    from incident.operations.contacts import set_opt_in

    kept = client.post("/api/v1/contacts", json={"name": "Kelemen Tímea", "phone": "06 30 555 0427"},
                       headers=officer).get_json()
    with app.app_context():
        set_opt_in(db.session.get(Contact, kept["id"]), False)  # her STOP
        db.session.commit()
    again = client.post("/api/v1/contacts", json={"name": "Kelemen Tímea", "phone": "+36305550427"}, headers=officer)
    assert again.status_code == 422
    [message] = again.get_json()["errors"]["json"]["sms_opt_in"]
    assert "Kelemen Tímea" in message and "opted out" in message
    without = client.post("/api/v1/contacts", json={"name": "Kelemen T.", "phone": "+36305550427", "sms_opt_in": False},
                          headers=officer)
    assert without.status_code == 201
    other = client.post("/api/v1/contacts", json={"name": "Dobos Sándor", "phone": "06 30 555 0428"},
                        headers=officer).get_json()
    moved = client.patch(f"/api/v1/contacts/{other['id']}", json={"phone": "06 30 555 0427"}, headers=officer)
    assert moved.status_code == 422 and "sms_opt_in" in moved.get_json()["errors"]["json"]
    renewed = client.patch(f"/api/v1/contacts/{kept['id']}", json={"sms_opt_in": True}, headers=officer)
    assert renewed.status_code == 200 and renewed.get_json()["sms_opt_in"] is True

    import io

    csv = "name,phone,sms_opt_in\nKelemen Tímea,06 30 555 0427,yes\n".encode()
    with app.app_context():  # the renewed consent stands; a second opt-out, then the import
        set_opt_in(db.session.get(Contact, kept["id"]), False)
        db.session.commit()
    report = client.post("/api/v1/contacts/import", headers=officer, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(csv), "c.csv")}).get_json()
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(2, "sms_opt_in")] and report["created"] == 0
