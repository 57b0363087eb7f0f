"""Reports on request (ТАЙЛАН): Telegram gets them as documents with the reply.

A bag governor gets the khural minutes (PDF to file, DOCX for the secretary to edit), the
results chart (PNG) and the round's XLSX; a soum working-group member or operator gets
the soum XLSX and the score sheet to fill.
SMS cannot carry files: the reply says where to get them. Files are written to the
reports folder (``SANAL_REPORTS_DIR``) and named in the outbox row's ``documents``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.core.message import Channel
from handlers.context import Context
from handlers.soum import planning_year, soum_of
from storage import rounds

MIME = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
OPEN = ("draft", "collecting", "voting")


def _doc(path: Path) -> dict[str, str]:
    return {"path": str(path), "filename": path.name, "mime": MIME.get(path.suffix, "")}


def _folder(ctx: Context) -> Path:
    folder = ctx.settings.reports_path()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def attach_chart(ctx: Context, round_id: int) -> None:
    """Add the round's results chart to the reply, on Telegram only."""
    if ctx.inbound.channel != Channel.TELEGRAM:
        return
    from handlers.reports.chart import results_png
    from handlers.reports.data import CountsHidden, round_report

    rnd = await rounds.get(ctx.conn, round_id)
    if rnd is None or rnd.status in OPEN:
        return
    try:
        rep = await round_report(ctx.conn, rnd, ctx.settings.min_voters_for_counts)
    except CountsHidden:  # the reply already says why there are no counts
        return
    path = _folder(ctx) / f"results-{rnd.bag_code}-{rnd.year}.png"
    await asyncio.to_thread(results_png, rep, path, ctx.person.lang)
    ctx.documents.append(_doc(path))


async def request(ctx: Context) -> None:
    bag_code = await ctx.governed_bag()
    soum_code = None if bag_code else await soum_of(ctx.conn, ctx.person.id, ctx.person.bag_code)
    if bag_code is None and soum_code is None:
        await ctx.audit("refused.report")
        ctx.reply("report.not_allowed")
        return
    if ctx.inbound.channel != Channel.TELEGRAM:
        ctx.reply("report.telegram_only")
        return
    from handlers.reports.chart import results_png
    from handlers.reports.data import CountsHidden, round_report, soum_report
    from handlers.reports.minutes import khural_facts, minutes_of
    from handlers.reports.minutes_docx import minutes_docx
    from handlers.reports.minutes_pdf import minutes_pdf
    from handlers.reports.xlsx import round_workbook, save, score_sheet, soum_workbook

    folder = _folder(ctx)
    lang = "en" if ctx.person.lang == "en" else "mn"
    paths: list[Path] = []
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
            rep = await round_report(ctx.conn, rnd, ctx.settings.min_voters_for_counts)
        except CountsHidden:
            ctx.reply("report.too_few", min=ctx.settings.min_voters_for_counts)
            return
        stem = f"{rnd.bag_code}-{rnd.year}"
        paths = [folder / f"minutes-{stem}.pdf", folder / f"minutes-{stem}.docx",
                 folder / f"results-{stem}.png", folder / f"round-{stem}.xlsx"]  # fmt: skip
        made = minutes_of(rep, await khural_facts(ctx.conn, rep, ctx.settings), lang)
        await asyncio.to_thread(minutes_pdf, made, paths[0])
        await asyncio.to_thread(minutes_docx, made, paths[1])
        await asyncio.to_thread(results_png, rep, paths[2], lang)
        await asyncio.to_thread(save, round_workbook(rep, lang), paths[3])
        await ctx.audit("report.round", unit_code=bag_code, round_id=rnd.id)
    elif soum_code is not None:
        year = await planning_year(ctx.conn, ctx.settings, soum_code, ctx.now)
        srep = await soum_report(ctx.conn, soum_code, year, ctx.settings.min_voters_for_counts)
        paths = [
            folder / f"soum-{soum_code}-{year}.xlsx",
            folder / f"scores-{soum_code}-{year}.xlsx",
        ]
        await asyncio.to_thread(save, soum_workbook(srep, lang), paths[0])
        await asyncio.to_thread(save, score_sheet(srep.plan, lang, srep.min_voters), paths[1])
        await ctx.audit("report.soum", unit_code=soum_code, year=year)
    ctx.documents.extend(_doc(p) for p in paths)
    ctx.reply("report.sent", name=", ".join(p.name for p in paths))
