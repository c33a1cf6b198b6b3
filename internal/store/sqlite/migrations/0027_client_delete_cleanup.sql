-- Deleting a client (admin API, CLI, or the sweeper's expiry of abandoned
-- anonymous clients) forgets every user's consent to it and deletes its
-- refresh token families (their tokens go by ON DELETE CASCADE), in the
-- deleting transaction: nothing of the client is left behind. Its access
-- tokens already die with it (verification checks the client is still
-- there).
CREATE INDEX consents_client ON consents (client_id);
CREATE INDEX refresh_families_client ON refresh_families (client_id);

CREATE TRIGGER clients_forget_grants AFTER DELETE ON clients BEGIN
    DELETE FROM consents WHERE client_id = OLD.client_id;
    DELETE FROM refresh_families WHERE client_id = OLD.client_id;
END;
