-- Turnout is frozen at the close (issue 12): the bag's approved citizens counted when
-- voting closed, so the results SMS, ДҮН, the minutes and the chart agree however many
-- join later. NULL while a round is open.
ALTER TABLE rounds ADD COLUMN registered_at_close BIGINT;
-- Rounds closed before this version: the best figure left is today's count, frozen now
-- so that it no longer moves.
UPDATE rounds
   SET registered_at_close = (
       SELECT count(*) FROM people
        WHERE people.bag_code = rounds.bag_code AND people.status = 'approved')
 WHERE status IN ('closed', 'confirmed', 'submitted');
