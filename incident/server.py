"""``riado serve``: gunicorn running ``create_app()`` with threads."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


class RiadoServer(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        """Runs in each web process after the fork, so each gets its own queue consumer when
        RIADO_EMBEDDED_WORKER=1 (otherwise run ``riado worker`` beside it)."""
        from . import create_app
        from .queue import start_embedded_consumer

        from .logs import configure

        app = create_app()
        configure(app)
        if app.config["RIADO_EMBEDDED_WORKER"]:
            start_embedded_consumer(app.extensions["huey"])
        return app


def serve(host: str, port: int, workers: int, threads: int, json_logs: bool = False) -> None:
    """Serve until stopped (SIGTERM or Ctrl-C). With JSON logs, the request lines are Riadó's
    own (incident/logs.py), not gunicorn's access log."""
    from .logs import gunicorn_config

    RiadoServer(
        {
            "logconfig_dict": gunicorn_config(json_logs),
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 60,
            "graceful_timeout": 20,
            "accesslog": None if json_logs else "-",
            "errorlog": "-",
            "forwarded_allow_ips": "127.0.0.1",
        }
    ).run()
