"""What a handler gets: the open transaction, the sender, the time, and a way to answer.

Handlers never import a provider: they read and write storage and say what to send in
catalog keys; the router renders the texts in each recipient's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core.grammar.intents import Intent
from bot.core.message import Button, Inbound
from bot.core.settings import Settings
from bot.core.sms_segments import count_segments
from handlers.delivery import compose
from storage import audit, roles
from storage.ballots import BallotKey
from storage.db import Tx
from storage.people import Person


@dataclass(frozen=True, slots=True)
class Text:
    """A catalog key with its parameters, rendered later in the reader's language."""

    key: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notice:
    """A message to someone other than the sender (a governor told, a proposer answered)."""

    person_id: int
    parts: tuple[Text, ...]
    kind: str = "notice"
    round_id: int | None = None


@dataclass(slots=True)
class Context:
    conn: Tx
    now: datetime
    settings: Settings
    ballot_key: BallotKey
    person: Person
    inbound: Inbound
    inbox_id: int
    intent: Intent
    reply_parts: list[Text] = field(default_factory=list)
    buttons: tuple[tuple[Button, ...], ...] = ()
    ask_contact: bool = False
    # Telegram: a governor has just linked their phone; their chat gets the governor menu.
    governor_menu: bool = False
    notices: list[Notice] = field(default_factory=list)
    replied: bool = False
    # Set when the reply concerns a round, so SMS segments are counted against it.
    round_id: int | None = None
    # Files to send with the reply (Telegram documents), each named by what to render
    # (handlers/report_request.py): made after the commit, the reply held until then.
    renders: list[dict[str, Any]] = field(default_factory=list)

    def reply(self, key: str, **params: object) -> None:
        """Set the one reply to this message. A second call is a bug, and says so."""
        if self.replied:
            raise RuntimeError(f"second reply {key!r} to one message")
        self.replied = True
        self.reply_parts = [Text(key, params)]

    def add(self, key: str, **params: object) -> None:
        """Append a line to the reply (a list, a ranked result)."""
        if not self.replied:
            raise RuntimeError("add() before reply()")
        self.reply_parts.append(Text(key, params))

    def notify(
        self, person_id: int, key: str, *, round_id: int | None = None, **params: object
    ) -> None:
        if person_id == self.person.id:
            return  # the sender hears it in the reply
        self.notices.append(Notice(person_id, (Text(key, params),), round_id=round_id))

    def fits(self) -> bool:
        """Whether the reply so far fits the SMS segment budget (always, on Telegram)."""
        if not self.inbound.channel.is_sms:
            return True
        text = compose(self.reply_parts, self.person.lang)
        return count_segments(text).segments <= self.settings.max_segments

    def restart_reply(self) -> None:
        """Drop the reply composed so far (to compose a shorter one)."""
        self.replied = False
        self.reply_parts = []

    @property
    def actor(self) -> str:
        return self.inbound.address

    @property
    def channel(self) -> str:
        """The channel this message came through, for the audit log (sim is training)."""
        return self.inbound.channel.value

    async def audit(
        self,
        action: str,
        *,
        unit_code: str | None = None,
        round_id: int | None = None,
        **detail: object,
    ) -> None:
        await audit.record(
            self.conn,
            now=self.now,
            actor=self.actor,
            actor_id=self.person.id,
            action=action,
            channel=self.channel,
            unit_code=unit_code,
            round_id=round_id,
            **detail,
        )

    async def governed_bag(self) -> str | None:
        """The bag this person may act on as its governor (or as an operator above it)."""
        mine = await roles.of_person(self.conn, self.person.id)
        for r in mine:
            if r.role == "governor":
                return r.unit_code
        for r in mine:
            # An operator acts for the bag they registered in, if it lies in their unit.
            if (
                r.role == "operator"
                and self.person.bag_code
                and self.person.bag_code.startswith(r.unit_code)
            ):
                return self.person.bag_code
        return None
