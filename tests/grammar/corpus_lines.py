"""The corpus lines, and what each one means beyond its parse: family, script, and the
effect the router must have, with who sends it and in which phase of the round.

A line (one JSON object in tests/grammar/corpus*.jsonl, or in drafts/*.jsonl for lines the
lead switches on once the parser and handlers of issue 12 are merged) carries:

- ``text``, ``kind`` and the arguments that matter (checked by test_corpus.py);
- ``family``: the kind of message, for the understood-rate report (FAMILIES);
- ``script`` (optional): "cyrl" | "latn" | "en", guessed from the text otherwise;
- ``who`` (optional): newcomer | citizen | governor | soum, by kind otherwise;
- ``phase`` (optional): none | collecting | voting | closed, the sender's round;
- ``before`` (optional): messages the same person sends first (their replies are not
  checked), e.g. ["ЗОГС"] before a START;
- ``effect`` (optional, by kind otherwise): what the message must do (EFFECTS, in
  tests/grammar/router_world.py);
- ``then`` and ``then_effect`` (optional): the person's next message and its effect, e.g.
  "тийм" after a yes/no question.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bot.core.grammar.intents import GOVERNOR_KINDS, SOUM_KINDS, Kind
from bot.core.translit import is_cyrillic, skeleton

HERE = Path(__file__).parent
DRAFTS = HERE / "drafts"

FAMILIES = (
    "command",
    "wrapped",
    "vote_words",
    "question",
    "greeting",
    "synonym_order",
    "described",
    "optout",
    "join_names",
    "amounts",
    "stems",
    "rsvp_lang",
    "newcomer",
    "deadlines",
    "governor",
)
SCRIPTS = ("cyrl", "latn", "en")
WHO = ("newcomer", "citizen", "governor", "soum")
PHASES = ("none", "collecting", "voting", "closed")

Line = dict[str, Any]
# Keys of a line that say what the router does with it, not how it parses (test_corpus.py
# skips them; test_corpus_router.py reads them).
ROUTER_KEYS = frozenset(
    {
        "text",
        "kind",
        "effect",
        "family",
        "script",
        "who",
        "phase",
        "before",
        "then",
        "then_effect",
        "known_failure",
    }
)


def load(files: list[Path]) -> list[Line]:
    """Lines of the files in order, each with ``_source`` (file:line) for reports."""
    lines: list[Line] = []
    for path in files:
        for number, raw in enumerate(path.read_text("utf-8").splitlines(), 1):
            if raw.strip():
                line = json.loads(raw)
                name = path.relative_to(HERE) if path.is_relative_to(HERE) else path.name
                line["_source"] = f"{name}:{number}"
                lines.append(line)
    return lines


def corpus_files() -> list[Path]:
    return sorted(HERE.glob("corpus*.jsonl"))


def draft_files() -> list[Path]:
    return sorted(DRAFTS.glob("*.jsonl"))


# --- family and script ----------------------------------------------------------------------

# English words herders borrow or type in full sentences ("I vote for 2 and 14").
_ENGLISH = frozenset(
    """
    i me my mine you we the a an to for of and or in on at is are am be please pls plz
    thanks thank yes no ok okay hello hi there stop start vote join help list proposal
    propose proposals idea new well bridge repair households household families family
    people million thousand send sms messages message texting text more don't do not dont
    why keep unsubscribe cancel end quit optout revoke unstop coming attend rsvp language
    english latin cyrillic open close closed results result meeting voting review pending
    accept approve reject decline merge into flag confirm confirmed admit policy approval
    score rate ceiling budget limit weights weight allocate allocation greedy report cost
    page all register info menu what when where how did will can want would like school
    road water for project too many
    """.split()  # noqa: SIM905 (a word list reads better as words)
)


def script_of(line: Line) -> str:
    if line.get("script"):
        return str(line["script"])
    text = line["text"]
    if is_cyrillic(text):
        return "cyrl"
    words = [w.lower() for w in re.findall(r"[A-Za-z']+", text)]
    if words and sum(w in _ENGLISH for w in words) * 2 > len(words) and _not_mongolian(words):
        return "en"
    return "latn"


# Latin Mongolian words that are also in the English list above, or that give a line away.
_MONGOLIAN = frozenset(skeleton(w) for w in ("санал", "сонго", "зогс", "эхлэх", "баярлалаа"))


def _not_mongolian(words: list[str]) -> bool:
    return not any(skeleton(w) in _MONGOLIAN for w in words)


_VOTE_WORDS = re.compile(
    r"\b(ба|болон|and|ba|bolon|өгье|өгнө|ugye|ugnu|дугаар|dugaar|дүгээр|dugeer|р\b|r\b)|\d\s*-?\s*(р|r)\b"
    r"|сонголт|songolt|^санал|^sanal",
    re.IGNORECASE,
)
_GREETING = re.compile(r"сайн|sain|hello|hi\b|баярлалаа|bayarlalaa|thank", re.IGNORECASE)


def family_of(line: Line) -> str:
    """The family a line was written for; inferred for lines written before families."""
    if line.get("family"):
        return str(line["family"])
    kind = Kind(line["kind"])
    text = line["text"]
    if kind in (Kind.STOP, Kind.START, Kind.ANSWER):
        return "optout"
    if kind in (Kind.OPEN, Kind.VOTING) and any(
        k in line for k in ("collect_until", "vote_until", "collect_time", "vote_time")
    ):
        return "deadlines"
    if kind in GOVERNOR_KINDS or kind in SOUM_KINDS or kind in (Kind.REPORT, Kind.RESULTS):
        return "governor" if kind != Kind.RESULTS else "command"
    if kind == Kind.JOIN:
        return "join_names" if "soum_query" in line else "command"
    if kind == Kind.PROPOSE:
        if "flag" in line:
            return "stems"
        if "cost_mnt" in line or "beneficiaries" in line:
            return "amounts"
        return "command"
    if kind == Kind.VOTE and _VOTE_WORDS.search(text):
        return "vote_words"
    if kind in (Kind.LANG, Kind.RSVP):
        return "rsvp_lang"
    if kind == Kind.QUESTION:
        return "question"
    if kind == Kind.UNKNOWN and re.search(r"\?|вэ\b|бэ\b", text):
        return "question"
    if kind == Kind.GREETING or (kind == Kind.UNKNOWN and _GREETING.search(text)):
        return "greeting"
    if kind == Kind.DESCRIBED:
        return "described"
    return "command"


# --- who, phase and effect by kind ----------------------------------------------------------

_CITIZEN_PHASE = {
    Kind.VOTE: "voting",
    Kind.LIST: "voting",
    Kind.MY: "voting",
    Kind.RSVP: "voting",
    Kind.RESULTS: "closed",
}
_GOVERNOR_PHASE = {
    Kind.OPEN: "none",
    Kind.CLOSE: "voting",
    Kind.RESULTS: "closed",
    Kind.CONFIRM: "closed",
    Kind.REPORT: "closed",
}


def who_of(line: Line) -> str:
    if line.get("who"):
        return str(line["who"])
    kind = Kind(line["kind"])
    if kind in GOVERNOR_KINDS or kind == Kind.REPORT:
        return "governor"
    if kind in SOUM_KINDS:
        return "soum"
    if kind == Kind.JOIN:
        return "newcomer"
    return "citizen"


def phase_of(line: Line) -> str:
    if line.get("phase"):
        return str(line["phase"])
    kind, who = Kind(line["kind"]), who_of(line)
    if who in ("newcomer", "soum"):
        return "none"
    if who == "governor":
        return _GOVERNOR_PHASE.get(kind, "collecting")
    return _CITIZEN_PHASE.get(kind, "collecting")


_GOVERNOR_EFFECT = {
    Kind.OPEN: "opened",
    Kind.PENDING: "answered:pending",
    Kind.VOTING: "voting_started",
    Kind.MEETING: "meeting_set",
    Kind.CLOSE: "closed",
    Kind.RESULTS: "answered:results",
    Kind.COST: "answered:cost",
    Kind.REPORT: "answered:report",
    # A soum with no list yet says so: its working group has nothing to score or share.
    Kind.SCORE: "answered:score|soum.no_list",
    Kind.WEIGHTS: "answered:weights",
    Kind.ALLOCATE: "answered:alloc|soum.no_list",
}
_USAGE_KEYS = {"allocate": "alloc"}
NOT_AN_ANSWER = "unknown|governor.not_allowed|soum.not_allowed|propose.usage|vote.usage"
_CITIZEN_EFFECT = {
    Kind.LIST: "answered:list",
    Kind.MY: "answered:my",
    Kind.HELP: "answered:help",
    Kind.RESULTS: "answered:results",
    Kind.RSVP: "rsvp",
    Kind.START: "opted_in",
    # A yes or no when nothing was asked: the help of the person's phase, never START.
    Kind.ANSWER: "answered:help",
    Kind.UNKNOWN: "nothing",
    # Answered, never refused, stored or taken for an official's word: whatever the
    # handlers of issue 12 name their texts, these must not be the reply.
    Kind.QUESTION: f"not:{NOT_AN_ANSWER}",
    Kind.GREETING: f"not:{NOT_AN_ANSWER}",
    Kind.DESCRIBED: "asked",
    Kind.REPORT: "answered:report",
}


def effect_of(line: Line) -> str:
    """What the message must do; by kind and arguments when the line does not say."""
    if line.get("effect"):
        return str(line["effect"])
    kind, error = Kind(line["kind"]), line.get("error")
    if error and error.endswith("_usage"):
        word = error.removesuffix("_usage")
        return f"answered:{_USAGE_KEYS.get(word, word)}.usage"
    if error == "stop_unsure":
        return "asked"
    numbers = ",".join(str(n) for n in line.get("numbers", []))
    if kind == Kind.JOIN:
        if line.get("bag_code"):
            return f"joined:{line['bag_code']}"
        # A soum and a bag by name: registered somewhere (a line may name the bag's code).
        return "joined" if line.get("bag_query") else "answered:join"
    if kind == Kind.PROPOSE:
        return "proposal_stored"
    if kind == Kind.VOTE:
        return f"vote_recorded:{numbers}"
    if kind == Kind.STOP:
        return "opted_out"
    if kind == Kind.LANG:
        return f"lang:{line['lang']}"
    if kind == Kind.ACCEPT:
        return f"accepted:{numbers}"
    if kind == Kind.REJECT:
        return f"rejected:{numbers}"
    if kind == Kind.MERGE:
        return f"merged:{numbers}"
    if kind == Kind.FLAG:
        return f"flagged:{numbers}"
    if kind == Kind.CONFIRM:
        return f"confirmed:{line['numbers'][0]}" if len(line["numbers"]) == 1 else "confirmed"
    if kind == Kind.ADMIT:
        return f"admitted:{line['phone']}"
    if kind == Kind.NOTICE:
        choice = line.get("arg_text")
        if choice in ("on", "off"):
            return f"notice_sms:{choice}"
        return "answered:notice.status_on|notice.status_off"
    if kind == Kind.POLICY:
        return f"policy:{line['arg_text']}"
    if kind == Kind.CEILING:
        return f"ceiling:{line['cost_mnt']}"
    if kind in _GOVERNOR_EFFECT and who_of(line) in ("governor", "soum"):
        return _GOVERNOR_EFFECT[kind]
    return _CITIZEN_EFFECT.get(kind, "nothing")


def before_of(line: Line) -> list[str]:
    if "before" in line:
        return list(line["before"])
    if effect_of(line) == "opted_in":
        return ["ЗОГС"]  # START means something only after a STOP
    return []


def label(line: Line) -> str:
    """A short test id: where the line is, and its start."""
    return f"{line['_source']}:{line['text'][:30]!r}"


# The opt-out corpus's first effect names (test_optout_effects.py before the router runner).
_ASKED_FIRST = "Мессеж их ирээд байна"
LEGACY_EFFECTS: dict[str, dict[str, Any]] = {
    "opt_out": {"effect": "opted_out"},
    "opt_in": {"effect": "opted_in"},
    "ask": {"effect": "asked", "then": "тийм", "then_effect": "opted_out"},
    "yes_after_ask": {"before": [_ASKED_FIRST], "effect": "opted_out"},
    "no_after_ask": {"before": [_ASKED_FIRST], "effect": "answered:optout.kept"},
    "stays_out": {"before": ["ЗОГС"], "effect": "nothing"},
}


def normalise(path: Path) -> int:
    """Give each line of a file that lacks one its inferred family, and write the opt-out
    corpus's first effect names in today's; returns how many lines changed. For merges: a
    corpus file taken from another branch is brought back with
    ``python -m tests.grammar.corpus_lines tests/grammar/corpus.jsonl``."""
    out, changed = [], 0
    for raw in path.read_text("utf-8").splitlines():
        if raw.strip():
            line = json.loads(raw)
            before = dict(line)
            if line.get("effect") in LEGACY_EFFECTS:
                line.update(LEGACY_EFFECTS[line["effect"]])
            elif line.get("effect") == "none":  # a look-alike of STOP or START
                line["effect"] = "proposal_stored" if line["kind"] == "propose" else "nothing"
                line.setdefault("family", "optout")
                if line["kind"] in (k.value for k in GOVERNOR_KINDS):
                    line["who"] = "citizen"
            line.setdefault("family", family_of(line))
            if line != before:
                changed += 1
                raw = json.dumps(line, ensure_ascii=False)
        out.append(raw)
    path.write_text("\n".join(out) + "\n", "utf-8")
    return changed


def parse_from(path: Path, other: Path) -> int:
    """Take each line's parse (kind and arguments) from ``other``, the same corpus file as
    another branch left it, keeping this file's router keys (family, effect, who...); lines
    are matched by their text, in order. For merges: both sides changed corpus.jsonl.
    Returns how many lines took another parse."""
    theirs: dict[str, list[Line]] = {}
    for raw in other.read_text("utf-8").splitlines():
        if raw.strip():
            line = json.loads(raw)
            theirs.setdefault(line["text"], []).append(line)
    out, changed = [], 0
    for raw in path.read_text("utf-8").splitlines():
        if raw.strip():
            mine = json.loads(raw)
            found = theirs.get(mine["text"])
            if found:
                keep = ROUTER_KEYS - {"text", "kind"}
                parse = {k: v for k, v in found.pop(0).items() if k not in keep}
                merged = {**parse, **{k: v for k, v in mine.items() if k in keep}}
                if merged != mine:
                    changed += 1
                    raw = json.dumps(merged, ensure_ascii=False)
        out.append(raw)
    path.write_text("\n".join(out) + "\n", "utf-8")
    return changed


def main(args: list[str]) -> None:
    if len(args) == 3 and args[0] == "--parse-from":
        print(f"{args[2]}: {parse_from(Path(args[2]), Path(args[1]))} lines took its parse")
        return
    for name in args:
        print(f"{name}: {normalise(Path(name))} lines given a family or today's effect names")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
