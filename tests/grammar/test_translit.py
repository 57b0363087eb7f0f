"""Transliteration and the SMS segment counter."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.sms_segments import count_segments, fit, is_gsm7
from bot.core.translit import fuzzy_ratio, is_cyrillic, skeleton, to_latin


@pytest.mark.parametrize(
    "variants",
    [
        ("санал", "SANAL", "saanal", "Sanal"),
        ("өвөлжөө", "uvuljuu", "ovoljoo", "qvqljqq"),
        ("хурал", "khural", "hural", "xural"),
        ("ТУСЛАМЖ", "tuslamj", "tuslamzh"),
        ("чандмань", "chandman", "jandman"),
        ("цэцэрлэг", "tsetserleg", "cetserleg"),
        ("бүртгүүлэх", "burtguuleh", "bvrtgvvleh", "bürtgüülekh"),
        ("ДҮН", "dun", "dvn", "DÜN"),
    ],
)
def test_one_skeleton_for_every_writing(variants: tuple[str, ...]) -> None:
    assert len({skeleton(v) for v in variants}) == 1, [skeleton(v) for v in variants]


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("Хүрээмарал", "Hureemaral"),
        ("Баянхонгор", "Bayanhongor"),
        ("Заг", "Zag"),
        ("Өвөрхангай", "Ovorhangai"),
        # The words replies tell people to type, as they type them (DOMAIN.md).
        ("НЭГДЭХ", "NEGDEH"),
        ("ЭХЛЭХ", "EHLEH"),
        ("ХЭЛ", "HEL"),
        ("ХУРААЛТ", "HURAALT"),
        ("ДҮН", "DUN"),  # not "DÜN": GSM-7, but not what anyone types
        ("ЗӨВ 1", "ZOV 1"),
        ("Цэцэрлэг, 40 өрх", "Tsetserleg, 40 orh"),
        ("Сумын, миний", "Sumiin, minii"),
        # е: "e" after a consonant (loanwords as written), "ye" at the start or after a vowel.
        ("мессеж", "messej"),
        ("Телеграм", "Telegram"),
        ("Ерөнхий, бие", "Yeronhii, biye"),
    ],
)
def test_latin_as_herders_type_it_in_gsm7(cyrillic: str, latin: str) -> None:
    assert to_latin(cyrillic) == latin
    assert is_gsm7(latin)
    assert skeleton(latin) == skeleton(cyrillic)  # what a reply says to type still matches


def test_punctuation_outside_gsm7_is_replaced() -> None:
    assert to_latin("«Шинэ» №5 — 25₮") == '"Shine" No5 - 25tug'


@given(st.text(max_size=500))
@settings(max_examples=300, deadline=None)
def test_latin_output_is_always_gsm7(text: str) -> None:
    assert is_gsm7(to_latin(text))


def test_script_detection_and_fuzzy_names() -> None:
    assert is_cyrillic("НЭГДЭХ заг 1")
    assert not is_cyrillic("join zag 1")
    assert fuzzy_ratio("khuremaral", "Хүрээмарал") > 0.85
    assert fuzzy_ratio("Заг", "Баянбулаг") < 0.6


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 0),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters take two septets
        ("€" * 81, "GSM-7", 2),
        ("я" * 70, "UCS-2", 1),
        ("я" * 71, "UCS-2", 2),
        ("я" * 134, "UCS-2", 2),
        ("я" * 135, "UCS-2", 3),
        ("a" * 69 + "🐑", "UCS-2", 2),  # an emoji is two UTF-16 units and forces UCS-2
    ],
)
def test_segment_counts(text: str, encoding: str, segments: int) -> None:
    counted = count_segments(text)
    assert (counted.encoding, counted.segments) == (encoding, segments)


@given(st.text(min_size=1, max_size=1200), st.integers(min_value=1, max_value=4))
@settings(max_examples=300, deadline=None)
def test_fit_respects_the_budget(text: str, budget: int) -> None:
    fitted = fit(text, budget)
    assert count_segments(fitted).segments <= budget
    if count_segments(text).segments <= budget:
        assert fitted == text
