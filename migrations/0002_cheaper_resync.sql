-- streamdb schema, migration 0002: make a sync of an unchanged fleet cheap in time and in bytes,
-- and counting the fleet by case type cheap at any moment.
--
-- No stored data changes: one index goes (it holds nothing the table does not), one column is
-- added (NULL for every stream until its next sync fills it), and one table is derived from the
-- stored configs.

-- `streams_by_last_seen_run` (from 0001) indexed streams.last_seen_run_id. Every sync moves every
-- present stream's last_seen_run_id to the new run, so each run rewrote the whole index: an
-- unchanged resync of 50,000 streams grew the file by about 400 KB for nothing. The one query that
-- filters on the column ("present streams this run has not seen": `last_seen_run_id <> ?`) cannot
-- use an index and reads the streams table whole; a single stream is looked up by its job_uid.
DROP INDEX IF EXISTS streams_by_last_seen_run;

-- Hex SHA-256 of the stream object exactly as last served (updated_at left out, the embedded config
-- strings taken as strings, key order and number spelling normalised, and whether URL passwords are
-- masked). A sync that is served the same object again knows the stream is unchanged without
-- parsing its configs. A cache only: NULL, or a stale value, just means the stream is normalised
-- in full and compared by current_content_hash, as before this column existed.
ALTER TABLE streams ADD COLUMN served_digest TEXT;

-- The CaseType of each distinct pipeline config (a `documents` row used as
-- snapshots.platform_config_id), read once when the config is first stored. Counting the fleet by
-- case type, now or as of any moment (`streamdb regions`, `streamdb streams --case-type`), then
-- reads this small table instead of parsing every config document.
CREATE TABLE config_case_types (
    document_id INTEGER PRIMARY KEY REFERENCES documents (id),
    -- The config's CaseType when it is a string ('motion-detect', ...); NULL when the config has
    -- none, has another type there, or was not JSON.
    case_type   TEXT
);
INSERT INTO config_case_types (document_id, case_type)
SELECT d.id, CASE json_type(d.json, '$.CaseType') WHEN 'text' THEN json_extract(d.json, '$.CaseType') END
FROM documents AS d
WHERE d.id IN (SELECT platform_config_id FROM snapshots);
