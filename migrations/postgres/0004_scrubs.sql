-- 0004: how far each origin's scrubs (`streamdb scrub-secrets`, the file's `scrubs` ledger) were
-- published. A publish that finds a newer scrub in the file deletes the origin's rows and sends
-- its whole history again, in the same transaction.
ALTER TABLE origins ADD COLUMN published_scrub_id bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN origins.published_scrub_id IS 'The newest scrubs.id of the file that the mirror holds the history after.';
