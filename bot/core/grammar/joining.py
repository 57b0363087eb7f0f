"""Joining a bag, as people write it: by code, or by place names from the aimag down.

"НЭГДЭХ 644651", "64 46 51", "6446-51", "644653 negdeh"; "Заг 1", "Заг сумын 2-р баг",
"Заг сумын хоёрдугаар баг", "2-р баг Баян-Улаан"; with the aimag first: "Баянхонгор Заг 1",
"bayanhongor aimag zag sum 1 bag", "Баянхонгор аймгийн Заг сумын 1-р баг"; and in
Ulaanbaatar "Баянзүрх дүүргийн 5-р хороо". The aimag is not needed to find a soum, except
where two soums share a name (six are called Жаргалант): it is kept in ``aimag_query``.

Three ways a message may ask to join:
* after a join word (:func:`read`, for "НЭГДЭХ ..."): whatever follows is the place;
* with the join word last ("Заг сумын Баянбулаг багт бүртгүүлье", :func:`read_phrase`);
* with no join word at all, only when it cannot be anything else: a bag code alone, or
  names with the words аймаг / сум / баг or an aimag first, and a bag number or name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.grammar import numerals
from bot.core.grammar.intents import Intent, Kind
from bot.core.grammar.keywords import KEYWORDS
from bot.core.grammar.numerals import word_key
from bot.core.translit import skeleton

# The 21 aimags and the capital, with their national codes (storage/data/mn_admin_units.csv).
AIMAGS: dict[str, str] = {
    "11": "Улаанбаатар", "21": "Дорнод", "22": "Сүхбаатар", "23": "Хэнтий", "41": "Төв",
    "42": "Говьсүмбэр", "43": "Сэлэнгэ", "44": "Дорноговь", "45": "Дархан-Уул",
    "46": "Өмнөговь", "48": "Дундговь", "61": "Орхон", "62": "Өвөрхангай", "63": "Булган",
    "64": "Баянхонгор", "65": "Архангай", "67": "Хөвсгөл", "81": "Завхан",
    "82": "Говь-Алтай", "83": "Баян-Өлгий", "84": "Ховд", "85": "Увс",
}  # fmt: skip
# Other names people use for an aimag.
_AIMAG_ALIASES = {"уб": "Улаанбаатар", "ub": "Улаанбаатар", "нийслэл": "Улаанбаатар"}


def aimag_keys(name: str) -> set[str]:
    """The skeletons an aimag name may be typed as: "Говь-Алтай" is also "govi-altai"
    (the soft sign typed as i) and "gobi altai"."""
    spellings = {name, name.replace("ь", "и"), name.replace("ь", "и").replace("в", "б")}
    return {skeleton(s) for s in spellings}


def _aimag_table() -> dict[str, str]:
    table = {key: name for name in AIMAGS.values() for key in aimag_keys(name)}
    table.update({skeleton(alias): name for alias, name in _AIMAG_ALIASES.items()})
    return table


_AIMAG_BY_KEY = _aimag_table()


def aimag_named(word: str) -> str | None:
    """The aimag a typed name stands for ("bayanhongor" -> "Баянхонгор"), or None."""
    return _AIMAG_BY_KEY.get(word_key(word))


def _keys(words: str) -> frozenset[str]:
    return frozenset(skeleton(w) for w in words.split())


_AIMAG_MARKERS = _keys("аймаг аймгийн аймагт аймгаас aimag aimgiin aimgin aimak province")
# "хот" (city) is the capital after Улаанбаатар, and a soum (an aimag's centre) elsewhere.
_CITY = _keys("хот хотын хотод khot khotiin hot hotiin city")
_SOUM_MARKERS = _keys(
    "сум сумын суманд сумд сумаас sum sumiin sumin sumd soum district дүүрэг дүүргийн "
    "дүүрэгт duureg duuregiin"
)
# "баг" may be followed by the bag's name ("2-р баг Баян-Улаан"); "багт", "багийн" end it.
_BAG_MARKERS = _keys("баг bag хороо horoo khoroo")
_BAG_ENDING = _keys(
    "багт багийн багаас багт багийнхан bagt bagiin bagin bagaas хороонд хорооны horoond horoonii"
)
# Words around a place that name nothing: "би", "манай", "р", "дугаар", "of the".
_FILLERS = _keys(
    "р r дугаар дүгээр dugaar dugeer дахь dahi of in the би bi i me my миний манай manai "
    "please pls number no nr ээ шүү"
)
# A question about joining is answered (QUESTION), never read as a place called "Яаж".
_QUESTION_WORDS = _keys(
    "яаж яах хаана хэзээ юу яагаад хэд ямар аль how where when what why which yaaj haana "
    "hezee yu yagaad hed yamar"
)
# The join word last: the join keywords and a few more forms of the verbs.
_JOIN_VERBS = frozenset(
    {"".join(skeleton(w) for w in p.split()) for p in KEYWORDS[Kind.JOIN]}
) | _keys(
    "нэгдэнэ нэгдмээр нэгдъе нэгдие нэгдлээ бүртгүүлнэ бүртгүүлмээр бүртгүүлье бүртгүүлээрэй "
    "бүртгээрэй бүртгэнэ бүртгүүлэх negdii negdie negdye negdene burtguulye burtguulie "
    "burtguulne burtgeerei"
)
# Words after the join word that change nothing ("бүртгүүлье ээ", "бүртгэнэ үү").
_TRAILING = _keys("байна baina bna bn уу үү uu ээ шүү please pls баярлалаа bayarlalaa thanks")
_LEADING = _keys("би bi i манай manai биднийг")
_SPLIT = re.compile(r"[\s,;:/]+")
_STRIP = ".!?()\"'«»“”"
# A bag code in digits, perhaps written in groups: "644651", "64 46 51", "6446-51".
_DIGIT_RUN = re.compile(r"(?<!\d)\d+(?:[ \-.]\d+)*(?!\d)")
_NUMBERED = re.compile(r"[#№]?(\d{1,3})(?:-?([^\W\d_]+))?", re.UNICODE)
MAX_PLACE_WORDS = 10
MAX_PLACE_CHARS = 400  # a place is a few words: the rest of a long message is not read


def bag_code(text: str, *, strict: bool) -> str | None:
    """A six-digit bag code in the text, its groups joined ("64 46 51" -> "644651").

    ``strict`` (no join word): the code must look like one, an aimag's two digits first
    and a bag's last two (51 and up), so that a ballot "11 23 45" stays a ballot."""
    for m in _DIGIT_RUN.finditer(text[:2_000]):
        groups = re.split(r"[ \-.]", m.group())
        digits = "".join(groups)
        if len(digits) != 6 or (len(groups) > 1 and any(len(g) < 2 for g in groups)):
            continue
        if strict and not (digits[:2] in AIMAGS and digits[4:] >= "51"):
            continue
        return digits
    return None


def bare_code(text: str) -> str | None:
    """A message that is only a bag code in groups ("64 46 51", "6446-51")."""
    if not re.fullmatch(r"[\s\d\-.]+", text) or len(text) > 40:
        return None
    code = bag_code(text, strict=True)
    digits = re.sub(r"\D", "", text)
    return code if code is not None and code == digits else None


@dataclass(slots=True)
class _Item:
    role: str  # "name" | "num" | "aimag" (marker) | "soum" (marker) | "bag" | "bag_end"
    text: str


@dataclass(frozen=True, slots=True)
class Place:
    aimag: str | None
    soum: str | None
    bag: str | None
    # How sure it is a place without a join word (see read_phrase).
    marked: bool  # written with аймаг/сум/баг words or an aimag's name first
    numbered: bool  # the bag by its number
    tail_ok: bool  # nothing after the bag but (after "баг") its name


def _number(token: str, following: str) -> int | None:
    """A bag number: "2", "2-р", "2р", "№2", "хоёрдугаар", and "хоёр" before "баг"."""
    m = _NUMBERED.fullmatch(token)
    if m:
        ending = m.group(2)
        if ending is None or word_key(ending) in numerals.ATTACHED_ENDINGS:
            return int(m.group(1))
        return None
    read = numerals.word_number(token)
    if read is None:
        return None
    value, ordinal, _ = read
    if ordinal or following in _BAG_MARKERS | _BAG_ENDING or following in _FILLERS:
        return value
    return None


def _items(text: str) -> list[_Item]:
    raw = [t.strip(_STRIP) for t in _SPLIT.split(text)]
    raw = [t for t in raw if t and any(ch.isalnum() for ch in t)]
    items: list[_Item] = []
    for i, token in enumerate(raw):
        key = word_key(token)
        following = word_key(raw[i + 1]) if i + 1 < len(raw) else ""
        number = _number(token, following)
        if number is not None:
            items.append(_Item("num", str(number)))
        elif key in _AIMAG_MARKERS:
            items.append(_Item("aimag", token))
        elif key in _CITY:
            before = items[-1] if items else None
            capital = before is not None and aimag_named(before.text) == AIMAGS["11"]
            items.append(_Item("aimag" if capital else "soum", token))
        elif key in _SOUM_MARKERS:
            items.append(_Item("soum", token))
        elif key in _BAG_MARKERS:
            items.append(_Item("bag", token))
        elif key in _BAG_ENDING:
            items.append(_Item("bag_end", token))
        elif key and key not in _FILLERS:
            items.append(_Item("name", token))
    return items


def _names_before(items: list[_Item], at: int) -> int:
    """Where the run of names ending just before ``at`` starts."""
    start = at
    while start > 0 and items[start - 1].role == "name":
        start -= 1
    return start


def place(text: str) -> Place:
    """The aimag, soum and bag a text names, by the words around them or their order."""
    items = _items(text)
    roles = [it.role for it in items]
    aimag: str | None = None
    marked = False
    if "aimag" in roles:
        at = roles.index("aimag")
        start = _names_before(items, at)
        if start < at:
            aimag = " ".join(it.text for it in items[start:at])
        del items[start : at + 1]
        marked = True
    elif (
        len(items) >= 3
        and items[0].role == items[1].role == "name"
        and items[2].role in ("name", "num", "soum")
        and aimag_named(items[0].text)
    ):
        # "Баянхонгор Заг 1": an aimag's name, then a soum's. ("Баянхонгор 1" and
        # "Баянхонгор Номгон баг" are the soum of the same name.)
        aimag = items[0].text
        del items[0]
        marked = True
    roles = [it.role for it in items]
    if "soum" in roles:
        at = roles.index("soum")
        start = _names_before(items, at)
        soum_words = items[start:at]
        after = items[at + 1 :]
        marked = marked or bool(soum_words)
    else:
        first_other = next((i for i, r in enumerate(roles) if r != "name"), len(items))
        if first_other == len(items) or (first_other >= 2 and roles[first_other] != "num"):
            # "Заг Баянбулаг", "Заг Баянбулаг баг": the soum, then the bag's name.
            soum_words, after = items[:1], items[1:]
        else:
            # "Заг 1", "Баян Өндөр 3", "Заг 2-р баг Баян-Улаан": the names before the number.
            soum_words, after = items[:first_other], items[first_other:]
    soum = " ".join(it.text for it in soum_words) or None
    bag, numbered, tail_ok = _bag(after)
    marked = marked or any(it.role in ("bag", "bag_end") for it in after)
    return Place(aimag, soum, bag, marked, numbered, tail_ok)


def _bag(after: list[_Item]) -> tuple[str | None, bool, bool]:
    """(bag number or name, given by number, nothing stray after it)."""
    numbers = [i for i, it in enumerate(after) if it.role == "num"]
    if numbers:
        first = numbers[0]
        tail = after[first + 1 :]
        # After "2-р баг" may come its name; after "2-р багт" or "2" nothing more.
        if tail and tail[0].role == "bag":
            tail_ok = len(tail) <= 3 and all(it.role == "name" for it in tail[1:])
        else:
            tail_ok = all(it.role == "bag_end" for it in tail) and len(tail) <= 1
        stray = [it for it in after[:first] if it.role == "name"]
        return after[first].text, True, tail_ok and len(numbers) == 1 and not stray
    names = [it.text for it in after if it.role == "name"]
    if not names:
        return None, False, True
    ends = [i for i, it in enumerate(after) if it.role in ("bag", "bag_end")]
    tail_ok = len(names) <= 3 and (not ends or all(it.role != "name" for it in after[ends[0] :]))
    return " ".join(names), False, tail_ok


def read(rest: str, script: str) -> Intent:
    """What follows a join word: a bag code, or place names."""
    code = bag_code(rest, strict=False)
    if code is not None:
        return Intent(Kind.JOIN, bag_code=code, script=script)
    where = place(rest[:MAX_PLACE_CHARS])
    if where.soum is None:
        return Intent(Kind.JOIN, error="join_usage", script=script)
    return Intent(
        Kind.JOIN,
        soum_query=where.soum,
        bag_query=where.bag,
        aimag_query=where.aimag,
        script=script,
    )


def read_phrase(body: str, script: str) -> Intent | None:
    """A join without the join word first: the word last ("644653 negdeh", "Заг сумын
    Баянбулаг багт бүртгүүлье"), or none at all ("Баянхонгор Заг 1", "64 46 51")."""
    code = bare_code(body)
    if code is not None:
        return Intent(Kind.JOIN, bag_code=code, script=script)
    words = [t.strip(_STRIP) for t in _SPLIT.split(body[:MAX_PLACE_CHARS])]
    words = [w for w in words if w and any(ch.isalnum() for ch in w)]
    keys = [word_key(w) for w in words]
    if not words or len(words) > MAX_PLACE_WORDS + 4 or any(k in _QUESTION_WORDS for k in keys):
        return None
    end = len(keys)
    while end > 0 and keys[end - 1] in _TRAILING:
        end -= 1
    start = 0
    while start < end and keys[start] in _LEADING:
        start += 1
    if end > start and keys[end - 1] in _JOIN_VERBS:
        rest = " ".join(words[start : end - 1])
        if not rest:
            return Intent(Kind.JOIN, error="join_usage", script=script)
        if len(words[start : end - 1]) > MAX_PLACE_WORDS:
            return None
        # "Заг сумын 1-р багт бүртгүүлье", "644653 negdeh": a place before the verb, by code,
        # number or the words сум / баг. ("Бид бүгдээрээ нэгдье": let us all unite.)
        where = place(rest)
        if bag_code(rest, strict=False) is None and not (where.numbered or where.marked):
            return None
        return read(rest, script)
    # No join word: only a place written as one.
    if any(ch.isdecimal() for ch in body) and not re.search(r"[^\W\d_]", body):
        return None  # digits alone are a ballot or nothing (votes, bare_code)
    where = place(" ".join(words[start:end]))
    if where.soum is None or where.bag is None or not where.tail_ok:
        return None
    # Written as a place: with аймаг / сум / баг words or an aimag first, and the bag by
    # its number or beside "баг" ("Баянхонгор аймагт шинэ сургууль" is a sentence); or
    # just "Баянхонгор Заг Баянбулаг".
    sure = where.marked and (where.numbered or _bag_word(body))
    if not (sure or (where.aimag is not None and _three(words))):
        return None
    return Intent(
        Kind.JOIN,
        soum_query=where.soum,
        bag_query=where.bag,
        aimag_query=where.aimag,
        script=script,
    )


def _bag_word(body: str) -> bool:
    return any(word_key(w) in _BAG_MARKERS | _BAG_ENDING for w in _SPLIT.split(body[:400]))


def _three(words: list[str]) -> bool:
    """Aimag, soum and bag, one word each ("Баянхонгор Заг Баянбулаг")."""
    return len(words) == 3
