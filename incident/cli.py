"""The ``riado`` command (a Flask CLI group): run, serve, users, tokens, demo data, the evacuees' purge,
worker."""

from __future__ import annotations

import logging
import os
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext

from .config import ConfigurationError, env_flag


def _create_app():
    from . import create_app

    return create_app()


cli = FlaskGroup(
    name="riado",
    create_app=_create_app,
    add_default_commands=False,
    load_dotenv=False,
    help="Riadó: civil-protection incident coordination.",
)
cli.add_command(shell_command)
cli.add_command(routes_command)


# Files the riado process creates (the SQLite database and its -wal/-shm, the queue file, the
# generated secrets, backups) are readable by its own account only.
UMASK = 0o077


def main() -> None:
    """Console entry point: configuration problems end in one sentence, not a traceback."""
    os.umask(UMASK)
    try:
        from .config import instance_path
        from .metrics_setup import prepare_multiprocess

        prepare_multiprocess(instance_path())
        cli.main(prog_name="riado")
    except ConfigurationError as exc:
        click.echo(f"riado: {exc}", err=True)
        sys.exit(2)


def schema_is_current() -> bool:
    """Whether the database has every migration applied."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from .extensions import db

    config = current_app.extensions["migrate"].migrate.get_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == heads


def _require_current_schema() -> None:
    if not schema_is_current():
        raise ConfigurationError("The database schema is not up to date: run `riado db upgrade` first.")


def _cli_actor(label: str = "cli") -> None:
    from .audit import set_actor

    set_actor(None, label)


@cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def run_command(host: str, port: int) -> None:
    """Development server, with the embedded queue consumer."""
    _require_current_schema()
    app = current_app._get_current_object()
    from .logs import configure

    configure(app)
    if env_flag("RIADO_EMBEDDED_WORKER", default=True):
        from .queue import start_embedded_consumer

        start_embedded_consumer(app.extensions["huey"])
    click.echo(f"Riadó serves on http://{host}:{port}")
    # Flask's app.run() refuses to run under its own CLI; werkzeug serves the same way.
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="web processes")
@click.option("--threads", default=8, show_default=True, type=int, help="threads per process")
@with_appcontext
def serve_command(host: str, port: int, workers: int, threads: int) -> None:
    """Production server (gunicorn)."""
    _require_current_schema()
    from .server import serve

    serve(host, port, workers, threads, json_logs=current_app.config["RIADO_LOG_FORMAT"] == "json")


@cli.group("user")
def user_group() -> None:
    """Manage users."""


@user_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "officer", "press", "viewer"]), required=True)
@click.option("--name", default="")
@click.option("--position", default="")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@with_appcontext
def user_create(email: str, role: str, name: str, position: str, password_stdin: bool) -> None:
    """Create a user; the password comes from --password-stdin or a prompt."""
    from .errors import ConflictError
    from .extensions import db
    from .operations.users import UserError, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _cli_actor()
    try:
        user = create_user(email, password, role, name, position)
    except (UserError, ConflictError) as exc:
        db.session.rollback()
        raise click.BadParameter(exc.message, param_hint=exc.field) from None
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role}).", err=True)


@cli.group("token")
def token_group() -> None:
    """Manage API tokens."""


@token_group.command("create")
@click.argument("email")
@click.option("--name", default="cli", help="a label to recognise the token by")
@click.option("--days", type=click.IntRange(1, 3650), default=None,  # operations.sessions.MAX_TOKEN_DAYS
              help="the token expires after N days (default: when revoked)")
@with_appcontext
def token_create(email: str, name: str, days: int | None) -> None:
    """Print a new API token for EMAIL on stdout (and nothing else)."""
    from .extensions import db
    from .operations.sessions import issue_token
    from .operations.users import find_user

    user = find_user(email)
    if user is None or not user.is_active:
        raise click.BadParameter("no active user with this email", param_hint="EMAIL")
    _cli_actor()
    token = issue_token(user, name, days)
    db.session.commit()
    click.echo(token)


@token_group.command("revoke")
@click.argument("email")
@with_appcontext
def token_revoke(email: str) -> None:
    """Revoke every API token of EMAIL (says how many on stderr)."""
    from .extensions import db
    from .operations.sessions import revoke_tokens
    from .operations.users import find_user

    user = find_user(email)
    if user is None:
        raise click.BadParameter("no user with this email", param_hint="EMAIL")
    _cli_actor()
    revoked = revoke_tokens(user)
    db.session.commit()
    click.echo(f"Revoked {revoked} token{'' if revoked == 1 else 's'} of {user.email}.", err=True)


@cli.group("demo")
def demo_group() -> None:
    """The demo district."""


@demo_group.command("load")
@with_appcontext
def demo_load() -> None:
    """Load the demo district, Budapest V. kerület (idempotent); print the demo login (and, on
    stderr, what was added)."""
    from .demo import load_demo

    _require_current_schema()
    _cli_actor("demo")
    load = load_demo()
    click.echo(f"Demo login: {load.login.email} / {load.login.password}")
    added = ", ".join(f"{what} {n}" for what, n in load.added.items() if n)
    click.echo(f"Demo district: added {added}." if added else "Demo district: all there already, nothing added.", err=True)


@demo_group.command("login")
@with_appcontext
def demo_login() -> None:
    """Print the demo login (after ``riado demo load``)."""
    from .demo import demo_credentials

    login = demo_credentials()
    click.echo(f"Demo login: {login.email} / {login.password}")


@cli.group("evacuees")
def evacuees_group() -> None:
    """The reception register."""


@evacuees_group.command("purge")
@click.option("--closed-days", "closed_days", required=True, type=click.IntRange(0, None),
              help="erase the personal data of evacuees of incidents closed at least N days ago")
@with_appcontext
def evacuees_purge(closed_days: int) -> None:
    """Erase the names and details (name, birth year, phone, household, notes, destination) of the
    evacuees of incidents closed at least N days ago; the records and every headcount stay.
    Asks nothing; says how many records it erased."""
    from .extensions import db
    from .operations.evacuees import purge

    _require_current_schema()
    _cli_actor()
    erased = purge(closed_days)
    db.session.commit()
    if erased and db.engine.dialect.name == "sqlite":
        # The old pages in the write-ahead log go too (secure_delete zeroes the database's own).
        db.session.remove()
        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except Exception as exc:  # noqa: BLE001 - the next checkpoint (SQLite's own) takes them
            click.echo(f"(The write-ahead log keeps old pages until SQLite's next checkpoint: {exc}.)", err=True)
        finally:
            raw.close()
    click.echo(f"Erased the personal data of {erased} evacuee record{'' if erased == 1 else 's'}.")


@cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=__import__("pathlib").Path))
@with_appcontext
def backup_command(path) -> None:
    """Write a consistent snapshot of the database to PATH (SQLite copy or pg_dump archive)."""
    from .backup import backup

    written = backup(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
    click.echo(f"Backup written to {written} ({written.stat().st_size:,} bytes).", err=True)


@cli.command("worker")
@click.option("--workers", default=4, show_default=True, type=int,
              help="threads for the queue (the SMS drains have RIADO_SMS_CONCURRENCY of their own)")
@with_appcontext
def worker_command(workers: int) -> None:
    """Run the task-queue consumer as its own process: ``--workers`` threads for the queue, and each
    lane's own (the SMS drains: RIADO_SMS_CONCURRENCY threads)."""
    from .queue import create_consumer, lane_threads

    _require_current_schema()
    from .logs import configure

    configure(current_app)
    huey = current_app.extensions["huey"]
    consumer = create_consumer(huey, workers)
    started = (f"Riadó worker: {workers} threads on the {'Redis' if current_app.config['REDIS_URL'] else 'SQLite'} "
               f"queue{lane_threads(huey)}")
    if current_app.config["RIADO_LOG_FORMAT"] == "json":
        logging.getLogger("riado.worker").info(started)
    else:
        click.echo(started)
    consumer.run()

