"""Riadó's alert wing: SMS composition, fan-out through the queue, gateways, delivery tracking,
acknowledgements, escalation and CAP (built on the core)."""

from __future__ import annotations


def init_app(app):
    """Models, queue tasks, API, webhooks and pages of the wing."""
    from . import after_action_views, api, models, tasks, views, webhooks  # noqa: F401

    app.extensions["alert_tasks"] = tasks.register(app, app.extensions["huey"])
    app.extensions["riado_api"].register_blueprint(api.blp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(after_action_views.bp)
    from incident.views.shell import register_panel

    register_panel(app, "alerts/_dashboard_panel.html", views.dashboard_panel)
    from . import wall

    app.extensions.setdefault("riado_wall_counts", []).append(wall.wall_counts)
