-- Users become accounts (issue 9): an optional email (an addr-spec, its
-- domain lower-cased), whether it is verified, whether the user may log
-- in, and a brand as clients have. Existing users are backfilled by the
-- defaults: no email, unverified, enabled, the default brand.
-- Users can now be deleted; a deleted user's id stays in subjects (no
-- trigger releases it), so its tokens' subject never names someone else.
ALTER TABLE users ADD COLUMN email text;
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN enabled boolean NOT NULL DEFAULT true;
ALTER TABLE users ADD COLUMN brand_id text NOT NULL DEFAULT 'default';
