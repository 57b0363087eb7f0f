"""The Telegram conversation: what a shared contact and buttons add to the SMS words.

Called by ``handlers.dispatch`` for Telegram messages only, inside the router's one
transaction per message: :func:`before` the usual handler (the contact gate, the bag
keyboards, the button ballot) and :func:`after` it (buttons under a governor's list).
Nothing here talks to Telegram: replies are catalog keys and buttons, as everywhere.

A button carries either words the parser reads (``JOIN 644651``, ``ACCEPT 3``), handled
exactly like typed text with every role and state check, or a ``tg:`` step handled here.
Both arrive as stored inbox rows. Button data stays within Telegram's 64 bytes.

Identity: a Telegram account counts only once it has shared its own phone contact; it
then *is* the person with that number, so one person has one ballot across SMS and
Telegram. Until then only the language word works.
"""

from __future__ import annotations

from dataclasses import replace

from bot.core.grammar.intents import Intent, Kind
from bot.core.message import Button
from bot.core.phone import try_normalise
from bot.core.texts import render
from handlers import described, fallback, governor, greetings, voting
from handlers.context import Context
from handlers.proposals import citizen_round, short
from storage import ballots, people, proposals, rounds, units
from storage import telegram as store
from storage.proposals import Proposal
from storage.rounds import Round

PREFIX = "tg:"
# Ballot state travels in the button data as a hex bit mask of proposal numbers; these
# bounds keep "tg:v:<round>:<mask>:<n>" within 64 bytes. Beyond them, numbers are typed.
MAX_BALLOT_NUMBER = 150
MAX_BALLOT_ROWS = 60
LABEL_TEXT = 30  # characters of a proposal's text on a button
LEADS = greetings.LEADS | {fallback.LEAD}
# Replies that tell a newcomer to join: the bag keyboard goes under them.
JOIN_REPLIES = frozenset(
    {
        "help.new",
        "join.first",
        "join.unknown_code",
        "join.unknown_soum",
        "greeting.step.new",
        "question.join",
        "question.join_meeting",
    }
)


# ---------------------------------------------------------------------------- before


async def before(ctx: Context) -> bool:
    """Handle what only Telegram has; True when the message is answered here."""
    person = ctx.person
    if person.telegram_blocked:  # they write again, so they unblocked the bot
        await people.set_telegram_blocked(ctx.conn, person.id, False)
    if person.phone is None and not await store.earlier_messages(
        ctx.conn, ctx.inbound.address, ctx.inbox_id
    ):
        await _language_from_telegram(ctx)
    if "contact_phone" in ctx.inbound.extra:
        await _contact(ctx)
        return True
    if ctx.person.phone is None:
        if ctx.intent.kind is Kind.LANG:
            return False
        ctx.reply("telegram.share_contact")
        ctx.ask_contact = True
        return True
    text = ctx.inbound.text.strip()
    if text.startswith(PREFIX):
        return await _step(ctx, text[len(PREFIX) :])
    kind, error = ctx.intent.kind, ctx.intent.error
    if ctx.intent.extra.get("telegram_start") and ctx.person.opted_out:
        # Telegram's Start button after STOP: what START means by SMS.
        ctx.intent = replace(ctx.intent, kind=Kind.START, extra={})
        return False
    if kind is Kind.JOIN and error:
        await _units_keyboard(ctx, "")
        return True
    if kind is Kind.VOTE and error and not ctx.intent.numbers:
        if await described.proposes_by_vote_words(ctx):
            return False  # "санал өгөх гэсэн юм. Худаг...": a proposal while collecting
        await _open_ballot(ctx, None)
        return True
    return False


async def _language_from_telegram(ctx: Context) -> None:
    """A newcomer's replies follow their Telegram app's language (the router guessed from
    the script, which for "/start" is Latin: right for cheap SMS, wrong here)."""
    lang = "en" if ctx.inbound.extra.get("tg_lang", "").startswith("en") else "mn"
    if ctx.person.lang != lang:
        await people.set_lang(ctx.conn, ctx.person.id, lang)
        ctx.person = replace(ctx.person, lang=lang)


async def _contact(ctx: Context) -> None:
    extra = ctx.inbound.extra
    me = ctx.person
    if extra.get("contact_user_id") != str(ctx.inbound.telegram_id):
        # Someone else's card proves nothing about who is writing.
        await ctx.audit("telegram.contact_refused")
        ctx.reply("telegram.contact_not_yours")
        ctx.ask_contact = me.phone is None
        return
    phone = try_normalise(extra.get("contact_phone", ""))
    if phone is None:
        ctx.reply("telegram.contact_bad")
        ctx.ask_contact = me.phone is None
        return
    if me.phone is not None:
        if me.phone == phone:
            ctx.reply("telegram.linked", phone=phone)
            await _next_step(ctx, me.bag_code)
        else:
            ctx.reply("telegram.other_number", phone=me.phone)
        return
    owner = await people.by_phone(ctx.conn, phone)
    if owner is None:
        await store.set_phone(ctx.conn, me.id, phone)
        target = me
    else:
        assert ctx.inbound.telegram_id is not None
        await store.move_telegram(ctx.conn, me.id, owner.id, ctx.inbound.telegram_id)
        # This reply goes out under the first record: in the language that counts now.
        await people.set_lang(ctx.conn, me.id, owner.lang)
        target = owner
    await ctx.audit("telegram.link", person_id=target.id, merged=target.id != me.id)
    ctx.person = await people.get(ctx.conn, me.id) or me
    ctx.reply("telegram.linked", phone=phone)
    ctx.governor_menu = await store.is_governor(ctx.conn, target.id)
    await _next_step(ctx, target.bag_code)


async def _next_step(ctx: Context, bag_code: str | None) -> None:
    if bag_code is None:
        ctx.add("telegram.choose_aimag")
        ctx.buttons = await _aimag_buttons(ctx)
    else:
        ctx.add("telegram.linked_help")


# ----------------------------------------------------------------------- tg: steps


async def _step(ctx: Context, step: str) -> bool:
    """A ``tg:`` button. False only for the ballot's submit, which the vote handler
    takes from here (with every check a typed vote gets)."""
    name, _, rest = step.partition(":")
    args = rest.split(":") if rest else []
    try:
        if name == "u":
            await _units_keyboard(ctx, rest)
            return True
        if name == "b":
            await _open_ballot(ctx, int(args[0]))
            return True
        if name == "v":
            await _toggle(ctx, int(args[0]), _numbers(args[1]), int(args[2]))
            return True
        if name == "s":
            return await _submit(ctx, int(args[0]), _numbers(args[1]))
        if name == "m":
            await _merge_targets(ctx, int(args[0]))
            return True
        if name == "close":
            await _confirm_close(ctx)
            return True
    except (ValueError, IndexError):
        pass
    ctx.reply("telegram.stale_button")
    return True


def _grid(buttons: list[Button], width: int) -> list[tuple[Button, ...]]:
    return [tuple(buttons[i : i + width]) for i in range(0, len(buttons), width)]


async def _lang(ctx: Context) -> str:
    fresh = await people.get(ctx.conn, ctx.person.id)
    return fresh.lang if fresh else ctx.person.lang


async def _aimag_buttons(ctx: Context) -> tuple[tuple[Button, ...], ...]:
    aimags = sorted(await units.by_level(ctx.conn, "aimag"), key=lambda u: u.name)
    return tuple(_grid([Button(a.name, f"{PREFIX}u:{a.code}") for a in aimags], 2))


async def _units_keyboard(ctx: Context, code: str) -> None:
    """Aimag, then soum, then bag: the bag's button is the JOIN words with its code."""
    unit = await units.get(ctx.conn, code) if code else None
    if unit is None or unit.level == "bag":
        ctx.reply("telegram.choose_aimag")
        ctx.buttons = await _aimag_buttons(ctx)
        return
    back = render("telegram.btn.back", await _lang(ctx))
    children = await units.children(ctx.conn, unit.code)
    if unit.level == "aimag":
        ctx.reply("telegram.choose_soum", aimag=unit.name)
        rows = _grid([Button(s.name, f"{PREFIX}u:{s.code}") for s in children], 2)
        rows.append((Button(back, f"{PREFIX}u"),))
    else:
        ctx.reply("telegram.choose_bag", soum=unit.name)
        rows = _grid([Button(b.name, f"JOIN {b.code}") for b in children], 1)
        rows.append((Button(back, f"{PREFIX}u:{unit.parent_code or ''}"),))
    ctx.buttons = tuple(rows)


# ---------------------------------------------------------------------------- ballot


def _mask(numbers: set[int]) -> str:
    return format(sum(1 << n for n in numbers), "x")


def _numbers(mask: str) -> set[int]:
    if not mask or len(mask) > 48:
        raise ValueError("bad ballot mask")
    value = int(mask, 16)
    return {n for n in range(value.bit_length()) if value >> n & 1}


async def _ballot_round(ctx: Context, round_id: int | None) -> tuple[Round, list[Proposal]] | None:
    """The voter's round and its ballot, or None after replying why not."""
    rnd = await citizen_round(ctx)
    if rnd is None:
        return None
    if round_id is not None and rnd.id != round_id:
        ctx.reply("telegram.ballot_stale")
        return None
    if rnd.status != "voting":
        ctx.reply("vote.not_open" if rnd.status == "collecting" else "vote.closed")
        return None
    if await voting.voted_elsewhere(ctx, rnd):  # one ballot a year: no ballot to tick
        return None
    shown = await proposals.of_round(ctx.conn, rnd.id, "accepted")
    if not shown:
        ctx.reply("list.empty")
        return None
    if len(shown) > MAX_BALLOT_ROWS or max(p.number for p in shown) > MAX_BALLOT_NUMBER:
        ctx.reply("help.voting", k=rnd.max_choices)  # too many for buttons: type them
        return None
    return rnd, shown


async def _show_ballot(
    ctx: Context, rnd: Round, shown: list[Proposal], chosen: set[int], note: str | None = None
) -> None:
    ctx.reply("telegram.ballot", k=rnd.max_choices, chosen=len(chosen))
    if note is not None:
        ctx.add(note, k=rnd.max_choices)
    lang = await _lang(ctx)
    mask = _mask(chosen)
    rows: list[tuple[Button, ...]] = []
    for p in shown:
        tick = "✅" if p.number in chosen else "⬜"
        label = f"{tick} {p.number}. {short(p.text, LABEL_TEXT)}"
        rows.append((Button(label, f"{PREFIX}v:{rnd.id}:{mask}:{p.number}"),))
    submit = render("telegram.btn.submit", lang, count=len(chosen))
    rows.append((Button(submit, f"{PREFIX}s:{rnd.id}:{mask}"),))
    ctx.buttons = tuple(rows)


async def _open_ballot(ctx: Context, round_id: int | None) -> None:
    found = await _ballot_round(ctx, round_id)
    if found is None:
        return
    rnd, shown = found
    # The voter's own current choice, shown only to them, so that changing it is a tap.
    mine = set(await ballots.choices_of(ctx.conn, ctx.ballot_key, rnd.id, ctx.person.id))
    chosen = {p.number for p in shown if p.id in mine}
    await _show_ballot(ctx, rnd, shown, chosen)


async def _toggle(ctx: Context, round_id: int, chosen: set[int], number: int) -> None:
    found = await _ballot_round(ctx, round_id)
    if found is None:
        return
    rnd, shown = found
    on_ballot = {p.number for p in shown}
    chosen &= on_ballot
    if number in chosen:
        chosen.discard(number)
    elif number in on_ballot:
        if len(chosen) >= rnd.max_choices:
            await _show_ballot(ctx, rnd, shown, chosen, note="telegram.ballot_full")
            return
        chosen.add(number)
    await _show_ballot(ctx, rnd, shown, chosen)


async def _submit(ctx: Context, round_id: int, chosen: set[int]) -> bool:
    found = await _ballot_round(ctx, round_id)
    if found is None:
        return True
    rnd, shown = found
    if not chosen:
        await _show_ballot(ctx, rnd, shown, chosen, note="telegram.ballot_pick")
        return True
    ctx.intent = Intent(Kind.VOTE, numbers=tuple(sorted(chosen)), script=ctx.intent.script)
    return False


# -------------------------------------------------------------------------- governor


async def _governed_round(ctx: Context, status: str) -> Round | None:
    """The governed bag's round, if it is at ``status``; else the governor word's replies."""
    bag_code = await ctx.governed_bag()
    if bag_code is None:
        await ctx.audit("refused.governor_word", intent="telegram")
        ctx.reply("governor.not_allowed")
        return None
    return await governor.round_in(ctx, bag_code, status)


async def _merge_targets(ctx: Context, number: int) -> None:
    rnd = await _governed_round(ctx, "collecting")
    if rnd is None:
        return
    every = await proposals.of_round(ctx.conn, rnd.id)
    src = next((p for p in every if p.number == number), None)
    if src is None or src.status in ("merged", "rejected"):
        ctx.reply("proposal.unknown", n=number)
        return
    targets = [p for p in every if p.number != number and p.status in ("pending", "accepted")]
    if not targets:
        ctx.reply("merge.usage")
        return
    ctx.reply("telegram.merge_into", n=number, text=short(src.text))
    rows = [
        (Button(f"→ {p.number}. {short(p.text, LABEL_TEXT)}", f"MERGE {number} {p.number}"),)
        for p in targets[:MAX_BALLOT_ROWS]
    ]
    rows.append((Button(render("telegram.btn.back", await _lang(ctx)), "PENDING"),))
    ctx.buttons = tuple(rows)


async def _confirm_close(ctx: Context) -> None:
    """Closing ends the vote for good: one more tap, on a button that says so."""
    rnd = await _governed_round(ctx, "voting")
    if rnd is None:
        return
    ctx.reply("telegram.close_confirm")
    ctx.buttons = ((Button(render("telegram.btn.close_now", await _lang(ctx)), "CLOSE"),),)


# ----------------------------------------------------------------------------- after


async def after(ctx: Context) -> None:
    """Buttons under replies where tapping beats typing the next word."""
    if ctx.buttons or ctx.ask_contact or not ctx.reply_parts or ctx.person.phone is None:
        return
    # A kind word before the help ("Сайн байна уу!", "Ойлгосонгүй.") changes no button.
    key = next((p.key for p in ctx.reply_parts if p.key not in LEADS), "")
    pressed = "callback" in ctx.inbound.extra
    if key in ("accept.ok", "reject.ok", "merge.ok"):
        # Pressed under the list: the list again, as it is now. Typed: the next step.
        await _pending_buttons(ctx, with_list=pressed, proposals_too=pressed)
    elif key == "pending.header":
        await _pending_buttons(ctx, with_list=False)
    elif key == "help.governor":
        await _round_buttons(ctx)
    elif key in JOIN_REPLIES:
        label = render("telegram.btn.choose_bag", await _lang(ctx))
        ctx.buttons = ((Button(label, f"{PREFIX}u"),),)
    elif key in ("help.voting", "list.header", "my.ballot", "my.none", "greeting.step.voting"):
        await _vote_button(ctx)
    elif key == "voting.ok":
        label = render("telegram.btn.close", await _lang(ctx))
        ctx.buttons = ((Button(label, f"{PREFIX}close"),),)


async def _vote_button(ctx: Context) -> None:
    if ctx.person.bag_code is None or ctx.person.status != "approved":
        return
    rnd = await rounds.current(ctx.conn, ctx.person.bag_code)
    if rnd is not None and rnd.status == "voting":
        label = render("telegram.btn.vote", await _lang(ctx))
        ctx.buttons = ((Button(label, f"{PREFIX}b:{rnd.id}"),),)


async def _pending_buttons(ctx: Context, *, with_list: bool, proposals_too: bool = True) -> None:
    """Accept, reject and merge under each proposal waiting for review; voting below."""
    bag_code = await ctx.governed_bag()
    rnd = await rounds.current(ctx.conn, bag_code) if bag_code else None
    if rnd is None or rnd.status not in ("collecting", "voting"):
        return
    waiting = await proposals.of_round(ctx.conn, rnd.id, "pending")
    shown = waiting[: ctx.settings.list_page_size]
    if with_list:
        if waiting:
            ctx.add("pending.header", count=len(waiting))
            for p in shown:
                ctx.add("pending.item", n=p.number, text=short(p.text))
        else:
            ctx.add("pending.none")
    lang = await _lang(ctx)
    rows: list[tuple[Button, ...]] = []
    for p in shown if proposals_too else []:
        row = [
            Button(render("telegram.btn.accept", lang, n=p.number), f"ACCEPT {p.number}"),
            Button(render("telegram.btn.reject", lang, n=p.number), f"REJECT {p.number}"),
        ]
        if rnd.status == "collecting":
            label = render("telegram.btn.merge", lang, n=p.number)
            row.append(Button(label, f"{PREFIX}m:{p.number}"))
        rows.append(tuple(row))
    if rnd.status == "collecting":
        rows.append((Button(render("telegram.btn.voting", lang), "VOTING"),))
    ctx.buttons = tuple(rows)


async def _round_buttons(ctx: Context) -> None:
    """The round's next step for its governor: review, start voting, close, results."""
    bag_code = await ctx.governed_bag()
    rnd = await rounds.current(ctx.conn, bag_code) if bag_code else None
    if rnd is None:
        return
    lang = await _lang(ctx)
    if rnd.status == "collecting":
        ctx.buttons = (
            (
                Button(render("telegram.btn.pending", lang), "PENDING"),
                Button(render("telegram.btn.voting", lang), "VOTING"),
            ),
        )
    elif rnd.status == "voting":
        ctx.buttons = ((Button(render("telegram.btn.close", lang), f"{PREFIX}close"),),)
    elif rnd.status in ("closed", "confirmed", "submitted"):
        ctx.buttons = ((Button(render("telegram.btn.results", lang), "RESULTS"),),)
