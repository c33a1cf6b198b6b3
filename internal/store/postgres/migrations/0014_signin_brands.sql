-- Brands at sign-in (issue 9): a session and a remembered consent carry
-- the brand of the user they belong to, as users and clients do, so that
-- per-brand user pools can come later without reworking these tables.
-- Rows from before are the default brand, the only one there is.
ALTER TABLE sessions ADD COLUMN brand_id text NOT NULL DEFAULT 'default';
ALTER TABLE consents ADD COLUMN brand_id text NOT NULL DEFAULT 'default';
-- Disabling or deleting a user ends their sessions at once: found by user.
CREATE INDEX sessions_user ON sessions (user_id) WHERE user_id <> '';
