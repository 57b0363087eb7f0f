"""Joining a bag, and the governor's registration policy and approvals."""

from __future__ import annotations

import re

from bot.core.grammar.joining import aimag_keys, aimag_named
from bot.core.phone import try_normalise
from bot.core.translit import fuzzy_ratio, skeleton
from handlers.context import Context
from storage import ballots, people, roles, rounds, units
from storage.units import Unit

# How alike a typed place name must be to a real one (0..1, on skeletons).
MATCH_MIN = 0.75
MAX_CHOICES_SHOWN = 5


def bag_number(unit: Unit) -> str | None:
    m = re.match(r"\s*(\d+)", unit.name)
    return m.group(1) if m else None


def bag_label(unit: Unit) -> str:
    """'Баянбулаг' from '1-р баг, Баянбулаг' (or the whole name when it has no comma)."""
    return unit.name.split(",", 1)[1].strip() if "," in unit.name else unit.name


async def find_aimags(ctx: Context, query: str) -> list[Unit]:
    """The aimags a typed name stands for ("bayanhongor", "govi-altai", "УБ")."""
    named = aimag_named(query)
    aimags = await units.by_level(ctx.conn, "aimag")
    exact = [a for a in aimags if a.name == named or skeleton(query) in aimag_keys(a.name)]
    if exact:
        return exact
    scored = sorted(((fuzzy_ratio(query, a.name), a) for a in aimags), key=lambda p: -p[0])
    return [a for score, a in scored if score >= MATCH_MIN][:MAX_CHOICES_SHOWN]


async def find_soums(ctx: Context, query: str, aimag_query: str | None = None) -> list[Unit]:
    soums = await units.by_level(ctx.conn, "soum")
    if aimag_query:
        # "Архангай Жаргалант 1": of the six Жаргалант soums, the one in that aimag. An
        # aimag name that matches none is left aside rather than refusing the join.
        aimags = {a.code for a in await find_aimags(ctx, aimag_query)}
        if aimags:
            soums = [s for s in soums if s.parent_code in aimags]
    wanted = skeleton(query)
    exact = [s for s in soums if skeleton(s.name) == wanted]
    if exact:
        return exact
    scored = sorted(((fuzzy_ratio(query, s.name), s) for s in soums), key=lambda p: -p[0])
    return [s for score, s in scored if score >= MATCH_MIN][:MAX_CHOICES_SHOWN]


async def find_bags(ctx: Context, soum: Unit, query: str) -> list[Unit]:
    bags = await units.children(ctx.conn, soum.code)
    digits = re.sub(r"\D", "", query)
    if digits and digits == query.strip().rstrip(".").strip():
        return [b for b in bags if bag_number(b) == str(int(digits))]
    wanted = skeleton(query)
    exact = [b for b in bags if skeleton(bag_label(b)) == wanted]
    if exact:
        return exact
    scored = sorted(((fuzzy_ratio(query, bag_label(b)), b) for b in bags), key=lambda p: -p[0])
    return [b for score, b in scored if score >= MATCH_MIN][:MAX_CHOICES_SHOWN]


async def join(ctx: Context) -> None:
    intent = ctx.intent
    if intent.error:
        ctx.reply("join.usage")
        return
    bag: Unit | None = None
    if intent.bag_code:
        bag = await units.get(ctx.conn, intent.bag_code)
        if bag is None or bag.level != "bag":
            ctx.reply("join.unknown_code", code=intent.bag_code)
            return
    else:
        soums = await find_soums(ctx, intent.soum_query or "", intent.aimag_query)
        if not soums:
            ctx.reply("join.unknown_soum", soum=intent.soum_query or "")
            return
        if len(soums) > 1:
            ctx.reply("join.which_soum")
            for s in soums:
                aimag = await units.get(ctx.conn, s.parent_code or "")
                ctx.add("join.soum_choice", name=s.name, aimag=aimag.name if aimag else "")
            return
        soum = soums[0]
        bags = await find_bags(ctx, soum, intent.bag_query or "")
        if len(bags) != 1:
            ctx.reply("join.which_bag", soum=soum.name)
            for b in await units.children(ctx.conn, soum.code):
                ctx.add("join.bag_choice", code=b.code, name=b.name)
            return
        bag = bags[0]
    await _register(ctx, bag)


async def _register(ctx: Context, bag: Unit) -> None:
    soum = await units.get(ctx.conn, bag.parent_code or "")
    soum_name = soum.name if soum else ""
    person = ctx.person
    if person.bag_code == bag.code and person.status in ("approved", "pending"):
        ctx.reply(
            "join.already" if person.status == "approved" else "join.pending_wait",
            bag=bag.name,
            soum=soum_name,
        )
        return
    if person.bag_code and person.bag_code != bag.code and await _voted_in_open_round(ctx):
        # Moving would let one person vote in two bags' rounds at once.
        await ctx.audit("refused.join_locked", unit_code=bag.code, bag=person.bag_code)
        ctx.reply("join.locked")
        return
    status = "pending" if bag.registration == "approval" else "approved"
    await people.set_bag(ctx.conn, person.id, bag.code, status, ctx.now)
    await ctx.audit("person.join", unit_code=bag.code, status=status, moved_from=person.bag_code)
    if status == "pending":
        ctx.reply("join.pending", bag=bag.name, soum=soum_name)
        for gov in await roles.holders(ctx.conn, "governor", bag.code):
            ctx.notify(
                gov.person_id, "join.governor_notice", phone=person.phone or "-", bag=bag.name
            )
    else:
        ctx.reply("join.ok", bag=bag.name, soum=soum_name, code=bag.code)


async def _voted_in_open_round(ctx: Context) -> bool:
    assert ctx.person.bag_code is not None
    rnd = await rounds.current(ctx.conn, ctx.person.bag_code)
    return (
        rnd is not None
        and rnd.status == "voting"
        and await ballots.has_voted(ctx.conn, rnd.id, ctx.person.id)
    )


async def admit(ctx: Context, bag_code: str) -> None:
    phone = try_normalise(ctx.intent.phone or "")
    target = await people.by_phone(ctx.conn, phone) if phone else None
    if target is None or target.bag_code != bag_code or target.status != "pending":
        # (someone else's bag's newcomer included: audited like any refusal)
        await ctx.audit("refused.admit", unit_code=bag_code)
        ctx.reply("admit.unknown", phone=ctx.intent.phone or "")
        return
    await people.set_status(ctx.conn, target.id, "approved")
    await ctx.audit("person.admit", unit_code=bag_code, person_id=target.id)
    bag = await units.get(ctx.conn, bag_code)
    ctx.reply("admit.ok", phone=phone)
    ctx.notify(target.id, "admit.notice", bag=bag.name if bag else bag_code)


async def policy(ctx: Context, bag_code: str) -> None:
    if ctx.intent.error or ctx.intent.text not in ("open", "approval"):
        ctx.reply("policy.usage")
        return
    await units.set_registration(ctx.conn, bag_code, ctx.intent.text)
    await ctx.audit("bag.policy", unit_code=bag_code, policy=ctx.intent.text)
    ctx.reply(f"policy.{ctx.intent.text}")
