-- Three allocation rules (issue 13): 'mes' is now the Method of Equal Shares as cities run
-- it (Add1 completion, then greedy); the plain variant (MES completed by greedy at once) is
-- 'mes_plain'. Every run recorded before this version computed the plain variant, so its
-- rows are renamed to what they are. SQLite cannot change a CHECK in place: the tables are
-- rebuilt (renaming first keeps the foreign key from the items pointing at the runs).
ALTER TABLE soum_allocations RENAME TO soum_allocations_0004;
ALTER TABLE soum_allocation_items RENAME TO soum_allocation_items_0004;
DROP INDEX soum_allocations_soum;

CREATE TABLE soum_allocations (
    id          INTEGER PRIMARY KEY,
    soum_code   TEXT NOT NULL REFERENCES units(code),
    year        INTEGER NOT NULL,
    ceiling_mnt INTEGER NOT NULL,
    run_at      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    actor_id    INTEGER REFERENCES people(id),
    chosen_rule TEXT CHECK (chosen_rule IN ('greedy', 'mes', 'mes_plain')),
    chosen_at   TEXT
);
INSERT INTO soum_allocations
SELECT id, soum_code, year, ceiling_mnt, run_at, actor, actor_id,
       CASE chosen_rule WHEN 'mes' THEN 'mes_plain' ELSE chosen_rule END, chosen_at
  FROM soum_allocations_0004;
CREATE INDEX soum_allocations_soum ON soum_allocations(soum_code, year, id);

CREATE TABLE soum_allocation_items (
    allocation_id INTEGER NOT NULL REFERENCES soum_allocations(id),
    rule          TEXT NOT NULL CHECK (rule IN ('greedy', 'mes', 'mes_plain')),
    proposal_id   INTEGER NOT NULL REFERENCES proposals(id),
    position      INTEGER NOT NULL,          -- order in which the rule considered it
    funded        INTEGER NOT NULL,
    reason        TEXT NOT NULL,             -- handlers.allocation.Reason, or not_scored/no_cost
    money_left    TEXT,                      -- exact MNT left at its turn (a decimal)
    score         TEXT,                      -- combined score 0-100 (greedy), a decimal
    PRIMARY KEY (allocation_id, rule, proposal_id)
) WITHOUT ROWID;
INSERT INTO soum_allocation_items
SELECT allocation_id, CASE rule WHEN 'mes' THEN 'mes_plain' ELSE rule END, proposal_id,
       position, funded, reason, money_left, score
  FROM soum_allocation_items_0004;

DROP TABLE soum_allocation_items_0004;
DROP TABLE soum_allocations_0004;
