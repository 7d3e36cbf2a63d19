-- Why a sign-in was refused, for the refusals that have more than one
-- cause (single sign-on: an unknown email, a wrong state, an expired
-- token, ...); empty for the others.
ALTER TABLE sign_in_events ADD COLUMN reason TEXT NOT NULL DEFAULT '';
