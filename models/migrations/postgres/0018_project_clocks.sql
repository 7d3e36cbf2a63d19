-- A project's clock as its requests' last transition left it (package
-- projects recounts it in the transaction of every transition of one of its
-- requests, and after a change of the calendar), so that lists, the report
-- and the scheduled check read a row per project instead of every history.
-- The columns mirror a request's clock: sla_elapsed working days counted
-- before sla_running_since (unset while every open request is paused or
-- the project is closed); sla_due_at and sla_warn_at reached or projected,
-- unset while paused before them; sla_closed_at when every submitted
-- request had closed, sla_stopped_at the same once one of them was
-- fulfilled; sla_status the outcome once closed
-- (met, missed, partial, excluded), else not_started or open.
ALTER TABLE projects ADD COLUMN sla_status TEXT NOT NULL DEFAULT 'not_started';
ALTER TABLE projects ADD COLUMN sla_started_at TIMESTAMPTZ;
ALTER TABLE projects ADD COLUMN sla_closed_at TIMESTAMPTZ;
ALTER TABLE projects ADD COLUMN sla_stopped_at TIMESTAMPTZ;
ALTER TABLE projects ADD COLUMN sla_running_since TIMESTAMPTZ;
ALTER TABLE projects ADD COLUMN sla_elapsed DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN sla_due_at TIMESTAMPTZ;
ALTER TABLE projects ADD COLUMN sla_warn_at TIMESTAMPTZ;
-- The owner agency whose request closed last: the one the project waited
-- on at the end. sla_waiting_on lists, comma-separated, the owner agencies
-- of the requests still open.
ALTER TABLE projects ADD COLUMN sla_last_owner TEXT;
ALTER TABLE projects ADD COLUMN sla_waiting_on TEXT NOT NULL DEFAULT '';
-- Set when the scheduled check flagged the project, so each is flagged
-- once; sla_counted_at is when the row was last recounted, unset for a
-- project that existed before this migration until its first recount.
ALTER TABLE projects ADD COLUMN sla_at_risk_flagged_at TIMESTAMPTZ;
ALTER TABLE projects ADD COLUMN sla_breached_flagged_at TIMESTAMPTZ;
ALTER TABLE projects ADD COLUMN sla_counted_at TIMESTAMPTZ;
CREATE INDEX projects_closed ON projects(sla_closed_at) WHERE sla_closed_at IS NOT NULL;
CREATE INDEX projects_due ON projects(sla_due_at) WHERE sla_due_at IS NOT NULL;
