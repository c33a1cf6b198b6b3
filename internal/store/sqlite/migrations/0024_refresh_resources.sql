-- The RFC 8707 resources a refresh token family was granted for
-- (space-separated canonical identifiers; '' for none): a refresh may
-- narrow them, never widen them.
ALTER TABLE refresh_families ADD COLUMN resources TEXT NOT NULL DEFAULT '';
