"""The Twilio gateway honours the operator's proxy settings (HTTP_PROXY / HTTPS_PROXY,
NO_PROXY), which it reads once when it is made rather than for every message."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alerts.gateways import TwilioGateway

ACCOUNT = "AC" + "0" * 32


@pytest.fixture
def proxy():
    """A forward proxy on 127.0.0.1 that answers every POST as Twilio would take a message,
    keeping the request line it was asked for (an absolute URI when it is used as a proxy)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.path)
            body = json.dumps({"sid": "SM" + "1" * 32, "status": "queued"}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, seen
    server.shutdown()
    server.server_close()


def _clear_proxy_env(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_messages_go_through_the_configured_proxy(proxy, monkeypatch):
    server, seen = proxy
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_port}")
    gateway = TwilioGateway(ACCOUNT, "not-a-secret", "+3612345678", None, api_url="http://twilio.invalid")

    first = gateway.send("+36201234567", "Próba", None)
    second = gateway.send("+36201234568", "Próba", None)

    assert first.sid == second.sid == "SM" + "1" * 32
    assert seen == [f"http://twilio.invalid/2010-04-01/Accounts/{ACCOUNT}/Messages.json"] * 2


def test_no_proxy_sends_straight_to_the_provider(proxy, monkeypatch):
    server, seen = proxy
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nobody listens: used, it would fail
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    gateway = TwilioGateway(ACCOUNT, "not-a-secret", "+3612345678", None,
                            api_url=f"http://127.0.0.1:{server.server_port}")

    assert gateway.send("+36201234567", "Próba", None).sid == "SM" + "1" * 32
    assert seen == [f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"]
