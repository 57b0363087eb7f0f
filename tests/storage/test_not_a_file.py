"""A PostgreSQL URL is never opened as a SQLite file. ``Path()`` of a URL loses a slash
(``postgresql:/sanal@/db?host=...``): taken for a file's path, it became folders named
after the URL in the working folder and a new, migrated, empty database there, which a
command then read and wrote as if it were the server's. Every place that opens a SQLite
file refuses such a name, whole or mangled, before anything is made."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from bot.cli import main
from bot.core.settings import Settings
from storage import backup, health, metrics
from storage.db import Database, DatabaseUnusable

URL = "postgresql://sanal:secret@/sanal?host=/run/postgresql&port=5432"
MANGLED = Path(URL)  # postgresql:/sanal:secret@/sanal?host=...
NAMES = [URL, str(MANGLED)]


@pytest.fixture(autouse=True)
def empty_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a relative name would be made; checked empty (but for what the test made)."""
    monkeypatch.chdir(tmp_path)


def nothing_made(folder: Path, *allowed: str) -> None:
    assert sorted(p.name for p in folder.iterdir() if p.name not in allowed) == []


def test_the_name_is_mangled_by_path() -> None:
    assert str(MANGLED).startswith("postgresql:/sanal:secret@/sanal")


async def test_the_sqlite_database_refuses_it(tmp_path: Path) -> None:
    db = Database(MANGLED)  # not a URL any more: the SQLite class
    with pytest.raises(DatabaseUnusable) as refused:
        await db.open()
    assert "two slashes" in str(refused.value)
    assert "secret" not in str(refused.value)
    nothing_made(tmp_path)


@pytest.mark.parametrize("name", NAMES, ids=["url", "mangled"])
def test_a_backup_refuses_it(tmp_path: Path, name: str) -> None:
    with pytest.raises(backup.BackupError) as refused:
        backup.make(Path(name), tmp_path / "backups" / "b.db", None)
    assert "secret" not in str(refused.value)
    nothing_made(tmp_path, "backups")
    nothing_made(tmp_path / "backups")


@pytest.mark.parametrize("name", NAMES, ids=["url", "mangled"])
async def test_the_read_only_readers_refuse_it(tmp_path: Path, name: str) -> None:
    with pytest.raises(DatabaseUnusable):
        health.file_problem(name)
    with pytest.raises(DatabaseUnusable):
        async with metrics.read_only(Path(name)):
            pass
    nothing_made(tmp_path)


def test_settings_and_the_cli_refuse_the_mangled_url(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, db=str(MANGLED))  # type: ignore[call-arg]
    assert Settings(_env_file=None, db=URL).db == URL  # type: ignore[call-arg]
    result = CliRunner().invoke(main, ["status", "--db", str(MANGLED)])
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert "two slashes" in line, line
    assert "secret" not in line
    nothing_made(tmp_path)
