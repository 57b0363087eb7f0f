"""Officials: bag governors, khural chairs, soum working-group members, operators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Conn, fetchall
from storage.times import to_db

ROLES = ("governor", "chair", "soum", "operator")


@dataclass(frozen=True, slots=True)
class Role:
    person_id: int
    role: str
    unit_code: str
    phone: str | None = None
    name: str | None = None


async def grant(conn: Conn, person_id: int, role: str, unit_code: str, now: datetime) -> bool:
    """Give a role; False when the person already had it."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    cur = await conn.execute(
        "INSERT INTO roles (person_id, role, unit_code, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (person_id, role, unit_code, to_db(now)),
    )
    return cur.rowcount == 1


async def revoke(conn: Conn, person_id: int, role: str | None, unit_code: str | None) -> int:
    sql = "DELETE FROM roles WHERE person_id = ?"
    params: list[object] = [person_id]
    if role:
        sql += " AND role = ?"
        params.append(role)
    if unit_code:
        sql += " AND unit_code = ?"
        params.append(unit_code)
    cur = await conn.execute(sql, params)
    return cur.rowcount


async def of_person(conn: Conn, person_id: int) -> list[Role]:
    rows = await fetchall(
        conn, "SELECT person_id, role, unit_code FROM roles WHERE person_id = ?", (person_id,)
    )
    return [Role(r["person_id"], r["role"], r["unit_code"]) for r in rows]


async def holders(conn: Conn, role: str, unit_code: str) -> list[Role]:
    rows = await fetchall(
        conn,
        "SELECT r.person_id, r.role, r.unit_code, p.phone, p.name FROM roles r "
        "JOIN people p ON p.id = r.person_id WHERE r.role = ? AND r.unit_code = ? "
        "ORDER BY r.person_id",
        (role, unit_code),
    )
    return [Role(r["person_id"], r["role"], r["unit_code"], r["phone"], r["name"]) for r in rows]


async def all_roles(conn: Conn) -> list[Role]:
    rows = await fetchall(
        conn,
        "SELECT r.person_id, r.role, r.unit_code, p.phone, p.name FROM roles r "
        "JOIN people p ON p.id = r.person_id ORDER BY r.unit_code, r.role, p.phone",
    )
    return [Role(r["person_id"], r["role"], r["unit_code"], r["phone"], r["name"]) for r in rows]
