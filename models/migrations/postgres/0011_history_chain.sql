-- Each history row carries a hash of its content and of the row before it
-- of the same request (models.HistoryHash), so that a row changed or
-- removed behind the append-only trigger breaks its request's chain. The
-- rows already stored are chained here, with the trigger lifted for the
-- length of this migration's transaction only.
ALTER TABLE transitions ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE transitions ADD COLUMN hash TEXT NOT NULL DEFAULT '';
ALTER TABLE transitions DISABLE TRIGGER transitions_no_change;
-- step: hash history
ALTER TABLE transitions ENABLE TRIGGER transitions_no_change;
