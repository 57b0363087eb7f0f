"""Ballot secrecy in the message tables: which messages carry a ballot.

``participation`` says who voted and ``ballot_choices`` what was chosen, under a key that
is not in the database (storage.ballots). The messages themselves would undo that: a
vote's text beside its sender's phone, "your choice: 1 4" beside the voter's number, a
Telegram button press whose data is the ballot's bit mask, a ballot keyboard with its ✅
ticks. So every message that carries a ballot is sealed:

* its inbox row, in the very transaction that handles it (the router): the text becomes
  :data:`storage.inbox.SEALED` and the extra keeps only what the reply still needs (the
  Telegram message to edit) and a keyed fingerprint for deduplication;
* its reply, as soon as the outbox row is done with (sent, delivered, failed): the router
  queues it with ``"ballot": 1`` in its extra and a trigger of the database (migration
  0007) blanks it whatever code marks it done; until then the sender needs the text.

What carries a ballot: every message the parser reads as a vote (``СОНГО 1 3``, a bare
``1 3``, ``/vote``), ``МИНИЙ`` and its answer, and the Telegram ballot's presses and
keyboards. A message the parser does not understand is kept as typed.
"""

from __future__ import annotations

from bot.core.grammar.intents import Kind
from bot.core.message import Button

BALLOT_KINDS = frozenset({Kind.VOTE, Kind.MY})
# Telegram ballot buttons: open the ballot, tick a proposal, send (telegram_flow).
BALLOT_STEPS = ("tg:b:", "tg:v:", "tg:s:")


def bears_ballot(text: str, *kinds: Kind) -> bool:
    """Does a message with this text, read as these intents, carry a ballot?"""
    return any(k in BALLOT_KINDS for k in kinds) or text.strip().startswith(BALLOT_STEPS)


def keyboard_bears_ballot(buttons: tuple[tuple[Button, ...], ...]) -> bool:
    """A ballot keyboard: its labels tick the voter's choices, its data hold them."""
    return any(b.data.startswith(BALLOT_STEPS[1:]) for row in buttons for b in row)
