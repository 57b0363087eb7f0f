"""Where a person stands, and the help that says what they can do next.

Greetings, questions, the fallback and a described project all answer "what now?" the same
way: a newcomer is told how to join (not commands they cannot use yet), a citizen waiting
for the governor's approval is told so, and a registered citizen gets the words of the
bag round's stage. Officials are answered from the bag they govern.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.sms_segments import count_segments
from handlers.context import Context, Text
from handlers.delivery import compose
from storage import rounds
from storage.rounds import Round

# Stages of a person, from their bag and its current round.
NEW = "new"  # in no bag
PENDING = "pending"  # asked to join a bag that approves newcomers; not yet approved
NO_ROUND = "none"  # registered; the bag has no round (or only a draft)
COLLECTING = "collecting"
VOTING = "voting"
OVER = "over"  # voting closed: closed, confirmed by the khural, submitted to the soum


@dataclass(frozen=True, slots=True)
class Phase:
    stage: str  # the person's: NEW, PENDING, or the round's stage
    round: Round | None
    round_stage: str  # the bag round's: NO_ROUND, COLLECTING, VOTING, OVER (NEW: no bag)
    bag_code: str | None
    governs: bool  # a governor (or operator) of the bag: their help is the governor's


async def of(ctx: Context) -> Phase:
    governed = await ctx.governed_bag()
    person = ctx.person
    bag_code = person.bag_code or governed
    if bag_code is None:
        return Phase(NEW, None, NEW, None, False)
    rnd = await rounds.current(ctx.conn, bag_code)
    if rnd is None or rnd.status == "draft":
        round_stage = NO_ROUND
    elif rnd.status in (COLLECTING, VOTING):
        round_stage = rnd.status
    else:
        round_stage = OVER
    # The bag's round is public (its meeting, its deadlines); acting in it waits for the
    # governor's approval.
    stage = PENDING if person.status == "pending" and governed is None else round_stage
    return Phase(stage, rnd, round_stage, bag_code, governed is not None)


def help_text(phase: Phase) -> Text:
    """The help of the person's phase (what ТУСЛАМЖ alone answers)."""
    if phase.governs:
        return Text("help.governor")
    if phase.stage == NEW:
        return Text("help.new")
    if phase.stage == PENDING:
        return Text("join.pending_wait")
    if phase.stage == VOTING and phase.round is not None:
        return Text("help.voting", {"k": phase.round.max_choices})
    if phase.stage == COLLECTING:
        return Text("help.collecting")
    return Text("help.general")


def reply_with(ctx: Context, text: Text) -> None:
    ctx.reply(text.key, **text.params)


def one_segment(ctx: Context, parts: list[Text]) -> bool:
    """Whether these parts, in the reader's language, fit one SMS segment (always, on
    Telegram): a lead-in that would make a reply cost a second SMS is left out."""
    if not ctx.inbound.channel.is_sms:
        return True
    return count_segments(compose(parts, ctx.person.lang)).segments == 1


def reply_led(ctx: Context, lead: Text, body: Text) -> None:
    """``lead`` then ``body`` when both fit one segment; else ``body`` alone."""
    parts = [lead, body] if one_segment(ctx, [lead, body]) else [body]
    ctx.reply(parts[0].key, **parts[0].params)
    for part in parts[1:]:
        ctx.add(part.key, **part.params)
