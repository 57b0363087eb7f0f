"""Administrative units: aimags, soums and bags, with their national codes and time zones."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

from storage.db import Conn, fetchall, fetchone

LEVELS = {"aimag": 2, "soum": 4, "bag": 6}
PARENT_LEVEL = {"soum": "aimag", "bag": "soum"}


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    level: str
    name: str
    parent_code: str | None
    tz: str
    registration: str = "open"


class UnitsFileError(ValueError):
    """A units file that is refused whole; the message names the line and the reason."""


@dataclass(frozen=True, slots=True)
class UnitsFile:
    """A units file read line by line; its parents outside the file not yet looked up."""

    units: list[Unit]
    # A unit whose parent is not in the file: its code -> (line, parent's level), so that
    # a soum's new bags can come without the soum (it is in the database already).
    outside: dict[str, tuple[int, str]]

    def check(self, known: Mapping[str, str]) -> list[Unit]:
        """The units, if every parent outside the file is in ``known`` (code -> level: the
        units in the database) at the right level; else UnitsFileError naming the line."""
        for unit in self.units:
            if unit.code in self.outside:
                lineno, want = self.outside[unit.code]
                parent = unit.parent_code or ""
                if known.get(parent) != want:
                    raise UnitsFileError(
                        f"line {lineno}: parent {parent!r} is not a {want} listed above or "
                        "in the database"
                    )
                if not unit.code.startswith(parent):
                    raise UnitsFileError(f"line {lineno}: code {unit.code} is not inside {parent}")
        return self.units


def tz_for_aimag(aimag_code: str) -> str:
    """Western aimags (Bayan-Ölgii 83, Khovd 84, Uvs 85) keep Hovd time (UTC+7)."""
    return "Asia/Hovd" if aimag_code in {"83", "84", "85"} else "Asia/Ulaanbaatar"


def parse_units_csv(
    text: str, tz_overrides: dict[str, str] | None = None, known: Mapping[str, str] | None = None
) -> list[Unit]:
    """Read ``level,code,name,parent_code`` rows. Raise UnitsFileError on the first bad
    line. A parent must be listed above, or be in ``known`` (code -> level)."""
    return read_units_csv(text, tz_overrides).check(known or {})


def read_units_csv(text: str, tz_overrides: dict[str, str] | None = None) -> UnitsFile:
    """Read and check a units file on its own; parents it does not list are left to
    ``UnitsFile.check`` against the database."""
    overrides = tz_overrides or {}
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or [h.strip() for h in header[:4]] != [
        "level",
        "code",
        "name",
        "parent_code",
    ]:
        raise UnitsFileError("line 1: header must be level,code,name,parent_code")
    units: list[Unit] = []
    outside: dict[str, tuple[int, str]] = {}
    seen: dict[str, str] = {}
    for lineno, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 4:
            raise UnitsFileError(f"line {lineno}: expected 4 fields, found {len(row)}")
        level, code, name, parent = (cell.strip() for cell in row)
        if level not in LEVELS:
            raise UnitsFileError(f"line {lineno}: unknown level {level!r}")
        if not code.isdigit() or len(code) != LEVELS[level]:
            raise UnitsFileError(
                f"line {lineno}: a {level} code has {LEVELS[level]} digits, not {code!r}"
            )
        if not name:
            raise UnitsFileError(f"line {lineno}: name is empty")
        if code in seen:
            raise UnitsFileError(f"line {lineno}: code {code} appears twice")
        if level == "aimag":
            if parent:
                raise UnitsFileError(f"line {lineno}: an aimag has no parent")
        else:
            want = PARENT_LEVEL[level]
            if parent in seen and seen[parent] != want:
                raise UnitsFileError(f"line {lineno}: parent {parent!r} is not a {want}")
            if not parent.isdigit() or len(parent) != LEVELS[want]:
                raise UnitsFileError(
                    f"line {lineno}: parent {parent!r} is not a {want} code ({LEVELS[want]} digits)"
                )
            if parent not in seen:  # looked up in the database by check()
                outside[code] = (lineno, want)
            elif not code.startswith(parent):
                raise UnitsFileError(f"line {lineno}: code {code} is not inside {parent}")
        seen[code] = level
        aimag = code[:2]
        tz = overrides.get(code) or overrides.get(aimag) or tz_for_aimag(aimag)
        units.append(Unit(code, level, name, parent or None, tz))
    if not units:
        raise UnitsFileError("the file has no units")
    return UnitsFile(units, outside)


async def known_levels(conn: Conn) -> dict[str, str]:
    """Every unit in the database: code -> level (for ``UnitsFile.check``)."""
    return {r["code"]: r["level"] for r in await fetchall(conn, "SELECT code, level FROM units")}


def packaged_units_csv() -> str:
    return resources.files("storage").joinpath("data/mn_admin_units.csv").read_text("utf-8")


@functools.lru_cache(maxsize=1)
def packaged_units() -> tuple[Unit, ...]:
    """The national units that ship with Sanal, read once a process: every new database
    gets them (bot/app.py), and parsing the file took half of a new database's open."""
    return tuple(parse_units_csv(packaged_units_csv()))


async def upsert_units(conn: Conn, units: Iterable[Unit]) -> dict[str, int]:
    """Insert new units and update names/parents/zones of known ones. Returns counts.

    Each kind of change is one executemany (a round trip on PostgreSQL, where a
    statement a unit made the first open of a database take a second); rows are written
    in the file's order, parents before their children."""
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    existing = {
        r["code"]: (r["name"], r["parent_code"], r["tz"])
        for r in await fetchall(conn, "SELECT code, name, parent_code, tz FROM units")
    }
    added: list[tuple[str, str, str, str | None, str | None]] = []
    updated: list[tuple[str, str | None, str | None, str]] = []
    for u in units:
        old = existing.get(u.code)
        if old is None:
            added.append((u.code, u.level, u.name, u.parent_code, u.tz))
        elif old != (u.name, u.parent_code, u.tz):
            updated.append((u.name, u.parent_code, u.tz, u.code))
        else:
            counts["unchanged"] += 1
    if added:
        await conn.executemany(
            "INSERT INTO units (code, level, name, parent_code, tz) VALUES (?, ?, ?, ?, ?)", added
        )
    if updated:
        await conn.executemany(
            "UPDATE units SET name = ?, parent_code = ?, tz = ? WHERE code = ?", updated
        )
    counts["added"], counts["updated"] = len(added), len(updated)
    return counts


def _unit(row: object) -> Unit:
    r = row  # sqlite3.Row
    return Unit(r["code"], r["level"], r["name"], r["parent_code"], r["tz"], r["registration"])  # type: ignore[index]


async def get(conn: Conn, code: str) -> Unit | None:
    row = await fetchone(conn, "SELECT * FROM units WHERE code = ?", (code,))
    return _unit(row) if row else None


async def children(conn: Conn, code: str) -> list[Unit]:
    rows = await fetchall(conn, "SELECT * FROM units WHERE parent_code = ? ORDER BY code", (code,))
    return [_unit(r) for r in rows]


async def by_level(conn: Conn, level: str) -> list[Unit]:
    rows = await fetchall(conn, "SELECT * FROM units WHERE level = ? ORDER BY code", (level,))
    return [_unit(r) for r in rows]


async def count(conn: Conn) -> int:
    row = await fetchone(conn, "SELECT count(*) AS n FROM units")
    return int(row["n"]) if row else 0


async def set_registration(conn: Conn, bag_code: str, policy: str) -> None:
    await conn.execute("UPDATE units SET registration = ? WHERE code = ?", (policy, bag_code))


async def ancestors(conn: Conn, code: str) -> list[Unit]:
    """The unit itself, then its soum, then its aimag."""
    out: list[Unit] = []
    current: str | None = code
    while current:
        unit = await get(conn, current)
        if unit is None:
            break
        out.append(unit)
        current = unit.parent_code
    return out


async def count_bags(conn: Conn, unit_code: str) -> int:
    """The bags under a unit (a soum, an aimag; a bag counts itself)."""
    row = await fetchone(
        conn,
        "SELECT count(*) AS n FROM units WHERE level = 'bag' AND code LIKE ? || '%'",
        (unit_code,),
    )
    return int(row["n"]) if row else 0
