"""SMS text maths: encoding, segments, transliteration (pure functions, tested exhaustively)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.sms import MAX_CHARACTERS, TRANSLITERATION, is_gsm7, preview, septets, transliterate

HU_LOWER = "aábcdeéfghiíjklmnoóöőpqrstuúüűvwxyz"


@pytest.mark.parametrize(
    ("body", "encoding", "characters", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # an extension character counts two
        ("€" * 81, "GSM-7", 162, 2),
        ("a" * 152 + "€", "GSM-7", 154, 1),
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),  # 306 = 2 × 153, but the pair is not split
        ("ő" * 70, "UCS-2", 70, 1),
        ("ő" * 71, "UCS-2", 71, 2),
        ("ő" * 134, "UCS-2", 134, 2),
        ("ő" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # an emoji is two UTF-16 units
        ("a" * 66 + "😀" + "a" * 10, "UCS-2", 78, 2),
        ("ő" * 66 + "😀" + "ő" * 66, "UCS-2", 134, 3),  # 134 = 2 × 67, but the surrogate pair is not split
        ("Árvízveszély", "UCS-2", 12, 1),
        ("Vízállás: 700 cm", "UCS-2", 16, 1),
        ("Ébresztő", "UCS-2", 8, 1),
        ("Értesítés", "UCS-2", 9, 1),
        ("Égés, füst", "GSM-7", 10, 1),
    ],
)
def test_preview(body, encoding, characters, segments):
    result = preview(body)
    assert (result.encoding, result.characters, result.segments) == (encoding, characters, segments)


def test_hungarian_transliteration_goes_to_gsm7():
    assert transliterate("ÁRVÍZ ŐRSÉG ÚTÜNK ŰRÖS árvíztűrő tükörfúrógép") == "ARVIZ ÖRSÉG UTÜNK ÜRÖS arviztürö tükörfurogép"
    text = "Árvízvédelmi készültség! Kérjük, a Jane Haining rakpartot „azonnal” hagyják el – köszönjük."
    folded = preview(text, transliterate_text=True)
    assert folded.encoding == "GSM-7"
    assert folded.segments == 1
    assert preview(text).segments == 2  # the same text in UCS-2 needs two parts
    assert "Kérjük" in folded.body  # é is GSM-7 and stays


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=HU_LOWER + HU_LOWER.upper() + " .,!?-0123456789", max_size=400))
def test_transliterated_hungarian_is_always_gsm7_and_never_longer(text):
    folded = transliterate(text)
    assert is_gsm7(folded)
    assert len(folded) == len(text)
    assert preview(folded).segments <= preview(text).segments


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=700))
def test_segments_hold_every_character(text):
    result = preview(text)
    per_part = (153 if result.characters > 160 else 160) if result.encoding == "GSM-7" else (67 if result.characters > 70 else 70)
    assert result.segments * per_part >= result.characters
    assert result.segments == 1 or (result.segments - 1) * per_part < result.characters + result.segments
    if result.encoding == "GSM-7":
        assert all(septets(c) for c in text)
        assert result.characters == sum(septets(c) for c in text)
    else:
        assert result.characters == len(text.encode("utf-16-le")) // 2


# Properties over any text: the segment count against an independent split of the encoded
# message, and transliteration over every character it knows and every GSM-7 character.

GSM7_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
              "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = "^{}\\[~]|€\f"
FOLDED = "".join(chr(code) for code in TRANSLITERATION)


def split_encoded(text: str) -> list[bytes]:
    """The parts an SMS gateway would send, found on the encoded bytes (not on characters): a
    part is at most 153 septets (GSM-7) or 67 UTF-16 units (UCS-2), never ending on the first
    half of an escape pair or of a surrogate pair; one part if the whole fits 160 or 70."""
    if is_gsm7(text):
        data, unit, single, multi = text.encode("gsm03.38"), 1, 160, 153

        def cut_inside(chunk: bytes) -> bool:  # ends on an ESC whose character is in the next part
            trailing = len(chunk) - len(chunk.rstrip(b"\x1b"))
            return trailing % 2 == 1
    else:
        data, unit, single, multi = text.encode("utf-16-be"), 2, 70, 67

        def cut_inside(chunk: bytes) -> bool:  # ends on a high surrogate
            return len(chunk) >= 2 and 0xD8 <= chunk[-2] <= 0xDB
    if len(data) <= single * unit:
        return [data]
    parts = []
    while data:
        chunk = data[: multi * unit]
        if len(chunk) < len(data) and cut_inside(chunk):
            chunk = chunk[:-unit]
        parts.append(chunk)
        data = data[len(chunk):]
    return parts


# Any character but ESC, which the codec passes through as the escape septet itself (no one types
# it; on the wire it would start an escape pair).
any_character = st.characters(codec="utf-8", exclude_characters="\x1b")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.one_of(st.sampled_from(GSM7_BASIC + GSM7_EXTENSION + FOLDED), any_character), max_size=800))
def test_segments_are_the_parts_of_the_encoded_message(text):
    parts = split_encoded(text)
    result = preview(text)
    assert result.segments == len(parts)
    limit = (160 if result.encoding == "GSM-7" else 140) if len(parts) == 1 else (153 if result.encoding == "GSM-7" else 134)
    assert all(len(part) <= limit for part in parts)  # no part over the limit, in septets or bytes


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=any_character, max_size=300), any_character)
def test_one_more_character_never_costs_fewer_segments(text, char):
    assert preview(text + char).segments >= preview(text).segments


# Texts as runs of repeated characters, drawing more often the characters that fold to more than
# one ("…"), those transliteration changes and the GSM-7 extension characters (two septets): a
# long run of "…" is what can make folding dearer.
RICH_ALPHABET = HU_LOWER + HU_LOWER.upper() + GSM7_BASIC + GSM7_EXTENSION + FOLDED
EXPANDING = "".join(c for c in FOLDED if len(transliterate(c)) > 1)
runs_of_characters = st.lists(
    st.tuples(st.one_of(st.sampled_from(EXPANDING), st.sampled_from(FOLDED + GSM7_EXTENSION),
                        st.sampled_from(RICH_ALPHABET)), st.integers(1, 80)),
    max_size=12,
).map(lambda runs: "".join(char * count for char, count in runs)[:1600])


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.one_of(st.text(alphabet=RICH_ALPHABET, max_size=700), runs_of_characters))
def test_transliteration_is_pure_gsm7_and_never_costs_more(text):
    folded = transliterate(text)
    assert is_gsm7(folded)
    assert transliterate(folded) == folded  # folding twice changes nothing
    chosen = preview(text, transliterate_text=True)
    assert chosen.segments <= preview(text).segments
    assert chosen.body in (folded, text)
    assert len(chosen.body) <= max(len(text), MAX_CHARACTERS)


def test_an_ellipsis_heavy_text_goes_out_as_written_when_folding_would_cost_more():
    text = "…" * 60  # one UCS-2 part; folded, 180 septets: two GSM-7 parts
    assert preview(text).segments == 1 and preview(transliterate(text)).segments == 2
    chosen = preview(text, transliterate_text=True)
    assert (chosen.body, chosen.segments) == (text, 1)
