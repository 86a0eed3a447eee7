"""Public information and the press desk (SPEC §5), in the alert wing: public notices approved by
a second person, the public page, each notice as CAP 1.2 and the Atom feed of them (built on the
wing's CAP), the press list by e-mail (an alert on the e-mail channel) and the media log."""

from __future__ import annotations


def init_app(app):
    """Models, API, pages and the public blueprint; the navigation entry, the incident page's
    links and the dashboard panel."""
    from flask_babel import lazy_gettext as _l

    from incident.web.hooks import register_navigation, register_panel, register_record_action

    from . import api, models, public, views  # noqa: F401

    app.extensions["riado_api"].register_blueprint(api.blp)
    app.extensions["riado_api"].register_blueprint(api.media_blp)
    app.register_blueprint(views.bp)
    app.register_blueprint(public.bp)
    register_navigation(app, "notices.index", _l("Public notices"), "notices.", order=55)
    register_record_action(app, "incident", "notices.new", _l("Public notice"), testid="notice-link", order=30,
                           role="press")
    register_record_action(app, "incident", "notices.media", _l("Media contact"), testid="media-link", order=35,
                           role="press")
    register_panel(app, "alerts/notices/_dashboard_panel.html", views.dashboard_panel)
