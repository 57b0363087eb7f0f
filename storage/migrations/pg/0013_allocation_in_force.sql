-- The rule in force is one fact (issue 13): when the soum list, the scores, the weights or
-- the ceiling change while a rule is in force, the allocation is recomputed under that rule
-- and recorded as a new run. Each run keeps a fingerprint of the inputs it was computed
-- from (a SHA-256 of the ceiling, criteria, list, scores and ballots: handlers.soum_plan),
-- so a report can tell when what it reads no longer matches the run, and why it was run.
-- Runs recorded before this version have no fingerprint (NULL): the next change, or the
-- next ХУВААРИЛАХ, records one.
ALTER TABLE soum_allocations ADD COLUMN inputs TEXT;
ALTER TABLE soum_allocations ADD COLUMN cause TEXT;  -- view | chosen | list | scores | weights | ceiling
