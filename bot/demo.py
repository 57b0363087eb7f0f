"""`sanal serve --demo`: a bag in Zag soum, Bayankhongor, ready to try on an empty database."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Sanal
from storage import audit, people, proposals, roles, rounds

DEMO_BAG = "644651"  # 1-р баг, Баянбулаг, Заг сум, Баянхонгор
DEMO_GOVERNOR = "+97699000000"
DEMO_CHAIR = "+97699000009"
SAMPLE = (
    ("Малын усны худаг гаргах, 40 өрх, 25 сая", 40, 25_000_000),
    ("Сургуулийн дотуур байрны засвар 120 хүүхэд 60 сая", 120, 60_000_000),
    ("Гудамжны гэрэлтүүлэг, 80 өрх", 80, None),
)


async def ensure_demo(sanal: Sanal) -> bool:
    """Create the demo bag's officials and open round once; False if the database had one."""
    now = sanal.clock.now()
    async with sanal.db.write() as conn:
        if await rounds.current(conn, DEMO_BAG) is not None:
            return False
        gov = await people.get_or_create_by_phone(conn, DEMO_GOVERNOR, now=now, lang="mn")
        chair = await people.get_or_create_by_phone(conn, DEMO_CHAIR, now=now, lang="mn")
        await roles.grant(conn, gov.id, "governor", DEMO_BAG, now)
        await roles.grant(conn, chair.id, "chair", DEMO_BAG, now)
        for person in (gov, chair):
            await people.set_bag(conn, person.id, DEMO_BAG, "approved", now)
        rnd = await rounds.create(
            conn,
            bag_code=DEMO_BAG,
            year=now.year + sanal.settings.planning_year_offset,
            now=now,
            collect_until=now + timedelta(days=14),
            vote_until=now + timedelta(days=28),
        )
        for text, households, cost in SAMPLE:
            p = await proposals.create(
                conn,
                round_id=rnd.id,
                person_id=None,
                text=text,
                beneficiaries=households,
                cost_mnt=cost,
                flag=None,
                now=now,
            )
            await proposals.set_status(conn, p.id, "accepted")
        await audit.record(
            conn,
            now=now,
            actor="demo",
            action="demo.create",
            channel="cli",  # `sanal serve --demo`: the operator's command
            unit_code=DEMO_BAG,
            round_id=rnd.id,
        )
    return True


DEMO_HELP = f"""\
Demo bag: Заг сум, 1-р баг Баянбулаг (code {DEMO_BAG}); a round is open for proposals.
Open the simulator page, pick a phone number and type:
  a herder (e.g. 99112233):   НЭГДЭХ {DEMO_BAG}   or   join zag 1
                              САНАЛ Багийн төвд худаг, 30 өрх, 20 сая
                              ЖАГСААЛТ
  the governor ({DEMO_GOVERNOR[4:]}):      ШИНЭ   ЗӨВ 4   ХУРААЛТ   ДҮН   ХААХ
  the herder again:           СОНГО 1 4     МИНИЙ
"""
