"""`sanal report ...`: every report written to a file, for the soum's and aimag's officers.

The data is gathered in one read of the database; the files are drawn afterwards, outside
the event loop (matplotlib and openpyxl are synchronous). Exports over many bags show a
progress bar (tqdm, on stderr, so stdout keeps only the names of the files written).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.cli_options import db_option, require_database, settings_for
from bot.database import database as open_database
from storage.db import Tx
from storage.keyguard import BallotKeyError

T = TypeVar("T")
LANG = click.Choice(["mn", "en"])


def _read(db: Path | None, work: Callable[[Tx], Awaitable[T]]) -> T:
    """Run ``work`` on a reader of an existing database; report errors as CLI errors."""
    from handlers.reports.data import ReportError

    settings = settings_for(db=db)
    require_database(settings)

    async def go() -> T:
        async with open_database(settings, needs_key=False) as database:  # reads counts
            return await work(database.reader)

    try:
        return asyncio.run(go())
    except (ReportError, BallotKeyError) as exc:
        raise click.ClickException(str(exc)) from None


def _write(path: Path, data: bytes | str, *, echo: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    if echo:
        click.echo(str(path))


@contextmanager
def _bar(total: int, unit: str, desc: str) -> Iterator[Any]:
    from tqdm import tqdm

    with tqdm(total=total, unit=unit, desc=desc, leave=True) as bar:
        yield bar


lang_option = click.option("--lang", type=LANG, default="mn", show_default=True)
year_option = click.option("--year", type=int, default=None, help="Planning year (default: newest)")


def output_option(suffix: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=f"File to write (default: a {suffix} named after the unit, here)",
    )


@click.group(name="report")
def report() -> None:
    """Reports: round and soum XLSX, khural minutes PDF, results PNG, pabulib (.pb) of a
    round and of a soum, the soum's allocation as CSV/JSON, participation."""
    # matplotlib's PDF backend subsets fonts with fontTools, which logs every table it
    # prunes at INFO: noise between the progress bar and the file names.
    logging.getLogger("fontTools").setLevel(logging.WARNING)


# --- a bag's round ---------------------------------------------------------------------------


async def _round_report(conn: Tx, bag: str, year: int | None) -> Any:
    from handlers.reports.data import find_round, round_report

    min_voters = settings_for().min_voters_for_counts
    return await round_report(conn, await find_round(conn, bag, year), min_voters)


def _stem(rep: Any) -> str:
    return f"{rep.bag.code}-{rep.round.year}"


@report.command(name="round")
@db_option
@click.argument("bag")
@year_option
@lang_option
@output_option(".xlsx")
def round_cmd(db: Path | None, bag: str, year: int | None, lang: str, output: Path | None) -> None:
    """A bag round as XLSX: proposals, votes, ranks, participation by channel."""
    from handlers.reports.xlsx import round_workbook, save

    rep = _read(db, lambda conn: _round_report(conn, bag, year))
    _write(output or Path(f"round-{_stem(rep)}.xlsx"), save(round_workbook(rep, lang)))


@report.command()
@db_option
@click.argument("bag")
@year_option
@lang_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pdf", "docx", "both"]),
    default="pdf",
    show_default=True,
    help="PDF to print and file, DOCX for the secretary to edit, or both",
)
@output_option(".pdf or .docx")
def minutes(
    db: Path | None, bag: str, year: int | None, lang: str, fmt: str, output: Path | None
) -> None:
    """The bag khural's minutes: quorum, agenda, the vote, decision No., signatures."""
    from handlers.reports.minutes import khural_facts, minutes_of
    from handlers.reports.minutes_docx import minutes_docx
    from handlers.reports.minutes_pdf import minutes_pdf

    async def work(conn: Tx) -> Any:
        rep = await _round_report(conn, bag, year)
        return rep, minutes_of(rep, await khural_facts(conn, rep, settings_for(db=db)), lang)

    rep, made = _read(db, work)
    for suffix, draw in ((".pdf", minutes_pdf), (".docx", minutes_docx)):
        if fmt in (suffix[1:], "both"):
            path = (output or Path(f"minutes-{_stem(rep)}")).with_suffix(suffix)
            _write(path, draw(made))


@report.command()
@db_option
@click.argument("bag")
@year_option
@lang_option
@output_option(".png")
def chart(db: Path | None, bag: str, year: int | None, lang: str, output: Path | None) -> None:
    """A round's results as a PNG bar chart."""
    from handlers.reports.chart import results_png

    rep = _read(db, lambda conn: _round_report(conn, bag, year))
    _write(output or Path(f"results-{_stem(rep)}.png"), results_png(rep, None, lang))


@report.command()
@db_option
@click.argument("bag")
@year_option
@output_option(".pb")
def pabulib(db: Path | None, bag: str, year: int | None, output: Path | None) -> None:
    """A round as open data in the pabulib .pb format (voters anonymised)."""
    from handlers.reports.data import find_round
    from handlers.reports.pabulib import round_pb

    async def work(conn: Tx) -> tuple[str, str]:
        rnd = await find_round(conn, bag, year)
        min_voters = settings_for().min_voters_for_counts
        return f"{rnd.bag_code}-{rnd.year}", await round_pb(conn, rnd, min_voters)

    stem, text = _read(db, work)
    _write(output or Path(f"sanal-{stem}.pb"), text)


# --- the soum ----------------------------------------------------------------------------------


async def _soum_year(conn: Tx, soum_code: str, year: int | None) -> int:
    from handlers.reports.data import ReportError
    from storage import soum, units

    unit = await units.get(conn, soum_code)
    if unit is None or unit.level != "soum":
        raise ReportError(f"no soum with code {soum_code}")
    if year is not None:
        return year
    newest = await soum.latest_year(conn, soum_code)
    if newest is None:
        raise ReportError(f"soum {soum_code} has no list or ceiling yet")
    return newest


@report.command(name="soum")
@db_option
@click.argument("soum_code", metavar="SOUM")
@year_option
@lang_option
@output_option(".xlsx")
def soum_cmd(
    db: Path | None, soum_code: str, year: int | None, lang: str, output: Path | None
) -> None:
    """The soum's plan as XLSX: list, scores, both allocations with reasons, participation."""
    from handlers.reports.data import soum_report
    from handlers.reports.xlsx import save, soum_workbook

    async def work(conn: Tx) -> Any:
        year_of = await _soum_year(conn, soum_code, year)
        return await soum_report(
            conn, soum_code, year_of, settings_for(db=db).min_voters_for_counts
        )

    rep = _read(db, work)
    path = output or Path(f"soum-{soum_code}-{rep.plan.year}.xlsx")
    _write(path, save(soum_workbook(rep, lang)))


@report.command(name="soum-pb")
@db_option
@click.argument("soum_code", metavar="SOUM")
@year_option
@output_option(".pb")
def soum_pb_cmd(db: Path | None, soum_code: str, year: int | None, output: Path | None) -> None:
    """The soum's allocation as open data in the pabulib .pb format: every bag's projects,
    every ballot (anonymised), the ceiling as budget, selected by the rule in force."""
    from handlers.reports.pabulib import soum_pb

    async def work(conn: Tx) -> tuple[int, str]:
        year_of = await _soum_year(conn, soum_code, year)
        min_voters = settings_for(db=db).min_voters_for_counts
        return year_of, await soum_pb(conn, soum_code, year_of, min_voters)

    year_of, text = _read(db, work)
    _write(output or Path(f"sanal-{soum_code}-{year_of}.pb"), text)


@report.command(name="allocation")
@db_option
@click.option("--soum", "soum_code", required=True, metavar="SOUM", help="The soum's code")
@year_option
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@output_option(".csv or .json")
def allocation_cmd(
    db: Path | None, soum_code: str, year: int | None, fmt: str, output: Path | None
) -> None:
    """The soum's allocation as CSV or JSON: each proposal under each rule, funded or not
    and why, the rule in force and when it was computed, the ceiling."""
    from handlers.reports.allocation_export import allocation_csv, allocation_json
    from handlers.reports.data import soum_report

    async def work(conn: Tx) -> Any:
        year_of = await _soum_year(conn, soum_code, year)
        return await soum_report(
            conn, soum_code, year_of, settings_for(db=db).min_voters_for_counts
        )

    rep = _read(db, work)
    path = output or Path(f"allocation-{soum_code}-{rep.plan.year}.{fmt}")
    _write(path, allocation_csv(rep) if fmt == "csv" else allocation_json(rep))


@report.command()
@db_option
@click.argument("soum_code", metavar="SOUM")
@year_option
@lang_option
@output_option(".xlsx")
def scores(
    db: Path | None, soum_code: str, year: int | None, lang: str, output: Path | None
) -> None:
    """The score sheet a working-group member fills offline (read back by import-scores)."""
    from handlers.reports.xlsx import save, score_sheet
    from handlers.soum_plan import build

    async def work(conn: Tx) -> Any:
        return await build(conn, soum_code, await _soum_year(conn, soum_code, year))

    plan = _read(db, work)
    path = output or Path(f"scores-{soum_code}-{plan.year}.xlsx")
    _write(path, save(score_sheet(plan, lang, settings_for(db=db).min_voters_for_counts)))


@report.command(name="import-scores")
@db_option
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--phone", required=True, help="The working-group member who filled the sheet")
def import_scores_cmd(db: Path | None, sheet: Path, phone: str) -> None:
    """Store a member's scores from a filled score sheet (all or nothing)."""
    from bot.core.clock import SystemClock
    from bot.core.phone import PhoneError, normalise
    from handlers.reports.xlsx import ScoreSheetError, read_score_sheet
    from handlers.soum import import_scores, soum_of
    from storage import people

    try:
        e164 = normalise(phone)
    except PhoneError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        filled = read_score_sheet(sheet)
    except ScoreSheetError as exc:
        raise click.ClickException(f"{sheet}: {exc}; nothing imported") from None
    settings = settings_for(db=db)
    require_database(settings)

    async def go() -> int:
        # Scores, no ballots: like every report command, no key needed.
        async with (
            open_database(settings, needs_key=False) as database,
            database.write() as conn,
        ):
            person = await people.by_phone(conn, e164)
            acts_for = await soum_of(conn, person.id, person.bag_code) if person else None
            if person is None or acts_for != filled.soum_code:
                raise click.ClickException(
                    f"{e164} is not on the working group of soum {filled.soum_code}; "
                    "nothing imported"
                )
            return await import_scores(
                conn,
                settings,
                filled.soum_code,
                filled.year,
                person.id,
                filled.scores,
                SystemClock().now(),
                actor="cli",
                channel="cli",
            )

    try:
        stored = asyncio.run(go())
    except ValueError as exc:  # a line not on the list, a score out of 1-5: rolled back
        raise click.ClickException(f"{sheet}: {exc}; nothing imported") from None
    except BallotKeyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{stored} scores of {len(filled.scores)} proposals stored for {e164}")


# --- participation and everything at once ---------------------------------------------------


async def _newest_round_year(conn: Tx, unit_code: str) -> int:
    from handlers.reports.data import ReportError
    from storage import rounds

    year = await rounds.newest_year(conn, unit_code)
    if year is None:
        raise ReportError(f"no round in unit {unit_code} yet")
    return year


async def _participation(conn: Tx, unit_code: str, year: int | None) -> tuple[int, Any]:
    from handlers.reports.data import participation
    from storage import units

    year = year or await _newest_round_year(conn, unit_code)
    with _bar(await units.count_bags(conn, unit_code), "bag", "participation") as bar:
        rows = await participation(conn, unit_code, year, progress=bar.update)
    return year, rows


@report.command(name="participation")
@db_option
@click.argument("unit")
@year_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx", "png"]),
    default="csv",
    help="png: every bag a tile coloured by turnout, grouped by soum (for a slide)",
)
@lang_option
@output_option(".csv, .xlsx or .png")
def participation_cmd(
    db: Path | None, unit: str, year: int | None, fmt: str, lang: str, output: Path | None
) -> None:
    """Registered, voted, turnout, proposals and channels per bag and soum (CSV or XLSX),
    or turnout by bag as a map-like PNG."""
    from handlers.reports.participation import participation_csv, participation_xlsx, summary
    from handlers.reports.participation_map import participation_png

    year, rows = _read(db, lambda conn: _participation(conn, unit, year))
    path = output or Path(f"participation-{unit}-{year}.{fmt}")
    data: bytes | str
    if fmt == "png":
        data = participation_png(rows, None, lang)
    elif fmt == "xlsx":
        data = participation_xlsx(rows, lang)
    else:
        data = participation_csv(rows)
    _write(path, data)
    click.echo(summary(rows, lang))


@report.command(name="all")
@db_option
@click.argument("unit")
@year_option
@lang_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
)
def all_cmd(db: Path | None, unit: str, year: int | None, lang: str, out_dir: Path) -> None:
    """Every report of a soum or an aimag for a year, with a progress bar."""
    from handlers.reports.allocation_export import allocation_csv, allocation_json
    from handlers.reports.chart import results_png
    from handlers.reports.data import CountsHidden, ReportError, round_report, soum_report
    from handlers.reports.minutes import khural_facts, minutes_of
    from handlers.reports.minutes_docx import minutes_docx
    from handlers.reports.minutes_pdf import minutes_pdf
    from handlers.reports.pabulib import round_pb, soum_pb
    from handlers.reports.participation import participation_csv, participation_xlsx
    from handlers.reports.participation_map import participation_png
    from storage import rounds, soum, units

    async def gather(conn: Tx) -> tuple[int, tuple[list[Any], list[str]], list[Any], Any]:
        target = await units.get(conn, unit)
        if target is None or target.level == "bag":
            raise ReportError(f"no soum or aimag with code {unit}")
        y = year or await _newest_round_year(conn, unit)
        done = []
        hidden: list[str] = []  # rounds with too few voters for counts: said, not written
        min_voters = settings_for(db=db).min_voters_for_counts
        found = await rounds.in_unit(conn, unit, y)
        with _bar(len(found), "round", "rounds") as bar:
            for rnd in found:
                if rnd.status not in ("draft", "collecting", "voting"):
                    try:
                        rep = await round_report(conn, rnd, min_voters)
                        facts = await khural_facts(conn, rep, settings_for(db=db))
                        made = minutes_of(rep, facts, lang)  # the khural's quorum, confirmation
                        done.append((rep, await round_pb(conn, rnd, min_voters), made))
                    except CountsHidden as exc:
                        hidden.append(str(exc))
                bar.update(1)
        soums = [target] if target.level == "soum" else await units.children(conn, unit)
        plans = []
        for s in soums:
            if await soum.latest_year(conn, s.code) is None:
                continue
            srep = await soum_report(conn, s.code, y, min_voters)
            try:  # the soum's .pb: refused with too few voters in a bag, or no ceiling
                pb: str | None = await soum_pb(conn, s.code, y, min_voters)
            except ReportError as exc:
                hidden.append(str(exc))
                pb = None
            plans.append((srep, pb))
        _, part = await _participation(conn, unit, y)
        return y, (done, hidden), plans, part

    y, (done, hidden), plans, part = _read(db, gather)
    for line in hidden:
        click.echo(f"not written: {line}")
    files: list[tuple[Path, Callable[[], bytes | str]]] = []
    for rep, pb, made in done:
        stem = _stem(rep)
        files += [
            (out_dir / f"round-{stem}.xlsx", partial(_round_xlsx, rep, lang)),
            (out_dir / f"minutes-{stem}.pdf", partial(minutes_pdf, made)),
            (out_dir / f"minutes-{stem}.docx", partial(minutes_docx, made)),
            (out_dir / f"results-{stem}.png", partial(results_png, rep, None, lang)),
            (out_dir / f"sanal-{stem}.pb", partial(str, pb)),
        ]
    for srep, soum_pb_text in plans:
        code = srep.plan.soum_code
        files += [
            (out_dir / f"soum-{code}-{y}.xlsx", partial(_soum_xlsx, srep, lang)),
            (out_dir / f"allocation-{code}-{y}.csv", partial(allocation_csv, srep)),
            (out_dir / f"allocation-{code}-{y}.json", partial(allocation_json, srep)),
        ]
        if soum_pb_text is not None:
            files.append((out_dir / f"sanal-{code}-{y}.pb", partial(str, soum_pb_text)))
    files += [
        (out_dir / f"participation-{unit}-{y}.csv", partial(participation_csv, part)),
        (out_dir / f"participation-{unit}-{y}.xlsx", partial(participation_xlsx, part, lang)),
        (out_dir / f"participation-{unit}-{y}.png", partial(participation_png, part, None, lang)),
    ]
    with _bar(len(files), "file", "writing") as bar:
        for path, make in files:
            _write(path, make(), echo=False)
            bar.update(1)
    for path, _ in files:
        click.echo(str(path))


def _round_xlsx(rep: Any, lang: str) -> bytes:
    from handlers.reports.xlsx import round_workbook, save

    return save(round_workbook(rep, lang))


def _soum_xlsx(rep: Any, lang: str) -> bytes:
    from handlers.reports.xlsx import save, soum_workbook

    return save(soum_workbook(rep, lang))
