"""Every report opened with its own reader, and scanned for what must never be in one.

XLSX with openpyxl, the minutes PDF with pypdf (its text, its embedded Cyrillic font), the
chart PNG with Pillow, the pabulib export with pabutools' own parser, the participation
CSV with the csv module. No report holds a citizen's phone number (in any spelling) or a
ballot's voter key, the only thing that could tie a ballot to a person.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook
from pabutools.election import parse_pabulib
from PIL import Image
from pypdf import PdfReader

from bot.app import Sanal
from bot.core.message import Channel
from bot.core.mn_case import GEN, inflect
from handlers.percent import percent
from handlers.reports.chart import png_size, results_png
from handlers.reports.data import RoundReport, SoumReport, participation, round_report, soum_report
from handlers.reports.minutes_pdf import minutes_pdf
from handlers.reports.pabulib import read_pb, round_pb
from handlers.reports.participation import participation_csv, participation_xlsx
from handlers.reports.xlsx import round_workbook, save, score_sheet, soum_workbook
from storage import identities, people, rounds
from tests.conftest import GOVERNOR, ZAG_BAG_1, ZAG_BAG_2, make_official
from tests.soum.scenario import (
    BAGS,
    MEMBERS,
    SCORES,
    TELEGRAM_ID,
    ZAG,
    Person,
    all_citizens,
    citizens_of,
    scored_and_chosen,
    telegram_say,
)

YEAR = 2028


async def reports(sanal: Sanal) -> tuple[list[RoundReport], SoumReport, dict[str, str], Any]:
    async with sanal.db.write() as conn:
        reps, pbs = [], {}
        for bag in BAGS:
            rnd = await rounds.current(conn, bag)
            assert rnd is not None
            reps.append(await round_report(conn, rnd))
            pbs[bag] = await round_pb(conn, rnd)
        srep = await soum_report(conn, ZAG, YEAR)
        rows = await participation(conn, ZAG, YEAR)
    return reps, srep, pbs, rows


def expected_votes(bag: str) -> dict[int, int]:
    spec = BAGS[bag]
    return {
        n: sum(1 for b in spec["ballots"] if n in b) for n in range(1, len(spec["proposals"]) + 1)
    }


def write_all(
    folder: Path,
    reps: list[RoundReport],
    srep: SoumReport,
    pbs: dict[str, str],
    rows: Any,
    only: tuple[str, ...] = ("round", "soum", "participation"),
) -> list[Path]:
    """Write the reports (``only`` some kinds: drawing PDFs and PNGs takes a moment)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    if "round" in only:
        for rep in reps:
            code = rep.bag.code
            files += [folder / f"round-{code}.xlsx", folder / f"minutes-{code}.pdf",
                      folder / f"results-{code}.png", folder / f"sanal-{code}.pb"]  # fmt: skip
            save(round_workbook(rep), files[-4])
            minutes_pdf(rep, files[-3])
            results_png(rep, files[-2])
            files[-1].write_text(pbs[code], encoding="utf-8")
    if "pabulib" in only:
        for code, text in pbs.items():
            files.append(folder / f"sanal-{code}.pb")
            files[-1].write_text(text, encoding="utf-8")
    if "soum" in only:
        files += [folder / "soum.xlsx", folder / "soum-en.xlsx", folder / "scores.xlsx"]
        save(soum_workbook(srep), files[-3])
        save(soum_workbook(srep, "en"), files[-2])
        save(score_sheet(srep.plan), files[-1])
    if "participation" in only:
        files += [folder / "participation.csv", folder / "participation.xlsx"]
        files[-2].write_text(participation_csv(rows), encoding="utf-8")
        files[-1].write_bytes(participation_xlsx(rows))
    return files


async def test_round_xlsx_minutes_pdf_and_chart_png(
    sanal: Sanal, client: TestClient[Any, Any], tmp_path: Path
) -> None:
    await scored_and_chosen(sanal, client)
    reps, srep, pbs, rows = await reports(sanal)
    write_all(tmp_path, reps, srep, pbs, rows, only=("round",))
    for rep in reps:
        bag, code = BAGS[rep.bag.code], rep.bag.code
        votes = expected_votes(code)

        # XLSX: the round's facts, then one line per proposal, best first.
        wb = load_workbook(tmp_path / f"round-{code}.xlsx")
        assert wb.sheetnames == ["Дүн", "Оролцоо"]
        ws = wb["Дүн"]
        facts = {r[0]: r[1] for r in ws.iter_rows(max_row=9, values_only=True)}
        assert facts["Аймаг"] == "Баянхонгор"
        assert facts["Сум"] == "Заг"
        assert facts["Баг"] == f"{rep.bag.name} ({code})"
        assert facts["Он"] == YEAR
        assert facts["Төлөв"] == "суманд илгээсэн"
        assert facts["Санал өгсөн"] == len(bag["ballots"])
        assert facts["Бүртгэлтэй"] == len(bag["ballots"]) + 1  # the governor lives there too
        assert facts["Хуралд ирсэн"] == bag["attendance"]
        table = [r for r in ws.iter_rows(min_row=12, values_only=True) if r[0] is not None]
        assert [r[0] for r in table] == list(range(1, len(votes) + 1))
        assert {r[1]: r[5] for r in table} == votes
        by_votes = sorted(votes, key=lambda n: -votes[n])
        assert [votes[r[1]] for r in table] == [votes[n] for n in by_votes]
        assert all(isinstance(r[4], int) and r[4] >= 1_000_000 for r in table)  # costs
        channels = {r[0]: r[1] for r in wb["Оролцоо"].iter_rows(min_row=2, values_only=True)}
        assert channels["Нийт"] == len(bag["ballots"])
        if code == ZAG_BAG_2:  # one of its citizens voted in Telegram
            assert channels == {"SMS": 5, "Telegram": 1, "Нийт": 6}

        # PDF: the text is real text in Cyrillic, with date, place, chair, attendance and
        # every proposal's votes, and the font travels inside the file.
        pdf = PdfReader(tmp_path / f"minutes-{code}.pdf")
        text = "\n".join(page.extract_text() for page in pdf.pages)
        flat = " ".join(text.split())
        for needle in (
            f"{inflect(rep.bag.name, GEN)} Иргэдийн Нийтийн Хурлын тэмдэглэл",
            "Аймаг, сум, баг: Баянхонгор, Заг",
            "Хурлын огноо, цаг: 2027-04-10 14:00",
            f"Хурлын газар: {bag['place']}",
            f"Хурлын дарга: Засаг {code[-1]}",
            f"Хуралд оролцогчдын тоо: {bag['attendance']}",
            "Төсвийн жил: 2028",
            "Багийн Засаг дарга",
        ):
            assert needle in flat, needle
        for line in rep.lines:
            first_words = " ".join(line.text.split()[:2])
            assert first_words in flat, first_words
            assert f"{line.votes} ({percent(line.share)})" in flat  # the one rounding
        fonts = [f.get_object() for p in pdf.pages for f in p["/Resources"]["/Font"].values()]
        assert fonts
        assert all("DejaVuSans" in str(f["/BaseFont"]) for f in fonts)
        for f in fonts:
            descriptor = f["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor  # embedded TrueType: prints anywhere

        # PNG: Pillow reads it, at the size the chart promises for this many proposals.
        with Image.open(tmp_path / f"results-{code}.png") as img:
            img.load()
            assert img.format == "PNG"
            assert img.size == png_size(len(rep.lines)) == (1000, 200 + 40 * len(votes))


async def test_soum_xlsx_and_score_sheet(
    sanal: Sanal, client: TestClient[Any, Any], tmp_path: Path
) -> None:
    await scored_and_chosen(sanal, client)
    reps, srep, pbs, rows = await reports(sanal)
    write_all(tmp_path, reps, srep, pbs, rows, only=("soum",))
    plan = srep.plan

    wb = load_workbook(tmp_path / "soum.xlsx")
    assert wb.sheetnames == ["Сумын жагсаалт", "Хуваарилалт", "Гишүүдийн оноо", "Оролцоо",
                             "Шалгуур"]  # fmt: skip
    ws = wb["Сумын жагсаалт"]
    facts = {r[0]: r[1] for r in ws.iter_rows(max_row=6, values_only=True)}
    assert facts["Сум"] == "Заг (6446)"
    assert facts["ОНХС-ийн хязгаар, ₮"] == 80_000_000
    assert facts["Сонгосон дүрэм"] == "эрэмбээр, багтахгүйг алгасах"
    assert facts["Санал өгсөн"] == sum(len(b["ballots"]) for b in BAGS.values())
    header = [c.value for c in ws[8]]
    table = [dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=9, values_only=True)]
    assert [r["Эрэмбэ"] for r in table] == list(range(1, 8))
    assert [r["Сумын №"] for r in table] == [line.item.number for line in plan.lines]
    for r, line in zip(table, plan.lines, strict=True):
        assert line.combined.score is not None
        assert r["Нийт оноо"] == round(float(line.combined.score) * 100, 1)
        assert r["Үнэлсэн гишүүн"] == 3
        # The standard rule's verdict and its reason (the rule in force, marked so),
        # beside both equal shares'.
        standard = r["Эрэмбээр (мөрдөж буй)"]
        assert standard in ("эрэмбээрээ санхүүжинэ", "үлдэгдэл мөнгөнд багтсангүй")
        for equal_shares in (r["Тэгш хуваалт"], r["Энгийн тэгш хуваалт"]):
            assert equal_shares in (
                "дэмжигчдийн тэгш хувиар санхүүжинэ",
                "үлдэгдлээр санхүүжинэ",
                "үлдэгдэл мөнгөнд багтсангүй",
            )
        assert (standard == "эрэмбээрээ санхүүжинэ") == bool(line.greedy and line.greedy.funded)
    scores = list(wb["Гишүүдийн оноо"].iter_rows(min_row=2, values_only=True))
    assert {r[0] for r in scores} == set(MEMBERS.values())  # names of officials, not phones
    assert {(r[1], r[2], r[3]) for r in scores} == {
        (n, v["importance"], v["fit"]) for n, v in SCORES.items()
    }
    assert len(scores) == 3 * 7
    # The three rules side by side, what each spent under its own heading (the sheet in
    # detail: tests/reports/test_xlsx_sheets.py).
    alloc = list(wb["Хуваарилалт"].iter_rows(values_only=True))
    head = next(i for i, r in enumerate(alloc) if r[0] == "Дүрэм")
    spent_at = alloc[head].index("Зарцуулсан, ₮")
    totals = {r[0]: r[spent_at] for r in alloc[head + 1 : head + 4]}
    assert set(totals) == {"эрэмбээр, багтахгүйг алгасах", "тэгш хуваалт", "энгийн тэгш хуваалт"}
    assert all(0 < spent <= 80_000_000 for spent in totals.values())
    weights = {r[0]: r[2] for r in wb["Шалгуур"].iter_rows(min_row=2, values_only=True)}
    assert weights == {"ач холбогдол": 3, "бодлогод нийцэх": 3, "хүртэгчид": 2,
                       "иргэдийн санал": 2}  # fmt: skip

    # The same workbook in English.
    en = load_workbook(tmp_path / "soum-en.xlsx")
    assert len(en.sheetnames) == 5
    assert en.sheetnames != wb.sheetnames

    # The score sheet: one row per proposal, in list order, empty score columns.
    sheet = load_workbook(tmp_path / "scores.xlsx")
    assert sheet["sanal"].sheet_state == "hidden"
    rows_ = list(sheet.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows_] == list(range(1, 8))
    assert all(r[-1] is None and r[-2] is None for r in rows_)


async def test_pabulib_export_reads_back_anonymised(
    sanal: Sanal, client: TestClient[Any, Any], tmp_path: Path
) -> None:
    await scored_and_chosen(sanal, client)
    reps, srep, pbs, rows = await reports(sanal)
    write_all(tmp_path, reps, srep, pbs, rows, only=("pabulib",))
    for bag, spec in BAGS.items():
        path = tmp_path / f"sanal-{bag}.pb"
        inst, prof = parse_pabulib(str(path))  # pabutools' own parser
        # The bag's budget: what the soum's allocation under its rule in force (the
        # standard rule, pabulib's greedy-custom) gives this bag's projects, not the
        # soum's ceiling shared by all bags.
        selected = [p for p in inst if inst.project_meta[p]["selected"] == "1"]
        assert inst.budget_limit == sum(p.cost for p in selected) < 80_000_000
        assert inst.meta["rule"] == "greedy-custom"
        assert "ranking" in inst.meta["comment"]
        assert inst.meta["country"] == "Mongolia"
        assert inst.meta["currency"] == "MNT"
        costs = {p.name: int(p.cost) for p in inst}
        assert len(costs) == len(spec["proposals"])
        assert prof.num_ballots() == len(spec["ballots"])
        # The same ballots, as a multiset: nothing lost, nothing added.
        got = Counter(tuple(sorted(int(p.name) for p in b)) for b in prof)
        assert got == Counter(tuple(sorted(b)) for b in spec["ballots"])
        for p in inst:
            assert int(inst.project_meta[p]["votes"]) == expected_votes(bag)[int(p.name)]

        # Voters are 1..n in an order made of the ballots alone; no other voter column.
        text = path.read_text(encoding="utf-8")
        votes_part = text.split("\nVOTES\n", 1)[1].splitlines()
        assert votes_part[0] == "voter_id;vote"
        ids = [int(line.split(";")[0]) for line in votes_part[1:]]
        assert ids == list(range(1, len(spec["ballots"]) + 1))
        ballots = [[int(x) for x in line.split(";")[1].split(",")] for line in votes_part[1:]]
        assert ballots == sorted(ballots, key=lambda b: (len(b), b))
        assert read_pb(text).ballots == [frozenset(map(str, b)) for b in ballots]
        # Whether the soum funds each proposal (its chosen rule) is open data too.
        assert {inst.project_meta[p]["selected"] for p in inst} <= {"0", "1"}


async def test_participation_csv_and_xlsx(
    sanal: Sanal, client: TestClient[Any, Any], tmp_path: Path
) -> None:
    await scored_and_chosen(sanal, client)
    reps, srep, pbs, rows = await reports(sanal)
    write_all(tmp_path, reps, srep, pbs, rows, only=("participation",))
    table = list(csv.DictReader(io.StringIO((tmp_path / "participation.csv").read_text())))
    by_code = {r["code"]: r for r in table}
    # Every bag of Заг (the fourth had no round), then the soum's total.
    assert [r["code"] for r in table] == ["644651", "644653", "644655", "644657", ZAG]
    for bag, spec in BAGS.items():
        r = by_code[bag]
        voted, registered = len(spec["ballots"]), len(spec["ballots"]) + 1
        assert (r["level"], r["year"], r["round_status"]) == ("bag", "2028", "submitted")
        assert (int(r["registered"]), int(r["voted"])) == (registered, voted)
        assert float(r["turnout"]) == round(voted / registered, 4)
        assert int(r["proposals"]) == int(r["accepted"]) == len(spec["proposals"])
        assert int(r["voted_sms"]) + int(r["voted_telegram"]) == voted
    assert by_code[ZAG_BAG_2]["voted_telegram"] == "1"
    assert by_code["644657"]["round_status"] == "-"
    assert by_code["644657"]["voted"] == "0"
    total = by_code[ZAG]
    assert total["level"] == "soum"
    assert int(total["voted"]) == sum(len(s["ballots"]) for s in BAGS.values())
    assert int(total["voted_telegram"]) == 1

    ws = load_workbook(tmp_path / "participation.xlsx")["Оролцоо"]
    cells = list(ws.iter_rows(values_only=True))
    assert cells[0][:8] == ("Код", "Нэгж", "Түвшин", "Он", "Төлөв", "Бүртгэлтэй",
                            "Санал өгсөн", "Оролцоо, %")  # fmt: skip
    assert [(r[0], r[6]) for r in cells[1:]] == [(r["code"], int(r["voted"])) for r in table]


async def test_reports_on_request_in_telegram(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    s = await scored_and_chosen(sanal, client)
    # By SMS the reply says where to get them. (Asked before the Telegram link below: the
    # simulator never writes as a number that is linked to a real channel.)
    assert "Telegram-аар авна" in await s.governors[ZAG_BAG_1].say("ТАЙЛАН")
    # The governor's Telegram account (linked to their phone) asks for the round's reports.
    governor = BAGS[ZAG_BAG_1]["governor"]
    async with sanal.db.write() as conn:
        person = await people.by_phone(conn, governor)
        assert person is not None
        await identities.link(conn, person.id, "telegram", "7770001", sanal.clock.now())
    assert "Тайланг хавсаргалаа" in await telegram_say(sanal, 7770001, "ТАЙЛАН")
    # A citizen is refused.
    assert "зөвхөн Засаг дарга" in await telegram_say(sanal, TELEGRAM_ID, "ТАЙЛАН")
    async with sanal.db.write() as conn:
        rows = await conn.execute_fetchall(
            "SELECT extra FROM outbox WHERE channel = ? AND address = ?",
            (Channel.TELEGRAM.value, "telegram:7770001"),
        )
    docs = json.loads(rows[-1][0])["documents"]
    names = sorted(d["filename"] for d in docs)
    stem = f"{ZAG_BAG_1}-{YEAR}"
    assert names == [f"minutes-{stem}.docx", f"minutes-{stem}.pdf", f"results-{stem}.png",
                     f"round-{stem}.xlsx"]  # fmt: skip
    zipped = b"PK\x03\x04"  # DOCX and XLSX
    assert [magic(Path(d["path"])) for d in docs] == [b"%PDF", zipped, b"\x89PNG", zipped]
    # A working-group member gets the soum's plan and a score sheet.
    member = s.members[0].number
    async with sanal.db.write() as conn:
        person = await people.by_phone(conn, member)
        assert person is not None
        await identities.link(conn, person.id, "telegram", "7770002", sanal.clock.now())
    assert "soum-6446-2028.xlsx" in await telegram_say(sanal, 7770002, "report")


async def test_no_report_holds_a_phone_or_a_voter_key(
    sanal: Sanal, client: TestClient[Any, Any], tmp_path: Path
) -> None:
    await scored_and_chosen(sanal, client)
    reps, srep, pbs, rows = await reports(sanal)
    files = write_all(tmp_path, reps, srep, pbs, rows)
    assert len(files) == 4 * len(BAGS) + 5
    async with sanal.db.write() as conn:
        keys = [r[0] for r in await conn.execute_fetchall("SELECT voter_key FROM ballot_choices")]
        everyone = [r[0] for r in await conn.execute_fetchall(
            "SELECT phone FROM people WHERE phone IS NOT NULL")]  # fmt: skip
        linked = "SELECT CAST(address AS INTEGER) FROM identities WHERE kind = 'telegram'"
        ids = [r[0] for r in await conn.execute_fetchall(linked)]
    assert keys
    assert ids
    # Every phone Sanal knows: the citizens', the officials', anyone who wrote.
    phones = set(everyone)
    assert set(all_citizens()) <= phones
    needles = set()
    for phone in phones:
        local = phone.removeprefix("+976")
        needles |= {phone, local, f"{local[:4]} {local[4:]}", f"{local[:4]}-{local[4:]}"}
    needles |= set(keys) | {str(i) for i in ids}
    for path in files:
        text = readable_text(path)
        for needle in needles:
            assert needle not in text, (path.name, needle)
    # The proposal that carried its author's number shows it masked.
    lights = next(ln for ln in reps[0].lines if "гэрэлтүүлэг" in ln.text)
    assert "холбоо ••••" in lights.text
    # (It was its author's own number, typed with a space: the scan above covered it.)
    author = citizens_of(ZAG_BAG_1)[2].removeprefix("+976")
    assert f"{author[:4]} {author[4:]}" in BAGS[ZAG_BAG_1]["proposals"][2]


def magic(path: Path) -> bytes:
    return path.read_bytes()[:4]


def readable_text(path: Path) -> str:
    """Everything a reader of the file could see, decompressed."""
    raw = path.read_bytes()
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    if path.suffix == ".pdf":
        pdf = PdfReader(path)
        parts = [page.extract_text() for page in pdf.pages]
        parts.append(str(pdf.metadata))
        parts += [p.get_contents().get_data().decode("latin-1") for p in pdf.pages]  # type: ignore[union-attr]
        return "\n".join(parts)
    if path.suffix == ".png":
        with Image.open(path) as img:
            return raw.decode("latin-1") + str(img.info)
    return raw.decode("utf-8")


async def test_governor_gets_the_chart_with_the_results_in_telegram(
    sanal: Sanal, client: TestClient[Any, Any]
) -> None:
    await make_official(sanal, GOVERNOR, "governor", ZAG_BAG_1)
    async with sanal.db.write() as conn:
        person = await people.by_phone(conn, GOVERNOR)
        assert person is not None
        await identities.link(conn, person.id, "telegram", "7770003", sanal.clock.now())
    herders = [Person(sanal, client, f"+9769955000{i}") for i in range(3)]
    assert "эхэллээ" in await telegram_say(sanal, 7770003, "НЭЭХ")
    for h in herders:
        await h.say(f"НЭГДЭХ {ZAG_BAG_1}")
    await herders[0].say("САНАЛ Малын худаг, 40 өрх, 25 сая")
    await herders[1].say("САНАЛ Гүүр засах, 90 өрх, 20 сая")
    await telegram_say(sanal, 7770003, "ЗӨВ 1 2")
    await telegram_say(sanal, 7770003, "ХУРААЛТ")
    for h, vote in zip(herders, ("1", "1 2", "2"), strict=True):
        assert "Баярлалаа" in await h.say(vote)
    assert "3/" in await telegram_say(sanal, 7770003, "ХААХ")
    async with sanal.db.write() as conn:
        rows = await conn.execute_fetchall(
            "SELECT extra FROM outbox WHERE address = 'telegram:7770003' ORDER BY id"
        )
    docs = json.loads(rows[-1][0])["documents"]
    assert [d["mime"] for d in docs] == ["image/png"]
    assert chart_size(Path(docs[0]["path"])) == png_size(2)


def chart_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as img:
        return img.size
