"""A feed server on 127.0.0.1 for the hazard watch's tests: each path answers as the test set it
(a body with an ETag and Last-Modified, an HTTP error, a redirect, a connection cut mid-answer,
an answer held back until the test ends or lets it go, an answer sent a byte at a time, a body of
any size streamed without being held in memory), and conditional GETs are answered 304 when the
validators match. Plus the feeds themselves, built
from the Atom 1.0 (RFC 4287) and CAP 1.2 standards with MeteoAlarm's field names."""

from __future__ import annotations

import contextlib

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

import pytest


@dataclass
class Answer:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/atom+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    cut_after: int | None = None  # send this many bytes of the body, then close (Content-Length says all)
    hold: bool = False  # answer nothing until the server stops (a server that hangs)
    size: int | None = None  # stream this many bytes (a huge answer), without Content-Length if chunked
    chunked: bool = False
    location: str | None = None  # a Location header (with a 3xx status: a redirect)
    gate: threading.Event | None = None  # answer only once the test sets it (a poll held mid-read)
    dribble: float | None = None  # send the answer a byte at a time, this many seconds apart
    dribble_headers: bool = False  # the status line and headers too, not only the body


@dataclass
class Seen:
    path: str
    headers: dict = field(default_factory=dict)


class FeedServer:
    def __init__(self):
        self.answers: dict[str, Answer] = {}
        self.seen: list[Seen] = []
        self.release = threading.Event()
        self.arrived = threading.Condition()
        self.dribbled_whole: list[str] = []  # paths whose answer went out a byte at a time to its end
        self.server = None

    def wait_for_requests(self, n: int, timeout: float = 30) -> bool:
        """Wait until ``n`` requests have arrived (a condition, not a sleep)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.seen) >= n, timeout)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def set(self, path: str, answer: Answer) -> str:
        self.answers[path] = answer
        return self.url(path)

    def start(self) -> FeedServer:
        feeds = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args):
                pass

            def do_GET(self):
                with feeds.arrived:
                    feeds.seen.append(Seen(self.path, dict(self.headers)))
                    feeds.arrived.notify_all()
                answer = feeds.answers.get(self.path)
                if answer is None:
                    return self._send(404, b"not found", "text/plain")
                if answer.hold:
                    feeds.release.wait(30)
                    return
                if answer.gate is not None:
                    answer.gate.wait(30)
                if answer.dribble is not None:
                    return self._dribble(answer)
                if answer.etag and self.headers.get("If-None-Match") == answer.etag or (
                        answer.last_modified and self.headers.get("If-Modified-Since") == answer.last_modified
                        and not self.headers.get("If-None-Match")):
                    self.send_response(304)
                    self.send_header("Content-Length", "0")
                    if answer.etag:
                        self.send_header("ETag", answer.etag)
                    self.end_headers()
                    return
                if answer.size is not None:
                    return self._stream(answer)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                if answer.etag:
                    self.send_header("ETag", answer.etag)
                if answer.last_modified:
                    self.send_header("Last-Modified", answer.last_modified)
                if answer.location:
                    self.send_header("Location", answer.location)
                if answer.cut_after is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                if answer.cut_after is not None:
                    self.wfile.write(answer.body[:answer.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(answer.body)

            def _send(self, status, body, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _dribble(self, answer):
                """The answer a byte at a time (each in time for any per-read timeout), until
                it is all sent or the server stops."""
                head = (f"HTTP/1.1 {answer.status} OK\r\nContent-Type: {answer.content_type}\r\n"
                        f"Content-Length: {len(answer.body)}\r\nConnection: close\r\n\r\n").encode()
                if not answer.dribble_headers:
                    self.wfile.write(head)
                    self.wfile.flush()
                    head = b""
                self.close_connection = True
                data = head + answer.body
                # The client giving up (the pipe broken, the connection reset) is what the test wants.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    for i in range(len(data)):
                        if feeds.release.wait(answer.dribble):
                            return
                        if i == len(data) - 1:  # said before the client can have it all
                            feeds.dribbled_whole.append(self.path)
                        self.wfile.write(data[i:i + 1])
                        self.wfile.flush()

            def _stream(self, answer):
                self.send_response(200)
                self.send_header("Content-Type", answer.content_type)
                if answer.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(answer.size))
                self.send_header("Connection", "close")
                self.end_headers()
                block = b"<!-- " + b"x" * (64 * 1024 - 9) + b" -->"
                left = answer.size
                try:
                    while left > 0:
                        part = block[:min(left, len(block))]
                        if answer.chunked:
                            self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                        else:
                            self.wfile.write(part)
                        left -= len(part)
                    if answer.chunked:
                        self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: what the test wants
                self.close_connection = True

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 1024

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)


@pytest.fixture
def feeds():
    """A feed server on 127.0.0.1 (``feeds.set("/path", Answer(...))`` → its URL)."""
    server = FeedServer().start()
    yield server
    server.stop()


# Feeds, from the standards

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
SENDER = "https://www.met.hu"


def cap_entry(identifier: str, *, event: str = "Szél (Wind)", severity: str = "Severe", area: str = "Budapest",
              emma_id: str = "HU001", onset: str = "2026-06-10T12:00:00+02:00", expires: str = "2026-06-10T22:00:00+02:00",
              sent: str = "2026-06-10T08:00:00+02:00", msg_type: str = "Alert", references: str = "",
              status: str = "Actual", awareness_level: str | None = None, awareness_type: str | None = "1; Wind",
              headline: str | None = None) -> str:
    """One Atom entry carrying a CAP message's fields in the cap: namespace, as MeteoAlarm's
    legacy Atom feed does (``cap:message_type`` beside CAP's own ``msgType``)."""
    parameters = ""
    for name, value in (("awareness_level", awareness_level), ("awareness_type", awareness_type)):
        if value:
            parameters += (f"<cap:parameter><cap:valueName>{name}</cap:valueName>"
                           f"<cap:value>{escape(value)}</cap:value></cap:parameter>")
    refs = f"<cap:references>{escape(references)}</cap:references>" if references else ""
    return f"""
  <entry>
    <id>https://feeds.meteoalarm.org/api/v1/warnings/feeds-hungary/{escape(identifier)}</id>
    <title>{escape(headline or f"{severity} {event} warning for {area}")}</title>
    <updated>{sent}</updated>
    <link href="https://feeds.meteoalarm.org/api/v1/warnings/feeds-hungary/{escape(identifier)}" type="application/cap+xml"/>
    <author><name>{SENDER}</name></author>
    <cap:identifier>{escape(identifier)}</cap:identifier>
    <cap:sender>{SENDER}</cap:sender>
    <cap:sent>{sent}</cap:sent>
    <cap:status>{status}</cap:status>
    <cap:message_type>{msg_type}</cap:message_type>
    <cap:scope>Public</cap:scope>
    {refs}
    <cap:event>{escape(event)}</cap:event>
    <cap:urgency>Future</cap:urgency>
    <cap:severity>{severity}</cap:severity>
    <cap:certainty>Likely</cap:certainty>
    <cap:effective>{sent}</cap:effective>
    <cap:onset>{onset}</cap:onset>
    <cap:expires>{expires}</cap:expires>
    {parameters}
    <cap:areaDesc>{escape(area)}</cap:areaDesc>
    <cap:geocode><cap:valueName>EMMA_ID</cap:valueName><cap:value>{escape(emma_id)}</cap:value></cap:geocode>
  </entry>"""


def atom_feed(*entries: str, updated: str = "2026-06-10T08:00:00+02:00") -> bytes:
    """An Atom 1.0 feed (RFC 4287) of ``entries``."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:cap="{CAP_NS}">
  <id>https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-hungary</id>
  <title>MeteoAlarm Hungary</title>
  <updated>{updated}</updated>
  <author><name>MeteoAlarm</name></author>
  {"".join(entries)}
</feed>
""".encode("utf-8")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE feed [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">
  <title>&lol9;</title>
</feed>
"""
