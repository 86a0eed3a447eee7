"""Cleaning of user input shared by the API, the forms and CSV import: every problem is
collected and named by field, so that a form or an import report can show them all at once."""

from __future__ import annotations

import datetime as dt
import math
import re
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


# The longest search text taken (SQLite refuses a LIKE pattern over 50,000 bytes; nobody searches
# with more than a sentence).
MAX_SEARCH_LENGTH = 200
# How deep a JSON document from outside may nest: a GeoJSON FeatureCollection of MultiPolygons is
# eight levels; a deeper one is refused before anything walks it recursively.
MAX_JSON_DEPTH = 32

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
# Digits in groups of three with spaces between them, as people write large numbers ("1 000";
# Hungarian number formats use a no-break or a narrow no-break space). Only whole groups: "1 2"
# is a typing slip, not twelve.
_GROUPED_NUMBER = re.compile(r"[+-]?[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+")
_DIGIT_GROUP_SPACES = str.maketrans("", "", " \u00a0\u202f")


def whole_number(value, field: str, minimum: int | None = None, grouped: bool = True) -> int:
    """The one reader of whole numbers and ids from outside (a form, a query string, JSON, a CSV
    cell): an int, an integral float, or ASCII digits with an optional sign (with ``grouped``,
    spaces between groups of three digits), within the database's INTEGER range and not below
    ``minimum``. Anything
    else raises FieldError naming ``field``: ``"²".isdigit()`` is True and ``int("１２")`` is 12,
    so neither decides here, and a number the database cannot hold never reaches its driver."""
    if isinstance(value, bool):
        raise FieldError(field, _l("Must be a whole number."))
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise FieldError(field, _l("Must be a whole number."))
        value = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if grouped and _GROUPED_NUMBER.fullmatch(text):
            text = text.translate(_DIGIT_GROUP_SPACES)
        if not _WHOLE_NUMBER.fullmatch(text):
            raise FieldError(field, _l("Must be a whole number."))
        if len(text.lstrip("+-").lstrip("0")) > len(str(MAX_INTEGER)):
            raise FieldError(field, _l("This number is too large."))
        value = int(text)
    elif not isinstance(value, int):
        raise FieldError(field, _l("Must be a whole number."))
    if minimum is not None and value < minimum:
        raise FieldError(field, _l("Must be at least %(n)s.", n=minimum))
    if not -MAX_INTEGER - 1 <= value <= MAX_INTEGER:
        raise FieldError(field, _l("This number is too large."))
    return value


def record_id(value, field: str) -> int:
    """A record's id from outside: a whole number from 1 up to MAX_INTEGER, without spaces
    (FieldError otherwise)."""
    return whole_number(value, field, minimum=1, grouped=False)


def id_list(value, field: str) -> list[int]:
    """A list of record ids (JSON numbers, or digit strings from a form's checkboxes), without
    repeats, in the order given; FieldError naming ``field`` if it is not a list or an id is bad."""
    if not isinstance(value, (list, tuple)):
        raise FieldError(field, _l("Must be a list of ids."))
    return list(dict.fromkeys(record_id(item, field) for item in value))


# A date and a time to the minute (seconds and fractions optional), then an optional offset or Z:
# what a form's datetime-local field and an ISO 8601 client send. Week dates, ordinal dates and
# the basic format that ``fromisoformat`` also takes are not how people or clients write a moment.
_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
                     r"(?:Z|z|[+-][0-9]{2}:?[0-9]{2})?")


def moment(value, field: str, zone: dt.tzinfo) -> dt.datetime:
    """The one reader of a point in time from outside: an aware datetime, or ISO 8601 text
    (``2026-06-10T14:30``, with seconds, with an offset or ``Z``). A time without an offset is a
    wall-clock time in ``zone`` (a form's datetime-local field sends one). Returned in UTC;
    anything else raises FieldError naming ``field``."""
    problem = FieldError(field, _l("Must be a date and a time, like 2026-06-10 14:30."))
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and _MOMENT.fullmatch(value.strip()):
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("z", "Z"))
        except ValueError:  # 2026-02-30, 25:00…
            raise problem from None
    else:
        raise problem
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(dt.timezone.utc)
    except (OverflowError, ValueError):  # year 1 or 9999 moved past the calendar's edge
        raise problem from None


TOO_DEEP = _l("The JSON is nested too deeply.")


def json_depth(value) -> int:
    """How deep a parsed JSON value nests (a scalar is 0), found without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest  # deep enough to refuse; no need to walk the rest
        pending.extend((child, depth + 1) for child in children)
    return deepest


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


# Characters that show nothing but make one name look like another ("Saj\u200btó", "Saj\u00adtó",
# "\u202eótjaS" shown as "Sajtó"): every format character (Unicode category Cf: zero-width
# spaces and joiners, the soft hyphen, bidi controls, invisible operators, tags), the combining
# grapheme joiner, variation selectors and the Hangul fillers.
_INVISIBLE_EXTRA = {0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)}
_OVERRIDES = {"\u202a", "\u202b", "\u202d", "\u202e"}  # LRE, RLE, LRO, RLO: closed by PDF
_ISOLATES = {"\u2066", "\u2067", "\u2068"}  # LRI, RLI, FSI: closed by PDI
_RLO, _PDF, _PDI = "\u202e", "\u202c", "\u2069"


def invisible(char: str) -> bool:
    """Whether ``char`` is one that shows nothing (see above)."""
    return unicodedata.category(char) == "Cf" or ord(char) in _INVISIBLE_EXTRA


def clean_name(text: str) -> str:
    """A name or title as a reader sees it: composed (NFC: ``o`` + U+0301 is ``ó``),
    right-to-left overrides resolved into the order shown (``displayed``), invisible characters
    removed, composed again and stripped. ``Saj\\u200btó``, ``Sajto\\u0301``, ``Saj\\u00adtó`` and
    ``\\u202eótjaS`` all become ``Sajtó``."""
    shown = displayed(unicodedata.normalize("NFC", text))
    return unicodedata.normalize("NFC", "".join(c for c in shown if not invisible(c))).strip()


def _clusters(chars: list[str]) -> list[str]:
    """Characters grouped with the combining marks that follow them (reversed as one)."""
    out: list[str] = []
    for char in chars:
        if out and unicodedata.combining(char):
            out[-1] += char
        else:
            out.append(char)
    return out


def displayed(text: str) -> str:
    """``text`` in the order a browser shows it as far as right-to-left overrides go: U+202E
    shows what follows it, up to its PDF or the end, reversed (``"\\u202eótjaS"`` reads
    ``Sajtó``), a letter with its accents kept together. Enough for Latin letters, which nothing
    else reorders."""
    levels: list[tuple[str | None, list[str]]] = [(None, [])]

    def close() -> None:
        kind, pieces = levels.pop()
        levels[-1][1].append("".join(reversed(_clusters(pieces))) if kind == _RLO else "".join(pieces))

    for char in text:
        if char in _OVERRIDES or char in _ISOLATES:
            levels.append((char, []))
        elif (char == _PDF and levels[-1][0] in _OVERRIDES) or (char == _PDI and levels[-1][0] in _ISOLATES):
            close()
        else:
            levels[-1][1].append(char)
    while len(levels) > 1:
        close()
    return "".join(levels[0][1])


def name_key(text: str) -> str:
    """What a name is compared by: as shown (``clean_name``), ignoring case. Two names with one
    key would be taken for one another."""
    return unicodedata.normalize("NFC", clean_name(text).casefold())


def name_taken(name: str, existing) -> bool:
    """Whether ``name`` would be taken for one of ``existing`` (names; compared by ``name_key``
    in Python, since SQLite's lower() folds ASCII letters only)."""
    key = name_key(name)
    return any(name_key(other) == key for other in existing)


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
        self.confirm: str | None = None  # see FieldErrors.confirm

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
            self.confirm = exc.confirm or self.confirm
        return None

    def text(self, field: str, max_len: int, required: bool = False, default: str = "", name: bool = False) -> None:
        """Text up to ``max_len`` characters, stripped; ``name``: a name or title, cleaned of
        invisible characters and composed (``clean_name``) so that look-alikes are caught."""
        if self.skip(field):
            return
        value = self.raw.get(field)
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.error(field, _l("Must be text."))
            return
        value = clean_name(value) if name else value.strip()
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
        number = self.run(field, whole_number, value, field, minimum)
        if number is not None:
            self.out[field] = number

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
            raise FieldErrors(self.errors, confirm=self.confirm)
        return self.out
