"""Typed settings from the environment (prefix ``SANAL_``) and an optional ``.env`` file.

Provider credentials keep the providers' own names (``TWILIO_AUTH_TOKEN``,
``TELEGRAM_BOT_TOKEN``) so that their usual documentation applies unchanged.
"""

from __future__ import annotations

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

    # Language of replies to someone who has not chosen one: Cyrillic Mongolian for
    # Cyrillic writers; for Latin writers, this (mn_latn keeps SMS in cheap GSM-7).
    latin_writer_lang: Literal["mn_latn", "en"] = "mn_latn"
    sms_provider: Literal["sim", "twilio", "android"] = "sim"
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
    # Where reports sent as Telegram documents are written (default: reports/ beside the db).
    reports_dir: Path | None = None

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
    # A Twilio long code sends 1 message a second; a short code or service more.
    twilio_rate_per_second: float = Field(1.0, gt=0)

    # Telegram
    telegram_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "SANAL_TELEGRAM_BOT_TOKEN")
    )
    telegram_api_url: str | None = None

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    def reports_path(self) -> Path:
        return self.reports_dir or Path(self.db).parent / "reports"

    def ballot_secret(self) -> bytes:
        """The ballot HMAC key: from the setting, else from ``<db>.key`` (created once)."""
        if self.ballot_key is not None:
            return self.ballot_key.get_secret_value().encode()
        key_file = Path(f"{self.db}.key")
        if not key_file.exists():
            import secrets

            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        return key_file.read_text().strip().encode()
