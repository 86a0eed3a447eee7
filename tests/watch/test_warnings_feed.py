"""Weather warnings from MeteoAlarm's Atom feed, served on 127.0.0.1: a new warning, an update, a
cancellation, another area's warning ignored, and every way the feed can fail (hostile XML, cut
short, an HTTP error, no answer in time, too large), each leaving the last good state, marked
stale with the error and the time. Times are the test's (``poll(now=…)``), never slept."""

from __future__ import annotations

import datetime as dt

import threading

import pytest
from feed_server import BILLION_LAUGHS, Answer, FeedServer, atom_feed, cap_entry

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _now():
    """Each test's own "now": the pages and /healthz read the real clock, so a module-wide one
    would make the feed look stale to a test that runs half an hour after the module was loaded."""
    global NOW
    NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@pytest.fixture
def app(app_factory, feeds):
    """The app (and so ``client``, ``officer``…) with MeteoAlarm's feed at the feed server's
    /meteoalarm (404 until the test sets it), no gauge file, a one-second timeout; what Riadó
    writes itself (a withdrawn proposal's reason) in English."""
    return app_factory(RIADO_METEOALARM_URL=feeds.url("/meteoalarm"), RIADO_GAUGE_URL=None,
                       RIADO_WATCH_TIMEOUT_SECONDS=1, RIADO_LOCALE="en")


def iso(delta_hours: float) -> str:
    return (NOW + dt.timedelta(hours=delta_hours)).isoformat()


def wind(identifier="HU-2026-0610-001", severity="Severe", **kw):
    return cap_entry(identifier, severity=severity, sent=iso(-2), onset=iso(1), expires=iso(10), **kw)


def changed(**counts) -> dict:
    """What a read of the feed changed: ``counts`` and zeros."""
    return dict.fromkeys(("new", "updated", "cancelled", "ended", "revived", "events", "withdrawn"), 0) | counts


def poll(app, minutes: float = 0):
    from watch.poll import poll as run

    with app.app_context():
        return run(now=NOW + dt.timedelta(minutes=minutes))


def state(client, headers):
    answer = client.get("/api/v1/watch", headers=headers)
    assert answer.status_code == 200
    return answer.get_json()


def events(client, headers, status=""):
    return client.get(f"/api/v1/watch/events{'?status=' + status if status else ''}", headers=headers).get_json()


@pytest.fixture
def good(feeds, app):
    """The feed with an orange wind warning for Budapest, a yellow one, and an orange one for
    another area (Pest county), read once."""
    feeds.set("/meteoalarm", Answer(atom_feed(
        wind(),
        wind("HU-2026-0610-002", severity="Moderate", event="Eső (Rain)", awareness_type="10; Rain"),
        wind("HU-2026-0610-003", area="Pest", emma_id="HU002"),
    ), etag='"v1"', last_modified="Wed, 10 Jun 2026 06:00:00 GMT"))
    assert poll(app) == {"meteoalarm": changed(new=2, events=1)}
    return app


def test_a_new_warning_for_the_area_is_kept_and_an_orange_one_proposes(good, client, viewer):
    shown = state(client, viewer)
    assert shown["stale"] is False and shown["checked_at"]
    assert [(w["level"], w["area"], w["event"]) for w in shown["warnings"]] == [
        ("orange", "Budapest", "Szél (Wind)"), ("yellow", "Budapest", "Eső (Rain)")]  # Pest's is not ours
    warning = shown["warnings"][0]
    assert dt.datetime.fromisoformat(warning["onset"]) == NOW + dt.timedelta(hours=1)
    assert dt.datetime.fromisoformat(warning["expires"]) == NOW + dt.timedelta(hours=10)
    assert warning["headline"] == "Severe Szél (Wind) warning for Budapest"
    listed = events(client, viewer)
    assert listed["total"] == 1
    assert listed["items"][0] | {"created_at": None} == {
        "id": listed["items"][0]["id"], "kind": "warning", "warning_id": warning["id"], "status": "open",
        "created_at": None, "station": None, "threshold": None, "level_cm": None, "warning_level": "orange",
        "hazard": "storm", "readiness_level": 1, "decided_at": None, "decided_by": "", "reason": "", "incident_id": None}


def test_an_unchanged_feed_is_asked_conditionally_and_proposes_nothing_again(good, feeds, client, viewer):
    assert poll(good, 10) == {"meteoalarm": "unchanged"}
    assert feeds.seen[-1].headers.get("If-None-Match") == '"v1"'
    assert feeds.seen[-1].headers.get("If-Modified-Since") == "Wed, 10 Jun 2026 06:00:00 GMT"
    feeds.answers["/meteoalarm"].etag = '"v1b"'  # the same content under a new ETag: read again, nothing new
    assert poll(good, 20)["meteoalarm"] == changed()
    assert events(client, viewer)["total"] == 1
    assert len(state(client, viewer)["warnings"]) == 2


def test_an_update_replaces_the_warning_and_a_higher_level_proposes_again(good, feeds, client, viewer):
    red = wind("HU-2026-0610-004", severity="Extreme", msg_type="Update",
               references=f"https://www.met.hu,HU-2026-0610-001,{iso(-2)}", awareness_level="4; red; Extreme")
    feeds.set("/meteoalarm", Answer(atom_feed(red, wind("HU-2026-0610-002", severity="Moderate", event="Eső (Rain)",
                                                         awareness_type="10; Rain")), etag='"v2"'))
    assert poll(good, 10)["meteoalarm"] == changed(new=1, updated=1, events=1)
    assert [w["level"] for w in state(client, viewer)["warnings"]] == ["red", "yellow"]
    assert [e["warning_level"] for e in events(client, viewer)["items"]] == ["red", "orange"]
    # A further update at the same level is the same warning at a level proposed already.
    again = wind("HU-2026-0610-005", severity="Extreme", msg_type="Update",
                 references=f"https://www.met.hu,HU-2026-0610-004,{iso(-1)}")
    feeds.set("/meteoalarm", Answer(atom_feed(again), etag='"v3"'))
    assert poll(good, 20)["meteoalarm"]["events"] == 0
    assert events(client, viewer)["total"] == 2
    assert [w["level"] for w in state(client, viewer)["warnings"]] == ["red"]  # the rain warning left the feed


def test_a_cancellation_ends_the_warning_and_its_open_proposal(good, feeds, client, viewer):
    cancel = cap_entry("HU-2026-0610-009", msg_type="Cancel", sent=iso(-1), onset=iso(1), expires=iso(10),
                       references=f"https://www.met.hu,HU-2026-0610-001,{iso(-2)}")
    feeds.set("/meteoalarm", Answer(atom_feed(cancel, wind("HU-2026-0610-002", severity="Moderate", event="Eső (Rain)",
                                                            awareness_type="10; Rain"))))
    assert poll(good, 10)["meteoalarm"]["cancelled"] == 1
    assert [w["level"] for w in state(client, viewer)["warnings"]] == ["yellow"]
    assert events(client, viewer, "open")["total"] == 0
    [closed] = events(client, viewer, "dismissed")["items"]
    assert closed["decided_by"] == "system" and closed["reason"]


def test_only_the_configured_areas_count(feeds, app_factory, client, viewer):
    feeds.set("/meteoalarm", Answer(atom_feed(wind(area="Pest", emma_id="HU002"), wind("X2", area="Budapest", emma_id="HU001"))))
    app = app_factory(RIADO_METEOALARM_URL=feeds.url("/meteoalarm"), RIADO_METEOALARM_AREAS="HU002")
    poll(app)
    assert [w["area"] for w in state(client, viewer)["warnings"]] == ["Pest"]


FAILURES = {
    "billion laughs": (Answer(BILLION_LAUGHS), "DTD or entities"),
    "truncated XML": (Answer(atom_feed(wind())[:700]), "not well-formed"),
    "cut mid-answer": (Answer(atom_feed(wind()), cut_after=300), "could not be read"),
    "HTTP 500": (Answer(b"<html>Internal Server Error</html>", status=500, content_type="text/html"), "HTTP 500"),
    "not a feed": (Answer(b"<html><body>Maintenance</body></html>", content_type="text/html"), "not well-formed|not an Atom"),
    "timeout": (Answer(hold=True), "within 1 s"),
    # A byte every 50 ms, each in time for a per-read timeout: the answer as a whole is not.
    "dribbled body": (Answer(atom_feed(wind()), dribble=0.05), "within 1 s"),
    "dribbled headers": (Answer(b"", dribble=0.05, dribble_headers=True), "within 1 s"),
    "20 MB said": (Answer(size=20 * 1024 * 1024), "20.0 MB"),
    "20 MB chunked": (Answer(size=20 * 1024 * 1024, chunked=True), "more than the 10.0 MB"),
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_feed_that_cannot_be_read_keeps_the_last_good_state_marked_stale(failure, good, feeds, client, viewer,
                                                                           as_officer):
    import re

    answer, said = FAILURES[failure]
    feeds.set("/meteoalarm", answer)
    result = poll(good, 10)["meteoalarm"]
    assert result.startswith("error") and re.search(said, result), result
    assert feeds.dribbled_whole == []  # given up at the deadline, not once the server had sent it all
    shown = state(client, viewer)
    assert shown["stale"] is True
    assert [w["level"] for w in shown["warnings"]] == ["orange", "yellow"]  # what was read before
    [feed] = shown["feeds"]
    assert re.search(said, feed["error"]) and feed["stale"] is True
    assert dt.datetime.fromisoformat(feed["checked_at"]) == NOW + dt.timedelta(minutes=10)
    assert dt.datetime.fromisoformat(feed["ok_at"]) == NOW
    assert events(client, viewer)["total"] == 1  # nothing proposed twice, nothing lost
    dashboard = as_officer.get("/")
    assert dashboard.status_code == 200
    page = dashboard.get_data(as_text=True)
    assert 'data-testid="feed-stale"' in page and 'data-testid="feed-error"' in page
    assert as_officer.get("/watch").status_code == 200
    # The feed back: fresh again, with what it says now.
    feeds.set("/meteoalarm", Answer(atom_feed(wind())))
    poll(good, 20)
    shown = state(client, viewer)
    assert shown["stale"] is False and shown["feeds"][0]["error"] is None
    assert [w["level"] for w in shown["warnings"]] == ["orange"]


def test_the_billion_laughs_is_refused_before_expanding():
    from watch import cap

    with pytest.raises(cap.FeedError, match="DTD or entities"):
        cap.parse_feed(BILLION_LAUGHS)
    external = b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY x SYSTEM "file:///etc/passwd">]><feed>&x;</feed>'
    with pytest.raises(cap.FeedError):
        cap.parse_feed(external)


def test_health_fails_only_when_a_feed_has_gone_unread_for_an_hour(good, feeds):
    from watch import operations as ops

    with good.app_context():
        ok, figures = ops.health()
        assert ok is True and figures["watch_meteoalarm_stale"] is False
        from incident.database import utcnow
        from incident.extensions import db

        ops.record_failure("meteoalarm", feeds.url("/meteoalarm"), "the server answered HTTP 500", utcnow())
        db.session.commit()
        ok, figures = ops.health()
        assert ok is True and figures["watch_meteoalarm_stale"] is True  # stale, but not for an hour yet
        state = ops.feed_state("meteoalarm")
        state.ok_at = utcnow() - dt.timedelta(minutes=61)
        db.session.commit()
        ok, figures = ops.health()
        assert ok is False and figures["watch_meteoalarm_minutes_since_read"] >= 61


def test_riado_watch_once_polls_in_its_own_process(feeds, database_url, client, viewer):
    import os
    import subprocess
    import sys
    from pathlib import Path

    feeds.set("/meteoalarm", Answer(atom_feed(wind())))
    env = dict(os.environ, DATABASE_URL=database_url, RIADO_METEOALARM_URL=feeds.url("/meteoalarm"))
    done = subprocess.run([str(Path(sys.executable).with_name("riado")), "watch", "--once"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "meteoalarm" in done.stderr
    shown = state(client, viewer)
    assert [w["level"] for w in shown["warnings"]] == ["orange"] and shown["stale"] is False
    feeds.set("/meteoalarm", Answer(b"", status=503))
    failed = subprocess.run([str(Path(sys.executable).with_name("riado")), "watch", "--once"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1 and "HTTP 503" in failed.stderr
    assert state(client, viewer)["stale"] is True


def test_accepting_an_orange_wind_warning_opens_a_storm_incident_at_level_i(good, client, officer):
    from factories import VIGADO

    [proposal] = events(client, officer, "open")["items"]
    accepted = client.post(f"/api/v1/watch/events/{proposal['id']}/accept", headers=officer, json={"location": VIGADO})
    assert accepted.status_code == 201, accepted.get_json()
    body = accepted.get_json()
    assert body["readiness_level"] == 1 and "Szél (Wind)" in body["alert_draft"]["body"]
    incident = client.get(f"/api/v1/incidents/{body['incident_id']}", headers=officer).get_json()
    assert (incident["kind"], incident["severity"], incident["readiness_level"]) == ("storm", "severe", 1)
    assert client.get("/api/v1/alerts", headers=officer).get_json()["total"] == 0  # drafted, never sent


def rain(identifier="HU-2026-0610-002"):
    return wind(identifier, severity="Moderate", event="Eső (Rain)", awareness_type="10; Rain")


def update(identifier, of, severity, hours=-1):
    """A CAP update of the warning ``of`` at ``severity``."""
    return wind(identifier, severity=severity, msg_type="Update", references=f"https://www.met.hu,{of},{iso(hours)}")


def test_a_warning_back_after_an_empty_feed_is_in_force_again_with_its_proposal(good, feeds, client, viewer, as_officer):
    [proposal] = events(client, viewer, "open")["items"]
    feeds.set("/meteoalarm", Answer(atom_feed(), etag='"empty"'))  # a valid feed listing nothing
    assert poll(good, 10)["meteoalarm"] == changed(ended=2, withdrawn=1)
    assert state(client, viewer)["warnings"] == []
    [withdrawn] = events(client, viewer, "dismissed")["items"]
    assert withdrawn["id"] == proposal["id"] and withdrawn["decided_by"] == "system" and withdrawn["reason"]
    assert 'data-testid="banner"' not in as_officer.get("/").get_data(as_text=True)
    # The next read lists them again: in force again, and the same proposal open again (not a second).
    feeds.set("/meteoalarm", Answer(atom_feed(wind(), rain()), etag='"back"'))
    assert poll(good, 20)["meteoalarm"] == changed(revived=2, events=1)
    assert [w["level"] for w in state(client, viewer)["warnings"]] == ["orange", "yellow"]
    listed = events(client, viewer)
    assert listed["total"] == 1 and listed["items"][0]["id"] == proposal["id"]
    assert listed["items"][0]["status"] == "open" and listed["items"][0]["reason"] == ""
    assert 'data-testid="banner"' in as_officer.get("/").get_data(as_text=True)


def test_a_warning_lowered_to_yellow_withdraws_its_proposal_and_raised_again_reopens_it(good, feeds, client, viewer):
    [proposal] = events(client, viewer, "open")["items"]
    feeds.set("/meteoalarm", Answer(atom_feed(update("HU-2026-0610-010", "HU-2026-0610-001", "Moderate"), rain())))
    assert poll(good, 10)["meteoalarm"] == changed(new=1, updated=1, withdrawn=1)
    assert events(client, viewer, "open")["total"] == 0
    [withdrawn] = events(client, viewer, "dismissed")["items"]
    assert withdrawn["id"] == proposal["id"] and withdrawn["decided_by"] == "system" and "yellow" in withdrawn["reason"]
    # Orange again: the warning's proposal at orange is open again, not made twice.
    feeds.set("/meteoalarm", Answer(atom_feed(update("HU-2026-0610-011", "HU-2026-0610-010", "Severe", 0), rain())))
    assert poll(good, 20)["meteoalarm"] == changed(new=1, updated=1, events=1)
    listed = events(client, viewer)
    assert listed["total"] == 1 and listed["items"][0]["status"] == "open"


def test_a_red_warning_lowered_to_orange_proposes_nothing_new(good, feeds, client, viewer):
    feeds.set("/meteoalarm", Answer(atom_feed(wind(), wind("HU-2026-0610-020", severity="Extreme", event="Zivatar"))))
    assert poll(good, 10)["meteoalarm"]["events"] == 1
    red = next(e for e in events(client, viewer)["items"] if e["warning_level"] == "red")
    feeds.set("/meteoalarm", Answer(atom_feed(wind(), update("HU-2026-0610-021", "HU-2026-0610-020", "Severe"))))
    assert poll(good, 20)["meteoalarm"] == changed(new=1, updated=1)
    listed = events(client, viewer)
    assert listed["total"] == 2  # the orange wind's and the red storm's: no orange one for the lowered storm
    assert next(e for e in listed["items"] if e["id"] == red["id"])["status"] == "open"  # still in force, at orange


def test_a_proposal_is_withdrawn_when_its_warning_expires(good, feeds, client, viewer):
    # Eleven hours on (the warnings expire after ten), the feed unchanged: nothing proposes any more.
    assert poll(good, 11 * 60) == {"meteoalarm": "unchanged"}
    assert events(client, viewer, "open")["total"] == 0
    [withdrawn] = events(client, viewer, "dismissed")["items"]
    assert withdrawn["decided_by"] == "system" and "expired" in withdrawn["reason"]


def test_accepting_a_red_warning_settles_its_open_orange_proposal(good, feeds, client, officer):
    from factories import VIGADO

    feeds.set("/meteoalarm", Answer(atom_feed(update("HU-2026-0610-004", "HU-2026-0610-001", "Extreme"), rain())))
    poll(good, 10)
    by_level = {e["warning_level"]: e["id"] for e in events(client, officer, "open")["items"]}
    assert set(by_level) == {"orange", "red"}
    accepted = client.post(f"/api/v1/watch/events/{by_level['red']}/accept", headers=officer, json={"location": VIGADO})
    assert accepted.status_code == 201
    assert events(client, officer, "open")["total"] == 0
    orange = client.get(f"/api/v1/watch/events/{by_level['orange']}", headers=officer).get_json()
    assert orange["status"] == "dismissed" and orange["decided_by"] == "system"
    assert orange["incident_id"] == accepted.get_json()["incident_id"] and f"#{by_level['red']}" in orange["reason"]


def test_a_redirect_is_followed_on_the_feeds_own_host_only(good, feeds, client, viewer):
    elsewhere = FeedServer().start()
    try:
        elsewhere.set("/meteoalarm", Answer(atom_feed(wind("HU-2026-0610-030", severity="Extreme"))))
        feeds.set("/meteoalarm", Answer(status=302, location=elsewhere.url("/meteoalarm?token=secret")))
        result = poll(good, 10)["meteoalarm"]
        assert result.startswith("error") and f"another host (http://127.0.0.1:{elsewhere.server.server_port})" in result
        assert "secret" not in result  # where it points, not its path or query
        assert elsewhere.seen == []  # never asked
        shown = state(client, viewer)
        assert shown["stale"] is True and "another host" in shown["feeds"][0]["error"]
        assert [w["level"] for w in shown["warnings"]] == ["orange", "yellow"]  # what was read before
        assert events(client, viewer)["total"] == 1
    finally:
        elsewhere.stop()
    # Moved on the same host and port: followed.
    feeds.set("/moved", Answer(atom_feed(wind())))
    feeds.set("/meteoalarm", Answer(status=301, location="/moved"))
    assert poll(good, 20)["meteoalarm"] == changed(ended=1)
    assert state(client, viewer)["stale"] is False
    # A redirect that leads round in a circle ends.
    feeds.set("/meteoalarm", Answer(status=302, location="/meteoalarm"))
    result = poll(good, 30)["meteoalarm"]
    assert result.startswith("error") and "redirected too many times" in result


def test_two_pollers_never_read_the_same_feed_at_once(feeds, app_factory, client, viewer, as_viewer):
    from watch.poll import BUSY

    app = app_factory(RIADO_METEOALARM_URL=feeds.url("/meteoalarm"), RIADO_GAUGE_URL=None,
                      RIADO_WATCH_TIMEOUT_SECONDS=60)
    gate = threading.Event()
    feeds.set("/meteoalarm", Answer(atom_feed(wind()), gate=gate))
    results = {}
    first = threading.Thread(target=lambda: results.update(first=poll(app)))
    first.start()
    try:
        assert feeds.wait_for_requests(1)
        [feed] = state(client, viewer)["feeds"]
        assert feed["polling_since"] is not None  # the poll under way is shown
        assert 'data-testid="feed-polling"' in as_viewer.get("/watch").get_data(as_text=True)
        assert poll(app, 1) == {"meteoalarm": BUSY}  # a second poller leaves it to the first
        assert len(feeds.seen) == 1
    finally:
        gate.set()
        first.join(60)
    assert results["first"] == {"meteoalarm": changed(new=1, events=1)}
    [feed] = state(client, viewer)["feeds"]
    assert feed["polling_since"] is None and feed["stale"] is False
    assert 'data-testid="feed-polling"' not in as_viewer.get("/watch").get_data(as_text=True)
    assert events(client, viewer)["total"] == 1
    assert poll(app, 10) == {"meteoalarm": changed()}  # the next round reads it again
    assert len(feeds.seen) == 2
