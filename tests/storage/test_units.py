from __future__ import annotations

from pathlib import Path

import pytest

from storage import units
from storage.db import Database
from storage.units import UnitsFileError, parse_units_csv

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "mn_admin_units.csv"


def test_packaged_list_is_the_national_list() -> None:
    parsed = parse_units_csv(units.packaged_units_csv())
    levels = [u.level for u in parsed]
    assert levels.count("aimag") == 22
    assert levels.count("soum") == 339
    assert levels.count("bag") == 1809
    by_code = {u.code: u for u in parsed}
    assert by_code["6446"].name == "Заг"
    assert by_code["644651"].parent_code == "6446"
    hovd = [u for u in parsed if u.code[:2] in ("83", "84", "85")]
    assert hovd
    assert all(u.tz == "Asia/Hovd" for u in hovd)
    assert by_code["644651"].tz == "Asia/Ulaanbaatar"


def test_time_zone_can_be_overridden_per_aimag() -> None:
    parsed = parse_units_csv(units.packaged_units_csv(), {"64": "Asia/Hovd"})
    assert {u.tz for u in parsed if u.code.startswith("64")} == {"Asia/Hovd"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: header"),
        ("level,code,name,parent_code\n", "no units"),
        ("level,code,name,parent_code\naimag,6,X,\n", "line 2: a aimag code has 2 digits"),
        ("level,code,name,parent_code\naimag,64,X,\nsoum,6446,Заг\n", "line 3: expected 4 fields"),
        ("level,code,name,parent_code\naimag,64,X,\nsoum,6446,Заг,65\n", "line 3: parent '65'"),
        (
            "level,code,name,parent_code\naimag,64,X,\naimag,64,Y,\n",
            "line 3: code 64 appears twice",
        ),
        ("level,code,name,parent_code\ncity,64,X,\n", "line 2: unknown level"),
        ("level,code,name,parent_code\naimag,64,,\n", "line 2: name is empty"),
        (
            "level,code,name,parent_code\naimag,64,X,\nsoum,6546,Y,64\n",
            "line 3: code 6546 is not inside 64",
        ),
    ],
)
def test_malformed_files_are_refused_with_line_and_reason(text: str, message: str) -> None:
    with pytest.raises(UnitsFileError, match=message):
        parse_units_csv(text)


async def test_import_is_idempotent_and_counts(tmp_path: Path) -> None:
    parsed = parse_units_csv(units.packaged_units_csv())
    async with Database(tmp_path / "u.db") as db:
        async with db.write() as conn:
            first = await units.upsert_units(conn, parsed)
        async with db.write() as conn:
            second = await units.upsert_units(conn, parsed)
        assert first == {"added": 2170, "updated": 0, "unchanged": 0}
        assert second == {"added": 0, "updated": 0, "unchanged": 2170}


@pytest.mark.skipif(not SHARED.exists(), reason="shared data folder not beside the repository")
def test_packaged_copy_matches_the_shared_data() -> None:
    assert SHARED.read_text("utf-8") == units.packaged_units_csv()
