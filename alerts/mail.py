"""E-mail alerts (SPEC §4) behind the same small interface as the SMS gateways, chosen by
configuration:

- ``smtp``: ``SmtpMailer``, the standard library's smtplib, when ``SMTP_URL`` is set
  (``smtp://``, ``smtp://…?starttls=1`` or ``smtps://``; see ``incident.config.parse_smtp_url``);
- ``console`` (otherwise): ``ConsoleMailer`` sends nothing; what would have gone out is handed
  to a ``record`` function (by default one line in the log, without the body).

``send(to, subject, text, html, delivery_id=…)`` returns ``Sent`` (its sid: the message's
Message-ID) or raises ``GatewayError``, which says whether trying again later may help (a 4xx
reply, a refused or lost connection, a timeout) or not (a 5xx reply: an unknown mailbox, a
refused sender).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import smtplib
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from typing import Protocol

from incident.config import DEFAULT_MAIL_FROM, SmtpSettings, parse_smtp_url
from incident.phones import mask_email

from .gateways import GatewayError, Sent

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 15  # seconds, for the connection and each reply
# A whole send (connecting, TLS, log-in, MAIL, RCPT, DATA) ends within this share of the delivery's
# lease (RIADO_SMS_LEASE_SECONDS): a slow server never keeps a message past its lease, when
# another drain would take it over and send it a second time while the first is still at it.
LEASE_SHARE = 0.75
# A kept-open connection unused for longer is closed and a new one opened (servers drop idle
# connections after a few minutes; Postfix after 300 s).
SMTP_IDLE_SECONDS = 60


class Mailer(Protocol):
    name: str

    def send(self, to: str, subject: str, text: str, html: str | None, delivery_id: int | None = None) -> Sent:
        """Hand one e-mail to the server; ``delivery_id`` is the delivery it is (the console
        records it beside the message)."""
        ...

    def close(self) -> None:
        """Close what the mailer keeps open."""
        ...


# The message


def _ascii_domain(address: str) -> str | None:
    domain = parseaddr(address)[1].rpartition("@")[2].strip().rstrip(".")
    if not domain:
        return None
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


def make_message_id(domain: str | None) -> str:
    """``<32 hex digits@domain>``: unique, and short enough to be kept as a provider's sid
    (64 characters) for a domain of up to 29."""
    return f"<{uuid.uuid4().hex}@{domain or 'localhost'}>"


def build_message(to: str, subject: str, text: str, html: str | None, sender: str,
                  message_id_domain: str | None = None) -> EmailMessage:
    """One e-mail to ``to`` from ``sender`` (``riado@example.hu`` or ``Riadó <riado@example.hu>``):
    multipart/alternative with the plain text and the HTML (text only when ``html`` is None),
    UTF-8 throughout (non-ASCII headers as RFC 2047 encoded words, bodies quoted-printable, so
    the message is 7-bit clean for any server). The Message-ID's domain is the sender's unless
    ``message_id_domain`` is given; ``Auto-Submitted: auto-generated`` (RFC 3834) and
    ``X-Auto-Response-Suppress`` keep out-of-office replies away."""
    # An address that is not ASCII can only be written as UTF-8 (the server must take SMTPUTF8).
    utf8 = not (parseaddr(to)[1].isascii() and parseaddr(sender)[1].isascii())
    message = EmailMessage(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = make_message_id(message_id_domain or _ascii_domain(sender))
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def _ascii_address(address: str) -> str:
    """The address with its domain in IDNA (``jozsef@példa.hu`` → ``jozsef@xn--plda-bpa.hu``), so
    that any server takes it; a local part that is not ASCII stays as it is (SMTPUTF8 only)."""
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def _recipient(to: str) -> str:
    """The bare address of ``to``, or GatewayError (not retryable) when it is not one address."""
    if not to or "\r" in to or "\n" in to:
        raise GatewayError("not an e-mail address", retryable=False)
    addresses = getaddresses([to])
    if len(addresses) != 1 or addresses[0][1].count("@") != 1 or not all(addresses[0][1].split("@")):
        raise GatewayError(f"not one e-mail address: {to[:100]}", retryable=False)
    return addresses[0][1]


# SMTP


def _reply_text(reply) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return " ".join(str(reply).split())


def _reply_error(code, reply) -> GatewayError:
    """A server's refusal: 4xx may pass later, 5xx will not (anything else: a garbled reply,
    tried again)."""
    code = code if isinstance(code, int) and code > 0 else None
    retryable = code is None or not 500 <= code <= 599
    return GatewayError(f"SMTP {code or '?'}: {_reply_text(reply)}"[:500], code=code, retryable=retryable)


def _classify(exc: Exception, where: str) -> GatewayError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (None, str(exc)))
        return _reply_error(code, reply)
    if isinstance(exc, smtplib.SMTPResponseException):  # incl. sender and data refusals, log-in
        return _reply_error(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # no STARTTLS, no AUTH: settings to fix
        return GatewayError(f"SMTP server {where}: {exc}"[:500], retryable=False)
    # SMTPServerDisconnected, a refused connection, a timeout, a TLS failure, an unknown host…
    return GatewayError(f"no answer from the SMTP server {where} ({type(exc).__name__}: {exc})"[:500],
                        retryable=True)


class _Watchdog(threading.Timer):
    """Shuts the watched connection's socket down when it fires (the blocked read then ends with
    a closed connection, which the send reports as a timeout)."""

    def __init__(self, seconds: float):
        super().__init__(seconds, self._fire)
        self.daemon = True
        self.fired = threading.Event()
        self._conn: smtplib.SMTP | None = None
        self._guard = threading.Lock()

    def watch(self, conn: smtplib.SMTP) -> None:
        with self._guard:
            self._conn = conn
            if self.fired.is_set():
                self._cut()

    def _fire(self) -> None:
        with self._guard:
            self.fired.set()
            self._cut()

    def _cut(self) -> None:
        sock = getattr(self._conn, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class SmtpMailer:
    """Sends through one SMTP server. Each thread keeps its own connection open between
    messages (smtplib connections are not shared between threads); a kept connection found
    closed when a message starts is replaced by a new one, once, before anything was sent.
    ``close()`` ends every connection the mailer opened."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings, sender: str = DEFAULT_MAIL_FROM, timeout: float = SMTP_TIMEOUT,
                 idle_seconds: float = SMTP_IDLE_SECONDS, ssl_context: ssl.SSLContext | None = None,
                 local_hostname: str | None = None, send_seconds: float | None = None):
        self.settings = settings
        self.sender = sender
        self.envelope_from = parseaddr(sender)[1]
        self.timeout = timeout
        # The most one send may take, all its replies together (None: only ``timeout`` each).
        self.send_seconds = send_seconds
        self.idle_seconds = idle_seconds
        self.ssl_context = ssl_context
        self.local_hostname = local_hostname
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[smtplib.SMTP] = set()

    @classmethod
    def from_config(cls, config: Mapping, **kwargs) -> SmtpMailer:
        lease = config.get("RIADO_SMS_LEASE_SECONDS")
        if lease and "send_seconds" not in kwargs:
            kwargs["send_seconds"] = lease * LEASE_SHARE
        return cls(smtp_settings(config), config.get("MAIL_FROM") or DEFAULT_MAIL_FROM, **kwargs)

    def describe(self) -> str:
        return self.settings.describe()

    # Connections

    def _context(self) -> ssl.SSLContext:
        if self.ssl_context is None:
            self.ssl_context = ssl.create_default_context()
        return self.ssl_context

    def _connect(self, deadline: float | None = None) -> smtplib.SMTP:
        s = self.settings
        timeout = self._time_left(deadline)
        if s.tls == "ssl":
            conn = smtplib.SMTP_SSL(s.host, s.port, local_hostname=self.local_hostname, timeout=timeout,
                                    context=self._context())
        else:
            conn = smtplib.SMTP(s.host, s.port, local_hostname=self.local_hostname, timeout=timeout)
        self._watch(conn)
        try:
            conn.ehlo()
            if s.tls == "starttls":
                conn.starttls(context=self._context())
                conn.ehlo()
            if s.username is not None:
                self._login(conn, s.username, s.password or "")
        except BaseException:
            conn.close()
            raise
        with self._lock:
            self._open.add(conn)
        return conn

    @staticmethod
    def _login(conn: smtplib.SMTP, username: str, password: str) -> None:
        if username.isascii() and password.isascii():
            conn.login(username, password)
            return
        # smtplib encodes credentials as ASCII; AUTH PLAIN is UTF-8 (RFC 4616), so a password
        # with Hungarian letters is sent that way.
        if not conn.has_extn("auth") or "PLAIN" not in conn.esmtp_features.get("auth", "").upper().split():
            raise smtplib.SMTPNotSupportedError("a user name or password that is not ASCII needs AUTH PLAIN")
        token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
        code, reply = conn.docmd("AUTH", "PLAIN " + token)
        if code not in (235, 503):  # 503: already authenticated
            raise smtplib.SMTPAuthenticationError(code, reply)

    def _drop(self, conn: smtplib.SMTP) -> None:
        """Forget a connection that failed (closed without QUIT: it may not answer)."""
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        with self._lock:
            self._open.discard(conn)
        conn.close()

    def _quit(self, conn: smtplib.SMTP) -> None:
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            pass
        self._drop(conn)

    def _watch(self, conn: smtplib.SMTP) -> None:
        watchdog = getattr(self._local, "watchdog", None)
        if watchdog is not None:
            watchdog.watch(conn)

    def _time_left(self, deadline: float | None) -> float:
        """How long the next reply may take: ``timeout``, or less when the send's time runs out
        (socket.timeout, an OSError, once it has)."""
        if deadline is None:
            return self.timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the send took longer than {self.send_seconds:g} s")
        return min(self.timeout, left)

    def _budget(self, conn: smtplib.SMTP, deadline: float | None) -> None:
        if deadline is not None and conn.sock is not None:
            conn.sock.settimeout(self._time_left(deadline))

    def _connection(self, deadline: float | None = None) -> tuple[smtplib.SMTP, bool]:
        """This thread's connection and whether it was kept from an earlier message."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            if conn.sock is not None and time.monotonic() - self._local.used < self.idle_seconds:
                self._watch(conn)
                return conn, True
            self._quit(conn)
        conn = self._connect(deadline)
        self._local.conn, self._local.used = conn, time.monotonic()
        return conn, False

    def close_thread(self) -> None:
        """End the calling thread's connection (a drain thread stopping)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._quit(conn)

    def close(self) -> None:
        """End every connection the mailer opened (only when no thread is sending)."""
        with self._lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    # Sending

    def send(self, to: str, subject: str, text: str, html: str | None, delivery_id: int | None = None) -> Sent:
        recipient = _recipient(to)
        wire = _ascii_address(recipient)
        if wire != recipient:
            local, _, domain = wire.rpartition("@")
            to, recipient = str(Address(display_name=parseaddr(to)[0], username=local, domain=domain)), wire
        utf8 = not (recipient.isascii() and self.envelope_from.isascii())
        try:
            message = build_message(to, subject, text, html, self.sender)
            data = message.as_bytes(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
        except ValueError as exc:  # a header no message may carry (a line break in the subject…)
            raise GatewayError(f"the e-mail cannot be built: {exc}", retryable=False) from None
        deadline = time.monotonic() + self.send_seconds if self.send_seconds else None
        watchdog = self._watchdog(deadline)
        try:
            self._transaction(recipient, data, utf8, deadline)
        except (smtplib.SMTPException, OSError) as exc:
            cut = watchdog is not None and watchdog.fired.is_set()
            error = _classify(TimeoutError(f"the send took longer than {self.send_seconds:g} s") if cut else exc,
                              self.describe())
            log.info("E-mail to %s not taken (delivery %s): %s", mask_email(recipient), delivery_id, error)
            raise error from None
        finally:
            if watchdog is not None:
                watchdog.cancel()
        return Sent(message["Message-ID"])

    def _watchdog(self, deadline: float | None) -> _Watchdog | None:
        """A timer that cuts this thread's connection when the send's time is up: each reply's
        timeout restarts with every line read, so only a clock of its own bounds the whole send."""
        if deadline is None:
            return None
        watchdog = _Watchdog(max(deadline - time.monotonic(), 0.0))
        self._local.watchdog = watchdog
        watchdog.start()
        return watchdog

    def _transaction(self, recipient: str, data: bytes, utf8: bool, deadline: float | None = None) -> None:
        for _ in range(2):
            conn, kept = self._connection(deadline)
            started = False  # whether the server took the MAIL command (something is under way)
            try:
                self._budget(conn, deadline)
                options = []
                if utf8:
                    if not conn.has_extn("smtputf8"):
                        raise smtplib.SMTPNotSupportedError("the server does not take non-ASCII addresses (SMTPUTF8)")
                    options.append("SMTPUTF8")
                code, reply = conn.mail(self.envelope_from, options)
                if code == 421 and kept:  # the server is closing the kept connection: a new one
                    self._drop(conn)
                    continue
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, reply, self.envelope_from)
                started = True
                self._budget(conn, deadline)
                code, reply = conn.rcpt(recipient)
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
                self._budget(conn, deadline)
                code, reply = conn.data(data)
                if code != 250:
                    raise smtplib.SMTPDataError(code, reply)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException, smtplib.SMTPNotSupportedError) as exc:
                # A refusal (these are OSErrors too, hence first): the connection stays usable.
                if getattr(exc, "smtp_code", None) == 421:  # except when the server is closing it
                    self._drop(conn)
                else:
                    self._reset(conn)
                raise
            except OSError:  # SMTPServerDisconnected, a reset connection, a timeout
                self._drop(conn)
                if kept and not started:
                    continue  # closed while idle: nothing was sent, so a new connection may try
                raise
            self._local.used = time.monotonic()
            return
        raise smtplib.SMTPServerDisconnected("the server closed the connection twice before MAIL")

    def _reset(self, conn: smtplib.SMTP) -> None:
        """After a refusal, RSET so that the connection can carry the next message."""
        try:
            code, _ = conn.rset()
        except (smtplib.SMTPException, OSError):
            code = None
        if code != 250:
            self._drop(conn)
        else:
            self._local.used = time.monotonic()


# The console


def log_console_email(to: str, subject: str, text: str, delivery_id: int | None) -> str:
    """The console mailer's default record: one log line (no body; the address masked)."""
    sid = "CONSOLE-MAIL-" + uuid.uuid4().hex
    log.info("Console mailer: an e-mail would have been sent to %s (delivery %s, %s characters): %s",
             mask_email(parseaddr(to)[1]), delivery_id, len(text), sid)
    return sid


class ConsoleMailer:
    """Sends nothing: each e-mail goes to ``record(to, subject, text, delivery_id) -> sid``."""

    name = "console"

    def __init__(self, record: Callable[[str, str, str, int | None], str] | None = None):
        self.record = record or log_console_email

    def send(self, to: str, subject: str, text: str, html: str | None, delivery_id: int | None = None) -> Sent:
        return Sent(self.record(to, subject, text, delivery_id))

    def close(self) -> None:
        pass


# The choice


def smtp_settings(config: Mapping) -> SmtpSettings | None:
    """SMTP_URL from the app's config: SmtpSettings as incident.config leaves it, or a URL
    (a test's override), or None."""
    value = config.get("SMTP_URL")
    if not value:
        return None
    return value if isinstance(value, SmtpSettings) else parse_smtp_url(str(value))


def mailer_name(config: Mapping) -> str:
    """``smtp`` when SMTP_URL is set, else ``console``."""
    return "smtp" if config.get("SMTP_URL") else "console"


def make_mailer(config: Mapping, **kwargs) -> Mailer:
    """The mailer these settings choose (``kwargs``: SmtpMailer's, or ConsoleMailer's ``record``)."""
    if mailer_name(config) == "smtp":
        return SmtpMailer.from_config(config, **kwargs)
    return ConsoleMailer(**kwargs)
