-- Published compliance statements: one month's figures for one agency
-- scope (agency '' is the whole of government), written once. A
-- correction is a new row with the next revision, naming the row it
-- supersedes; the triggers refuse every change to a row once written.
-- canonical is the text the hash is taken over (package statements).
CREATE TABLE statements (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    month            TEXT NOT NULL,
    agency           TEXT NOT NULL,
    revision         INTEGER NOT NULL,
    supersedes_id    INTEGER REFERENCES statements(id),
    changes          TEXT NOT NULL,
    generated_at     DATETIME NOT NULL,
    calendar_version TEXT NOT NULL,
    figures          TEXT NOT NULL,
    canonical        TEXT NOT NULL,
    hash             TEXT NOT NULL,
    UNIQUE (month, agency, revision)
);
CREATE INDEX statements_agency ON statements(agency, month);

CREATE TRIGGER statements_no_update BEFORE UPDATE ON statements
BEGIN
    SELECT RAISE(ABORT, 'statements are written once');
END;

CREATE TRIGGER statements_no_delete BEFORE DELETE ON statements
BEGIN
    SELECT RAISE(ABORT, 'statements are written once');
END;
