"""An alert's area chosen on the compose page (issue 15): the chosen incident's affected area or an
area drawn on the map (its GeoJSON box, which is also the page without scripts). Only contacts
whose location is inside are recipients, on every channel chosen; the confirmation says where the
area came from and how many are inside on each channel, and carries the area to the send step; the
alert's request keeps it. Bad GeoJSON is a 422 with the message beside the area."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from conftest import csrf_from
from factories import EMBANKMENT, VIGADO, create_contact, create_group, create_incident

from test_alert_pages import Forms, alert_count, texts_of

# Contacts: two on the embankment (one with a mobile, one with a landline, both with e-mail), one
# at Deák tér (outside the embankment), one without a location.
INSIDE = {"type": "Point", "coordinates": [19.0485, 47.4960]}
DEAK = {"type": "Point", "coordinates": [19.0546, 47.4977]}
# A square around Deák tér, drawn as Leaflet.draw saves it (a FeatureCollection of one Feature).
AROUND_DEAK = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {
    "type": "Polygon",
    "coordinates": [[[19.0536, 47.4970], [19.0556, 47.4970], [19.0556, 47.4985], [19.0536, 47.4985], [19.0536, 47.4970]]],
}}]}
EMPTY_SQUARE = {"type": "Polygon", "coordinates": [[[19.10, 47.40], [19.11, 47.40], [19.11, 47.41], [19.10, 47.41], [19.10, 47.40]]]}
HOSTILE = "<b>Kovács</b> Júlia"


@pytest.fixture
def people(app):
    ids = {}
    for key, name, phone, email, location in (
        ("mobile_inside", HOSTILE, "+36205550401", "julia@belvaros.example", INSIDE),
        ("landline_inside", "Rakparti Gondnokság", "+3612345601", "gondnok@belvaros.example", INSIDE),
        ("outside", "Deák Ödön", "+36205550402", "odon@belvaros.example", DEAK),
        ("nowhere", "Helytelen Hugó", "+36205550403", "hugo@belvaros.example", None),
    ):
        ids[key] = create_contact(app, name=name, phone=phone, email=email, location=location, sms_opt_in=True)["id"]
    return ids


@pytest.fixture
def officer_client(client, make_user, login):
    login(make_user("officer"))
    client.get("/lang/en")  # the words asserted below are the English ones
    return client


def post_compose(client, **fields):
    page = client.get("/alerts/new")
    assert page.status_code == 200
    data = MultiDict({"csrf_token": csrf_from(page.get_data(as_text=True)), "channels_shown": "1", **fields})
    for code in fields.get("channels_list", ["sms"]):
        data.add("channels", code)
    data.pop("channels_list", None)
    return client.post("/alerts/new", data=data)


def area_error(html: str) -> str:
    assert 'id="area-error"' in html, "no message beside the area"
    return re.sub(r"\s+", " ", unescape(html.split('id="area-error">', 1)[1].split("</small>", 1)[0]))


def sent_alert(app, client, html):
    """Send the confirmation's form as it is; the stored alert."""
    from alerts.models import Alert
    from incident.extensions import db

    sent = client.post("/alerts/send", data=MultiDict(Forms(html).forms["send-form"]["fields"]))
    assert sent.status_code == 302, sent.get_data(as_text=True)
    alert_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        return db.session.get(Alert, alert_id)


def delivered_to(app, alert_id) -> set[tuple[str, str]]:
    from alerts.models import Delivery
    from incident.extensions import db

    with app.app_context():
        return {(d.channel, d.name) for d in db.session.execute(select(Delivery).where(Delivery.alert_id == alert_id)).scalars()}


def test_the_incidents_area_reaches_only_the_contacts_inside_on_every_channel(app, officer_client, people):
    client = officer_client
    flood = create_incident(app, title="Rakparti elöntés", area=EMBANKMENT)
    create_incident(app, title="Vihar", kind="storm", location=VIGADO)  # no area

    page = client.get(f"/alerts/new?incident_id={flood['id']}").get_data(as_text=True)
    assert re.search(rf'<option value="{flood["id"]}" data-drill="false" selected>', page)
    assert f'data-incidents-with-area="{flood["id"]}"' in page  # the storm has no area
    assert 'data-testid="area-incident"' in page and 'value="none" data-testid="area-none" checked' in page
    # The map: the municipality's view, the incident's area for reference, drawing into the box.
    reference = json.loads(re.search(r'data-reference-area="([^"]*)"', page).group(1).replace("&#34;", '"'))
    assert reference["type"] == "Polygon" and reference["coordinates"][0][0] == list(EMBANKMENT["coordinates"][0][0])
    assert 'data-area-picker data-area-input="area"' in page and 'data-centre-lat=' in page
    assert "/static/vendor/leaflet-draw/leaflet.draw.js" in page and "js/location-picker.js" in page

    confirm = post_compose(client, body="Elöntés a rakparton: ne közelítse meg!", incident_id=str(flood["id"]),
                           area_source="incident", channels_list=["sms", "email"])
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200, html
    assert texts_of(html, "area-source") == ["The chosen incident's affected area"]
    assert texts_of(html, "area-contacts") == ["2 contacts with a location are inside it."]
    reach = dict(re.findall(r'<li data-channel="(\w+)">[^:]+: (\d+) recipients? inside the area</li>', html))
    assert reach == {"sms": "1", "email": "2"}  # the landline inside gets no SMS, but its e-mail
    # Who gets it, on any channel: both inside (the landline by e-mail), nobody outside.
    assert texts_of(html, "name") == [f"{HOSTILE} in the area", "Rakparti Gondnokság in the area"]
    assert "&lt;b&gt;Kovács&lt;/b&gt;" in html and "<b>Kovács</b>" not in html
    sms = texts_of(html, "channel-reach")[0]
    assert "Deák Ödön" not in html and "Helytelen Hugó" not in html and "Rakparti Gondnokság" in sms
    assert 'data-area-map data-area="' in html  # the small map of the area
    fields = dict(Forms(html).forms["send-form"]["fields"])
    assert fields["area_source"] == "incident" and json.loads(fields["incident_area"])["type"] == "Polygon"

    alert = sent_alert(app, client, html)
    assert delivered_to(app, alert.id) == {("sms", HOSTILE), ("email", HOSTILE), ("email", "Rakparti Gondnokság")}
    assert alert.request["area"]["type"] == "Polygon"
    assert alert.request["area"]["coordinates"] == [[list(p) for p in EMBANKMENT["coordinates"][0]]]
    assert alert.incident_id == flood["id"]


def test_an_area_drawn_into_the_box_reaches_those_inside_and_comes_back_for_editing(app, officer_client, people):
    client = officer_client
    group = create_group(app, "Üres csoport")  # a group with nobody in it: the area still counts
    confirm = post_compose(client, body="Deák tér: lezárás", area_source="drawn", area=json.dumps(AROUND_DEAK),
                           channels_list=["sms", "voice"], groups=str(group["id"]))
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200, html
    assert texts_of(html, "area-source") == ["An area drawn on the map"]
    assert texts_of(html, "area-contacts") == ["1 contact with a location is inside it."]
    assert texts_of(html, "name") == ["Deák Ödön in the area"]
    fields = Forms(html).forms["send-form"]["fields"]
    drawn = json.loads(dict(fields)["area"])
    assert drawn == AROUND_DEAK["features"][0]["geometry"]  # the drawing as one area

    back = client.post("/alerts/new", data=MultiDict(fields + [("edit", "1")])).get_data(as_text=True)
    assert 'value="drawn" data-testid="area-drawn" checked' in back
    assert json.loads(back.split('data-testid="area-text">', 1)[1].split("</textarea>")[0].replace("&#34;", '"')) == drawn

    alert = sent_alert(app, client, html)
    assert delivered_to(app, alert.id) == {("sms", "Deák Ödön"), ("voice", "Deák Ödön")}
    assert alert.request["area"] == drawn and alert.request["groups"] == [group["id"]]


def test_an_area_with_nobody_inside_is_a_choice_but_alone_it_reaches_nobody(app, officer_client, people):
    client = officer_client
    with_people = post_compose(client, body="Próba", area_source="drawn", area=json.dumps(EMPTY_SQUARE),
                               contacts=str(people["outside"]))
    html = with_people.get_data(as_text=True)
    assert with_people.status_code == 200, html
    assert texts_of(html, "area-contacts") == ["0 contacts with a location are inside it."]
    assert texts_of(html, "name") == ["Deák Ödön"]

    alone = post_compose(client, body="Próba", area_source="drawn", area=json.dumps(EMPTY_SQUARE))
    assert alone.status_code == 422
    assert "No contact with a location is inside this area" in area_error(alone.get_data(as_text=True))
    assert alert_count(app) == 0


@pytest.mark.parametrize("source, text, message", [
    ("drawn", '{"type": "Polygon", "coordinates": [[19.05, 47.49]', "This is not GeoJSON text"),
    ("drawn", json.dumps({"type": "Point", "coordinates": [19.05, 47.49]}), "Must be a GeoJSON Polygon or MultiPolygon."),
    ("drawn", json.dumps({"type": "Polygon", "coordinates": [[[19.05, 47.49], [19.06, 47.49], [19.05, 47.49]]]}),
     "Each ring must have at least four positions"),
    ("drawn", '{"type": "Polygon", "coordinates": ' + "[" * 5_000 + "]" * 5_000 + "}", "nested too deeply"),
    ("drawn", "", "Draw the area on the map"),
    ("drawn", json.dumps({"type": "FeatureCollection", "features": []}), "Nothing is drawn"),
    ("none", json.dumps(EMPTY_SQUARE), "“No area” is chosen"),
    ("incident", "", "Choose the incident whose affected area"),
    ("somewhere", "", "Choose no area, the incident's affected area, or an area drawn on the map."),
])
def test_a_bad_area_is_a_422_with_the_message_beside_the_area(app, officer_client, people, source, text, message):
    response = post_compose(officer_client, body="Próba <script>", area_source=source, area=text)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html
    assert message in area_error(html)
    assert 'id="recipients-error"' not in html  # the area was the choice; it is what is wrong
    assert "Próba &lt;script&gt;</textarea>" in html  # what was typed stays, escaped
    assert 'aria-invalid="true" aria-describedby="area-error"' in html
    assert alert_count(app) == 0


def test_an_incident_without_an_area_is_refused_and_no_choice_at_all_names_the_area_too(app, officer_client, people):
    storm = create_incident(app, title="Vihar", kind="storm", location=VIGADO)
    refused = post_compose(officer_client, body="Próba", incident_id=str(storm["id"]), area_source="incident")
    assert refused.status_code == 422
    assert "The chosen incident has no affected area recorded" in area_error(refused.get_data(as_text=True))

    nothing = post_compose(officer_client, body="Próba", area_source="none")
    html = nothing.get_data(as_text=True)
    assert nothing.status_code == 422
    assert "Choose at least one group, contact or area." in html.split('id="recipients-error"')[1]


def test_the_send_step_sends_to_the_incidents_area_that_was_confirmed(app, officer_client, people):
    """The incident's area changes between the confirmation and "Send now": the alert goes to the
    area the officer saw (carried in the form), not to the new one."""
    from incident.extensions import db
    from incident.geo import area_from_geojson, to_element
    from incident.models import Incident

    flood = create_incident(app, title="Rakparti elöntés", area=EMBANKMENT)
    html = post_compose(officer_client, body="Elöntés", incident_id=str(flood["id"]), area_source="incident",
                        channels_list=["email"]).get_data(as_text=True)
    with app.app_context():
        db.session.get(Incident, flood["id"]).area = to_element(area_from_geojson(AROUND_DEAK["features"][0]["geometry"]))
        db.session.commit()
    alert = sent_alert(app, officer_client, html)
    assert delivered_to(app, alert.id) == {("email", HOSTILE), ("email", "Rakparti Gondnokság")}


def test_the_compose_page_counts_who_an_area_reaches_before_channels_are_chosen(app, officer_client, people, api):
    """POST /api/v1/alerts/area-reach (what the compose page asks as an area is drawn or picked):
    the contacts located inside, and of them how many each channel reaches; officers only; a bad
    area or an incident without one named."""
    headers, _ = api("officer")
    flood = create_incident(app, title="Rakparti elöntés", area=EMBANKMENT)
    client = app.test_client()
    by_incident = client.post("/api/v1/alerts/area-reach", json={"incident_id": flood["id"]}, headers=headers)
    assert by_incident.status_code == 200, by_incident.get_json()
    # On the embankment: a mobile and a landline, both with e-mail (SMS reaches the mobile only).
    assert by_incident.get_json() == {"contacts": 2, "channels": {"sms": 1, "email": 2, "voice": 2}}
    drawn = client.post("/api/v1/alerts/area-reach", json={"area": AROUND_DEAK}, headers=headers).get_json()
    assert drawn["contacts"] == 1
    nobody = client.post("/api/v1/alerts/area-reach", json={"area": EMPTY_SQUARE}, headers=headers).get_json()
    assert nobody == {"contacts": 0, "channels": {"sms": 0, "email": 0, "voice": 0}}
    bowtie = {"type": "Polygon", "coordinates": [[[19.0, 47.0], [19.1, 47.1], [19.1, 47.0], [19.0, 47.1], [19.0, 47.0]]]}
    for body, field in (({"area": bowtie}, "area"), ({"area": {"type": "FeatureCollection", "features": []}}, "area"),
                        ({}, "area"), ({"incident_id": 999999}, "incident_id")):
        refused = client.post("/api/v1/alerts/area-reach", json=body, headers=headers)
        assert refused.status_code == 422 and field in refused.get_json()["errors"]["json"], (body, refused.get_json())
    viewer, _ = api("viewer")
    assert client.post("/api/v1/alerts/area-reach", json={"area": AROUND_DEAK}, headers=viewer).status_code == 403
