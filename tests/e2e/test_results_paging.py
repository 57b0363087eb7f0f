"""Results and lists page by whole rows; everyone of the bag reads every rank after the
close; turnout is frozen at the close (issue 12).

A bag with eight proposals with long names and big costs, through the simulator's JSON API
and the real router on a real database: ДҮН and ЖАГСААЛТ are paged through by the
governor, the khural chair and citizens, in Cyrillic (UCS-2, 70/67 a segment) and in Latin
(GSM-7, 160/153), and every rank appears exactly once, no row is cut, and every page fits
SANAL_MAX_SEGMENTS.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Sanal
from bot.core.sms_segments import count_segments, is_gsm7
from bot.core.translit import to_latin
from storage import proposals, rounds
from tests.conftest import GOVERNOR, ZAG_BAG_1, Phone, make_official

CHAIR = "+97699000009"
CYRILLIC = [f"+9769920{i:04d}" for i in range(12)]
LATIN = [f"+9769930{i:04d}" for i in range(4)]
LATECOMERS = [f"+9769940{i:04d}" for i in range(5)]

# Long names with big costs: a row cut inside "10 сая" would read "1…".
PROPOSALS = [
    "Сургуулийн дотуур байрны дулаалга, цонх солих ажил 10 сая",
    "Малын эмнэлгийн барилгын их засвар, тоног төхөөрөмж 25 сая",
    "Баянбулаг багийн төвийн гудамжны гэрэлтүүлэг 18 сая",
    "Хүүхдийн цэцэрлэгийн тоглоомын талбай, хашаа 12 сая",
    "Гүний худаг гаргах, усан сан барих ажил 30 сая",
    "Соёлын төвийн дээвэр солих, халаалт засах 22 сая",
    "Багийн төвөөс сум хүртэлх замын гүүр засах 40 сая",
    "Хог хаягдлын цэг, хашаа байгуулах ажил 7 сая",
]
# Approvals per voter (at most three each): the counts make a clear order.
BALLOTS = [
    [5, 1, 7], [5, 1, 7], [5, 1, 2], [5, 1, 2], [5, 1, 3], [5, 2, 3],
    [5, 3, 4], [1, 4, 6], [7, 6, 8], [7, 2, 4], [5, 3, 8], [1, 2, 6],
]  # fmt: skip

ROW = re.compile(r"^(\d+)\. (?:№|No)(\d+) (.+): (\d+) \((\d+(?:\.\d)?)%\)$")  # handlers/percent.py
MORE = re.compile(r"^(?:Цааш: ДҮН|Tsaash: DUN) (\d+)$")
LIST_ROW = re.compile(r"^(\d+)\. (.+)$")
LIST_MORE = re.compile(r"^(?:Цааш: ЖАГСААЛТ|Tsaash: JAGSAALT) (\d+)$")


def assert_whole(shown: str, full: str) -> None:
    """A row's text is the whole text, or a cut at a word boundary marked with an ellipsis."""
    if shown == full:
        return
    for mark in ("…", "..."):
        if shown.endswith(mark):
            prefix = shown[: -len(mark)]
            assert full.startswith(prefix), (shown, full)
            assert full[len(prefix)] in " ,;:.-", f"cut inside a word: {shown!r} of {full!r}"
            return
    raise AssertionError(f"row text changed: {shown!r} is not {full!r}")


def fits(text: str, sanal: Sanal) -> None:
    segs = count_segments(text)
    assert segs.segments <= sanal.settings.max_segments, (segs, text)


async def page_results(phone: Phone, word: str, sanal: Sanal, latin: bool) -> list[list[int]]:
    """ДҮН, ДҮН 2, ... until a page has no "next" line: the ranks on each page."""
    pages: list[list[int]] = []
    page = 1
    while True:
        reply = await phone.say(word if page == 1 else f"{word} {page}")
        fits(reply, sanal)
        lines = reply.splitlines()
        assert lines[1].startswith("Oroltsoo" if latin else "Оролцоо"), reply
        ranks = []
        nxt = None
        for line in lines[2:]:
            if m := MORE.match(line):
                nxt = int(m[1])
                continue
            row = ROW.match(line)
            assert row, f"not a whole row: {line!r} in {reply!r}"
            full = PROPOSALS[int(row[2]) - 1]
            assert_whole(row[3], to_latin(full) if latin else full)
            ranks.append(int(row[1]))
        assert ranks, reply
        pages.append(ranks)
        if nxt is None:
            return pages
        assert nxt == page + 1, reply
        assert MORE.match(lines[-1]), reply  # the next-page line closes the page
        page = nxt


def assert_every_rank_once(pages: list[list[int]]) -> None:
    seen = [r for p in pages for r in p]
    assert seen == list(range(1, len(PROPOSALS) + 1)), pages


async def page_list(phone: Phone, word: str, sanal: Sanal, latin: bool) -> list[int]:
    numbers: list[int] = []
    page = 1
    while True:
        reply = await phone.say(word if page == 1 else f"{word} {page}")
        fits(reply, sanal)
        nxt = None
        for line in reply.splitlines()[1:]:
            if m := LIST_MORE.match(line):
                nxt = int(m[1])
            elif (row := LIST_ROW.match(line)) and not line.startswith(("СОНГО", "SONGO")):
                full = PROPOSALS[int(row[1]) - 1]
                assert_whole(row[2], to_latin(full) if latin else full)
                numbers.append(int(row[1]))
        if nxt is None:
            return numbers
        assert nxt == page + 1, reply
        page = nxt


async def closed_bag(
    sanal: Sanal,
    client: TestClient[Any, Any],
    *,
    lists: list[list[int]] | None = None,
    while_open: list[str] | None = None,
) -> tuple[dict[str, Phone], str]:
    """The round of the module docstring, voted and closed by the governor; ``lists``
    collects the proposal numbers ЖАГСААЛТ showed while voting, in Cyrillic and Latin,
    ``while_open`` what the chair and a citizen were told by ДҮН before the close."""
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    await make_official(sanal, CHAIR, "chair", ZAG_BAG_1)
    gov = Phone(client, GOVERNOR)
    assert "эхэллээ" in await gov.say("НЭЭХ 2027-03-20 2027-04-01")
    cyr = [Phone(client, n) for n in CYRILLIC]
    lat = [Phone(client, n) for n in LATIN]
    for p in cyr:
        assert "Баянбулаг" in await p.say(f"НЭГДЭХ {ZAG_BAG_1}")
    for p in lat:
        assert "Bayanbulag" in await p.say("join zag 1")
    for i, text in enumerate(PROPOSALS):
        assert f"№{i + 1}" in await cyr[i].say(f"САНАЛ {text}")
    async with sanal.db.write() as conn:
        rnd = await rounds.current(conn, ZAG_BAG_1)
        assert rnd is not None
        stored = [p.text for p in await proposals.of_round(conn, rnd.id)]
    assert stored == PROPOSALS  # the rows below are checked against these texts
    await gov.say("ЗӨВ " + " ".join(str(n) for n in range(1, len(PROPOSALS) + 1)))
    assert "эхэллээ" in await gov.say("ХУРААЛТ")
    if lists is not None:
        lists.append(await page_list(cyr[0], "ЖАГСААЛТ", sanal, latin=False))
        lists.append(await page_list(lat[0], "JAGSAALT", sanal, latin=True))
    voters = [*cyr[:11], lat[0]]  # one Latin writer votes, to read the result in Latin
    for phone, choice in zip(voters, BALLOTS, strict=True):
        reply = await phone.say("СОНГО " + " ".join(map(str, choice)))
        assert "Баярлалаа" in reply or "Bayarlalaa" in reply, reply
    # While voting is open nobody sees counts, the governor included.
    reply = await gov.say("ДҮН")
    assert "12 хүн" in reply, reply
    assert not ROW.search(reply), reply
    if while_open is not None:
        while_open.extend([await Phone(client, CHAIR).say("ДҮН"), await cyr[0].say("ДҮН")])
    closing = await gov.say("ХААХ")
    return {"gov": gov, "chair": Phone(client, CHAIR), "cyr": cyr[1], "lat": lat[0]}, closing


async def test_lists_page_by_whole_rows(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    """ЖАГСААЛТ, ЖАГСААЛТ 2, ...: every proposal once, whole rows, each page in budget."""
    lists: list[list[int]] = []
    await closed_bag(sanal, client, lists=lists)
    assert lists == [list(range(1, len(PROPOSALS) + 1))] * 2


async def test_everyone_of_the_bag_pages_through_every_rank(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    while_open: list[str] = []
    who, closing = await closed_bag(sanal, client, while_open=while_open)
    # The governor's close reply is page 1 of ДҮН, ending with the way to page 2.
    fits(closing, sanal)
    assert closing.splitlines()[-1] == "Цааш: ДҮН 2", closing
    for reply in while_open:  # how many voted, never a count per proposal
        assert "12 хүн" in reply, reply
        assert not ROW.search(reply), reply
    cyrillic_pages = await page_results(who["gov"], "ДҮН", sanal, latin=False)
    assert len(cyrillic_pages) >= 2  # eight long rows do not fit three UCS-2 segments
    assert_every_rank_once(cyrillic_pages)
    # The chair and a citizen read the same pages as the governor, in the same script.
    assert await page_results(who["chair"], "ДҮН", sanal, latin=False) == cyrillic_pages
    assert await page_results(who["cyr"], "ДҮН", sanal, latin=False) == cyrillic_pages
    # In Latin (GSM-7) a page holds more rows; still every rank exactly once.
    latin_pages = await page_results(who["lat"], "DUN", sanal, latin=True)
    assert_every_rank_once(latin_pages)
    assert len(latin_pages) <= len(cyrillic_pages)
    for official in (who["chair"], who["gov"]):
        assert is_gsm7(await official.say("latin"))  # now answered in Latin
        assert await page_results(official, "DUN", sanal, latin=True) == latin_pages
    # A page past the end shows the last page, never an empty one.
    last = (await who["cyr"].say("ДҮН 99")).splitlines()
    assert [int(ROW.match(x)[1]) for x in last[2:]] == cyrillic_pages[-1]  # type: ignore[index]


async def test_the_close_notices_are_whole_rows_within_one_budget(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await closed_bag(sanal, client)
    await sanal.drain_outbox()
    chair = (await Phone(client, CHAIR).inbox())[-1]["text"]
    fits(chair, sanal)
    assert chair.splitlines()[-1] == "Цааш: ДҮН 2", chair  # the chair is told how to go on
    rows = [ROW.match(line) for line in chair.splitlines()[2:-1]]
    assert rows, chair
    assert all(rows), chair
    voter = (await Phone(client, CYRILLIC[1]).inbox())[-1]["text"]
    fits(voter, sanal)
    lines = voter.splitlines()
    assert lines[-1] == "Бүх дүнг авах бол ДҮН гэж бичнэ үү", voter
    for line in lines[1:-1]:
        m = re.match(r"^(\d+)\. (.+) \((\d+)\)$", line)
        assert m, line
    latin_voter = (await Phone(client, LATIN[0]).inbox())[-1]["text"]
    fits(latin_voter, sanal)
    assert latin_voter.splitlines()[-1] == "Buh dung avah bol DUN gej bichne uu", latin_voter


async def test_turnout_is_frozen_at_the_close(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    from handlers.reports.data import participation, round_report

    who, _ = await closed_bag(sanal, client)

    async def figures() -> tuple[str, int, int]:
        turnout_line = (await who["gov"].say("ДҮН")).splitlines()[1]
        async with sanal.db.write() as conn:
            rnd = await rounds.current(conn, ZAG_BAG_1)
            assert rnd is not None
            report = await round_report(conn, rnd)  # what the minutes and the chart show
            rows = await participation(conn, ZAG_BAG_1, rnd.year)
        bag_row = next(r for r in rows if r.code == ZAG_BAG_1)
        return turnout_line, report.participation.registered, bag_row.registered

    before = await figures()
    # 12 + 4 citizens, the governor and the chair: 18 registered, 16 voted.
    assert before == ("Оролцоо 12/18 (66.7%); SMS 12", 18, 18)
    for n in LATECOMERS:
        assert "Баянбулаг" in await Phone(client, n).say(f"НЭГДЭХ {ZAG_BAG_1}")
    assert await figures() == before
