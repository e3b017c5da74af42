-- 0003: what publish pays for, made cheaper (measured on the bench's 10,000 streams x 100
-- versions, PostgreSQL 15 on loopback; bench/ANALYSIS.md section 6).
--
-- 1. The history tables lose their foreign keys. Each was checked row by row as COPY loaded it:
--    five lookups per version, two per status span, so the first publish spent 34 s of its 58 s
--    on the versions alone and 14 s on the spans (5 s and 4.5 s without). The relations are the
--    SQLite file's, which enforces them (streamdb opens it with foreign keys on); a publish copies
--    one consistent reading of the file in one transaction, and MirrorTests checks that the mirror
--    holds no row whose reference is missing after publishes killed at random. The small tables
--    keep theirs (origins, sources, sync_runs -> sources, streams -> sources, replacements).
--    The joins are unchanged; docs/schema.md still says which column points where.
ALTER TABLE documents DROP CONSTRAINT documents_origin_id_fkey;
ALTER TABLE sync_errors DROP CONSTRAINT sync_errors_sync_run_id_fkey;
ALTER TABLE document_regions DROP CONSTRAINT document_regions_document_id_fkey;
ALTER TABLE config_areas DROP CONSTRAINT config_areas_document_id_fkey;
ALTER TABLE config_fences DROP CONSTRAINT config_fences_document_id_fkey;
ALTER TABLE config_case_types DROP CONSTRAINT config_case_types_document_id_fkey;
ALTER TABLE versions
    DROP CONSTRAINT versions_stream_id_fkey,
    DROP CONSTRAINT versions_sync_run_id_fkey,
    DROP CONSTRAINT versions_rest_id_fkey,
    DROP CONSTRAINT versions_platform_config_id_fkey,
    DROP CONSTRAINT versions_binary_config_id_fkey;
ALTER TABLE presence_events
    DROP CONSTRAINT presence_events_stream_id_fkey,
    DROP CONSTRAINT presence_events_sync_run_id_fkey;
ALTER TABLE status_spans
    DROP CONSTRAINT status_spans_stream_id_fkey,
    DROP CONSTRAINT status_spans_sync_run_id_fkey;
ALTER TABLE document_changes
    DROP CONSTRAINT document_changes_stream_id_version_fkey,
    DROP CONSTRAINT document_changes_sync_run_id_fkey;

-- 2. Every sync sees every stream again (last_seen_at moves), so every publish updates every
--    stream row of its origin. With pages half empty, PostgreSQL updates a row in place on its
--    page without touching the four indexes (a HOT update): the publish after an unchanged sync
--    spent 255 ms in that update, 55-90 ms with room on the pages. Pages written from now on.
ALTER TABLE streams SET (fillfactor = 50);

-- 3. The spans each stream has open, found by id: a publish asks the mirror which of its origin's
--    spans are open and sends again those the file has ended since.
CREATE INDEX status_spans_open ON status_spans (id) WHERE ended_us IS NULL;
