"""The database of a configuration, opened only with its ballot key.

Every command that opens the database goes through here, so that a missing or different
key is refused with one line before anything is changed (storage/keyguard.py). Commands
that only read counts (reports, `official list`, `sms-cost`) pass ``needs_key=False``: a
copy without its key is meant to serve for reports, and they never make a key.
"""

from __future__ import annotations

from bot.core.settings import Settings
from storage.db import Database
from storage.keyguard import KeySource


def key_source(settings: Settings) -> KeySource:
    value = settings.ballot_key.get_secret_value().encode() if settings.ballot_key else None
    return KeySource(file=settings.ballot_key_file(), value=value)


def database(settings: Settings, *, auto_migrate: bool = True, needs_key: bool = True) -> Database:
    return Database(
        settings.db,
        auto_migrate=auto_migrate,
        key=key_source(settings) if needs_key else None,
        backup_dir=settings.backup_path(),
    )
