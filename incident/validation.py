"""Cleaning of user input shared by the API, the forms and CSV import: every problem is
collected and named by field, so that a form or an import report can show them all at once."""

from __future__ import annotations

import math
import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter

from .errors import FieldError, FieldErrors

# The largest value of the database's INTEGER columns (32 bits on PostgreSQL). A larger id or
# number from outside is refused before it reaches the database driver, which would fail on it
# (SQLite's above 64 bits, PostgreSQL's above the column's range).
MAX_INTEGER = 2_147_483_647


class IdConverter(IntegerConverter):
    """``<int:…>`` in URLs, up to MAX_INTEGER: a larger number matches no route (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_INTEGER, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


UNSTORABLE_TEXT = _l("Contains a character that cannot be stored (NUL or an unpaired surrogate).")


def storable(text: str) -> bool:
    """Whether a database can keep this text: PostgreSQL refuses NUL characters in text, and
    neither driver can encode a lone surrogate (``"\\ud800"`` in JSON)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_fields(data) -> list[str]:
    """The top-level keys of a JSON document whose key or value (at any depth) holds text that
    no database can store; ``[""]`` for such a bare value. Iterative: a document nested as deep
    as the JSON parser allows must not exhaust the stack here."""

    def bad(value) -> bool:
        pending = [value]
        while pending:
            item = pending.pop()
            if isinstance(item, str):
                if not storable(item):
                    return True
            elif isinstance(item, dict):
                pending.extend(item.keys())
                pending.extend(item.values())
            elif isinstance(item, list):
                pending.extend(item)
        return False

    if isinstance(data, dict):
        return [printable(k) for k, v in data.items() if bad(k) or bad(v)]
    return [""] if bad(data) else []


def printable(text: str) -> str:
    """``text`` safe to put into a JSON answer or a log line (NUL and lone surrogates escaped)."""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


TRUE_WORDS = {"1", "true", "yes", "y", "igen", "i", "x", "on"}
FALSE_WORDS = {"0", "false", "no", "n", "nem", "off", ""}


def fold(text: str) -> str:
    """Case- and accent-insensitive form for searching: ``Kovács Őrs`` → ``kovacs ors``."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class Cleaner:
    """Collects clean values and every error of one record (a JSON body, a form, a CSV row)."""

    def __init__(self, raw: dict, partial: bool = False):
        self.raw = raw
        self.partial = partial
        self.out: dict = {}
        self.errors: dict[str, list[str]] = {}

    def given(self, field: str) -> bool:
        return field in self.raw

    def skip(self, field: str) -> bool:
        """In a partial update, absent fields are left alone."""
        return self.partial and field not in self.raw

    def error(self, field: str, message) -> None:
        self.errors.setdefault(field, []).append(str(message))

    def run(self, field: str, fn, *args, **kwargs):
        """Call ``fn``; a FieldError it raises is recorded under its field."""
        try:
            return fn(*args, **kwargs)
        except FieldError as exc:
            self.error(exc.field or field, exc.message)
        except FieldErrors as exc:
            for key, messages in exc.errors.items():
                for message in messages:
                    self.error(key, message)
        return None

    def text(self, field: str, max_len: int, required: bool = False, default: str = "") -> None:
        if self.skip(field):
            return
        value = self.raw.get(field)
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.error(field, _l("Must be text."))
            return
        value = value.strip()
        if required and not value:
            self.error(field, _l("This field is required."))
            return
        if len(value) > max_len:
            self.error(field, _l("At most %(n)s characters.", n=max_len))
            return
        self.out[field] = value or default

    def integer(self, field: str, minimum: int | None = 0, required: bool = False, default=None) -> None:
        if self.skip(field):
            return
        value = self.raw.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(field, _l("This field is required."))
            else:
                self.out[field] = default
            return
        if isinstance(value, bool):
            self.error(field, _l("Must be a whole number."))
            return
        if isinstance(value, float):
            if not math.isfinite(value) or value != int(value):
                self.error(field, _l("Must be a whole number."))
                return
            value = int(value)
        if isinstance(value, str):
            text = value.strip().replace(" ", "").replace("\u00a0", "")
            try:
                value = int(text)
            except ValueError:
                self.error(field, _l("Must be a whole number."))
                return
        if not isinstance(value, int):
            self.error(field, _l("Must be a whole number."))
            return
        if minimum is not None and value < minimum:
            self.error(field, _l("Must be at least %(n)s.", n=minimum))
            return
        if abs(value) > 2_000_000_000:
            self.error(field, _l("This number is too large."))
            return
        self.out[field] = value

    def boolean(self, field: str, default: bool | None = None) -> None:
        if self.skip(field):
            return
        value = self.raw.get(field)
        if value is None:
            if default is not None:
                self.out[field] = default
            return
        if isinstance(value, bool):
            self.out[field] = value
            return
        word = str(value).strip().casefold()
        if word in TRUE_WORDS:
            self.out[field] = True
        elif word in FALSE_WORDS:
            self.out[field] = False if word or default is None else default
        else:
            self.error(field, _l("Must be yes or no."))

    def choice(self, field: str, choices, required: bool = False, default=None) -> None:
        if self.skip(field):
            return
        value = self.raw.get(field)
        if value is None or value == "":
            if required and default is None:
                self.error(field, _l("This field is required."))
            else:
                self.out[field] = default
            return
        if not isinstance(value, str) or value.strip() not in choices:
            self.error(field, _l("Must be one of: %(choices)s.", choices=", ".join(choices)))
            return
        self.out[field] = value.strip()

    def email(self, field: str = "email") -> None:
        if self.skip(field):
            return
        value = self.raw.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.out[field] = ""
            return
        if not isinstance(value, str) or len(value) > 254:
            self.error(field, _l("Enter a valid email address."))
            return
        try:
            self.out[field] = validate_email(value.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            self.error(field, _l("Enter a valid email address."))

    def done(self) -> dict:
        if self.errors:
            raise FieldErrors(self.errors)
        return self.out
