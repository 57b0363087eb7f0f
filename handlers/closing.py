"""Closing a round: exactly once, whoever asks (the governor, or the scheduler at the
deadline). Tally, rank, and tell the governor, the khural chair and the voters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core import channels
from bot.core.channels import capabilities
from bot.core.settings import Settings
from handlers.context import Text
from handlers.delivery import queue_for_person, route_for
from handlers.paging import fitted_pages, words_short
from handlers.tally import Participation, Ranked, percent, rank
from storage import audit, ballots, notices, outbox, people, proposals, roles, rounds, units
from storage.db import Tx
from storage.rounds import Round

TOP_FOR_CITIZENS = 3
# Characters of a proposal's text in a results row (cut at a word, never inside a number).
ROW_TEXT = 32
CITIZEN_ROW_TEXT = 24
# Settings.min_voters_for_counts, for callers that have no settings (reports): with one
# or two ballots, counts per proposal would tell each voter's choice to whoever knows who
# voted (participation is not secret), so results say so instead.
DEFAULT_MIN_VOTERS = 3
CHANNEL_LABELS = channels.LABELS  # each channel's declared label: "SMS", "Telegram"


@dataclass(frozen=True, slots=True)
class Results:
    round: Round
    ranked: list[Ranked]
    participation: Participation
    min_voters: int = DEFAULT_MIN_VOTERS

    @property
    def counts_hidden(self) -> bool:
        """Too few voted for counts (or a ranking made of them) to be shown to anyone."""
        return self.participation.voted < self.min_voters

    def too_few(self) -> Text:
        return Text("results.too_few", {"voted": self.participation.voted, "min": self.min_voters})


async def results(conn: Tx, rnd: Round, min_voters: int = DEFAULT_MIN_VOTERS) -> Results:
    on_ballot = await proposals.of_round(conn, rnd.id, "accepted")
    voted = await ballots.count_ballots(conn, rnd.id)
    ranked = rank(on_ballot, await ballots.votes_per_proposal(conn, rnd.id), voted)
    # Turnout is of the bag as it was at the close: people who join later did not miss the
    # vote, and the SMS, the minutes, the chart and ДҮН must agree whenever they are read.
    registered = rnd.registered_at_close
    if registered is None:
        registered = await people.count_registered(conn, rnd.bag_code)
    part = Participation(
        registered=registered,
        voted=voted,
        by_channel=await ballots.turnout_by_channel(conn, rnd.id),
    )
    return Results(rnd, ranked, part, min_voters)


def results_head(res: Results, bag_name: str) -> list[Text]:
    """The header and the participation line that start every page of results."""
    p = res.participation
    by_label: dict[str, int] = {}
    for ch, n in p.by_channel.items():
        label = CHANNEL_LABELS.get(ch, ch)
        by_label[label] = by_label.get(label, 0) + n
    channels = ", ".join(f"{label} {n}" for label, n in sorted(by_label.items())) or "-"
    return [
        Text("results.header", {"bag": bag_name, "year": res.round.year}),
        Text(
            "results.turnout",
            {
                "voted": p.voted,
                "registered": p.registered,
                "turnout": percent(p.turnout),
                "channels": channels,
            },
        ),
    ]


def results_rows(res: Results, limit: int = 32) -> list[Text]:
    """One line per proposal in rank order (or, when too few voted, the line saying why)."""
    if res.counts_hidden:
        return [res.too_few()]
    return [
        Text(
            "results.item",
            {
                "rank": r.rank,
                "n": r.proposal.number,
                "text": words_short(r.proposal.text, limit),
                "votes": r.votes,
                "share": percent(r.share),
            },
        )
        for r in res.ranked
    ]


def results_parts(res: Results, bag_name: str, limit: int | None = None) -> list[Text]:
    """The ranked list as catalog parts: header, participation, one line per proposal
    (or, when too few voted, a line saying why there are no counts)."""
    return [*results_head(res, bag_name), *results_rows(res)[:limit]]


def results_pages(
    res: Results, bag_name: str, lang: str, max_segments: int | None
) -> list[list[Text]]:
    """The results as pages of whole rows for a reader (ДҮН, ДҮН 2, ...): every rank on
    exactly one page, each page within ``max_segments`` (None: one page, Telegram)."""
    head = results_head(res, bag_name)
    return fitted_pages(
        lambda _page, _pages: head,
        lambda limit: results_rows(res, limit),
        lambda nxt: Text("results.more", {"next": nxt}),
        lang,
        max_segments,
        first_limit=ROW_TEXT,
    )


def citizen_notice(res: Results, bag_name: str, lang: str, max_segments: int | None) -> list[Text]:
    """The short result for voters: the top ranks that fit as whole rows, and how to read
    every rank (ДҮН)."""
    header = Text("results.citizen_header", {"bag": bag_name, "voted": res.participation.voted})
    if res.counts_hidden:
        return [header, res.too_few()]

    def rows(limit: int) -> list[Text]:
        return [
            Text(
                "results.citizen_item",
                {
                    "rank": r.rank,
                    "n": r.proposal.number,
                    "text": words_short(r.proposal.text, limit),
                    "votes": r.votes,
                },
            )
            for r in res.ranked[:TOP_FOR_CITIZENS]
        ]

    hint = Text("results.citizen_more")
    # Only the first page goes out: the hint says how to read the rest.
    pages = fitted_pages(
        lambda _p, _n: [header],
        rows,
        lambda _n: hint,
        lang,
        max_segments,
        first_limit=CITIZEN_ROW_TEXT,
        tail=[hint],
    )
    return pages[0]


def _budget(person: people.Person, settings: Settings) -> int | None:
    """The reader's segment budget on the channel a message we start will take."""
    route = route_for(person, settings)
    if route is not None and not capabilities(route[0]).is_sms:
        return None
    return settings.max_segments


async def close_round(
    conn: Tx,
    settings: Settings,
    rnd: Round,
    now: datetime,
    *,
    actor: str,
    channel: str,
    actor_id: int | None = None,
    skip_person: int | None = None,
    not_before: datetime | None = None,
) -> Results | None:
    """Close a voting round; None if it was not voting (already closed by someone else).

    ``not_before`` holds the messages (the scheduler closing at midnight: quiet hours).
    """
    if not await rounds.advance(conn, rnd.id, "voting", now):
        return None
    # A notice that voting has opened, still held by quiet hours, would now be wrong.
    await outbox.cancel(conn, notices.prefix(rnd.id))
    await rounds.freeze_registered(conn, rnd.id, await people.count_registered(conn, rnd.bag_code))
    closed = await rounds.get(conn, rnd.id)
    assert closed is not None
    res = await results(conn, closed, settings.min_voters_for_counts)
    bag = await units.get(conn, rnd.bag_code)
    bag_name = bag.name if bag else rnd.bag_code
    await audit.record(
        conn,
        now=now,
        actor=actor,
        actor_id=actor_id,
        action="round.close",
        channel=channel,
        unit_code=rnd.bag_code,
        round_id=rnd.id,
        ballots=res.participation.voted,
    )
    officials = [
        *(await roles.holders(conn, "governor", rnd.bag_code)),
        *(await roles.holders(conn, "chair", rnd.bag_code)),
    ]
    for official in officials:
        if official.person_id == skip_person:
            continue
        person = await people.get(conn, official.person_id)
        if person is not None:
            await queue_for_person(
                conn,
                settings,
                person,
                # Page 1 ends with "ДҮН 2" when the rest does not fit one SMS.
                results_pages(res, bag_name, person.lang, _budget(person, settings))[0],
                dedupe_key=f"result:{rnd.id}:{person.id}",
                now=now,
                kind="result",
                round_id=rnd.id,
                not_before=not_before,
            )
    audience = (
        await people.registered_in_bag(conn, rnd.bag_code)
        if settings.results_to_all
        else await _voters(conn, rnd.id)
    )
    official_ids = {o.person_id for o in officials}
    for person in audience:
        if person.id in official_ids or person.id == skip_person:
            continue
        await queue_for_person(
            conn,
            settings,
            person,
            citizen_notice(res, bag_name, person.lang, _budget(person, settings)),
            dedupe_key=f"result:{rnd.id}:{person.id}",
            now=now,
            kind="result",
            round_id=rnd.id,
            not_before=not_before,
            broadcast=True,
        )
    return res


async def _voters(conn: Tx, round_id: int) -> list[people.Person]:
    found = [
        await people.get(conn, person_id) for person_id in await ballots.voters(conn, round_id)
    ]
    return [p for p in found if p is not None]
