"""Who the flood limit applies to, and the one notice a limited citizen gets.

The limit (Router._flooding) stops two bots answering each other and a person's phone
from costing the soum hundreds of SMS. Officials are trusted and busy: a governor typing
eleven words in a minute on the khural day must get every reply, so anyone holding a role
(governor, chair, soum member, operator) is never limited. A limited citizen is told once,
with one catalog text, rather than met with silence; the audit row of the flood is what
"once" is counted by, so a bot that keeps sending hears it at most once an hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.message import Inbound
from storage import audit, roles
from storage.db import Tx

TOLD = "refused.flood"
TELL_AGAIN_AFTER = timedelta(hours=1)


async def exempt(conn: Tx, person_id: int) -> bool:
    """Officials are never limited."""
    return bool(await roles.of_person(conn, person_id))


async def first_of_flood(conn: Tx, msg: Inbound, person_id: int, now: datetime) -> bool:
    """Record the flood and say whether this sender is to be told (once an hour at most)."""
    if await audit.recorded_since(conn, TOLD, msg.address, now - TELL_AGAIN_AFTER):
        return False
    await audit.record(
        conn,
        now=now,
        actor=msg.address,
        actor_id=person_id,
        action=TOLD,
        channel=msg.channel.value,
    )
    return True
