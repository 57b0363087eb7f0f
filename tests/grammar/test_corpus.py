"""Every message of the corpus (tests/grammar/corpus.jsonl) parses to what a person meant.

Each line: the text, the expected kind, and the arguments that matter. A 2015 government
SMS poll lost 17% of replies as invalid; each line here is a vote that must not be lost.
"""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

from bot.core.grammar import Kind, parse
from bot.core.grammar.intents import Intent
from handlers.eligibility import flag_for
from tests.grammar.corpus_lines import ROUTER_KEYS

# corpus.jsonl and corpus_<part>.jsonl beside it: one file per part of the grammar.
CORPORA = sorted(Path(__file__).parent.glob("corpus*.jsonl"))
LINES: list[dict[str, Any]] = [
    json.loads(line)
    for corpus in CORPORA
    for line in corpus.read_text("utf-8").splitlines()
    if line.strip()
]


def _date(text: str) -> date:
    year, month, day = (int(p) for p in text.split("-"))
    return date(year, month, day)


def check(intent: Intent, expected: dict[str, Any]) -> None:
    assert intent.kind == Kind(expected["kind"])
    for key, value in expected.items():
        if key in ROUTER_KEYS:  # what the router does with it: test_corpus_router.py
            continue
        if key == "numbers":
            assert list(intent.numbers) == value
        elif key == "arg_text":
            assert intent.text == value
        elif key == "text_len":
            assert len(intent.text) == value
        elif key == "bare":
            assert intent.extra.get("bare") == "1"
        elif key == "telegram_start":
            assert intent.extra.get("telegram_start") == "1"
        elif key == "help_topic":
            assert intent.text == value
        elif key in ("collect_until", "vote_until", "meeting_date"):
            assert getattr(intent, key) == _date(value)
        elif key in ("meeting_time", "collect_time", "vote_time"):
            assert getattr(intent, key) == time.fromisoformat(value), key
        elif key == "flag":  # Budget Law 60.3: what the governor is warned of, or null
            assert flag_for(intent.text) == value
        else:
            assert getattr(intent, key) == value, key


@pytest.mark.parametrize(
    "line", LINES, ids=[f"{i}:{line['text'][:30]!r}" for i, line in enumerate(LINES, 1)]
)
def test_corpus_line(line: dict[str, Any]) -> None:
    check(parse(line["text"]), line)


def test_corpus_is_large_and_covers_every_kind() -> None:
    assert len(LINES) >= 300
    assert {Kind(line["kind"]) for line in LINES} == set(Kind)
    texts = [line["text"] for line in LINES]
    assert any(len(t) >= 2000 for t in texts)
    assert "" in texts
    assert sum(1 for line in LINES if line.get("bare")) >= 10


def test_every_keyword_in_the_replies_is_understood() -> None:
    """Replies tell people what to type; what they are told must parse, in both scripts."""
    from bot.core.texts import catalog, render
    from bot.core.translit import to_latin

    examples = [
        "НЭГДЭХ 644651",
        "НЭГДЭХ Заг 1",
        "САНАЛ Худаг гаргах, 40 өрх",
        "СОНГО 1 3",
        "ЖАГСААЛТ 2",
        "МИНИЙ",
        "ЗОГС",
        "ЭХЛЭХ",
        "ХЭЛ ЛАТИН",
        "ТУСЛАМЖ",
        "ЗӨВ 1",
        "ТАТГАЛЗ 2 шалтгаан",
        "НЭГТГЭХ 4 2",
        "ХУРААЛТ",
        "ХААХ",
        "ДҮН",
        "БАТЛАХ 64",
        "ХУРАЛ 2027-04-10 14:00 Багийн төв",
        "БҮРТГЭ 99112233",
        "ДҮН 2",
    ]
    for text in examples:
        assert any(text.split()[0] in t for t in catalog("mn").values()), text
        assert parse(text).kind == parse(to_latin(text)).kind != Kind.UNKNOWN, text
    assert render("help.new", "mn_latn").count("NEGDEH") >= 2
