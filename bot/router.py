"""The router: takes stored inbox rows, one at a time, to their handler and the outbox.

Each message is handled in one write transaction that also queues its reply and marks the
row handled, so a crash at any point leaves either nothing done (and the row pending, to
be handled again) or everything done. A handler error rolls back its changes and the
person gets one short apology: never a stack trace, never silence, never two replies.

A reply that carries reports is held in that transaction and released after the commit,
once its files are made (:meth:`Router.release_held`, storage/held_replies.py): the
writer is not held while they are rendered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot import flood
from bot.channels import simulator_gate
from bot.core.channels import PHONE
from bot.core.clock import Clock
from bot.core.grammar import Intent, parse
from bot.core.grammar.intents import Kind
from bot.core.grammar.structured import intent_of
from bot.core.message import Button, Channel, Inbound
from bot.core.phone import try_normalise
from bot.core.settings import Settings
from handlers import report_request
from handlers.context import Context, Text
from handlers.delivery import compose, finish_text, queue_for_person
from handlers.dispatch import dispatch
from handlers.secrecy import bears_ballot, keyboard_bears_ballot
from storage import audit, held_replies, identities, inbox, outbox, people, rounds
from storage.ballots import BallotKey
from storage.db import Database, SavepointError, Tx
from storage.people import Person

log = logging.getLogger(__name__)
FLOOD_WINDOW = timedelta(minutes=1)
# Texts read before, with what they mean (the parser is a pure function of the text, and
# a third of a message's handling): many people send the same "НЭГДЭХ 644651" or "ТУСЛАМЖ".
# Never a ballot: the process keeps no voter's choice beyond its handling.
READ_CACHE = 4096
_read: dict[str, Intent] = {}


def _meaning(msg: Inbound) -> Intent:
    """What a message means (bot.core.grammar), from the cache when its text was read
    before. A button's structured intent is read afresh; a ballot is never kept."""
    if msg.extra.get("intent"):
        return intent_of(msg.text, msg.extra)
    known = _read.get(msg.text)
    if known is not None:
        return known
    intent = parse(msg.text)
    if not bears_ballot(msg.text, intent.kind) and len(msg.text) <= 200:
        if len(_read) >= READ_CACHE:  # a new set: a peak's texts repeat within minutes
            _read.clear()
        _read[msg.text] = intent
    return intent


@dataclass(frozen=True, slots=True)
class Handled:
    inbox_id: int
    intent: str
    replied: bool
    held: bool = False  # the reply waits for its documents (released after the commit)


class Router:
    def __init__(self, db: Database, settings: Settings, clock: Clock, key: BallotKey) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.key = key
        # Sanal sets the simulator's gate from the settings and the database (simulator_gate).
        self.simulator = simulator_gate.decide(settings)
        # One render at a time in a process: matplotlib's settings are global.
        self._rendering = asyncio.Lock()

    async def handle(self, inbox_id: int) -> Handled | None:
        """Handle one stored message; None if it was handled already (by us or another)."""
        return (await self.handle_many([inbox_id]))[0]

    async def handle_many(self, inbox_ids: list[int]) -> list[Handled | None]:
        """Handle stored messages in order, in one transaction with a savepoint for each.

        Each message is still all or nothing (a failing one is rolled back to its
        savepoint, then answered with an apology), but the batch shares one commit: at
        the khural week's peak that is what lets one SQLite writer keep up."""
        results: list[Handled | None] = []
        failed: list[int] = []
        # Marked handled together at the end, in the same transaction: a message whose
        # savepoint was rolled back is not among them (it is answered by _failed).
        marks: list[tuple[int, str, str | None, datetime]] = []
        async with self.db.write() as conn:
            # The batch's rows read at once, each with its sender's messages of the last
            # minute (the flood window, judged from the batch's start).
            rows = await inbox.batch(conn, inbox_ids, self.clock.now() - FLOOD_WINDOW)
            for inbox_id in inbox_ids:
                found = rows.get(inbox_id)
                if found is None or found[0].status != "pending":
                    results.append(None)
                    continue
                try:
                    async with conn.savepoint("message"):
                        row, recent = found
                        handled = await self._handle(conn, inbox_id, row.message, recent, marks)
                        results.append(handled)
                except SavepointError:
                    raise  # the batch's transaction is in doubt: none of it is kept
                except Exception:
                    # Log without the text: it may hold a ballot. The id finds it in the inbox.
                    log.exception("handler failed for inbox %s", inbox_id)
                    failed.append(len(results))
                    results.append(None)
            if marks:
                await inbox.mark_many(conn, marks)
        for i in failed:
            results[i] = await self._failed(inbox_ids[i])
        held = [r.inbox_id for r in results if r is not None and r.held]
        if held:
            try:
                await self.release_held(held)
            except Exception:  # handled all the same; the next start or sweep releases them
                log.exception("could not release the replies held for documents")
        return results

    async def release_held(self, inbox_ids: Sequence[int] | None = None) -> int:
        """Render the documents of held replies (to these messages; None: all, as at a
        start or a sweep, after a crash) and release each in a short write. Returns how
        many were released. A render that fails releases the reply as an apology."""
        released = 0
        async with self._rendering:  # a reply another call released meanwhile is not read
            for row in await held_replies.held(self.db.reader, inbox_ids):
                released += await self._release(row)
        return released

    async def _release(self, row: held_replies.HeldReply) -> bool:
        extra: dict[str, Any] = dict(row.extra)
        text = None
        try:
            documents = []
            for spec in row.render:
                documents += await report_request.render(self.db.reader, self.settings, spec)
            extra["documents"] = documents
        except Exception:
            log.exception("rendering the documents of outbox %s failed", row.id)
            person = await people.get(self.db.reader, row.person_id or 0)
            lang = person.lang if person is not None else "mn"
            text = finish_text(compose([Text("error.internal")], lang), row.channel, self.settings)
        async with self.db.write() as conn:
            return await held_replies.release(conn, row.id, extra, self.clock.now(), text)

    async def _failed(self, inbox_id: int) -> Handled | None:
        """The message could not be handled: an apology, and the row marked failed."""
        async with self.db.write() as conn:
            row = await inbox.get(conn, inbox_id)
            if row is None or row.status != "pending":
                return None
            person = await self._person(conn, row.message)
            await self._queue_reply(conn, person, row.message, inbox_id, [Text("error.internal")])
            if bears_ballot(row.message.text, parse(row.message.text).kind):
                await self._seal(conn, inbox_id, row.message)
            await inbox.mark(conn, inbox_id, "failed", None, self.clock.now())
            return Handled(inbox_id, "error", True)

    async def _handle(
        self,
        conn: Tx,
        inbox_id: int,
        msg: Inbound,
        recent: int,
        marks: list[tuple[int, str, str | None, datetime]],
    ) -> Handled:
        """Handle one message; its inbox row is marked by the caller, from ``marks``.

        ``recent``: its sender's messages in the flood window, up to this one."""
        now = self.clock.now()
        if msg.channel is Channel.SIMULATOR and await self._simulator_refused(conn, msg, now):
            marks.append((inbox_id, "handled", "refused", now))
            return Handled(inbox_id, "refused", False)
        person = await self._person(conn, msg)
        intent = _meaning(msg)
        first_message = person.channel is None
        if person.channel != msg.channel.value:
            await people.set_channel(conn, person.id, msg.channel.value)
        if first_message and intent.kind != Kind.LANG:
            person = await self._guess_lang(conn, person, intent)
        written = people.generation()
        ctx = Context(
            conn=conn,
            now=now,
            settings=self.settings,
            ballot_key=self.key,
            person=person,
            inbound=msg,
            inbox_id=inbox_id,
            intent=intent,
        )
        if self._simulated_vote_in_a_real_round(msg, intent):
            await ctx.audit("refused.simulator_vote")
            ctx.reply("simulator.no_vote")
        else:
            await dispatch(ctx)
        if not ctx.replied:
            raise RuntimeError(f"handler for {intent.kind} gave no reply")
        # Read again only if a handler wrote to someone (a join, a language, a name).
        fresh = person
        if people.generation() != written:
            fresh = await people.get(conn, person.id) or person
        # Ballot secrecy: a message carrying a ballot is sealed in this transaction, and
        # its reply once sent (handlers.secrecy).
        ballot = bears_ballot(msg.text, intent.kind, ctx.intent.kind)
        ballot = ballot or keyboard_bears_ballot(ctx.buttons)
        if ballot:
            await self._seal(conn, inbox_id, msg)
        replied = False
        flooding = await self._flooding(conn, msg, recent, now, person.id)
        if flooding and await flood.first_of_flood(conn, msg, person.id, now):
            # Told once (bot.flood), not silently dropped.
            parts = [Text("flood.limited")]
            replied = await self._queue_reply(conn, fresh, msg, inbox_id, parts)
        held = not flooding and bool(ctx.renders)
        if not flooding:
            replied = await self._queue_reply(
                conn,
                fresh,
                msg,
                inbox_id,
                ctx.reply_parts,
                ctx.buttons,
                ctx.ask_contact,
                ctx.round_id or await self._round_of(conn, fresh),
                ctx.renders,
                ctx.governor_menu,
                ballot,
            )
        # A flooding sender makes nobody else's phone ring either: 30 joins a minute to a
        # bag that approves newcomers were 30 notices to its governor (tests/security).
        for i, notice in enumerate([] if flooding else ctx.notices):
            target = await people.get(conn, notice.person_id)
            if target is not None:
                await queue_for_person(
                    conn,
                    self.settings,
                    target,
                    notice.parts,
                    dedupe_key=f"notice:{inbox_id}:{i}",
                    now=now,
                    kind=notice.kind,
                    round_id=notice.round_id,
                )
        marks.append((inbox_id, "handled", intent.kind.value, now))
        return Handled(inbox_id, intent.kind.value, replied, held and replied)

    def _simulated_vote_in_a_real_round(self, msg: Inbound, intent: Intent) -> bool:
        """Beside real channels (a training token), a simulated number is nobody: its
        ballot would count in a real round, and fresh numbers cost nothing. Refused."""
        return (
            msg.channel is Channel.SIMULATOR
            and self.simulator.mode is simulator_gate.Mode.GUARDED
            and intent.kind is Kind.VOTE
        )

    async def _simulator_refused(self, conn: Tx, msg: Inbound, now: datetime) -> bool:
        """A simulated message as a real person's number: nothing done, nothing answered.

        The page refuses these before storing them; this check, in the handling
        transaction, also stops a number that wrote through a real channel meanwhile."""
        phone = msg.phone or try_normalise(msg.address.removeprefix("tel:")) or msg.address
        why = await simulator_gate.refusal(conn, self.simulator, phone)
        if why is None:
            return False
        await audit.record(
            conn,
            now=now,
            actor=msg.address,
            action="refused.simulator",
            channel=Channel.SIMULATOR.value,
            reason=why,
        )
        return True

    async def _seal(self, conn: Tx, inbox_id: int, msg: Inbound) -> None:
        fingerprint = self.key.fingerprint(msg.channel.value, msg.address, msg.text)
        await inbox.seal(conn, inbox_id, msg.extra, fingerprint)

    async def _person(self, conn: Tx, msg: Inbound) -> Person:
        """Who wrote: the person with this phone, or with this account on a chat channel
        (the identity kind the channel declares); someone new otherwise."""
        now = self.clock.now()
        caps = msg.channel.caps
        if caps.identity != PHONE:
            account = caps.account_of(msg.address)
            found = await people.by_identity(conn, caps.identity, account)
            if found is not None:
                return found
            person = await people.create(conn, now=now, lang="mn")
            await identities.link(conn, person.id, caps.identity, account, now)
            return await people.get(conn, person.id) or person
        phone = msg.phone or try_normalise(msg.address.removeprefix("tel:")) or msg.address
        return await people.get_or_create_by_phone(conn, phone, now=now, lang="mn")

    async def _guess_lang(self, conn: Tx, person: Person, intent: Intent) -> Person:
        """Answer a newcomer in the script of their first message (Latin keeps SMS cheap);
        after that only the language word changes it."""
        lang = "mn" if intent.script == "cyrl" else self.settings.latin_writer_lang
        if intent.kind == Kind.UNKNOWN and intent.error == "empty":
            return person
        if lang != person.lang:
            await people.set_lang(conn, person.id, lang)
            return replace(person, lang=lang)
        return person

    async def _round_of(self, conn: Tx, person: Person) -> int | None:
        """The round a reply's SMS cost counts against: the bag's running one, if any."""
        if person.bag_code is None:
            return None
        rnd = await rounds.current(conn, person.bag_code)
        return rnd.id if rnd is not None and rnd.status in ("collecting", "voting") else None

    async def _flooding(
        self, conn: Tx, msg: Inbound, recent: int, now: datetime, person_id: int
    ) -> bool:
        """After the threshold, at most one reply a minute: two bots can never loop.

        ``recent``: the sender's messages in the last minute, up to this one."""
        minute_ago = now - FLOOD_WINDOW
        # Where bots cannot message each other and a person ticking a ballot's buttons
        # sends a dozen updates a minute (Telegram), the limit only stops real floods.
        threshold = self.settings.flood_threshold * msg.channel.caps.flood_factor
        if recent <= threshold:
            return False
        if not await outbox.replied_since(conn, msg.address, minute_ago):
            return False
        return not await flood.exempt(conn, person_id)

    async def _queue_reply(
        self,
        conn: Tx,
        person: Person,
        msg: Inbound,
        inbox_id: int,
        parts: list[Text],
        buttons: tuple[tuple[Button, ...], ...] = (),
        ask_contact: bool = False,
        round_id: int | None = None,
        renders: list[dict[str, Any]] | None = None,
        governor_menu: bool = False,
        ballot: bool = False,
    ) -> bool:
        text = finish_text(compose(parts, person.lang), msg.channel.value, self.settings)
        extra: dict[str, object] = {}
        if buttons:
            extra["buttons"] = [
                [{"label": b.label, "data": b.data} for b in row] for row in buttons
            ]
        if ask_contact:
            extra["ask_contact"] = True
        if renders:  # held until they are made (release_held)
            extra["render"] = renders
        if governor_menu:
            extra["governor_menu"] = True
        if ballot:  # blanked by the database once sent (migration 0007)
            extra["ballot"] = 1
        return await outbox.enqueue(
            conn,
            dedupe_key=f"reply:{inbox_id}",
            channel=msg.channel.value,
            address=msg.address,
            text=text,
            now=self.clock.now(),
            person_id=person.id,
            inbox_id=inbox_id,
            kind="reply",
            extra=extra,
            round_id=round_id,
            bag_code=person.bag_code,
            not_before=held_replies.HELD if renders else None,
        )
