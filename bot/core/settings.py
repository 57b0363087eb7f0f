"""Typed settings from the environment (prefix ``SANAL_``) and an optional ``.env`` file.

Provider credentials keep the providers' own names (``TWILIO_AUTH_TOKEN``,
``TELEGRAM_BOT_TOKEN``) so that their usual documentation applies unchanged.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import types
import typing
from collections.abc import Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import annotated_types
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core import channels

ENV_PREFIX = "SANAL_"
ENV_FILE = ".env"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore"
    )

    # A SQLite file (a path, or sqlite:///path), or a PostgreSQL server:
    # postgresql://user@host/db (postgres:// too), kept as the URL it is (a Path would
    # fold its "//").
    db: Path | str = Path("sanal.db")
    # Where the reports, the backups and the ballot key file go when nothing else is set:
    # beside a SQLite file; for a PostgreSQL server, this folder (default: the working
    # folder, the one `sanal serve` was started in).
    data_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # What providers call, e.g. https://sanal.example.mn: https only (Twilio and Telegram
    # call nothing else), http only on loopback (tests, a trainer's laptop).
    public_url: str | None = None

    # Secret for ballot keys; when unset, a key file beside the database is created once.
    ballot_key: SecretStr | None = None

    # Backups (storage/backup.py, scheduler/backups.py): one every this many hours while
    # `serve` runs (0 = none), the newest `backup_keep` kept, in `backup_dir` (default:
    # backups/ beside the database).
    backup_dir: Path | None = None
    backup_keep: int = Field(7, ge=1)
    backup_interval_hours: float = Field(24.0, ge=0)

    # Language of replies to someone who has not chosen one: Cyrillic Mongolian for
    # Cyrillic writers; for Latin writers, this (mn_latn keeps SMS in cheap GSM-7).
    latin_writer_lang: Literal["mn_latn", "en"] = "mn_latn"
    # SMS providers that run, comma-separated: "sim", "twilio", "android" or
    # "twilio,android". Each person is answered through the provider they wrote to; the
    # first one named reaches people who never wrote (added by an official).
    sms_provider: str = "sim"
    max_segments: int = Field(3, ge=1, le=10)
    list_page_size: int = Field(5, ge=1, le=20)
    max_choices: int = Field(3, ge=1, le=50)
    allow_ballot_change: bool = True
    # Proposals collected this year are for next year's budget (LDF practice); 0 = this year.
    planning_year_offset: int = Field(1, ge=0, le=2)
    # Flood control: after this many messages in a minute, at most one reply a minute.
    flood_threshold: int = Field(10, ge=1)
    # Who hears a round's result: voters only, or every registered citizen.
    results_to_all: bool = False
    # Results of a round with fewer voters than this show no counts: with one or two
    # ballots, the counts are the ballots (ballot secrecy; handlers/closing.py).
    min_voters_for_counts: int = Field(3, ge=1)
    # Where reports sent as Telegram documents are written (default: reports/ beside the db).
    reports_dir: Path | None = None
    # The simulator (page /, /api/sim/messages, `sanal chat`) is a training tool. "auto":
    # on only where no real channel is configured or has written to the database; "on":
    # the same, but refuse to start where it would be off; "off": never (bot/channels/
    # simulator_gate.py).
    simulator: Literal["auto", "on", "off"] = "auto"
    # A training token: with it the simulator also runs beside real channels, every request
    # must carry it, and it acts only on numbers that never wrote through a real channel.
    simulator_token: SecretStr | None = None

    # Twilio
    twilio_account_sid: str | None = Field(
        None, validation_alias=AliasChoices("TWILIO_ACCOUNT_SID", "SANAL_TWILIO_ACCOUNT_SID")
    )
    twilio_auth_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("TWILIO_AUTH_TOKEN", "SANAL_TWILIO_AUTH_TOKEN")
    )
    twilio_from_number: str | None = Field(
        None, validation_alias=AliasChoices("TWILIO_FROM_NUMBER", "SANAL_TWILIO_FROM_NUMBER")
    )
    twilio_messaging_service_sid: str | None = Field(
        None,
        validation_alias=AliasChoices(
            "TWILIO_MESSAGING_SERVICE_SID", "SANAL_TWILIO_MESSAGING_SERVICE_SID"
        ),
    )
    twilio_api_url: str | None = None
    # Seconds to wait for a provider's API before counting the attempt as failed.
    sms_timeout_seconds: float = Field(15.0, gt=0)
    # A Twilio long code sends 1 message a second; a short code or service more.
    twilio_rate_per_second: float = Field(1.0, gt=0)

    # Android SMS gateway ("SMS Gateway for Android" on a phone with a local SIM)
    android_gateway_url: str | None = None  # e.g. http://192.168.1.20:8080 (local mode)
    android_gateway_user: str | None = None
    android_gateway_password: SecretStr | None = None
    # The app's webhook signing key (Settings > Webhooks > Signing Key). Without it the
    # webhook cannot be verified, so Sanal refuses to start unless told to accept that.
    android_signing_key: SecretStr | None = None
    android_allow_unsigned: bool = False
    # One phone's SIM: keep well under the operator's limits (messages a second).
    android_rate_per_second: float = Field(0.5, gt=0)
    # The gateway's message ids are not unique: the same sender and text within this
    # many seconds is one message (the app's webhook retries).
    android_dedupe_seconds: int = Field(120, ge=0)

    # Scheduler: rounds open and close on their own, reminders (scheduler/).
    # Off only for a second, web-only process; the deadlines stay in the database.
    scheduler_enabled: bool = True
    # How often the sweeps run; a deadline also gets a wake-up of its own.
    sweep_interval_seconds: int = Field(30, ge=1, le=3600)
    # Khural meeting reminders, before the meeting: "3d,1d,2h" (d, h or m); "" = none.
    meeting_reminders: str = "3d,1d,2h"
    # Citizens who have not voted are reminded once, this many hours before the close.
    vote_reminder_hours: float = Field(24.0, ge=0)  # 0 = no vote reminder
    # When a bag's voting opens, its citizens are told how to vote (handlers/
    # voting_notice.py): on Telegram always; by SMS unless this is false. On by default:
    # SMS is how herders are reached, the notice is one segment per citizen once a round,
    # and the governor sees its cost in the reply to ХУРААЛТ and may switch it off for the
    # bag (МЭДЭГДЭЛ SMS ҮГҮЙ), which overrides this.
    voting_notice_sms: bool = True
    # What one SMS segment costs, in MNT: only for the cost shown to governors. Unconfirmed
    # (operators' tariffs differ and change): set it from your SIM's or provider's price.
    sms_segment_price: float = Field(20.0, ge=0)
    # Quiet hours, the bag's local time: what would be sent then waits for the morning.
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)
    # The khural quorum (its legal basis is unconfirmed): a fixed number of people, or
    # when 0, this share of the bag's registered citizens.
    khural_quorum: int = Field(0, ge=0)
    khural_quorum_share: float = Field(0.5, ge=0, le=1)

    # Stopping, starting and health (bot/serve_loop.py, bot/health.py).
    # SIGTERM/SIGINT: seconds to finish requests and sends in flight before exiting anyway.
    stop_timeout_seconds: float = Field(10.0, gt=0, le=600)
    # A request's headers must arrive within this many seconds of connecting (also how
    # long an idle keep-alive connection stays open), its body within this many more.
    header_timeout_seconds: float = Field(20.0, gt=0, le=3600)
    body_timeout_seconds: float = Field(30.0, gt=0, le=3600)
    # Open connections at most; more are answered 503 at once (keeps file descriptors for
    # the database and the providers). The open-files limit must be above it (README).
    max_connections: int = Field(512, ge=1)
    # /healthz says 503 when the database's disk has less free space than this...
    min_free_disk_mb: int = Field(100, ge=0)
    # ...or an outbox message due this many minutes ago is still not sent.
    outbox_stuck_minutes: int = Field(15, ge=1)

    # Monitoring and logs (bot/metrics.py, bot/logs.py; README "Monitoring and logs").
    # /metrics: with a token, every scrape must carry "Authorization: Bearer <token>";
    # without one, only loopback and private-network addresses are answered.
    metrics_token: SecretStr | None = None
    # DEBUG, INFO, WARNING or ERROR (`sanal -v` is DEBUG whatever this says).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "text" for people reading the journal, "json" (one object a line) for log shippers.
    log_format: Literal["text", "json"] = "text"

    # Telegram
    telegram_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "SANAL_TELEGRAM_BOT_TOKEN")
    )
    telegram_api_url: str | None = None
    # "auto": a webhook when SANAL_PUBLIC_URL is set, else long polling.
    telegram_mode: Literal["auto", "polling", "webhook"] = "auto"
    # Telegram's limits: about 30 messages a second overall, 1 a second to one chat.
    telegram_rate_per_second: float = Field(25.0, gt=0)
    telegram_per_chat_per_second: float = Field(1.0, gt=0)
    # Seconds one getUpdates long poll waits for news.
    telegram_poll_timeout: int = Field(30, ge=0, le=50)
    telegram_timeout_seconds: float = Field(15.0, gt=0)

    def telegram_webhook(self) -> bool:
        """Whether Telegram calls us (webhook) rather than us asking it (long polling)."""
        if self.telegram_mode == "auto":
            return bool(self.public_url)
        return self.telegram_mode == "webhook"

    @field_validator("db", mode="before")
    @classmethod
    def _db_location(cls, value: object) -> Path | str:
        if isinstance(value, str):
            if is_postgres_url(value):
                return value
            value = Path(value.removeprefix("sqlite://"))
        if isinstance(value, Path):
            refusal = not_a_file(str(value))
            if refusal is not None:
                raise ValueError(refusal)
            return value
        raise ValueError("must be a file path or a postgresql:// URL")

    def db_is_postgres(self) -> bool:
        return isinstance(self.db, str) and is_postgres_url(self.db)

    @field_validator("public_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        value = value.strip().rstrip("/")
        refusal = public_url_refusal(value)
        if refusal is not None:
            raise ValueError(refusal)
        return value

    @field_validator("sms_provider")
    @classmethod
    def _known_providers(cls, value: str) -> str:
        names = [n.strip() for n in value.split(",") if n.strip()]
        known = channels.sms_names()
        if not names or set(names) - set(known):
            raise ValueError(
                f"must be {', '.join(known[:-1])} or {known[-1]}, "
                "or two of them joined by a comma (twilio,android)"
            )
        return ",".join(dict.fromkeys(names))

    @field_validator("simulator_token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        token = value.get_secret_value().strip() if value is not None else ""
        if not token:
            return None  # SANAL_SIMULATOR_TOKEN= (empty) means no token
        if len(token) < 16:  # it guards a server with real people on it: not guessable
            raise ValueError("must be at least 16 characters (openssl rand -hex 16)")
        return SecretStr(token)

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        token = value.get_secret_value().strip() if value is not None else ""
        if not token:
            return None  # SANAL_METRICS_TOKEN= (empty): local scrapers only
        if len(token) < 16:  # it may face the internet: not guessable
            raise ValueError("SANAL_METRICS_TOKEN: at least 16 characters (openssl rand -hex 16)")
        return SecretStr(token)

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_any_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value  # info = INFO

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value  # JSON = json

    @field_validator("meeting_reminders")
    @classmethod
    def _offsets(cls, value: str) -> str:
        parse_offsets(value)  # raises with the offending part
        return value

    def meeting_reminder_offsets(self) -> list[timedelta]:
        """The reminder offsets, largest first (3 days, 1 day, 2 hours by default)."""
        return parse_offsets(self.meeting_reminders)

    def sms_providers(self) -> list[str]:
        return self.sms_provider.split(",")

    def data_path(self) -> Path:
        """The folder for Sanal's own files: ``data_dir``, else the SQLite file's folder,
        else (a server database) the working folder."""
        if self.data_dir is not None:
            return self.data_dir
        return Path(".") if self.db_is_postgres() else Path(self.db).parent

    def reports_path(self) -> Path:
        return self.reports_dir or self.data_path() / "reports"

    def backup_path(self) -> Path:
        return self.backup_dir or self.data_path() / "backups"

    def ballot_key_file(self) -> Path:
        if self.db_is_postgres():
            return self.data_path() / "sanal.key"
        return Path(f"{self.db}.key")

    def ballot_secret(self) -> bytes:
        """The ballot HMAC key: from the setting, else from ``<db>.key``.

        Never made here: opening the database makes it, for a new database only, and
        checks it against the database's fingerprint (storage/keyguard.py)."""
        if self.ballot_key is not None:
            return self.ballot_key.get_secret_value().encode()
        key_file = self.ballot_key_file()
        if not key_file.exists():
            raise FileNotFoundError(f"ballot key file {key_file} is missing")
        return key_file.read_text().strip().encode()


_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


def parse_offsets(text: str) -> list[timedelta]:
    """ "3d,1d,2h" -> [3 days, 1 day, 2 hours], largest first; ValueError names a bad part."""
    found: set[timedelta] = set()
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        number, unit = part[:-1], part[-1:]
        if unit not in _UNITS or not number.isdigit() or int(number) == 0:
            raise ValueError(
                f"{part!r} is not a reminder offset: a whole number then d, h or m, "
                "comma-separated (3d,1d,2h)"
            )
        found.add(int(number) * _UNITS[unit])
    return sorted(found, reverse=True)


# --- What an operator reads when a setting is wrong ---------------------------------------

# The addresses where http:// is allowed: nobody outside the machine can call them, so
# nothing real (Twilio, Telegram) is behind them; the tests and a trainer's laptop are.
LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def public_url_refusal(url: str) -> str | None:
    """Why SANAL_PUBLIC_URL cannot be used, or None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return None
    if parts.scheme == "http" and _loopback(host):
        return None
    return (
        "must start with https:// and name the host (https://sanal.example.mn): Twilio and "
        "Telegram call https addresses only; http:// is allowed only for localhost and "
        "127.0.0.1 (tests, training)"
    )


def _loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# SANAL_* names that are not settings but knobs of the test suite and the benchmarks
# (make soak, SANAL_TEST_BACKEND=postgresql): not misspellings, so not warned about.
NOT_SETTINGS = frozenset(
    {
        "SANAL_SOAK",
        "SANAL_SOAK_RUNS",
        "SANAL_SEED",
        "SANAL_PABULIB_DIR",
        "SANAL_TEST_BACKEND",
        "SANAL_PG_BIN",
    }
)


def variables(field: str) -> list[str]:
    """The environment variables that set a field, the usual one first."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    if isinstance(alias, str):
        return [alias]
    return [f"{ENV_PREFIX}{field.upper()}"]


def variable_in_use(field: str) -> str:
    """The variable that set a field here (SANAL_TELEGRAM_BOT_TOKEN or TELEGRAM_BOT_TOKEN),
    for messages that name it; the usual one when none did."""
    names = variables(field)
    environ = {k.upper() for k in os.environ}
    found = next((n for n in names if n in environ), None)
    if found is None:
        try:
            in_file = {k.upper() for k in env_file_values()}
        except (OSError, UnicodeDecodeError):
            in_file = set()
        found = next((n for n in names if n in in_file), names[0])
    return found


def known_variables() -> set[str]:
    return {name for field in Settings.model_fields for name in variables(field)}


def env_file_values(path: Path | None = None) -> dict[str, str]:
    """The variables a `.env` file sets (none when there is no file)."""
    from dotenv import dotenv_values  # pydantic-settings' own reader of .env files

    path = path or Path(ENV_FILE)
    if not path.is_file():
        return {}
    return {k: v or "" for k, v in dotenv_values(path, encoding="utf-8").items()}


def unknown_variables(environ: Mapping[str, str], env_file: Mapping[str, str]) -> list[str]:
    """One warning line per SANAL_* variable that sets nothing (a misspelling, most often:
    SANAL_MAXCHOICES was silently ignored), naming the closest setting when one is close."""
    known = known_variables()
    lines = []
    for where, names in (("", environ), (f" (in {ENV_FILE})", env_file)):
        for name in sorted(names):
            upper = name.upper()
            if not upper.startswith(ENV_PREFIX) or upper in known or upper in NOT_SETTINGS:
                continue
            line = f"{name}{where} is not a Sanal setting and is ignored"
            close = closest(upper, known)
            lines.append(f"{line}; did you mean {close}?" if close else line)
    return lines


def closest(name: str, known: set[str]) -> str | None:
    # Compared without the underscores: SANAL_MAXCHOICES is SANAL_MAX_CHOICES misspelt,
    # and the prefix they share says nothing.
    def bare(n: str) -> str:
        return n.removeprefix(ENV_PREFIX).replace("_", "")

    by_bare = {bare(k): k for k in known if k.startswith(ENV_PREFIX)}
    found = difflib.get_close_matches(bare(name), list(by_bare), n=1, cutoff=0.75)
    return by_bare[found[0]] if found else None


def explain(
    error: ValidationError,
    options: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    env_file: Mapping[str, str] | None = None,
) -> str:
    """Pydantic's report (four lines a problem, naming the Python field) as one line that
    names what the operator typed (the environment variable, the .env line or the option)
    and what is allowed."""
    options = options or {}
    environ = {k.upper(): v for k, v in (environ or {}).items()}
    in_file = {k.upper(): v for k, v in (env_file or {}).items()}
    problems = []
    for problem in error.errors():
        loc = problem.get("loc") or ("?",)
        field = _field_of(str(loc[0]))
        if field is None:
            problems.append(f"{loc[0]}: {problem.get('msg', 'not allowed')}")
            continue
        names = variables(field)
        if field in options:  # given on the command line: named as typed
            problems.append(f"{options[field]}: {_allowed(field, problem)}")
            continue
        name = next((n for n in names if n in environ), None)
        suffix = ""
        if name is None:
            name = next((n for n in names if n in in_file), names[0])
            suffix = f" (in {ENV_FILE})" if name in in_file else ""
        where = f"{name}{_shown(field, problem.get('input'))}{suffix}"
        problems.append(f"{where}: {_allowed(field, problem)}")
    return "; ".join(hide_password(p) for p in problems)


def _field_of(name: str) -> str | None:
    if name in Settings.model_fields:
        return name
    return next((f for f in Settings.model_fields if name.upper() in variables(f)), None)


def _shown(field: str, value: Any) -> str:
    annotation = Settings.model_fields[field].annotation
    if "SecretStr" in str(annotation) or not isinstance(value, str | int | float):
        return ""  # never a secret on the terminal (it may end up in a ticket or a log)
    text = str(value)
    return f"={text!r}" if len(text) <= 60 else f"={text[:57]!r}..."


def _allowed(field: str, problem: Mapping[str, Any]) -> str:
    """What the field takes, in words: from its validator's message, else its type and
    bounds (so a wrong number says the whole range, not only the side it missed)."""
    if problem.get("type") == "value_error":
        ctx = problem.get("ctx") or {}
        return str(ctx.get("error") or problem.get("msg", "")).removeprefix("Value error, ")
    info = Settings.model_fields[field]
    kinds = [a for a in _plain(info.annotation) if a is not type(None)]
    kind = kinds[0] if kinds else str
    if typing.get_origin(kind) is Literal:
        return "must be one of " + ", ".join(str(v) for v in typing.get_args(kind))
    if kind is bool:
        return "must be true or false"
    if kind is time:
        return "must be a time of day, hours and minutes (22:00)"
    if kind in (int, float):
        words = "a whole number" if kind is int else "a number"
        return f"must be {words}{_bounds(info.metadata)}"
    return str(problem.get("msg", "not allowed"))


def _plain(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _bounds(metadata: list[Any]) -> str:
    low = high = ""
    for m in metadata:
        if isinstance(m, annotated_types.Ge):
            low = f"{m.ge:g}"
        elif isinstance(m, annotated_types.Gt):
            low = f"above {m.gt:g}"
        elif isinstance(m, annotated_types.Le):
            high = f"{m.le:g}"
        elif isinstance(m, annotated_types.Lt):
            high = f"below {m.lt:g}"
    if low and high:
        return f" {low}, at most {high}" if low.startswith("above") else f" from {low} to {high}"
    if low:
        return f" {low}" if low.startswith("above") else f", {low} or more"
    if high:
        return f", at most {high}"
    return ""


def configured_real_channels(settings: Settings) -> list[str]:
    """The real channels these settings switch on."""
    # The simulator is training, not a channel.
    real = [p for p in settings.sms_providers() if not channels.capabilities(p).training]
    token = settings.telegram_bot_token
    if token is not None and token.get_secret_value().strip():
        real.append("telegram")
    return real


def is_postgres_url(value: str) -> bool:
    """Whether SANAL_DB names a PostgreSQL server rather than a SQLite file."""
    return value.startswith(("postgresql://", "postgres://"))


def not_a_file(value: str) -> str | None:
    """Why ``value`` cannot name a SQLite file, in words (without ``value``); None when it
    can.

    A server's URL cannot, and neither can one that lost a slash (``Path()`` of
    ``postgresql://sanal@/db`` is ``postgresql:/sanal@/db``, a typo makes the same): taken
    as a path it would become folders named after the URL and a new, empty database."""
    if is_postgres_url(value):
        return "a PostgreSQL server's database, not a SQLite file"
    if value.split("/", 1)[0].lower() in ("postgresql:", "postgres:"):
        return "neither a file's path nor a PostgreSQL URL (postgresql://..., two slashes)"
    return None


def hide_password(text: str) -> str:
    """``text`` with the password of any URL in it (whole or a slash short) as ``***``."""
    return re.sub(r"(\b[a-z]+:/+[^:/@\s]+):[^@\s]*@", r"\1:***@", text)
