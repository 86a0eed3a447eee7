"""Alembic environment for Riadó: one migration history for SpatiaLite and PostGIS."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from geoalchemy2 import alembic_helpers

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def include_object(obj, name, obj_type, reflected, compare_to):
    """Compare only what Riadó owns: never touch the spatial extensions' own tables."""
    if obj_type == "table" and reflected and compare_to is None:
        return False
    return alembic_helpers.include_object(obj, name, obj_type, reflected, compare_to)


def render_item(obj_type, obj, autogen_context):
    """Render Riadó's column types as the plain SQLAlchemy types they store as."""
    from incident.database import UTCDateTime

    if obj_type == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return alembic_helpers.render_item(obj_type, obj, autogen_context)


def run_migrations_offline():
    """Emit SQL without connecting (``riado db upgrade --sql``)."""
    context.configure(
        url=target_db.engine.url.render_as_string(hide_password=False),
        target_metadata=target_db.metadata,
        literal_binds=True,
        include_object=include_object,
        render_item=render_item,
        process_revision_directives=alembic_helpers.writer,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations on a connection of the application's engine (SpatiaLite loaded)."""

    def process_revision_directives(ctx, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")
            return
        alembic_helpers.writer(ctx, revision, directives)

    with target_db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a table's constraints by copying it (batch mode) and dropping the old
            # one, which fails while other tables' rows refer to it (replies to deliveries…), and
            # a deferred check would not see the copy take its place. So, as SQLite's own
            # procedure for schema changes says: foreign keys off (outside a transaction), the
            # changes, then PRAGMA foreign_key_check, and on again.
            raw = connection.connection.dbapi_connection
            raw.execute("PRAGMA foreign_keys = OFF")
        context.configure(
            connection=connection,
            target_metadata=target_db.metadata,
            include_object=include_object,
            render_item=render_item,
            process_revision_directives=process_revision_directives,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migration left rows that refer to nothing: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys = ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
