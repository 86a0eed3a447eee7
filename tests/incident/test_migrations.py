"""`riado db upgrade` builds the schema on an empty database of each kind, and the history
runs down to base and up again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from incident.database import configure_engine, engine_options

RIADO = str(Path(sys.executable).with_name("riado"))
OUR_TABLES = {"users", "api_tokens", "audit_log", "municipality"}


def _riado(*args, env_extra=None, input=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([RIADO, *args], env=env, capture_output=True, text=True, input=input, timeout=120)


def _tables(url):
    engine = create_engine(url, **engine_options(url))
    configure_engine(engine)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _spatial_index_is_registered(url) -> bool:
    engine = create_engine(url, **engine_options(url))
    configure_engine(engine)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                return conn.execute(
                    text("SELECT spatial_index_enabled FROM geometry_columns WHERE f_table_name='municipality'")
                ).scalar_one() == 1
            return conn.execute(
                text("SELECT count(*) FROM pg_indexes WHERE tablename='municipality' AND indexdef LIKE '%gist%'")
            ).scalar_one() == 1
    finally:
        engine.dispose()


@pytest.mark.slow
def test_upgrade_downgrade_upgrade_on_an_empty_database(new_database, tmp_path):
    url = new_database("migrate")
    env = {"DATABASE_URL": url, "RIADO_INSTANCE_PATH": str(tmp_path)}
    up = _riado("db", "upgrade", env_extra=env)
    assert up.returncode == 0, up.stderr
    assert OUR_TABLES <= _tables(url)
    assert _spatial_index_is_registered(url)

    down = _riado("db", "downgrade", "base", env_extra=env)
    assert down.returncode == 0, down.stderr
    assert not (OUR_TABLES & _tables(url))

    again = _riado("db", "upgrade", env_extra=env)
    assert again.returncode == 0, again.stderr
    assert OUR_TABLES <= _tables(url)
    assert _spatial_index_is_registered(url)
    current = _riado("db", "current", env_extra=env)
    assert "(head)" in current.stdout


def test_models_and_migrations_agree(app):
    """Nothing in the models is missing from the migrations (alembic's autogenerate finds no change)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from incident.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_object": _include_object,
                "compare_type": False,
            },
        )
        diff = [d for d in compare_metadata(context, db.metadata) if not _spatial_noise(d)]
    assert diff == []


def _include_object(obj, name, obj_type, reflected, compare_to):
    if obj_type == "table" and reflected and compare_to is None:
        return False
    from geoalchemy2 import alembic_helpers

    return alembic_helpers.include_object(obj, name, obj_type, reflected, compare_to)


# Made by the migration itself on PostGIS only (an index on the expression location::geography).
EXPRESSION_INDEXES = {"ix_resources_location_geog"}


def _spatial_noise(diff) -> bool:
    # Spatial indexes are made by the extensions' own functions and reflect differently.
    name = getattr(diff[1], "name", "") or ""
    return diff[0] in ("add_index", "remove_index") and (name.startswith("idx_") or name in EXPRESSION_INDEXES)


@pytest.mark.slow
def test_the_viewers_search_text_is_filled_in_for_existing_contacts(new_database, tmp_path):
    url = new_database("backfill")
    env = {"DATABASE_URL": url, "RIADO_INSTANCE_PATH": str(tmp_path)}
    before = _riado("db", "upgrade", "5a1c0e7d9b21", env_extra=env)
    assert before.returncode == 0, before.stderr
    engine = create_engine(url, **engine_options(url))
    configure_engine(engine)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO contacts (name, phone, email, organization, role, sms_opt_in, notes, search, created_at,"
                " updated_at, version) VALUES ('Kovács Júlia', '+36301234567', 'titkos@belvaros.example',"
                " 'Önkormányzat', 'Jegyző', true, '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"))
        up = _riado("db", "upgrade", env_extra=env)
        assert up.returncode == 0, up.stderr
        with engine.connect() as conn:
            assert conn.execute(text("SELECT search_public FROM contacts")).scalar_one() == "kovacs julia onkormanyzat jegyzo"
    finally:
        engine.dispose()


@pytest.mark.slow
def test_the_names_sort_keys_are_filled_in_for_existing_records(new_database, tmp_path):
    """Contacts, groups and resources written before the stored sort keys keep their Hungarian
    order after the upgrade ("Dr. Szabó" under S, "Sárközi" before "Szabó", "Cukor" before
    "Csonka"), and new ones fall into place among them."""
    from incident.collation import sort_key

    url = new_database("sortkeys")
    env = {"DATABASE_URL": url, "RIADO_INSTANCE_PATH": str(tmp_path)}
    before = _riado("db", "upgrade", "b61f0c2d7a35", env_extra=env)
    assert before.returncode == 0, before.stderr
    names = ["Dr. Szabó Katalin", "Csonka Anna", "Sárközi Tamás", "Cukor Béla"]
    engine = create_engine(url, **engine_options(url))
    configure_engine(engine)
    try:
        with engine.begin() as conn:
            for i, name in enumerate(names):
                conn.execute(text(
                    "INSERT INTO contacts (name, phone, email, organization, role, sms_opt_in, notes, search,"
                    " search_public, created_at, updated_at, version) VALUES (:name, :phone, '', '', '', true, '', '',"
                    " '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"), {"name": name, "phone": f"+3630123456{i}"})
                conn.execute(text("INSERT INTO alert_groups (name, description, created_at)"
                                  " VALUES (:name, '', CURRENT_TIMESTAMP)"), {"name": name})
        up = _riado("db", "upgrade", env_extra=env)
        assert up.returncode == 0, up.stderr
        in_order = ["Cukor Béla", "Csonka Anna", "Sárközi Tamás", "Dr. Szabó Katalin"]
        with engine.connect() as conn:
            for table in ("contacts", "alert_groups"):
                rows = conn.execute(text(f"SELECT name, name_key FROM {table} ORDER BY name_key")).all()
                assert [name for name, _ in rows] == in_order
                assert all(key == sort_key(name) for name, key in rows)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_acknowledgements_stored_before_replies_were_kept_become_replies(new_database, tmp_path):
    """An alert acknowledged before the replies table existed lists its acknowledgements as
    replies (not "Acknowledged: 2" above "No reply yet"), a simulated one marked as such and kept
    with the outbox message it was typed on."""
    from incident import create_app
    from incident.extensions import db

    from conftest import csrf_from
    from factories import create_user

    url = new_database("replies")
    env = {"DATABASE_URL": url, "RIADO_INSTANCE_PATH": str(tmp_path)}
    before = _riado("db", "upgrade", "b7e1d2c3a4f5", env_extra=env)
    assert before.returncode == 0, before.stderr
    engine = create_engine(url, **engine_options(url))
    configure_engine(engine)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO alerts (id, body, written_body, transliterate, encoding, segments, drill, require_ack, status,"
                " recipients, excluded, request, request_hash, gateway, created_by, created_at)"
                " VALUES (1, 'HVB 9-kor', 'HVB 9-kor', false, 'GSM-7', 1, false, true, 'done', 3, 0, '{}', '', 'console',"
                " '', CURRENT_TIMESTAMP)"))
            for id_, name, phone, ack_text in ((1, 'Kovács Júlia', '+36205550301', "'Igen, megyek'"),
                                               (2, 'Nagy Péter', '+36205550302', "'IGEN'"),
                                               (3, 'Szabó Ödön', '+36205550303', "NULL")):
                acknowledged_at = "NULL" if ack_text == "NULL" else "CURRENT_TIMESTAMP"
                conn.execute(text(
                    "INSERT INTO deliveries (id, alert_id, kind, name, phone, body, status, attempts, next_attempt_at,"
                    " acknowledged_at, ack_text, updated_at) VALUES"
                    f" ({id_}, 1, 'alert', '{name}', '{phone}', 'HVB 9-kor', 'delivered', 1, CURRENT_TIMESTAMP,"
                    f" {acknowledged_at}, {ack_text}, CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO sms_outbox (id, sid, \"to\", body, delivery_id, created_at)"
                              " VALUES (1, 'console-1', '+36205550302', 'HVB 9-kor', 2, CURRENT_TIMESTAMP)"))
            # Péter's IGEN was typed by an officer on the outbox: the audit trail kept it.
            conn.execute(text(
                "INSERT INTO audit_log (at, actor, action, entity, record_id, changes) VALUES (CURRENT_TIMESTAMP,"
                " 'referens@varos.example', 'simulate', 'sms_outbox', '1', '{\"to\": [null, \"+36205550302\"],"
                " \"delivery_id\": [null, 2], \"text\": [null, \"IGEN\"], \"outcome\": [null, \"ack\"], \"alert_id\": [null, 1]}')"))
        up = _riado("db", "upgrade", env_extra=env)
        assert up.returncode == 0, up.stderr
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT delivery_id, name, text, action, simulated, outbox_message_id"
                                     " FROM alert_replies ORDER BY delivery_id")).all()
        assert [(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows] == [
            (1, "Kovács Júlia", "Igen, megyek", "ack", False, None), (2, "Nagy Péter", "IGEN", "ack", True, 1)]
    finally:
        engine.dispose()

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    try:
        user = create_user(app, "officer")
        client = app.test_client()
        login = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"email": user["email"], "password": user["password"], "csrf_token": csrf_from(login)})
        page = client.get("/alerts/1").get_data(as_text=True)
        assert page.count('data-testid="reply"') == 2 and '<p class="empty" data-no-replies hidden>' in page
        assert "Igen, megyek" in page and "(szimulált)" in page
        outbox = client.get("/alerts/outbox").get_data(as_text=True)
        assert 'data-outcome="ack"' in outbox and 'href="/alerts/1" data-testid="reply-alert"' in outbox
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
