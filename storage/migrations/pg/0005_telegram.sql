-- Telegram: the parts of a long message (over 4,096 characters) and the documents of one
-- outbox row that Telegram has accepted. A retry after a failure part-way sends only the
-- parts not listed here, so nobody gets the first half of a message twice.
CREATE TABLE telegram_parts (
    outbox_id  BIGINT NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    part       BIGINT NOT NULL,             -- 0, 1, ... text parts, then documents
    message_id BIGINT NOT NULL,             -- Telegram's message id
    sent_at    TEXT NOT NULL,
    PRIMARY KEY (outbox_id, part)
);
