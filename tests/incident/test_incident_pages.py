"""The incident pages as officers and viewers use them: the register, the form, the incident page
(lifecycle, quick log entry, corrections, assignments), the situation report, and escaping."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser

from sqlalchemy import func, select, text

from conftest import csrf_from
from factories import EMBANKMENT, create_incident, create_resource

VIGADO = {"type": "Point", "coordinates": [19.0493, 47.4957]}
BOWTIE = {"type": "Polygon", "coordinates": [[[19.04, 47.49], [19.05, 47.50], [19.05, 47.49], [19.04, 47.50], [19.04, 47.49]]]}
SCRIPT = "<script>alert('x')</script>"
IMG = '<img src=x onerror="alert(1)">'


# A small DOM, enough to find elements by data-testid and read their text


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def all(self, testid=None, tag=None, **attrs):
        found = []
        for node in self.iter():
            if testid is not None and node.attrs.get("data-testid") != testid:
                continue
            if tag is not None and node.tag != tag:
                continue
            if any(node.attrs.get(k.replace("_", "-")) != v for k, v in attrs.items()):
                continue
            found.append(node)
        return found

    def one(self, testid=None, **kwargs):
        found = self.all(testid, **kwargs)
        assert len(found) == 1, (testid, kwargs, len(found))
        return found[0]

    def has(self, testid=None, **kwargs) -> bool:
        return bool(self.all(testid, **kwargs))


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#root", {})

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def dom(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    return builder.root


# Helpers


def _html(response) -> str:
    return response.get_data(as_text=True)


def _count(app, model) -> int:
    from incident.extensions import db

    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _available(client, headers, rid) -> int:
    return client.get(f"/api/v1/resources/{rid}", headers=headers).get_json()["available_quantity"]


def _log(client, headers, iid) -> list[dict]:
    return client.get(f"/api/v1/incidents/{iid}/log?limit=500", headers=headers).get_json()["items"]


def _post(client, page_path, action, data, **kwargs):
    """GET a page, then POST ``data`` with its CSRF token to ``action``."""
    token = csrf_from(_html(client.get(page_path)))
    return client.post(action, data={"csrf_token": token, **data}, **kwargs)


def _timeline(html: str) -> list[int]:
    return [int(li.attrs["data-seq"]) for li in dom(html).one("timeline").all("log-entry")]


def _field_block(html: str, field_id: str) -> str:
    match = re.search(r'<div class="field[^"]*">(?:(?!<div class="field).)*?id="' + re.escape(field_id) + r'".*?</div>',
                      html, re.S)
    assert match, f"no field {field_id}"
    return match.group(0)


# The register


def test_list_filters_and_shows_the_columns(client, officer, make_user, login):
    year = dt.datetime.now(dt.timezone.utc).year
    drill = create_incident(client, title="Árvízi gyakorlat", drill=True, severity="moderate")
    real = create_incident(client, title="Valódi árvíz", severity="extreme")
    storm = create_incident(client, title="Vihar a Belvárosban", kind="storm", severity="minor")
    client.patch(f"/api/v1/incidents/{real['id']}", json={"status": "active"}, headers=officer)
    login(make_user("viewer"))

    page = client.get("/incidents")
    assert page.status_code == 200
    html = _html(page)
    rows = dom(html).all("incident-row")
    assert [r.one("title").text() for r in rows] == ["Vihar a Belvárosban", "Valódi árvíz", "Árvízi gyakorlat"]
    assert rows[2].one("number").text() == f"{year}-0001"
    assert rows[0].one("severity").attrs["data-severity"] == "minor" and rows[0].one("severity").text() == "csekély"
    assert rows[1].one("severity").attrs["class"].split()[-1] == "severity-extreme"
    assert rows[1].one("status").text() == "aktív"
    assert rows[1].one("log-count").text() == "2"  # recorded, then activated
    assert rows[2].has("drill-mark") and not rows[1].has("drill-mark")
    assert rows[0].all(tag="td")[2].text() == "vihar"
    assert 'data-testid="new-incident"' not in html  # viewers record nothing
    assert 'aria-current="page"' in html and ">Események<" in html

    def titles(**query):
        return [r.one("title").text() for r in dom(_html(client.get("/incidents", query_string=query))).all("incident-row")]

    assert titles(drill="yes") == ["Árvízi gyakorlat"]
    assert titles(drill="no") == ["Vihar a Belvárosban", "Valódi árvíz"]
    assert titles(status="active") == ["Valódi árvíz"]
    assert titles(kind="storm") == ["Vihar a Belvárosban"]
    assert titles(q="vihar") == ["Vihar a Belvárosban"]
    assert titles(q="nincs ilyen") == []
    assert titles(status="nonsense") == titles()  # an unknown filter value is ignored
    # An incident number goes straight to its page.
    jump = client.get("/incidents", query_string={"q": storm["number"]})
    assert jump.status_code == 302 and jump.headers["Location"].endswith(f"/incidents/{storm['id']}")
    assert drill["drill"] is True


def test_list_pages_by_fifty_and_officers_see_new_incident(app, as_officer):
    from incident.extensions import db
    from incident.operations import incidents as ops

    with app.test_request_context():
        for n in range(52):
            ops.create_incident({"title": f"Esemény {n:02d}", "kind": "other", "severity": "unknown", "location": VIGADO})
        db.session.commit()
    first = _html(as_officer.get("/incidents"))
    assert len(dom(first).all("incident-row")) == 50
    assert 'data-testid="new-incident"' in first and "52 esemény" in first
    second = dom(_html(as_officer.get("/incidents?page=2"))).all("incident-row")
    assert [r.one("title").text() for r in second] == ["Esemény 01", "Esemény 00"]


# The form


def test_officer_records_an_incident_through_the_form(app, as_officer):
    assert as_officer.get("/incidents/new").status_code == 200
    response = _post(as_officer, "/incidents/new", "/incidents/new", {
        "title": "Gázszivárgás a Váci utcában", "kind": "gas_leak", "severity": "severe",
        "commander": "Dr. Szabó Katalin jegyző", "description": "Első sor\nmásodik sor", "drill": "y",
        "latitude": "47.4957", "longitude": "19.0493", "area": json.dumps({"type": "Feature", "properties": {}, "geometry": EMBANKMENT}),
    })
    assert response.status_code == 302, _html(response)
    incident = as_officer.get("/api/v1/incidents").get_json()["items"][0]
    assert response.headers["Location"].endswith(f"/incidents/{incident['id']}")
    assert incident["title"] == "Gázszivárgás a Váci utcában" and incident["drill"] is True
    assert incident["location"]["coordinates"] == [19.0493, 47.4957]
    assert incident["area"]["type"] == "Polygon" and incident["description"] == "Első sor\nmásodik sor"
    page = as_officer.get(response.headers["Location"])
    html = _html(page)
    assert incident["number"] in html and "Esemény rögzítve" in html
    assert dom(html).one("drill-banner").text().startswith("GYAKORLAT")


def test_the_form_works_without_scripts(app, as_officer):
    """Without scripts the map stays blank: what the form sends is its visible latitude and
    longitude inputs and the GeoJSON text field (folded away as the advanced way to give an area)."""
    form = dom(_html(as_officer.get("/incidents/new"))).one("incident-form")
    named = {}
    for node in form.iter():
        if node.tag in ("input", "select", "textarea") and node.attrs.get("name"):
            assert node.attrs["name"] not in named, node.attrs["name"]  # one value per name
            named[node.attrs["name"]] = node
    # Text with a decimal keyboard: a number field would drop a decimal comma (47,5 → 475).
    assert named["latitude"].attrs["type"] == named["longitude"].attrs["type"] == "text"
    assert named["latitude"].attrs["inputmode"] == named["longitude"].attrs["inputmode"] == "decimal"
    area, parent = named["area"], named["area"].parent
    while parent.tag != "details":
        parent = parent.parent
    assert area.tag == "textarea" and parent.attrs.get("data-testid") == "area-advanced" and "open" not in parent.attrs
    assert "később" not in form.text()  # no "drawing comes in a later version"
    typed = {"title": "Árvíz", "kind": "flood", "severity": "severe", "latitude": "47.4957", "longitude": "19.0493",
             "area": json.dumps(EMBANKMENT)}
    assert set(typed) <= set(named)
    response = _post(as_officer, "/incidents/new", "/incidents/new", typed)
    assert response.status_code == 302, _html(response)
    incident = as_officer.get("/api/v1/incidents").get_json()["items"][0]
    assert incident["location"] == VIGADO and incident["area"] == EMBANKMENT


def test_a_bad_area_is_named_beside_the_area_field_and_nothing_is_written(app, as_officer):
    from incident.models import Incident, LogEntry

    base = {"title": "Árvíz", "kind": "flood", "severity": "severe", "latitude": "47.4957", "longitude": "19.0493"}
    response = _post(as_officer, "/incidents/new", "/incidents/new", {**base, "area": json.dumps(BOWTIE)})
    assert response.status_code == 422
    html = _html(response)
    area = _field_block(html, "area")
    assert 'class="field has-error"' in area and "Self-intersection" in area and "érvénytelen" in area
    assert "Gázszivárgás" not in html and 'value="Árvíz"' in html  # what was typed stays
    assert _count(app, Incident) == 0 and _count(app, LogEntry) == 0

    not_json = _post(as_officer, "/incidents/new", "/incidents/new", {**base, "title": "", "area": '{"type": "Polygon",'})
    assert not_json.status_code == 422
    html = _html(not_json)
    assert "GeoJSON" in _field_block(html, "area") and "kötelező" in _field_block(html, "title")
    no_point = _post(as_officer, "/incidents/new", "/incidents/new", {**base, "latitude": "", "longitude": ""})
    assert no_point.status_code == 422 and "A helyszín megadása kötelező." in _html(no_point)
    assert _count(app, Incident) == 0 and _count(app, LogEntry) == 0
    # The next good one still gets number 0001: the refused ones used up nothing.
    ok = _post(as_officer, "/incidents/new", "/incidents/new", {**base, "area": json.dumps(EMBANKMENT)})
    assert ok.status_code == 302
    assert as_officer.get("/api/v1/incidents").get_json()["items"][0]["number"].endswith("-0001")


def test_edit_writes_changes_to_the_log_and_refuses_a_stale_form(client, officer, make_user, login):
    # More decimals than the form shows: an edit that does not touch the point must not move it.
    inc = create_incident(client, location={"type": "Point", "coordinates": [19.04931234, 47.49571234]}, area=EMBANKMENT)
    login(make_user("officer"))
    edit = f"/incidents/{inc['id']}/edit"
    form = _html(client.get(edit))
    version = re.search(r'name="version"[^>]*value="(\d+)"', form).group(1)
    area_text = re.search(r'<textarea[^>]*id="area"[^>]*>(.*?)</textarea>', form, re.S).group(1).strip()
    fields = {"title": "Árvíz – III. fokú készültség", "kind": "flood", "severity": "extreme", "commander": "",
              "description": "", "latitude": "47.495712", "longitude": "19.049312", "version": version,
              "area": area_text.replace("&#34;", '"')}
    response = _post(client, edit, edit, fields)
    assert response.status_code == 302, _html(response)
    texts = [e["text"] for e in _log(client, officer, inc["id"])]
    assert any(t.startswith("Megnevezés:") for t in texts) and any("rendkívüli" in t for t in texts)
    assert not any("helyszín" in t or "terület" in t for t in texts), texts
    assert client.get(f"/api/v1/incidents/{inc['id']}", headers=officer).get_json()["location"]["coordinates"] == [19.04931234, 47.49571234]

    stale = _post(client, edit, edit, {**fields, "title": "Elavult"})  # the version read before the first save
    assert stale.status_code == 409
    assert dom(_html(stale)).one("conflict").text().startswith("Időközben valaki más módosította")
    assert client.get(f"/api/v1/incidents/{inc['id']}", headers=officer).get_json()["title"] == "Árvíz – III. fokú készültség"


# The incident page


def test_status_buttons_move_the_lifecycle_and_a_refused_jump_is_explained(client, officer, make_user, login):
    inc = create_incident(client)
    login(make_user("officer"))
    path = f"/incidents/{inc['id']}"
    status_url = f"{path}/status"
    controls = dom(_html(client.get(path))).one("status-controls")
    assert [b.attrs["data-testid"] for b in controls.all(tag="button")] == ["to-active"]

    moved = _post(client, path, status_url, {"status": "active", "from": "reported"})
    assert moved.status_code == 302
    html = _html(client.get(path))
    assert dom(html).one("status-controls").all(tag="button")[0].attrs["data-testid"] == "to-contained"
    assert "Az esemény állapota mostantól: aktív." in html

    jump = _post(client, path, status_url, {"status": "closed", "from": "active"})
    assert jump.status_code == 409
    message = dom(_html(jump)).one("status-error").text()
    assert "aktív" in message and "lezárt" in message and "megfékezett" in message
    assert client.get(f"/api/v1/incidents/{inc['id']}", headers=officer).get_json()["status"] == "active"

    # A page that showed an older status must not reopen or skip anything.
    client.patch(f"/api/v1/incidents/{inc['id']}", json={"status": "contained"}, headers=officer)
    stale = _post(client, path, status_url, {"status": "contained", "from": "active"})
    assert stale.status_code == 409 and "Időközben" in dom(_html(stale)).one("status-error").text()
    for target, current in (("closed", "contained"), ("active", "closed")):
        assert _post(client, path, status_url, {"status": target, "from": current}).status_code == 302
    html = _html(client.get(path))
    assert [b.attrs["data-testid"] for b in dom(html).one("status-controls").all(tag="button")] == ["to-contained"]
    assert [e["text"] for e in _log(client, officer, inc["id"]) if "→" in e["text"]][-1] == "Állapot: lezárt → aktív."


def test_quick_entry_adds_a_line_and_comes_back_focused(client, officer, make_user, login):
    inc = create_incident(client)
    login(make_user("officer"))
    path = f"/incidents/{inc['id']}"
    assert "autofocus" not in _html(client.get(path))
    response = _post(client, path, f"{path}/log", {"kind": "decision", "text": "Kiürítés elrendelve a Duna-parton."})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{path}?entry=2")
    html = _html(client.get(response.headers["Location"]))
    assert _timeline(html) == [2, 1]  # newest first, right under the quick entry
    newest = dom(html).one("timeline").all("log-entry")[0]
    assert newest.one("entry-text").text() == "Kiürítés elrendelve a Duna-parton."
    assert "entry-new" in newest.attrs["class"] and newest.attrs["data-kind"] == "decision"
    assert re.search(r'<input type="text" id="entry-text"[^>]*value=""[^>]*autofocus', html)
    assert "A napló sértetlen: 2 bejegyzés." in html

    empty = _post(client, path, f"{path}/log", {"kind": "note", "text": "   "})
    assert empty.status_code == 422
    assert "kötelező" in dom(_html(empty)).one("entry-errors").text()
    bad_kind = _post(client, path, f"{path}/log", {"kind": "system", "text": "Álca"})
    assert bad_kind.status_code == 422 and 'value="Álca"' in _html(bad_kind)
    assert len(_log(client, officer, inc["id"])) == 2


def test_a_correction_shows_both_notes(client, make_user, login):
    inc = create_incident(client)
    login(make_user("officer"))
    path = f"/incidents/{inc['id']}"
    _post(client, path, f"{path}/log", {"kind": "action", "text": "Kiürítés 14:10-kor."})
    fixed = _post(client, path, f"{path}/log", {"kind": "action", "text": "Helyesen: 14:20-kor.", "corrects": "#2"})
    assert fixed.status_code == 302
    entries = {int(li.attrs["data-seq"]): li for li in dom(_html(client.get(path))).one("timeline").all("log-entry")}
    assert entries[3].one("corrects").text() == "javítja: #2"
    assert entries[3].one("corrects").one(tag="a").attrs["href"] == "#entry-2"
    assert entries[2].one("corrected-by").text() == "javította: #3"
    assert "entry-corrected" in entries[2].attrs["class"]
    assert not entries[1].has("corrected-by")
    nowhere = _post(client, path, f"{path}/log", {"kind": "note", "text": "x", "corrects": "9"})
    assert nowhere.status_code == 422 and "nincs 9. bejegyzés" in _html(nowhere)


def test_assign_from_the_nearest_list_and_over_allocation(client, officer, make_user, login):
    inc = create_incident(client)
    sandbags = create_resource(client)
    far = create_resource(client, name="Szivattyú Csepelen", kind="pump", quantity=2, unit="db",
                    location={"type": "Point", "coordinates": [19.07, 47.42]})
    gym = create_resource(client, name="Tornaterem", kind="shelter", capacity=120, unit="épület")
    create_resource(client, name="Szerviz alatt", kind="pump", quantity=1, status="maintenance")
    login(make_user("officer"))
    path = f"/incidents/{inc['id']}"
    nearby = dom(_html(client.get(path))).one("nearby")
    rows = nearby.all("nearby-resource")
    assert [int(r.attrs["data-resource"]) for r in rows][-1] == far["id"]  # farthest last; maintenance not offered
    assert len(rows) == 3
    gym_row = [r for r in rows if int(r.attrs["data-resource"]) == gym["id"]][0]
    assert gym_row.one("available").text() == "120 fő"
    assert all(r.one(tag="input", name="quantity").attrs["value"] == "1" for r in rows)

    ok = _post(client, path, f"{path}/assignments", {"resource_id": str(sandbags["id"]), "quantity": "200"})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("#assignments")
    assert _available(client, officer, sandbags["id"]) == 300
    html = _html(client.get(path))
    active = dom(html).one("active-assignments").all("assignment")
    assert len(active) == 1 and active[0].one("quantity").text() == "200 zsák"
    assert "Kirendelve: 200 zsák – Homokzsák-depó" in html
    row = [r for r in dom(html).one("nearby").all("nearby-resource") if int(r.attrs["data-resource"]) == sandbags["id"]][0]
    assert row.one("available").text() == "300 zsák"

    over = _post(client, path, f"{path}/assignments", {"resource_id": str(sandbags["id"]), "quantity": "301"})
    assert over.status_code == 409
    html = _html(over)
    assert dom(html).one("assign-error").text() == "Homokzsák-depó: csak 300 érhető el."
    assert 'value="301"' in html  # what was typed stays, beside the row
    assert _available(client, officer, sandbags["id"]) == 300

    housed = _post(client, path, f"{path}/assignments", {"resource_id": str(gym["id"]), "quantity": "80"})
    assert housed.status_code == 302
    assert "80 fő" in dom(_html(client.get(path))).one("active-assignments").text()
    zero = _post(client, path, f"{path}/assignments", {"resource_id": str(gym["id"]), "quantity": "0"})
    assert zero.status_code == 422 and "Legalább 1" in dom(_html(zero)).one("assign-error").text()


def test_release_gives_the_resource_back(client, officer, make_user, login):
    inc = create_incident(client)
    pump = create_resource(client, name="Zagyva-szivattyú", kind="pump", quantity=2, unit="db")
    assignment = client.post(f"/api/v1/incidents/{inc['id']}/assignments", json={"resource_id": pump["id"], "quantity": 2},
                             headers=officer).get_json()
    login(make_user("officer"))
    path = f"/incidents/{inc['id']}"
    release = f"{path}/assignments/{assignment['id']}/release"
    assert _post(client, path, release, {}).status_code == 302
    assert _available(client, officer, pump["id"]) == 2
    html = _html(client.get(path))
    assert not dom(html).one("active-assignments").has("assignment")
    released = dom(html).one("released-assignments").all("released-assignment")
    assert len(released) == 1 and "2 db" in released[0].text()
    again = _post(client, path, release, {})
    assert again.status_code == 409 and "már visszaadták" in dom(_html(again)).one("release-error").text()
    other = create_incident(client, title="Másik")
    assert _post(client, path, f"/incidents/{other['id']}/assignments/{assignment['id']}/release", {}).status_code == 404


def test_a_closed_incident_refuses_assignments_with_a_message(client, officer, make_user, login):
    inc = create_incident(client)
    pump = create_resource(client, name="Szivattyú", kind="pump", quantity=1, unit="db")
    for status in ("active", "contained", "closed"):
        client.patch(f"/api/v1/incidents/{inc['id']}", json={"status": status}, headers=officer)
    login(make_user("officer"))
    path = f"/incidents/{inc['id']}"
    assert not dom(_html(client.get(path))).has("nearby")
    refused = _post(client, path, f"{path}/assignments", {"resource_id": str(pump["id"]), "quantity": "1"})
    assert refused.status_code == 409
    assert "Az esemény lezárult" in dom(_html(refused)).one("assign-error").text()
    assert _available(client, officer, pump["id"]) == 1


def test_viewers_see_no_write_controls_and_are_refused(client, officer, make_user, login):
    inc = create_incident(client)
    pump = create_resource(client, name="Szivattyú", kind="pump", quantity=1, unit="db")
    assignment = client.post(f"/api/v1/incidents/{inc['id']}/assignments", json={"resource_id": pump["id"]},
                             headers=officer).get_json()
    login(make_user("viewer"))
    path = f"/incidents/{inc['id']}"
    html = _html(client.get(path))
    page = dom(html)
    for testid in ("quick-entry", "status-controls", "edit", "release", "nearby", "assign", "alert-link", "draw-area"):
        assert not page.has(testid), testid
    assert page.has("timeline") and page.one("active-assignments").has("assignment") and page.has("verify")
    # The wings' links that only read are there (added through incident.web.hooks).
    assert page.one("after-action-link").attrs["href"] == f"/incidents/{inc['id']}/after-action"
    token = csrf_from(html)
    for action, data in (
        (f"{path}/log", {"text": "x"}),
        (f"{path}/status", {"status": "active", "from": "reported"}),
        (f"{path}/assignments", {"resource_id": str(pump["id"])}),
        (f"{path}/assignments/{assignment['id']}/release", {}),
        (f"{path}/edit", {"title": "x"}),
        ("/incidents/new", {"title": "x"}),
    ):
        assert client.post(action, data={"csrf_token": token, **data}).status_code == 403, action
    assert client.get("/incidents/new").status_code == 403
    assert client.get(f"{path}/edit").status_code == 403
    assert len(_log(client, officer, inc["id"])) == 2
    # Reading is allowed: the report and the log exports the page links to.
    assert client.get(f"{path}/report").status_code == 200
    csv = client.get(page.one("csv-link").attrs["href"])
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    log = client.get(page.one("json-link").attrs["href"])
    assert log.status_code == 200 and log.get_json()["total"] == 2


def test_posts_without_the_csrf_token_are_refused(client, officer, make_user, login):
    inc = create_incident(client)
    login(make_user("officer"))
    assert client.post(f"/incidents/{inc['id']}/log", data={"text": "x"}).status_code == 400
    assert len(_log(client, officer, inc["id"])) == 1


def test_a_damaged_log_is_shown_prominently(app, client, make_user, login):
    from incident.extensions import db

    inc = create_incident(client)
    with app.app_context():
        db.session.execute(text("UPDATE incidents SET log_count = log_count + 1 WHERE id = :id"), {"id": inc["id"]})
        db.session.commit()
    login(make_user("viewer"))
    verify = dom(_html(client.get(f"/incidents/{inc['id']}"))).one("verify")
    assert verify.attrs["data-ok"] == "false" and verify.attrs["role"] == "alert"
    assert "A napló sérült: a(z) #2 bejegyzés hiányzik." in verify.text()


def test_missing_incidents_are_404(as_officer):
    for path in ("/incidents/999", "/incidents/999/report", "/incidents/999/edit"):
        assert as_officer.get(path).status_code == 404, path
    assert _post(as_officer, "/incidents", "/incidents/999/log", {"text": "x"}).status_code == 404


# Drills and the situation report


def test_drill_pages_and_the_report_say_drill(client, make_user, login):
    drill = create_incident(client, title="Tűzriadó-gyakorlat", kind="fire", drill=True)
    real = create_incident(client, title="Valódi tűz", kind="fire")
    login(make_user("officer"))
    for path in (f"/incidents/{drill['id']}", f"/incidents/{drill['id']}/report", f"/incidents/{drill['id']}/edit"):
        html = _html(client.get(path))
        assert dom(html).one("drill-banner").text().startswith("GYAKORLAT"), path
        assert "<title>GYAKORLAT" in html or path.endswith("/edit")
    assert dom(_html(client.get(f"/incidents/{drill['id']}/report"))).one("report-drill").text().startswith("GYAKORLAT")
    for path in (f"/incidents/{real['id']}", f"/incidents/{real['id']}/report"):
        assert "GYAKORLAT" not in _html(client.get(path)), path
    client.get("/lang/en")
    html = _html(client.get(f"/incidents/{drill['id']}/report"))
    assert dom(html).one("drill-banner").text().startswith("DRILL") and "Situation report" in html


def test_report_has_decisions_resources_with_durations_area_and_integrity(app, client, officer, make_user, login):
    from incident.extensions import db
    from incident.models import Assignment, Municipality

    inc = create_incident(client, area=EMBANKMENT, commander="Dr. Szabó Katalin")
    url = f"/api/v1/incidents/{inc['id']}/log"
    for kind, line in (("note", "Vízállás 780 cm."), ("decision", "Védelmi készültség elrendelése."),
                       ("action", "Homokzsákok kiszállítva."), ("decision", "Lakosság riasztása SMS-ben.")):
        assert client.post(url, json={"kind": kind, "text": line}, headers=officer).status_code == 201
    bags = create_resource(client)
    gym = create_resource(client, name="Tornaterem", kind="shelter", capacity=120, unit="épület")
    first = client.post(f"/api/v1/incidents/{inc['id']}/assignments", json={"resource_id": bags["id"], "quantity": 120},
                        headers=officer).get_json()
    client.post(f"/api/v1/incidents/{inc['id']}/assignments", json={"resource_id": gym["id"], "quantity": 35}, headers=officer)
    client.post(f"/api/v1/assignments/{first['id']}/release", headers=officer)
    with app.app_context():  # the sandbags were out for 2 h 15 min
        row = db.session.get(Assignment, first["id"])
        row.assigned_at = row.released_at - dt.timedelta(hours=2, minutes=15)
        db.session.add(Municipality(name="Budapest Főváros V. kerület Belváros-Lipótváros Önkormányzata",
                                    office="Polgármesteri Hivatal"))
        db.session.commit()
    login(make_user("viewer"))
    html = _html(client.get(f"/incidents/{inc['id']}/report"))
    report = dom(html)
    assert "Helyzetjelentés" in html and "Belváros-Lipótváros Önkormányzata" in report.one("report").text()
    assert inc["number"] in report.one("number").text()
    decisions = report.one("report-decisions")
    assert [e.one("entry-text").text() for e in decisions.all("log-entry")] == [
        "Lakosság riasztása SMS-ben.", "Védelmi készültség elrendelése."]
    resources = report.one("report-resources").all("report-assignment")
    assert len(resources) == 2
    still, done = resources
    assert "Tornaterem" in still.text() and "35 fő" in still.text() and "még kirendelve" in still.text()
    assert "Homokzsák-depó" in done.text() and "120 zsák" in done.text()
    assert done.one("duration").text() == "2 óra 15 perc"
    timeline = report.one("report-timeline")
    assert len(timeline.all("log-entry")) == len(_log(client, officer, inc["id"]))
    assert "A napló sértetlen" in timeline.one("verify").text()
    head = client.get(f"{url}?limit=500", headers=officer).get_json()["items"][-1]["hash"]
    assert head in timeline.one("verify").text()
    area = report.one("report-area")
    assert "47.49300°" in area.one("area-bounds").text() and "19.05000°" in area.one("area-bounds").text()
    svg = re.search(r'<svg class="area-outline".*?</svg>', html, re.S).group(0)
    assert re.search(r'<path d="M[0-9. LZ]+" fill-rule="evenodd" class="svg-area"/>', svg) and "<circle" in svg
    words = [t.strip() for t in re.findall(r">([^<]+)<", svg) if t.strip()]
    assert words and all(re.fullmatch(r"[\d\s.,\u00a0]+ k?m", w) for w in words), words  # only the scale


def test_report_of_an_incident_without_area_or_decisions(client, make_user, login):
    inc = create_incident(client)
    login(make_user("officer"))
    report = dom(_html(client.get(f"/incidents/{inc['id']}/report")))
    assert "Nincs rögzített döntés." in report.one("report-decisions").text()
    assert "Nincs rögzített érintett terület." in report.one("report-area").text()
    assert "Nem volt kirendelt erőforrás." in report.one("report-resources").text()


def test_user_text_is_escaped_everywhere(client, officer, make_user, login):
    inc = create_incident(client, title=SCRIPT, commander=IMG, description=f"{SCRIPT}\n{IMG}")
    client.post(f"/api/v1/incidents/{inc['id']}/log", json={"kind": "decision", "text": f"{IMG}\n{SCRIPT}"}, headers=officer)
    pump = create_resource(client, name=SCRIPT, kind="pump", quantity=1, unit=IMG)
    client.post(f"/api/v1/incidents/{inc['id']}/assignments", json={"resource_id": pump["id"]}, headers=officer)
    login(make_user("officer"))
    for path in ("/incidents", f"/incidents/{inc['id']}", f"/incidents/{inc['id']}/report", f"/incidents/{inc['id']}/edit"):
        html = _html(client.get(path))
        assert SCRIPT not in html and IMG not in html, path
        assert "&lt;script&gt;alert(" in html, path
    entry = dom(_html(client.get(f"/incidents/{inc['id']}"))).one("timeline").all("log-entry")[1]
    assert entry.one("entry-text").text() == f"{IMG} {SCRIPT}"  # the text, shown as text


def test_the_dashboard_and_navigation_lead_to_the_register(as_viewer):
    html = _html(as_viewer.get("/"))
    assert 'href="/incidents"' in html
