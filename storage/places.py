"""Where a bag is: its time zone and its officials, read from the national units and roles."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from storage import roles, units
from storage.db import Conn


async def bag_zone(conn: Conn, bag_code: str) -> ZoneInfo:
    bag = await units.get(conn, bag_code)
    return ZoneInfo(bag.tz if bag else "Asia/Ulaanbaatar")


async def officials(conn: Conn, bag_code: str) -> list[int]:
    """The bag's governor(s) and khural chair(s), each once."""
    ids = [r.person_id for r in await roles.holders(conn, "governor", bag_code)]
    ids += [r.person_id for r in await roles.holders(conn, "chair", bag_code)]
    return list(dict.fromkeys(ids))
