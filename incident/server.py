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

        app = create_app()
        if app.config["RIADO_EMBEDDED_WORKER"]:
            start_embedded_consumer(app.extensions["huey"])
        return app


def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve until stopped (SIGTERM or Ctrl-C)."""
    RiadoServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 60,
            "graceful_timeout": 20,
            "accesslog": "-",
            "errorlog": "-",
            "forwarded_allow_ips": "127.0.0.1",
        }
    ).run()
