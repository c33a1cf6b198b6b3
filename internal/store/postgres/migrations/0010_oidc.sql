-- Remembered consent: the scopes a user allowed a client at the
-- authorization endpoint (space-separated, sorted), one row per user and
-- client, replaced when the user allows more.
CREATE TABLE consents (
    user_id    text COLLATE "C" NOT NULL,
    client_id  text COLLATE "C" NOT NULL,
    scopes     text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
