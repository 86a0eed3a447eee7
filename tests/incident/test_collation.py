"""Names in the Hungarian order on both backends (issue 13, item 15): the contact list, the
resource list, the groups and the pickers sort "Pásztor" before "Pintér", "Sárközi" before
"Szűcs", "Csonka" after "Cukor", and "Dr. Szabó" under S."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident.collation import KEY_LENGTH, hungarian_key, sort_key

# As a Hungarian phone book lists them.
IN_ORDER = ["Dr. Abai Péter", "Cukor Béla", "Csonka Anna", "Dénes Éva", "Gulyás Ida", "Gyulai Ede", "Kossuth Lili",
            "Kosszú Ábel", "Kovács Anna", "Nagy Ilona", "Nyitrai Zoltán", "Ortutay Gábor", "Öveges József",
            "Pásztor Márta", "Pintér Zsófia", "Sárközi Tamás", "Dr. Szabó Katalin", "Szűcs Gergely",
            "Tóth Réka", "Török Bence", "Új Elemér", "Ügyes Lőrinc", "Zala Jenő", "Zsoldos Irén"]


def test_the_key_follows_the_hungarian_alphabet():
    assert sorted(reversed(IN_ORDER), key=hungarian_key) == IN_ORDER
    # Long vowels only break ties; lower case before upper case; the text keeps the order total.
    assert sorted(["Kovács", "Kovacs", "kovács"], key=hungarian_key) == ["Kovacs", "kovács", "Kovács"]


# Names made of what a register holds: Hungarian letters in both cases, digraphs by chance,
# titles, digits, punctuation, spaces, and now and then a letter of another alphabet.
NAME_CHARS = st.sampled_from(list("aábcdeéfghiíjklmnoóöőpqrstuúüűvwxyzAÁBCDEÉGHIÖŐSZÜŰ0123456789 .,-'()") +
                             ["ß", "ç", "Ł", "Ж", "ő", "é", "\u00a0", "😀"])
NAMES = st.one_of(st.text(NAME_CHARS, max_size=40),
                  st.tuples(st.sampled_from(["", "Dr. ", "dr ", "Ifj. "]), st.text(NAME_CHARS, max_size=20))
                  .map("".join))


@settings(max_examples=400, deadline=None)
@given(NAMES, NAMES)
def test_the_stored_key_sorts_as_the_collation_does(a, b):
    """The stored key's plain (code point) order, as SQLite and PostgreSQL's "C" compare it, is
    the Hungarian order of the names."""
    expected = (hungarian_key(a) > hungarian_key(b)) - (hungarian_key(a) < hungarian_key(b))
    assert ((sort_key(a) > sort_key(b)) - (sort_key(a) < sort_key(b))) == expected
    assert len(sort_key(a)) <= KEY_LENGTH


def test_a_renamed_record_moves_to_its_new_place(client, shuffled):
    headers, _ = shuffled
    contacts = client.get("/api/v1/contacts?limit=100", headers=headers).get_json()["items"]
    abai = next(c for c in contacts if c["name"] == "Dr. Abai Péter")
    response = client.patch(f"/api/v1/contacts/{abai['id']}", json={"name": "Zsoldos Ábel", "version": abai["version"]},
                            headers=headers)
    assert response.status_code == 200, response.get_json()
    names = [c["name"] for c in client.get("/api/v1/contacts?limit=100", headers=headers).get_json()["items"]]
    assert names == IN_ORDER[1:-1] + ["Zsoldos Ábel", "Zsoldos Irén"]


def _names(html: str, testid: str) -> list[str]:
    table = html.split(f'data-testid="{testid}"')[1].split("</table>")[0]
    return [n for n in re.findall(r'<a href="/(?:contacts|resources)/\d+">([^<]+)</a>', table)]


@pytest.fixture
def shuffled(client, api):
    headers, _ = api("officer")
    group = client.post("/api/v1/groups", json={"name": "Védelmi bizottság"}, headers=headers).get_json()
    for i, name in enumerate(sorted(IN_ORDER, key=lambda n: n[::-1])):  # any order but the right one
        phone = f"+3620555{i:04d}"
        response = client.post("/api/v1/contacts", json={"name": name, "phone": phone, "groups": [group["id"]],
                                                         "sms_opt_in": True}, headers=headers)
        assert response.status_code == 201, response.get_json()
        response = client.post("/api/v1/resources", json={"name": name, "kind": "pump",
                                                          "location": {"type": "Point", "coordinates": [19.05, 47.5]}},
                               headers=headers)
        assert response.status_code == 201, response.get_json()
    return headers, group


def test_lists_and_pickers_sort_the_hungarian_way(client, shuffled, make_user, login):
    headers, group = shuffled
    assert [c["name"] for c in client.get("/api/v1/contacts?limit=100", headers=headers).get_json()["items"]] == IN_ORDER
    assert [r["name"] for r in client.get("/api/v1/resources?limit=100", headers=headers).get_json()["items"]] == IN_ORDER
    login(make_user("officer"))
    assert _names(client.get("/contacts").get_data(as_text=True), "contacts") == IN_ORDER
    assert _names(client.get("/resources").get_data(as_text=True), "resources") == IN_ORDER
    assert _names(client.get(f"/groups/{group['id']}").get_data(as_text=True), "members") == IN_ORDER
    picker = client.get("/resources/new").get_data(as_text=True).split('name="contact_id"')[1].split("</select>")[0]
    assert re.findall(r'<option value="\d+">([^<]+)</option>', picker) == IN_ORDER
