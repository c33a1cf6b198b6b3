-- One namespace for token subjects: a user's id and a client's client_id
-- (the subject of a client acting as itself) may never be equal, or a bot
-- user could take a client's subject. Every insert into users or clients
-- claims its subject here in the same transaction, so the primary key
-- refuses the second claimant, whichever table it comes from, race-free.
-- A deleted client releases its client_id; users are never deleted.
CREATE TABLE subjects (
    subject text COLLATE "C" PRIMARY KEY,
    kind    text NOT NULL CHECK (kind IN ('user', 'client'))
);

-- Backfill. A collision already in the data cannot be undone here: the
-- user keeps the subject and the client's client_id stays unreserved.
INSERT INTO subjects (subject, kind) SELECT id, 'user' FROM users ON CONFLICT DO NOTHING;
INSERT INTO subjects (subject, kind) SELECT client_id, 'client' FROM clients ON CONFLICT DO NOTHING;

CREATE FUNCTION claim_subject() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'users' THEN
        INSERT INTO subjects (subject, kind) VALUES (NEW.id, 'user');
    ELSE
        INSERT INTO subjects (subject, kind) VALUES (NEW.client_id, 'client');
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION release_subject() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM subjects WHERE subject = OLD.client_id AND kind = 'client';
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_claim_subject AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION claim_subject();
CREATE TRIGGER clients_claim_subject AFTER INSERT ON clients FOR EACH ROW EXECUTE FUNCTION claim_subject();
CREATE TRIGGER clients_release_subject AFTER DELETE ON clients FOR EACH ROW EXECUTE FUNCTION release_subject();
