-- One namespace for token subjects: a user's id and a client's client_id
-- (the subject of a client acting as itself) may never be equal, or a bot
-- user could take a client's subject. Every insert into users or clients
-- claims its subject here in the same statement, so the primary key
-- refuses the second claimant, whichever table it comes from, race-free.
-- A deleted client releases its client_id; users are never deleted.
CREATE TABLE subjects (
    subject TEXT PRIMARY KEY,
    kind    TEXT NOT NULL CHECK (kind IN ('user', 'client'))
) STRICT;

-- Backfill. A collision already in the data cannot be undone here: the
-- user keeps the subject and the client's client_id stays unreserved.
INSERT OR IGNORE INTO subjects (subject, kind) SELECT id, 'user' FROM users;
INSERT OR IGNORE INTO subjects (subject, kind) SELECT client_id, 'client' FROM clients;

CREATE TRIGGER users_claim_subject AFTER INSERT ON users
BEGIN
    INSERT INTO subjects (subject, kind) VALUES (NEW.id, 'user');
END;

CREATE TRIGGER clients_claim_subject AFTER INSERT ON clients
BEGIN
    INSERT INTO subjects (subject, kind) VALUES (NEW.client_id, 'client');
END;

CREATE TRIGGER clients_release_subject AFTER DELETE ON clients
BEGIN
    DELETE FROM subjects WHERE subject = OLD.client_id AND kind = 'client';
END;
