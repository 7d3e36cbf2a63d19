-- Indexes shaped for the report and the scheduled check: state first, so a
-- window of finished requests is a range scan; partial indexes holding only
-- the requests not yet flagged, so each check reads what it must flag.
DROP INDEX requests_finished;
CREATE INDEX requests_finished ON requests(state, closed_at, sla_due_at, sla_elapsed, owner_agency, requesting_agency, days_submitted, days_clarification_requested, days_approved);
DROP INDEX requests_warn;
CREATE INDEX requests_warn_unflagged ON requests(state, sla_warn_at) WHERE sla_at_risk_flagged_at IS NULL;
CREATE INDEX requests_due_unflagged ON requests(state, sla_due_at) WHERE sla_breached_flagged_at IS NULL;
