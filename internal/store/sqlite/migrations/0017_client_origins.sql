-- The CORS origin index (SPEC §7): which client lists which origin in its
-- allowed_origins, so a preflight asks "does any enabled client allow this
-- origin?" through an index instead of scanning every client's JSON.
-- Triggers keep it equal to clients.allowed_origins on every write path
-- (the server, the CLI, migrate-store).
CREATE TABLE client_origins (
    origin    TEXT NOT NULL,
    client_pk TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    PRIMARY KEY (origin, client_pk)
) STRICT, WITHOUT ROWID;
CREATE INDEX client_origins_client ON client_origins (client_pk);

INSERT OR IGNORE INTO client_origins (origin, client_pk)
    SELECT j.value, c.id FROM clients c, json_each(c.allowed_origins) j;

CREATE TRIGGER client_origins_insert AFTER INSERT ON clients BEGIN
    INSERT OR IGNORE INTO client_origins (origin, client_pk)
        SELECT value, NEW.id FROM json_each(NEW.allowed_origins);
END;

CREATE TRIGGER client_origins_update AFTER UPDATE OF allowed_origins ON clients BEGIN
    DELETE FROM client_origins WHERE client_pk = NEW.id;
    INSERT OR IGNORE INTO client_origins (origin, client_pk)
        SELECT value, NEW.id FROM json_each(NEW.allowed_origins);
END;

CREATE TRIGGER client_origins_delete AFTER DELETE ON clients BEGIN
    DELETE FROM client_origins WHERE client_pk = OLD.id;
END;
