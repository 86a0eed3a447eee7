"""Names in the Hungarian order, on both backends: lists and pickers sort "Pásztor" before
"Pintér" (á is an a there), "Sárközi" before "Szűcs" (sz is a letter of its own, after s),
"Csonka" after "Cukor", "Öveges" after "Ortutay", and "Dr. Abai" under A (a title is not part of
the name's order).

``hungarian_key`` is written after the Hungarian alphabet (MSZ 7048 and ICU's ``hu``
tailoring): the digraphs and trigraph (cs, dz, dzs, gy, ly, ny, sz, ty, zs) are letters, a
doubled one (ssz, ggy, ddzs) counts twice, the long vowels sort with the short ones and only
break ties, ö/ő and ü/ű are letters after o and u. It sorts lists made in Python (a template's
``|by_name``); the database sorts by the same key stored: ``sort_key`` writes it as text whose
plain (byte, code point) order is the key's order, and each named record keeps it in an indexed
``name_key`` column (``sort_key_column``, filled on every insert and whenever the ORM sets the
name, ``keep_sort_key``). So a list is read in order from an index, the same order on SQLite and
PostgreSQL, instead of calling a collation for every comparison."""

from __future__ import annotations

import functools
import re
import unicodedata

from sqlalchemy import Text, event
from sqlalchemy.orm import mapped_column

# Titles that are written before a name and are not sorted on (in either language).
TITLES = ("dr", "prof", "ifj", "id", "özv", "néhai", "mr", "mrs", "ms")
_TITLE_RE = re.compile(r"^(?:(?:" + "|".join(TITLES) + r")\.?\s+)+", re.IGNORECASE)

ALPHABET = ("a", "b", "c", "cs", "d", "dz", "dzs", "e", "f", "g", "gy", "h", "i", "j", "k", "l", "ly", "m",
            "n", "ny", "o", "ö", "p", "q", "r", "s", "sz", "t", "ty", "u", "ü", "v", "w", "x", "y", "z", "zs")
_WEIGHT = {letter: 100 + i for i, letter in enumerate(ALPHABET)}
_MULTI = sorted((letter for letter in ALPHABET if len(letter) > 1), key=len, reverse=True)  # dzs first
# Long vowels sort as their short one; the length only breaks a tie.
_LONG = {"á": "a", "é": "e", "í": "i", "ó": "o", "ő": "ö", "ú": "u", "ű": "ü"}


def strip_title(name: str) -> str:
    """The name without the titles before it ("Dr. Szabó Katalin" → "Szabó Katalin")."""
    return _TITLE_RE.sub("", name.strip())


def _letter(ch: str) -> tuple[str, int]:
    """A character as (its Hungarian base letter or itself, its accent's tie-breaker)."""
    if ch in _LONG:
        return _LONG[ch], 1
    if ch in _WEIGHT:
        return ch, 0
    decomposed = unicodedata.normalize("NFD", ch)
    base = decomposed[0]
    return (base, 2) if len(decomposed) > 1 and base in _WEIGHT else (ch, 0)


@functools.lru_cache(maxsize=65536)
def hungarian_key(name: str | None) -> tuple:
    """A sort key for ``name`` in the Hungarian order (titles left out; then accents, then case
    break ties, lower case first; the text itself last, so that the order is total)."""
    if name is None:
        return ((), (), (), "")
    text = unicodedata.normalize("NFC", strip_title(name))
    lower = text.lower()
    letters = [_letter(ch) for ch in lower]
    plain = "".join(base for base, _ in letters)
    primary, secondary = [], []
    i = 0
    while i < len(plain):
        for multi in _MULTI:
            # A doubled digraph: "ssz" is sz + sz, "ddzs" is dzs + dzs.
            if plain[i] == multi[0] and plain.startswith(multi, i + 1):
                primary += [_WEIGHT[multi], _WEIGHT[multi]]
                secondary += [letters[i][1], max(accent for _, accent in letters[i + 1:i + 1 + len(multi)])]
                i += 1 + len(multi)
                break
            if plain.startswith(multi, i):
                primary.append(_WEIGHT[multi])
                secondary.append(max(accent for _, accent in letters[i:i + len(multi)]))
                i += len(multi)
                break
        else:
            ch = plain[i]
            if ch in _WEIGHT:
                weight = _WEIGHT[ch]
            elif ch.isspace():
                weight = 1
            elif ch.isdigit():
                weight = 10 + int(ch) if ch.isascii() else 20
            elif not ch.isalnum():
                weight = 2  # punctuation: before digits and letters
            else:
                weight = 1000 + ord(ch)  # letters of other alphabets after the Latin ones
            primary.append(weight)
            secondary.append(letters[i][1])
            i += 1
    tertiary = tuple(ch != low for ch, low in zip(text, lower))
    return (tuple(primary), tuple(secondary), tertiary, text)


# A stored key is cut here: names alike in their first ~160 letters sort by id after that.
KEY_LENGTH = 1000


def sort_key(name: str | None) -> str:
    """``hungarian_key`` as text that sorts the same under a plain byte (code point) order: each
    primary weight as six hex digits, then the accents and the case, each level ended by a space
    (below every digit, so a shorter level sorts first as in a tuple), then the text itself."""
    primary, secondary, tertiary, text = hungarian_key(name)
    return "".join((
        "".join(f"{weight:06x}" for weight in primary), " ",
        "".join(str(accent) for accent in secondary), " ",
        "".join("1" if upper else "0" for upper in tertiary), " ",
        text,
    ))[:KEY_LENGTH]


def sort_key_column(source: str = "name"):
    """An indexed column that keeps ``sort_key`` of the column ``source``: filled on every insert
    (the ORM's and bulk inserts alike), and on updates through ``keep_sort_key``. PostgreSQL
    compares it bytewise (``COLLATE "C"``), as SQLite does by default."""

    def default(context):
        return sort_key(context.get_current_parameters().get(source))

    return mapped_column(Text().with_variant(Text(collation="C"), "postgresql"), default=default, index=True,
                         nullable=True)


def keep_sort_key(model, source: str = "name", target: str = "name_key") -> None:
    """Set ``target`` from ``source`` whenever the ORM sets ``source`` on a ``model``."""

    @event.listens_for(getattr(model, source), "set", propagate=True)
    def _set(instance, value, _old, _initiator):
        setattr(instance, target, sort_key(value))
