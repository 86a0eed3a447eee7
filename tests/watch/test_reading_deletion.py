"""A reading typed in by mistake (705 for 605) is deleted, on the watch page or through the API:
the station's newest level is the previous reading's again (the page, the dashboard's banner,
the wall map), the open proposal it made is closed by the system saying why, an accepted one
stays (its incident's log says the reading was deleted), and the audit trail says who deleted
what. A reading of the gauge file is not deleted; viewers and the press cannot delete."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import csrf_from
from factories import VIGADO

STATION = "Vigadó tér"
START = dt.datetime.now(dt.timezone.utc)


@pytest.fixture(autouse=True)
def _start():
    """Each test's readings begin an hour before it runs: current readings, which propose."""
    global START
    START = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) - dt.timedelta(hours=1)


def at(i: int) -> str:
    return (START + dt.timedelta(minutes=10 * i)).isoformat()


def post_reading(client, headers, level, i, station=STATION):
    answer = client.post(f"/api/v1/gauges/{station}/readings", headers=headers, json={"level_cm": level, "at": at(i)})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def delete_reading(client, headers, reading_id, station=STATION):
    return client.delete(f"/api/v1/gauges/{station}/readings/{reading_id}", headers=headers)


def newest(client, headers, station=STATION):
    return next(g for g in client.get("/api/v1/watch", headers=headers).get_json()["gauges"] if g["station"] == station)


def test_deleting_the_705_typo_on_the_page_restores_605_and_closes_its_proposal(client, make_user, login, api):
    officer_user = make_user("officer")
    login(officer_user)
    officer, _ = api("officer")
    post_reading(client, officer, 605, 0)
    typo = post_reading(client, officer, 705, 1)
    assert typo["event_id"]
    page = client.get("/watch").get_data(as_text=True)
    assert f'data-reading="{typo["id"]}"' in page and 'data-testid="reading-delete"' in page
    assert "705 cm" in client.get("/").get_data(as_text=True)  # the banner
    deleted = client.post(f"/watch/readings/{typo['id']}/delete", data={"csrf_token": csrf_from(page)})
    assert deleted.status_code == 302 and deleted.headers["Location"].endswith("/watch")
    page = client.get("/watch").get_data(as_text=True)
    assert 'data-testid="no-proposals"' in page and f'data-reading="{typo["id"]}"' not in page
    assert '<span data-testid="gauge-level">605 cm</span>' in page
    assert (newest(client, officer)["level_cm"], newest(client, officer)["at"]) == (605, at(0))
    event = client.get(f"/api/v1/watch/events/{typo['event_id']}", headers=officer).get_json()
    assert event["status"] == "dismissed" and event["decided_by"] == "system"
    assert officer_user["email"] in event["reason"] and "705 cm" in event["reason"]
    assert event["reason"] in page  # shown among the decided proposals, with the reason
    assert 'data-testid="banner"' not in client.get("/").get_data(as_text=True)
    wall = client.get("/map/wall").get_data(as_text=True)
    assert 'data-testid="wall-banner"' not in wall and "705 cm" not in wall
    # The audit trail: who deleted which reading, and the proposal closed.
    admin, _ = api("admin")
    trail = client.get("/api/v1/audit?entity=watch_gauge_readings", headers=admin).get_json()["items"]
    [row] = [r for r in trail if r["action"] == "delete"]
    assert row["actor"] == officer_user["email"] and row["record_id"] == str(typo["id"])
    assert row["changes"]["level_cm"] == [705, None] and row["request"].startswith("POST /watch/readings/")
    events = client.get("/api/v1/audit?entity=watch_events", headers=admin).get_json()["items"]
    assert any(r["changes"].get("status") == ["open", "dismissed"] for r in events)
    # Deleted once: the second time there is nothing to delete.
    again = client.post(f"/watch/readings/{typo['id']}/delete", data={"csrf_token": csrf_from(page)})
    assert again.status_code == 404


def test_deleting_through_the_api_and_what_the_station_then_says(client, officer, viewer):
    first = post_reading(client, officer, 605, 0)
    typo = post_reading(client, officer, 705, 1)
    assert delete_reading(client, officer, typo["id"], station="Óbuda").status_code == 404  # another station's
    assert delete_reading(client, officer, typo["id"]).status_code == 204
    assert delete_reading(client, officer, typo["id"]).status_code == 404
    readings = client.get(f"/api/v1/gauges/{STATION}/readings", headers=viewer).get_json()
    assert [r["id"] for r in readings["items"]] == [first["id"]]
    assert client.get(f"/api/v1/watch/events/{typo['event_id']}", headers=viewer).get_json()["status"] == "dismissed"
    # The river really rises to 706: that crossing proposes (the deleted reading's id may be
    # given again, and its proposal does not stand in the way).
    real = post_reading(client, officer, 706, 2)
    assert real["event_id"] and real["event_id"] != typo["event_id"]
    # The last reading deleted: the station has no level, and the proposal is closed.
    assert delete_reading(client, officer, real["id"]).status_code == 204
    assert delete_reading(client, officer, first["id"]).status_code == 204
    assert newest(client, viewer) == {"station": STATION, "level_cm": None, "at": None, "threshold": 0,
                                      "trend_24h_cm": None}
    assert client.get("/api/v1/watch/events?status=open", headers=viewer).get_json()["total"] == 0


def test_a_real_crossing_hidden_behind_the_typo_proposes_once_it_is_deleted(client, officer, viewer):
    post_reading(client, officer, 605, 0)
    typo = post_reading(client, officer, 705, 1)
    real = post_reading(client, officer, 710, 2)  # above level II too: nothing crossed after the typo
    assert real["event_id"] is None
    assert delete_reading(client, officer, typo["id"]).status_code == 204
    [proposal] = client.get("/api/v1/watch/events?status=open", headers=viewer).get_json()["items"]
    assert (proposal["level_cm"], proposal["threshold"]) == (710, 2)
    assert newest(client, viewer)["level_cm"] == 710


def test_an_older_typo_deleted_leaves_the_newest_level(client, officer, viewer):
    post_reading(client, officer, 600, 0)
    typo = post_reading(client, officer, 825, 1)  # 625 typed with an 8 for the 6: level III
    post_reading(client, officer, 630, 2)
    assert delete_reading(client, officer, typo["id"]).status_code == 204
    assert newest(client, viewer)["level_cm"] == 630
    # 630 crossed level I from 600 once 825 is gone: proposed now.
    [proposal] = client.get("/api/v1/watch/events?status=open", headers=viewer).get_json()["items"]
    assert (proposal["level_cm"], proposal["threshold"]) == (630, 1)


def test_an_accepted_proposal_stays_and_its_incident_log_says_the_reading_was_deleted(client, officer, viewer):
    post_reading(client, officer, 605, 0)
    typo = post_reading(client, officer, 705, 1)
    accepted = client.post(f"/api/v1/watch/events/{typo['event_id']}/accept", headers=officer,
                           json={"location": VIGADO})
    assert accepted.status_code == 201
    incident_id = accepted.get_json()["incident_id"]
    assert delete_reading(client, officer, typo["id"]).status_code == 204
    event = client.get(f"/api/v1/watch/events/{typo['event_id']}", headers=viewer).get_json()
    assert event["status"] == "accepted" and event["incident_id"] == incident_id
    log = client.get(f"/api/v1/incidents/{incident_id}/log", headers=officer).get_json()["items"]
    assert log[-1]["kind"] == "system" and "705 cm" in log[-1]["text"] and f"#{typo['event_id']}" in log[-1]["text"]
    assert client.get(f"/api/v1/incidents/{incident_id}/log/verify", headers=viewer).get_json()["ok"] is True
    assert newest(client, viewer)["level_cm"] == 605


def test_a_reading_of_the_gauge_file_cannot_be_deleted(app, client, officer, make_user, login):
    from incident.extensions import db
    from watch import gauges
    from watch import operations as ops

    with app.test_request_context():
        ops.apply_gauge_file([gauges.Reading(STATION, 705, START)])
        db.session.commit()
    [fed] = client.get(f"/api/v1/gauges/{STATION}/readings", headers=officer).get_json()["items"]
    assert fed["source"] == "feed"
    refused = delete_reading(client, officer, fed["id"])
    assert refused.status_code == 409 and "source" in refused.get_json()["errors"]["json"]
    assert "gauge file" in refused.get_json()["message"]
    login(make_user("officer"))
    page = client.get("/watch").get_data(as_text=True)
    assert f'data-reading="{fed["id"]}"' in page and 'data-testid="reading-delete"' not in page  # no button
    answer = client.post(f"/watch/readings/{fed['id']}/delete", data={"csrf_token": csrf_from(page)},
                         follow_redirects=True)
    assert answer.status_code == 200 and 'data-testid="reading-delete"' not in answer.get_data(as_text=True)
    assert newest(client, officer)["level_cm"] == 705
    assert client.get("/api/v1/watch/events?status=open", headers=officer).get_json()["total"] == 1


@pytest.mark.parametrize("role", ["viewer", "press"])
def test_viewers_and_the_press_cannot_delete_a_reading(client, officer, api, make_user, login, role):
    typo = post_reading(client, officer, 705, 1)
    headers, user = api(role)
    assert delete_reading(client, headers, typo["id"]).status_code == 403
    login(user)
    page = client.get("/watch")
    html = page.get_data(as_text=True)
    if page.status_code == 200:
        assert f'data-reading="{typo["id"]}"' in html and 'data-testid="reading-delete"' not in html
        token = csrf_from(html)
    else:
        token = csrf_from(client.get("/account").get_data(as_text=True))
    assert client.post(f"/watch/readings/{typo['id']}/delete", data={"csrf_token": token}).status_code == 403
    assert newest(client, officer)["level_cm"] == 705
    assert client.get(f"/api/v1/watch/events/{typo['event_id']}", headers=officer).get_json()["status"] == "open"
