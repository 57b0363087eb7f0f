"""The minutes as files, from a real round: `sanal report minutes --format pdf|docx|both`,
`sanal report all` and ТАЙЛАН in Telegram, each read back (pypdf, python-docx, pdftoppm).

The round: five registered (quorum 3), the khural scheduled for 10 April, confirmed on
2 March with two present after the warning (БАТЛАХ 2 ТИЙМ): below the quorum and before
the meeting, as the minutes must say."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner, Result

from bot.app import Sanal
from bot.cli import main
from bot.core.clock import ManualClock
from bot.web import build_web_app
from storage import identities, people
from tests import suite_backend
from tests.conftest import GOVERNOR, START, ZAG_BAG_1, make_settings
from tests.minutes.khural import closed_round, current, telegram_say
from tests.minutes.read import docx_text, ink_in_bands, page_images, pdf_pages

ZAG = "6446"
NO_INK = {"left": 0, "right": 0, "top": 0, "bottom": 0}
SAID = (
    "Ирц хүрээгүй: 2/3, Засаг дарга баталгаажуулсан.",
    "Хурлын өдрөөс (2027-04-10) өмнө баталсан, Засаг дарга баталгаажуулсан.",
    "Ирц бүрдэхэд бүртгэлтэй 5 иргэнээс 3 хүн оролцох шаардлагатай.",
    "Хуралд оролцогчдын тоо: 2",
    "Хурлын огноо, цаг: 2027-04-10 14:00",
    "Хурлын газар: Багийн соёлын төв",
    "Заг сумын 1-р баг, Баянбулагийн Иргэдийн Нийтийн Хурлын тэмдэглэл",
)


async def _confirmed(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    gov = await closed_round(sanal, client, ZAG_BAG_1, meeting=True)
    assert "Ирц 2/3" in await gov.say("БАТЛАХ 2")
    assert "баталлаа" in await gov.say("БАТЛАХ 2 ТИЙМ")


async def _build(folder: Path) -> None:
    app = Sanal(make_settings(folder), ManualClock(START))
    await app.open()
    try:
        async with TestClient(TestServer(build_web_app(app))) as client:
            await _confirmed(app, client)
    finally:
        await app.stop()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("minutes-db")
    asyncio.run(_build(folder))
    return folder / "sanal.db"


@pytest.fixture
def db(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path | str:
    monkeypatch.chdir(tmp_path)  # default names land here; no stray .env is read
    return suite_backend.copy(built, tmp_path / "sanal.db")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["report", *args], catch_exceptions=False)


def test_both_files_say_the_same_and_nothing_is_cut(db: Path | str, tmp_path: Path) -> None:
    out = tmp_path / "out" / "minutes.pdf"
    result = run("minutes", ZAG_BAG_1, "--db", str(db), "--format", "both", "-o", str(out))
    assert result.exit_code == 0, result.output
    docx = out.with_suffix(".docx")
    assert result.stdout.splitlines() == [str(out), str(docx)]

    pages = pdf_pages(out)
    text = " ".join(pages)
    paragraphs, tables = docx_text(docx)
    for needle in SAID:
        assert needle in text, needle
        assert any(needle in p for p in paragraphs), needle
    assert "Тогтоол №2028/644651-01" in text
    assert "Тогтоол №2028/644651-01" in paragraphs
    # The vote on the list: counts only, the same in both.
    [vote, signatures] = tables
    assert vote[0] == ["Эрэмбэ", "№", "Саналын агуулга", "Өрх", "Өртөг, ₮", "Санал (%)"]
    assert [(r[1], r[2], r[5]) for r in vote[1:]] == [
        ("1", "Малын худаг гаргах, 40 өрх, 25 сая", "4 (100%)"),
        ("2", "Гудамжны гэрэлтүүлэг, 80 өрх, 18 сая", "2 (50%)"),
    ]
    for row in vote[1:]:
        assert " ".join(row[1:3]) in text or row[2] in text
        assert row[5] in text
    assert "+9769930" not in text
    assert not any("+9769930" in p for p in paragraphs)
    assert [r[0] for r in signatures] == [
        "Хурлын дарга:",
        "Нарийн бичгийн дарга:",
        "Багийн Засаг дарга:",
    ]
    for png in page_images(out, tmp_path):
        assert ink_in_bands(png) == NO_INK, png.name


def test_one_format_at_a_time_with_default_names(db: Path | str, tmp_path: Path) -> None:
    assert run("minutes", ZAG_BAG_1, "--db", str(db)).exit_code == 0
    english = run("minutes", ZAG_BAG_1, "--db", str(db), "--format", "docx", "--lang", "en")
    assert english.exit_code == 0, english.output
    names = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("minutes-"))
    assert names == [f"minutes-{ZAG_BAG_1}-2028.docx", f"minutes-{ZAG_BAG_1}-2028.pdf"]
    paragraphs, _ = docx_text(tmp_path / f"minutes-{ZAG_BAG_1}-2028.docx")
    assert "Quorum not reached: 2/3, confirmed by the governor." in paragraphs
    assert any(p.startswith("Confirmed before the meeting date (2027-04-10)") for p in paragraphs)
    bad = CliRunner().invoke(main, ["report", "minutes", ZAG_BAG_1, "--db", str(db),
                                    "--format", "odt"])  # fmt: skip
    assert bad.exit_code == 2
    assert "odt" in bad.output


def test_report_all_writes_the_docx_beside_the_pdf(db: Path | str, tmp_path: Path) -> None:
    result = run("all", ZAG, "--db", str(db), "--out", str(tmp_path / "all"))
    assert result.exit_code == 0, result.output
    written = {Path(line).name for line in result.stdout.splitlines()}
    stem = f"{ZAG_BAG_1}-2028"
    assert {f"minutes-{stem}.pdf", f"minutes-{stem}.docx"} <= written
    paragraphs, _ = docx_text(tmp_path / "all" / f"minutes-{stem}.docx")
    assert SAID[0] in paragraphs
    assert SAID[0] in " ".join(pdf_pages(tmp_path / "all" / f"minutes-{stem}.pdf"))


async def test_telegram_sends_the_docx_too(sanal: Sanal, client: TestClient[Any, Any]) -> None:
    await _confirmed(sanal, client)
    async with sanal.db.write() as conn:
        person = await people.by_phone(conn, GOVERNOR)
        assert person is not None
        await identities.link(conn, person.id, "telegram", "8880002", sanal.clock.now())
    text, extra = await telegram_say(sanal, 8880002, "ТАЙЛАН")
    stem = f"{ZAG_BAG_1}-{(await current(sanal, ZAG_BAG_1)).year}"
    docs = {d["filename"]: d for d in extra["documents"]}
    assert f"minutes-{stem}.docx" in text
    doc = docs[f"minutes-{stem}.docx"]
    assert doc["mime"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    paragraphs, _ = docx_text(Path(doc["path"]))
    assert SAID[0] in paragraphs
    assert SAID[1] in paragraphs
    assert SAID[0] in " ".join(pdf_pages(Path(docs[f"minutes-{stem}.pdf"]["path"])))
