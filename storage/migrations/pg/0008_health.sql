-- One row that /healthz rewrites: proof that the database takes a write (a full disk, a
-- read-only file or a damaged page answer 503, not "ok"). No personal data.
CREATE TABLE health (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    checked_at TEXT NOT NULL
);
