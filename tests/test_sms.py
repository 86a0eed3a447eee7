"""SMS text maths: encoding, segments, transliteration (pure functions, tested exhaustively)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.sms import is_gsm7, preview, septets, transliterate

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
