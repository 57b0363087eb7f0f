"""The reply to ХУВААРИЛАХ explains the rules, within what an SMS can afford.

SMS: the rules side by side (the third, the plain variant, only where it fits), and where
to read the explanations (ХУВААРИЛАХ ТАЙЛБАР); that word sends each rule's two sentences,
whole, in as few SMS as they fit; choosing a rule answers with its explanation. Telegram:
all three rules, each explained under the side-by-side, and a button for each.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.sms_segments import count_segments
from bot.core.texts import render
from handlers.soum import import_scores
from storage import identities, people, soum
from tests.soum.scenario import PLAN_YEAR, SCORES, ZAG, Person, telegram_say, three_bags

MEMBER_TELEGRAM = 5550099


async def scored(sanal: Sanal, client: TestClient[Any, Any]) -> list[Person]:
    """Three bags on the list, scored by every member, an 80 сая ceiling, no rule chosen."""
    s = await three_bags(sanal, client)
    async with sanal.db.write() as conn:
        for pid in s.member_ids:
            await import_scores(
                conn, sanal.settings, ZAG, PLAN_YEAR, pid, SCORES, sanal.clock.now(),
                actor="test", channel="cli",
            )  # fmt: skip
    assert "80 сая" in await s.members[0].say("ХЯЗГААР 80 сая")
    return s.members


async def runs(sanal: Sanal) -> int:
    async with sanal.db.write() as conn:
        rows = await conn.execute_fetchall("SELECT count(*) FROM soum_allocations")
    return int(next(iter(rows))[0])


async def later_messages(member: Person, after: str) -> list[str]:
    """The texts the member's phone got after the one that starts with ``after``."""
    await member.sanal.drain_outbox()
    texts = [m["text"] for m in await member.inbox() if m["direction"] == "out"]
    start = max(i for i, t in enumerate(texts) if t.startswith(after))
    return texts[start + 1 :]


def explain(rule: str, lang: str = "mn") -> str:
    return render(f"alloc.explain.{rule}", lang)


async def test_sms_side_by_side_then_the_explanations(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    a, b, _ = await scored(sanal, client)
    reply = await a.say("ХУВААРИЛАХ")
    lines = reply.splitlines()
    assert count_segments(reply).segments <= 3, reply
    assert "…" not in reply, reply
    assert lines[1].startswith("1) Эрэмбээр:")
    assert lines[2].startswith("2) Тэгш хуваалт:")
    # Greedy and equal shares always; the plain variant and the pointer where they fit.
    if lines[3].startswith("3) Энгийн тэгш хуваалт:"):
        assert "ХУВААРИЛАХ ЭНГИЙН" in reply
    assert "Сонгох: ХУВААРИЛАХ ЭРЭМБЭ" in reply
    assert reply.endswith("Дүрмийн тайлбар: ХУВААРИЛАХ ТАЙЛБАР"), reply

    # ТАЙЛБАР in Cyrillic: each rule's two sentences whole, one SMS each (UCS-2 holds
    # 201 characters in three segments; both together would need five).
    before = await runs(sanal)
    first = await a.say("ХУВААРИЛАХ ТАЙЛБАР")
    assert first == f"1) Эрэмбээр: {explain('greedy')}"
    (second,) = await later_messages(a, first[:20])
    assert second == f"2) Тэгш хуваалт: {explain('mes')}"
    for text in (first, second):
        assert count_segments(text).segments <= 3
    assert await runs(sanal) == before  # explaining records nothing

    # In Latin letters both fit one SMS (GSM-7: 153 characters a segment).
    latin = await b.say("huvaarilah tailbar")
    assert latin.startswith("1) Eremb"), latin
    assert "2) Tegsh huvaalt: " in latin, latin
    assert count_segments(latin).segments <= 3
    assert "…" not in latin
    assert await later_messages(b, latin[:20]) == []


async def test_choosing_a_rule_answers_with_its_explanation(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    a, b, _ = await scored(sanal, client)
    chosen = await a.say("ХУВААРИЛАХ ЭНГИЙН")  # the plain variant, under its own name
    assert chosen.startswith("Сонгосон: энгийн тэгш хуваалт. Санхүүжих:"), chosen
    said = [chosen, *await later_messages(a, chosen[:20])]
    assert sum(explain("mes_plain") in t for t in said) == 1, said
    assert all(count_segments(t).segments <= 3 and "…" not in t for t in said)
    async with sanal.db.write() as conn:
        run = await soum.in_force(conn, ZAG, PLAN_YEAR)
    assert run is not None
    assert run.chosen_rule == "mes_plain"
    assert run.cause == "chosen"
    # A look at the rules now says which is in force, still within three segments.
    look = await a.say("ХУВААРИЛАХ")
    assert "Мөрдөж буй дүрэм: энгийн тэгш хуваалт (2027-" in look, look
    assert count_segments(look).segments <= 3
    assert "…" not in look

    # The default equal shares is ТЭГШ (Add1); its explanation says so.
    chosen = await b.say("huvaarilah 2")  # in Latin letters, by number
    assert chosen.startswith("Songoson: tegsh huvaalt. Sanhuujih:"), chosen
    said = [chosen, *await later_messages(b, chosen[:20])]
    assert sum(explain("mes", "mn_latn") in t for t in said) == 1, said
    async with sanal.db.write() as conn:
        run = await soum.in_force(conn, ZAG, PLAN_YEAR)
    assert run is not None
    assert run.chosen_rule == "mes"


async def test_telegram_shows_all_three_rules_explained_with_buttons(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    a, _, c = await scored(sanal, client)
    async with sanal.db.write() as conn:
        member = await people.by_phone(conn, c.number)
        assert member is not None
        await identities.link(conn, member.id, "telegram", str(MEMBER_TELEGRAM), sanal.clock.now())
    assert (await a.say("ХУВААРИЛАХ ТЭГШ")).startswith("Сонгосон: тэгш хуваалт")
    reply = await telegram_say(sanal, MEMBER_TELEGRAM, "ХУВААРИЛАХ")
    lines = reply.splitlines()
    assert [ln[:3] for ln in lines if ln[:2] in ("1)", "2)", "3)")] == ["1) ", "2) ", "3) "] * 2
    assert lines[3].startswith("3) Энгийн тэгш хуваалт:")
    assert lines[4].startswith("Мөрдөж буй дүрэм: тэгш хуваалт (2027-")  # the rule in force
    for rule, name in (("greedy", "1) Эрэмбээр"), ("mes", "2) Тэгш хуваалт"),
                       ("mes_plain", "3) Энгийн тэгш хуваалт")):  # fmt: skip
        assert f"{name}: {explain(rule)}" in lines
    assert "ТАЙЛБАР" not in reply  # the explanations are there already
    async with sanal.db.write() as conn:
        rows = await conn.execute_fetchall(
            "SELECT extra FROM outbox WHERE address = ? AND kind = 'reply' ORDER BY id DESC "
            "LIMIT 1",
            (f"telegram:{MEMBER_TELEGRAM}",),
        )
    extra = json.loads(next(iter(rows))[0])
    assert [b["data"] for row in extra["buttons"] for b in row] == [
        "ALLOCATE GREEDY",
        "ALLOCATE MES",
        "ALLOCATE PLAIN",
    ]
    # A button pressed is the word typed: the plain variant, chosen.
    assert (await telegram_say(sanal, MEMBER_TELEGRAM, "ALLOCATE PLAIN")).startswith(
        "Сонгосон: энгийн тэгш хуваалт"
    )
