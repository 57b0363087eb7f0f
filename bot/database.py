"""The database of a configuration, opened only with its ballot key.

Every command that opens the database goes through here, so that a missing or different
key is refused with one line before anything is read or changed (storage/keyguard.py).
"""

from __future__ import annotations

from bot.settings import Settings
from storage.db import Database
from storage.keyguard import KeySource


def key_source(settings: Settings) -> KeySource:
    value = settings.ballot_key.get_secret_value().encode() if settings.ballot_key else None
    return KeySource(file=settings.ballot_key_file(), value=value)


def database(settings: Settings, *, auto_migrate: bool = True) -> Database:
    return Database(
        settings.db,
        auto_migrate=auto_migrate,
        key=key_source(settings),
        backup_dir=settings.backup_path(),
    )
