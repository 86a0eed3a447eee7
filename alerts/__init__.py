"""Riadó's alert wing: SMS composition, fan-out through the queue, gateways, delivery tracking,
acknowledgements, escalation and CAP (built on the core)."""

from __future__ import annotations


def init_app(app):
    """Models, queue tasks, API, webhooks and pages of the wing."""
    from . import ack, after_action_views, api, models, tasks, views, webhooks  # noqa: F401

    app.extensions["alert_tasks"] = tasks.register(app, app.extensions["huey"])
    app.extensions["riado_api"].register_blueprint(api.blp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(ack.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(after_action_views.bp)
    from flask_babel import lazy_gettext as _l

    from incident.demo import register_steps
    from incident.web.hooks import (
        register_health_check,
        register_navigation,
        register_panel,
        register_record_action,
        register_wall_counter,
    )

    from incident.metrics import register_metrics

    from . import demo, metrics, operations, wall

    register_navigation(app, "alerts.index", _l("Alerts"), "alerts.", order=50)
    register_record_action(app, "incident", "alerts.new", _l("Send SMS alert"), writes=True,
                           testid="alert-link", order=10)
    register_record_action(app, "incident", "after_action.report", _l("After-action report"),
                           testid="after-action-link", order=20)
    register_panel(app, "alerts/_dashboard_panel.html", views.dashboard_panel)
    register_wall_counter(app, wall.wall_counts)
    register_health_check(app, "backlog", operations.backlog_health)
    register_metrics(app, metrics.state)
    register_steps(app, "flood", demo.steps())

    from . import notices

    notices.init_app(app)
