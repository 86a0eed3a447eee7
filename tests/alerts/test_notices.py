"""Public information and the press desk (issue 18, SPEC §5): the press role, notices with a
four-eyes approval, the public page, every notice as CAP 1.2 (valid against the OASIS schema)
and the Atom feed (checked against RFC 4287's rules by a strict reader), the media log, and the
public answers carrying nothing private: no draft, no drill, no contact, no internal resource."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import xmlschema
from defusedxml import ElementTree as SafeET

from factories import (
    EMBANKMENT, PAYLOADS, create_contact, create_group, create_incident, create_resource, store_district_outline,
)

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "data" / "cap" / "CAP-v1.2.xsd"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"
NOTICE = {"title": "Viharos szél: fakidőlések a körúton", "body": "Kidőlt fák a Szent István körúton.",
          "instruction": "Kerülje el a körutat, ne álljon meg fák alatt."}


@pytest.fixture(scope="module")
def cap_schema():
    return xmlschema.XMLSchema(str(SCHEMA_PATH))


@pytest.fixture
def desk(api):
    """Bearer headers of a press officer, two officers and a viewer."""
    return {"press": api("press")[0], "officer": api("officer")[0], "second": api("officer")[0],
            "viewer": api("viewer")[0]}


def _draft(client, headers, **fields):
    response = client.post("/api/v1/notices", json={**NOTICE, **fields}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _publish(client, desk, **fields):
    notice = _draft(client, desk["press"], **fields)
    assert client.post(f"/api/v1/notices/{notice['id']}/submit", headers=desk["press"]).status_code == 200
    published = client.post(f"/api/v1/notices/{notice['id']}/approve", headers=desk["officer"])
    assert published.status_code == 200, published.get_json()
    return published.get_json()


def _cap(client, notice_id, schema):
    response = client.get(f"/public/notices/{notice_id}.cap")
    assert response.status_code == 200 and response.mimetype == "application/cap+xml"
    schema.validate(response.data)  # raises with the reason
    return SafeET.fromstring(response.data)


RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def atom_problems(data: bytes) -> list[str]:
    """What breaks RFC 4287 in an Atom document (a strict reader of its rules: the required
    elements once each, absolute ids, RFC 3339 times, links with href, one alternate link per
    type and language, an author for every entry, and text constructs of a known type)."""
    problems = []
    root = SafeET.fromstring(data)
    if root.tag != f"{ATOM}feed":
        return [f"the root is {root.tag}, not atom:feed"]

    def once(parent, name, where):
        found = parent.findall(f"{ATOM}{name}")
        if len(found) != 1:
            problems.append(f"{where} has {len(found)} atom:{name} (exactly one required)")
        return found[0] if found else None

    def check_common(parent, where):
        ident = once(parent, "id", where)
        if ident is not None and not re.match(r"^[a-z][a-z0-9+.-]*:\S+$", ident.text or ""):
            problems.append(f"{where}: atom:id {ident.text!r} is not an absolute IRI")
        title = once(parent, "title", where)
        if title is not None and title.get("type", "text") not in ("text", "html", "xhtml"):
            problems.append(f"{where}: title type {title.get('type')}")
        updated = once(parent, "updated", where)
        if updated is not None and not RFC3339.match(updated.text or ""):
            problems.append(f"{where}: updated {updated.text!r} is not an RFC 3339 date-time")
        alternates = set()
        for link in parent.findall(f"{ATOM}link"):
            if not link.get("href"):
                problems.append(f"{where}: a link without href")
            if link.get("rel", "alternate") == "alternate":
                key = (link.get("type"), link.get("hreflang"))
                if key in alternates:
                    problems.append(f"{where}: two alternate links of type {key}")
                alternates.add(key)
        for author in parent.findall(f"{ATOM}author"):
            once(author, "name", f"{where}/author")
        return alternates

    check_common(root, "feed")
    feed_author = root.findall(f"{ATOM}author")
    if not any(link.get("rel") == "self" for link in root.findall(f"{ATOM}link")):
        problems.append("feed has no rel=self link (RFC 4287 says it SHOULD)")
    for number, entry in enumerate(root.findall(f"{ATOM}entry"), start=1):
        where = f"entry {number}"
        alternates = check_common(entry, where)
        if not feed_author and not entry.findall(f"{ATOM}author"):
            problems.append(f"{where} has no author and the feed has none")
        if entry.find(f"{ATOM}content") is None:
            if not alternates:
                problems.append(f"{where} has neither content nor an alternate link")
            if entry.find(f"{ATOM}summary") is None:
                problems.append(f"{where} has neither content nor a summary")
        for published in entry.findall(f"{ATOM}published"):
            if not RFC3339.match(published.text or ""):
                problems.append(f"{where}: published {published.text!r}")
    return problems


def test_the_atom_check_can_fail():
    good = (b'<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x:1</id><title>t</title>'
            b'<updated>2026-01-01T00:00:00Z</updated><author><name>a</name></author>'
            b'<link rel="self" href="http://x/feed"/></feed>')
    assert atom_problems(good) == []
    assert atom_problems(good.replace(b"<id>urn:x:1</id>", b"")) != []
    assert atom_problems(good.replace(b"2026-01-01T00:00:00Z", b"2026-01-01 00:00")) != []
    entry = b'<entry><id>urn:x:2</id><title>e</title><updated>2026-01-01T00:00:00Z</updated></entry></feed>'
    assert atom_problems(good.replace(b"</feed>", entry)) != []  # no summary, content or link


# Roles


def test_a_press_officer_drafts_a_viewer_cannot_and_press_sends_no_alert_nor_changes_a_registry(client, desk):
    assert client.post("/api/v1/notices", json=NOTICE, headers=desk["viewer"]).status_code == 403
    notice = _draft(client, desk["press"])
    assert notice["status"] == "draft" and notice["public_url"] is None
    for headers in desk.values():  # every signed-in role reads them
        assert client.get(f"/api/v1/notices/{notice['id']}", headers=headers).status_code == 200
    group = create_group(client, "Sajtó")
    press = desk["press"]
    assert client.post("/api/v1/alerts", json={"body": "Teszt", "groups": [group["id"]]}, headers=press).status_code == 403
    assert client.post("/api/v1/contacts", json={"name": "X", "phone": "+36205550999"}, headers=press).status_code == 403
    assert client.post("/api/v1/resources", json={"name": "Szivattyú", "kind": "pump", "location": EMBANKMENT["coordinates"][0][0]},
                       headers=press).status_code == 403
    assert client.post("/api/v1/groups", json={"name": "Új"}, headers=press).status_code == 403
    incident = create_incident(client)
    assert client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "active"}, headers=press).status_code == 403
    assert client.post(f"/api/v1/incidents/{incident['id']}/log", json={"text": "x"}, headers=press).status_code == 403
    # Reads like a viewer: contacts masked.
    create_contact(client, name="Kovács Júlia", phone="+36205550123", email="julia@belvaros.example")
    contacts = client.get("/api/v1/contacts", headers=press).get_json()["items"]
    assert contacts[0]["phone"] != "+36205550123" and "*" in contacts[0]["phone"]


def test_the_press_role_is_offered_by_the_cli_and_the_users_api(client, api):
    admin, _ = api("admin")
    created = client.post("/api/v1/users", json={"email": "sajto@belvaros.example", "role": "press",
                                                 "password": "Dunakorzo-szel-2026!"}, headers=admin)
    assert created.status_code == 201 and created.get_json()["role"] == "press"
    import os
    import subprocess
    import sys

    riado = str(Path(sys.executable).with_name("riado"))
    result = subprocess.run([riado, "user", "create", "sajto2@belvaros.example", "--role", "press", "--password-stdin"],
                            input="Dunakorzo-szel-2026!\n", capture_output=True, text=True, timeout=120,
                            env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert "(press)" in result.stderr


# The approval


def test_four_eyes_the_author_cannot_approve_and_another_officer_publishes(client, desk, make_user, token_for):
    incident = create_incident(client)
    notice = _draft(client, desk["officer"], incident_id=incident["id"])
    assert client.post(f"/api/v1/notices/{notice['id']}/approve", headers=desk["second"]).status_code == 409  # a draft
    assert client.post(f"/api/v1/notices/{notice['id']}/submit", headers=desk["officer"]).get_json()["status"] == "pending"
    own = client.post(f"/api/v1/notices/{notice['id']}/approve", headers=desk["officer"])
    assert own.status_code == 403 and "cannot approve" in own.get_json()["message"]
    assert client.post(f"/api/v1/notices/{notice['id']}/approve", headers=desk["press"]).status_code == 403
    assert client.get(f"/api/v1/notices/{notice['id']}", headers=desk["viewer"]).get_json()["status"] == "pending"
    published = client.post(f"/api/v1/notices/{notice['id']}/approve", headers=desk["second"]).get_json()
    assert published["status"] == "published" and published["published_at"]
    assert published["public_url"].endswith(f"/public/notices/{notice['id']}")
    # A published notice is not edited: a new one supersedes it.
    assert client.patch(f"/api/v1/notices/{notice['id']}", json={"title": "Más"}, headers=desk["press"]).status_code == 409
    # Every step is in the incident's log and the audit trail.
    log = client.get(f"/api/v1/incidents/{incident['id']}/log", headers=desk["officer"]).get_json()["items"]
    texts = [e["text"] for e in log if e["kind"] == "system"]
    assert len([t for t in texts if NOTICE["title"] in t]) == 3  # drafted, submitted, published
    assert client.get(f"/api/v1/incidents/{incident['id']}/log/verify", headers=desk["viewer"]).get_json()["ok"]
    admin = {"Authorization": f"Bearer {token_for(make_user('admin'))}"}
    audit = client.get(f"/api/v1/audit?entity=notices&record_id={notice['id']}&limit=50", headers=admin).get_json()["items"]
    assert {row["action"] for row in audit} >= {"create", "update"}
    assert any("status" in row["changes"] for row in audit if row["action"] == "update"), audit


def test_four_eyes_whoever_changed_or_submitted_the_text_cannot_approve_it_either(client, desk, token_for,
                                                                                   make_user, login):
    """An officer who rewrites a press officer's draft (or takes it back after a rejection and
    submits it) has had a hand in its text: a second officer approves it, not that one, and the
    notice's page offers it to the second one only."""
    editor = make_user("officer")
    editor_headers = {"Authorization": f"Bearer {token_for(editor)}"}
    notice = _draft(client, desk["press"])
    rewritten = client.patch(f"/api/v1/notices/{notice['id']}", json={"title": "Teljesen más szöveg"},
                             headers=editor_headers)
    assert rewritten.status_code == 200
    assert client.post(f"/api/v1/notices/{notice['id']}/submit", headers=editor_headers).status_code == 200
    login(editor)
    page = client.get(f"/notices/{notice['id']}").get_data(as_text=True)
    assert 'data-testid="approve-notice"' not in page and 'data-testid="four-eyes"' in page
    assert client.post(f"/api/v1/notices/{notice['id']}/approve", headers=editor_headers).status_code == 403
    assert client.post(f"/api/v1/notices/{notice['id']}/approve", headers=desk["second"]).status_code == 200
    # An expiry decades ahead is refused, naming the field (the public pages could not show it).
    far = client.post("/api/v1/notices", json={**NOTICE, "expires_at": "9999-12-31T23:30:00+00:00"},
                      headers=desk["press"])
    assert far.status_code == 422 and "expires_at" in far.get_json()["errors"]["json"]


def test_rejecting_sends_it_back_with_the_reason_and_it_can_be_changed(client, desk):
    notice = _draft(client, desk["press"])
    client.post(f"/api/v1/notices/{notice['id']}/submit", headers=desk["press"])
    assert client.post(f"/api/v1/notices/{notice['id']}/reject", json={}, headers=desk["officer"]).status_code == 422
    assert client.post(f"/api/v1/notices/{notice['id']}/reject", json={"reason": "x"}, headers=desk["press"]).status_code == 403
    back = client.post(f"/api/v1/notices/{notice['id']}/reject", json={"reason": "Adja meg az utcát is."},
                       headers=desk["officer"]).get_json()
    assert back["status"] == "draft" and back["reject_reason"] == "Adja meg az utcát is."
    changed = client.patch(f"/api/v1/notices/{notice['id']}", json={"body": "A Falk Miksa utcában is.",
                                                                   "version": back["version"]}, headers=desk["press"])
    assert changed.status_code == 200 and changed.get_json()["body"] == "A Falk Miksa utcában is."
    stale = client.patch(f"/api/v1/notices/{notice['id']}", json={"body": "x", "version": back["version"]},
                         headers=desk["press"])
    assert stale.status_code == 409


def test_a_notice_on_a_drill_is_never_public(client, desk):
    drill = create_incident(client, title="Gyakorlat: árvíz", drill=True)
    notice = _draft(client, desk["press"], incident_id=drill["id"])
    refused = client.post(f"/api/v1/notices/{notice['id']}/submit", headers=desk["press"])
    assert refused.status_code == 409 and "drill" in refused.get_json()["message"]
    # An incident marked a drill after the notice was submitted: approving it is refused too.
    incident = create_incident(client)
    other = _draft(client, desk["press"], incident_id=incident["id"])
    client.post(f"/api/v1/notices/{other['id']}/submit", headers=desk["press"])
    version = client.get(f"/api/v1/incidents/{incident['id']}", headers=desk["officer"]).get_json()["version"]
    assert client.patch(f"/api/v1/incidents/{incident['id']}", json={"drill": True, "version": version},
                        headers=desk["officer"]).status_code == 200
    assert client.post(f"/api/v1/notices/{other['id']}/approve", headers=desk["second"]).status_code == 409
    for notice_id in (notice["id"], other["id"]):
        assert client.get(f"/public/notices/{notice_id}").status_code == 404


def test_the_page_of_a_drill_notice_offers_no_submit_button_and_says_why(app, client, desk, make_user):
    """Submitting a drill's notice is always refused, so its page does not offer it: it says
    instead that the notice is practice and is never submitted nor published. An ordinary
    draft's page still offers the button."""
    from conftest import csrf_from

    drill = create_incident(client, title="Gyakorlat: árvíz", drill=True)
    drill_notice = _draft(client, desk["press"], incident_id=drill["id"])
    ordinary = _draft(client, desk["press"], incident_id=create_incident(client)["id"])
    for role in ("press", "officer"):
        user, reader = make_user(role), app.test_client()
        token = csrf_from(reader.get("/login").get_data(as_text=True))
        reader.post("/login", data={"email": user["email"], "password": user["password"], "csrf_token": token})
        page = reader.get(f"/notices/{drill_notice['id']}").get_data(as_text=True)
        assert 'data-testid="submit-notice"' not in page
        assert 'data-testid="drill-notice"' in page and "nem küldhető be jóváhagyásra" in page
        assert 'data-testid="submit-notice"' in reader.get(f"/notices/{ordinary['id']}").get_data(as_text=True)
    # Saving a drill's notice in the editor does not tell the writer to submit it (the press reader's session).
    editor = reader.get(f"/notices/new?incident_id={drill['id']}").get_data(as_text=True)
    saved = reader.post("/notices/new", data={"csrf_token": csrf_from(editor), "title": "Gyakorló közlemény",
                                              "body": "Gyakorlás.", "incident_id": str(drill["id"]),
                                              "area_source": "incident"}, follow_redirects=True).get_data(as_text=True)
    assert "Gyakorlat közleménye tervezet marad" in saved and "küldje be jóváhagyásra" not in saved


def test_a_press_officer_who_submitted_a_notice_is_told_it_waits_for_an_officer(app, client, desk, make_user):
    """Not "an officer other than you": a press officer never approves."""
    from conftest import csrf_from

    press = make_user("press")
    reader = app.test_client()
    token = csrf_from(reader.get("/login").get_data(as_text=True))
    reader.post("/login", data={"email": press["email"], "password": press["password"], "csrf_token": token})
    editor = reader.get("/notices/new").get_data(as_text=True)
    reader.post("/notices/new", data={"csrf_token": csrf_from(editor), **NOTICE, "area_source": "incident"})
    notice = client.get("/api/v1/notices", headers=desk["viewer"]).get_json()["items"][0]
    page = reader.get(f"/notices/{notice['id']}").get_data(as_text=True)
    reader.post(f"/notices/{notice['id']}/submit", data={"csrf_token": csrf_from(page)})
    page = reader.get(f"/notices/{notice['id']}").get_data(as_text=True)
    assert "Ügyintézői jóváhagyásra vár." in page and "Önön kívüli" not in page


def test_bad_input_names_the_field(client, desk):
    cases = [({"title": ""}, "title"), ({"body": "x" * 901}, "body"), ({"severity": "huge"}, "severity"),
             ({"urgency": "now"}, "urgency"), ({"area": {"type": "Point", "coordinates": [19, 47]}}, "area"),
             ({"expires_at": "2020-01-01T10:00"}, "expires_at"), ({"expires_at": "holnap"}, "expires_at"),
             ({"incident_id": 999999}, "incident_id"), ({"supersedes": 999999}, "supersedes")]
    for fields, name in cases:
        response = client.post("/api/v1/notices", json={**NOTICE, **fields}, headers=desk["press"])
        assert response.status_code == 422, (fields, response.get_json())
        assert name in response.get_json()["errors"]["json"], (fields, response.get_json())
    draft = _draft(client, desk["press"])
    response = client.post("/api/v1/notices", json={**NOTICE, "supersedes": draft["id"]}, headers=desk["press"])
    assert response.status_code == 422 and "supersedes" in response.get_json()["errors"]["json"]


def test_the_editor_marks_every_bad_field_at_once(client, login, make_user):
    """A form with an empty title and text, an expiry in the past and an area that is not GeoJSON
    at all: each field is marked, not only the area, and nothing is written."""
    from conftest import csrf_from

    login(make_user("press"))
    page = client.get("/notices/new").get_data(as_text=True)
    answer = client.post("/notices/new", data={"csrf_token": csrf_from(page), "title": "", "body": "",
                                               "expires_at": "2020-01-01T10:00", "area_source": "drawn",
                                               "area": "{not json", "action": "save"})
    assert answer.status_code == 422
    marked = set(re.findall(r'<small class="field-error" id="([a-z_]+)-error">', answer.get_data(as_text=True)))
    assert marked == {"title", "body", "expires_at", "area"}
    assert client.get("/notices").get_data(as_text=True).count("data-notice=") == 0


# Vienna's Ringstraße: in another country, some 215 km from the district.
VIENNA = {"type": "Polygon", "coordinates": [[[16.36, 48.20], [16.38, 48.20], [16.38, 48.21], [16.36, 48.21],
                                              [16.36, 48.20]]]}
# The embankment with latitude and longitude swapped (in the Arabian Peninsula).
SWAPPED_EMBANKMENT = {"type": "Polygon", "coordinates": [[[lat, lon] for lon, lat in EMBANKMENT["coordinates"][0]]]}


def test_an_area_far_from_the_municipality_is_refused_naming_the_area(app, client, desk, login, make_user):
    """A notice's area in another country, or with latitude and longitude swapped, is refused
    (422 naming area, nothing written) until confirmed, as an incident's area is; an area inside
    the district is taken. The distance is measured by the database (both backends)."""
    from conftest import csrf_from

    store_district_outline(app)
    refused = client.post("/api/v1/notices", json={**NOTICE, "area": VIENNA}, headers=desk["press"])
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]["json"]
    assert list(errors) == ["area"]
    assert re.match(r"This area is 2\d\d km from the municipality \(more than 50 km\)\.", errors["area"][0]), errors
    assert "confirm_far" in refused.get_json()["message"]
    swapped = client.post("/api/v1/notices", json={**NOTICE, "area": SWAPPED_EMBANKMENT}, headers=desk["press"])
    assert swapped.status_code == 422
    assert "the other way round it lies inside the municipality" in swapped.get_json()["errors"]["json"]["area"][0]
    assert client.get("/api/v1/notices", headers=desk["press"]).get_json()["total"] == 0  # nothing written

    near = _draft(client, desk["press"], area=EMBANKMENT)
    moved = client.patch(f"/api/v1/notices/{near['id']}", json={"area": VIENNA}, headers=desk["press"])
    assert moved.status_code == 422 and list(moved.get_json()["errors"]["json"]) == ["area"]
    assert client.get(f"/api/v1/notices/{near['id']}", headers=desk["press"]).get_json()["area"] == EMBANKMENT
    confirmed = client.post("/api/v1/notices", json={**NOTICE, "area": VIENNA, "confirm_far": True},
                            headers=desk["press"])
    assert confirmed.status_code == 201 and confirmed.get_json()["area"] == VIENNA

    # The editor: the message beside the area, and the box that confirms it.
    import json

    login(make_user("press"))
    page = client.get("/notices/new").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "title": "Távoli terület", "body": "Szöveg", "area_source": "drawn",
            "area": json.dumps(VIENNA), "action": "save"}
    answer = client.post("/notices/new", data=form)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert re.search(r'<small class="field-error" id="area-error">Ez a terület 2\d\d km', html), html[:3000]
    assert 'data-testid="confirm-far"' in html
    assert client.get("/api/v1/notices", headers=desk["press"]).get_json()["total"] == 2
    saved = client.post("/notices/new", data={**form, "confirm_far": "y"})
    assert saved.status_code == 302
    assert client.get("/api/v1/notices", headers=desk["press"]).get_json()["total"] == 3


# The public answers


def test_public_urls_are_404_for_drafts_and_pending_notices(client, desk):
    notice = _draft(client, desk["press"])
    for path in (f"/public/notices/{notice['id']}", f"/public/notices/{notice['id']}.cap"):
        assert client.get(path).status_code == 404
    client.post(f"/api/v1/notices/{notice['id']}/submit", headers=desk["press"])
    for path in (f"/public/notices/{notice['id']}", f"/public/notices/{notice['id']}.cap"):
        assert client.get(path).status_code == 404
    assert NOTICE["title"] not in client.get("/public").get_data(as_text=True)
    assert NOTICE["title"] not in client.get("/public/feed.atom").get_data(as_text=True)
    assert client.get("/public/notices/99999").status_code == 404


def test_the_public_page_lists_current_notices_newest_first_and_public_shelters(client, desk):
    from incident.database import clock_at

    first = _publish(client, desk, title="Első közlemény")
    second = _publish(client, desk, title="Második közlemény", severity="severe")
    now = dt.datetime.now(dt.timezone.utc)
    expiring = _publish(client, desk, title="Lejáró közlemény", expires_at=(now + dt.timedelta(hours=1)).isoformat())
    create_resource(client, name="Lipótvárosi Sportcsarnok", kind="shelter", quantity=1, capacity=400, public=True)
    create_resource(client, name="Titkos raktár", kind="shelter", quantity=1, capacity=50, public=False)
    create_resource(client, name="Homokzsák-depó", kind="sandbags", quantity=500, public=True)
    assert "Lejáró közlemény" in client.get("/public").get_data(as_text=True)  # in force for an hour
    with clock_at(now + dt.timedelta(hours=1, minutes=1)):  # the clock the app reads, an hour on: no sleep
        response = client.get("/public")
        assert client.get(f"/public/notices/{expiring['id']}").status_code == 200  # still readable by its link
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert page.index("Második közlemény") < page.index("Első közlemény")  # newest first
    assert "Lejáró közlemény" not in page  # expired
    shelters = re.search(r'<ul class="shelters" data-testid="shelters">(.*?)</ul>', page, re.S).group(1)
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", shelters)).strip() == ("Lipótvárosi Sportcsarnok: 400 szabad férőhely "
                                                                       "(400 férőhelyből)")
    assert "Titkos raktár" not in page and "Homokzsák-depó" not in page
    assert len(response.data) < 100_000
    assert "max-age=60" in response.headers["Cache-Control"] and "public" in response.headers["Cache-Control"]
    # In English on request, in the configured language by default.
    assert '<html lang="hu">' in page
    english = client.get("/public?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "Második közlemény" in english
    assert client.get(f"/public/notices/{first['id']}").status_code == 200
    assert second["severity"] == "severe"


def test_a_notice_whose_expiry_passed_while_it_waited_is_not_approved(client, desk):
    from incident.database import clock_at

    now = dt.datetime.now(dt.timezone.utc)
    notice = _draft(client, desk["press"], expires_at=(now + dt.timedelta(hours=2)).isoformat())
    assert client.post(f"/api/v1/notices/{notice['id']}/submit", headers=desk["press"]).status_code == 200
    with clock_at(now + dt.timedelta(hours=3)):
        late = client.post(f"/api/v1/notices/{notice['id']}/approve", headers=desk["officer"])
    assert late.status_code == 409 and "expires_at" in late.get_json()["errors"]["json"]
    assert client.get(f"/api/v1/notices/{notice['id']}", headers=desk["press"]).get_json()["status"] == "pending"
    assert client.post(f"/api/v1/notices/{notice['id']}/approve", headers=desk["officer"]).status_code == 200


def test_the_public_answers_are_conditional_as_rfc_9110_says(client, desk):
    """Each public answer has a weak ETag of its content, the same whether it goes gzip-compressed
    or not (with Vary: Accept-Encoding); If-None-Match is compared weakly and ``*`` matches a
    current answer (304: no body, the same ETag, Cache-Control and Vary); any other tag, or a
    changed answer, gets 200; ``*`` on a notice that is not public is still 404."""
    import gzip

    notice = _publish(client, desk, body="Kidőlt fák a Szent István körúton. " * 20)  # long enough to be compressed
    draft = _draft(client, desk["press"], title="Piszkozat")
    paths = ("/public", "/public?lang=en", "/public/feed.atom", f"/public/notices/{notice['id']}",
             f"/public/notices/{notice['id']}.cap")
    for path in paths:
        plain = client.get(path)
        etag = plain.headers["ETag"]
        assert plain.status_code == 200 and re.fullmatch(r'W/"[0-9a-f]{32}"', etag), (path, etag)
        assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
        compressed = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert compressed.headers.get("Content-Encoding") == "gzip", (path, compressed.headers)
        assert gzip.decompress(compressed.data) == plain.data
        assert compressed.headers["ETag"] == etag and "Accept-Encoding" in compressed.headers["Vary"]
        for headers in ({"If-None-Match": etag}, {"If-None-Match": etag[2:]}, {"If-None-Match": f'"x", {etag}'},
                        {"If-None-Match": "*"}, {"If-None-Match": etag, "Accept-Encoding": "gzip"},
                        {"If-None-Match": "*", "Accept-Encoding": "gzip, br"}):
            unchanged = client.get(path, headers=headers)
            assert unchanged.status_code == 304, (path, headers)
            assert unchanged.data == b"" and "Content-Encoding" not in unchanged.headers
            assert unchanged.headers["ETag"] == etag and "Accept-Encoding" in unchanged.headers["Vary"]
            assert unchanged.headers["Cache-Control"] == "public, max-age=60"
        assert client.head(path, headers={"If-None-Match": etag}).status_code == 304
        tag = etag[3:-1]
        for other in ('"x"', 'W/"x"', f'"{tag}:gzip"', f'W/"{tag}:gzip"', f'"{tag[:-1]}"'):
            for encoding in ("", "gzip"):
                answer = client.get(path, headers={"If-None-Match": other, "Accept-Encoding": encoding})
                assert answer.status_code == 200 and answer.headers["ETag"] == etag, (path, other, encoding)
    # A notice that is not public has no current answer: '*' does not make it 304.
    assert client.get(f"/public/notices/{draft['id']}", headers={"If-None-Match": "*"}).status_code == 404
    # A changed answer has a new tag: the old one gets the new content.
    before = client.get("/public").headers["ETag"]
    _publish(client, desk, title="Újabb közlemény")
    changed = client.get("/public", headers={"If-None-Match": before})
    assert changed.status_code == 200 and changed.headers["ETag"] != before
    assert "Újabb közlemény" in changed.get_data(as_text=True)


def test_an_update_withdraws_the_notice_it_supersedes_with_cap_references(client, desk, cap_schema):
    incident = create_incident(client, area=EMBANKMENT)
    old = _publish(client, desk, incident_id=incident["id"], title="Első")
    new = _publish(client, desk, incident_id=incident["id"], title="Frissítés", supersedes=old["id"])
    assert new["supersedes"] == old["id"]
    former = client.get(f"/api/v1/notices/{old['id']}", headers=desk["viewer"]).get_json()
    assert former["status"] == "withdrawn" and former["superseded_by"] == new["id"]
    page = client.get("/public").get_data(as_text=True)
    assert "Frissítés" in page and "Első" not in page

    update = _cap(client, new["id"], cap_schema)
    original = _cap(client, old["id"], cap_schema)
    assert update.findtext(f"{CAP}msgType") == "Update"
    assert original.findtext(f"{CAP}msgType") == "Alert"
    reference = f"{original.findtext(f'{CAP}sender')},{original.findtext(f'{CAP}identifier')},{original.findtext(f'{CAP}sent')}"
    assert update.findtext(f"{CAP}references") == reference
    for doc in (update, original):
        assert doc.findtext(f"{CAP}status") == "Actual" and doc.findtext(f"{CAP}scope") == "Public"
        # The incident's area, lat,lon: the first pair is the embankment's south-west corner.
        polygon = doc.findtext(f"{CAP}info/{CAP}area/{CAP}polygon")
        assert polygon.split()[0] == "47.493000,19.047000" and polygon.split()[0] == polygon.split()[-1]
    # Withdrawn by hand: a Cancel (valid against the schema) referencing the thread it ends: the
    # superseded notice's message and the update's own.
    assert client.post(f"/api/v1/notices/{new['id']}/withdraw", headers=desk["press"]).status_code == 200
    cancel = _cap(client, new["id"], cap_schema)
    assert cancel.findtext(f"{CAP}msgType") == "Cancel"
    assert cancel.findtext(f"{CAP}references").split(" ") == [reference, _message_id(update)]
    assert cancel.findtext(f"{CAP}identifier") not in (update.findtext(f"{CAP}identifier"),
                                                         original.findtext(f"{CAP}identifier"))
    # The superseded notice's own message stands (its update replaced it; nothing cancels it twice).
    assert _cap(client, old["id"], cap_schema).findtext(f"{CAP}msgType") == "Alert"


def _message_id(doc) -> str:
    """A CAP message as another one's ``references`` names it: sender,identifier,sent."""
    return ",".join(doc.findtext(f"{CAP}{name}") for name in ("sender", "identifier", "sent"))


def test_an_update_of_an_update_references_the_whole_thread_and_so_does_its_cancel(client, desk, cap_schema):
    first = _publish(client, desk, title="Első")
    second = _publish(client, desk, title="Második", supersedes=first["id"])
    third = _publish(client, desk, title="Harmadik", supersedes=second["id"])
    messages = [_message_id(_cap(client, n["id"], cap_schema)) for n in (first, second)]
    latest = _cap(client, third["id"], cap_schema)
    assert latest.findtext(f"{CAP}msgType") == "Update"
    assert latest.findtext(f"{CAP}references").split(" ") == messages
    assert client.post(f"/api/v1/notices/{third['id']}/withdraw", headers=desk["press"]).status_code == 200
    cancel = _cap(client, third["id"], cap_schema)
    assert cancel.findtext(f"{CAP}msgType") == "Cancel"
    assert cancel.findtext(f"{CAP}references").split(" ") == [*messages, _message_id(latest)]
    titles = [e.findtext(f"{ATOM}title") for e in SafeET.fromstring(client.get("/public/feed.atom").data)
              .findall(f"{ATOM}entry")]
    assert titles[0] == "Visszavonva: Harmadik"
    # The ones an update replaced were not withdrawn (their CAP stays an Alert): the feed says so.
    assert sorted(titles[1:]) == ["Frissítés váltotta fel: Első", "Frissítés váltotta fel: Második"]
    assert _cap(client, first["id"], cap_schema).findtext(f"{CAP}msgType") == "Alert"


def test_the_feed_is_valid_atom_with_a_cap_link_per_notice_and_every_cap_is_valid(client, desk, cap_schema):
    area = {"type": "MultiPolygon", "coordinates": [EMBANKMENT["coordinates"]]}
    published = _publish(client, desk, area=area, area_desc="Vigadó tér", severity="moderate", urgency="immediate",
                         expires_at=(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=6)).isoformat())
    withdrawn = _publish(client, desk, title="Visszavont")
    client.post(f"/api/v1/notices/{withdrawn['id']}/withdraw", headers=desk["press"])
    _draft(client, desk["press"], title="Csak piszkozat")
    response = client.get("/public/feed.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    assert atom_problems(response.data) == []
    feed = SafeET.fromstring(response.data)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2 and "Csak piszkozat" not in response.get_data(as_text=True)
    # Each entry's CAP link, followed as an aggregator would, is that notice's CAP (valid): an
    # Alert for the published one, a Cancel for the withdrawn one, its web the entry's page.
    found = {}
    for entry in entries:
        links = {link.get("type"): link.get("href") for link in entry.findall(f"{ATOM}link")
                 if link.get("rel") == "alternate"}
        assert set(links) == {"text/html", "application/cap+xml"}
        answer = client.get(urlsplit(links["application/cap+xml"]).path)
        assert answer.status_code == 200 and answer.mimetype == "application/cap+xml"
        cap_schema.validate(answer.data)
        document = SafeET.fromstring(answer.data)
        assert document.findtext(f"{CAP}info/{CAP}web") == links["text/html"]
        found[entry.findtext(f"{ATOM}title")] = (document.findtext(f"{CAP}msgType"),
                                                 document.findtext(f"{CAP}info/{CAP}headline"), links["text/html"])
    assert found == {
        NOTICE["title"]: ("Alert", NOTICE["title"], f"http://127.0.0.1:5000/public/notices/{published['id']}"),
        "Visszavonva: Visszavont": ("Cancel", "Visszavont", f"http://127.0.0.1:5000/public/notices/{withdrawn['id']}"),
    }
    doc = _cap(client, published["id"], cap_schema)
    info = doc.find(f"{CAP}info")
    assert info.findtext(f"{CAP}urgency") == "Immediate" and info.findtext(f"{CAP}severity") == "Moderate"
    assert info.findtext(f"{CAP}expires").endswith("+01:00") or info.findtext(f"{CAP}expires").endswith("+02:00")
    assert info.findtext(f"{CAP}area/{CAP}areaDesc") == "Vigadó tér"
    assert len(info.findall(f"{CAP}area/{CAP}polygon")) == 1
    assert info.findtext(f"{CAP}instruction") == NOTICE["instruction"]


def test_the_sender_name_and_contact_come_from_the_settings(app_factory, api, cap_schema):
    app = app_factory(RIADO_PUBLIC_NAME="Budapest V. kerület Önkormányzata", RIADO_CAP_SENDER="hu.bp05.riado",
                      RIADO_PUBLIC_CONTACT="Polgármesteri Hivatal, +36 1 555 0100")
    client = app.test_client()
    desk = {"press": api("press")[0], "officer": api("officer")[0]}
    notice = _publish(client, desk)
    doc = _cap(client, notice["id"], cap_schema)
    assert doc.findtext(f"{CAP}sender") == "hu.bp05.riado"
    assert doc.findtext(f"{CAP}info/{CAP}senderName") == "Budapest V. kerület Önkormányzata"
    assert doc.findtext(f"{CAP}info/{CAP}contact") == "Polgármesteri Hivatal, +36 1 555 0100"
    page = client.get("/public").get_data(as_text=True)
    assert "Budapest V. kerület Önkormányzata" in page and "+36 1 555 0100" in page


def test_riado_public_0_turns_all_of_public_off(app_factory, api):
    on = app_factory().test_client()
    desk = {"press": api("press")[0], "officer": api("officer")[0]}
    notice = _publish(on, desk)
    off = app_factory(RIADO_PUBLIC=False).test_client()
    for path in ("/public", f"/public/notices/{notice['id']}", f"/public/notices/{notice['id']}.cap",
                 "/public/feed.atom", "/public?lang=en"):
        assert on.get(path).status_code == 200, path
        assert off.get(path).status_code == 404, path


def test_with_the_public_pages_off_nothing_links_to_them(app_factory, api, make_user):
    """RIADO_PUBLIC=0: no page of the press desk, no API answer and no e-mail to the press names
    a public page, the CAP or the feed (they would be 404); with it on, they do."""
    from conftest import csrf_from

    def signed_in(client, user):
        client.post("/login", data={"email": user["email"], "password": user["password"],
                                    "csrf_token": csrf_from(client.get("/login").get_data(as_text=True))})
        return client

    for enabled in (True, False):
        app = app_factory(RIADO_PUBLIC=enabled)
        client = app.test_client()
        desk = {"press": api("press")[0], "officer": api("officer")[0]}
        group = create_group(app, f"Sajtó {enabled}", press_list=True)
        create_contact(app, name="Szerkesztő Szilvia", phone="+36205550831", email="szilvia@hirlap.example",
                       groups=[group["id"]])
        draft = _draft(client, desk["press"], title=f"Közlemény {enabled}")
        client.post(f"/api/v1/notices/{draft['id']}/submit", headers=desk["press"])
        officer = signed_in(app.test_client(), make_user("officer"))
        page = officer.get(f"/notices/{draft['id']}").get_data(as_text=True)
        approved = officer.post(f"/notices/{draft['id']}/approve", data={"csrf_token": csrf_from(page)},
                                follow_redirects=True).get_data(as_text=True)
        notice = client.get(f"/api/v1/notices/{draft['id']}", headers=desk["press"]).get_json()
        assert notice["status"] == "published"
        sent = client.post(f"/api/v1/notices/{notice['id']}/send", json={"groups": [group["id"]]}, headers=desk["press"])
        mail = client.get(f"/api/v1/alerts/{sent.get_json()['id']}", headers=desk["officer"]).get_json()["body"]
        pages = [approved] + [officer.get(path).get_data(as_text=True)
                              for path in ("/", "/notices", f"/notices/{notice['id']}", "/notices/new")]
        if enabled:
            assert notice["public_url"].endswith(f"/public/notices/{notice['id']}")
            assert notice["cap_url"].endswith(f"/public/notices/{notice['id']}.cap")
            assert f"/public/notices/{notice['id']}" in mail
            assert 'data-testid="public-page-link"' in pages[3] and 'data-testid="public-link"' in pages[2]
            assert "nyilvános oldalon" in approved
        else:
            assert notice["public_url"] is None and notice["cap_url"] is None
            assert "/public" not in mail and NOTICE["body"] in mail
            for html in pages:
                assert "/public" not in html and "nyilvános oldal" not in html.lower()
            assert client.get(f"/public/notices/{notice['id']}").status_code == 404


def test_no_personal_data_nor_internal_resource_on_any_public_answer(client, desk):
    people = [("Kovács Júlia", "+36205550701", "julia.kovacs@belvaros.example"),
              ("Nagy Péter", "+36305550702", "peter.nagy@belvaros.example")]
    group = create_group(client, "Sajtólista")
    contact_ids = [create_contact(client, name=n, phone=p, email=e, groups=[group["id"]])["id"] for n, p, e in people]
    create_resource(client, name="Eötvös Gimnázium tornaterme", kind="shelter", quantity=1, capacity=180, public=True,
                    contact_id=contact_ids[0], owner="Eötvös József Gimnázium", notes="Kulcs a gondnoknál: 06 30 555 0703")
    create_resource(client, name="Belső áramfejlesztő", kind="generator", quantity=2)
    incident = create_incident(client, commander="Horváth Bence", description="Belső leírás: HVB jegyzőkönyv")
    drill = create_incident(client, title="Gyakorlat", drill=True)
    published = _publish(client, desk, incident_id=incident["id"])
    _draft(client, desk["press"], title="Piszkozat szövege")
    _draft(client, desk["press"], title="Gyakorlati közlemény", incident_id=drill["id"])
    answers = {path: client.get(path) for path in (
        "/public", "/public?lang=en", f"/public/notices/{published['id']}", f"/public/notices/{published['id']}.cap",
        "/public/feed.atom")}
    authors = [client.get("/api/v1/me", headers=h).get_json()["email"] for h in desk.values()]
    for path, response in answers.items():
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        for _name, phone, email in people:
            digits = phone[3:]
            assert phone not in text and digits not in text and email not in text, path
        for secret in ("555 0703", "Kulcs a gondnoknál", "Belső áramfejlesztő", "Eötvös József Gimnázium",
                       "Piszkozat szövege", "Gyakorlati közlemény", "Horváth Bence", "HVB jegyzőkönyv", *authors):
            assert secret not in text, (path, secret)
        assert "Set-Cookie" not in response.headers, path
    assert "Eötvös Gimnázium tornaterme" in answers["/public"].get_data(as_text=True)


def test_text_people_write_stays_text_on_the_page_in_the_feed_and_in_the_cap(client, desk, cap_schema):
    hostile = " ".join(PAYLOADS) + " [kattintson ide](javascript:alert(1)) ${document.cookie}"
    notice = _publish(client, desk, title="<script>alert('cím')</script> ${x}", body=hostile,
                      instruction="<b>Menjen</b> [ide](http://evil.example)", area_desc="<img src=x onerror=alert(1)>")
    page = client.get("/public").get_data(as_text=True) + client.get(f"/public/notices/{notice['id']}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "<script>alert('cím')" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "<b>Menjen</b>" not in page
    assert 'href="javascript:' not in page and 'href="http://evil.example"' not in page
    assert "[kattintson ide](javascript:alert(1))" in page and "${document.cookie}" in page
    feed = client.get("/public/feed.atom")
    assert atom_problems(feed.data) == []
    summaries = [e.findtext(f"{ATOM}summary") for e in SafeET.fromstring(feed.data).findall(f"{ATOM}entry")]
    assert summaries[0].startswith(hostile) and b"<script>" not in feed.data
    doc = _cap(client, notice["id"], cap_schema)
    assert doc.findtext(f"{CAP}info/{CAP}description") == hostile
    assert doc.findtext(f"{CAP}info/{CAP}headline") == "<script>alert('cím')</script> ${x}"
    assert b"<script>" not in client.get(f"/public/notices/{notice['id']}.cap").data


# The press list and the media log


def test_a_published_notice_is_e_mailed_to_groups_and_its_page_lists_who_received_it(app, client, desk, login,
                                                                                       make_user):
    group = create_group(client, "Sajtó: országos és helyi", press_list=True)
    create_contact(client, name="Szerkesztő Szilvia", phone="+36205550801", email="szilvia@hirlap.example",
                   groups=[group["id"]])
    create_contact(client, name="Kábeltévé Kati", phone="+36205550802", email="", groups=[group["id"]])
    draft = _draft(client, desk["press"])
    assert client.post(f"/api/v1/notices/{draft['id']}/send", json={"groups": [group["id"]]},
                       headers=desk["press"]).status_code == 409  # not published
    notice = _publish(client, desk)
    assert client.post(f"/api/v1/notices/{notice['id']}/send", json={"groups": []}, headers=desk["press"]).status_code == 422
    assert client.post(f"/api/v1/notices/{notice['id']}/send", json={"groups": [group["id"]]},
                       headers=desk["viewer"]).status_code == 403
    sent = client.post(f"/api/v1/notices/{notice['id']}/send", json={"groups": [group["id"]]}, headers=desk["press"])
    assert sent.status_code == 202, sent.get_json()
    alert = client.get(f"/api/v1/alerts/{sent.get_json()['id']}", headers=desk["officer"]).get_json()
    assert alert["channels"] == ["email"] and alert["recipients"] == 1 and alert["counts"]["excluded"] == 1
    assert alert["subject"] == NOTICE["title"] and NOTICE["body"] in alert["body"]
    assert f"/public/notices/{notice['id']}" in alert["body"]
    press = make_user("press")
    login(press)
    page = client.get(f"/notices/{notice['id']}").get_data(as_text=True)
    assert "Szerkesztő Szilvia" in page and "szilvia@hirlap.example" not in page  # masked for the press role


def test_a_press_officer_e_mails_the_press_lists_only(app, client, desk, login, make_user):
    """The press role sends a notice to groups marked as press lists, never to another call-out
    list (the local defence committee): 403 naming the group, in the API and on the page, and
    nothing is sent. An officer may choose any group."""
    from conftest import csrf_from

    press_list = create_group(client, "Sajtólista", press_list=True)
    committee = client.post("/api/v1/groups", json={"name": "Helyi Védelmi Bizottság"}, headers=desk["officer"])
    assert committee.status_code == 201 and committee.get_json()["press_list"] is False
    committee = committee.get_json()
    create_contact(client, name="Szerkesztő Szilvia", phone="+36205550821", email="szilvia@hirlap.example",
                   groups=[press_list["id"]])
    create_contact(client, name="Polgármester Péter", phone="+36205550822", email="pm@belvaros.example",
                   groups=[committee["id"]])
    notice = _publish(client, desk)
    url = f"/api/v1/notices/{notice['id']}/send"

    for groups in ([committee["id"]], [press_list["id"], committee["id"]]):
        refused = client.post(url, json={"groups": groups}, headers=desk["press"])
        assert refused.status_code == 403, refused.get_json()
        assert "Helyi Védelmi Bizottság" in refused.get_json()["message"]
        assert "Sajtólista" not in refused.get_json()["message"]
    assert client.get("/api/v1/alerts", headers=desk["officer"]).get_json()["total"] == 0  # nothing sent
    assert client.post(url, json={"groups": [999999]}, headers=desk["press"]).status_code == 422
    assert client.post(url, json={"groups": [press_list["id"]]}, headers=desk["press"]).status_code == 202
    assert client.post(url, json={"groups": [committee["id"]]}, headers=desk["officer"]).status_code == 202
    # An officer marks a group as a press list (and unmarks it) through the API.
    marked = client.patch(f"/api/v1/groups/{committee['id']}", json={"press_list": True}, headers=desk["officer"])
    assert marked.status_code == 200 and marked.get_json()["press_list"] is True
    assert client.patch(f"/api/v1/groups/{committee['id']}", json={"press_list": False},
                        headers=desk["officer"]).get_json()["press_list"] is False
    assert client.patch(f"/api/v1/groups/{press_list['id']}", json={"press_list": False},
                        headers=desk["press"]).status_code == 403

    # An officer marks a press list on the group's page too; the groups' list says which are.
    officer = make_user("officer")
    officer_client = app.test_client()
    officer_client.post("/login", data={"email": officer["email"], "password": officer["password"],
                                        "csrf_token": csrf_from(officer_client.get("/login").get_data(as_text=True))})
    form = officer_client.get(f"/groups/{committee['id']}").get_data(as_text=True)
    assert 'name="press_list"' in form
    saved = officer_client.post(f"/groups/{committee['id']}", data={"name": "Helyi Védelmi Bizottság", "description": "",
                                                                     "press_list": "y", "csrf_token": csrf_from(form)})
    assert saved.status_code == 302
    listing = officer_client.get("/groups").get_data(as_text=True)
    assert len(re.findall(r'data-testid="press-list">igen<', listing)) == 2
    officer_client.post(f"/groups/{committee['id']}", data={"name": "Helyi Védelmi Bizottság", "description": "",
                                                             "csrf_token": csrf_from(form)})
    assert client.get(f"/api/v1/groups/{committee['id']}", headers=desk["officer"]).get_json()["press_list"] is False

    # The page: the press officer is offered the press lists only; a forged choice is 403.
    login(make_user("press"))
    page = client.get(f"/notices/{notice['id']}").get_data(as_text=True)
    offered = re.findall(r'data-testid="send-group" data-name="([^"]+)"', page)
    assert offered == ["Sajtólista"]
    forged = client.post(f"/notices/{notice['id']}/send", data={"groups": [str(committee["id"])],
                                                                "csrf_token": csrf_from(page)})
    assert forged.status_code == 403
    assert "nem sajtólista: Helyi Védelmi Bizottság" in forged.get_data(as_text=True).replace("\n", " ")
    alerts = client.get("/api/v1/alerts", headers=desk["officer"]).get_json()["items"]
    assert len(alerts) == 2  # the two sent above, no third
    # Without a press list the press officer is told how to get one.
    client.patch(f"/api/v1/groups/{press_list['id']}", json={"press_list": False}, headers=desk["officer"])
    page = client.get(f"/notices/{notice['id']}").get_data(as_text=True)
    assert 'data-testid="no-press-list"' in page and 'data-testid="send-form"' not in page


def test_the_media_log_is_kept_by_the_press_and_listed_on_the_incident_and_after_action_pages(client, desk, login,
                                                                                                make_user):
    incident = create_incident(client)
    entry = client.post(f"/api/v1/incidents/{incident['id']}/media",
                        json={"outlet": "Belvárosi Hírek", "journalist": "Riporter Rita",
                              "asked": "Mikor nyit újra a körút?", "link": "https://hirek.example/vihar"},
                        headers=desk["press"])
    assert entry.status_code == 201 and entry.get_json()["kind"] == "media"
    assert "Belvárosi Hírek" in entry.get_json()["text"] and "https://hirek.example/vihar" in entry.get_json()["text"]
    bad = client.post(f"/api/v1/incidents/{incident['id']}/media", json={"outlet": "", "link": "javascript:alert(1)"},
                      headers=desk["press"])
    assert bad.status_code == 422 and {"outlet", "link", "asked"} <= set(bad.get_json()["errors"]["json"])
    assert client.post(f"/api/v1/incidents/{incident['id']}/media", json={"outlet": "X", "asked": "?"},
                       headers=desk["viewer"]).status_code == 403
    # An officer may write a media entry straight into the log too.
    assert client.post(f"/api/v1/incidents/{incident['id']}/log", json={"text": "M1 interjú", "kind": "media"},
                       headers=desk["officer"]).status_code == 201
    login(make_user("press"))
    page = client.get(f"/incidents/{incident['id']}").get_data(as_text=True)
    assert "Riporter Rita" in page and 'data-testid="media-link"' in page and 'data-testid="notice-link"' in page
    report = client.get(f"/incidents/{incident['id']}/after-action").get_data(as_text=True)
    assert "Mikor nyit újra a körút?" in report and "M1 interjú" in report and 'data-testid="media-contacts"' in report


def test_a_signed_in_visitor_gets_the_public_page_private_and_an_anonymous_one_cacheable(app, client, desk, make_user,
                                                                                         login):
    """A signed-in answer carries the session's cookie: no shared cache may keep it."""
    _publish(client, desk)
    anonymous = app.test_client().get("/public")
    assert anonymous.status_code == 200 and anonymous.headers["Cache-Control"].startswith("public")
    login(make_user("viewer"))
    signed_in = client.get("/public")
    assert signed_in.status_code == 200 and signed_in.headers["Cache-Control"] == "private, no-store"


def _submitted(client, desk, **fields):
    notice = _draft(client, desk["press"], **fields)
    assert client.post(f"/api/v1/notices/{notice['id']}/submit", headers=desk["press"]).status_code == 200
    return notice


def test_only_the_notice_in_force_can_be_updated(client, desk):
    """Two corrections of one notice: the first approved replaces it, the second is refused (it
    would update a notice no longer in force), and so is an update of a notice withdrawn while the
    update waited: the public page never shows two versions or revives a cancelled notice."""
    original = _publish(client, desk, title="Eredeti")
    first = _submitted(client, desk, title="Első javítás", supersedes=original["id"])
    second = _submitted(client, desk, title="Második javítás", supersedes=original["id"])
    assert client.post(f"/api/v1/notices/{first['id']}/approve", headers=desk["officer"]).status_code == 200
    refused = client.post(f"/api/v1/notices/{second['id']}/approve", headers=desk["officer"])
    assert refused.status_code == 409
    assert "supersedes" in str(refused.get_json()) and f"#{original['id']}" in str(refused.get_json())
    assert client.get(f"/api/v1/notices/{second['id']}", headers=desk["viewer"]).get_json()["status"] == "pending"
    page = client.get("/public").get_data(as_text=True)
    assert "Első javítás" in page and "Második javítás" not in page and "Eredeti" not in page

    withdrawn = _publish(client, desk, title="Visszavonandó")
    late = _submitted(client, desk, title="Késő frissítés", supersedes=withdrawn["id"])
    assert client.post(f"/api/v1/notices/{withdrawn['id']}/withdraw", headers=desk["officer"]).status_code == 200
    assert client.post(f"/api/v1/notices/{late['id']}/approve", headers=desk["officer"]).status_code == 409
    assert client.get(f"/public/notices/{late['id']}.cap").status_code == 404
    assert "Késő frissítés" not in client.get("/public").get_data(as_text=True)


def test_a_published_notice_s_page_starts_an_update_from_its_text(client, desk, login, make_user):
    """"Write an update" opens the editor on the published notice's text, set to replace it; what
    is saved is a draft that replaces it once approved (the original stays in force until then)."""
    from conftest import csrf_from

    original = _publish(client, desk, title="Lezárás a Váci utcában", area_desc="Váci utca")
    login(make_user("press"))
    page = client.get(f"/notices/{original['id']}").get_data(as_text=True)
    assert f'href="/notices/new?update_of={original["id"]}" data-testid="write-update"' in page
    editor = client.get(f"/notices/new?update_of={original['id']}").get_data(as_text=True)
    assert 'value="Lezárás a Váci utcában"' in editor and NOTICE["body"] in editor and NOTICE["instruction"] in editor
    assert f'<option value="{original["id"]}" selected>' in editor and 'value="Váci utca"' in editor
    assert "<h1>Közzétett közlemény frissítése</h1>" in editor
    saved = client.post("/notices/new", data={
        "csrf_token": csrf_from(editor), "title": "Lezárás a Váci utcában: feloldva", "body": "A lezárás megszűnt.",
        "supersedes": str(original["id"]), "area_source": "incident", "severity": "minor", "urgency": "past"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    drafts = [n for n in client.get("/api/v1/notices", headers=desk["viewer"]).get_json()["items"]
              if n["status"] == "draft"]
    assert [(n["title"], n["supersedes"]) for n in drafts] == [("Lezárás a Váci utcában: feloldva", original["id"])]
    assert client.get(f"/api/v1/notices/{original['id']}", headers=desk["viewer"]).get_json()["status"] == "published"
    # Nothing to update but a published notice: a draft's or an unknown number starts an empty form.
    for other in (drafts[0]["id"], 999999, "nem-szám"):
        assert 'selected>' not in client.get(f"/notices/new?update_of={other}").get_data(as_text=True).split('id="supersedes"')[1].split("</select>")[0]
    client.post("/logout", data={"csrf_token": csrf_from(editor)})
    login(make_user("viewer"))
    assert 'data-testid="write-update"' not in client.get(f"/notices/{original['id']}").get_data(as_text=True)
