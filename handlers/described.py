"""A project written without the word САНАЛ, and "санал өгөх гэсэн юм" with one.

* A message that reads like a project ("Сургуулийн дотуур байрны засвар. 200 өрх. 45
  сая", Kind.DESCRIBED) from a registered citizen whose bag is collecting proposals is
  most likely a proposal: Sanal asks once, "store it?" (handlers/asked). A "yes" as the
  very next message stores it exactly as САНАЛ would: same checks, same reply, same
  notice to the governor. "No" stores nothing. Anyone else gets the help of their phase.
* "санал өгөх гэсэн юм. Худаг гаргамаар байна": a vote word, no numbers, a description
  (Kind.VOTE, error "vote_usage", text). While the bag collects proposals, the person
  means to propose: it is stored as one straight away. Otherwise it is a vote without
  numbers, answered as such. The inbox row is sealed like any vote (handlers/secrecy);
  the proposal keeps its text, which is all it needs.
"""

from __future__ import annotations

from dataclasses import replace

from bot.core.grammar.intents import Intent, Kind
from bot.core.grammar.structured import intent_of
from handlers import asked, phase, proposals
from handlers.context import Context
from handlers.paging import words_short
from storage import inbox

# Characters of the description repeated in the question: with the question around it,
# one Cyrillic SMS segment (tests/handlers/test_described.py checks a long one).
QUOTED = 30


async def described(ctx: Context) -> None:
    where = await phase.of(ctx)
    text = ctx.intent.text.strip()
    if where.stage != phase.COLLECTING or not text:
        # A newcomer is told how to join, a voter how to vote, and so on.
        phase.reply_with(ctx, phase.help_text(where))
        return
    await asked.ask(ctx, asked.PROPOSAL)
    ctx.reply("described.ask", text=words_short(text, QUOTED))


async def answered(ctx: Context, question: asked.Asked) -> None:
    """The yes or no to "store it as a proposal?"."""
    if ctx.intent.text != "yes":
        ctx.reply("described.not_stored")
        return
    row = await inbox.get(ctx.conn, question.inbox_id)
    earlier = intent_of(row.message.text, row.message.extra) if row else None
    if earlier is None or earlier.kind is not Kind.DESCRIBED or not earlier.text.strip():
        # The message asked about can no longer be read as a project: store nothing.
        ctx.reply("described.not_stored")
        return
    ctx.intent = _as_proposal(earlier)
    await proposals.propose(ctx)


async def proposes_by_vote_words(ctx: Context) -> bool:
    """Whether this vote without numbers is a proposal (the bag collects proposals)."""
    intent = ctx.intent
    if intent.kind is not Kind.VOTE or intent.numbers or intent.error != "vote_usage":
        return False
    if not intent.text.strip():
        return False
    where = await phase.of(ctx)
    return where.stage == phase.COLLECTING and ctx.person.status == "approved"


async def propose_by_vote_words(ctx: Context) -> bool:
    """Store a vote without numbers as a proposal while proposals are collected; True when
    done (the reply is САНАЛ's), False when it is a vote after all."""
    if not await proposes_by_vote_words(ctx):
        return False
    ctx.intent = _as_proposal(ctx.intent)
    await proposals.propose(ctx)
    return True


def _as_proposal(intent: Intent) -> Intent:
    return replace(intent, kind=Kind.PROPOSE, numbers=(), error=None, text=intent.text.strip())
