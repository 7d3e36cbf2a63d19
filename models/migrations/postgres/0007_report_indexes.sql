-- Indexes shaped for the compliance report, each holding only the requests
-- its query reads: the finished ones (which never change again, so these
-- cost nothing on the transitions of open requests), and the ones that
-- missed or may still miss their due instant. The report names them, and a
-- query-plan test checks that they serve it.
DROP INDEX requests_finished;
DROP INDEX requests_due;
-- Totals, time in state and percentiles of a window, by month, for an agency.
CREATE INDEX requests_finished ON requests(closed_at, owner_agency, requesting_agency, sla_due_at, sla_elapsed, days_submitted, days_clarification_requested, days_approved)
    WHERE state IN ('fulfilled', 'rejected');
-- Met per owner or requesting agency, read agency by agency in key order.
CREATE INDEX requests_finished_owner ON requests(owner_agency, closed_at, sla_due_at, requesting_agency)
    WHERE state IN ('fulfilled', 'rejected');
CREATE INDEX requests_finished_requesting ON requests(requesting_agency, closed_at, sla_due_at, owner_agency)
    WHERE state IN ('fulfilled', 'rejected');
-- Missed at the due instant: still open, or closed after it.
CREATE INDEX requests_due ON requests(sla_due_at, owner_agency, requesting_agency)
    WHERE (closed_at IS NULL) OR (closed_at > sla_due_at);
-- Open now, at risk and breached.
CREATE INDEX requests_open ON requests(owner_agency, requesting_agency, sla_due_at, sla_warn_at)
    WHERE state IN ('submitted', 'clarification_requested', 'approved');
