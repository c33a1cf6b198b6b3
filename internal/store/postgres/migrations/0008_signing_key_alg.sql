-- Signing keys of more than one algorithm (issue 9): ID tokens are RS256
-- by default, access tokens ES256, and the key manager keeps a current key
-- of each. The algorithm column has existed since 0001 and every key
-- stored before this migration is a P-256 key; one stored without an
-- algorithm is recorded as what it is, ES256, so that every row names its
-- algorithm and none is read by guesswork.
UPDATE signing_keys SET algorithm = 'ES256' WHERE algorithm = '';
