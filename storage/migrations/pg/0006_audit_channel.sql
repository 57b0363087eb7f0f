-- The channel every audited action came through: sim (the training simulator), twilio,
-- android, telegram, cli or scheduler. Rows written before this migration keep NULL: the
-- log is append-only (its triggers refuse UPDATE), so history is never rewritten.
ALTER TABLE audit_log ADD COLUMN channel TEXT;
CREATE INDEX audit_log_channel ON audit_log(channel, id);
