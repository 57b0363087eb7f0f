"""Case endings on names and numbers (bot/mn_case.py), checked against written Mongolian.

The expected forms are ones found written: DOMAIN.md ("Баянбулагт", "№6-г", "ОНХС-ийн",
"ИНХ-ын"), Mongolian laws and contracts ("7.1.6-д заасан", "57.2-т заасан", "6.1-д"),
place names in public texts (Мандал-Овоогийн, Алтанбулагийн, Номхон далайгаас), grammar
references (Доржийн, толийн, Канадаас, Монголоос, Улаанбаатараас, "Араваас доош"), and
the fixed term "Тамгын газар".
"""

from __future__ import annotations

import csv
import io

import pytest

from bot.core.mn_case import ABL, ACC, CASES, DAT, GEN, INS, inflect
from storage.units import packaged_units_csv


@pytest.mark.parametrize(
    ("value", "case", "expected"),
    [
        # Names: the ending written on, by vowel harmony and the last sound.
        ("Баянбулаг", DAT, "Баянбулагт"),
        ("Заг", GEN, "Загийн"),  # after г: -ийн even in a back-vowel word (багийн)
        ("Заг", ABL, "Загаас"),
        ("Заг", ACC, "Загийг"),
        ("Заг", INS, "Загаар"),
        ("Алтанбулаг", GEN, "Алтанбулагийн"),  # a name keeps its stem (not "булгийн")
        ("Мандал-Овоо", GEN, "Мандал-Овоогийн"),  # after a long vowel: -гийн
        ("Чандмань-Овоо", ABL, "Чандмань-Овоогоос"),
        ("Номхон далай", ABL, "Номхон далайгаас"),  # after a diphthong: -г-
        ("Архангай", GEN, "Архангайн"),
        ("Баян-Өлгий", ABL, "Баян-Өлгийгөөс"),
        ("Дорж", GEN, "Доржийн"),
        ("Дорж", DAT, "Доржид"),
        ("Дорж", ABL, "Доржоос"),
        ("Толь", GEN, "Толийн"),
        ("Дундговь", GEN, "Дундговийн"),
        ("Дундговь", DAT, "Дундговьд"),
        ("Канад", ABL, "Канадаас"),
        ("Монгол", ABL, "Монголоос"),
        ("Улаанбаатар", ABL, "Улаанбаатараас"),
        ("Улаанбаатар", DAT, "Улаанбаатарт"),
        ("Ховд", DAT, "Ховдод"),  # a vowel comes in after д, т
        ("Эрдэнэт", DAT, "Эрдэнэтэд"),
        ("Хөвсгөл", ABL, "Хөвсгөлөөс"),
        ("Увс", GEN, "Увсын"),
        ("Дархан", GEN, "Дарханы"),  # after н: -ы, -ий
        ("Хүн", GEN, "Хүний"),
        ("Сэлэнгэ", GEN, "Сэлэнгийн"),  # a short last vowel gives way
        ("Тамга", GEN, "Тамгын"),
        # Names of units: the last word; the common nouns with their real forms.
        ("1-р баг, Баянбулаг", DAT, "1-р баг, Баянбулагт"),
        ("5-р баг", GEN, "5-р багийн"),
        ("1-р хороо", DAT, "1-р хороонд"),
        ("Заг сум", DAT, "Заг суманд"),
        ("Баянхонгор аймаг", GEN, "Баянхонгор аймгийн"),
        ("2-р баг, Баян-Улаан", ABL, "2-р баг, Баян-Улаанаас"),
        ("2-р баг, Буянт 2", DAT, "2-р баг, Буянт 2-т"),  # a name ending in a number
        ("3-р баг, Могой /Рэнчинжугнай/", DAT, "3-р баг, Могой /Рэнчинжугнай/-д"),
        ("ОНХС", GEN, "ОНХС-ийн"),
        ("ИНХ", GEN, "ИНХ-ын"),
        # Numbers: a hyphen and the ending of the number read aloud.
        (6, ACC, "6-г"),  # зургаа
        (6, DAT, "6-д"),
        (6, ABL, "6-гаас"),
        (1, ACC, "1-ийг"),  # нэг
        (1, GEN, "1-ийн"),
        (1, DAT, "1-д"),
        (2, DAT, "2-т"),  # хоёр
        (2, ACC, "2-ыг"),
        (4, ACC, "4-ийг"),  # дөрөв
        (10, ABL, "10-аас"),  # арав: "Араваас доош"
        (16, ACC, "16-г"),  # арван зургаа
        (20, ABL, "20-иос"),  # хорь
        (100, GEN, "100-гийн"),  # зуу
        (0, DAT, "0-т"),  # тэг
    ],
)
def test_written_forms(value: object, case: str, expected: str) -> None:
    assert inflect(value, case) == expected


def test_what_cannot_be_read_is_left_as_it_is() -> None:
    # Latin, no vowel, an unknown abbreviation, an empty name: no guessed ending.
    for value in ("Zag", "ZAG", "ХХ", "ТББ", ""):
        assert inflect(value, DAT) == value
    assert inflect(None, GEN) == "None"
    with pytest.raises(ValueError, match="unknown case"):
        inflect("Заг", "nominative")


def _units() -> list[tuple[str, str]]:
    rows = csv.reader(io.StringIO(packaged_units_csv()))
    next(rows)
    return [(row[0], row[2]) for row in rows]


def test_every_unit_of_the_country_takes_every_ending() -> None:
    """All 2,170 aimags, soums, bags and khoroos: an ending on the last word, the rest of
    the name untouched, never a hyphen glued to a letter except after a number, a slash or
    an abbreviation, and nothing but Cyrillic, digits and the name's own punctuation."""
    units = _units()
    assert len(units) > 2000
    for level, name in units:
        head = name.rsplit(" ", 1)[0] if " " in name else ""
        for case in CASES:
            out = inflect(name, case)
            assert out != name, (level, name, case, out)
            assert out.startswith(head), (level, name, case, out)
            tail = out[len(name) :]
            if tail.startswith("-"):
                assert name[-1].isdigit() or name.endswith("/"), (name, case, out)
            assert all(ch.isalpha() or ch in " ,-/0123456789" for ch in out), out
