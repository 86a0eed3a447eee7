"""Riadó's hazard watch wing (SPEC §8): MeteoAlarm's weather warnings and the river gauges,
polled by the worker; a threshold crossed or an orange/red warning becomes a proposal an officer
accepts (an incident at the readiness level with its plan, a drafted alert) or dismisses.

- ``watch.cap``, ``watch.gauges``, ``watch.fetch``: the feeds read (pure, and HTTP);
- ``watch.operations``: every query and write; ``watch.poll``: one round of polling;
- ``watch.readiness``: the one place that touches readiness levels and plans;
- ``watch.api``, ``watch.views``, ``watch.tasks``, ``watch.cli``: the ways in.

The core never imports this package: the wing plugs into the navigation, the dashboard (a panel
and banners), the wall map (banners), /healthz and the CLI through ``incident.web.hooks`` and
the app's own registries.
"""


def init_app(app):
    """Settings, models, queue task, API, pages, hooks and the CLI command of the wing."""
    from flask_babel import lazy_gettext as _l

    from incident.web.hooks import (
        register_banner,
        register_health_check,
        register_navigation,
        register_panel,
    )

    from . import api, cli, models, operations, settings, tasks, views  # noqa: F401

    settings.configure(app)
    app.extensions["watch_tasks"] = tasks.register(app, app.extensions["huey"])
    app.extensions["riado_api"].register_blueprint(api.blp)
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.watch_command)
    register_navigation(app, "watch.index", _l("Watch"), "watch.", order=57)
    register_panel(app, "watch/_dashboard_panel.html", views.dashboard_panel)
    register_banner(app, views.banners)
    register_health_check(app, "watch", operations.health)
