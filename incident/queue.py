"""The task queue (Huey): a SQLite file under instance/ by default, Redis with REDIS_URL."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from flask import Flask, current_app
from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer, Scheduler
from huey.storage import RedisStorage
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# A key the consumers keep in Redis: found missing, Redis has lost what it held (restarted
# without persistence, or flushed), the queued and scheduled tasks with it.
QUEUE_MARK = "riado.queue-mark"


def make_huey(app: Flask) -> Huey:
    """The Huey instance for this configuration."""
    if app.config.get("REDIS_URL"):
        return RedisHuey("riado", url=app.config["REDIS_URL"], utc=True)
    from .database import make_private, sqlite_files

    path = Path(app.config["INSTANCE_PATH"]) / "queue.db"
    huey = SqliteHuey("riado", filename=str(path), utc=True, timeout=15)  # creates the file
    make_private(*sqlite_files(str(path)))
    return huey


def init_app(app: Flask) -> None:
    app.extensions["huey"] = make_huey(app)


def get_huey() -> Huey:
    return current_app.extensions["huey"]


# What the queue's storage raises when it cannot be reached: Redis down or restarting (its
# errors, or the socket's), the SQLite queue file locked or unreadable.
QUEUE_UNAVAILABLE = (RedisError, OSError, sqlite3.Error)


def check(huey: Huey) -> None:
    """Raise if the queue's storage cannot be reached."""
    huey.pending_count()


def on_queue_lost(huey: Huey, hook) -> None:
    """Run ``hook()`` in a consumer as soon as the queue is found to have lost its tasks (Redis
    back empty): the work it stood for must be enqueued again from the database."""
    huey.__dict__.setdefault("riado_queue_lost_hooks", []).append(hook)


class _Scheduler(Scheduler):
    """Huey's scheduler (each second: enqueue what has come due), which also keeps QUEUE_MARK in
    Redis. The consumer that finds it missing and sets it again runs the ``on_queue_lost`` hooks
    at once, so that work whose tasks Redis lost goes on within a second or two of Redis being
    back, not at the next periodic sweep (up to a minute later)."""

    def loop(self, now=None):
        self._check_queue_mark()
        super().loop(now)

    def _check_queue_mark(self) -> None:
        storage = self.huey.storage
        if not isinstance(storage, RedisStorage):
            return  # the SQLite queue file does not lose its tasks on its own
        try:
            lost = storage.put_if_empty(QUEUE_MARK, b"1")
        except QUEUE_UNAVAILABLE:
            return  # Redis unreachable: the scheduler logs it itself
        if not lost:
            return
        hooks = self.huey.__dict__.get("riado_queue_lost_hooks", [])
        if hooks:
            log.warning("the queue holds nothing of what it held (Redis restarted empty, or new): "
                        "taking up unfinished work from the database")
        for hook in hooks:
            try:
                hook()
            except Exception:
                log.exception("taking up unfinished work failed; trying again")
                try:
                    storage.pop_data(QUEUE_MARK)
                except QUEUE_UNAVAILABLE:
                    pass
                return


class _Consumer(Consumer):
    scheduler_class = _Scheduler


def create_consumer(huey: Huey, workers: int = 4):
    # A short max_delay: an idle queue is polled at least every second, so a
    # call-out waits for the next poll by one second at most.
    return _Consumer(huey, workers=workers, worker_type="thread", periodic=True, check_worker_health=True,
                     max_delay=1.0)


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
