-- The settings a deployment's figures depend on (the working calendar's
-- zone and hours, the SLA target and warning, the approvals per
-- classification), as the service last started with them, so that a
-- command run beside it on the same database (report, sla check, import)
-- refuses to count with others. name is the setting's environment variable.
CREATE TABLE deployment_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
