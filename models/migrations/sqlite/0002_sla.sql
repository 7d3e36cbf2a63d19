-- The SLA clock of each request, kept current on every transition so that
-- reports are indexed aggregates rather than replays of histories.
ALTER TABLE requests ADD COLUMN sla_target REAL;
ALTER TABLE requests ADD COLUMN sla_elapsed REAL NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN sla_running_since DATETIME;
ALTER TABLE requests ADD COLUMN sla_due_at DATETIME;
ALTER TABLE requests ADD COLUMN sla_warn_at DATETIME;
ALTER TABLE requests ADD COLUMN sla_at_risk_flagged_at DATETIME;
ALTER TABLE requests ADD COLUMN sla_breached_flagged_at DATETIME;
ALTER TABLE requests ADD COLUMN state_since DATETIME;
ALTER TABLE requests ADD COLUMN days_submitted REAL NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN days_clarification_requested REAL NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN days_approved REAL NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN external_ref TEXT;

CREATE UNIQUE INDEX requests_external_ref ON requests(external_ref);
CREATE INDEX requests_finished ON requests(closed_at, state, sla_due_at, sla_elapsed, owner_agency, requesting_agency, days_submitted, days_clarification_requested, days_approved);
CREATE INDEX requests_due ON requests(sla_due_at, closed_at, owner_agency, requesting_agency);
CREATE INDEX requests_warn ON requests(sla_warn_at);

CREATE TABLE holidays (
    date       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    source     TEXT NOT NULL,
    removed    BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at DATETIME NOT NULL
);
