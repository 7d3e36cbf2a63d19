CREATE TABLE agencies (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at DATETIME NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    agency_code   TEXT NOT NULL REFERENCES agencies(code),
    roles         TEXT NOT NULL,
    password_hash TEXT,
    created_at    DATETIME NOT NULL
);
CREATE INDEX users_agency ON users(agency_code);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at DATETIME NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE requests (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    title              TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    data_description   TEXT NOT NULL,
    classification     TEXT NOT NULL,
    legal_basis        TEXT,
    project            TEXT,
    requesting_agency  TEXT NOT NULL REFERENCES agencies(code),
    owner_agency       TEXT NOT NULL REFERENCES agencies(code),
    requester_id       INTEGER NOT NULL REFERENCES users(id),
    state              TEXT NOT NULL,
    approvals_required INTEGER NOT NULL,
    version            INTEGER NOT NULL,
    created_at         DATETIME NOT NULL,
    updated_at         DATETIME NOT NULL,
    submitted_at       DATETIME,
    closed_at          DATETIME,
    CHECK (owner_agency <> requesting_agency)
);
CREATE INDEX requests_requesting ON requests(requesting_agency, id);
CREATE INDEX requests_owner ON requests(owner_agency, id);
CREATE INDEX requests_state ON requests(state, id);

CREATE TABLE approvals (
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    approver_id INTEGER NOT NULL REFERENCES users(id),
    at          DATETIME NOT NULL,
    PRIMARY KEY (request_id, approver_id)
);

CREATE TABLE transitions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES requests(id),
    action     TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    actor_id   INTEGER REFERENCES users(id),
    at         DATETIME NOT NULL,
    comment    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX transitions_request ON transitions(request_id, id);

CREATE TRIGGER transitions_no_update BEFORE UPDATE ON transitions
BEGIN
    SELECT RAISE(ABORT, 'transitions are append-only');
END;

CREATE TRIGGER transitions_no_delete BEFORE DELETE ON transitions
BEGIN
    SELECT RAISE(ABORT, 'transitions are append-only');
END;

CREATE TABLE idempotency_keys (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        BLOB NOT NULL,
    created_at  DATETIME NOT NULL,
    PRIMARY KEY (user_id, key)
);
