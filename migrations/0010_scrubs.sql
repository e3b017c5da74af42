-- 0010: a ledger of `streamdb scrub-secrets` runs, the one rewrite streamdb makes of what it
-- stored.
--
-- A scrub masks documents, areas, fences, region titles, error messages and stream fields in
-- place and merges documents that became equal, below every high-water mark a publish to the team
-- mirror keeps. A publish that finds a scrub newer than the one it last published sends this
-- file's whole history again, so the mirror holds neither the secrets nor the merged documents.
CREATE TABLE scrubs (
    id                INTEGER PRIMARY KEY,
    scrubbed_at       TEXT    NOT NULL,  -- when the scrub committed (UTC ISO 8601)
    documents_masked  INTEGER NOT NULL,  -- documents rewritten masked (merged ones included)
    documents_merged  INTEGER NOT NULL,  -- of those, the ones merged into an equal stored one
    other_rows_masked INTEGER NOT NULL,  -- area, fence, region, error, version and stream rows
    streams_rehashed  INTEGER NOT NULL,  -- streams whose current_content_hash was recomputed
    streamdb_version  TEXT    NOT NULL
);
