-- Who is waiting: urgent = 1 on a message someone expects right now (the answer to what
--   they just wrote, and what handling it told others), 0 on what the scheduler and
--   broadcasts fan out (reminders, notices, results). Senders claim urgent rows first: a
--   reply queued after a fan-out of 300,000 reminders does not wait for all of them.
--   Set at insert (storage/outbox.py), never changed.
ALTER TABLE outbox ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET urgent = 1
 WHERE status IN ('queued', 'sending') AND (kind = 'reply' OR dedupe_key LIKE 'notice:%');
-- The claim reads one channel's unsent rows of one kind of urgency in the order they are
-- due, and stops at its batch: this index has them in that order (no sort of a queue of
-- 300,000), and only unsent rows (the sent ones, the table's bulk, are not in it).
CREATE INDEX outbox_claim ON outbox(channel, urgent, next_attempt_at, id)
 WHERE status IN ('queued', 'sending');
-- A fan-out is cancelled by the prefix of its keys (storage/outbox.cancel), a thousand rows
-- a transaction: the queued rows by key, so that each batch reads only what it cancels
-- (the rows it cancelled before have left this index).
CREATE INDEX outbox_queued_key ON outbox(dedupe_key) WHERE status = 'queued';
