-- Users become accounts (issue 9): an optional email (an addr-spec, its
-- domain lower-cased), whether it is verified, whether the user may log
-- in, and a brand as clients have. Existing users are backfilled by the
-- defaults: no email, unverified, enabled, the default brand.
-- Users can now be deleted; a deleted user's id stays in subjects (no
-- trigger releases it), so its tokens' subject never names someone else.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1));
ALTER TABLE users ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1));
ALTER TABLE users ADD COLUMN brand_id TEXT NOT NULL DEFAULT 'default';
-- Deleting a user looks for clients still naming it as their bot.
CREATE INDEX IF NOT EXISTS clients_bot_user ON clients (bot_user_id) WHERE bot_user_id IS NOT NULL;
