"""Migration 0010: a round closed before turnout was frozen keeps the count of the upgrade,
and a round still open is left to be frozen at its own close (issue 12)."""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from storage.db import Tx, applied_versions, migrate, migration_files


async def test_closed_rounds_are_frozen_by_the_upgrade_and_open_ones_are_not(
    tmp_path: Path,
) -> None:
    async with aiosqlite.connect(tmp_path / "old.db") as conn:
        conn.row_factory = aiosqlite.Row
        await applied_versions(Tx(conn))  # creates schema_migrations
        for version, name, sql in migration_files():
            if version < 10:  # the database as version 0009 left it
                await conn.executescript(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, '2027-01-01')", (version, name)
                )
        await conn.executescript(
            "INSERT INTO units (code, level, name, tz) VALUES "
            "('64', 'aimag', 'Баянхонгор', 'Asia/Ulaanbaatar');"
            "INSERT INTO units (code, level, name, parent_code, tz) VALUES "
            "('6446', 'soum', 'Заг', '64', 'Asia/Ulaanbaatar'),"
            "('644651', 'bag', 'Баянбулаг', '6446', 'Asia/Ulaanbaatar'),"
            "('644653', 'bag', 'Баян-Улаан', '6446', 'Asia/Ulaanbaatar');"
            "INSERT INTO people (phone, bag_code, status, created_at) VALUES "
            "('+97699000001', '644651', 'approved', '2027-01-01T00:00:00+00:00'),"
            "('+97699000002', '644651', 'approved', '2027-01-01T00:00:00+00:00'),"
            "('+97699000003', '644651', 'pending', '2027-01-01T00:00:00+00:00'),"
            "('+97699000004', '644653', 'approved', '2027-01-01T00:00:00+00:00');"
            "INSERT INTO rounds (bag_code, year, status, created_at) VALUES "
            "('644651', 2027, 'closed', '2027-01-01T00:00:00+00:00'),"
            "('644653', 2027, 'voting', '2027-01-01T00:00:00+00:00');"
        )
        await conn.commit()
        applied = await migrate(Tx(conn))
        assert "0010_turnout_at_close.sql" in applied
        rows = await conn.execute_fetchall(
            "SELECT bag_code, registered_at_close FROM rounds ORDER BY bag_code"
        )
    assert [tuple(r) for r in rows] == [("644651", 2), ("644653", None)]
