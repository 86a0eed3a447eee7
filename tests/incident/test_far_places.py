"""A place far from the municipality is refused until it is confirmed: an incident's location or
affected area and a resource's location more than RIADO_MAX_DISTANCE_KM (default 50) from the
municipality's outline are answered 422 naming the field, with a hint when latitude and longitude
look swapped; ``confirm_far`` (a checkbox on the forms) saves them. Without an outline there is
nothing to measure from, and nothing is refused. The distances are the database's, in metres on
the ellipsoid, on both backends."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from conftest import csrf_from
from factories import EMBANKMENT, VIGADO, create_incident, store_district_outline

# Vigadó tér with latitude and longitude swapped: in the Arabian Peninsula, 4,000 km away.
SWAPPED = {"type": "Point", "coordinates": [47.4957, 19.0493]}
# 10.5 km east of the district's outline (Budapest XVII.), and the same swapped.
EAST = {"type": "Point", "coordinates": [19.2, 47.5]}
EAST_SWAPPED = {"type": "Point", "coordinates": [47.5, 19.2]}
# Sydney: swapped, 151 is no latitude, so there is nothing to suggest but checking.
SYDNEY = {"type": "Point", "coordinates": [151.21, -33.87]}
SWAPPED_AREA = {"type": "Polygon", "coordinates": [[[lat, lon] for lon, lat in EMBANKMENT["coordinates"][0]]]}

# The API answers in English (a machine contract), the pages in Hungarian.
INSIDE_IF_SWAPPED_EN = "Latitude and longitude look swapped: the other way round it lies inside the municipality."
INSIDE_IF_SWAPPED = "felcseréltnek látszik: fordítva a településen belül lenne"
CONFIRM = "erősítse meg"

INCIDENT = {"title": "Csőtörés", "kind": "water_outage", "severity": "moderate"}
RESOURCE = {"name": "Szivattyú 3", "kind": "pump", "quantity": 1}




def _count(app, model) -> int:
    from incident.extensions import db

    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _errors(response) -> dict:
    return response.get_json()["errors"]["json"]


# The API


def test_a_swapped_point_is_refused_naming_the_location_and_saved_once_confirmed(app, client, officer):
    from incident.models import Incident

    store_district_outline(app)
    refused = client.post("/api/v1/incidents", json={**INCIDENT, "location": SWAPPED}, headers=officer)
    assert refused.status_code == 422
    errors = _errors(refused)
    assert list(errors) == ["location"]
    [message] = errors["location"]
    assert re.search(r"This place is 4,\d{3} km from the municipality \(more than 50 km\)\.", message), message
    assert INSIDE_IF_SWAPPED_EN in message and "If the place is right, confirm" in message
    assert "confirm_far" in refused.get_json()["message"]
    assert _count(app, Incident) == 0

    saved = client.post("/api/v1/incidents", json={**INCIDENT, "location": SWAPPED, "confirm_far": True}, headers=officer)
    assert saved.status_code == 201, saved.get_json()
    incident = saved.get_json()
    assert incident["location"] == SWAPPED and "confirm_far" not in incident

    # Confirmed once: changing something else, or sending the same place again, asks no more.
    url = f"/api/v1/incidents/{incident['id']}"
    assert client.patch(url, json={"title": "Csőtörés (javítva)"}, headers=officer).status_code == 200
    assert client.patch(url, json={"location": SWAPPED, "severity": "severe"}, headers=officer).status_code == 200
    # Another far place is asked about again; a place inside is taken.
    again = client.patch(url, json={"location": EAST_SWAPPED}, headers=officer)
    assert again.status_code == 422 and list(_errors(again)) == ["location"]
    assert client.patch(url, json={"location": VIGADO}, headers=officer).status_code == 200
    assert client.get(url, headers=officer).get_json()["location"] == VIGADO


def test_a_swapped_area_is_refused_naming_the_area(app, client, officer):
    store_district_outline(app)
    refused = client.post("/api/v1/incidents", json={**INCIDENT, "location": VIGADO, "area": SWAPPED_AREA},
                          headers=officer)
    assert refused.status_code == 422
    errors = _errors(refused)
    assert list(errors) == ["area"]
    assert errors["area"][0].startswith("This area is") and INSIDE_IF_SWAPPED_EN in errors["area"][0]
    good = client.post("/api/v1/incidents", json={**INCIDENT, "location": VIGADO, "area": EMBANKMENT}, headers=officer)
    assert good.status_code == 201
    patched = client.patch(f"/api/v1/incidents/{good.get_json()['id']}", json={"area": SWAPPED_AREA}, headers=officer)
    assert patched.status_code == 422 and list(_errors(patched)) == ["area"]
    confirmed = client.patch(f"/api/v1/incidents/{good.get_json()['id']}",
                             json={"area": SWAPPED_AREA, "confirm_far": True}, headers=officer)
    assert confirmed.status_code == 200 and confirmed.get_json()["area"]["coordinates"] == SWAPPED_AREA["coordinates"]


def test_the_distance_is_metres_from_the_outline_and_the_limit_a_setting(app, app_factory, client, officer):
    store_district_outline(app)
    # 10.5 km from the outline: near enough by default.
    assert client.post("/api/v1/incidents", json={**INCIDENT, "location": EAST}, headers=officer).status_code == 201
    # Swapped, the place would be that 10.5 km away: said so.
    swapped = client.post("/api/v1/incidents", json={**INCIDENT, "location": EAST_SWAPPED}, headers=officer)
    assert swapped.status_code == 422
    assert "the other way round it is 10.5 km from the municipality" in _errors(swapped)["location"][0]
    # Nothing to swap into a place: check the coordinates.
    sydney = client.post("/api/v1/incidents", json={**INCIDENT, "location": SYDNEY}, headers=officer)
    assert sydney.status_code == 422
    assert _errors(sydney)["location"][0].endswith("Check the coordinates: are latitude and longitude swapped (GeoJSON "
                                                   "puts longitude first)? If the place is right, confirm that it is "
                                                   "far from the municipality and save again.")

    strict = app_factory(RIADO_MAX_DISTANCE_KM=5).test_client()
    refused = strict.post("/api/v1/incidents", json={**INCIDENT, "location": EAST}, headers=officer)
    assert refused.status_code == 422
    assert _errors(refused)["location"][0].startswith("This place is 10.5 km from the municipality (more than 5 km).")
    # A point inside is 0 m away, under any limit.
    inside = app_factory(RIADO_MAX_DISTANCE_KM=0).test_client()
    assert inside.post("/api/v1/incidents", json={**INCIDENT, "location": VIGADO}, headers=officer).status_code == 201


def test_without_an_outline_nothing_is_refused(app, client, officer):
    assert client.post("/api/v1/incidents", json={**INCIDENT, "location": SWAPPED, "area": SWAPPED_AREA},
                       headers=officer).status_code == 201
    assert client.post("/api/v1/resources", json={**RESOURCE, "location": SWAPPED}, headers=officer).status_code == 201


def test_a_resource_far_away_is_refused_until_confirmed(app, client, officer):
    from incident.models import Resource

    store_district_outline(app)
    refused = client.post("/api/v1/resources", json={**RESOURCE, "location": SWAPPED}, headers=officer)
    assert refused.status_code == 422 and list(_errors(refused)) == ["location"]
    assert INSIDE_IF_SWAPPED_EN in _errors(refused)["location"][0]
    assert _count(app, Resource) == 0
    saved = client.post("/api/v1/resources", json={**RESOURCE, "location": SWAPPED, "confirm_far": True}, headers=officer)
    assert saved.status_code == 201 and saved.get_json()["location"] == SWAPPED
    url = f"/api/v1/resources/{saved.get_json()['id']}"
    assert client.patch(url, json={"quantity": 2}, headers=officer).status_code == 200
    moved = client.patch(url, json={"location": EAST_SWAPPED}, headers=officer)
    assert moved.status_code == 422 and list(_errors(moved)) == ["location"]


def test_a_csv_row_with_swapped_columns_is_reported_on_its_row(app, client, officer):
    from incident.models import Resource

    store_district_outline(app)
    data = ("name,kind,quantity,status,latitude,longitude\n"
            "Szivattyú,pump,2,available,47.4957,19.0493\n"
            "Aggregát,generator,1,available,19.0493,47.4957\n").encode()
    from io import BytesIO

    response = client.post("/api/v1/resources/import", data={"file": (BytesIO(data), "eszkozok.csv")},
                           headers=officer, content_type="multipart/form-data")
    report = response.get_json()
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(3, "latitude")], report
    assert INSIDE_IF_SWAPPED_EN in report["errors"][0]["message"]
    assert _count(app, Resource) == 0


def test_a_far_depot_is_imported_once_confirmed(app, client, officer, as_officer):
    """A county depot 60 km away is real: the import takes it when told the far places are right
    (the API's confirm_far, the import page's checkbox); without, its row is refused."""
    from io import BytesIO

    from incident.models import Resource

    store_district_outline(app)
    data = "name,kind,quantity,status,latitude,longitude\nMegyei raktár,sandbags,5000,available,47.9,19.9\n".encode()

    def api(**query):
        return client.post("/api/v1/resources/import", query_string=query, headers=officer,
                           data={"file": (BytesIO(data), "raktar.csv")}, content_type="multipart/form-data")

    refused = api().get_json()
    assert [(e["row"], e["field"]) for e in refused["errors"]] == [(2, "latitude")] and _count(app, Resource) == 0
    assert api(confirm_far="true", dry_run="true").get_json()["errors"] == [] and _count(app, Resource) == 0
    assert api(confirm_far="true").get_json()["created"] == 1 and _count(app, Resource) == 1

    page = "/resources/import"
    form = as_officer.get(page).get_data(as_text=True)
    assert 'data-testid="confirm-far"' in form
    token = csrf_from(form)
    other = data.replace("Megyei raktár".encode(), "Másik raktár".encode())
    refused = as_officer.post(page, data={"csrf_token": token, "file": (BytesIO(other), "r.csv")},
                              content_type="multipart/form-data")
    assert refused.status_code == 422 and _count(app, Resource) == 1
    taken = as_officer.post(page, data={"csrf_token": token, "confirm_far": "y", "file": (BytesIO(other), "r.csv")},
                            content_type="multipart/form-data")
    assert taken.status_code == 200 and _count(app, Resource) == 2
    assert "contacts" not in page and 'data-testid="confirm-far"' not in as_officer.get("/contacts/import").get_data(as_text=True)


# The forms


def _post(client, page_path, data):
    token = csrf_from(client.get(page_path).get_data(as_text=True))
    return client.post(page_path, data={"csrf_token": token, **data})


def _location_block(html: str) -> str:
    return re.search(r'<fieldset class="location-picker[^"]*" id="location">.*?</fieldset>', html, re.S).group(0)


FORM = {**INCIDENT, "latitude": "19.0493", "longitude": "47.4957", "area": ""}


def test_the_form_refuses_a_swapped_point_beside_the_location_and_offers_to_confirm(app, as_officer):
    from incident.models import Incident, LogEntry

    store_district_outline(app)
    form = as_officer.get("/incidents/new").get_data(as_text=True)
    assert 'data-testid="confirm-far"' not in form  # offered only when a far place was refused
    refused = _post(as_officer, "/incidents/new", FORM)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    location = _location_block(html)
    assert "has-error" in location and INSIDE_IF_SWAPPED in location and CONFIRM in location
    assert 'data-testid="confirm-far"' in html and 'name="confirm_far"' in html
    assert 'value="19.0493"' in location  # what was typed stays
    assert _count(app, Incident) == 0 and _count(app, LogEntry) == 0

    saved = _post(as_officer, "/incidents/new", {**FORM, "confirm_far": "y"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    [incident] = as_officer.get("/api/v1/incidents").get_json()["items"]
    assert incident["location"] == SWAPPED


def test_the_form_refuses_a_swapped_area_beside_the_area(app, as_officer):
    store_district_outline(app)
    data = {**FORM, "latitude": "47.4957", "longitude": "19.0493", "area": json.dumps(SWAPPED_AREA)}
    refused = _post(as_officer, "/incidents/new", data)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    advanced = re.search(r'<details class="advanced"[^>]*>.*?</details>', html, re.S).group(0)
    assert " open" in advanced.split(">")[0] and "Ez a terület" in advanced and INSIDE_IF_SWAPPED in advanced
    assert INSIDE_IF_SWAPPED not in _location_block(html)  # the point is fine
    saved = _post(as_officer, "/incidents/new", {**data, "confirm_far": "y"})
    assert saved.status_code == 302
    [incident] = as_officer.get("/api/v1/incidents").get_json()["items"]
    assert incident["area"]["coordinates"] == SWAPPED_AREA["coordinates"]


def test_the_edit_form_keeps_a_confirmed_far_place_without_asking_again(app, as_officer):
    store_district_outline(app)
    incident = create_incident(app, location=SWAPPED, confirm_far=True)
    edit = f"/incidents/{incident['id']}/edit"
    html = as_officer.get(edit).get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', html).group(1)
    saved = _post(as_officer, edit, {**FORM, "title": "Csőtörés a rakparton", "version": version})
    assert saved.status_code == 302, saved.get_data(as_text=True)


def test_the_resource_form_refuses_a_far_point_until_confirmed(app, as_officer):
    from incident.models import Resource

    store_district_outline(app)
    data = {**RESOURCE, "quantity": "1", "status": "available", "latitude": "19.0493", "longitude": "47.4957"}
    refused = _post(as_officer, "/resources/new", data)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert INSIDE_IF_SWAPPED in _location_block(html) and 'data-testid="confirm-far"' in html
    assert _count(app, Resource) == 0
    assert _post(as_officer, "/resources/new", {**data, "confirm_far": "y"}).status_code == 302
    assert _count(app, Resource) == 1


def test_the_forms_take_any_place_without_an_outline(app, as_officer):
    assert _post(as_officer, "/incidents/new", {**FORM, "area": json.dumps(SWAPPED_AREA)}).status_code == 302


def test_the_area_editor_refuses_a_far_area_until_confirmed(app, as_officer):
    store_district_outline(app)
    incident = create_incident(app)
    page = f"/map/incidents/{incident['id']}/area"
    data = {"area": json.dumps(SWAPPED_AREA), "version": "1"}
    refused = _post(as_officer, page, data)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert INSIDE_IF_SWAPPED in html and 'name="confirm_far"' in html
    saved = _post(as_officer, page, {**data, "confirm_far": "y"})
    assert saved.status_code == 302
    stored = as_officer.get(f"/api/v1/incidents/{incident['id']}").get_json()
    assert stored["area"]["coordinates"] == SWAPPED_AREA["coordinates"]
