-- Sanal core schema. Times are UTC ISO-8601 strings with offset (e.g. 2027-03-01T02:00:00+00:00).

CREATE TABLE units (
    code        TEXT PRIMARY KEY,            -- national code: aimag 2, soum 4, bag 6 digits
    level       TEXT NOT NULL CHECK (level IN ('aimag', 'soum', 'bag')),
    name        TEXT NOT NULL,               -- canonical Cyrillic name
    parent_code TEXT REFERENCES units(code),
    tz          TEXT NOT NULL,               -- IANA zone: Asia/Ulaanbaatar or Asia/Hovd
    -- Bag policy: 'open' registration, or 'approval' by the bag governor.
    registration TEXT NOT NULL DEFAULT 'open' CHECK (registration IN ('open', 'approval'))
);
CREATE INDEX units_parent ON units(parent_code);

CREATE TABLE people (
    id           INTEGER PRIMARY KEY,
    phone        TEXT UNIQUE,                -- E.164
    telegram_id  INTEGER UNIQUE,
    name         TEXT,
    bag_code     TEXT REFERENCES units(code),
    lang         TEXT NOT NULL DEFAULT 'mn' CHECK (lang IN ('mn', 'mn_latn', 'en')),
    status       TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'pending', 'approved')),
    opted_out    INTEGER NOT NULL DEFAULT 0, -- STOP: no reminders or broadcasts
    telegram_blocked INTEGER NOT NULL DEFAULT 0,
    channel      TEXT,                       -- the channel they last wrote from
    created_at   TEXT NOT NULL,
    joined_at    TEXT
);
CREATE INDEX people_bag ON people(bag_code, status);

CREATE TABLE roles (
    person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('governor', 'chair', 'soum', 'operator')),
    unit_code  TEXT NOT NULL REFERENCES units(code),
    created_at TEXT NOT NULL,
    PRIMARY KEY (person_id, role, unit_code)
);
CREATE INDEX roles_unit ON roles(unit_code, role);

CREATE TABLE rounds (
    id            INTEGER PRIMARY KEY,
    bag_code      TEXT NOT NULL REFERENCES units(code),
    year          INTEGER NOT NULL,          -- planning year
    status        TEXT NOT NULL CHECK (status IN
                    ('draft', 'collecting', 'voting', 'closed', 'confirmed', 'submitted')),
    max_choices   INTEGER NOT NULL DEFAULT 3 CHECK (max_choices >= 1),
    allow_change  INTEGER NOT NULL DEFAULT 1,
    opens_at      TEXT,
    collect_until TEXT,
    vote_until    TEXT,
    created_at    TEXT NOT NULL,
    collecting_at TEXT,
    voting_at     TEXT,
    closed_at     TEXT,
    confirmed_at  TEXT,
    submitted_at  TEXT,
    attendance    INTEGER,                   -- khural attendance recorded at confirmation
    UNIQUE (bag_code, year)
);
CREATE INDEX rounds_status ON rounds(status);

CREATE TABLE proposals (
    id            INTEGER PRIMARY KEY,
    round_id      INTEGER NOT NULL REFERENCES rounds(id),
    number        INTEGER NOT NULL,          -- what citizens type: 1, 2, 3 within the round
    person_id     INTEGER REFERENCES people(id),
    text          TEXT NOT NULL,
    beneficiaries INTEGER,
    cost_mnt      INTEGER,
    status        TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'accepted', 'rejected', 'merged')),
    merged_into   INTEGER REFERENCES proposals(id),
    flag          TEXT,                      -- why the LDF may not fund it (Budget Law 60.3)
    reason        TEXT,                      -- governor's reason for a rejection
    created_at    TEXT NOT NULL,
    UNIQUE (round_id, number)
);

-- Proposers and supporters of a proposal (a merge moves them to the proposal kept).
CREATE TABLE proposal_people (
    proposal_id INTEGER NOT NULL REFERENCES proposals(id),
    person_id   INTEGER NOT NULL REFERENCES people(id),
    PRIMARY KEY (proposal_id, person_id)
) WITHOUT ROWID;

-- Ballot secrecy: who voted (participation) and what was chosen (ballot_choices) are kept
-- apart. A ballot is keyed by an HMAC of the voter and round under a key that is not in the
-- database, and both tables are WITHOUT ROWID so that insertion order links nothing.
CREATE TABLE participation (
    round_id  INTEGER NOT NULL REFERENCES rounds(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    channel   TEXT NOT NULL,                 -- channel of the first ballot
    PRIMARY KEY (round_id, person_id)
) WITHOUT ROWID;

CREATE TABLE ballot_choices (
    round_id    INTEGER NOT NULL REFERENCES rounds(id),
    voter_key   TEXT NOT NULL,
    proposal_id INTEGER NOT NULL REFERENCES proposals(id),
    PRIMARY KEY (round_id, voter_key, proposal_id)
) WITHOUT ROWID;

CREATE TABLE khural_meetings (
    id          INTEGER PRIMARY KEY,
    round_id    INTEGER NOT NULL REFERENCES rounds(id),
    starts_at   TEXT NOT NULL,
    place       TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,  -- bumped when the time changes
    cancelled   INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
CREATE INDEX khural_meetings_round ON khural_meetings(round_id);

CREATE TABLE rsvps (
    meeting_id INTEGER NOT NULL REFERENCES khural_meetings(id),
    person_id  INTEGER NOT NULL REFERENCES people(id),
    at         TEXT NOT NULL,
    PRIMARY KEY (meeting_id, person_id)
) WITHOUT ROWID;

CREATE TABLE inbox (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL,
    external_id TEXT NOT NULL,
    address     TEXT NOT NULL,
    phone       TEXT,
    telegram_id INTEGER,
    text        TEXT NOT NULL,
    extra       TEXT NOT NULL DEFAULT '{}',  -- JSON
    received_at TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'handled', 'failed')),
    intent      TEXT,
    handled_at  TEXT,
    UNIQUE (channel, external_id)
);
CREATE INDEX inbox_pending ON inbox(status, id);
CREATE INDEX inbox_address ON inbox(address, id);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    dedupe_key      TEXT NOT NULL UNIQUE,    -- reply:<inbox id>, remind:<...>, ...
    channel         TEXT NOT NULL,
    address         TEXT NOT NULL,
    person_id       INTEGER REFERENCES people(id),
    inbox_id        INTEGER REFERENCES inbox(id),
    kind            TEXT NOT NULL DEFAULT 'reply', -- reply | notice | reminder | result
    text            TEXT NOT NULL,
    extra           TEXT NOT NULL DEFAULT '{}',    -- JSON: buttons, contact request, document
    status          TEXT NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed',
                                        'undelivered', 'cancelled')),
    error_count     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TEXT NOT NULL,
    provider_id     TEXT,
    segments        INTEGER,
    round_id        INTEGER REFERENCES rounds(id),
    bag_code        TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox(status, channel, next_attempt_at);
CREATE INDEX outbox_address ON outbox(address, id);
CREATE INDEX outbox_provider ON outbox(channel, provider_id);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor_id  INTEGER,                       -- person, NULL for the CLI or the scheduler
    actor     TEXT NOT NULL,                 -- e.g. tel:+976..., cli, scheduler
    action    TEXT NOT NULL,
    unit_code TEXT,
    round_id  INTEGER,
    detail    TEXT NOT NULL DEFAULT '{}'     -- JSON; never a voter's choices
);

-- Append-only: the database itself refuses to change history.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE settings_kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
