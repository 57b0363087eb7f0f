"""Every catalog text, in every language, against the rules of DOMAIN.md ("Writing Mongolian
replies") and issue 12: one SMS segment, endings that fit the value, no English in
Mongolian, one term for each thing, Latin in GSM-7 as herders type it.

The catalogs are read whole (bot/core/texts/{mn,en,mn_latn}/*.toml), so a new file added by any
part of the product is checked too. Each failure names the key and the rule it breaks.

Rules:

1. mn and en have the same keys and the same variables (a variable one language uses and
   the other not is a forgotten one, or a KeyError at a call site); a mn_latn override
   uses only the variables of its mn text and is not the automatic Latin text again.
2. Every text renders in mn, mn_latn and en with realistic values (SAMPLES: the longest
   bag and soum names of the country, full dates, two-digit numbers).
3. SMS texts: the Mongolian (Cyrillic, UCS-2) text fits ONE segment, 70 characters; the
   Latin and English ones are GSM-7 and fit one segment, 160. Texts never sent by SMS (the
   Telegram chat, the XLSX/PDF/chart labels) and the few long SMS texts in LONG have their
   own budgets, each with its reason.
4. No ending glued to a variable ("{bag}-д", "{n}-ийг"): ask for the case ("{n:acc}",
   bot/mn_case.py) or phrase around it. A numeral or abbreviation written in a text with
   an ending has the ending of how it is read ("4-ийг", "ОНХС-ийн").
5. No English words in Mongolian texts, except a few names (ALLOWED_LATIN); Telegram
   commands (/help) only in Telegram texts.
6. One term for each thing (TERMS), no database words, no CLI commands (`sanal ...`).
7. Every word a reply tells people to type (НЭГДЭХ 644651, ХУРААЛТ) parses, and its Latin
   form in the Latin reply (NEGDEH 644651, HURAALT) parses to the same.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.core.mn_case import CASES, inflect, number_ending
from bot.core.sms_segments import count_segments, is_gsm7
from bot.core.texts import catalog, placeholders, render
from handlers.context import Text
from handlers.delivery import compose

UCS2_SEGMENT = 70
GSM7_SEGMENT = 160

# Realistic values for every variable of every text. Names are the longest of the
# country (shared/data/mn_admin_units.csv): a text that fits with them fits every bag.
SAMPLES: dict[str, Any] = {
    "bag": "3-р баг, Могой /Рэнчинжугнай/",  # 29 characters, the longest bag name
    "soum": "Баруунбаян-Улаан",  # 16, the longest soum name
    "aimag": "Улаанбаатар",  # 11, the longest aimag
    "name": "Баруунбаян-Улаан",  # a soum or unit to choose, a language, a file, a criterion
    "code": "644651",
    "phone": "+97699112233",
    "year": 2027,
    "until": "2027-04-01 18:00",  # the one date format (bot/core/clock.py)
    "when": "2027-04-10 14:00",
    "collect": "2027-03-20 23:59",
    "place": "Багийн соёлын төв",
    "n": 12,
    "into": 4,
    "numbers": "1 3 12",
    "k": 3,
    "given": 4,
    "count": 12,
    "members": 7,
    "first": 1,
    "last": 14,
    "left": 5,
    "text": "Малын худаг гаргах, 40 өрх",  # a proposal as herders write one
    "reason": "ОНХС-ийн журамд нийцэхгүй",
    "flag": Text("flag_label.festival"),
    "status": Text("report.state.collecting"),
    "page": 2,
    "pages": 3,
    "next": 3,
    "ballots": 48,
    "voted": 48,
    "registered": 312,
    "turnout": "15.4%",
    "channels": "SMS 40, Telegram 8",
    "rank": 1,
    "votes": 31,
    "share": "64.6%",
    "min": 3,
    "attendance": 64,
    "rsvps": 40,
    "quorum": 63,
    "messages": 1250,
    "segments": 2480,
    "x": "150",
    "w": 3,
    "usage": "12 1-5 1-5 1-5 1-5",
    "example": "12 4 5 4",
    "cost": Text("soum.mln", {"x": "25"}),
    "criterion": Text("soum.criterion.beneficiaries"),
    "combined": 78,
    "amount": Text("soum.mln", {"x": "150"}),
    "ceiling": Text("soum.mln", {"x": "150"}),
    "spent": Text("soum.mln", {"x": "148.5"}),
    "unscored": 2,
    "rule": Text("alloc.rule.greedy"),
    "chosen": 2,
    "max": 5000,
    "decision": "2028/675855-01",  # the khural's decision number (storage/confirmations)
}
# Where one variable name means another thing in one text.
SAMPLES_FOR: dict[str, dict[str, Any]] = {
    "sched.voting_overdue": {"example": "2027-04-15"},
    "lang.ok": {"name": "Монгол (кирилл)"},
    "report.sent": {"name": "minutes-644651-2027.pdf"},
    "soum.weight_item": {"name": Text("soum.criterion.importance")},
    "soum.criterion.other": {"name": "Усны хүртээмж"},
    "join.bag_choice": {"name": "3-р баг, Могой /Рэнчинжугнай/"},
    "results.too_few": {"voted": 2},  # fewer than the minimum, or it is not said
    "score.ok": {"given": "4 5 4 4"},  # one score per criterion
}
# The same for every text of a part.
SAMPLES_BY_PREFIX: dict[str, dict[str, Any]] = {
    "notice.": {"example": "1 3", "cost": 4240, "sms": 212, "telegram": 40},
}

# Texts never sent by SMS, by key prefix, and why.
NOT_SMS: dict[str, str] = {
    "telegram.": "Telegram only: chat texts, buttons and the command menu",
    "report.sheet.": "XLSX sheet names",
    "report.col.": "XLSX column headings",
    "report.level.": "XLSX cells",
    "report.source.": "XLSX cells",
    "report.chart.": "the results chart (PNG)",
    "report.minutes.": "the khural minutes (PDF)",
    "report.participation.": "the participation sheet and CLI",
    "report.alloc.": "the soum XLSX's allocation sheet",
    "report.map.": "the participation map (PNG)",
    "simulator.error.": "the training page's answers (bot/web.py), shown on the page",
}
# XLSX row labels
REPORT_LABELS = frozenset(
    f"report.{k}"
    for k in ["aimag", "soum", "bag", "year", "status", "registered", "voted", "turnout",
              "attendance", "ceiling", "chosen_rule", "total", "yes", "no"]
)  # fmt: skip

# SMS texts allowed more than one segment, each with its budget and why.
LONG: dict[str, tuple[int, str]] = {
    "help.governor": (
        2,
        "every word of the bag governor with its example, in one reply a governor asks "
        "for rarely; a citizen's help is one segment",
    ),
    "propose.flagged_notice": (
        2,
        "a citizen's proposal with the Budget Law 60.3 warning (ОНХС may not fund it): the "
        "governor must read both before accepting",
    ),
    **{
        f"alloc.explain.{rule}": (
            3,
            "a rule explained in two sentences to the working group, sent when asked for "
            "(ХУВААРИЛАХ ТАЙЛБАР) or when a rule is chosen; also the XLSX",
        )
        for rule in ("greedy", "mes", "mes_plain")
    },
}

# Latin words a Mongolian text may contain: names of things that have no other name.
ALLOWED_LATIN = frozenset({"SMS", "Telegram", "XLSX", "PDF"})

# One term for each thing (DOMAIN.md): a pattern in a Mongolian text, and what to write.
TERMS: dict[str, str] = {
    r"(?i)\bшат(ны|анд|ыг|аа|аас)?\b": "«шат» is opaque: санал авах хугацаа, санал хураалт",
    r"Иргэдийн [Хх]урал": "Иргэдийн Нийтийн Хурал (ИНХ)",
    r"Иргэдийн нийтийн|Нийтийн хурал": "Иргэдийн Нийтийн Хурал, capitalised so",
    r"засаг дарга": "Засаг дарга, capitalised so",
    r"Орон нутгийн хөгжлийн сан": "Орон нутгийг хөгжүүлэх сан (ОНХС), the law's name",
}
CLI = re.compile(r"\bsanal (backup|chat|migrate|official|report|restore|serve|sms-cost|units)\b")
GLUED = re.compile(r"\{[^{}]*\}(-?[а-яёөүА-ЯЁӨҮ]+)")
NUMERAL_ENDING = re.compile(r"(?<![\d.:/-])(\d+)-([а-яёөү]+)")
ABBREVIATION_ENDING = re.compile(r"\b([А-ЯЁӨҮ]{2,})-([а-яёөү]+)")
LATIN_WORD = re.compile(r"(?<![/\w])[A-Za-z][A-Za-z']*")
TELEGRAM_COMMAND = re.compile(r"/[a-z]+")

MN = catalog("mn")
EN = catalog("en")
LATN = catalog("mn_latn")
KEYS = sorted(MN)


def _params(key: str) -> dict[str, Any]:
    wanted = placeholders(MN.get(key, "")) | placeholders(EN.get(key, ""))
    special: dict[str, Any] = {}
    for prefix, values in SAMPLES_BY_PREFIX.items():
        if key.startswith(prefix):
            special.update(values)
    special.update(SAMPLES_FOR.get(key, {}))
    missing = sorted(wanted - SAMPLES.keys() - special.keys())
    assert not missing, f"{key}: add a realistic sample for {missing} to SAMPLES"
    return {**{k: SAMPLES[k] for k in wanted if k in SAMPLES}, **special}


def _rendered(key: str, lang: str) -> str:
    return compose([Text(key, _params(key))], lang)


def _without_variables(template: str) -> str:
    return re.sub(r"\{[^{}]*\}", " ", template)


def _sms_budget(key: str) -> int | None:
    """Segments allowed by SMS, or None for a text never sent by SMS."""
    if key in REPORT_LABELS or any(key.startswith(p) for p in NOT_SMS):
        return None
    return LONG[key][0] if key in LONG else 1


def test_the_languages_have_the_same_texts_and_variables() -> None:
    assert sorted(EN) == KEYS, (
        f"only in mn: {sorted(MN.keys() - EN.keys())}; only in en: {sorted(EN.keys() - MN.keys())}"
    )
    for key in KEYS:
        assert placeholders(MN[key]) == placeholders(EN[key]), (
            f"{key}: mn uses {sorted(placeholders(MN[key]))}, en {sorted(placeholders(EN[key]))}"
        )
    for key, text in LATN.items():
        assert key in MN, f"mn_latn:{key} overrides no Mongolian text"
        assert placeholders(text) <= placeholders(MN[key]), f"mn_latn:{key}: variables"
        auto = render(key, "mn", **_params(key))
        assert render(key, "mn_latn", **_params(key)) != _auto_latin(auto), (
            f"mn_latn:{key} says what the automatic Latin says: remove the override"
        )


def _auto_latin(text: str) -> str:
    from bot.core.translit import to_latin

    return to_latin(text)


@pytest.mark.parametrize("key", KEYS)
def test_every_text_renders_within_its_budget(key: str) -> None:
    mn, latin, en = (_rendered(key, lang) for lang in ("mn", "mn_latn", "en"))
    assert is_gsm7(latin), f"mn_latn:{key} is not GSM-7: {latin!r}"
    budget = _sms_budget(key)
    if budget is None:
        return
    reason = f" ({LONG[key][1]})" if key in LONG else ""
    cyrillic = count_segments(mn)
    assert cyrillic.segments <= budget, (
        f"mn:{key} takes {cyrillic.segments} SMS segments ({cyrillic.units} characters, "
        f"{UCS2_SEGMENT} in one), {budget} allowed{reason}: {mn!r}"
    )
    for lang, text in (("mn_latn", latin), ("en", en)):
        assert is_gsm7(_without_variables(EN[key] if lang == "en" else text)), (
            f"{lang}:{key} has a character outside GSM-7, which makes the SMS UCS-2: {text!r}"
        )
        assert len(text) <= GSM7_SEGMENT * budget, f"{lang}:{key} is {len(text)} long: {text!r}"


@pytest.mark.parametrize("key", KEYS)
def test_no_ending_is_glued_to_a_variable(key: str) -> None:
    for lang, template in (("mn", MN[key]), ("mn_latn", LATN.get(key, ""))):
        glued = GLUED.search(template)
        assert glued is None, (
            f"{lang}:{key}: {glued.group(0)!r} glues an ending to a variable; ask for the case "
            f"({{n:acc}}, cases {', '.join(CASES)}) or phrase around it"
        )
    assert not any(spec in EN[key] for spec in (f":{c}}}" for c in CASES)), (
        f"en:{key}: a Mongolian case spec in an English text"
    )


@pytest.mark.parametrize("key", KEYS)
def test_written_endings_fit_how_numbers_and_abbreviations_are_read(key: str) -> None:
    text = _without_variables(MN[key])
    for number, ending in NUMERAL_ENDING.findall(text):
        if ending == "р":  # an ordinal: 3-р баг
            continue
        forms = {number_ending(int(number), case) for case in CASES}
        assert ending in forms, (
            f"mn:{key}: '{number}-{ending}' does not fit how {number} is read; one of "
            f"{sorted(f'{number}-{f}' for f in forms)}"
        )
    for abbreviation, ending in ABBREVIATION_ENDING.findall(text):
        forms = {inflect(abbreviation, case) for case in CASES}
        assert f"{abbreviation}-{ending}" in forms, (
            f"mn:{key}: '{abbreviation}-{ending}'; write it as DOMAIN.md does, one of "
            f"{sorted(forms)} (or add the abbreviation to bot/mn_case.py)"
        )


@pytest.mark.parametrize("key", KEYS)
def test_no_english_in_mongolian_texts(key: str) -> None:
    text = _without_variables(MN[key])
    if key.startswith("telegram."):
        text = TELEGRAM_COMMAND.sub(" ", text)
    else:
        assert not TELEGRAM_COMMAND.search(text), f"mn:{key}: a Telegram command in an SMS text"
    english = [w for w in LATIN_WORD.findall(text) if w not in ALLOWED_LATIN]
    assert not english, f"mn:{key}: English (or Latin) words {english} in a Mongolian text"


@pytest.mark.parametrize("key", KEYS)
def test_one_term_for_each_thing_and_nothing_raw(key: str) -> None:
    for pattern, instead in TERMS.items():
        found = re.search(pattern, MN[key])
        assert found is None, f"mn:{key}: {found.group(0)!r}; write {instead}"
    for lang, text in (("mn", MN[key]), ("en", EN[key]), ("mn_latn", LATN.get(key, ""))):
        assert not CLI.search(text), (
            f"{lang}:{key}: a command line in a reply; officials may have only a phone"
        )


# Abbreviations in texts that are names, not words to type.
NOT_COMMANDS = frozenset({"ОНХС", "ИНХ", "ИТХ", "ТББ"})
# A Cyrillic command word, then more words (МЭДЭГДЭЛ SMS ТИЙМ) and numbers (ЗӨВ 1 2).
COMMAND = re.compile(r"\b[А-ЯӨҮЁ]{2,}(?: [А-ЯӨҮЁA-Z]{2,})*(?: [0-9][0-9:-]*)*")


def _commands() -> dict[str, str]:
    """Every word a Mongolian reply tells people to type, with its arguments, and its key."""
    found: dict[str, str] = {}
    for key, template in MN.items():
        if _sms_budget(key) is None and not key.startswith("telegram."):
            continue
        for command in COMMAND.findall(_without_variables(template)):
            if command.split()[0] not in NOT_COMMANDS:
                found.setdefault(command, key)
    return found


def test_every_word_a_reply_says_to_type_is_understood_in_both_scripts() -> None:
    """A reply that says "ХУРААЛТ" (Latin: "HURAALT") must get the same answer for either."""
    from bot.core.grammar import Kind, parse
    from bot.core.translit import to_latin

    commands = _commands()
    assert len(commands) > 30
    for command, key in commands.items():
        cyrillic, latin = parse(command), parse(to_latin(command))
        assert cyrillic.kind != Kind.UNKNOWN, f"mn:{key}: {command!r} is not understood"
        assert (latin.kind, latin.numbers, latin.lang) == (
            cyrillic.kind,
            cyrillic.numbers,
            cyrillic.lang,
        ), f"mn_latn:{key}: {to_latin(command)!r} is not read as {command!r}"


def test_the_exceptions_are_real() -> None:
    """Every exception names a text that exists (a stale one would hide nothing)."""
    for key in LONG:
        assert key in MN, f"LONG lists {key}, which is no text"
    for prefix in [*NOT_SMS, *SAMPLES_BY_PREFIX]:
        assert any(k.startswith(prefix) for k in KEYS), f"{prefix!r} is listed: no such text"
    assert MN.keys() >= REPORT_LABELS
    for key in SAMPLES_FOR:
        assert key in MN, f"SAMPLES_FOR lists {key}, which is no text"
