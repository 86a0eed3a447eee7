"""The activity log is the legal record: append-only in the database, hash-chained, verifiable,
and gap-free under concurrent appends."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from sqlalchemy import text

from conftest import http_json
from factories import create_incident

VIGADO = {"type": "Point", "coordinates": [19.0493, 47.4957]}


@pytest.fixture
def incident(app):
    return create_incident(app, title="Gázszivárgás, Váci utca", kind="gas_leak", location=VIGADO)


def test_entry_is_chained_to_the_one_before(client, api, incident):
    headers, user = api("officer")
    url = f"/api/v1/incidents/{incident['id']}/log"
    first_system = client.get(url, headers=headers).get_json()["items"][0]
    entry = client.post(url, json={"text": "A polgármester elrendelte a kiürítést.", "kind": "decision"}, headers=headers)
    assert entry.status_code == 201
    body = entry.get_json()
    assert body["seq"] == 2 and body["kind"] == "decision" and body["author"] == user["email"]
    assert body["prev_hash"] == first_system["hash"]
    assert body["at"].endswith("+00:00")
    # SHA-256 over the previous hash and the entry's canonical content: anyone can recompute it.
    canonical = json.dumps(
        {"incident": incident["id"], "seq": 2, "at": body["at"], "author_id": user["id"], "author": user["email"],
         "kind": "decision", "text": body["text"], "corrects": None},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    ).encode()
    assert body["hash"] == hashlib.sha256(body["prev_hash"].encode() + b"\n" + canonical).hexdigest()
    verify = client.get(f"{url}/verify", headers=headers).get_json()
    assert verify == {"ok": True, "entries": 2, "first_bad_seq": None}


def test_user_entries_cannot_pose_as_the_system(client, officer, incident):
    response = client.post(f"/api/v1/incidents/{incident['id']}/log", json={"text": "x", "kind": "system"}, headers=officer)
    assert response.status_code == 422 and "kind" in response.get_json()["errors"]["json"]
    empty = client.post(f"/api/v1/incidents/{incident['id']}/log", json={"text": "   "}, headers=officer)
    assert empty.status_code == 422 and "text" in empty.get_json()["errors"]["json"]


def test_corrections_point_at_an_earlier_entry(client, officer, incident):
    url = f"/api/v1/incidents/{incident['id']}/log"
    client.post(url, json={"text": "Kiürítés 14:10-kor."}, headers=officer)
    fixed = client.post(url, json={"text": "Helyesen: 14:20-kor.", "corrects": 2}, headers=officer).get_json()
    assert fixed["corrects"] == 2
    bad = client.post(url, json={"text": "?", "corrects": 99}, headers=officer)
    assert bad.status_code == 422 and "corrects" in bad.get_json()["errors"]["json"]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_entries_cannot_be_changed_through_the_api(client, officer, incident, method):
    url = f"/api/v1/incidents/{incident['id']}/log/1"
    assert client.get(url, headers=officer).status_code == 200
    assert client.open(url, method=method, json={"text": "más"}, headers=officer).status_code == 405
    assert client.open(f"/api/v1/incidents/{incident['id']}/log", method=method, headers=officer).status_code == 405


def test_the_database_refuses_update_and_delete(app, incident):
    from incident.extensions import db

    with app.app_context():
        for statement in ("UPDATE log_entries SET text = 'más' WHERE seq = 1", "DELETE FROM log_entries"):
            with pytest.raises(Exception, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.execute(text("SELECT count(*) FROM log_entries")).scalar_one() == 1


@pytest.fixture
def drop_guard(app, backend):
    """Take the database's append-only guard away, as someone with database access could;
    it is put back after the test."""
    from incident.extensions import db

    saved = []

    def drop(conn):
        if backend == "postgis":
            conn.execute(text("ALTER TABLE log_entries DISABLE TRIGGER USER"))
        else:
            saved.extend(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'log_entries'")).all())
            for name, _sql in saved:
                conn.execute(text(f'DROP TRIGGER "{name}"'))

    yield drop
    with app.app_context():
        conn = db.session.connection()
        if backend == "postgis":
            conn.execute(text("ALTER TABLE log_entries ENABLE TRIGGER USER"))
        for _name, sql in saved:
            conn.execute(text(sql))
        db.session.commit()


def test_a_row_changed_behind_the_application_is_named_by_verify(app, client, officer, incident, drop_guard):
    from incident.extensions import db

    url = f"/api/v1/incidents/{incident['id']}/log"
    for i in range(4):
        client.post(url, json={"text": f"bejegyzés {i}"}, headers=officer)
    assert client.get(f"{url}/verify", headers=officer).get_json()["ok"] is True
    with app.app_context():
        drop_guard(db.session.connection())
        db.session.execute(text("UPDATE log_entries SET text = 'átírva' WHERE seq = 3"))
        db.session.commit()
    assert client.get(f"{url}/verify", headers=officer).get_json() == {"ok": False, "entries": 5, "first_bad_seq": 3}


def test_a_removed_last_entry_is_named_by_verify(app, client, officer, incident, drop_guard):
    from incident.extensions import db

    url = f"/api/v1/incidents/{incident['id']}/log"
    for i in range(3):
        client.post(url, json={"text": f"bejegyzés {i}"}, headers=officer)
    with app.app_context():
        drop_guard(db.session.connection())
        db.session.execute(text("DELETE FROM log_entries WHERE seq = 4"))
        db.session.commit()
    assert client.get(f"{url}/verify", headers=officer).get_json() == {"ok": False, "entries": 3, "first_bad_seq": 4}


def test_twenty_concurrent_appends_keep_seq_and_chain(client, officer, incident, live_server):
    url = f"{live_server}/api/v1/incidents/{incident['id']}/log"
    barrier = threading.Barrier(20)
    results = []

    def append(i):
        barrier.wait()
        results.append(http_json("POST", url, {"text": f"párhuzamos {i}"}, officer))

    threads = [threading.Thread(target=append, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(status for status, _ in results) == [201] * 20
    assert sorted(body["seq"] for _, body in results) == list(range(2, 22))
    log = client.get(f"/api/v1/incidents/{incident['id']}/log?limit=100", headers=officer).get_json()["items"]
    assert [e["seq"] for e in log] == list(range(1, 22))
    assert all(log[i]["prev_hash"] == log[i - 1]["hash"] for i in range(1, len(log)))
    assert client.get(f"/api/v1/incidents/{incident['id']}/log/verify", headers=officer).get_json() == {
        "ok": True, "entries": 21, "first_bad_seq": None}


def test_ics214_csv(client, officer, incident):
    client.post(f"/api/v1/incidents/{incident['id']}/log", json={"text": "Riasztás kiküldve; 12 fő értesítve", "kind": "communication"}, headers=officer)
    response = client.get(f"/api/v1/incidents/{incident['id']}/log.csv", headers=officer)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0] == ("incident_number,incident_name,drill,seq,date_time,name,position,email,kind,notable_activity,"
                        "corrects_seq,hash")
    assert '"Riasztás kiküldve; 12 fő értesítve"' in lines[2] or "Riasztás kiküldve; 12 fő értesítve" in lines[2]
    assert "+01:00" in lines[1] or "+02:00" in lines[1]  # local time with its offset


def test_verify_during_appends_never_reports_a_false_break(client, officer, incident, live_server):
    url = f"{live_server}/api/v1/incidents/{incident['id']}/log"
    stop = threading.Event()
    verdicts = []

    def verify_loop():
        while not stop.is_set():
            verdicts.append(http_json("GET", url + "/verify", None, officer)[1])

    checker = threading.Thread(target=verify_loop)
    checker.start()
    writers = [threading.Thread(target=lambda i=i: [http_json("POST", url, {"text": f"{i}/{n}"}, officer) for n in range(8)])
               for i in range(4)]
    for t in writers:
        t.start()
    for t in writers:
        t.join(60)
    stop.set()
    checker.join(30)
    assert verdicts and all(v["ok"] for v in verdicts), [v for v in verdicts if not v["ok"]][:3]
    assert http_json("GET", url + "/verify", None, officer)[1] == {"ok": True, "entries": 33, "first_bad_seq": None}


def test_ics214_csv_never_starts_a_formula(client, api):
    import csv
    import io

    headers, _ = api("officer")
    body = {"title": "-2+3 Gázszivárgás", "kind": "gas_leak", "severity": "severe", "location": VIGADO}
    incident = client.post("/api/v1/incidents", json=body, headers=headers).get_json()
    url = f"/api/v1/incidents/{incident['id']}/log"
    for typed in ('=HYPERLINK("http://x","y")', "@SUM(A1)", "+36 20 123 4567 hívta"):
        client.post(url, json={"text": typed}, headers=headers)
    exported = client.get(url + ".csv", headers=headers).data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(exported, newline="")))
    assert {row["incident_name"] for row in rows} == {"'-2+3 Gázszivárgás"}
    assert [row["notable_activity"] for row in rows[1:]] == ["'=HYPERLINK(\"http://x\",\"y\")", "'@SUM(A1)",
                                                              "'+36 20 123 4567 hívta"]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row.values())
