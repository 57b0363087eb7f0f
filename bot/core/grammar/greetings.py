"""Greetings, thanks, wishes and goodbyes, as herders write them around a command or alone.

"Сайн байна уу", "sain bnuu", "sn bnu", "Мэнд", "Hi"; "баярлалаа", "bayrlalaa", "thanks";
"Шинэ жилийн мэнд", "Сар шинийн мэнд хүргэе", "Happy new year", "Амжилт хүсье";
"Баяртай", "Сайн яваарай". Each phrase is matched word by word on skeletons
(bot.grammar.tokens), so one Cyrillic spelling covers its Latin ones; the Latin-only
shortenings ("sn", "bnuu") are listed as they are typed.

The kinds are the ``GREETINGS`` of bot.grammar.intents: hello, thanks, wish, bye.
"""

from __future__ import annotations

from bot.core.grammar.tokens import Phrases, Word, key, match_at, match_before

_SAIN = "сайн|sain|sn|saen|sai|saiin"
_BAINA = "байна|baina|bna|bn|bain|baina|байн"
_UU = "уу|uu|u|үү|vv|yy"

HELLO = Phrases(
    f"{_SAIN} {_BAINA} {_UU}",
    f"{_SAIN} бну|bnuu|bnu|байнуу|bainuu|bainu|bnuuu",
    f"{_SAIN} {_UU}",
    "сайнуу|sainuu|snuu|snu|sainu",
    f"{_SAIN} байцгаана|baitsgaana|baicgaana|bitsgana {_UU}",
    f"та|ta {_SAIN} {_BAINA} {_UU}",
    f"та|ta {_SAIN} {_UU}",
    f"та|ta {_SAIN} бну|bnuu|bnu|байнуу|bainuu",
    f"амар|amar {_BAINA} {_UU}",
    f"амар|amar {_SAIN} {_UU}",
    f"амархан|amarhan {_UU}",
    f"сонин|sonin сайхан|saihan юу|yu {_BAINA}",
    f"сонин|sonin сайхан|saihan юу|yu {_BAINA} {_UU}",
    f"юу|yu {_BAINA}",
    f"яаж|yaj {_BAINA}",
    f"{_BAINA} {_UU}",
    "бну|bnuu|bnu|байнуу|bainuu",
    "hi|hello|hey|helo|hallo|hola|hii|hiii|привет|privet|салам|salam",
    "сәлем|salem|selem|сәлеметсіз|salemetsiz|selemetsiz",
    "сәлеметсіз|salemetsiz|selemetsiz бе|be",
    "good morning|afternoon|evening|day",
    "how are =you|=u",
    "greetings",
)
# Who the greeting is for, after it: "Сайн байна уу, Засаг дарга аа", "hi there".
ADDRESSEES = Phrases(
    "та|ta",
    "та|ta бүхэн|buhen|bukhen|бүхэнд|buhend",
    "танд|tand",
    "бүгдээрээ|bugdeeree|бүгдэд|bugded",
    "засаг|zasag дарга|darga",
    "засаг|zasag дарга|darga =аа|=aa",
    "дарга|darga =аа|=aa",
    "дарга|darga",
    "ах|ah =аа|=aa",
    "эгч|egch =ээ|=ee",
    "=ээ|=ee",
    "=аа|=aa",
    "there|=all|everyone|team",
    "bot|бот",
)
THANKS = Phrases(
    "баярлалаа|bayarlalaa|bayrlalaa|barlaa|bayarlala|bayrlala|bayarllaa|баярлаа|bayarlaa"
    "|bayrlaa|барлаа|brlaa|баярлала|bayarlalaaa",
    "их|ih|ikh|маш|mash баярлалаа|bayarlalaa|bayrlalaa|barlaa|bayarlaa",
    "маш|mash их|ih|ikh баярлалаа|bayarlalaa|bayrlalaa|barlaa|bayarlaa",
    "гялайлаа|gyalailaa|gyalaila",
    "рахмет|rahmet|рақмет|rakhmet",
    "thanks|thank|thx|tnx|thnx|ty|thankyou|tq|thanx|thks",
    "thank you|u|ya",
    "thanks a lot",
    "many thanks",
)
BYE = Phrases(
    "баяртай|bayartai|bayrtai|baiyrtai|bayartay",
    "дараа|daraa уулзъя|uulzii|uulzia|uulziya|uulzya|уулзая",
    f"{_SAIN} яваарай|yavaarai|yvaarai|yawaarai",
    "сайхан|saihan амраарай|amraarai",
    "=bye|goodbye|byebye|=bb",
    "=bye =bye",
    "see you",
)
WISH = Phrases(
    "сайхан|saihan шинэлээрэй|shineleerei|shinelerei",
    "шинэлээрэй|shineleerei|shinelerei",
    "сайхан|saihan баярлаарай|bayarlaarai|bayrlaarai",
    "амжилт|amjilt хүсье|husie|hvsie|husye|хүсэе",
    "ажилд|ajild чинь|chin|tan амжилт|amjilt",
    "ажилд|ajild чинь|chin|tan амжилт|amjilt хүсье|husie|hvsie|husye",
    "happy new year",
    "happy holidays|holiday|tsagaan|tsagaansar",
    "happy tsagaan sar",
    "merry christmas",
    "congratulations|congrats",
    "best wishes",
)

# "… мэнд": a holiday before it makes a wish ("Шинэ жилийн мэнд"), a time of day a hello
# ("Өглөөний мэнд"), nothing a hello ("Мэнд хүргэе").
_MEND = frozenset(key(w) for w in ("мэнд", "мэндийг", "мэндээ", "mend", "mendiig", "mendee"))
_MEND_HELLO = frozenset(key(w) for w in ("мэндчилье", "мэндчилгээ", "mendchilie", "mendchilgee"))
_SEND = Phrases("хүргэе|hurgeye|hurgey|hurgie|дэвшүүлье", "хүргэж|hurgej байна|bna")
_TIME_OF_DAY = frozenset(
    key(w) for w in ("өглөөний", "өдрийн", "оройн", "ugluunii", "udriin", "oroin", "ogloonii")
)
_HOLIDAY = frozenset(
    key(w)
    for w in (
        "шинэ", "жилийн", "оны", "сар", "шинийн", "цагаан", "сарын", "баярын", "баяр",
        "наадмын", "эх", "үрсийн", "эмэгтэйчүүдийн", "хүүхдийн", "багш", "нарын", "ахмадын",
        "бүгдэд", "танд", "сайхан", "тэмдэглэлт", "үндэсний", "их", "ардын", "хувьсгалын",
        "ойн", "бүх", "та", "бүхэнд", "өвөл", "хавар", "shine", "jiliin", "sariin", "shiniin",
        "tsagaan", "bayariin", "naadmiin", "oni", "onii",
    )
)  # fmt: skip
_THANKS_STEMS = ("baiarl", "bairl")  # "баярлалаа" typed every way: "bayarlalaa", "bayrlalaa"


def _thanks_word(w: Word) -> bool:
    """ "баярлалаа" as it is typed, not "баярлана" (will be glad) or "баярлаарай"."""
    return w.key.startswith(_THANKS_STEMS) and w.key.endswith("la")


def _mend(ws: list[Word], i: int, stop: int) -> tuple[int, str] | None:
    j = i
    holiday = False
    while j < stop and j - i < 6 and (ws[j].key in _HOLIDAY or ws[j].key in _TIME_OF_DAY):
        holiday = holiday or ws[j].key in _HOLIDAY
        j += 1
    if j >= stop or (ws[j].key not in _MEND and ws[j].key not in _MEND_HELLO):
        return None
    j += 1
    j += match_at(ws, j, _SEND, stop)
    return j - i, "wish" if holiday else "hello"


def at(ws: list[Word], i: int, stop: int | None = None) -> tuple[int, str] | None:
    """A greeting, thanks, wish or goodbye starting at word ``i``: (its words, its kind)."""
    stop = len(ws) if stop is None else stop
    if i >= stop:
        return None
    found = _mend(ws, i, stop)
    best = found or (0, "")
    for kind, phrases in (("wish", WISH), ("thanks", THANKS), ("bye", BYE), ("hello", HELLO)):
        n = match_at(ws, i, phrases, stop)
        if n > best[0]:
            best = (n, kind)
    if best[0] == 0 and _thanks_word(ws[i]):
        best = (1, "thanks")
    if best[0] and best[1] == "hello":  # "Сайн байна уу, Засаг дарга аа": the addressee too
        best = (best[0] + match_at(ws, i + best[0], ADDRESSEES, stop), "hello")
    return best if best[0] else None


def before(ws: list[Word], j: int, start: int = 0) -> tuple[int, str] | None:
    """A thanks, wish or goodbye ending just before word ``j``: (its words, its kind)."""
    best = (0, "")
    for kind, phrases in (("wish", WISH), ("thanks", THANKS), ("bye", BYE)):
        n = match_before(ws, j, phrases, start)
        if n > best[0]:
            best = (n, kind)
    if best[0] == 0 and j - 1 >= start and _thanks_word(ws[j - 1]):
        best = (1, "thanks")
    # "…, Шинэ жилийн мэнд хүргэе": find where the wish starts (a few words back), when
    # "мэнд" is among the last words at all.
    last = ws[max(start, j - 3) : j]
    if best[0] == 0 and any(w.key in _MEND or w.key in _MEND_HELLO for w in last):
        for n in range(1, min(9, j - start) + 1):
            found = _mend(ws, j - n, j)
            if found and found[0] == n:
                best = found
                break
    return best if best[0] else None


# Which of several counts: a wish or thanks says more than a hello.
_RANK = {"wish": 3, "thanks": 2, "bye": 1, "hello": 0}


def strongest(kinds: list[str]) -> str:
    return max(kinds, key=lambda k: _RANK[k]) if kinds else "hello"
