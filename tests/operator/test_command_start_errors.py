"""Every command meets a bad database or a path it cannot write the same way: one line
on stderr, exit code 1, no traceback, nothing hanging (tests/lifecycle/test_start_errors.py
covers serve, migrate, official, sms-cost and report participation; these are the rest:
backup, restore, units import, chat and the report files). Real child processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import suite_backend
from tests.lifecycle.test_start_errors import assert_one_line, sanal
from tests.soum.test_report_cli import built

__all__ = ["built"]  # the soum database with rounds, made once (tests/soum)

UNITS = "level,code,name,parent_code\naimag,64,Баянхонгор,\n"
COMMANDS = [
    ["backup", "copies/"],
    ["restore", "elsewhere.db"],
    ["units", "import", "units.csv"],
    ["chat", "--phone", "99112233"],
    ["report", "round", "644651"],
    ["report", "all", "6446"],
]


def prepare(folder: Path) -> None:
    (folder / "units.csv").write_text(UNITS, encoding="utf-8")
    (folder / "elsewhere.db").write_bytes(os.urandom(4096))


@pytest.mark.sqlite_only  # a damaged SQLite file, named by its path on either pass
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_file_that_is_not_sqlite(tmp_path: Path, args: list[str]) -> None:
    prepare(tmp_path)
    db = tmp_path / "sanal.db"
    db.write_bytes(os.urandom(20_000))
    db.chmod(0o600)
    before = db.read_bytes()
    rc, out, err, _ = sanal(tmp_path, *args, "--db", str(db))
    line = assert_one_line(rc, out, err)
    assert "not" in line, line
    assert "SQLite" in line or "database" in line, line
    assert db.read_bytes() == before


@pytest.mark.sqlite_only  # a SQLite file's folder, named by its path on either pass
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_database_under_a_file(tmp_path: Path, args: list[str]) -> None:
    prepare(tmp_path)
    (tmp_path / "data").write_text("not a folder")
    rc, out, err, _ = sanal(tmp_path, *args, "--db", str(tmp_path / "data" / "sanal.db"))
    assert_one_line(rc, out, err, "data")


@pytest.mark.parametrize(
    "args",
    [
        ["backup", "data/"],
        ["backup", "data/monday.db"],
        ["backup", "copies/", "--key-to", "data/sanal.key"],
        ["report", "round", "644651", "-o", "data/round.xlsx"],
        ["report", "minutes", "644651", "-o", "data/sub/minutes.pdf"],
        ["report", "all", "6446", "--out", "data/reports"],
        ["report", "scores", "6446", "-o", "data/scores.xlsx"],
    ],
    ids=lambda a: " ".join(a),
)
def test_an_output_under_a_file(tmp_path: Path, built: Path, args: list[str]) -> None:
    db = suite_backend.copy(built, tmp_path / "sanal.db")
    (tmp_path / "data").write_text("not a folder")
    rc, out, err, _ = sanal(tmp_path, *args, "--db", str(db))
    line = assert_one_line(rc, out, err.replace("\r", "\n").splitlines()[-1] + "\n")
    assert line == "Error: data: a file, not a folder"
    assert not list(tmp_path.glob("copies*"))
