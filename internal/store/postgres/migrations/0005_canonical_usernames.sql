-- Usernames are stored and compared in their PRECIS UsernameCaseMapped
-- form (RFC 8265, user.CanonicalUsername). Every username stored before
-- was ASCII (A-Z a-z 0-9 - . _ ~ @ +), whose canonical form is its
-- lowercase. If two users differ only by case this fails on the UNIQUE
-- constraint, loudly: an operator must rename one before upgrading.
UPDATE users SET username = lower(username) WHERE username <> lower(username);
