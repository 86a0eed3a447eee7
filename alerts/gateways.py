"""SMS gateways behind one small interface, chosen by configuration:

- ``console`` (the default): records each message in the outbox table and sends nothing;
- ``twilio``: the twilio SDK (``TWILIO_API_URL`` honoured for a test or regional endpoint).

``send(to, body, callback_url)`` returns the provider's id or raises GatewayError, which says
whether trying again later may help (429, 5xx, timeouts) or not (an invalid number, an opt-out).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from incident.errors import FieldError
from incident.validation import whole_number

log = logging.getLogger(__name__)
TWILIO_API = "https://api.twilio.com"


@dataclass(frozen=True)
class Sent:
    sid: str


class GatewayError(Exception):
    """The provider did not take the message. ``retryable``: the same request may succeed later."""

    def __init__(self, message: str, code: int | None = None, status: int | None = None, retryable: bool = True):
        super().__init__(message)
        self.code = code
        self.status = status
        self.retryable = retryable


class Gateway(Protocol):
    name: str

    def send(self, to: str, body: str, callback_url: str | None) -> Sent: ...


class ConsoleGateway:
    """Records messages in the outbox (shown on the Outbox page) and sends nothing."""

    name = "console"

    def send(self, to: str, body: str, callback_url: str | None, delivery_id: int | None = None) -> Sent:
        from incident.extensions import db

        from .models import OutboxMessage

        sid = "CONSOLE" + uuid.uuid4().hex
        # Its own transaction: the outbox row stands for what went out, whatever happens next.
        with db.engine.begin() as conn:
            conn.execute(OutboxMessage.__table__.insert().values(sid=sid, to=to, body=body, delivery_id=delivery_id))
        return Sent(sid)


class _RedirectingHttpClient(TwilioHttpClient):
    """Sends every Twilio API call to ``base_url`` instead (a test server, a regional edge), with
    a connection pool large enough for the configured concurrency, on http and https."""

    def __init__(self, base_url: str | None, pool_size: int, timeout: float):
        super().__init__(pool_connections=True, timeout=timeout)
        self.base_url = base_url.rstrip("/") if base_url else None
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 4)))

    def request(self, method, url, *args, **kwargs):
        if self.base_url and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


# Twilio error codes that no retry will change (invalid or unroutable number, opted out,
# landline, region not enabled, bad sender).
PERMANENT_CODES = {21211, 21212, 21214, 21217, 21219, 21401, 21408, 21606, 21610, 21612, 21614, 21617, 21659}


class TwilioGateway:
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, sender: str | None, messaging_service_sid: str | None,
                 api_url: str | None = None, validity_seconds: int = 900, pool_size: int = 8, timeout: float = 15):
        if not (sender or messaging_service_sid):
            from incident.config import ConfigurationError

            raise ConfigurationError("Twilio needs a sender: set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID.")
        self.sender = sender
        self.messaging_service_sid = messaging_service_sid
        self.validity_seconds = validity_seconds
        self.client = Client(account_sid, auth_token, http_client=_RedirectingHttpClient(api_url, pool_size, timeout))
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # no per-request chatter

    def send(self, to: str, body: str, callback_url: str | None, delivery_id: int | None = None) -> Sent:
        kwargs = {"to": to, "body": body, "validity_period": self.validity_seconds}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.sender
        if callback_url:
            kwargs["status_callback"] = callback_url
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise _classify(exc.status, exc.code, exc.msg) from None
        except TwilioException as exc:
            # TwilioServiceException (RFC 9457 bodies) is not a TwilioRestException.
            raise _classify(getattr(exc, "status", None), getattr(exc, "code", None), str(exc)) from None
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise GatewayError(f"no answer from Twilio ({type(exc).__name__})", retryable=True) from None
        return Sent(message.sid)

    @property
    def two_way(self) -> bool:
        """Whether replies can reach the sender (an alphanumeric sender cannot receive them)."""
        return bool(self.messaging_service_sid) or (self.sender or "").startswith("+")


def _whole_number_or_none(value) -> int | None:
    """Twilio's HTTP status or error code as a number the database can keep, else None."""
    try:
        return whole_number(value, "code", minimum=0) if isinstance(value, (int, str)) else None
    except FieldError:
        return None


def _classify(status, code, message) -> GatewayError:
    status = _whole_number_or_none(status)
    code = _whole_number_or_none(code)
    retryable = status is None or status == 429 or status >= 500
    if code in PERMANENT_CODES:
        retryable = False
    return GatewayError(f"Twilio: {message}"[:500], code=code, status=status, retryable=retryable)


def make_gateway(config) -> Gateway:
    """Twilio when its credentials are configured, else the console."""
    if config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN"):
        return TwilioGateway(
            config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], config.get("TWILIO_FROM"),
            config.get("TWILIO_MESSAGING_SERVICE_SID"), config.get("TWILIO_API_URL"),
            config.get("RIADO_SMS_VALIDITY_SECONDS", 900), config.get("RIADO_SMS_CONCURRENCY", 4),
            config.get("RIADO_SMS_TIMEOUT_SECONDS", 15),
        )
    return ConsoleGateway()
