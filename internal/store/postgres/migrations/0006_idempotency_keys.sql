-- Idempotency-Key (issue 12): one row per (caller, key) for 24 hours. The
-- first response holds a one-time secret, so it is sealed under the master
-- key and set to NULL once its replay window ends; resource names what the
-- request created, without any secret.
CREATE TABLE idempotency_keys (
    scope        text COLLATE "C" NOT NULL,
    key          text COLLATE "C" NOT NULL,
    fingerprint  bytea NOT NULL,
    owner        text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    locked_until timestamptz NOT NULL,
    done         boolean NOT NULL DEFAULT false,
    response     bytea,
    replay_until timestamptz,
    resource     text NOT NULL DEFAULT '',
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
CREATE INDEX idempotency_keys_replay ON idempotency_keys (replay_until) WHERE response IS NOT NULL;
