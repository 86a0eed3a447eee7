"""``riado watch --once``: one round of the hazard watch in this process, then exit."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("watch")
@click.option("--once", is_flag=True, required=True, help="poll every feed now, save, and exit")
@with_appcontext
def watch_command(once: bool) -> None:
    """Poll the hazard watch's feeds (weather warnings, the gauge file) now and save what they say."""
    from incident.audit import set_actor

    from .poll import poll

    set_actor(None, "hazard watch")
    results = poll()
    if not results:
        click.echo("Hazard watch: no feed is configured.", err=True)
    failed = False
    for name, result in results.items():
        click.echo(f"{name}: {result}", err=True)
        failed = failed or (isinstance(result, str) and result.startswith("error"))
    if failed:
        raise SystemExit(1)
