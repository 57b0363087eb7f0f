"""Pages of whole rows (handlers/paging.py), on the real catalog texts: every row on exactly
one page and in order, no page over the budget, in both scripts and any budget."""

from __future__ import annotations

import random

import pytest

from bot.core.sms_segments import count_segments
from handlers.context import Text
from handlers.delivery import compose
from handlers.paging import fitted_pages, paginate, words_short

WORDS = ["Сургуулийн", "дотуур", "байрны", "засвар", "10", "сая", "худаг", "гүүр", "өрх"]


def _texts(seed: int) -> list[str]:
    rnd = random.Random(seed)
    return [
        " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 12)))
        for _ in range(rnd.randint(1, 25))
    ]


def _rows(texts: list[str], limit: int = 32) -> list[Text]:
    return [
        Text(
            "results.item",
            {"rank": i, "n": i, "text": words_short(t, limit), "votes": 3, "share": "5%"},
        )
        for i, t in enumerate(texts, start=1)
    ]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("lang", ["mn", "mn_latn", "en"])
@pytest.mark.parametrize("budget", [1, 2, 3])
def test_every_row_once_and_every_page_within_budget(seed: int, lang: str, budget: int) -> None:
    texts = _texts(seed)
    head = [Text("results.header", {"bag": "Баянбулаг", "year": 2027})]
    pages = fitted_pages(
        lambda _p, _n: head,
        lambda limit: _rows(texts, limit),
        lambda n: Text("results.more", {"next": n}),
        lang,
        budget,
        first_limit=32,
    )
    body = [part for page in pages for part in page if part.key == "results.item"]
    assert [p.params["n"] for p in body] == list(range(1, len(texts) + 1))
    for i, page in enumerate(pages, start=1):
        assert count_segments(compose(page, lang)).segments <= budget, page
        if i < len(pages):
            assert page[-1] == Text("results.more", {"next": i + 1})


def test_no_budget_is_one_page_and_max_rows_caps_it() -> None:
    rows = _rows(_texts(7))
    head = [Text("results.header", {"bag": "Б", "year": 2027})]
    more = lambda n: Text("results.more", {"next": n})  # noqa: E731
    assert paginate(lambda _p, _n: head, rows, more, "mn", None) == [[*head, *rows]]
    capped = paginate(lambda _p, _n: head, rows, more, "mn", None, max_rows=2)
    assert [len([x for x in p if x.key == "results.item"]) for p in capped][:-1] == [2] * (
        len(capped) - 1
    )


@pytest.mark.parametrize(
    ("text", "limit", "shown"),
    [
        ("Малын эмнэлгийн засвар 10 сая", 26, "Малын эмнэлгийн засвар 10…"),
        ("Малын эмнэлгийн засвар 10 сая", 25, "Малын эмнэлгийн засвар…"),  # never "1…"
        ("Гудамжны гэрэлтүүлэг, 80 өрх", 22, "Гудамжны гэрэлтүүлэг…"),
        ("Худаг", 3, "Худаг"),  # one long word stays whole
    ],
)
def test_words_short_cuts_at_a_word(text: str, limit: int, shown: str) -> None:
    assert words_short(text, limit) == shown
