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
