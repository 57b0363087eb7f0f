-- The scheduler's memory of reminders sent out to a whole bag. The deadlines themselves
-- stay where they are (rounds, khural_meetings); each message's own once-only guard is the
-- outbox's unique dedupe_key. A fan-out row says "this reminder went out to this bag", so
-- the sweep does not walk the bag's citizens again every 30 seconds, and it says until when
-- its messages are worth sending: queued ones are cancelled once the meeting has started,
-- voting has closed, or the meeting was moved.
CREATE TABLE reminder_fanouts (
    key         TEXT PRIMARY KEY,            -- meeting:<id>:v<version>:<offset> | vote:<round id>
    kind        TEXT NOT NULL CHECK (kind IN ('meeting', 'vote')),
    round_id    BIGINT NOT NULL REFERENCES rounds(id),
    meeting_id  BIGINT REFERENCES khural_meetings(id),
    version     BIGINT,                     -- the meeting's version (bumped by a new time)
    prefix      TEXT NOT NULL,               -- dedupe-key prefix of its outbox rows
    due_at      TEXT NOT NULL,               -- when it was due (before quiet hours)
    expires_at  TEXT NOT NULL,               -- the meeting's start, or the vote close
    queued      BIGINT NOT NULL,            -- messages queued
    at          TEXT NOT NULL,               -- when it went out
    expired_at  TEXT                         -- when its unsent rows were cancelled
);
CREATE INDEX reminder_fanouts_live ON reminder_fanouts(expired_at, expires_at);
