"""Questions people ask about the round, and what each one is about.

A message asks when it has a question mark, ends a clause with a question particle (уу,
үү, юу, вэ, бэ, вэй, бол; "uu", "ve", "yu" in Latin; glued on: "гарсануу"), or holds a
question word (хэзээ, хаана, яаж, яагаад, хэрхэн, ямар, юу, хэн; "hezee", "haana", "yaaj";
"when", "how"...). Not a question: "явуулна уу" and "өгнө үү" (polite requests: a verb in
-на/-нэ/-но/-нө before the particle), and a question word followed by "ч" or "гэвэл"
("хэзээ ч" never, "яагаад гэвэл" because, "ямар нэг" some).

Question words are matched on the words as typed, not on skeletons: the skeleton of
"хаана" (where) is that of "хана" (wall), and "хаашаа" (where to) folds into "хашаа"
(a fence), both common in projects.

The topic (bot.grammar.intents.QUESTION_TOPICS) picks what the answer tells: the meeting's
date or place, a deadline, whether results are out, how to propose, vote or join, what
ОНХС is, or (general) the help of the person's phase.
"""

from __future__ import annotations

from bot.core.grammar.tokens import Word

# Words that ask on their own, in every spelling people type.
_ASKING = frozenset(
    {
        "хэзээ", "хэзэ", "хаана", "хаанаас", "яаж", "яах", "яагаад", "хэрхэн", "ямар", "юу",
        "юуг", "юунд", "хэн", "хэнд", "хэнийг", "хэний", "хэдэнд", "хэдийд", "хэдний",
        "хэчнээн", "hezee", "khezee", "xezee", "hezeee", "haana", "khaana", "xaana",
        "haanaas", "yaaj", "yaj", "iaaj", "yaah", "yagaad", "yaagaad", "yagad", "herhen",
        "kherkhen", "xerxen", "yamar", "yu", "yuu", "yug", "yund", "hen", "khen", "xen",
        "hend", "hedend", "khedend", "xedend", "hediid", "hedenii", "hednii",
    }
)  # fmt: skip
# English question words ask only at the start of a clause ("what we need is a well").
_ASKING_EN = frozenset({"when", "where", "how", "why", "what", "who", "which", "whom"})
# "хэзээ ч" (never), "яагаад гэвэл" (because), "юу ч" (anything): not a question.
_NOT_ASKING_AFTER = frozenset({"ч", "ch", "гэвэл", "gevel", "гэхээр", "geheer"})
_PARTICLES = frozenset(
    {"уу", "үү", "юу", "вэ", "бэ", "вэй", "бол", "болов", "uu", "vv", "yy", "yu", "yuu", "ve",
     "be", "vei", "bol", "bolov", "uuu"}
)  # fmt: skip
_YES_NO = frozenset({"уу", "үү", "uu", "vv", "yy", "uuu"})
_BAINA = frozenset({"байна", "бна", "бн", "baina", "bna", "bn", "bain", "байн"})
_POLITE_ENDS = ("на", "нэ", "но", "нө", "na", "ne", "no", "nu")
_GLUED = ("уу", "үү", "uu", "vv")

WHEN = frozenset(
    {"хэзээ", "хэзэ", "hezee", "khezee", "xezee", "hezeee", "хэдэнд", "хэдийд", "хэдний",
     "hedend", "khedend", "xedend", "hediid", "hedenii", "hednii", "when"}
)  # fmt: skip
WHERE = frozenset({"хаана", "хаанаас", "haana", "khaana", "xaana", "haanaas", "where"})
HOW = frozenset({"яаж", "яах", "хэрхэн", "yaaj", "yaj", "iaaj", "yaah", "herhen", "kherkhen",
                 "xerxen", "how"})  # fmt: skip
WHAT = frozenset(
    {"юу", "ямар", "хэний", "yu", "yuu", "yamar", "heniy", "henii", "what", "whats", "whose"}
)
# "ОНХС гэж юу вэ", "Энэ юу вэ", "Энэ хэний дугаар вэ" (whose number is this).
_WHAT_OF = frozenset(
    {"gej", "gedeg", "gedg", "gesen", "ene", "onhs", "onhc", "this", "is", "dogar", "number"}
)
_HOURS = frozenset({"цагт", "цаг", "tsagt", "tsag", "cagt", "цагаас"})
_HEDEN = frozenset({"хэдэн", "хэд", "heden", "hed", "kheden", "khed", "xeden"})


def _asks_word(ws: list[Word], k: int) -> bool:
    w = ws[k]
    nxt = ws[k + 1].low if k + 1 < len(ws) else ""
    if w.low in _ASKING:
        some = w.low in ("ямар", "yamar") and nxt in ("нэг", "neg")  # "ямар нэг": some
        return not (nxt in _NOT_ASKING_AFTER or some)
    return w.low in _ASKING_EN and (k == 0 or ws[k - 1].clause_end)


def _particle(ws: list[Word], k: int) -> bool:
    """A question particle that ends a clause (not a polite "явуулна уу")."""
    w = ws[k]
    if not w.clause_end:
        return False
    if w.low in _PARTICLES:
        if w.low in _YES_NO and k > 0:
            prev = ws[k - 1].low
            if prev.endswith(_POLITE_ENDS) and prev not in _BAINA:
                return False
        return k > 0 or w.low not in ("бол", "bol")
    # Glued on: "гарсануу", "болохуу", "bolokhuu".
    return (
        len(w.low) >= 4
        and w.low.endswith(_GLUED)
        and w.low[:-2].endswith(("х", "н", "h", "n"))
        and not w.low[:-2].endswith(_POLITE_ENDS[:4])
    )


def asks(ws: list[Word]) -> bool:
    """Does this read as a question?"""
    return any(w.asks or _asks_word(ws, k) or _particle(ws, k) for k, w in enumerate(ws))


def asks_by_word(ws: list[Word]) -> bool:
    """A question word asks (not only a particle or a question mark)."""
    return any(_asks_word(ws, k) for k in range(len(ws)))


def particle_at_end(ws: list[Word]) -> int:
    """How many words at the end are a question particle (0 or 1)."""
    return 1 if ws and _particle(ws, len(ws) - 1) and not _asks_word(ws, len(ws) - 1) else 0


# --- what a question is about --------------------------------------------------------------


def _results(w: Word) -> bool:
    return (
        w.key in ("don", "dong", "donge", "dongin", "dongi", "dongig")
        or w.low in ("results", "result", "winner", "winners", "won")
        or w.key.startswith(("shalgar", "ialsan", "ialagj"))
    )


def _meeting(w: Word) -> bool:
    k = w.key
    return (
        (k.startswith("horal") and not k.startswith(("horalt", "horah")))
        or k.startswith("horl")
        or k.startswith("olzalt")
        or w.low in ("инх", "inh", "meeting")
    )


def _near_proposal(ws: list[Word], k: int, stems: tuple[str, ...]) -> bool:
    """A verb within three words after "санал" ("санал яаж өгөх", "санал авах")."""
    return any(ws[m].key.startswith(stems) for m in range(k + 1, min(len(ws), k + 4)))


_VOTE_AFTER_SANAL = ("og",)  # өгөх, өгье, өгч, өгнө
_COLLECT_AFTER_SANAL = ("av", "garg", "orol", "bij", "ilge", "iavol", "coglol", "holen")


def _voting(ws: list[Word]) -> bool:
    for k, w in enumerate(ws):
        if w.key.startswith(("horalt", "horah", "songo", "sonog")) or w.low in ("vote", "voting"):
            return True
        if w.key.startswith("sanal") and _near_proposal(ws, k, _VOTE_AFTER_SANAL):
            return True
    return False


def _collecting(ws: list[Word]) -> bool:
    for k, w in enumerate(ws):
        if w.low in ("propose", "proposal", "proposals", "submit") or w.key == "tosol":
            return True
        if w.key.startswith("sanal") and _near_proposal(ws, k, _COLLECT_AFTER_SANAL):
            return True
    return False


def _joining(ws: list[Word]) -> bool:
    return any(
        w.key.startswith(("bortg", "negde", "negdi", "negds"))
        or w.low in ("join", "register", "registration", "signup")
        for w in ws
    )


def _deadline(w: Word) -> bool:
    """Words of a period: it ends (дуусах, хүртэл, хаагдах, хугацаа) or starts (эхлэх)."""
    return w.key.startswith(
        ("dosah", "dosn", "dosg", "hortel", "hagd", "hogac", "ecsi", "ehel", "ehle")
    ) or (w.low in ("until", "deadline", "end", "ends", "close", "closes", "start", "started"))


# "Хэдэн хүн санал өгсөн бэ": how many took part, which ДҮН tells (only the turnout while
# the round is open).
_PEOPLE = frozenset({"hon", "or", "orh", "ail", "irgen", "people", "households"})


def topic(ws: list[Word]) -> str:
    """What a question is about: one of QUESTION_TOPICS."""
    low = {w.low for w in ws}
    keys = {w.key for w in ws}
    when = bool(low & WHEN) or any(
        w.low in _HEDEN and k + 1 < len(ws) and ws[k + 1].low in _HOURS for k, w in enumerate(ws)
    )
    where = bool(low & WHERE)
    how = bool(low & HOW)
    if low & WHAT and keys & _WHAT_OF and not (when or where or how):
        return "what"  # "ОНХС гэж юу вэ", "Энэ юу вэ", "what is this"
    counted = any(
        w.low in _HEDEN and k + 1 < len(ws) and ws[k + 1].key in _PEOPLE for k, w in enumerate(ws)
    )
    if counted or any(_results(w) for w in ws):
        return "results"
    if any(_meeting(w) for w in ws):
        return "meeting_where" if where and not when else "meeting_when"
    voting, collecting = _voting(ws), _collecting(ws)
    # "Хэд хүртэл сонгож болох вэ": up to how many, not until when.
    deadline = any(_deadline(w) and not (k and ws[k - 1].low in _HEDEN) for k, w in enumerate(ws))
    if when or deadline:
        if voting:
            return "vote_until"
        if collecting:
            return "collect_until"
        if deadline:
            return "deadline"
        if when and any(w.key.startswith("sanal") for w in ws):
            return "deadline"
    if where and not (voting or collecting or _joining(ws)):
        return "meeting_where" if keys & {"boloh", "bolno", "bolj"} else "general"
    if _joining(ws):
        return "how_join"
    if voting:
        return "how_vote"
    if collecting or (how and any(w.key.startswith("sanal") for w in ws)):
        return "how_propose"
    return "general"
