"""Migration 0012: runs recorded before Add1 existed computed the plain Method of Equal
Shares, so their 'mes' rows become 'mes_plain', the rest is kept, and the new rule names
are accepted (issue 13)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from storage.db import Tx, applied_versions, migrate, migration_files


async def test_old_equal_shares_runs_are_named_plain_and_new_rules_fit(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "old.db") as conn:
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA foreign_keys = ON")
        await applied_versions(Tx(conn))
        for version, name, sql in migration_files():
            if version < 12:
                await conn.executescript(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, '2027-01-01')", (version, name)
                )
        await conn.executescript(
            "INSERT INTO units (code, level, name, tz) VALUES "
            "('64', 'aimag', 'Баянхонгор', 'Asia/Ulaanbaatar');"
            "INSERT INTO units (code, level, name, parent_code, tz) VALUES "
            "('6446', 'soum', 'Заг', '64', 'Asia/Ulaanbaatar'),"
            "('644651', 'bag', 'Баянбулаг', '6446', 'Asia/Ulaanbaatar');"
            "INSERT INTO people (phone, bag_code, status, created_at) VALUES "
            "('+97699000001', '644651', 'approved', '2027-01-01T00:00:00+00:00');"
            "INSERT INTO rounds (bag_code, year, status, created_at) VALUES "
            "('644651', 2027, 'submitted', '2027-01-01T00:00:00+00:00');"
            "INSERT INTO proposals (round_id, number, person_id, text, created_at) VALUES "
            "(1, 1, 1, 'Худаг', '2027-01-01T00:00:00+00:00');"
            "INSERT INTO soum_allocations (soum_code, year, ceiling_mnt, run_at, actor, "
            "chosen_rule, chosen_at) VALUES "
            "('6446', 2027, 100, '2027-02-01', 'sms', 'mes', '2027-02-01'),"
            "('6446', 2027, 100, '2027-02-02', 'sms', 'greedy', '2027-02-02');"
            "INSERT INTO soum_allocation_items VALUES "
            "(1, 'greedy', 1, 1, 1, 'funded', '100', '50'),"
            "(1, 'mes', 1, 1, 1, 'funded_mes', '100', NULL),"
            "(2, 'greedy', 1, 1, 0, 'over_budget', '10', '50');"
        )
        await conn.commit()
        assert "0012_allocation_rules.sql" in await migrate(Tx(conn))
        runs = await conn.execute_fetchall(
            "SELECT id, chosen_rule FROM soum_allocations ORDER BY id"
        )
        items = await conn.execute_fetchall(
            "SELECT allocation_id, rule, funded, reason FROM soum_allocation_items "
            "ORDER BY allocation_id, rule"
        )
        assert [tuple(r) for r in runs] == [(1, "mes_plain"), (2, "greedy")]
        assert [tuple(r) for r in items] == [
            (1, "greedy", 1, "funded"),
            (1, "mes_plain", 1, "funded_mes"),
            (2, "greedy", 0, "over_budget"),
        ]
        await conn.execute(
            "INSERT INTO soum_allocation_items VALUES (2, 'mes', 1, 1, 1, 'funded_mes', '1', NULL)"
        )
        with pytest.raises(sqlite3.IntegrityError):  # items still belong to a run
            await conn.execute(
                "INSERT INTO soum_allocation_items VALUES (9, 'mes', 1, 1, 1, 'x', '1', NULL)"
            )
        assert not [tuple(r) for r in await conn.execute_fetchall("PRAGMA foreign_key_check")]
