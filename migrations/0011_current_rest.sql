-- 0011: each stream's current payload document, beside its current version.
--
-- The query commands that show a stream's regions now (`events`, `uptime --by region`,
-- `flapping`, `--region` filters) read them through the current version's payload document. With
-- ten thousand streams that lookup, one scattered read of `versions` per stream, was a third of
-- `streamdb events --since 1d`. `streams.current_rest_id` holds the same document id as
-- `versions.rest_id` of the stream's current version: a cache, written by sync in the same
-- statement as `current_version`, never history of its own.
ALTER TABLE streams ADD COLUMN current_rest_id INTEGER REFERENCES documents (id);

UPDATE streams SET current_rest_id = (
    SELECT v.rest_id FROM versions AS v WHERE v.stream_id = streams.stream_id AND v.version = streams.current_version);

-- Every stream has it, equal to its current version's. A CHECK failing here rolls the migration
-- back and leaves the database as it was.
CREATE TEMP TABLE migration_0011_kept_everything (
    what TEXT NOT NULL,
    kept INTEGER NOT NULL CHECK (kept = 1)
);
INSERT INTO migration_0011_kept_everything (what, kept)
SELECT 'every stream its current payload document', NOT EXISTS (
    SELECT 1 FROM streams AS st LEFT JOIN versions AS v ON v.stream_id = st.stream_id AND v.version = st.current_version
    WHERE st.current_rest_id IS NULL OR v.rest_id IS NOT st.current_rest_id);
DROP TABLE migration_0011_kept_everything;
