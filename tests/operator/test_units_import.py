"""`sanal units import` of a file that adds bags under soums already in the database
(today's national list, or an earlier import): accepted without repeating the soum and
its aimag; a parent found nowhere is refused with its line, and nothing is imported."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from storage import units

HEADER = "level,code,name,parent_code\n"


def shared_units() -> Path:
    """Mongolia's units from the shared data (/work/shared/data), else the packaged copy
    of the same file (tests/storage/test_units.py checks they are the national list)."""
    for folder in Path(__file__).resolve().parents:
        found = folder / "shared" / "data" / "mn_admin_units.csv"
        if found.is_file():
            return found
    return Path(str(resources.files("storage").joinpath("data/mn_admin_units.csv")))


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SANAL_BALLOT_KEY", "units-test-key")
    return tmp_path / "sanal.db"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def write(folder: Path, name: str, rows: str) -> Path:
    path = folder / name
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_new_bags_under_soums_of_the_national_list(db: Path, tmp_path: Path) -> None:
    code, out = run("units", "import", "--db", str(db), str(shared_units()))
    assert code == 0, out
    assert "2170 units read (22 aimags, 339 soums, 1809 bags)" in out
    # A soum redrew its bags: two new ones in Заг (6446), one in Хүрээмарал (6452); the
    # file names neither soum nor aimag.
    extra = write(
        tmp_path,
        "new_bags.csv",
        'bag,644661,"11-р баг, Шинэ",6446\nbag,644662,12-р баг,6446\nbag,645261,9-р баг,6452\n',
    )
    code, out = run("units", "import", "--db", str(db), str(extra))
    assert code == 0, out
    assert "3 units read (0 aimags, 0 soums, 3 bags): 3 added, 0 updated, 0 unchanged" in out
    assert rows(db, "SELECT parent_code, tz FROM units WHERE code = '644661'") == [
        ("6446", "Asia/Ulaanbaatar")
    ]
    # The new bag is a bag like any other: it gets its governor.
    args = ["--phone", "99100661", "--role", "governor", "--unit", "644661"]
    code, out = run("official", "add", "--db", str(db), *args)
    assert code == 0
    assert "11-р баг, Шинэ (644661)" in out
    # Again: nothing changes; a renamed bag is updated.
    renamed = write(tmp_path, "renamed.csv", "bag,644662,12-р баг Хөх нуур,6446\n")
    code, out = run("units", "import", "--db", str(db), str(renamed))
    assert code == 0
    assert "0 added, 1 updated, 0 unchanged" in out
    audits = rows(db, "SELECT count(*) FROM audit_log WHERE action = 'units.import'")
    assert audits == [(3,)]


def test_a_bag_file_on_a_new_database_finds_the_national_soums(db: Path, tmp_path: Path) -> None:
    extra = write(tmp_path, "bags.csv", "bag,644661,11-р баг,6446\n")
    code, out = run("units", "import", "--db", str(db), str(extra))
    assert code == 0, out
    assert "the national list loaded first (2170)" in out
    assert "1 units read (0 aimags, 0 soums, 1 bags): 1 added" in out
    assert rows(db, "SELECT count(*) FROM units") == [(2171,)]


def test_a_parent_found_nowhere_refuses_the_whole_file(db: Path, tmp_path: Path) -> None:
    run("units", "import", "--db", str(db), str(shared_units()))
    before = rows(db, "SELECT count(*) FROM units")
    bad = write(
        tmp_path,
        "bad.csv",
        "bag,644661,11-р баг,6446\n"  # fine on its own
        "bag,649961,1-р баг,6499\n",  # soum 6499 does not exist
    )
    code, out = run("units", "import", "--db", str(db), str(bad))
    assert code == 1
    assert out == (
        f"Error: {bad}: line 3: parent '6499' is not a soum listed above or in the "
        "database; nothing imported\n"
    )
    assert rows(db, "SELECT count(*) FROM units") == before  # not even line 2
    # A bag whose parent is a bag, and one not inside its soum: refused the same way.
    for line, message in [
        ("bag,644661,X,644651\n", "line 2: parent '644651' is not a soum code (4 digits)"),
        ("bag,645261,X,6446\n", "line 2: code 645261 is not inside 6446"),
        ("soum,6499,X,99\n", "line 2: parent '99' is not a aimag listed above or in the"),
    ]:
        code, out = run("units", "import", "--db", str(db), str(write(tmp_path, "b.csv", line)))
        assert code == 1, out
        assert message in out, out
        assert "nothing imported" in out, out
    assert rows(db, "SELECT count(*) FROM units") == before


def test_a_soum_and_its_bags_in_one_file_still_need_nothing_else(tmp_path: Path) -> None:
    parsed = units.parse_units_csv(HEADER + "aimag,99,X,\nsoum,9901,Y,99\nbag,990101,Z,9901\n")
    assert [u.code for u in parsed] == ["99", "9901", "990101"]
    with pytest.raises(units.UnitsFileError, match="line 2: parent '6446' is not a soum"):
        units.parse_units_csv(HEADER + "bag,644661,X,6446\n")
    known = {"6446": "soum"}
    assert units.parse_units_csv(HEADER + "bag,644661,X,6446\n", known=known)[0].code == "644661"
