CREATE TABLE agencies (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    agency_code   TEXT NOT NULL REFERENCES agencies(code),
    roles         TEXT NOT NULL,
    password_hash TEXT,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_agency ON users(agency_code);

CREATE TABLE api_tokens (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE requests (
    id                 BIGSERIAL PRIMARY KEY,
    title              TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    data_description   TEXT NOT NULL,
    classification     TEXT NOT NULL,
    legal_basis        TEXT,
    project            TEXT,
    requesting_agency  TEXT NOT NULL REFERENCES agencies(code),
    owner_agency       TEXT NOT NULL REFERENCES agencies(code),
    requester_id       BIGINT NOT NULL REFERENCES users(id),
    state              TEXT NOT NULL,
    approvals_required INTEGER NOT NULL,
    version            INTEGER NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    submitted_at       TIMESTAMPTZ,
    closed_at          TIMESTAMPTZ,
    CHECK (owner_agency <> requesting_agency)
);
CREATE INDEX requests_requesting ON requests(requesting_agency, id);
CREATE INDEX requests_owner ON requests(owner_agency, id);
CREATE INDEX requests_state ON requests(state, id);

CREATE TABLE approvals (
    request_id  BIGINT NOT NULL REFERENCES requests(id),
    approver_id BIGINT NOT NULL REFERENCES users(id),
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_id, approver_id)
);

CREATE TABLE transitions (
    id         BIGSERIAL PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES requests(id),
    action     TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    actor_id   BIGINT REFERENCES users(id),
    at         TIMESTAMPTZ NOT NULL,
    comment    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX transitions_request ON transitions(request_id, id);

CREATE FUNCTION transitions_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'transitions are append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER transitions_no_change BEFORE UPDATE OR DELETE ON transitions
    FOR EACH ROW EXECUTE FUNCTION transitions_append_only();

CREATE TABLE idempotency_keys (
    user_id     BIGINT NOT NULL REFERENCES users(id),
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, key)
);
