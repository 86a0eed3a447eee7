"""The watch's pages: the quick reading form, the banner on the dashboard and the wall map, the
proposal accepted into the alert composer with the drafted text, dismissed with a reason; every
text typed escaped; viewers read only."""

from __future__ import annotations

import datetime as dt
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


def local_minutes_ago(minutes: int) -> str:
    """A time the quick form takes (the municipality's local time), ``minutes`` ago."""
    from zoneinfo import ZoneInfo

    return (dt.datetime.now(ZoneInfo("Europe/Budapest")) - dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")


def test_every_text_typed_is_escaped(as_officer):
    for i, payload in enumerate(PAYLOADS):
        assert save_reading(as_officer, payload, str(700 + i), local_minutes_ago(10 * (i + 1))).status_code == 302
    assert as_officer.get("/api/v1/watch/events?status=open").get_json()["total"] == len(PAYLOADS)  # banners too
    for url in ("/watch", "/", "/map/wall"):
        page = as_officer.get(url).get_data(as_text=True)
        for payload in PAYLOADS:
            assert payload not in page or payload.startswith(("${", "javascript:")), (url, payload)


def test_viewers_see_the_watch_without_forms(client, make_user, login, officer):
    made = client.post("/api/v1/gauges/Vigadó tér/readings", headers=officer, json={"level_cm": 705}).get_json()
    login(make_user("viewer"))
    page = client.get("/watch")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="reading-form"' not in html and 'data-testid="accept"' not in html
    assert 'data-testid="proposal"' in html  # seen, not answered
    token = csrf_from(html)  # a viewer's page has one (signing out): a refusal is for the role, not the token
    assert client.post("/watch/readings", data={"csrf_token": token, "station": "x", "level_cm": "700"}).status_code == 403
    event = made["event_id"]
    assert client.post(f"/watch/events/{event}/accept", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/watch/events/{event}/dismiss", data={"csrf_token": token, "reason": "nem"}).status_code == 403
    assert client.get(f"/api/v1/watch/events/{event}", headers=officer).get_json()["status"] == "open"
    assert client.get("/api/v1/watch", headers=officer).get_json()["gauges"][0]["level_cm"] == 705  # nothing written


def test_the_drill_wall_map_shows_no_real_proposal(as_officer):
    assert save_reading(as_officer, "Vigadó tér", "705").status_code == 302
    real = as_officer.get("/map/wall").get_data(as_text=True)
    assert 'data-testid="wall-banner"' in real and "705 cm" in real
    assert [b["key"] for b in as_officer.get("/api/v1/map/summary").get_json()["banners"]]
    drill = as_officer.get("/map/wall?drill=1").get_data(as_text=True)
    assert 'data-testid="drill-banner"' in drill  # the drill's own wall…
    assert 'data-testid="wall-banner"' not in drill and "705 cm" not in drill  # …without the real river's proposal
    assert as_officer.get("/api/v1/map/summary?drill=1").get_json()["banners"] == []
    assert 'data-testid="banner"' in as_officer.get("/").get_data(as_text=True)  # the dashboard is the real one's


def test_the_drafted_alert_reaches_the_composer_whole_and_escaped(app, as_officer):
    import html as html_lib
    import re

    store_district_outline(app)
    station = '</textarea><script>alert(1)</script>"&'
    assert save_reading(as_officer, station, "705").status_code == 302
    page = as_officer.get("/watch").get_data(as_text=True)
    event_id = as_officer.get("/api/v1/watch/events?status=open").get_json()["items"][0]["id"]
    accepted = as_officer.post(f"/watch/events/{event_id}/accept", data={"csrf_token": csrf_from(page)})
    assert accepted.status_code == 302
    draft = parse_qs(urlsplit(accepted.headers["Location"]).query)["body"][0]
    assert station in draft and "705 cm" in draft
    composer = as_officer.get(accepted.headers["Location"]).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in composer
    shown = re.search(r'<textarea id="body"[^>]*>(.*?)</textarea>', composer, re.S)
    assert shown and html_lib.unescape(shown.group(1)) == draft  # the whole draft in the box, as text
    assert as_officer.get("/api/v1/alerts").get_json()["total"] == 0


def test_proposals_settled_by_an_accepted_one_are_listed_as_decided_by_riado(app, as_officer):
    store_district_outline(app)
    save_reading(as_officer, "Vigadó tér", "625", local_minutes_ago(30))
    save_reading(as_officer, "Vigadó tér", "705", local_minutes_ago(20))
    proposals = {e["level_cm"]: e["id"] for e in as_officer.get("/api/v1/watch/events").get_json()["items"]}
    page = as_officer.get("/watch").get_data(as_text=True)
    assert as_officer.post(f"/watch/events/{proposals[705]}/accept", data={"csrf_token": csrf_from(page)}).status_code == 302
    page = as_officer.get("/watch").get_data(as_text=True)
    assert 'data-testid="proposal"' not in page  # the 625 one is settled too
    settled = [line for line in page.split('data-testid="decided-event"')[1:] if "625 cm" in line][0]
    assert f"#{proposals[705]}" in settled and "· system" not in settled  # said in words, not the internal name


def test_accepting_a_higher_proposal_of_the_same_gauge_says_the_incident_was_raised_not_opened(app, as_officer):
    store_district_outline(app)
    save_reading(as_officer, "Vigadó tér", "625", local_minutes_ago(30))
    first = as_officer.get("/api/v1/watch/events?status=open").get_json()["items"][0]["id"]
    page = as_officer.get("/watch").get_data(as_text=True)
    opened = as_officer.post(f"/watch/events/{first}/accept", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    number = as_officer.get("/api/v1/incidents").get_json()["items"][0]["number"]
    assert f"A(z) {number} esemény megnyitva, I. fokú készültséggel." in opened.get_data(as_text=True)
    save_reading(as_officer, "Vigadó tér", "705", local_minutes_ago(10))
    second = as_officer.get("/api/v1/watch/events?status=open").get_json()["items"][0]["id"]
    page = as_officer.get("/watch").get_data(as_text=True)
    raised = as_officer.post(f"/watch/events/{second}/accept", data={"csrf_token": csrf_from(page)},
                             follow_redirects=True).get_data(as_text=True)
    assert f"A(z) {number} esemény készültségi foka II. fokra emelve." in raised and "megnyitva" not in raised
    assert as_officer.get("/api/v1/incidents").get_json()["total"] == 1
