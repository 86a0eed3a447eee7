"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd, in a thread of the test process):
it keeps every message it takes (parsed with the ``email`` package) and can be told to refuse.

    def test_x(smtp_server):
        smtp_server.fail_next(451, count=2)                  # the next 2 RCPT: 451
        smtp_server.refuse("nincs@example.hu", 550)          # every RCPT to this address: 550
        smtp_server.handler.data_delay = 2.0                 # DATA answered 2 s late…
        smtp_server.handler.slow_data = 1                    # …the next one only
        ... send to smtp_server.url ...
        assert smtp_server.messages[0].message["Subject"] == "…"

``smtp_server`` is plain SMTP; ``make_smtp_server(tls="starttls" | "ssl", users={…})`` starts
others (TLS with a self-signed certificate for 127.0.0.1 made by the openssl command, see
``tls_certificate``). tests/conftest.py loads this module as a plugin (``pytest_plugins``), so
its fixtures are there for every test."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser, Parser

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One message the server took: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    data: bytes
    peer: tuple  # the client's address and port: the same for messages of one connection
    login: str | None = None  # the user the client logged in as
    at: float = field(default_factory=time.time)  # when the server took it (for benchmarks)


@dataclass
class _Rule:
    code: int
    text: str
    command: str  # "RCPT" or "DATA"
    address: str | None = None  # only for this recipient (every time), else the next `count`
    count: int = 1


class RecordingHandler:
    """aiosmtpd's handler: answers RCPT and DATA as the rules say, else takes the message."""

    def __init__(self):
        self.messages: list[Received] = []
        self.rules: list[_Rule] = []
        self.lock = threading.Lock()
        self.data_delay = 0.0  # seconds the server takes to answer DATA (a slow or busy server)
        self.slow_data = None  # how many DATA commands are that slow (None: every one)
        self.quits: list[tuple] = []  # the peers that ended their connection with QUIT

    def _scripted(self, command: str, addresses: list[str]) -> str | None:
        with self.lock:
            for rule in self.rules:
                if rule.command != command:
                    continue
                if rule.address is not None:
                    if rule.address.lower() in (a.lower() for a in addresses):
                        return f"{rule.code} {rule.text}"
                elif rule.count > 0:
                    rule.count -= 1
                    return f"{rule.code} {rule.text}"
        return None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self._scripted("RCPT", [address])
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            slow = self.data_delay and (self.slow_data is None or self.slow_data > 0)
            if slow and self.slow_data is not None:
                self.slow_data -= 1
        if slow:
            # A client that gives up meanwhile ends the session (aiosmtpd cancels this handler):
            # the message is not taken, as a server that never finished receiving it.
            await asyncio.sleep(self.data_delay)
        reply = self._scripted("DATA", envelope.rcpt_tos)
        if reply:
            return reply
        data = envelope.original_content or envelope.content
        if data.isascii():
            message = BytesParser(policy=policy.default).parsebytes(data)
        else:  # an SMTPUTF8 message: its headers are UTF-8
            message = Parser(policy=policy.default).parsestr(data.decode("utf-8", "surrogateescape"))
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, data, session.peer,
                                          session.auth_data if session.authenticated else None))
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope):
        with self.lock:
            self.quits.append(session.peer)
        return "221 Bye"


@dataclass
class SmtpServer:
    """A running server; ``stop()`` and ``start()`` again keep its port."""

    handler: RecordingHandler
    host: str
    port: int
    tls: str = "none"
    users: dict = field(default_factory=dict)
    certificate: tuple | None = None  # (cert file, key file) for TLS
    timeout: float = 300  # idle connections are closed after this many seconds (421)
    smtputf8: bool = False  # whether addresses that are not ASCII are taken
    controller: Controller | None = None

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    @property
    def url(self) -> str:
        scheme = "smtps" if self.tls == "ssl" else "smtp"
        return f"{scheme}://{self.host}:{self.port}" + ("?starttls=1" if self.tls == "starttls" else "")

    @property
    def quits(self) -> list[tuple]:
        with self.handler.lock:
            return list(self.handler.quits)

    def fail_next(self, code: int, count: int = 1, command: str = "RCPT", text: str | None = None) -> None:
        """Answer ``code`` to the next ``count`` RCPT (or DATA) commands."""
        self.handler.rules.append(_Rule(code, text or _TEXTS.get(code, "Refused"), command.upper(), None, count))

    def refuse(self, address: str, code: int = 550, command: str = "RCPT", text: str | None = None) -> None:
        """Answer ``code`` to every RCPT (or DATA) for ``address``."""
        self.handler.rules.append(_Rule(code, text or _TEXTS.get(code, "Refused"), command.upper(), address))

    def client_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts this server's certificate (and checks the name)."""
        return ssl.create_default_context(cafile=self.certificate[0])

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(login) == password:
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    def start(self) -> None:
        kwargs = {"timeout": self.timeout, "enable_SMTPUTF8": self.smtputf8}
        context = None
        if self.tls != "none":
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*self.certificate)
        if self.tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        if self.users and self.tls == "starttls":
            # Log-in only after STARTTLS (aiosmtpd's default).
            kwargs.update(authenticator=self._authenticate, auth_required=True)
        elif self.users:
            # aiosmtpd does not count TLS from the start (smtps) as TLS, and warns when log-in is
            # required without it: here it is offered, and ``Received.login`` shows it was used.
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        self.controller = Controller(self.handler, hostname=self.host, port=self.port,
                                     ssl_context=context if self.tls == "ssl" else None,
                                     server_hostname=self.host, **kwargs)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


_TEXTS = {
    421: "4.3.2 Service shutting down",
    450: "4.2.1 Mailbox busy, try again later",
    451: "4.3.0 Temporary local problem, try again later",
    452: "4.3.1 Insufficient system storage",
    550: "5.1.1 No such user here",
    552: "5.3.4 Message too big",
    554: "5.7.1 Message rejected as spam",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost: (cert file, key file)."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("the openssl command is needed for a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return str(cert), str(key)


@pytest.fixture
def make_smtp_server(request):
    """``make_smtp_server(tls="none" | "starttls" | "ssl", users={"user": "password"},
    timeout=300, smtputf8=False)``: a started server, stopped after the test."""
    servers = []

    def make(tls: str = "none", users: dict | None = None, timeout: float = 300, smtputf8: bool = False) -> SmtpServer:
        certificate = request.getfixturevalue("tls_certificate") if tls != "none" else None
        server = SmtpServer(RecordingHandler(), "127.0.0.1", free_port(), tls, dict(users or {}), certificate,
                            timeout, smtputf8)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(make_smtp_server) -> SmtpServer:
    """A plain SMTP server on 127.0.0.1 (no TLS, no log-in)."""
    return make_smtp_server()
