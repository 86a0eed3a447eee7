"""Names in the Hungarian order, on both backends: lists and pickers sort "Pásztor" before
"Pintér" (á is an a there), "Sárközi" before "Szűcs" (sz is a letter of its own, after s),
"Csonka" after "Cukor", "Öveges" after "Ortutay", and "Dr. Abai" under A (a title is not part of
the name's order).

PostgreSQL has the rules already: ICU's ``hu-HU-x-icu`` collation (Debian's PostgreSQL is built
with ICU). SQLite gets a collation named ``hu`` (registered on each connection,
``incident.database``) made of ``hungarian_key``, written here after the Hungarian alphabet
(MSZ 7048 and ICU's ``hu`` tailoring): the digraphs and trigraph (cs, dz, dzs, gy, ly, ny, sz,
ty, zs) are letters, a doubled one (ssz, ggy, ddzs) counts twice, the long vowels sort with the
short ones and only break ties, ö/ő and ü/ű are letters after o and u. ``sort_name(column)``
gives the ORDER BY expression for the session's backend."""

from __future__ import annotations

import functools
import re
import unicodedata

from sqlalchemy import func

# Titles that are written before a name and are not sorted on (in either language).
TITLES = ("dr", "prof", "ifj", "id", "özv", "néhai", "mr", "mrs", "ms")
TITLE_PATTERN = r"^((" + "|".join(TITLES) + r")\.?[[:space:]]+)+"
_TITLE_RE = re.compile(r"^(?:(?:" + "|".join(TITLES) + r")\.?\s+)+", re.IGNORECASE)

ALPHABET = ("a", "b", "c", "cs", "d", "dz", "dzs", "e", "f", "g", "gy", "h", "i", "j", "k", "l", "ly", "m",
            "n", "ny", "o", "ö", "p", "q", "r", "s", "sz", "t", "ty", "u", "ü", "v", "w", "x", "y", "z", "zs")
_WEIGHT = {letter: 100 + i for i, letter in enumerate(ALPHABET)}
_MULTI = sorted((letter for letter in ALPHABET if len(letter) > 1), key=len, reverse=True)  # dzs first
# Long vowels sort as their short one; the length only breaks a tie.
_LONG = {"á": "a", "é": "e", "í": "i", "ó": "o", "ő": "ö", "ú": "u", "ű": "ü"}

ICU_COLLATION = "hu-HU-x-icu"
SQLITE_COLLATION = "hu"


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


def compare(a: str | None, b: str | None) -> int:
    """SQLite's collation callback: negative, zero or positive."""
    ka, kb = hungarian_key(a), hungarian_key(b)
    return (ka > kb) - (ka < kb)


def register_sqlite(dbapi_connection) -> None:
    """Add the ``hu`` collation to a SQLite connection."""
    dbapi_connection.create_collation(SQLITE_COLLATION, compare)


def by_name(column):
    """``sort_name`` for the backend of the current session (for an ORDER BY)."""
    from .extensions import db  # here, not at the top: incident.database imports this module

    return sort_name(column, db.session.get_bind().dialect.name)


def sort_name(column, dialect_name: str):
    """The ORDER BY expression that sorts ``column`` (a name) the Hungarian way on this backend."""
    if dialect_name == "postgresql":
        return func.regexp_replace(column, TITLE_PATTERN, "", "i").collate(ICU_COLLATION)
    return column.collate(SQLITE_COLLATION)
