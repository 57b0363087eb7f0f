"""The `sanal` command, run as an IT officer would (click's runner, a real SQLite file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env is read from the repository
    monkeypatch.setenv("SANAL_BALLOT_KEY", "cli-test")
    return tmp_path / "cli.db"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_migrate_is_idempotent(db: Path) -> None:
    code, out = run("migrate", "--db", str(db))
    assert code == 0
    assert "0001_core.sql" in out
    code, out = run("migrate", "--db", str(db))
    assert code == 0
    assert "up to date" in out


def test_units_import_counts_and_is_idempotent(db: Path, tmp_path: Path) -> None:
    csv = tmp_path / "units.csv"
    csv.write_text(
        "level,code,name,parent_code\naimag,64,Баянхонгор,\nsoum,6446,Заг,64\n"
        'bag,644651,"1-р баг, Баянбулаг",6446\n',
        encoding="utf-8",
    )
    code, out = run("units", "import", "--db", str(db), str(csv))
    assert code == 0
    assert "3 units read (1 aimags, 1 soums, 1 bags)" in out
    code, out = run("units", "import", "--db", str(db), str(csv))
    assert "0 added, 0 updated, 3 unchanged" in out


def test_malformed_units_file_is_refused_whole(db: Path, tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "level,code,name,parent_code\naimag,99,Шинэ,\nsoum,9901,Сум,99\nbag,99015,Баг,9901\n",
        encoding="utf-8",
    )
    code, out = run("units", "import", "--db", str(db), str(csv))
    assert code == 1
    assert "line 4: a bag code has 6 digits" in out
    assert "nothing imported" in out
    code, out = run(
        "official",
        "add",
        "--db",
        str(db),
        "--phone",
        "99112233",
        "--role",
        "soum",
        "--unit",
        "9901",
    )
    assert code == 1
    assert "unknown unit code 9901" in out


def test_officials_add_list_remove(db: Path) -> None:
    code, out = run(
        "official",
        "add",
        "--db",
        str(db),
        "--phone",
        "+976 9911 2233",
        "--role",
        "governor",
        "--unit",
        "644651",
        "--name",
        "Бат",
    )
    assert code == 0, out
    assert "+97699112233 is governor of 1-р баг, Баянбулаг (644651)" in out
    code, out = run(
        "official",
        "add",
        "--db",
        str(db),
        "--phone",
        "976-99112233",
        "--role",
        "governor",
        "--unit",
        "644651",
    )
    assert "(already)" in out
    code, out = run("official", "list", "--db", str(db))
    assert "+97699112233" in out
    assert "governor" in out
    assert "Бат" in out
    code, out = run("official", "remove", "--db", str(db), "--phone", "99112233")
    assert code == 0
    assert "removed 1 role(s)" in out
    code, out = run("official", "list", "--db", str(db))
    assert "no officials yet" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--phone", "12345", "--role", "governor", "--unit", "644651"], "not a valid number"),
        (["--phone", "99112233", "--role", "governor", "--unit", "6446"], "belongs to a bag"),
        (["--phone", "99112233", "--role", "soum", "--unit", "644651"], "belongs to a soum"),
        (["--phone", "99112233", "--role", "king", "--unit", "644651"], "Invalid value"),
    ],
)
def test_bad_official_input_is_refused_with_a_reason(
    db: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["official", "add", "--db", str(db), *args])
    assert result.exit_code != 0
    assert message in result.output


def test_chat_in_the_terminal(db: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["chat", "--db", str(db), "--phone", "99112233"],
        input="ТУСЛАМЖ\nНЭГДЭХ 644651\n",
    )
    assert result.exit_code == 0, result.output
    replies = [line for line in result.output.splitlines() if line.startswith("< ")]
    assert len(replies) == 2
    assert "НЭГДЭХ" in replies[0]
    assert "Баянбулаг" in replies[1]
