"""The words of every intent, in Cyrillic and the Latin spellings herders use.

Each phrase is matched on its skeleton (bot.translit), so one Cyrillic spelling also covers
its transliterations ("НЭГДЭХ" covers negdeh, negdekh, negdex). List extra Latin or English
words only where the skeleton differs.
"""

from __future__ import annotations

from bot.core.grammar.intents import Kind

KEYWORDS: dict[Kind, tuple[str, ...]] = {
    Kind.JOIN: ("нэгдэх", "нэгдье", "бүртгүүлэх", "бүртгүүлье", "бүртгүүл", "join",
                "register", "burtguuleh"),
    Kind.PROPOSE: ("санал", "санал гаргах", "санал оруулах", "proposal", "propose", "idea",
                   "төсөл", "project"),
    Kind.LIST: ("жагсаалт", "жагсаалтыг", "list", "proposals", "jagsaal", "төслүүд",
                "төслийн жагсаалт", "саналын жагсаалт", "саналууд", "projects"),
    Kind.VOTE: ("сонго", "сонгох", "сонгоё", "санал өгөх", "санал өгье", "vote", "sonogo",
                "санал өгнө", "саналаа өгье", "саналаа өгнө"),
    Kind.MY: ("миний", "миний санал", "миний сонголт", "my", "my vote", "mine"),
    Kind.HELP: ("тусламж", "туслаач", "заавар", "help", "info", "menu", "?"),
    Kind.STOP: ("зогс", "зогсоох", "stop", "stopall", "stop all", "unsubscribe", "cancel",
                "end", "quit", "optout", "revoke"),
    # Not "yes": a bare yes answers the question asked last (bot.grammar.optout).
    Kind.START: ("эхлэх", "эхлүүлэх", "start", "unstop"),
    Kind.LANG: ("хэл", "lang", "language"),
    Kind.RSVP: ("ирнэ", "очно", "ирэх", "очих", "оролцоно", "coming", "attend", "rsvp"),
    Kind.OPEN: ("нээх", "шат нээх", "open", "neekh"),
    Kind.PENDING: ("шинэ", "хүлээгдэж буй", "хянах", "pending", "review", "new"),
    # Not "ok": people write it in any chat, and it must not read as a governor's word.
    Kind.ACCEPT: ("зөв", "зөвшөөр", "зөвшөөрөх", "зөвшөөрье", "accept", "approve"),
    Kind.REJECT: ("татгалз", "татгалзах", "reject", "decline"),
    Kind.MERGE: ("нэгтгэх", "нэгтгэ", "merge"),
    Kind.FLAG: ("тэмдэг", "тэмдэглэх", "flag"),
    Kind.VOTING: ("хураалт", "санал хураалт", "санал хураах", "voting", "start voting"),
    Kind.MEETING: ("хурал", "хурлын", "meeting", "khural"),
    Kind.CLOSE: ("хаах", "close"),
    Kind.RESULTS: ("дүн", "үр дүн", "results", "result"),
    Kind.CONFIRM: ("батлах", "батал", "confirm", "confirmed"),
    Kind.ADMIT: ("бүртгэ", "admit"),
    Kind.POLICY: ("бодлого", "policy"),
    Kind.SCORE: ("оноо", "оноо өгөх", "үнэлгээ", "үнэлэх", "score", "rate"),
    Kind.CEILING: ("хязгаар", "төсөв", "ceiling", "budget", "limit"),
    Kind.WEIGHTS: ("жин", "жингүүд", "weights", "weight"),
    Kind.ALLOCATE: ("хуваарилах", "хуваарилалт", "allocate", "allocation"),
    Kind.REPORT: ("тайлан", "report"),
    Kind.COST: ("зардал", "sms зардал", "cost", "sms cost"),
    # Two words only: "мэдэгдэл" alone is a word citizens write ("мэдэгдэл ирсэнгүй").
    Kind.NOTICE: ("мэдэгдэл sms", "мэдэгдэл смс", "sms мэдэгдэл", "notice sms", "sms notice",
                  "notices sms", "sms notices"),
}  # fmt: skip

# One-word language switches: the word alone changes the language.
LANG_WORDS: dict[str, str] = {
    "латин": "mn_latn", "latin": "mn_latn", "lat": "mn_latn", "латинаар": "mn_latn",
    "кирилл": "mn", "kirill": "mn", "cyrillic": "mn", "монгол": "mn", "mongol": "mn",
    "mn": "mn", "монголоор": "mn", "кирилээр": "mn",
    "англи": "en", "angli": "en", "english": "en", "en": "en", "англиар": "en",
}  # fmt: skip

POLICY_WORDS: dict[str, str] = {
    "нээлттэй": "open", "open": "open", "чөлөөтэй": "open",
    "зөвшөөрөл": "approval", "зөвшөөрөлтэй": "approval", "approval": "approval",
    "approve": "approval",
}  # fmt: skip

# МЭДЭГДЭЛ SMS ТИЙМ / ҮГҮЙ: the voting notice by SMS too, or by Telegram only. Not "no",
# "хэрэггүй" or "stop": with "sms" those are a citizen's opt-out (bot.grammar.optout).
NOTICE_WORDS: dict[str, str] = {
    "тийм": "on", "тиймээ": "on", "асаах": "on", "асаа": "on", "илгээ": "on", "on": "on",
    "yes": "on",
    "үгүй": "off", "ugvi": "off", "ugyi": "off", "унтраах": "off", "унтраа": "off",
    "off": "off",
}  # fmt: skip

# БАТЛАХ 64 ТИЙМ: the governor confirms the khural's list although the attendance is below
# the quorum or the meeting date has not come (handlers/governor.confirm warned first).
CONFIRM_YES_WORDS = ("тийм", "тиймээ", "yes")

# The rule a soum chooses: fund in rank order (greedy), the Method of Equal Shares as cities
# run it (mes, the default equal-shares rule), or its plain variant (mes_plain); the
# numbers are the side-by-side's. ТАЙЛБАР asks for the rules explained ("explain").
RULE_WORDS: dict[str, str] = {
    "эрэмбэ": "greedy", "эрэмбээр": "greedy", "дараалал": "greedy", "greedy": "greedy",
    "rank": "greedy", "standard": "greedy", "1": "greedy",
    "тэгш": "mes", "mes": "mes", "equal": "mes", "equalshares": "mes",
    "2": "mes",
    "энгийн": "mes_plain", "plain": "mes_plain", "3": "mes_plain",
    "тайлбар": "explain", "тайлбарла": "explain", "explain": "explain", "why": "explain",
}  # fmt: skip

# Words that stop and start only when they are the whole message (Twilio's opt-out and
# opt-in words): "stop the bridge project" is not an opt-out.
ALONE_ONLY = frozenset({Kind.STOP, Kind.START})

BENEFICIARY_UNITS = (
    "өрх",
    "айл",
    "хүн",
    "хүүхэд",
    "малчин",
    "ail",
    "households",
    "household",
    "families",
    "family",
    "people",
    "persons",
    "айлд",
    "өрхөд",
    "өрхийн",
)
MILLION_UNITS = ("сая", "mln", "million", "say", "sai", "saya", "сая төгрөг", "m")
THOUSAND_UNITS = ("мянга", "мянган", "myanga", "mynga", "thousand", "k")
BILLION_UNITS = ("тэрбум", "terbum", "billion", "bn")
CURRENCY_WORDS = ("төгрөг", "төг", "tug", "tugrug", "togrog", "mnt", "₮")
