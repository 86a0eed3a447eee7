"""SMS text maths (pure functions): encoding, characters, segments, transliteration, cost.

GSM 03.38 (GSM-7): 160 septets in one part, 153 a part beyond (the rest is the concatenation
header); the extension characters (``€ [ ] { } | ~ ^ \\`` and form feed) take two septets and an
escape pair is never split across parts. Anything outside GSM-7 sends the whole message as UCS-2:
70 UTF-16 units in one part, 67 a part beyond, surrogate pairs (an emoji) never split.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67
MAX_CHARACTERS = 1600  # Twilio's limit for one message body

# Hungarian letters that GSM-7 lacks, and the typography word processors put in, mapped to the
# nearest GSM-7 character(s). é É ö Ö ü Ü are in GSM-7 and stay.
TRANSLITERATION = str.maketrans({
    "á": "a", "Á": "A", "í": "i", "Í": "I", "ó": "o", "Ó": "O", "ú": "u", "Ú": "U",
    "ő": "ö", "Ő": "Ö", "ű": "ü", "Ű": "Ü",
    "„": '"', "”": '"', "“": '"', "»": '"', "«": '"', "‘": "'", "’": "'", "‚": "'",
    "–": "-", "—": "-", "−": "-", "…": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
    "°": "o", "·": ".", "•": "*", "×": "x",
})


@dataclass(frozen=True)
class Preview:
    body: str
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # septets for GSM-7 (extension characters count two), UTF-16 units for UCS-2
    segments: int


def septets(char: str) -> int | None:
    """How many GSM-7 septets ``char`` takes (1 or 2), or None if GSM-7 cannot carry it."""
    try:
        return len(char.encode("gsm03.38"))
    except UnicodeEncodeError:
        return None


def is_gsm7(text: str) -> bool:
    return all(septets(c) is not None for c in text)


def transliterate(text: str) -> str:
    """Fold letters outside GSM-7 to their nearest GSM-7 letter (ő→ö, ű→ü, á→a…), so that a
    Hungarian text goes out at GSM-7 rates. Letters with no such fold are kept as they are."""
    folded = text.translate(TRANSLITERATION)
    out = []
    for char in folded:
        if septets(char) is not None:
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and is_gsm7(base) else char)
    return "".join(out)


def _parts(units: list[int], single: int, multi: int) -> int:
    """Segments for a message whose characters take ``units`` each, never splitting one."""
    total = sum(units)
    if total == 0:
        return 1
    if total <= single:
        return 1
    parts, used = 1, 0
    for size in units:
        if used + size > multi:
            parts += 1
            used = 0
        used += size
    return parts


def _utf16_units(char: str) -> int:
    return len(char.encode("utf-16-le")) // 2


def preview(body: str, transliterate_text: bool = False) -> Preview:
    """What ``body`` costs as an SMS: encoding, characters and segments. Transliteration never
    makes it dearer or too long to send: "…" folds to three characters, so a text full of them
    can need more GSM-7 parts than UCS-2 ones (or pass MAX_CHARACTERS), and then the text goes
    out as it was written."""
    if not transliterate_text:
        return _measure(body)
    plain, folded = _measure(body), _measure(transliterate(body))
    if folded.segments > plain.segments or len(folded.body) > MAX_CHARACTERS >= len(plain.body):
        return plain
    return folded


def _measure(text: str) -> Preview:
    sizes = [septets(c) for c in text]
    if all(s is not None for s in sizes):
        return Preview(text, "GSM-7", sum(sizes), _parts(sizes, GSM7_SINGLE, GSM7_MULTI))
    units = [_utf16_units(c) for c in text]
    return Preview(text, "UCS-2", sum(units), _parts(units, UCS2_SINGLE, UCS2_MULTI))


def cost(segments: int, recipients: int, price_per_segment: float) -> float:
    """The estimated price of sending ``segments`` parts to ``recipients`` people."""
    return round(segments * recipients * price_per_segment, 4)
