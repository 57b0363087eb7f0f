-- The soum LDF working group: the ceiling, criteria and weights, the combined list of the
-- bags' confirmed proposals, members' scores, and allocation runs with the rule chosen.

-- The soum's LDF ceiling for a planning year (MNT).
CREATE TABLE soum_ceilings (
    soum_code  TEXT NOT NULL REFERENCES units(code),
    year       INTEGER NOT NULL,
    amount_mnt INTEGER NOT NULL CHECK (amount_mnt >= 0),
    set_by     INTEGER REFERENCES people(id),
    set_at     TEXT NOT NULL,
    PRIMARY KEY (soum_code, year)
);

-- Criteria and their weights (whole numbers, relative). No rows: the documented defaults.
-- source 'member': scored 1-5 by each member, in `position` order ("SCORE 12 4 5");
-- 'beneficiaries': the proposal's households; 'votes': its share of its bag's voters.
CREATE TABLE soum_criteria (
    soum_code TEXT NOT NULL REFERENCES units(code),
    year      INTEGER NOT NULL,
    criterion TEXT NOT NULL,
    source    TEXT NOT NULL CHECK (source IN ('member', 'beneficiaries', 'votes')),
    position  INTEGER NOT NULL,
    weight    INTEGER NOT NULL CHECK (weight >= 0),
    PRIMARY KEY (soum_code, year, criterion)
);

-- A bag's confirmed list, submitted to the soum: one line per proposal, numbered within
-- the soum and year so that members can type it.
CREATE TABLE soum_list (
    soum_code    TEXT NOT NULL REFERENCES units(code),
    year         INTEGER NOT NULL,
    number       INTEGER NOT NULL,
    proposal_id  INTEGER NOT NULL UNIQUE REFERENCES proposals(id),
    round_id     INTEGER NOT NULL REFERENCES rounds(id),
    bag_rank     INTEGER NOT NULL,
    votes        INTEGER NOT NULL,
    voters       INTEGER NOT NULL,           -- ballots cast in the bag's round
    submitted_at TEXT NOT NULL,
    PRIMARY KEY (soum_code, year, number)
);
CREATE INDEX soum_list_round ON soum_list(round_id);

-- Each member's own scores are kept; the combined score is computed from them.
CREATE TABLE soum_scores (
    proposal_id INTEGER NOT NULL REFERENCES proposals(id),
    person_id   INTEGER NOT NULL REFERENCES people(id),
    criterion   TEXT NOT NULL,
    value       INTEGER NOT NULL CHECK (value BETWEEN 1 AND 5),
    via         TEXT NOT NULL DEFAULT 'message' CHECK (via IN ('message', 'xlsx')),
    at          TEXT NOT NULL,
    PRIMARY KEY (proposal_id, person_id, criterion)
) WITHOUT ROWID;

-- An allocation run: both rules computed side by side; the rule chosen, once chosen.
CREATE TABLE soum_allocations (
    id          INTEGER PRIMARY KEY,
    soum_code   TEXT NOT NULL REFERENCES units(code),
    year        INTEGER NOT NULL,
    ceiling_mnt INTEGER NOT NULL,
    run_at      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    actor_id    INTEGER REFERENCES people(id),
    chosen_rule TEXT CHECK (chosen_rule IN ('greedy', 'mes')),
    chosen_at   TEXT
);
CREATE INDEX soum_allocations_soum ON soum_allocations(soum_code, year, id);

CREATE TABLE soum_allocation_items (
    allocation_id INTEGER NOT NULL REFERENCES soum_allocations(id),
    rule          TEXT NOT NULL CHECK (rule IN ('greedy', 'mes')),
    proposal_id   INTEGER NOT NULL REFERENCES proposals(id),
    position      INTEGER NOT NULL,          -- order in which the rule considered it
    funded        INTEGER NOT NULL,
    reason        TEXT NOT NULL,             -- handlers.allocation.Reason, or not_scored/no_cost
    money_left    TEXT,                      -- exact MNT left at its turn (a decimal)
    score         TEXT,                      -- combined score 0-100 (greedy), a decimal
    PRIMARY KEY (allocation_id, rule, proposal_id)
) WITHOUT ROWID;
