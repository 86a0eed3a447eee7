"""Reading a feed over HTTP: a timeout on connecting and on the whole answer, a conditional GET
(``If-None-Match`` / ``If-Modified-Since`` from the last answer's ``ETag`` / ``Last-Modified``)
and a size limit. Every way it can fail ends in ``FetchError`` with one sentence saying why."""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

USER_AGENT = "Riado-hazard-watch/1 (+https://github.com/riado)"
CHUNK = 64 * 1024


class FetchError(Exception):
    """The feed could not be read; the message is one sentence for the officer."""


@dataclass(frozen=True)
class Fetched:
    """A feed's answer: ``body`` None when it is unchanged since the last read (304)."""

    body: bytes | None
    etag: str | None
    last_modified: str | None


def fetch(url: str, *, etag: str | None = None, last_modified: str | None = None, timeout: float = 15,
          max_bytes: int = 10 * 1024 * 1024) -> Fetched:
    """GET ``url``; a body longer than ``max_bytes`` (said by Content-Length or found reading) is
    refused, and so is an answer not complete within ``timeout`` seconds (each read waits at most
    that long too)."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/atom+xml, application/xml, text/csv, "
                                                   "application/json;q=0.9, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FetchError(f"the answer is {_mb(int(length))}, more than the {_mb(max_bytes)} allowed")
            chunks, size = [], 0
            while True:
                if time.monotonic() > deadline:
                    raise FetchError(f"no complete answer within {timeout:g} s")
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
            raise FetchError(f"the server answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise FetchError(f"no answer within {timeout:g} s") from None
        raise FetchError(f"the server cannot be reached ({reason})") from None
    except TimeoutError:
        raise FetchError(f"no answer within {timeout:g} s") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # a connection cut mid-answer (IncompleteRead), a bad URL
        raise FetchError(f"the answer could not be read ({type(exc).__name__}: {exc})") from None


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"
