-- 0005: each stream's current payload document, as the file's `streams.current_rest_id`
-- (SQLite migration 0011): the document id of the current version's `versions.rest_id`, a cache
-- the query commands read for a stream's regions now. Filled here for the rows already published;
-- every publish sends it with the rest of the row.
ALTER TABLE streams ADD COLUMN current_rest_id bigint;
UPDATE streams AS st SET current_rest_id = v.rest_id
FROM versions AS v WHERE v.stream_id = st.stream_id AND v.version = st.current_version;
COMMENT ON COLUMN streams.current_rest_id IS 'The current version''s payload document (versions.rest_id): a cache, as in the file.';
