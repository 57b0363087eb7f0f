-- The khural's confirmation of a bag's list (БАТЛАХ), as the minutes state it (issue 13):
-- the attendance the governor gave against the quorum Sanal computed at that moment (and
-- the registered citizens it was computed from), the meeting time it was checked against,
-- and whether the governor confirmed explicitly below the quorum or before the meeting
-- date. The decision number (Тогтоол №) is given here once and never changes.
-- Rounds confirmed before this version have no row: their minutes compute the number the
-- same way and the quorum from the count frozen at the close.
CREATE TABLE khural_confirmations (
    round_id       BIGINT PRIMARY KEY REFERENCES rounds(id),
    decision       TEXT NOT NULL UNIQUE,     -- <planning year>/<bag code>-<nn>
    attendance     BIGINT NOT NULL CHECK (attendance >= 0),
    quorum         BIGINT NOT NULL CHECK (quorum >= 0),
    registered     BIGINT NOT NULL CHECK (registered >= 0),
    meeting_at     TEXT,                     -- the meeting's start (UTC), if one was set
    below_quorum   BIGINT NOT NULL CHECK (below_quorum IN (0, 1)),
    before_meeting BIGINT NOT NULL CHECK (before_meeting IN (0, 1)),
    confirmed_at   TEXT NOT NULL,
    confirmed_by   BIGINT REFERENCES people(id)
);
