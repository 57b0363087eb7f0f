-- Each person's accounts on chat channels, one row per identity (issue 15): a Telegram
-- account today, another chat channel's tomorrow, without a column on people for each.
-- A person's phone stays on people: it is who they are for SMS. Nothing links this table
-- to ballots, which are filed under an HMAC voter key (migration 0007).
CREATE TABLE identities (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES people(id),
    kind       TEXT NOT NULL,               -- the channel's identity kind: 'telegram'
    address    TEXT NOT NULL,               -- the account on it: a Telegram user id
    blocked    INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),  -- it blocked the bot
    created_at TEXT NOT NULL,
    UNIQUE (kind, address),
    UNIQUE (person_id, kind)                -- one account of a kind per person, as before
);

INSERT INTO identities (person_id, kind, address, blocked, created_at)
    SELECT id, 'telegram', CAST(telegram_id AS TEXT), telegram_blocked, created_at
    FROM people WHERE telegram_id IS NOT NULL ORDER BY id;

-- SQLite cannot drop a UNIQUE column: emptied, the old columns are never read or written
-- again, so they cannot disagree with the table above.
UPDATE people SET telegram_id = NULL, telegram_blocked = 0;
