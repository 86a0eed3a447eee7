"""Reading a feed over HTTP: one deadline for the whole answer (connecting, the headers, every
byte of the body, redirects included), a conditional GET (``If-None-Match`` / ``If-Modified-Since``
from the last answer's ``ETag`` / ``Last-Modified``), a size limit, and redirects followed only
to the feed's own scheme, host and port. Every way it can fail ends in ``FetchError`` with one
sentence saying why.

The deadline is kept by the socket itself: before each receive its timeout is set to the time
left, so a server that sends a byte now and then (each in time for a per-read timeout) cannot
hold a poll past the deadline, however the answer is framed (headers, a Content-Length body,
chunks)."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

USER_AGENT = "Riado-hazard-watch/1 (+https://github.com/riado)"
CHUNK = 64 * 1024
MAX_REDIRECTS = 5
DEFAULT_PORTS = {"http": 80, "https": 443}


class FetchError(Exception):
    """The feed could not be read; the message is one sentence for the officer."""


@dataclass(frozen=True)
class Fetched:
    """A feed's answer: ``body`` None when it is unchanged since the last read (304)."""

    body: bytes | None
    etag: str | None
    last_modified: str | None


class Deadline:
    """The moment by which the whole answer must have arrived."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; none left is a TimeoutError."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete answer within {self.seconds:g} s")
        return left


class _BoundedSocket(socket.socket):
    """A TCP socket whose every receive waits at most until its ``deadline``."""

    deadline: Deadline | None = None

    def recv_into(self, buffer, nbytes=0, flags=0):
        if self.deadline is not None:
            self.settimeout(self.deadline.left())
        return super().recv_into(buffer, nbytes, flags)

    def recv(self, bufsize, flags=0):
        if self.deadline is not None:
            self.settimeout(self.deadline.left())
        return super().recv(bufsize, flags)


class _BoundedTLSSocket(ssl.SSLSocket):
    """The same over TLS (the context's ``sslsocket_class``)."""

    deadline: Deadline | None = None

    def recv_into(self, buffer, nbytes=None, flags=0):
        if self.deadline is not None:
            self.settimeout(self.deadline.left())
        return super().recv_into(buffer, nbytes, flags)

    def recv(self, buflen=1024, flags=0):
        if self.deadline is not None:
            self.settimeout(self.deadline.left())
        return super().recv(buflen, flags)


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()  # certificates and host names checked
    context.sslsocket_class = _BoundedTLSSocket
    return context


class _Connection(http.client.HTTPConnection):
    def __init__(self, *args, deadline: Deadline, **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def connect(self):
        self.timeout = self.deadline.left()
        super().connect()
        plain = self.sock
        self.sock = _BoundedSocket(plain.family, plain.type, plain.proto, fileno=plain.detach())
        self.sock.settimeout(self.timeout)  # sending the request too
        self.sock.deadline = self.deadline


class _TLSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, deadline: Deadline, **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def connect(self):
        self.timeout = self.deadline.left()  # the TLS handshake is one wait, bounded by it
        super().connect()
        self.sock.deadline = self.deadline


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline):
        super().__init__()
        self.deadline = deadline

    def http_open(self, req):
        return self.do_open(_Connection, req, deadline=self.deadline)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: Deadline):
        super().__init__(context=_tls_context())
        self.deadline = deadline

    def https_open(self, req):
        return self.do_open(_TLSConnection, req, context=self._context, deadline=self.deadline)


def origin(url: str) -> tuple[str, str, int | None]:
    """A URL's scheme, host and port (the default port spelt out)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def _origin_text(url: str) -> str:
    """Where a URL points, without its path or query (which could carry a token)."""
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects followed only to the feed's own scheme, host and port (a feed that sends the
    poller elsewhere, to an internal address say, is refused), and only a few of them."""

    max_redirections = MAX_REDIRECTS
    max_repeats = 2

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if origin(newurl) != origin(req.full_url):
            fp.close()
            raise FetchError(f"the server redirected to another host ({_origin_text(newurl)}), which is not "
                             f"followed: set the feed's URL to the address it moved to")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, *, etag: str | None = None, last_modified: str | None = None, timeout: float = 15,
          max_bytes: int = 10 * 1024 * 1024) -> Fetched:
    """GET ``url``; a body longer than ``max_bytes`` (said by Content-Length or found reading) is
    refused, and so is an answer not complete within ``timeout`` seconds, counted from the start
    (a redirect to another host is refused, see ``_SameOriginRedirects``)."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/atom+xml, application/xml, text/csv, "
                                                   "application/json;q=0.9, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = Deadline(timeout)
    opener = urllib.request.build_opener(_HTTPHandler(deadline), _HTTPSHandler(deadline), _SameOriginRedirects())
    request = urllib.request.Request(url, headers=headers)
    try:
        with opener.open(request, timeout=deadline.left()) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FetchError(f"the answer is {_mb(int(length))}, more than the {_mb(max_bytes)} allowed")
            chunks, size = [], 0
            while True:
                deadline.left()
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"the answer is more than the {_mb(max_bytes)} allowed")
                chunks.append(chunk)
            if length and length.isdigit() and size < int(length):
                raise FetchError(f"the answer was cut short ({size} of {int(length)} bytes): it could not be read whole")
            return Fetched(b"".join(chunks), response.headers.get("ETag"), response.headers.get("Last-Modified"))
    except urllib.error.HTTPError as exc:
        with exc:
            if exc.code == 304:
                return Fetched(None, exc.headers.get("ETag") or etag, exc.headers.get("Last-Modified") or last_modified)
            if exc.code in (301, 302, 303, 307, 308):
                raise FetchError(f"the server redirected too many times (HTTP {exc.code})") from None
            raise FetchError(f"the server answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise FetchError(f"no complete answer within {timeout:g} s") from None
        raise FetchError(f"the server cannot be reached ({reason})") from None
    except TimeoutError:
        raise FetchError(f"no complete answer within {timeout:g} s") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # a connection cut mid-answer (IncompleteRead), a bad URL
        raise FetchError(f"the answer could not be read ({type(exc).__name__}: {exc})") from None


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"
