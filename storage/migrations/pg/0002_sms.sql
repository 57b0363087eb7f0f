-- Delivery receipts that arrive before we have recorded the provider's id for the message
-- (a fast provider can call back before our "sent" write): kept here and applied then.
CREATE TABLE provider_receipts (
    channel     TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    error       TEXT,
    at          TEXT NOT NULL,
    PRIMARY KEY (channel, provider_id)
);
