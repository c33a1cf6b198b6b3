-- The RFC 8707 resources a user allowed a client tokens for at the consent
-- page (space-separated canonical identifiers, sorted; '' for none): a
-- remembered consent covers a request only if it covers every requested
-- scope and every requested resource. Rows stored before hold '': no
-- resources, so a request naming one shows the consent page again.
ALTER TABLE consents ADD COLUMN resources TEXT NOT NULL DEFAULT '';
