-- Who is sending an outbox row, and what a crash may have left undecided.
-- lease_owner: the sender (one per channel and process) that holds a 'sending' row's lease.
--   Each owner holds a lock file while it lives (storage/lease_owners.py): a row whose
--   owner is gone is taken back at once, not when its lease ends, and a live owner's rows
--   are never taken by another process.
-- attempts: sends started, each written down before the provider is called.
-- in_doubt: 1 when an earlier attempt may have reached the provider and nothing has ruled
--   it out since (a timeout, a crash mid-send): Twilio and the Android gateway are asked
--   before sending again; Telegram cannot be asked (see README, "Telegram").
-- check_failures: consecutive failed "do you have it already?" checks; a row is settled
--   after a few of them (bot/sender.py, CHECK_BACKOFF), not retried for hours.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN in_doubt BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN check_failures BIGINT NOT NULL DEFAULT 0;
-- Rows an older version left mid-send or after an error may have reached the provider.
UPDATE outbox SET in_doubt = 1, attempts = 1
 WHERE status = 'sending' OR (status = 'queued' AND error_count > 0);
-- /healthz asks how many messages wait on a failed check: a small partial index.
CREATE INDEX outbox_check_failing ON outbox(status) WHERE check_failures > 0;
