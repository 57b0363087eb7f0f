"""Approval counting and ranking.

Rank by votes; ties are broken by more beneficiaries, then by earlier submission (the lower
proposal number). Every proposal gets a distinct rank, so the khural always has an order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from handlers.percent import percent as percent  # the one rounding (handlers/percent.py)
from storage.proposals import Proposal


@dataclass(frozen=True, slots=True)
class Ranked:
    proposal: Proposal
    votes: int
    rank: int
    share: float  # of voters who chose it, 0..1


@dataclass(frozen=True, slots=True)
class Participation:
    registered: int
    voted: int
    by_channel: Mapping[str, int]

    @property
    def turnout(self) -> float:
        return self.voted / self.registered if self.registered else 0.0


def rank(proposals: Sequence[Proposal], votes: Mapping[int, int], voters: int) -> list[Ranked]:
    """Rank the proposals on the ballot (ids in ``votes`` map proposal id -> approvals)."""
    ordered = sorted(
        proposals,
        key=lambda p: (-votes.get(p.id, 0), -(p.beneficiaries or 0), p.created_at, p.number),
    )
    return [
        Ranked(p, votes.get(p.id, 0), i, (votes.get(p.id, 0) / voters) if voters else 0.0)
        for i, p in enumerate(ordered, start=1)
    ]
