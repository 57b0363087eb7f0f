"""A NUL inside a message's extra (a Telegram keyboard label made from a proposal title a
herder typed, a provider's field) must not switch off the sealing of a ballot reply.

JSON writes a NUL as the escape ``\\u0000``; PostgreSQL's jsonb refuses that escape, and
its ``json_extract`` (storage/migrations/pg/0007) then reads nothing: the trigger that
blanks a sent ballot reply would not see ``"ballot": 1``. Storage writes a NUL in JSON as
U+FFFD, as it does in a text column, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.core.message import Channel, Inbound
from storage import inbox, outbox
from storage.db import Database, fetchone

NOW = datetime(2027, 3, 2, 2, 0, tzinfo=UTC)


async def test_a_ballot_reply_with_a_nul_in_its_extra_is_sealed(backend: Path | str) -> None:
    db = await Database(backend).open()
    try:
        async with db.write() as conn:
            await outbox.enqueue(
                conn,
                dedupe_key="r:1",
                channel="telegram",
                address="telegram:123",
                text="Таны сонголт: 1. Худаг",
                now=NOW,
                extra={"ballot": 1, "buttons": ["1. Худ\x00аг"]},
            )
            row = await fetchone(conn, "SELECT id, extra FROM outbox WHERE dedupe_key = 'r:1'")
            assert row is not None
            assert "\\u0000" not in str(row["extra"])
            assert "\x00" not in str(row["extra"])
            assert "1. Худ\ufffdаг" in str(row["extra"])
            await outbox.mark_sent(conn, int(row["id"]), "m1", 1, NOW)
            sealed = await fetchone(
                conn, "SELECT text, extra FROM outbox WHERE id = ?", (row["id"],)
            )
        assert sealed is not None
        assert sealed["text"] == "🔒"
        assert "Худ" not in str(sealed["extra"])
    finally:
        await db.close()


async def test_an_inbound_extra_with_a_nul_is_stored_and_read(backend: Path | str) -> None:
    db = await Database(backend).open()
    try:
        async with db.write() as conn:
            msg = Inbound(
                Channel.TELEGRAM, "u1", "telegram:123", "СОНГО 1", NOW, "123",
                extra={"first_name": "Бат\x00"},
            )  # fmt: skip
            [(inbox_id, _)] = await inbox.store_many(conn, [msg])
            row = await fetchone(
                conn,
                "SELECT json_extract(extra, '$.first_name') AS name FROM inbox WHERE id = ?",
                (inbox_id,),
            )
        assert row is not None
        assert row["name"] == "Бат\ufffd"
    finally:
        await db.close()
