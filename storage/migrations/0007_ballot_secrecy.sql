-- Ballot secrecy in the message tables (handlers/secrecy.py).
--
-- A reply that carries a ballot (a vote's confirmation, the answer to МИНИЙ, a Telegram
-- ballot keyboard with its ticks) is queued with "ballot": 1 in its extra. The sender
-- needs its text until it is sent; once the row is done with (sent, delivered, failed,
-- undelivered, cancelled) its text and extra are blanked here, by the database, whichever
-- code marks it so.
CREATE TRIGGER outbox_seal_ballot AFTER UPDATE OF status ON outbox
WHEN NEW.status NOT IN ('queued', 'sending')
 AND (CASE WHEN json_valid(NEW.extra) THEN json_extract(NEW.extra, '$.ballot') END) = 1
 AND NEW.text != '🔒'
BEGIN
    UPDATE outbox SET text = '🔒', extra = '{"ballot":1,"sealed":"1"}' WHERE id = NEW.id;
END;

-- What older versions kept: votes, МИНИЙ and Telegram ballot presses already handled,
-- and their replies. Replies still waiting to be sent are flagged, to be sealed once sent.
CREATE TEMP TABLE ballot_messages AS
SELECT id FROM inbox
 WHERE status != 'pending'
   AND (intent IN ('vote', 'my')
        OR ltrim(text) LIKE 'tg:b:%' OR ltrim(text) LIKE 'tg:v:%' OR ltrim(text) LIKE 'tg:s:%');

UPDATE outbox SET extra = json_set(CASE WHEN json_valid(extra) THEN extra ELSE '{}' END,
                                   '$.ballot', 1)
 WHERE inbox_id IN (SELECT id FROM ballot_messages) AND status IN ('queued', 'sending');

UPDATE outbox SET text = '🔒', extra = '{"ballot":1,"sealed":"1"}'
 WHERE inbox_id IN (SELECT id FROM ballot_messages) AND status NOT IN ('queued', 'sending');

UPDATE inbox SET text = '🔒',
       extra = json_object('sealed', '1',
                           'callback', json_extract(extra, '$.callback'),
                           'callback_message_id', json_extract(extra, '$.callback_message_id'))
 WHERE id IN (SELECT id FROM ballot_messages);

-- An Android message's key was a plain sha256 of phone, text and the phone's time: a vote
-- could be found again by trying the few texts a vote can be. New keys are keyed (HMAC);
-- the old ones of sealed rows go (the gateway's retries of them ended long ago).
UPDATE inbox SET external_id = 'and-sealed-' || id
 WHERE channel = 'android' AND id IN (SELECT id FROM ballot_messages);

DROP TABLE ballot_messages;
