"""A world for the corpus to be said in: a real Sanal (real SQLite file, real router, the
simulator's HTTP API), bags in every phase of a round, and a check of what each corpus line
did to the database and what its sender was told.

One world serves every line: each line is said by a fresh phone number, so lines do not
see each other. A citizen joins a shared bag of the line's phase; a governor or a soum
working-group member gets a bag or a soum of their own, built in that phase, because their
words change the round. Building a bag is a few inserts in one transaction.

Effects (the ``effect`` of a corpus line, see tests/grammar/corpus_lines.py):

===========================  ==================================================================
joined[:<bag_code>]          the sender is registered in that bag (approved, or pending where
                             the bag approves newcomers); without a code, in some bag
proposal_stored              one new proposal of the sender in their round, with the line's
                             beneficiaries, cost_mnt, arg_text and 60.3 flag where given
vote_recorded:<n,n>          the sender's ballot is exactly those proposal numbers
opted_out / opted_in         the opt-out changed, and the reply says so
lang:<code>                  the sender's language is now mn | mn_latn | en
rsvp                         the sender said they will come to the khural meeting
answered:<key>[|<key>...]    the reply is a catalog text whose key starts with one of these,
                             and nothing changed
asked                        a yes/no question, nothing changed (then, often, a ``then`` line)
join_help                    nothing changed, and the reply tells how to join (its word НЭГДЭХ)
not:<key>[|<key>...]         nothing changed, and the reply is none of these catalog texts
nothing                      nothing changed; a reply that is not empty, not an apology for an
                             internal error, and neither an opt-out nor its question
opened                       a round opened, with the line's deadlines (collect_until/_time,
                             vote_until/_time, read in the bag's zone)
voting_started               the round moved to voting, with the line's vote deadline
accepted:<n,n>               those proposals are on the ballot
rejected:<n> / flagged:<n>   that proposal is rejected / carries a 60.3 flag
merged:<from>,<into>         the first proposal is merged into the second
meeting_set                  the khural meeting is at the line's meeting_date and _time, at
                             the line's place (arg_text) where given
closed                       the round is closed
confirmed[:<n>]              the khural confirmed the round (with n attending)
admitted:<phone>             that pending newcomer is approved
policy:<open|approval>       the bag's registration policy
notice_sms:<on|off>          whether the bag's voting-open notice also goes by SMS
ceiling:<amount>             the soum's LDF ceiling
===========================  ==================================================================

Every effect also checks that nothing else of the sender's state changed (their bag, opt-out,
ballot, RSVP, their round, its proposals and meeting, their bag's policy).
"""

from __future__ import annotations

import re
import string
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient, TestServer

from bot.app import Sanal
from bot.core.clock import ManualClock
from bot.core.phone import try_normalise
from bot.core.texts import catalog
from bot.core.translit import to_latin
from bot.web import build_web_app
from handlers.closing import close_round
from storage import ballots, meetings, notices, people, proposals, roles, rounds, soum, units
from storage.db import Tx
from tests.conftest import START, Phone, make_settings
from tests.grammar.corpus_lines import (
    Line,
    before_of,
    effect_of,
    phase_of,
    who_of,
)

# A soum may allow up to five choices on a ballot: every ballot the corpus writes fits.
MAX_CHOICES = 5
PROPOSALS = 15  # on a voting bag's ballot: "сонго 10 12" and "12" are real numbers
MEETING = ("2027-04-10 14:00", "Багийн төв")  # the khural of the citizens' bags
PLACES = ("Худаг гаргах", "Гүүр засах", "Гудамжны гэрэлтүүлэг", "Цэцэрлэгийн засвар")


@dataclass(frozen=True)
class Outcome:
    reply: str
    failure: str | None  # None: the effect happened as the line says

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True)
class Sender:
    phone: str  # as typed into the simulator
    e164: str
    person_id: int
    bag_code: str | None  # the bag whose round the line concerns (theirs, or governed)
    soum_code: str | None = None


Snapshot = dict[str, object]


class World:
    def __init__(self, sanal: Sanal, client: TestClient[Any, Any]) -> None:
        self.sanal = sanal
        self.client = client
        self.next_phone = 0
        self.citizen_bags: dict[str, str] = {}
        self.free_bags: list[str] = []
        self.free_soums: list[str] = []

    # --- building ---------------------------------------------------------------------------

    async def build(self) -> None:
        async with self.sanal.db.write() as conn:
            # Bags outside Bayankhongor (the aimag the corpus names) for the world's own use.
            all_bags = [b.code for b in await units.by_level(conn, "bag")]
            all_soums = [s.code for s in await units.by_level(conn, "soum")]
        self.free_bags = sorted(b for b in all_bags if not b.startswith("64"))
        self.free_soums = sorted(s for s in all_soums if not s.startswith("64"))
        for phase in ("none", "collecting", "voting", "closed"):
            self.citizen_bags[phase] = await self.bag_in(phase, meeting=True)

    def _fresh_phone(self) -> str:
        self.next_phone += 1
        if self.next_phone >= 1_000_000:
            raise RuntimeError("the world ran out of phone numbers")
        return f"85{self.next_phone:06d}"

    async def bag_in(self, phase: str, meeting: bool = False) -> str:
        """A bag of its own in ``phase``: collecting has proposals 1-8 waiting and 9-12 on
        the ballot; voting and closed have 1-15 on the ballot, and two or more voters."""
        if not self.free_bags:
            raise RuntimeError("the world ran out of bags: more governor lines than bags")
        bag = self.free_bags.pop(0)
        if phase == "none":
            return bag
        now = self.sanal.clock.now()
        async with self.sanal.db.write() as conn:
            proposer = await self._person(conn, bag)
            rnd = await rounds.create(
                conn,
                bag_code=bag,
                year=2028,
                now=now,
                max_choices=MAX_CHOICES,
                allow_change=True,
            )
            count = 12 if phase == "collecting" else PROPOSALS
            for n in range(1, count + 1):
                p = await proposals.create(
                    conn,
                    round_id=rnd.id,
                    person_id=proposer,
                    text=f"{PLACES[n % len(PLACES)]} №{n}, {10 + n} өрх",
                    beneficiaries=10 + n,
                    cost_mnt=n * 1_000_000,
                    flag=None,
                    now=now,
                )
                if phase != "collecting" or n > 8:
                    await proposals.set_status(conn, p.id, "accepted")
            if meeting:
                zone = ZoneInfo((await units.get(conn, bag) or _no_unit(bag)).tz)
                starts = datetime.fromisoformat(MEETING[0]).replace(tzinfo=zone)
                await meetings.schedule(conn, rnd.id, starts, MEETING[1], now)
            if phase == "collecting":
                return bag
            await rounds.advance(conn, rnd.id, "collecting", now)
            on_ballot = await proposals.of_round(conn, rnd.id, "accepted")
            for i in range(4):  # enough voters for counts to be shown after the close
                voter = await self._person(conn, bag)
                picks = [on_ballot[i].id, on_ballot[(i + 3) % len(on_ballot)].id]
                await ballots.cast(
                    conn,
                    self.sanal.router.key,
                    round_id=rnd.id,
                    person_id=voter,
                    channel="sim",
                    proposal_ids=picks,
                )
            if phase == "closed":
                voting = await rounds.get(conn, rnd.id)
                assert voting is not None
                await close_round(
                    conn, self.sanal.settings, voting, now, actor="corpus", channel="sim"
                )
        return bag

    async def _person(self, conn: Tx, bag: str | None, status: str = "approved") -> int:
        now = self.sanal.clock.now()
        phone = try_normalise(self._fresh_phone())
        assert phone is not None
        person = await people.get_or_create_by_phone(conn, phone, now=now, lang="mn")
        if bag is not None:
            await people.set_bag(conn, person.id, bag, status, now)
        return person.id

    async def sender(self, line: Line) -> Sender:
        """The person who says the line: fresh, in the line's role and phase."""
        who, phase = who_of(line), phase_of(line)
        bag: str | None = None
        soum_code: str | None = None
        if who == "governor":
            bag = await self.bag_in(phase)
        elif who == "citizen":
            bag = self.citizen_bags[phase]
        elif who == "soum":
            if not self.free_soums:
                raise RuntimeError("the world ran out of soums")
            soum_code = self.free_soums.pop(0)
        elif who != "newcomer":
            raise ValueError(f"who: {who!r}")
        phone = self._fresh_phone()
        e164 = try_normalise(phone)
        assert e164 is not None
        now = self.sanal.clock.now()
        async with self.sanal.db.write() as conn:
            person = await people.get_or_create_by_phone(conn, e164, now=now, lang="mn")
            if bag is not None:
                await people.set_bag(conn, person.id, bag, "approved", now)
            if who == "governor":
                assert bag is not None
                await roles.grant(conn, person.id, "governor", bag, now)
            if soum_code is not None:
                await roles.grant(conn, person.id, "soum", soum_code, now)
            target = _admitted(line)
            if target is not None:  # БҮРТГЭ needs someone waiting for approval
                assert bag is not None
                waiting = await people.get_or_create_by_phone(conn, target, now=now, lang="mn")
                await people.set_bag(conn, waiting.id, bag, "pending", now)
        return Sender(phone, e164, person.id, bag, soum_code)

    # --- saying a line ----------------------------------------------------------------------

    async def run(self, line: Line) -> Outcome:
        """Say the line (after its ``before`` messages) and check its effect."""
        who = await self.sender(line)
        phone = Phone(self.client, who.phone)
        for text in before_of(line):
            await phone.say(text)
        before = await self.snapshot(who)
        reply = await phone.say(line["text"])
        after = await self.snapshot(who)
        failure = await self.check(effect_of(line), line, who, before, after, reply)
        if failure is None and line.get("then") is not None:
            reply2 = await phone.say(line["then"])
            then_after = await self.snapshot(who)
            failure = await self.check(
                line.get("then_effect", "nothing"), line, who, after, then_after, reply2
            )
            if failure is not None:
                failure = f"then {line['then']!r}: {failure}"
        return Outcome(reply, failure)

    async def snapshot(self, who: Sender) -> Snapshot:
        # Read on the reader connection: the router has committed before the reply returns.
        conn = self.sanal.db.reader
        person = await people.get(conn, who.person_id)
        assert person is not None
        snap: Snapshot = {
            "person": (person.bag_code, person.status),
            "optout": person.opted_out,
            "lang": person.lang,
        }
        if who.bag_code is None:
            return snap
        unit = await units.get(conn, who.bag_code)
        snap["policy"] = unit.registration if unit else None
        snap["tz"] = unit.tz if unit else "Asia/Ulaanbaatar"
        snap["notice"] = await notices.sms_choice(conn, who.bag_code)
        rnd = await rounds.current(conn, who.bag_code)
        if rnd is None:
            return snap
        snap["round"] = (rnd.id, rnd.status, rnd.collect_until, rnd.vote_until)
        snap["attendance"] = rnd.attendance
        shown = await proposals.of_round(conn, rnd.id)
        snap["proposals"] = tuple(
            (p.number, p.status, p.flag, p.merged_into, p.person_id, p.id) for p in shown
        )
        ids = {p.id: p.number for p in shown}
        chosen = await ballots.choices_of(conn, self.sanal.router.key, rnd.id, who.person_id)
        snap["ballot"] = tuple(sorted(ids[i] for i in chosen))
        meeting = await meetings.current(conn, rnd.id)
        snap["meeting"] = (meeting.starts_at, meeting.place) if meeting else None
        snap["rsvp"] = bool(meeting) and await meetings.has_rsvp(
            conn, meeting.id if meeting else 0, who.person_id
        )
        return snap

    # --- effects ----------------------------------------------------------------------------

    async def check(
        self,
        effect: str,
        line: Line,
        who: Sender,
        before: Snapshot,
        after: Snapshot,
        reply: str,
    ) -> str | None:
        """None when the effect happened (and nothing else changed), else what went wrong."""
        name, _, arg = effect.partition(":")
        lang = str(after["lang"])
        if not reply.strip():
            return "no reply"
        if matches(reply, lang, "error.internal"):
            return f"internal error: {reply!r}"
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        changed -= {"lang", "tz"}  # a first message sets the language from its script
        allowed = ALLOWED.get(name)
        if allowed is None:
            return f"unknown effect {effect!r}"
        if changed - allowed:
            what = ", ".join(
                f"{k}: {before.get(k)!r} -> {after.get(k)!r}" for k in sorted(changed - allowed)
            )
            return f"{effect}: unexpected change ({what}); reply {reply!r}"
        try:
            why = await self._effect(name, arg, line, who, before, after, reply, lang)
        except (LookupError, ValueError, TypeError) as exc:  # a line that says too little
            why = f"cannot check ({exc!r})"
        return None if why is None else f"{effect}: {why}; reply {reply!r}"

    async def _effect(
        self,
        name: str,
        arg: str,
        line: Line,
        who: Sender,
        before: Snapshot,
        after: Snapshot,
        reply: str,
        lang: str,
    ) -> str | None:
        if name == "answered":
            keys = arg.split("|")
            return None if any(matches(reply, lang, k) for k in keys) else f"not {arg}"
        if name == "nothing":
            for key in ("optout.ask", "stop.ok", "start.ok"):
                if matches(reply, lang, key):
                    return f"answered {key}"
            return None
        if name == "not":
            wrong = [k for k in arg.split("|") if matches(reply, lang, k)]
            return f"answered {wrong[0]}" if wrong else None
        if name == "join_help":
            return None if JOIN_WORD.search(reply) else "no join word in the reply"
        if name == "asked":
            if any(matches(reply, lang, k) for k in ASK_KEYS) or _is_question(reply):
                return None
            return "no yes/no question"
        if name == "joined":
            bag, status = after["person"]  # type: ignore[misc]
            if bag is None or (arg and bag != arg) or status not in ("approved", "pending"):
                return f"registered in {bag} ({status})"
            return None
        if name == "opted_out":
            if not after["optout"] or before["optout"]:
                return "not opted out by this message"
            return None if matches(reply, lang, "stop.ok") else "reply is not stop.ok"
        if name == "opted_in":
            if after["optout"] or not before["optout"]:
                return "not opted in by this message"
            return None if matches(reply, lang, "start.ok") else "reply is not start.ok"
        if name == "lang":
            return None if after["lang"] == arg else f"language {after['lang']}"
        if name == "rsvp":
            return None if after.get("rsvp") and not before.get("rsvp") else "no RSVP"
        if name == "vote_recorded":
            want = tuple(sorted(int(n) for n in arg.split(",") if n))
            got = after.get("ballot")
            return None if got == want else f"ballot {got}"
        if name == "proposal_stored":
            return await self._stored(line, who, before, after)
        return await self._governor_effect(name, arg, line, who, before, after)

    async def _stored(
        self, line: Line, who: Sender, before: Snapshot, after: Snapshot
    ) -> str | None:
        old = {p[0] for p in before.get("proposals", ())}  # type: ignore[attr-defined]
        new = [p for p in after.get("proposals", ()) if p[0] not in old]  # type: ignore[attr-defined]
        if len(new) != 1 or new[0][4] != who.person_id:
            return f"{len(new)} new proposals"
        round_id = after["round"][0]  # type: ignore[index]
        stored = await proposals.by_number(self.sanal.db.reader, round_id, new[0][0])
        assert stored is not None
        for key, got in (
            ("beneficiaries", stored.beneficiaries),
            ("cost_mnt", stored.cost_mnt),
            ("flag", stored.flag),
            ("arg_text", stored.text),
        ):
            if key in line and line[key] != got:
                return f"{key} stored as {got!r}, not {line[key]!r}"
        return None

    async def _governor_effect(
        self, name: str, arg: str, line: Line, who: Sender, before: Snapshot, after: Snapshot
    ) -> str | None:
        rnd = after.get("round")
        status = rnd[1] if isinstance(rnd, tuple) else None
        states = {p[0]: p for p in after.get("proposals", ())}  # type: ignore[attr-defined]
        numbers = [int(n) for n in arg.split(",") if n.isdigit()]
        tz = ZoneInfo(str(after.get("tz", "Asia/Ulaanbaatar")))
        now = self.sanal.clock.now()
        if name == "opened":
            if before.get("round") == rnd or status != "collecting":
                return f"no new round collecting ({status})"
            assert isinstance(rnd, tuple)
            for field, at, got in (
                ("collect", "collect_time", rnd[2]),
                ("vote", "vote_time", rnd[3]),
            ):
                want = expected_deadline(line.get(f"{field}_until"), line.get(at), tz, now)
                if want != got:
                    return f"{field} deadline {got}, not {want}"
            return None
        if name == "voting_started":
            if status != "voting":
                return f"round {status}"
            assert isinstance(rnd, tuple)
            want = expected_deadline(line.get("vote_until"), line.get("vote_time"), tz, now)
            if want is not None and rnd[3] != want:
                return f"vote deadline {rnd[3]}, not {want}"
            return None
        if name in ("accepted", "rejected"):
            want = "accepted" if name == "accepted" else "rejected"
            wrong = [n for n in numbers if n not in states or states[n][1] != want]
            return f"not {want}: {wrong}" if wrong else None
        if name == "flagged":
            wrong = [n for n in numbers if n not in states or not states[n][2]]
            return f"not flagged: {wrong}" if wrong else None
        if name == "merged":
            src, dst = numbers
            if src not in states or dst not in states or states[src][3] != states[dst][5]:
                return f"№{src} not merged into №{dst}"
            return None
        if name == "meeting_set":
            meeting = after.get("meeting")
            if not isinstance(meeting, tuple) or meeting == before.get("meeting"):
                return "no meeting set"
            starts, place = meeting
            if "meeting_date" in line:
                day = _next(date.fromisoformat(line["meeting_date"]), now.astimezone(tz).date())
                want = datetime.combine(day, time.fromisoformat(line["meeting_time"]), tz)
                if starts != want:
                    return f"meeting at {starts}, not {want}"
            if "arg_text" in line and place != line["arg_text"]:
                return f"meeting place {place!r}"
            return None
        if name == "closed":
            return None if status == "closed" else f"round {status}"
        if name == "confirmed":
            if status not in ("confirmed", "submitted"):
                return f"round {status}"
            if numbers and after.get("attendance") != numbers[0]:
                return f"attendance {after.get('attendance')}"
            return None
        if name == "admitted":
            target = await people.by_phone(self.sanal.db.reader, try_normalise(arg) or arg)
            ok = target is not None and target.status == "approved"
            return None if ok else "not admitted"
        if name == "notice_sms":
            want = arg == "on"
            return None if after.get("notice") is want else f"SMS notice {after.get('notice')}"
        if name == "policy":
            return None if after.get("policy") == arg else f"policy {after.get('policy')}"
        if name == "ceiling":
            assert who.soum_code is not None
            years = [line.get("year")] if line.get("year") else range(2026, 2031)
            found = [await soum.ceiling(self.sanal.db.reader, who.soum_code, y) for y in years]
            return None if int(arg) in found else f"ceiling {found}"
        return f"unknown effect {name!r}"


# The yes/no questions Sanal asks (STOP when unsure, a project written without САНАЛ).
ASK_KEYS = ("optout.ask", "described.ask")

# The join word as replies spell it (Cyrillic, the Latin herders type, English).
JOIN_WORD = re.compile(r"НЭГДЭХ|NEGDE(?:KH|H|X)|\bJOIN\b")

# What each effect may change in the sender's snapshot; everything else must stay.
ALLOWED: dict[str, set[str]] = {
    "answered": set(),
    "asked": set(),
    "nothing": set(),
    "join_help": set(),
    "not": set(),
    "joined": {"person"},
    "proposal_stored": {"proposals"},
    "vote_recorded": {"ballot"},
    "opted_out": {"optout"},
    "opted_in": {"optout"},
    "lang": set(),
    "rsvp": {"rsvp"},
    "opened": {"round", "proposals", "ballot", "meeting", "rsvp", "attendance"},
    "voting_started": {"round"},
    "accepted": {"proposals"},
    "rejected": {"proposals"},
    "flagged": {"proposals"},
    "merged": {"proposals"},
    "meeting_set": {"meeting"},
    "closed": {"round"},
    "confirmed": {"round", "attendance"},
    "admitted": set(),
    "policy": {"policy"},
    "notice_sms": {"notice"},
    "ceiling": set(),
}


def _no_unit(code: str) -> units.Unit:
    raise LookupError(f"no unit {code}")


def _admitted(line: Line) -> str | None:
    effect = effect_of(line)
    if effect.startswith("admitted:"):
        return try_normalise(effect.removeprefix("admitted:"))
    return None


def _next(day: date, today: date) -> date:
    """A date typed without a year (year 1 from the parser) is its next occurrence."""
    if day.year != 1:
        return day
    day = day.replace(year=today.year)
    return day if day >= today else day.replace(year=today.year + 1)


def expected_deadline(
    typed_day: str | None, typed_time: str | None, zone: ZoneInfo, now: datetime
) -> datetime | None:
    """What a governor meant, worked out here from the issue's rules: a date alone is the
    end of that day in the bag's zone, a time alone is today, a date without a year its next
    occurrence."""
    if typed_day is None and typed_time is None:
        return None
    today = now.astimezone(zone).date()
    day = _next(date.fromisoformat(typed_day), today) if typed_day else today
    if typed_time is None:
        return datetime.combine(day + timedelta(days=1), time(0, 0), zone)
    return datetime.combine(day, time.fromisoformat(typed_time), zone)


# --- which catalog text a reply is ------------------------------------------------------------


@cache
def _pattern(lang: str, key: str) -> re.Pattern[str] | None:
    """A regex of a catalog text with any value in its {placeholders}, in a language; None
    for a text that is all placeholders ("{code} {name}": a row, never a reply's start)."""
    if lang == "mn_latn":
        template = catalog("mn_latn").get(key)
        literal = (lambda s: s) if template is not None else to_latin
        template = template if template is not None else catalog("mn").get(key)
    else:
        template = catalog(lang).get(key)
        literal = lambda s: s  # noqa: E731
    if template is None:
        return None
    parts, letters = [], 0
    for text, field, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal(text)))
        letters += sum(ch.isalpha() for ch in text)
        if field is not None:
            parts.append("[^\n]*?")  # a value stays on its line
    if letters < 3:
        return None
    # The text is the reply's first part: more parts may follow on lines of their own.
    return re.compile("".join(parts) + r"(?:\n|$)")


@cache
def _keys(lang: str) -> tuple[str, ...]:
    return tuple(catalog("mn" if lang == "mn_latn" else lang))


def matches(reply: str, lang: str, prefix: str) -> bool:
    """Whether the reply is (begins with) the catalog text of a key starting with prefix.

    A reply cut at the SMS budget ends with an ellipsis: its start is then compared with
    the text up to the cut."""
    cut = reply.endswith(("…", "..."))
    for key in _keys(lang):
        if not (key == prefix or key.startswith(prefix.rstrip(".") + ".")):
            continue
        pattern = _pattern(lang, key)
        if pattern is None:
            continue
        if pattern.match(reply):
            return True
        if cut and _head(lang, key) and reply.startswith(_head(lang, key)):
            return True
    return False


@cache
def _head(lang: str, key: str) -> str:
    pattern = _pattern(lang, key)
    if pattern is None:
        return ""
    head = pattern.pattern.split("[^\\n]*?", 1)[0]
    return re.sub(r"\\(.)", r"\1", head) if len(head) >= 12 else ""


def _is_question(reply: str) -> bool:
    first = reply.split("\n", 1)[0].strip()
    return first.endswith("?") or bool(re.search(r"\?\s", first))


@asynccontextmanager
async def open_world(folder: Path) -> AsyncIterator[World]:
    """A running Sanal on a fresh database in ``folder``, its bags built."""
    settings = make_settings(folder, max_choices=MAX_CHOICES)
    sanal = Sanal(settings, ManualClock(START))
    await sanal.open()
    try:
        async with TestClient(TestServer(build_web_app(sanal))) as client:
            world = World(sanal, client)
            await world.build()
            yield world
    finally:
        await sanal.stop()
