-- A cross-agency project, run by its lead agency, which adds the partner
-- agencies whose requests may join it. Its clock is computed from its
-- requests' histories (package projects), so nothing of it is stored here.
CREATE TABLE projects (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    lead_agency TEXT NOT NULL REFERENCES agencies(code),
    description TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'closed')),
    created_at  DATETIME NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES users(id)
);
CREATE INDEX projects_lead ON projects(lead_agency, code);

CREATE TABLE project_partners (
    project_code TEXT NOT NULL REFERENCES projects(code),
    agency       TEXT NOT NULL REFERENCES agencies(code),
    PRIMARY KEY (project_code, agency)
);
CREATE INDEX project_partners_agency ON project_partners(agency, project_code);

-- The project a request belongs to. The free-text project of earlier
-- versions stays as it was, readable beside it: a free text names no lead
-- agency, so no project is made from it.
ALTER TABLE requests ADD COLUMN project_code TEXT REFERENCES projects(code);
CREATE INDEX requests_project ON requests(project_code, id) WHERE project_code IS NOT NULL;
