"""Typed settings from the environment (prefix ``SANAL_``) and an optional ``.env`` file.

Provider credentials keep the providers' own names (``TWILIO_AUTH_TOKEN``,
``TELEGRAM_BOT_TOKEN``) so that their usual documentation applies unchanged.
"""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SANAL_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    db: Path = Path("sanal.db")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str | None = None  # e.g. https://sanal.example.mn, what providers call

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

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("sms_provider")
    @classmethod
    def _known_providers(cls, value: str) -> str:
        names = [n.strip() for n in value.split(",") if n.strip()]
        unknown = sorted(set(names) - {"sim", "twilio", "android"})
        if not names or unknown:
            raise ValueError(f"SANAL_SMS_PROVIDER: sim, twilio and/or android, not {unknown}")
        return ",".join(dict.fromkeys(names))

    @field_validator("simulator_token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        token = value.get_secret_value().strip() if value is not None else ""
        if not token:
            return None  # SANAL_SIMULATOR_TOKEN= (empty) means no token
        if len(token) < 16:  # it guards a server with real people on it: not guessable
            raise ValueError("SANAL_SIMULATOR_TOKEN: at least 16 characters (openssl rand -hex 16)")
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

    def reports_path(self) -> Path:
        return self.reports_dir or Path(self.db).parent / "reports"

    def backup_path(self) -> Path:
        return self.backup_dir or Path(self.db).parent / "backups"

    def ballot_key_file(self) -> Path:
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
            raise ValueError(f"reminder offset {part!r}: a whole number and d, h or m")
        found.add(int(number) * _UNITS[unit])
    return sorted(found, reverse=True)
