"""Round reports made directly (no database): for drawing the minutes' layout under
stress, many sizes at once, quickly. What storage gives is tested through the simulator
in test_confirm.py and test_files.py."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from handlers.reports.data import OtherProposal, RoundLine, RoundReport
from handlers.reports.minutes import KhuralFacts
from handlers.tally import Participation
from storage.confirmations import Confirmation
from storage.rounds import Round
from storage.units import Unit

LONG_BAG = "3-р баг, Могой /Рэнчинжугнай/"  # the longest bag name of the country
AIMAG = Unit("67", "aimag", "Төв", None, "Asia/Ulaanbaatar")
SOUM = Unit("6758", "soum", "Баруунбаян-Улаан", "67", "Asia/Ulaanbaatar")
BAG = Unit("675855", "bag", LONG_BAG, "6758", "Asia/Ulaanbaatar")
MEETING = datetime(2027, 4, 10, 6, 0, tzinfo=UTC)  # 14:00 in Ulaanbaatar
TEXTS = [
    "Малын худаг гаргах, 40 өрх",
    "Сургуулийн дотуур байрны засвар: дээвэр, цонх, халаалтын шугам, ариун цэврийн өрөө",
    "Гудамжны гэрэлтүүлэг",
    "Цэцэрлэгийн тоглоомын талбай, хашаа, сүүдрэвч ба ногоон байгууламж, "
    "хүүхдийн аюулгүй байдлын хамгаалалттай тоглоомын хэрэгсэл",
    "Гүүр засах",
]


def report(
    lines: int = 5,
    *,
    status: str = "submitted",
    attendance: int | None = 64,
    bag: Unit = BAG,
    text_of: int = 0,
) -> RoundReport:
    """A round of ``lines`` ranked proposals (``text_of`` longer texts: repeated)."""
    rnd = Round(7, bag.code, 2028, status, 3, True, None, None, None, MEETING, attendance, 1233)
    ranked = [
        RoundLine(
            rank=i,
            number=i + 2,
            text=(TEXTS[i % len(TEXTS)] + " ") * (1 + text_of) if text_of else TEXTS[i % 5],
            beneficiaries=40 + i,
            cost_mnt=25_000_000 + i * 1_500_000,
            votes=max(1, 300 - 7 * i),
            share=max(1, 300 - 7 * i) / 412,
            flag=None,
        )
        for i in range(1, lines + 1)
    ]
    others = [
        OtherProposal(1, "Сумын наадмын морины барилдаан", "rejected", "ОНХС-ийн журамд нийцэхгүй"),
        OtherProposal(2, "Малын худаг", "merged", "3"),
    ]
    return RoundReport(
        rnd,
        bag,
        SOUM if bag is BAG else None,
        AIMAG if bag is BAG else None,
        ranked,
        others,
        Participation(1233, 412, {"twilio": 380, "telegram": 32}),
        MEETING.astimezone(ZoneInfo(bag.tz)),
        "Багийн соёлын төвийн их танхим",
        "Б. Должинсүрэн",
        "Ц. Батбаяр",
        lines + 2,
    )


def facts(
    attendance: int = 64, quorum: int = 617, *, below: bool = True, early: bool = False
) -> KhuralFacts:
    conf = Confirmation(
        7,
        "2028/675855-01",
        attendance,
        quorum,
        1233,
        MEETING,
        below,
        early,
        datetime(2027, 4, 9 if early else 10, 3, 30, tzinfo=UTC),
        1,
    )
    return KhuralFacts(quorum, 1233, conf)
