"""The `sanal` command: serve, migrate, units, officials, chat, report, backup, restore,
status."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bot import logs
from bot.app import Sanal
from bot.backup_cli import backup_cmd, restore_cmd
from bot.channels import simulator, simulator_gate
from bot.chat_input import ChatInput
from bot.cli_options import db_option, os_error_line, require_database, settings_for
from bot.core import log_redact
from bot.core.phone import PhoneError, normalise
from bot.core.settings import Settings, env_file_values, unknown_variables
from bot.database import database as open_database
from bot.db_cli import db_group
from bot.demo import DEMO_HELP, ensure_demo
from bot.gateway_cli import gateway_group
from bot.report_cli import report as report_group
from bot.status import status_cmd
from storage import audit, outbox, people, roles, rounds, units
from storage.backup import BackupError
from storage.keyguard import BallotKeyError

T = TypeVar("T")


def _run(coro: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(coro())  # type: ignore[arg-type]
    except (BallotKeyError, BackupError) as exc:  # a lost key, a failed backup: one line
        raise click.ClickException(str(exc)) from None


class _Group(click.Group):
    """Start errors every command shares (a damaged database file, a path it cannot
    write) end as one line and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from storage.db import DatabaseUnusable

        try:
            return super().invoke(ctx)
        except DatabaseUnusable as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(os_error_line(exc)) from None


@click.group(cls=_Group)
@click.version_option(package_name="sanal", message="sanal %(version)s")
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def main(verbose: bool) -> None:
    """Sanal: citizens' proposals and votes for the Local Development Fund."""
    # The settings ignore a misspelt SANAL_* variable without a word: say so, once, first.
    for line in unknown_variables(os.environ, _env_file_or_nothing()):
        click.echo(f"Warning: {line}", err=True)
    # Text at INFO until the command reads its settings: then SANAL_LOG_LEVEL and
    # SANAL_LOG_FORMAT (bot/logs.py, from bot/cli_options.py).
    logs.start(verbose=verbose)
    # The twilio library logs every request and response at INFO: noise, and CPU at peak.
    logging.getLogger("twilio").setLevel(logging.DEBUG if verbose else logging.WARNING)
    # No phone number, Telegram id or token in any log line, at any level (bot.core.log_redact).
    log_redact.install()


def _env_file_or_nothing() -> dict[str, str]:
    try:
        return env_file_values()
    except (OSError, UnicodeDecodeError):  # a .env that cannot be read: settings say so
        return {}


@main.command()
@db_option
@click.option("--host", default=None, help="Address to listen on (SANAL_HOST, 127.0.0.1)")
@click.option("--port", type=int, default=None, help="Port (SANAL_PORT, 8080)")
@click.option("--demo", is_flag=True, help="Create a demo bag and round on an empty database.")
def serve(db: Path | None, host: str | None, port: int | None, demo: bool) -> None:
    """Start the web server, the simulator, the channels and the senders."""
    settings = settings_for(db=db, host=host, port=port)
    from bot.channels.base import ConfigError
    from bot.serve_loop import StartError

    try:
        code = _run(lambda: _serve(settings, demo))
    except KeyboardInterrupt:  # Ctrl+C before the server was up
        click.echo("stopped")
        return
    except (ConfigError, StartError) as exc:  # a provider without credentials, a port taken
        raise click.ClickException(str(exc)) from None
    if code:  # the stop was cut short (bot/serve_loop.py says what was left)
        raise click.exceptions.Exit(code)
    click.echo("stopped")


async def _serve(settings: Settings, demo: bool) -> int:
    from bot.channels.base import ConfigError
    from bot.serve_loop import serve as run_server
    from bot.wiring import build

    sanal = build(settings)

    async def on_open() -> None:
        # The simulator is training only: a real channel and the simulator "on" (or --demo)
        # without a training token stop the start here, in one line.
        refused = simulator_gate.start_refusal(sanal.simulator, settings, demo=demo)
        if refused is not None:
            raise ConfigError(refused)
        if (notice := simulator_gate.off_notice(sanal.simulator)) is not None:
            click.echo(notice)
        if demo and await ensure_demo(sanal):
            click.echo(DEMO_HELP)

    return await run_server(
        sanal, on_open, lambda url: click.echo(f"Sanal is listening on {url} (Ctrl+C stops)")
    )


@main.command(name="migrate")
@db_option
def migrate_cmd(db: Path | None) -> None:
    """Apply database migrations (safe to run again)."""
    settings = settings_for(db=db)

    async def go() -> list[str]:
        async with open_database(settings) as database:  # migrates, after a backup
            return database.migrated

    applied = _run(go)
    click.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


@main.group(name="units")
def units_group() -> None:
    """Administrative units (aimags, soums, bags)."""


@units_group.command(name="import")
@db_option
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def units_import(db: Path | None, csv_file: Path) -> None:
    """Import units from a level,code,name,parent_code CSV (all or nothing).

    A parent may be listed in the file above its units or be in the database already:
    a file of a soum's new bags needs no copy of the soum and its aimag."""
    settings = settings_for(db=db)
    try:
        # The file on its own first: a bad line is refused before the database is opened.
        units_file = units.read_units_csv(csv_file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise click.ClickException(f"{csv_file}: not UTF-8 text") from None
    except units.UnitsFileError as exc:
        raise click.ClickException(f"{csv_file}: {exc}; nothing imported") from None
    parsed = units_file.units

    national = 0

    async def go() -> dict[str, int]:
        nonlocal national
        async with open_database(settings) as database, database.write() as conn:
            if await units.count(conn) == 0:
                # As at every first start (bot/app.py): the national list underneath, so
                # that a file of new bags finds its soums on a new database too.
                packaged = units.packaged_units()
                national = (await units.upsert_units(conn, packaged))["added"]
            try:
                units_file.check(await units.known_levels(conn))
            except units.UnitsFileError as exc:  # raised inside: the transaction rolls back
                raise click.ClickException(f"{csv_file}: {exc}; nothing imported") from None
            counts = await units.upsert_units(conn, parsed)
            await audit.record(
                conn,
                now=_now(),
                actor="cli",
                channel="cli",
                action="units.import",
                file=csv_file.name,
                counts=counts,
            )
            return counts

    counts = _run(go)
    if national:
        click.echo(f"the database had no units: the national list loaded first ({national})")
    levels = {lvl: sum(1 for u in parsed if u.level == lvl) for lvl in ("aimag", "soum", "bag")}
    click.echo(
        f"{len(parsed)} units read ({levels['aimag']} aimags, {levels['soum']} soums, "
        f"{levels['bag']} bags): {counts['added']} added, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged"
    )


def _now() -> Any:
    from bot.core.clock import SystemClock

    return SystemClock().now()


@main.group()
def official() -> None:
    """Bag governors, khural chairs, soum working-group members, operators."""


ROLE_CHOICE = click.Choice(["governor", "chair", "soum", "operator"])
LEVEL_FOR_ROLE = {
    "governor": ("bag",),
    "chair": ("bag",),
    "soum": ("soum",),
    "operator": ("aimag", "soum", "bag"),
}


@official.command(name="add")
@db_option
@click.option("--phone", required=True)
@click.option("--role", type=ROLE_CHOICE, required=True)
@click.option("--unit", "unit_code", required=True, help="National code of the unit")
@click.option("--name", default=None)
def official_add(db: Path | None, phone: str, role: str, unit_code: str, name: str | None) -> None:
    """Give a person (by phone) a role in a unit."""
    settings = settings_for(db=db)
    e164 = _phone(phone)

    async def go() -> str:
        sanal = Sanal(settings)
        await sanal.open()
        try:
            async with sanal.db.write() as conn:
                unit = await units.get(conn, unit_code)
                if unit is None:
                    raise click.ClickException(f"unknown unit code {unit_code}")
                if unit.level not in LEVEL_FOR_ROLE[role]:
                    raise click.ClickException(
                        f"a {role} belongs to a {' or '.join(LEVEL_FOR_ROLE[role])}, "
                        f"and {unit_code} is a {unit.level}"
                    )
                now = _now()
                person = await people.get_or_create_by_phone(conn, e164, now=now, lang="mn")
                if name:
                    await people.set_name(conn, person.id, name)
                if role in ("governor", "chair") and person.bag_code is None:
                    await people.set_bag(conn, person.id, unit_code, "approved", now)
                added = await roles.grant(conn, person.id, role, unit_code, now)
                await audit.record(
                    conn,
                    now=now,
                    actor="cli",
                    channel="cli",
                    action="official.add",
                    unit_code=unit_code,
                    person_id=person.id,
                    role=role,
                )
                return f"{e164} is {role} of {unit.name} ({unit_code})" + (
                    "" if added else " (already)"
                )
        finally:
            await sanal.stop()

    click.echo(_run(go))


@official.command(name="list")
@db_option
def official_list(db: Path | None) -> None:
    """List every official."""
    settings = settings_for(db=db)

    async def go() -> list[str]:
        async with open_database(settings, needs_key=False) as database:
            out = []
            for r in await roles.all_roles(database.reader):
                unit = await units.get(database.reader, r.unit_code)
                out.append(
                    f"{r.phone or '-':14} {r.role:9} {r.unit_code:7} "
                    f"{unit.name if unit else '?'}  {r.name or ''}".rstrip()
                )
            return out

    lines = _run(go)
    click.echo("\n".join(lines) if lines else "no officials yet")


@official.command(name="remove")
@db_option
@click.option("--phone", required=True)
@click.option("--role", type=ROLE_CHOICE, default=None, help="Only this role (default: all)")
@click.option("--unit", "unit_code", default=None, help="Only in this unit")
def official_remove(db: Path | None, phone: str, role: str | None, unit_code: str | None) -> None:
    """Take roles away from a person."""
    settings = settings_for(db=db)
    e164 = _phone(phone)

    async def go() -> int:
        async with open_database(settings) as database, database.write() as conn:
            person = await people.by_phone(conn, e164)
            if person is None:
                raise click.ClickException(f"no person with phone {e164}")
            n = await roles.revoke(conn, person.id, role, unit_code)
            await audit.record(
                conn,
                now=_now(),
                actor="cli",
                channel="cli",
                action="official.remove",
                person_id=person.id,
                role=role,
                unit_code=unit_code,
                removed=n,
            )
            return n

    click.echo(f"removed {_run(go)} role(s) of {e164}")


def _phone(raw: str) -> str:
    try:
        return normalise(raw)
    except PhoneError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@db_option
@click.option("--phone", required=True, help="Whose phone you are")
def chat(db: Path | None, phone: str) -> None:
    """Talk to Sanal in the terminal as a phone number (the simulator channel).

    Training only, like the simulator page: where real channels are configured or have
    written to the database it needs SANAL_SIMULATOR_TOKEN, and a number nobody uses."""
    settings = settings_for(db=db)
    e164 = _phone(phone)

    async def go() -> None:
        sanal = Sanal(settings)
        await sanal.open()
        try:
            if (refused := simulator_gate.chat_refusal(sanal.simulator, settings)) is not None:
                raise click.ClickException(refused)
            lines = ChatInput()
            try:
                await _chat(sanal, phone, e164, lines)
            finally:
                lines.close()
        finally:
            await sanal.stop()

    try:
        _run(go)
    except KeyboardInterrupt:  # Ctrl+C: the way out of a chat, so no error and no trace
        if sys.stdout.isatty():
            click.echo()  # after the ^C the terminal shows
        click.echo("stopped")


async def _chat(sanal: Sanal, phone: str, e164: str, lines: ChatInput) -> None:
    while True:
        why = await simulator_gate.refusal(sanal.db.reader, sanal.simulator, e164)
        if why is not None:  # checked before each line: a real channel may write
            raise click.ClickException(f"{e164}: {why}")
        line = await lines.next()
        if line is None:
            return
        msg = simulator.inbound(phone, line, sanal.clock.now())
        inbox_id = await sanal.intake.receive_and_wait(msg)
        # Read before sending: a ballot's reply is sealed once sent.
        replies = await outbox.for_inbox(sanal.db.reader, inbox_id)
        await sanal.drain_outbox()
        for row in replies:
            if row.kind == "reply":
                click.echo(f"< {row.text}")


@main.command(name="sms-cost")
@db_option
@click.option("--bag", "bag_code", default=None, help="Only this bag (code).")
@click.option("--round", "round_id", type=int, default=None, help="Only this round (id).")
def sms_cost_cmd(db: Path | None, bag_code: str | None, round_id: int | None) -> None:
    """What SMS cost: messages and segments sent, by provider."""
    settings = settings_for(db=db)
    require_database(settings)

    async def go() -> list[outbox.SmsCost]:
        async with open_database(settings, needs_key=False) as database:
            # An unknown bag or round is a typo, not a unit that sent nothing: "0 messages"
            # would be a wrong answer said with confidence.
            if bag_code is not None:
                bag = await units.get(database.reader, bag_code)
                if bag is None or bag.level != "bag":
                    raise click.ClickException(f"no bag with code {bag_code}")
            if round_id is not None and await rounds.get(database.reader, round_id) is None:
                raise click.ClickException(f"no round with id {round_id}")
            return await outbox.sms_cost(database.reader, bag_code=bag_code, round_id=round_id)

    costs = _run(go)
    for c in costs:
        click.echo(f"{c.channel}: {c.messages} messages, {c.segments} segments")
    total = sum(c.segments for c in costs)
    click.echo(f"total: {sum(c.messages for c in costs)} messages, {total} segments")


# `sanal report ...`: the report commands live beside bot/report_cli.py.
main.add_command(report_group)
# `sanal backup DEST`, `sanal restore SRC` (bot/backup_cli.py).
main.add_command(backup_cmd)
main.add_command(restore_cmd)
# `sanal status`: the operator's page, read-only (bot/status.py).
main.add_command(status_cmd)
# `sanal db copy --from --to` (bot/db_cli.py).
main.add_command(db_group)
# `sanal gateway register`, `sanal gateway list` (bot/gateway_cli.py).
main.add_command(gateway_group)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
