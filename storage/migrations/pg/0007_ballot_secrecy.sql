-- Ballot secrecy in the message tables (handlers/secrecy.py), PostgreSQL's version.
--
-- A reply that carries a ballot (a vote's confirmation, the answer to МИНИЙ, a Telegram
-- ballot keyboard with its ticks) is queued with "ballot": 1 in its extra. The sender
-- needs its text until it is sent; once the row is done with (sent, delivered, failed,
-- undelivered, cancelled) its text and extra are blanked here, by the database, whichever
-- code marks it so.
--
-- SQLite's version also seals the messages older versions kept. No PostgreSQL database
-- predates this migration (PostgreSQL came in issue 16), so only the trigger is here.

-- SQLite's json_extract for the paths storage uses ('$.key', '$.a.b'), as text; NULL
-- when the document is not JSON (where SQLite's would fail, hence its json_valid guard).
CREATE FUNCTION json_extract(doc TEXT, path TEXT) RETURNS TEXT
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN doc::jsonb #>> string_to_array(substr(path, 3), '.');
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

CREATE FUNCTION outbox_seal_ballot() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE outbox SET text = '🔒', extra = '{"ballot":1,"sealed":"1"}' WHERE id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_seal_ballot AFTER UPDATE OF status ON outbox
FOR EACH ROW
WHEN (NEW.status NOT IN ('queued', 'sending')
      AND json_extract(NEW.extra, '$.ballot') = '1'
      AND NEW.text <> '🔒')
EXECUTE FUNCTION outbox_seal_ballot();
