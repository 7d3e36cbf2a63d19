-- The open requests of an agency, apart from the finished ones that soon
-- outnumber them: an approver's inbox (soonest due first), a requester's
-- open requests, and the lists filtered to an open SLA status (on track,
-- at risk, breached) read only these instead of walking past every
-- finished request. A request leaves them when it closes (closed_at is set
-- exactly when it enters a final state), and the queries say closed_at IS
-- NULL so that the planner may use them.
CREATE INDEX requests_owner_open_due ON requests(owner_agency, sla_due_at, id) WHERE submitted_at IS NOT NULL AND closed_at IS NULL;
CREATE INDEX requests_owner_open ON requests(owner_agency, id) WHERE submitted_at IS NOT NULL AND closed_at IS NULL;
CREATE INDEX requests_requesting_open ON requests(requesting_agency, id) WHERE closed_at IS NULL;
