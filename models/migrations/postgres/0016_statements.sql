-- Published compliance statements: one month's figures for one agency
-- scope (agency '' is the whole of government), written once. A
-- correction is a new row with the next revision, naming the row it
-- supersedes; the trigger refuses every change to a row once written.
-- canonical is the text the hash is taken over (package statements).
CREATE TABLE statements (
    id               BIGSERIAL PRIMARY KEY,
    month            TEXT NOT NULL,
    agency           TEXT NOT NULL,
    revision         INTEGER NOT NULL,
    supersedes_id    BIGINT REFERENCES statements(id),
    changes          TEXT NOT NULL,
    generated_at     TIMESTAMPTZ NOT NULL,
    calendar_version TEXT NOT NULL,
    figures          TEXT NOT NULL,
    canonical        TEXT NOT NULL,
    hash             TEXT NOT NULL,
    UNIQUE (month, agency, revision)
);
CREATE INDEX statements_agency ON statements(agency, month);

CREATE FUNCTION statements_written_once() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'statements are written once';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER statements_no_change BEFORE UPDATE OR DELETE ON statements
    FOR EACH ROW EXECUTE FUNCTION statements_written_once();
