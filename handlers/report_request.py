"""Reports on request (ТАЙЛАН): Telegram gets them as documents with the reply.

A bag governor gets the khural minutes (PDF to file, DOCX for the secretary to edit), the
results chart (PNG) and the round's XLSX; a soum working-group member or operator gets
the soum XLSX and the score sheet to fill.
SMS cannot carry files: the reply says where to get them.

The handler decides, in the message's transaction, whether there are reports to send and
which (``Context.renders``); the files are made after the commit by :func:`render`, so
the writer is not held while matplotlib and openpyxl work (storage/held_replies.py says
how the reply waits for them). Files are written to the reports folder
(``SANAL_REPORTS_DIR``) and named in the outbox row's ``documents``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.core.settings import Settings
from handlers.context import Context
from handlers.reports.data import CountsHidden, round_report, soum_report
from handlers.soum import planning_year, soum_of
from storage import rounds
from storage.db import Tx

MIME = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
OPEN = ("draft", "collecting", "voting")


def files(spec: dict[str, Any]) -> list[str]:
    """The file names a render spec makes, in the order they are sent."""
    if spec["doc"] == "soum":
        stem = f"{spec['soum']}-{spec['year']}"
        return [f"soum-{stem}.xlsx", f"scores-{stem}.xlsx"]
    stem = f"{spec['bag']}-{spec['year']}"
    if spec["doc"] == "chart":
        return [f"results-{stem}.png"]
    return [f"minutes-{stem}.pdf", f"minutes-{stem}.docx", f"results-{stem}.png",
            f"round-{stem}.xlsx"]  # fmt: skip


async def attach_chart(ctx: Context, round_id: int) -> None:
    """Add the round's results chart to the reply, where the channel carries files."""
    if not ctx.inbound.channel.caps.documents:
        return
    rnd = await rounds.get(ctx.conn, round_id)
    if rnd is None or rnd.status in OPEN:
        return
    try:
        await round_report(ctx.conn, rnd, ctx.settings.min_voters_for_counts)
    except CountsHidden:  # the reply already says why there are no counts
        return
    chart = {"doc": "chart", "round_id": rnd.id, "bag": rnd.bag_code, "year": rnd.year}
    ctx.renders.append({**chart, "lang": ctx.person.lang})


async def request(ctx: Context) -> None:
    bag_code = await ctx.governed_bag()
    soum_code = None if bag_code else await soum_of(ctx.conn, ctx.person.id, ctx.person.bag_code)
    if bag_code is None and soum_code is None:
        await ctx.audit("refused.report")
        ctx.reply("report.not_allowed")
        return
    if not ctx.inbound.channel.caps.documents:
        ctx.reply("report.telegram_only")
        return
    lang = "en" if ctx.person.lang == "en" else "mn"
    spec: dict[str, Any] = {}
    if bag_code is not None:
        rnd = await rounds.current(ctx.conn, bag_code)
        if rnd is None:
            ctx.reply("round.none")
            return
        ctx.round_id = rnd.id
        if rnd.status in OPEN:
            ctx.reply("report.round_open")
            return
        try:
            await round_report(ctx.conn, rnd, ctx.settings.min_voters_for_counts)
        except CountsHidden:
            ctx.reply("report.too_few", min=ctx.settings.min_voters_for_counts)
            return
        spec = {"doc": "round", "round_id": rnd.id, "bag": rnd.bag_code, "year": rnd.year}
        await ctx.audit("report.round", unit_code=bag_code, round_id=rnd.id)
    elif soum_code is not None:
        year = await planning_year(ctx.conn, ctx.settings, soum_code, ctx.now)
        spec = {"doc": "soum", "soum": soum_code, "year": year}
        await ctx.audit("report.soum", unit_code=soum_code, year=year)
    spec["lang"] = lang
    ctx.renders.append(spec)
    ctx.reply("report.sent", name=", ".join(files(spec)))


async def render(conn: Tx, settings: Settings, spec: dict[str, Any]) -> list[dict[str, str]]:
    """Make the files a spec names (reading through ``conn``, outside any write) and
    return them as the outbox's ``documents``. The heavy part runs in a thread."""
    # The renderers load matplotlib, openpyxl and python-docx: only a process that
    # renders pays for them, not every `sanal` command and webhook worker at start.
    from handlers.reports.chart import results_png
    from handlers.reports.minutes import khural_facts, minutes_of
    from handlers.reports.minutes_docx import minutes_docx
    from handlers.reports.minutes_pdf import minutes_pdf
    from handlers.reports.xlsx import round_workbook, save, score_sheet, soum_workbook

    lang = str(spec["lang"])
    makers: list[Callable[[], bytes]]
    if spec["doc"] == "soum":
        srep = await soum_report(
            conn, spec["soum"], int(spec["year"]), settings.min_voters_for_counts
        )
        makers = [
            lambda: save(soum_workbook(srep, lang)),
            lambda: save(score_sheet(srep.plan, lang, srep.min_voters)),
        ]
    else:
        rnd = await rounds.get(conn, int(spec["round_id"]))
        if rnd is None:
            raise LookupError(f"round {spec['round_id']} is gone")
        rep = await round_report(conn, rnd, settings.min_voters_for_counts)
        if spec["doc"] == "chart":
            makers = [lambda: results_png(rep, None, lang)]
        else:
            made = minutes_of(rep, await khural_facts(conn, rep, settings), lang)
            makers = [
                lambda: minutes_pdf(made),
                lambda: minutes_docx(made),
                lambda: results_png(rep, None, lang),
                lambda: save(round_workbook(rep, lang)),
            ]
    folder = settings.reports_path()
    folder.mkdir(parents=True, exist_ok=True)
    documents = []
    for name, make in zip(files(spec), makers, strict=True):
        path = folder / name
        await asyncio.to_thread(_write, path, make)
        documents.append({"path": str(path), "filename": name, "mime": MIME.get(path.suffix, "")})
    return documents


def _write(path: Path, make: Callable[[], bytes]) -> None:
    """Make a file and put it in place whole: a reply being sent never reads one half
    written (two processes may render the same report at once)."""
    part = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        part.write_bytes(make())
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
