"""The task queue (Huey): a SQLite file under instance/ by default, Redis with REDIS_URL.

Besides the queue every task goes to, a wing may open a *lane* (``add_lane``): a queue of its own
on the same storage, with worker threads of its own in every consumer (``riado worker``, or the
consumer embedded in ``riado run``), so that its tasks never wait behind others, nor the others
behind them, and the number of its threads is a setting of the wing (the alert wing's SMS drains:
``RIADO_SMS_CONCURRENCY``). A lane's tasks stay in the queue's storage until one of its threads
takes them, as every task does."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
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
# The time (Unix seconds) a consumer last showed it was alive, kept in the queue's storage, where
# every web process can read it (/healthz). Each consumer writes it every HEARTBEAT_SECONDS.
HEARTBEAT = "riado.worker-heartbeat"
HEARTBEAT_SECONDS = 5.0


class Activity:
    """How many tasks the consumers of this process have taken from a queue (and its lanes) and
    how many they have finished: a task is counted from just before it is taken, so that it is
    always either in the queue or counted (see ``idle``)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.started = 0
        self.finished = 0

    def begin(self) -> None:
        with self._lock:
            self.started += 1

    def end(self) -> None:
        with self._lock:
            self.finished += 1

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.started, self.finished


class _Counted:
    """Huey's dequeue and execute, counted in ``activity`` (shared by a queue and its lanes)."""

    activity: Activity

    def dequeue(self):
        self.activity.begin()
        try:
            task = super().dequeue()
        except BaseException:
            self.activity.end()
            raise
        if task is None:
            self.activity.end()
        return task

    def execute(self, task, timestamp=None):
        try:
            return super().execute(task, timestamp)
        finally:
            self.activity.end()

    def flush(self):
        """Empty the queue and its lanes."""
        super().flush()
        for lane in lanes(self):
            lane.huey.flush()


class RiadoSqliteHuey(_Counted, SqliteHuey):
    pass


class RiadoRedisHuey(_Counted, RedisHuey):
    pass


class Lane:
    """A queue of its own on the queue's storage, and how many threads each consumer gives it."""

    def __init__(self, name: str, huey: Huey, workers: int):
        self.name, self.huey, self.workers = name, huey, workers


def make_huey(app: Flask) -> Huey:
    """The Huey instance for this configuration."""
    if app.config.get("REDIS_URL"):
        huey = RiadoRedisHuey("riado", url=app.config["REDIS_URL"], utc=True)
    else:
        from .database import make_private, sqlite_files

        path = Path(app.config["INSTANCE_PATH"]) / "queue.db"
        huey = RiadoSqliteHuey("riado", filename=str(path), utc=True, timeout=15)  # creates the file
        make_private(*sqlite_files(str(path)))
    huey.activity = Activity()
    huey.__dict__["riado_lanes"] = []
    return huey


def add_lane(huey: Huey, name: str, workers: int) -> Huey:
    """A lane named ``name`` beside ``huey``'s queue, run by ``workers`` threads of every consumer
    of ``huey``; define its tasks on the Huey instance returned."""
    lane = type(huey)(f"{huey.name}.{name}", utc=True, **huey.storage_kwargs)
    lane.activity = huey.activity
    lane.__dict__["riado_lanes"] = []
    huey.__dict__.setdefault("riado_lanes", []).append(Lane(name, lane, workers))
    return lane


def lanes(huey: Huey) -> list[Lane]:
    return list(huey.__dict__.get("riado_lanes", ()))


def idle(huey: Huey) -> bool:
    """Whether nothing is queued in ``huey`` or its lanes and no consumer of this process is taking
    or running one of their tasks (scheduled tasks, not yet due, are not counted)."""
    before = huey.activity.snapshot()
    if any(queue.pending_count() for queue in [huey, *(lane.huey for lane in lanes(huey))]):
        return False
    after = huey.activity.snapshot()
    return before == after and after[0] == after[1]


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


def last_heartbeat(huey: Huey) -> float | None:
    """When a consumer last said it was alive (Unix seconds), or None when none ever did (or
    Redis came back empty). Raises QUEUE_UNAVAILABLE when the storage cannot be reached."""
    from huey.constants import EmptyData

    value = huey.storage.peek_data(HEARTBEAT)
    if value is EmptyData:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def on_queue_lost(huey: Huey, hook) -> None:
    """Run ``hook()`` in a consumer as soon as the queue is found to have lost its tasks (Redis
    back empty): the work it stood for must be enqueued again from the database."""
    huey.__dict__.setdefault("riado_queue_lost_hooks", []).append(hook)


class _Scheduler(Scheduler):
    """Huey's scheduler (each second: enqueue what has come due), which also keeps QUEUE_MARK in
    Redis. The consumer that finds it missing and sets it again runs the ``on_queue_lost`` hooks
    at once, so that work whose tasks Redis lost goes on within a second or two of Redis being
    back, not at the next periodic sweep (up to a minute later). It also enqueues the lanes'
    scheduled tasks as they come due."""

    _next_beat = 0.0

    def loop(self, now=None):
        self._check_queue_mark()
        self._beat()
        self._enqueue_due_in_lanes(now)
        super().loop(now)

    def _beat(self) -> None:
        """Every HEARTBEAT_SECONDS: this consumer is alive (its scheduler runs; a dead worker
        thread is replaced by ``check_worker_health``)."""
        if time.monotonic() < self._next_beat:
            return
        try:
            self.huey.storage.put_data(HEARTBEAT, repr(time.time()).encode())
        except QUEUE_UNAVAILABLE:
            return  # the queue is down: /healthz says so; try again at the next loop
        self._next_beat = time.monotonic() + HEARTBEAT_SECONDS

    def _enqueue_due_in_lanes(self, now) -> None:
        """What has come due in the lanes' schedules goes to their queues."""
        for lane in lanes(self.huey):
            try:
                due = lane.huey.read_schedule(now)
            except Exception:
                self._logger.exception("Error reading the schedule of the %s lane.", lane.name)
                continue
            for task in due:
                try:
                    lane.huey.enqueue(task)
                except Exception:
                    self._logger.exception("Error enqueueing %s.", task)

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
        self._next_beat = 0.0  # the heartbeat went with the rest: say so again at once
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
    """Huey's consumer, with the threads of each lane beside its own workers."""

    scheduler_class = _Scheduler

    def __init__(self, huey, **options):
        super().__init__(huey, **options)
        for lane in lanes(huey):
            for i in range(lane.workers):
                worker = self._create_worker(lane.huey)
                self.worker_threads.append((worker, self._create_process(worker, f"{lane.name}-{i + 1}")))

    def _create_worker(self, huey=None):
        return self.worker_class(huey=huey or self.huey, stop_flag=self.stop_flag, default_delay=self.default_delay,
                                 max_delay=self.max_delay, backoff=self.backoff, max_tasks=self.max_tasks)

    def check_worker_health(self):
        """Huey's own check, except that a dead lane thread is replaced by a thread of its lane."""
        replaced = []
        for i, (worker, thread) in enumerate(self.worker_threads):
            if not self.environment.is_alive(thread):
                self._logger.warning("Worker %d died, restarting.", i + 1)
                worker = self._create_worker(worker.huey)
                thread = self._create_process(worker, thread.name)
                thread.start()
            replaced.append((worker, thread))
        self.worker_threads = replaced
        if not self.environment.is_alive(self.scheduler):
            self._logger.warning("Scheduler died, restarting.")
            self.scheduler = self._create_process(self._create_scheduler(), "Scheduler")
            self.scheduler.start()
        return True


def lane_threads(huey: Huey) -> str:
    """The lanes' threads, for a start-up message (", and 4 for sms")."""
    return "".join(f", and {lane.workers} for {lane.name}" for lane in lanes(huey))


def create_consumer(huey: Huey, workers: int = 4):
    """A consumer of ``workers`` threads for the queue, plus each lane's own threads."""
    # A short max_delay: an idle queue is polled at least every second, so a
    # call-out waits for the next poll by one second at most.
    return _Consumer(huey, workers=workers, worker_type="thread", periodic=True, check_worker_health=True,
                     max_delay=1.0)


def start_embedded_consumer(huey: Huey, workers: int = 2) -> threading.Thread:
    """Run consumers inside the web process (``riado run``), without signal handlers: ``workers``
    threads for the queue, and each lane's own."""
    consumer = create_consumer(huey, workers)
    # Signal handlers can only be installed from the main thread; the web
    # server owns the signals here.
    consumer._set_signal_handlers = lambda: None
    thread = threading.Thread(target=consumer.run, name="riado-queue", daemon=True)
    thread.start()
    log.info("embedded queue consumer started with %d workers%s", workers, lane_threads(huey))
    return thread
