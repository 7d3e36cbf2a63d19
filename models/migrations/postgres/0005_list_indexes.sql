-- A list page is read as one ordered branch per way a user sees requests
-- (as the requesting agency; as the owner agency once submitted), each an
-- index range scan in the page's order, so no page sorts every visible row.
-- The owner's indexes hold only submitted requests: drafts are private to
-- the requesting agency.
DROP INDEX requests_owner;
CREATE INDEX requests_owner_submitted ON requests(owner_agency, id) WHERE submitted_at IS NOT NULL;
CREATE INDEX requests_owner_due ON requests(owner_agency, sla_due_at, id) WHERE submitted_at IS NOT NULL;
CREATE INDEX requests_requesting_due ON requests(requesting_agency, sla_due_at, id);
-- An admin's list sorted by due date.
CREATE INDEX requests_due_order ON requests(sla_due_at, id);
