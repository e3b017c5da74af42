-- streamdb schema, migration 0003: a version of a stream costs about half the bytes it did.
--
-- Most versions are status changes, one per stream per change, forever: their size is the size of
-- the history. Before this migration a status-only version wrote two rows and four index entries
-- (a snapshots row, a status_history row repeating its status, times and run, and their indexes),
-- each carrying the 36-character job_uid and the snapshot a 64-character hex hash: about 560 bytes
-- on disk. Now it writes one row and two small index entries:
--
--   * streams get an integer key, `stream_id`; the version rows use it instead of the job_uid.
--   * `versions` replaces the snapshots table. Its content_hash is the 32 bytes, not 64 hex digits.
--   * A status change that comes with a new version ('first_seen', 'changed') is recorded on that
--     version (status_changed_at, status_changed_at_source); the status before it is the status of
--     the version before. Only 'gone' and 'back', which can happen without a new version, keep rows
--     of their own, in `presence_events`.
--   * `snapshots` and `status_history` become views with the columns they had, so queries written
--     against them keep working (status_history no longer has `id`: order events by changed_at,
--     then observed_at).
--
-- Nothing stored is lost: every value moves to its new place, and the migration refuses to finish
-- (the database stays as it was) unless every snapshot and status row is found there again.
--
-- `unhex()` is built into SQLite from 3.41; streamdb provides it to older libraries while it
-- migrates, so this file runs as written in streamdb, or in a sqlite3 shell of 3.41 or later.

-- The views name the tables being rebuilt: they are made again at the end.
DROP VIEW stream_versions;
DROP VIEW stream_regions;
DROP VIEW areas;
DROP VIEW fences;
DROP VIEW current_streams;
DROP VIEW status_intervals;

-- ---------------------------------------------------------------------------------------------
-- Streams, with an integer key.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE streams_0003 (
    -- streamdb's own key for the stream, used by the tables that hold its history. Never reused.
    stream_id            INTEGER PRIMARY KEY,
    job_uid              TEXT    NOT NULL UNIQUE,
    id                   INTEGER,  -- the server's row id
    status               ANY,      -- raw, as served (INTEGER or TEXT)
    stream_uid           TEXT,     -- the camera stream
    camera_group_uid     TEXT,
    case_type            TEXT,     -- the config's CaseType: 'motion-detect', 'face-recognition', ...
    stream_case_type     INTEGER,  -- the server's integer code for the case type
    ovms_client          INTEGER,  -- the worker host the job runs on
    created_at           TEXT,     -- server time
    -- Server time of the last change of the row. It moves on every change, and alone it is not a
    -- new version; this column always holds the latest value seen.
    updated_at           TEXT,
    first_seen_at        TEXT    NOT NULL,
    last_seen_at         TEXT    NOT NULL,  -- the last time the server returned it
    last_seen_run_id     INTEGER REFERENCES sync_runs (id),
    gone_at              TEXT,     -- when a 404 was first seen; NULL while the server has it
    current_version      INTEGER NOT NULL,
    current_content_hash TEXT    NOT NULL,  -- hex SHA-256 of the current version's content
    -- Hex SHA-256 of the object as last served: a cache that lets a sync recognise an unchanged
    -- stream without parsing it (see migration 0002).
    served_digest        TEXT
);
INSERT INTO streams_0003 (stream_id, job_uid, id, status, stream_uid, camera_group_uid, case_type,
    stream_case_type, ovms_client, created_at, updated_at, first_seen_at, last_seen_at,
    last_seen_run_id, gone_at, current_version, current_content_hash, served_digest)
SELECT rowid, job_uid, id, status, stream_uid, camera_group_uid, case_type,
    stream_case_type, ovms_client, created_at, updated_at, first_seen_at, last_seen_at,
    last_seen_run_id, gone_at, current_version, current_content_hash, served_digest
FROM streams
ORDER BY rowid;

-- ---------------------------------------------------------------------------------------------
-- Versions: one row per distinct state of a stream, with the status change it brought.
-- ---------------------------------------------------------------------------------------------

-- One row per distinct state of a stream. Read it through the view `stream_versions` (the payload,
-- the configs, `valid_to`) or `snapshots` (these columns, by job_uid). Rows are only ever added.
CREATE TABLE versions (
    stream_id          INTEGER NOT NULL REFERENCES streams (stream_id),
    version            INTEGER NOT NULL CHECK (version >= 1),  -- 1, 2, ... per stream
    observed_at        TEXT    NOT NULL,  -- when the sync that first saw this state received it
    sync_run_id        INTEGER NOT NULL REFERENCES sync_runs (id),
    -- SHA-256 over the whole content, updated_at excepted, as 32 bytes (hex(content_hash) is the
    -- hex form that streams.current_content_hash holds): equal hash, equal state.
    content_hash       BLOB    NOT NULL,
    status             ANY,   -- raw, as served
    server_updated_at  TEXT,  -- the payload's updated_at when this state was first seen
    -- The payload without status, updated_at, platform_json and binary_json (those keys are kept
    -- with null values, so that the payload can be put back together exactly).
    rest_id            INTEGER NOT NULL REFERENCES documents (id),
    platform_config_id INTEGER REFERENCES documents (id),  -- NULL when the payload had no string
    binary_config_id   INTEGER REFERENCES documents (id),
    -- Set when this version brought a status event: version 1 ('first_seen') and each version whose
    -- status differs from the version before ('changed'; a return after a 404 is a 'back' row in
    -- presence_events instead). The best estimate of when the status changed: the payload's
    -- updated_at ('server') when it falls after the last sync that saw the earlier state and not
    -- after this one, else observed_at ('sync'). NULL for versions that kept the status.
    status_changed_at        TEXT,
    status_changed_at_source TEXT CHECK (status_changed_at_source IN ('server', 'sync')),
    CHECK ((status_changed_at IS NULL) = (status_changed_at_source IS NULL)),
    PRIMARY KEY (stream_id, version)
) WITHOUT ROWID;

INSERT INTO versions (stream_id, version, observed_at, sync_run_id, content_hash, status,
    server_updated_at, rest_id, platform_config_id, binary_config_id,
    status_changed_at, status_changed_at_source)
SELECT st.stream_id, s.version, s.observed_at, s.sync_run_id,
       -- Every hash streamdb wrote is 64 lower-case hex digits; anything else is kept as it was.
       CASE WHEN length(s.content_hash) = 64 AND s.content_hash NOT GLOB '*[^0-9a-f]*'
            THEN unhex(s.content_hash) ELSE s.content_hash END,
       s.status, s.server_updated_at, s.rest_id, s.platform_config_id, s.binary_config_id,
       h.changed_at, h.changed_at_source
FROM snapshots AS s
JOIN streams_0003 AS st ON st.job_uid = s.job_uid
LEFT JOIN status_history AS h
       ON h.job_uid = s.job_uid AND h.version = s.version AND h.event IN ('first_seen', 'changed')
ORDER BY st.stream_id, s.version;

-- ---------------------------------------------------------------------------------------------
-- Presence events: disappearances (404) and returns.
-- ---------------------------------------------------------------------------------------------

-- One row per disappearance ('gone': the server answered 404) and return ('back': served again
-- after gone). A return that changed the content also has a new version; one that did not names
-- the version it came back with.
CREATE TABLE presence_events (
    id                INTEGER PRIMARY KEY,
    stream_id         INTEGER NOT NULL REFERENCES streams (stream_id),
    event             TEXT    NOT NULL CHECK (event IN ('gone', 'back')),
    status            ANY,     -- raw, as served; NULL for 'gone'
    previous_status   ANY,     -- the status before: for 'gone' the last status served; NULL for 'back'
    observed_at       TEXT    NOT NULL,  -- when the sync saw it
    server_updated_at TEXT,    -- the payload's updated_at at that moment; NULL for 'gone'
    changed_at        TEXT    NOT NULL,  -- the sync's time, as for presence there is no better one
    changed_at_source TEXT    NOT NULL CHECK (changed_at_source IN ('server', 'sync')),
    sync_run_id       INTEGER NOT NULL REFERENCES sync_runs (id),
    version           INTEGER,  -- the version served on return; NULL for 'gone'
    FOREIGN KEY (stream_id, version) REFERENCES versions (stream_id, version)
);
INSERT INTO presence_events (id, stream_id, event, status, previous_status, observed_at,
    server_updated_at, changed_at, changed_at_source, sync_run_id, version)
SELECT h.id, st.stream_id, h.event, h.status, h.previous_status, h.observed_at,
       h.server_updated_at, h.changed_at, h.changed_at_source, h.sync_run_id, h.version
FROM status_history AS h
JOIN streams_0003 AS st ON st.job_uid = h.job_uid
WHERE h.event IN ('gone', 'back')
ORDER BY h.id;

-- ---------------------------------------------------------------------------------------------
-- Nothing left behind: every snapshot is a version, every status row is found again. A failed
-- CHECK here rolls the whole migration back and leaves the database as it was.
-- ---------------------------------------------------------------------------------------------

CREATE TEMP TABLE migration_0003_kept_everything (
    what TEXT NOT NULL,
    kept INTEGER NOT NULL CHECK (kept = 1)
);
INSERT INTO migration_0003_kept_everything (what, kept)
SELECT 'streams', (SELECT count(*) FROM streams) = (SELECT count(*) FROM streams_0003)
UNION ALL
SELECT 'snapshots', (SELECT count(*) FROM snapshots) = (SELECT count(*) FROM versions)
UNION ALL
SELECT 'status events',
       (SELECT count(*) FROM status_history)
     = (SELECT count(*) FROM versions WHERE status_changed_at IS NOT NULL)
     + (SELECT count(*) FROM presence_events)
UNION ALL
-- A 'changed' row's previous status is now read from the version before.
SELECT 'previous statuses', NOT EXISTS (
    SELECT 1 FROM status_history AS h
    JOIN snapshots AS p ON p.job_uid = h.job_uid AND p.version = h.version - 1
    WHERE h.event = 'changed' AND p.status IS NOT h.previous_status)
UNION ALL
SELECT 'first seen at version 1', NOT EXISTS (
    SELECT 1 FROM status_history WHERE event = 'first_seen' AND version IS NOT 1);
DROP TABLE migration_0003_kept_everything;

DROP TABLE status_history;
DROP TABLE snapshots;
DROP TABLE streams;
ALTER TABLE streams_0003 RENAME TO streams;

-- Finds the version a stream had at a moment (`--as-of`) with one seek per stream.
CREATE INDEX versions_by_stream_time ON versions (stream_id, observed_at);
-- The versions that use a config.
CREATE INDEX versions_by_platform_config ON versions (platform_config_id);
-- Whether a stream existed at a moment: its last presence event by then.
CREATE INDEX presence_events_by_stream ON presence_events (stream_id, observed_at);

-- ---------------------------------------------------------------------------------------------
-- Views: the names analysts query. The first two keep the tables' former shape.
-- ---------------------------------------------------------------------------------------------

-- One row per distinct state of a stream, keyed by job_uid: what the snapshots table held.
CREATE VIEW snapshots AS
SELECT st.job_uid, v.version, v.observed_at, v.sync_run_id,
       CASE typeof(v.content_hash) WHEN 'blob' THEN lower(hex(v.content_hash)) ELSE v.content_hash END AS content_hash,
       v.status, v.server_updated_at, v.rest_id, v.platform_config_id, v.binary_config_id
FROM versions AS v
JOIN streams AS st ON st.stream_id = v.stream_id;

-- One row per observed status event: the first observation of a stream, each change of status,
-- each disappearance (404) and each return. What the status_history table held, without `id`.
CREATE VIEW status_history AS
SELECT st.job_uid,
       CASE v.version WHEN 1 THEN 'first_seen' ELSE 'changed' END AS event,
       v.status,
       p.status AS previous_status,
       v.observed_at,
       v.server_updated_at,
       v.status_changed_at AS changed_at,
       v.status_changed_at_source AS changed_at_source,
       v.sync_run_id,
       v.version
FROM versions AS v
JOIN streams AS st ON st.stream_id = v.stream_id
LEFT JOIN versions AS p ON p.stream_id = v.stream_id AND p.version = v.version - 1
WHERE v.status_changed_at IS NOT NULL
UNION ALL
SELECT st.job_uid, e.event, e.status, e.previous_status, e.observed_at, e.server_updated_at,
       e.changed_at, e.changed_at_source, e.sync_run_id, e.version
FROM presence_events AS e
JOIN streams AS st ON st.stream_id = e.stream_id;

-- One row per distinct state of a stream, with the whole payload as served.
CREATE VIEW stream_versions AS
SELECT
    st.job_uid,
    s.version,
    s.observed_at,
    -- When the next version replaced this one; NULL for the current version.
    (SELECT n.observed_at FROM versions AS n
      WHERE n.stream_id = s.stream_id AND n.version = s.version + 1) AS valid_to,
    s.status,
    json_extract(r.json, '$.regions') AS regions,
    json_extract(p.json, '$.CaseType') AS case_type,
    s.server_updated_at,
    -- The whole object as served (canonical JSON; platform_json and binary_json are strings).
    json_replace(r.json,
        '$.status', s.status,
        '$.updated_at', s.server_updated_at,
        '$.platform_json', coalesce(p.json, p.raw),
        '$.binary_json', coalesce(b.json, b.raw)) AS payload,
    -- The parsed platform_json; NULL when it did not parse (payload keeps the raw string).
    json(p.json) AS platform_config,
    json(b.json) AS binary_config,
    CASE typeof(s.content_hash) WHEN 'blob' THEN lower(hex(s.content_hash)) ELSE s.content_hash END AS content_hash,
    s.sync_run_id,
    s.platform_config_id,
    s.binary_config_id,
    s.rest_id
FROM versions AS s
JOIN streams AS st ON st.stream_id = s.stream_id
JOIN documents AS r ON r.id = s.rest_id
LEFT JOIN documents AS p ON p.id = s.platform_config_id
LEFT JOIN documents AS b ON b.id = s.binary_config_id;

-- Which regions each version of each stream belongs to.
CREATE VIEW stream_regions AS
SELECT st.job_uid, s.version, dr.region_id, rg.title AS region_title
FROM versions AS s
JOIN streams AS st ON st.stream_id = s.stream_id
JOIN document_regions AS dr ON dr.document_id = s.rest_id
JOIN regions AS rg ON rg.id = dr.region_id;

-- One row per detection area per version of each stream.
CREATE VIEW areas AS
SELECT st.job_uid, s.version, ca.area_id, ca.shape, ca.point_count, ca.position
FROM versions AS s
JOIN streams AS st ON st.stream_id = s.stream_id
JOIN config_areas AS ca ON ca.document_id = s.platform_config_id;

-- One row per fence per version of each stream.
CREATE VIEW fences AS
SELECT st.job_uid, s.version, cf.fence_id, cf.fence, cf.position
FROM versions AS s
JOIN streams AS st ON st.stream_id = s.stream_id
JOIN config_fences AS cf ON cf.document_id = s.platform_config_id;

-- The streams the server has now (as of the last sync), with their regions' titles.
CREATE VIEW current_streams AS
SELECT
    st.job_uid, st.id, st.status, st.case_type, st.stream_case_type, st.stream_uid,
    st.camera_group_uid, st.ovms_client, st.created_at, st.updated_at,
    (SELECT group_concat(rg.title, ', ') FROM versions AS s
       JOIN document_regions AS dr ON dr.document_id = s.rest_id
       JOIN regions AS rg ON rg.id = dr.region_id
      WHERE s.stream_id = st.stream_id AND s.version = st.current_version) AS regions,
    st.current_version, st.first_seen_at, st.last_seen_at
FROM streams AS st
WHERE st.gone_at IS NULL;

-- Each status of each stream as an interval: from its change to the next change (or to now).
-- A 'gone' interval has status NULL. duration_seconds counts to now for the open interval.
CREATE VIEW status_intervals AS
SELECT
    job_uid,
    CASE event WHEN 'gone' THEN 'gone' ELSE 'present' END AS presence,
    status,
    event AS started_by,
    changed_at AS started_at,
    changed_at_source AS started_at_source,
    ended_at,
    round((julianday(coalesce(ended_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))
           - julianday(changed_at)) * 86400.0, 3) AS duration_seconds
FROM (
    -- Only the columns used above: the window sorts whole rows (a third faster than h.*). A filter
    -- on job_uid, the partition, is applied before the sort.
    SELECT h.job_uid, h.event, h.status, h.changed_at, h.changed_at_source,
           lead(h.changed_at) OVER (PARTITION BY h.job_uid ORDER BY h.changed_at, h.observed_at) AS ended_at
    FROM status_history AS h
);
