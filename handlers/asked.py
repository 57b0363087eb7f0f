"""The yes/no questions Sanal asks, remembered so that a bare "yes" knows what it answers.

Sanal asks when it is unsure what a message meant: "stop the messages?" (handlers/optout)
or "store this as a proposal?" (handlers/described), and when a governor's БАТЛАХ needs
an explicit yes (below the quorum or before the meeting, handlers/governor). The question
is recorded in the audit log against the message it answered (``asked.<question>`` with
its inbox id). Only the person's very next message, on the same channel and within a day,
answers it: a yes at any other time, a second yes, or a yes to a question never asked
answers nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from handlers.context import Context
from storage import audit, inbox

STOP = "stop"
PROPOSAL = "proposal"
CONFIRM = "confirm"  # БАТЛАХ below the quorum or before the meeting (handlers/governor)
QUESTIONS = (STOP, PROPOSAL, CONFIRM)
ANSWER_WITHIN = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Asked:
    question: str  # one of QUESTIONS
    inbox_id: int  # the message the question was asked about


async def ask(ctx: Context, question: str) -> None:
    """Remember that the reply to this message asks ``question`` (the caller replies)."""
    if question not in QUESTIONS:
        raise ValueError(question)
    await ctx.audit(f"asked.{question}", inbox_id=ctx.inbox_id)


async def last(ctx: Context) -> Asked | None:
    """The question the person's previous message was answered with, if asked lately."""
    previous = await inbox.previous_id(ctx.conn, ctx.inbound.address, ctx.channel, ctx.inbox_id)
    if previous is None:
        return None
    action = await audit.latest_about_message(
        ctx.conn,
        [f"asked.{q}" for q in QUESTIONS],
        ctx.person.id,
        previous,
        ctx.now - ANSWER_WITHIN,
    )
    if action is None:
        return None
    return Asked(action.removeprefix("asked."), previous)
