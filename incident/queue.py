"""The task queue (Huey): a SQLite file under instance/ by default, Redis with REDIS_URL."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import Flask, current_app
from huey import RedisHuey, SqliteHuey
from huey.api import Huey

log = logging.getLogger(__name__)


def make_huey(app: Flask) -> Huey:
    """The Huey instance for this configuration."""
    if app.config.get("REDIS_URL"):
        return RedisHuey("riado", url=app.config["REDIS_URL"], utc=True)
    path = Path(app.config["INSTANCE_PATH"]) / "queue.db"
    return SqliteHuey("riado", filename=str(path), utc=True, timeout=15)


def init_app(app: Flask) -> None:
    app.extensions["huey"] = make_huey(app)


def get_huey() -> Huey:
    return current_app.extensions["huey"]


def check(huey: Huey) -> None:
    """Raise if the queue's storage cannot be reached."""
    huey.pending_count()


def create_consumer(huey: Huey, workers: int = 4):
    # A short max_delay: an idle queue is polled at least every second, so a
    # call-out waits for the next poll by one second at most.
    return huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, check_worker_health=True, max_delay=1.0
    )


def start_embedded_consumer(huey: Huey, workers: int = 2) -> threading.Thread:
    """Run consumers inside the web process (``riado run``), without signal handlers."""
    consumer = create_consumer(huey, workers)
    # Signal handlers can only be installed from the main thread; the web
    # server owns the signals here.
    consumer._set_signal_handlers = lambda: None
    thread = threading.Thread(target=consumer.run, name="riado-queue", daemon=True)
    thread.start()
    log.info("embedded queue consumer started with %d workers", workers)
    return thread
