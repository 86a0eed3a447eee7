"""SMS gateways behind one small interface, registered by name and chosen by configuration:

- ``twilio``: the twilio SDK (``TWILIO_API_URL`` honoured for a test or regional endpoint), when
  ``TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN`` are set;
- ``console`` (otherwise): records each message in the outbox table and sends nothing; replies
  are simulated on the outbox page.

``send(to, body, callback_url, delivery_id=…)`` (what ``alerts.tasks.drain`` passes) returns the
provider's id or raises GatewayError, which says whether trying again later may help (429, 5xx,
timeouts) or not (an invalid number, an opt-out). Another SMS provider registers its gateway with
``register_gateway`` (see ``GATEWAYS``); a new channel is a class in ``alerts.channels``.

Voice calls (SPEC §4) have gateways of their own, chosen the same way (``make_voice_gateway``):
``call(to, text, status_url, gather_url, delivery_id=…)`` places a call that reads ``text`` twice
and, with a ``gather_url``, asks for 1 to confirm (``call_twiml``), or, on the console, records it in the outbox.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

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

    def send(self, to: str, body: str, callback_url: str | None, delivery_id: int | None = None) -> Sent:
        """Hand one message to the provider; ``callback_url`` is where it reports the message's
        status, ``delivery_id`` the delivery it is (the console records it beside the message)."""
        ...


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
        # The environment's proxy and CA bundle settings for the API (HTTPS_PROXY, NO_PROXY,
        # REQUESTS_CA_BUNDLE…), read once: with ``trust_env`` on, requests reads and parses the
        # whole environment again for every message, a fifth of a drain's CPU per message.
        settings = self.session.merge_environment_settings(self.base_url or TWILIO_API, {}, None, None, None)
        self.proxy = settings["proxies"]
        self.session.verify = settings["verify"]
        self.session.trust_env = False

    def request(self, method, url, *args, **kwargs):
        if self.base_url and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


# Twilio's message statuses (its status callbacks' MessageStatus) as a delivery's own.
TWILIO_STATUSES = {
    "queued": "sending", "accepted": "sending", "scheduled": "sending", "sending": "sending", "sent": "sent",
    "delivered": "delivered", "read": "delivered", "undelivered": "undelivered", "failed": "failed", "canceled": "failed",
}

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
        with twilio_errors():
            message = self.client.messages.create(**kwargs)
        return Sent(message.sid)

    def message_status(self, sid: str) -> tuple[str, int | None]:
        """Twilio's status of a message it took (its Message resource) and its error code;
        GatewayError when Twilio cannot say now."""
        with twilio_errors():
            message = self.client.messages(sid).fetch()
        return message.status, _whole_number_or_none(message.error_code)

    @staticmethod
    def configured(config: Mapping) -> bool:
        return bool(config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN"))

    @classmethod
    def from_config(cls, config: Mapping) -> TwilioGateway:
        return cls(
            config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], config.get("TWILIO_FROM"),
            config.get("TWILIO_MESSAGING_SERVICE_SID"), config.get("TWILIO_API_URL"),
            config.get("RIADO_SMS_VALIDITY_SECONDS", 900), config.get("RIADO_SMS_CONCURRENCY", 4),
            config.get("RIADO_SMS_TIMEOUT_SECONDS", 15),
        )

    @staticmethod
    def two_way(config: Mapping) -> bool:
        """Whether replies can reach the sender (an alphanumeric sender cannot receive them)."""
        return bool(config.get("TWILIO_MESSAGING_SERVICE_SID")) or (config.get("TWILIO_FROM") or "").startswith("+")


def _whole_number_or_none(value) -> int | None:
    """Twilio's HTTP status or error code as a number the database can keep, else None."""
    try:
        return whole_number(value, "code", minimum=0) if isinstance(value, (int, str)) else None
    except FieldError:
        return None


@contextmanager
def twilio_errors(permanent=PERMANENT_CODES):
    """A Twilio request's failure as GatewayError: its HTTP status and Twilio code classified
    (``permanent``: the codes no retry will change), no answer as retryable. TwilioServiceException
    (RFC 9457 bodies) is a TwilioException, not a TwilioRestException."""
    try:
        yield
    except TwilioRestException as exc:
        raise _classify(exc.status, exc.code, exc.msg, permanent) from None
    except TwilioException as exc:
        raise _classify(getattr(exc, "status", None), getattr(exc, "code", None), str(exc), permanent) from None
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise GatewayError(f"no answer from Twilio ({type(exc).__name__})", retryable=True) from None


def _classify(status, code, message, permanent=PERMANENT_CODES) -> GatewayError:
    status = _whole_number_or_none(status)
    code = _whole_number_or_none(code)
    retryable = status is None or status == 429 or status >= 500
    if code in permanent:
        retryable = False
    return GatewayError(f"Twilio: {message}"[:500], code=code, status=status, retryable=retryable)


# The registry


@dataclass(frozen=True)
class GatewayKind:
    """A gateway by name: whether the settings choose it, how it is made from them, and whether
    replies can reach its sender (acknowledgements need them)."""

    name: str
    configured: Callable[[Mapping], bool]
    create: Callable[[Mapping], Gateway]
    two_way: Callable[[Mapping], bool]


# By name, in the order they are chosen: the first whose settings are there; the console last.
GATEWAYS: dict[str, GatewayKind] = {}
FALLBACK = "console"


def register_gateway(kind: GatewayKind) -> None:
    GATEWAYS[kind.name] = kind


register_gateway(GatewayKind("twilio", TwilioGateway.configured, TwilioGateway.from_config, TwilioGateway.two_way))
# The console sends nothing; its sender is the Twilio one that would be used (TWILIO_FROM), so
# what the pages say about replies does not change when Twilio's credentials are added.
register_gateway(GatewayKind(FALLBACK, lambda config: True, lambda config: ConsoleGateway(), TwilioGateway.two_way))


def gateway_name(config: Mapping) -> str:
    """The name of the gateway these settings choose."""
    return next((name for name, kind in GATEWAYS.items() if name != FALLBACK and kind.configured(config)), FALLBACK)


def make_gateway(config: Mapping) -> Gateway:
    """The gateway these settings choose (Twilio when its credentials are configured, else the console)."""
    return GATEWAYS[gateway_name(config)].create(config)


def two_way(config: Mapping) -> bool:
    """Whether replies (acknowledgements) can reach the sender of the gateway these settings choose."""
    return GATEWAYS[gateway_name(config)].two_way(config)


# Voice calls

# The <Say> language of each UI language (RIADO_LOCALE).
SAY_LANGUAGES = {"hu": "hu-HU", "en": "en-US"}
# What a call reports back (Twilio's default is "completed" only).
CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
# How long the <Gather> waits for a key after the last words, in seconds.
GATHER_SECONDS = 8
# Twilio's call statuses (its status callbacks' CallStatus) as a delivery's own: a call placed is
# sent; answered and ended (completed) is delivered; busy or unanswered is undelivered.
TWILIO_CALL_STATUSES = {
    "queued": "sending", "initiated": "sent", "ringing": "sent", "in-progress": "sent", "answered": "sent",
    "completed": "delivered", "busy": "undelivered", "no-answer": "undelivered", "failed": "failed",
    "canceled": "failed",
}
# Twilio error codes of a call that no retry will change: those of messages, and a caller id not
# verified or not allowed (21210, 21212), no permission to call that country (21215, 21216),
# an invalid number to call (13223, 13224).
VOICE_PERMANENT_CODES = PERMANENT_CODES | {21210, 21215, 21216, 13223, 13224}


@dataclass(frozen=True)
class CallWords:
    """What a call says beside the alert's text, in the configured language, and how it says it."""

    language: str  # <Say language=…>
    voice: str | None  # <Say voice=…>: a text-to-speech voice, or Twilio's default for the language
    prompt: str  # "press 1 to confirm"
    goodbye: str
    thanks: str


def call_words(config: Mapping) -> CallWords:
    """``CallWords`` for these settings (RIADO_LOCALE, RIADO_VOICE_NAME); needs an app context."""
    from flask_babel import force_locale, gettext

    locale = config.get("RIADO_LOCALE") or "hu"
    with force_locale(locale):
        prompt = gettext("To confirm that you have heard this alert, press 1.")
        goodbye = gettext("Goodbye.")
        thanks = gettext("Thank you, your confirmation is recorded. Goodbye.")
    return CallWords(SAY_LANGUAGES.get(locale, "hu-HU"), config.get("RIADO_VOICE_NAME") or None, prompt, goodbye, thanks)


def _say(verb, text: str, words: CallWords) -> None:
    if words.voice:
        verb.say(text, language=words.language, voice=words.voice)
    else:
        verb.say(text, language=words.language)


# Twilio takes inline TwiML (the Calls resource's Twiml parameter) of at most 4,000 characters.
TWIML_LIMIT = 4000


def _call(text: str, times: int, gather_url: str | None, words: CallWords) -> str:
    answer = VoiceResponse()
    if gather_url is None:  # the alert asks for no confirmation: the text, and goodbye
        for _ in range(times):
            _say(answer, text, words)
        _say(answer, words.goodbye, words)
        answer.hangup()
        return answer.to_xml()
    gather = answer.gather(num_digits=1, action=gather_url, method="POST", timeout=GATHER_SECONDS)
    for _ in range(times):
        _say(gather, text, words)
    _say(gather, words.prompt, words)
    _say(answer, words.goodbye, words)
    answer.hangup()
    return answer.to_xml()


def call_twiml(text: str, gather_url: str | None, words: CallWords) -> str:
    """The call: within a <Gather> of one key (posted to ``gather_url``) the alert's text twice,
    then the request to press 1; without a key, a short goodbye. Without ``gather_url`` (an alert
    that asks for no confirmation) the text twice and goodbye, nothing asked. Built with VoiceResponse, so
    the text is escaped whatever it holds. A text too long for Twilio's inline TwiML is said once,
    and if even that is too long, cut at a word (the rest of the text is in the SMS or e-mail)."""
    for times in (2, 1):
        twiml = _call(text, times, gather_url, words)
        if len(twiml) <= TWIML_LIMIT:
            return twiml
    cut = text
    while len(twiml) > TWIML_LIMIT and cut:
        keep = max(len(cut) - (len(twiml) - TWIML_LIMIT) - 2, 0)
        cut = cut[:keep].rsplit(" ", 1)[0] if " " in cut[:keep] else cut[:keep]
        twiml = _call(cut + " …", 1, gather_url, words)
    return twiml


def thanks_twiml(words: CallWords) -> str:
    """The answer to a 1: thanks, and the call ends."""
    answer = VoiceResponse()
    _say(answer, words.thanks, words)
    answer.hangup()
    return answer.to_xml()


def goodbye_twiml(words: CallWords) -> str:
    answer = VoiceResponse()
    _say(answer, words.goodbye, words)
    answer.hangup()
    return answer.to_xml()


class VoiceGateway(Protocol):
    name: str

    def call(self, to: str, text: str, status_url: str, gather_url: str | None, delivery_id: int | None = None) -> Sent:
        """Place one call reading ``text``; Twilio reports its progress to ``status_url`` and the
        key pressed to ``gather_url``."""
        ...


class ConsoleVoiceGateway:
    """Records each call in the outbox (channel "voice", the text it would read) and calls nobody."""

    name = "console"

    def call(self, to: str, text: str, status_url: str, gather_url: str | None, delivery_id: int | None = None) -> Sent:
        from incident.extensions import db

        from .models import OutboxMessage

        sid = "CONSOLE-CALL-" + uuid.uuid4().hex
        with db.engine.begin() as conn:
            conn.execute(OutboxMessage.__table__.insert().values(sid=sid, to=to, channel="voice", body=text,
                                                                 delivery_id=delivery_id))
        return Sent(sid)


class TwilioVoiceGateway:
    """Calls through Twilio's Calls resource with the TwiML inline; errors classified as for SMS."""

    name = "twilio"

    def __init__(self, client: Client, caller: str | None, config: Mapping):
        self.client = client
        self.caller = caller
        self.config = config

    def call(self, to: str, text: str, status_url: str, gather_url: str | None, delivery_id: int | None = None) -> Sent:
        if not self.caller:
            raise GatewayError("no number to call from: set TWILIO_VOICE_FROM (or TWILIO_FROM to a phone number)",
                               retryable=False)
        with twilio_errors(VOICE_PERMANENT_CODES):
            call = self.client.calls.create(
                to=to, from_=self.caller, twiml=call_twiml(text, gather_url, call_words(self.config)),
                status_callback=status_url, status_callback_event=CALL_EVENTS, status_callback_method="POST",
            )
        return Sent(call.sid)

    def call_status(self, sid: str) -> tuple[str, int | None]:
        """Twilio's status of a call it placed (its Call resource: queued, ringing, in-progress,
        completed, busy, no-answer, failed, canceled); the resource carries no error code.
        GatewayError when Twilio cannot say now."""
        with twilio_errors(VOICE_PERMANENT_CODES):
            call = self.client.calls(sid).fetch()
        return call.status, None

    @classmethod
    def from_config(cls, config: Mapping) -> TwilioVoiceGateway:
        client = Client(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], http_client=_RedirectingHttpClient(
            config.get("TWILIO_API_URL"), config.get("RIADO_SMS_CONCURRENCY", 4), config.get("RIADO_SMS_TIMEOUT_SECONDS", 15)))
        return cls(client, voice_caller(config), config)


def voice_caller(config: Mapping) -> str | None:
    """The number calls come from: TWILIO_VOICE_FROM, else TWILIO_FROM when it is a phone number."""
    sender = config.get("TWILIO_FROM") or ""
    return config.get("TWILIO_VOICE_FROM") or (sender if sender.startswith("+") else None)


def make_voice_gateway(config: Mapping) -> VoiceGateway:
    """Twilio when its credentials are configured (as for SMS), else the console."""
    return TwilioVoiceGateway.from_config(config) if gateway_name(config) == "twilio" else ConsoleVoiceGateway()
