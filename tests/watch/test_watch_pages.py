"""The watch's pages: the quick reading form, the banner on the dashboard and the wall map, the
proposal accepted into the alert composer with the drafted text, dismissed with a reason; every
text typed escaped; viewers read only."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from conftest import csrf_from
from factories import PAYLOADS, store_district_outline


def save_reading(client, station, level, when=""):
    token = csrf_from(client.get("/watch").get_data(as_text=True))
    return client.post("/watch/readings", data={"csrf_token": token, "station": station, "level_cm": level, "at": when})


def test_a_reading_of_705_by_hand_raises_the_banner_and_accepting_opens_the_composer(app, as_officer):
    store_district_outline(app)  # the incident is placed in the middle of the district
    saved = save_reading(as_officer, "Vigadó tér", "705")
    assert saved.status_code == 302
    page = as_officer.get("/watch").get_data(as_text=True)
    assert 'data-testid="proposal"' in page and "705 cm" in page and "<svg" in page and 'data-level="700"' in page
    dashboard = as_officer.get("/").get_data(as_text=True)
    assert 'data-testid="banner"' in dashboard and "Vigadó tér: 705 cm" in dashboard
    wall = as_officer.get("/map/wall").get_data(as_text=True)
    assert 'data-testid="wall-banner"' in wall and "705 cm" in wall
    summary = as_officer.get("/api/v1/map/summary?lang=en").get_json()
    assert [b["text"] for b in summary["banners"]] == [
        next(b["text"] for b in summary["banners"] if "705 cm" in b["text"])]
    event_id = as_officer.get("/api/v1/watch/events?status=open").get_json()["items"][0]["id"]
    token = csrf_from(page)
    accepted = as_officer.post(f"/watch/events/{event_id}/accept", data={"csrf_token": token})
    assert accepted.status_code == 302
    target = urlsplit(accepted.headers["Location"])
    assert target.path == "/alerts/new"
    query = parse_qs(target.query)
    assert "705 cm" in query["body"][0] and query["incident_id"]
    composer = as_officer.get(accepted.headers["Location"]).get_data(as_text=True)
    assert "705 cm" in composer  # the drafted text in the compose box, nothing sent
    assert as_officer.get("/api/v1/alerts").get_json()["total"] == 0
    assert 'data-testid="banner"' not in as_officer.get("/").get_data(as_text=True)


def test_the_watch_page_lists_the_feeds_and_needs_a_reason_to_dismiss(as_officer):
    save_reading(as_officer, "Vigadó tér", "625")
    page = as_officer.get("/watch").get_data(as_text=True)
    event_id = as_officer.get("/api/v1/watch/events").get_json()["items"][0]["id"]
    refused = as_officer.post(f"/watch/events/{event_id}/dismiss", data={"csrf_token": csrf_from(page), "reason": " "})
    assert refused.status_code == 422 and 'data-testid="dismiss-error"' in refused.get_data(as_text=True)
    done = as_officer.post(f"/watch/events/{event_id}/dismiss",
                           data={"csrf_token": csrf_from(page), "reason": "Gyakorlat miatt"}, follow_redirects=True)
    assert done.status_code == 200 and 'data-testid="decided-event"' in done.get_data(as_text=True)
    assert 'data-testid="feed-stale"' in done.get_data(as_text=True)  # MeteoAlarm's feed, never read


def test_bad_readings_stay_on_the_form_with_the_error(as_officer):
    for station, level, when, field in (("Vigadó tér", "sok", "", "level_cm"), ("", "700", "", "station"),
                                        ("Vigadó tér", "700", "2999-01-01T10:00", "at")):
        answer = save_reading(as_officer, station, level, when)
        assert answer.status_code == 422
        assert f'id="reading-{field}-error"' in answer.get_data(as_text=True)
    assert as_officer.get("/api/v1/watch").get_json()["gauges"] == []


def test_every_text_typed_is_escaped(as_officer):
    for i, payload in enumerate(PAYLOADS):
        assert save_reading(as_officer, payload, str(700 + i), f"2026-06-1{i}T10:00").status_code == 302
    for url in ("/watch", "/", "/map/wall"):
        page = as_officer.get(url).get_data(as_text=True)
        for payload in PAYLOADS:
            assert payload not in page or payload.startswith(("${", "javascript:")), (url, payload)


def test_viewers_see_the_watch_without_forms(client, make_user, login):
    login(make_user("viewer"))
    page = client.get("/watch")
    assert page.status_code == 200
    assert 'data-testid="reading-form"' not in page.get_data(as_text=True)
    assert client.post("/watch/readings", data={"station": "x", "level_cm": "700"}).status_code in (400, 403)
