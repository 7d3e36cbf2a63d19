-- Indexes shaped for the compliance report, each holding only the requests
-- its query reads: the finished ones (which never change again, so these
-- cost nothing on the transitions of open requests), and the ones that
-- missed or may still miss their due instant. The report names them, and a
-- query-plan test checks that they serve it. Each also holds the columns of
-- its partial condition (state, closed_at), without which SQLite would read
-- the table to check a condition the index already guarantees.
DROP INDEX requests_finished;
DROP INDEX requests_due;
-- Every figure of the finished requests of a window: the report walks the
-- pairs of owner and requesting agencies in key order and reads each pair's
-- range of closing instants, so that grouping by either agency, or by
-- month, sorts nothing.
CREATE INDEX requests_finished ON requests(owner_agency, requesting_agency, closed_at, sla_due_at, sla_elapsed, days_submitted, days_clarification_requested, days_approved, state)
    WHERE state IN ('fulfilled', 'rejected');
-- Missed at the due instant: still open, or closed after it.
CREATE INDEX requests_due ON requests(sla_due_at, closed_at, owner_agency, requesting_agency)
    WHERE (closed_at IS NULL) OR (closed_at > sla_due_at);
-- Open now, at risk and breached.
CREATE INDEX requests_open ON requests(owner_agency, requesting_agency, sla_due_at, sla_warn_at, state)
    WHERE state IN ('submitted', 'clarification_requested', 'approved');
