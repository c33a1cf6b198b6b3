-- Idempotency-Key (issue 12): one row per (caller, key) for 24 hours. The
-- first response holds a one-time secret, so it is sealed under the master
-- key and set to NULL once its replay window ends; resource names what the
-- request created, without any secret.
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  BLOB NOT NULL,
    owner        TEXT NOT NULL,
    created_at   INTEGER NOT NULL, -- Unix microseconds, UTC
    expires_at   INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    done         INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    response     BLOB,
    replay_until INTEGER,
    resource     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scope, key)
) STRICT;
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
CREATE INDEX idempotency_keys_replay ON idempotency_keys (replay_until) WHERE response IS NOT NULL;
