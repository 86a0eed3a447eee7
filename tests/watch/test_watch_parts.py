"""The watch's pure parts (the CAP fields read, the gauge file, the trend, the chart) and its
queue task (a round when due, none before)."""

from __future__ import annotations

import datetime as dt

import pytest
from feed_server import Answer, atom_feed, cap_entry

UTC = dt.timezone.utc


@pytest.mark.parametrize("severity, awareness, level", [
    ("Moderate", "", "yellow"), ("Severe", "", "orange"), ("Extreme", "", "red"), ("Minor", "", None),
    ("Severe", "4; red; Extreme", "red"), ("Moderate", "3; orange; Severe", "orange"), ("Unknown", "2; yellow; Moderate", "yellow"),
    ("Unknown", "", None),
])
def test_the_level_comes_from_the_awareness_level_or_the_severity(severity, awareness, level):
    from watch.cap import level_of

    assert level_of(severity, awareness) == level


def test_a_feed_entry_is_read_with_meteoalarms_field_names():
    from watch.cap import in_areas, parse_feed

    [entry] = parse_feed(atom_feed(cap_entry("X1", severity="Severe", event="Hőség (High temperature)",
                                             awareness_type="5; high-temperature", msg_type="Update",
                                             references="https://www.met.hu,X0,2026-06-09T08:00:00+02:00 X00")))
    assert (entry.identifier, entry.level, entry.hazard, entry.msg_type) == ("X1", "orange", "heat", "Update")
    assert entry.references == ("X0", "X00") and entry.codes == ("HU001",)
    assert entry.onset == dt.datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
    assert in_areas(entry, ["hu001"]) and in_areas(entry, ["BUDAPEST"]) and not in_areas(entry, ["Pest"])


def test_the_gauge_file_names_the_bad_row_and_field():
    from watch.gauges import GaugeFileError, parse_gauge_file

    readings = parse_gauge_file(b"station;level_cm;time\nVigad\xc3\xb3 t\xc3\xa9r;705;2026-06-10T07:00\n", "Europe/Budapest")
    assert readings[0].at == dt.datetime(2026, 6, 10, 5, 0, tzinfo=UTC)  # local time, summer
    for data, said in ((b'{"readings": [{"station": "A", "level_cm": 1.5, "time": "2026-06-10T07:00:00Z"}]}', "row 1, level_cm"),
                       (b"station,level_cm\nA,700\n", "lacks time"), (b"\xff\xfe", "not UTF-8"),
                       (b'{"readings": [{"station": "", "level_cm": 700, "time": "2026-06-10T07:00:00Z"}]}', "row 1, station")):
        with pytest.raises(GaugeFileError, match=said):
            parse_gauge_file(data, "Europe/Budapest")


def test_the_trend_and_the_chart():
    from watch.gauges import chart_svg, trend_24h

    t0 = dt.datetime(2026, 6, 10, tzinfo=UTC)
    points = [(t0 + dt.timedelta(hours=h), 600 + 5 * h) for h in range(0, 31, 6)]
    assert trend_24h(points, t0) == 5 * 30 - 5 * 6  # the newest less the reading 24 hours before it
    assert trend_24h(points[:1], t0) is None
    svg = chart_svg(points, (620, 700, 800), t0 - dt.timedelta(days=6), t0 + dt.timedelta(days=1, hours=7),
                    "Europe/Budapest", "<script>alert(1)</script>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count("gauge-level ") == 3 and 'data-level="700"' in svg and "<polyline" in svg


def test_the_queue_task_polls_when_due_and_not_before(app_factory, feeds):
    feeds.set("/meteoalarm", Answer(atom_feed()))
    app = app_factory(RIADO_METEOALARM_URL=feeds.url("/meteoalarm"), RIADO_WATCH_MINUTES=10)
    task = app.extensions["watch_tasks"]
    task.call_local()
    assert len(feeds.seen) == 1
    task.call_local()  # a minute later (here: at once): the last round is not 10 minutes old
    assert len(feeds.seen) == 1
    from watch.tasks import due

    with app.app_context():
        from incident.database import utcnow

        assert not due(utcnow(), 10) and due(utcnow() + dt.timedelta(minutes=10), 10)


def test_a_round_is_due_by_the_configured_feeds_only(app_factory, feeds):
    from incident.database import utcnow
    from incident.extensions import db
    from watch import operations as ops
    from watch.tasks import due

    feeds.set("/meteoalarm", Answer(atom_feed()))
    app = app_factory(RIADO_METEOALARM_URL=feeds.url("/meteoalarm"), RIADO_GAUGE_URL=None, RIADO_WATCH_MINUTES=10)
    with app.app_context():
        # A gauge file read three days ago, no longer configured: it makes no round due.
        ops.record_read("gauges", "http://127.0.0.1:9/gauges.csv", None, None, utcnow() - dt.timedelta(days=3))
        db.session.commit()
        assert due(utcnow(), 10)  # MeteoAlarm's feed has never been read
    task = app.extensions["watch_tasks"]
    task.call_local()
    assert len(feeds.seen) == 1
    with app.app_context():
        assert not due(utcnow(), 10)
    task.call_local()
    assert len(feeds.seen) == 1  # not every minute
    nothing = app_factory(RIADO_METEOALARM_URL=None, RIADO_GAUGE_URL=None)
    with nothing.app_context():
        assert not due(utcnow(), 10)  # no feed configured: no round
