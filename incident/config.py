"""Configuration read from the environment (SPEC §2), with safe defaults."""

from __future__ import annotations

import math
import os
import re
import secrets
from dataclasses import dataclass, field
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
LOCALES = ("hu", "en")
DEFAULT_MAX_DISTANCE_KM = 50.0
DEFAULT_MAIL_FROM = "riado@localhost"


class ConfigurationError(Exception):
    """A setting or a required service is wrong; the message is one sentence for the operator."""


def instance_path() -> Path:
    """Where the SQLite database, the queue file and the generated secret live."""
    return Path(os.environ.get("RIADO_INSTANCE_PATH") or REPO_ROOT / "instance").resolve()


def _secret_key(folder: Path) -> str:
    """Return SECRET_KEY from the environment, or one generated once into the instance folder."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = folder / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together must agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


def database_url(folder: Path) -> str:
    """Normalise DATABASE_URL: the embedded SpatiaLite file by default, psycopg 3 for PostgreSQL."""
    raw = os.environ.get("DATABASE_URL")
    if not raw:
        return f"sqlite:///{folder / 'riado.db'}"
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ConfigurationError(f"DATABASE_URL is not a valid database URL ({exc}).") from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise ConfigurationError(
            f"DATABASE_URL uses '{backend}', but Riadó supports only SQLite (SpatiaLite) and "
            "PostgreSQL (PostGIS)."
        )
    return url.render_as_string(hide_password=False)


def env_flag(name: str, default: bool) -> bool:
    """A yes/no environment variable (1, true, yes, on)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _whole_number(name: str, default: int, minimum: int = 1) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not '{value}'.") from None
    if number < minimum:
        raise ConfigurationError(f"{name} must be {minimum} or more.")
    return number


def _networks(name: str) -> tuple:
    """Comma-separated addresses or networks (``127.0.0.1, 10.0.0.0/8``)."""
    import ipaddress

    networks = []
    for part in (os.environ.get(name) or "").split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ConfigurationError(f"{name}: '{part.strip()}' is not an address or network.") from None
    return tuple(networks)


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = (os.environ.get(name) or default).strip().lower()
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, not '{value}'.")
    return value


def _price(name: str, default: float, unit: str = "SMS segment") -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        price = float(value.replace(",", "."))
    except ValueError:
        raise ConfigurationError(f"{name} must be a number (price per {unit}), not '{value}'.") from None
    if price < 0:
        raise ConfigurationError(f"{name} cannot be negative.")
    return price


def _voice_from(name: str, fallback: str | None) -> str | None:
    """The number that places voice calls: E.164 (a call cannot come from an alphanumeric sender).
    Unset, TWILIO_FROM when that is a phone number; otherwise None (calls then fail, each saying
    that TWILIO_VOICE_FROM is missing)."""
    import phonenumbers

    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return fallback if fallback and re.fullmatch(r"\+[1-9]\d{6,14}", fallback) else None
    try:
        valid = re.fullmatch(r"\+[1-9]\d{6,14}", raw) and phonenumbers.is_valid_number(phonenumbers.parse(raw, None))
    except phonenumbers.NumberParseException:
        valid = False
    if not valid:
        raise ConfigurationError(f"{name} must be a phone number in E.164 form such as +3612345678, not '{raw}'.")
    return raw


def _sms_price_pair() -> None:
    """The price and its currency go together: one set without the other would show a price in
    the wrong money (0.08 meant in dollars shown as 0,08 Ft, or 35 meant in forints as 35 USD)."""
    price, currency = os.environ.get("RIADO_SMS_PRICE"), os.environ.get("RIADO_SMS_CURRENCY")
    if bool(price) != bool(currency):
        given, missing = ("RIADO_SMS_PRICE", "RIADO_SMS_CURRENCY") if price else ("RIADO_SMS_CURRENCY", "RIADO_SMS_PRICE")
        raise ConfigurationError(f"{given} is set without {missing}: set both (the defaults are 35 HUF a segment).")


def _currency(name: str, default: str) -> str:
    """An ISO 4217 currency code that Babel can write prices in (HUF, EUR, USD…)."""
    from babel.numbers import list_currencies

    code = (os.environ.get(name) or default).strip().upper()
    if code not in list_currencies():
        raise ConfigurationError(f"{name} must be an ISO 4217 currency code such as HUF, EUR or USD, not '{code}'.")
    return code


def _distance_km(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        distance = float(value.replace(",", "."))
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of kilometres, not '{value}'.") from None
    if not math.isfinite(distance) or distance < 0:
        raise ConfigurationError(f"{name} must be a number of kilometres, 0 or more.")
    return distance


@dataclass(frozen=True)
class SmtpSettings:
    """SMTP_URL, parsed. ``tls``: "none" (plain SMTP), "starttls" (``?starttls=1``) or "ssl"
    (``smtps://``, TLS from the start). Its repr and ``describe()`` hide the password."""

    host: str
    port: int
    tls: str = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """The URL with the password as ``***``, for logs and error messages."""
        scheme = "smtps" if self.tls == "ssl" else "smtp"
        user = ""
        if self.username is not None:
            user = quote(self.username, safe="") + (":***" if self.password is not None else "") + "@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{user}{host}:{self.port}" + ("?starttls=1" if self.tls == "starttls" else "")

    def __str__(self) -> str:
        return self.describe()


SMTP_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
_FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def parse_smtp_url(raw: str, name: str = "SMTP_URL") -> SmtpSettings:
    """``smtp://[user:password@]host[:port][?starttls=1]`` or ``smtps://…``; the user name and the
    password may be percent-encoded (they must be when they hold ``/ ? # @ :``). The default
    port is 25, 587 with STARTTLS and 465 for smtps. No message quotes the URL: it may hold the
    password."""
    example = "smtp://host:25, smtp://user:password@host:587?starttls=1 or smtps://user:password@host:465"
    try:
        url = urlsplit(raw.strip())
    except ValueError:
        raise ConfigurationError(f"{name} is not a valid URL (for example {example}).") from None
    scheme = url.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        given = f", not '{scheme}://'" if scheme and "@" not in scheme else ""
        raise ConfigurationError(f"{name} must start with smtp:// or smtps://{given} (for example {example}).")
    try:
        port = url.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise ConfigurationError(
            f"{name} has no valid port after the host (a password with / ? # @ or : must be percent-encoded, "
            "e.g. / as %2F)."
        )
    if not url.hostname:
        raise ConfigurationError(f"{name} names no host (for example {example}).")
    if url.path not in ("", "/"):
        raise ConfigurationError(
            f"{name} takes no path after the host (a password with / ? # @ or : must be percent-encoded, "
            "e.g. / as %2F)."
        )
    tls = "ssl" if scheme == "smtps" else "none"
    for key, value in parse_qsl(url.query, keep_blank_values=True):
        if key.lower() != "starttls":
            raise ConfigurationError(f"{name}: unknown option '{key}' (only starttls=1 is understood).")
        flag = _FLAGS.get(value.strip().lower())
        if flag is None:
            raise ConfigurationError(f"{name}: starttls must be 1 or 0, not '{value}'.")
        if flag and scheme == "smtps":
            raise ConfigurationError(f"{name}: starttls=1 is for smtp://; smtps:// uses TLS from the start.")
        if flag:
            tls = "starttls"
    username = unquote(url.username) if url.username else None
    password = unquote(url.password) if url.password is not None else None
    if password is not None and username is None:
        raise ConfigurationError(f"{name} has a password but no user name (smtp://user:password@host).")
    return SmtpSettings(url.hostname, port or SMTP_PORTS[tls], tls, username, password)


def _smtp_url(name: str) -> SmtpSettings | None:
    raw = (os.environ.get(name) or "").strip()
    return parse_smtp_url(raw, name) if raw else None


# A host name (single labels such as localhost allowed: an office's own relay may use them).
_MAIL_DOMAIN = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*")


def parse_mail_from(raw: str, name: str = "MAIL_FROM") -> str:
    """One sender address, bare (``riado@example.hu``) or with a display name
    (``Riadó <riado@example.hu>``); returned as given, trimmed."""
    from email_validator import EmailNotValidError, validate_email

    value = raw.strip()
    wrong = f"{name} must be one e-mail address such as riado@example.hu or 'Riadó <riado@example.hu>', not '{value}'."
    if "\r" in value or "\n" in value:
        raise ConfigurationError(f"{name} must be one e-mail address on one line.")
    addresses = getaddresses([value])
    if len(addresses) != 1 or addresses[0][1].count("@") != 1:
        raise ConfigurationError(wrong)
    local, domain = addresses[0][1].split("@")
    # email-validator checks the part before the @; the domain is checked here, since it
    # refuses names such as localhost or polgarmester.local that a sender may rightly have.
    try:
        validate_email(f"{local}@example.com", check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise ConfigurationError(wrong) from None
    if not _MAIL_DOMAIN.fullmatch(domain) or len(domain) > 253:
        raise ConfigurationError(wrong)
    return value


def _mail_from(name: str, smtp: SmtpSettings | None) -> str:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        if smtp is not None:
            raise ConfigurationError(
                f"{name} must be set when SMTP_URL is: the address alerts are sent from (riado@example.hu)."
            )
        return DEFAULT_MAIL_FROM
    return parse_mail_from(raw, name)


def _cap_sender(name: str) -> str | None:
    """The CAP <sender> of public notices: one word, without spaces, commas, < or & (CAP 1.2)."""
    value = (os.environ.get(name) or "").strip()
    if not value:
        return None
    if re.search(r"[\s,<&]", value):
        raise ConfigurationError(f"{name} must be one word without spaces, commas, < or & (e.g. "
                                 f"riado@belvaros-lipotvaros.hu), not '{value}'.")
    return value


def _one_line(name: str) -> str | None:
    value = (os.environ.get(name) or "").strip()
    if "\n" in value or "\r" in value:
        raise ConfigurationError(f"{name} must be one line.")
    return value or None


def from_environment() -> dict:
    """Build the Flask config mapping from environment variables."""
    folder = instance_path()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"The instance folder {folder} cannot be created ({exc.strerror})."
        ) from None
    locale = os.environ.get("RIADO_LOCALE", "hu").strip().lower() or "hu"
    if locale not in LOCALES:
        raise ConfigurationError(f"RIADO_LOCALE must be one of {', '.join(LOCALES)}, not '{locale}'.")
    public_url = (os.environ.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")
    if urlsplit(public_url).scheme not in ("http", "https"):
        raise ConfigurationError("PUBLIC_URL must start with http:// or https://.")
    redis_url = os.environ.get("REDIS_URL") or None
    _sms_price_pair()
    smtp = _smtp_url("SMTP_URL")
    return {
        "INSTANCE_PATH": str(folder),
        "SECRET_KEY": _secret_key(folder),
        "SQLALCHEMY_DATABASE_URI": database_url(folder),
        "REDIS_URL": redis_url,
        "PUBLIC_URL": public_url,
        "RIADO_LOCALE": locale,
        "RIADO_PHONE_REGION": (os.environ.get("RIADO_PHONE_REGION") or "HU").upper(),
        "RIADO_TIMEZONE": os.environ.get("RIADO_TIMEZONE") or "Europe/Budapest",
        "RIADO_EMBEDDED_WORKER": env_flag("RIADO_EMBEDDED_WORKER", False),
        "RIADO_TILE_URL": os.environ.get("RIADO_TILE_URL") or DEFAULT_TILE_URL,
        "RIADO_TILE_ATTRIBUTION": os.environ.get("RIADO_TILE_ATTRIBUTION") or DEFAULT_TILE_ATTRIBUTION,
        # A GeoJSON file with the municipality's outline for the maps (else the one stored with
        # the municipality, as the demo district's is).
        "RIADO_BOUNDARY_GEOJSON": os.environ.get("RIADO_BOUNDARY_GEOJSON") or None,
        # How far from the municipality's outline a place (an incident's location or area, a
        # resource) may lie before it is refused as a likely typing slip (latitude and longitude
        # swapped), unless the user confirms it (``confirm_far``).
        "RIADO_MAX_DISTANCE_KM": _distance_km("RIADO_MAX_DISTANCE_KM", DEFAULT_MAX_DISTANCE_KM),
        "TWILIO_ACCOUNT_SID": os.environ.get("TWILIO_ACCOUNT_SID") or None,
        "TWILIO_AUTH_TOKEN": os.environ.get("TWILIO_AUTH_TOKEN") or None,
        "TWILIO_FROM": os.environ.get("TWILIO_FROM") or None,
        "TWILIO_MESSAGING_SERVICE_SID": os.environ.get("TWILIO_MESSAGING_SERVICE_SID") or None,
        "TWILIO_API_URL": os.environ.get("TWILIO_API_URL") or None,
        # Voice calls (alerts wing): the caller's number (default TWILIO_FROM when it is a
        # phone number) and, optionally, the text-to-speech voice of <Say> (e.g.
        # Google.hu-HU-Standard-A; unset, Twilio's default voice for the language).
        "TWILIO_VOICE_FROM": _voice_from("TWILIO_VOICE_FROM", os.environ.get("TWILIO_FROM") or None),
        "RIADO_VOICE_NAME": (os.environ.get("RIADO_VOICE_NAME") or "").strip() or None,
        # SMS delivery (alerts wing)
        "RIADO_SMS_CONCURRENCY": _whole_number("RIADO_SMS_CONCURRENCY", 4),
        # Attempts before a message that keeps being refused for now (429, 5xx, SMTP 4xx, no
        # answer) is recorded as failed: 1, 2, 4, 8, 16 s, then every 30 s, so about half an hour,
        # and a provider or mail server down for a while loses nobody. A refusal no retry will
        # change (an invalid number, SMTP 5xx) fails at once.
        "RIADO_SMS_MAX_ATTEMPTS": _whole_number("RIADO_SMS_MAX_ATTEMPTS", 60),
        "RIADO_SMS_VALIDITY_SECONDS": _whole_number("RIADO_SMS_VALIDITY_SECONDS", 900),
        "RIADO_SMS_LEASE_SECONDS": _whole_number("RIADO_SMS_LEASE_SECONDS", 60),
        "RIADO_SMS_TIMEOUT_SECONDS": _whole_number("RIADO_SMS_TIMEOUT_SECONDS", 15),
        # A message still "sent" this long after it went out (its status callback never came) is
        # checked against the provider; 0 turns the check off.
        "RIADO_RECONCILE_AFTER_MINUTES": _whole_number("RIADO_RECONCILE_AFTER_MINUTES", 15, minimum=0),
        # The price of one SMS segment in RIADO_SMS_CURRENCY, for the cost estimate: Twilio's
        # price for a Hungarian mobile is about 0.10 USD, some 35 Ft.
        "RIADO_SMS_PRICE": _price("RIADO_SMS_PRICE", 35),
        "RIADO_SMS_CURRENCY": _currency("RIADO_SMS_CURRENCY", "HUF"),
        # The price of one minute of a voice call in RIADO_SMS_CURRENCY: the estimate counts one
        # minute a call (Twilio's outbound call to a Hungarian phone is some 0.05 USD a minute).
        "RIADO_VOICE_PRICE_PER_MINUTE": _price("RIADO_VOICE_PRICE_PER_MINUTE", 20, "call minute"),
        "RIADO_DRILL_TEST_GROUP": os.environ.get("RIADO_DRILL_TEST_GROUP") or None,
        # E-mail alerts (alerts/mail.py): SMTP_URL parsed into SmtpSettings (its repr hides the
        # password), None for the console mailer (nothing sent); MAIL_FROM is required with it.
        "SMTP_URL": smtp,
        "MAIL_FROM": _mail_from("MAIL_FROM", smtp),
        # How many reverse proxies in front of Riadó append to X-Forwarded-For: the client's
        # address (sign-in rate limits, the audit trail) is then taken from there. 0: the
        # header is ignored, as it must be when clients can reach Riadó directly.
        "RIADO_TRUSTED_PROXIES": _whole_number("RIADO_TRUSTED_PROXIES", 0, minimum=0),
        # Failed sign-ins allowed per window: per browser and account for a browser with a device
        # cookie, per account and per address for every other client (operations/sign_in.py),
        # counted in the database and shared by every process.
        "RIADO_LOGIN_RATE_LIMIT": os.environ.get("RIADO_LOGIN_RATE_LIMIT") or "10 per 15 minutes",
        # The largest request body taken (a CSV import, a JSON document), in MB: Flask's
        # MAX_CONTENT_LENGTH; a larger one is answered 413 before it is read.
        "RIADO_MAX_UPLOAD_MB": _whole_number("RIADO_MAX_UPLOAD_MB", 16),
        # /healthz answers 503 when no worker has shown it is alive for this long (a worker says
        # so every 5 s), and when work has been due but untaken for this long (the backlog).
        "RIADO_HEALTH_WORKER_SECONDS": _whole_number("RIADO_HEALTH_WORKER_SECONDS", 30, minimum=10),
        "RIADO_HEALTH_BACKLOG_SECONDS": _whole_number("RIADO_HEALTH_BACKLOG_SECONDS", 120),
        # /metrics (Prometheus): a bearer token of its own, and/or the addresses (or networks)
        # allowed without it; with neither, /metrics is off (404).
        "RIADO_METRICS_TOKEN": os.environ.get("RIADO_METRICS_TOKEN") or None,
        "RIADO_METRICS_ALLOW": _networks("RIADO_METRICS_ALLOW"),
        # Logs: "text" (one readable line) or "json" (one JSON object per line, for a log system).
        "RIADO_LOG_FORMAT": _choice("RIADO_LOG_FORMAT", ("text", "json"), "text"),
        # The public page, its notices' CAP and the Atom feed (SPEC §5): RIADO_PUBLIC=0 turns all of
        # /public off (404). The municipality's name as residents read it (else the stored one),
        # the CAP <sender> (else riado@ and PUBLIC_URL's host) and the contact residents and the
        # press may use (CAP <contact>; else the stored office phone). None of it is personal data.
        "RIADO_PUBLIC": env_flag("RIADO_PUBLIC", True),
        "RIADO_PUBLIC_NAME": _one_line("RIADO_PUBLIC_NAME"),
        "RIADO_CAP_SENDER": _cap_sender("RIADO_CAP_SENDER"),
        "RIADO_PUBLIC_CONTACT": _one_line("RIADO_PUBLIC_CONTACT"),
        "SESSION_COOKIE_SECURE": public_url.startswith("https://"),
    }
