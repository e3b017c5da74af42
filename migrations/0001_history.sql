-- streamdb schema, migration 0001: the versioned history of the analytics streams.
--
-- This file is the schema's source of truth. It is compiled into the streamdb binary and applied
-- once, in a transaction, by the first `streamdb sync` on a database; GRDB records it in
-- `grdb_migrations`. A shipped migration is never edited: change the schema with a new file.
--
-- Conventions, for everyone who queries this file:
--   * Times are UTC ISO 8601 text, e.g. '2024-02-04T12:15:11.545908Z'. Text order is time order.
--   * JSON columns hold valid JSON (json_valid() is 1) that SQLite's json functions read.
--   * `status` holds the raw value as the server sent it: an INTEGER (11) or, on servers that send
--     names, TEXT ('WORKING'). streamdb does not guess what the integers mean.
--   * Nothing is deleted. A stream that disappears gets `gone_at`; its versions stay.
--
-- Tables (what is stored) come first, then views (what most queries should read):
--   sync_runs, sync_errors       the ledger of `streamdb sync` runs and what went wrong in them
--   streams                      one row per job_uid ever seen, with its current state
--   snapshots                    one row per distinct state of a stream (read it as stream_versions)
--   documents                    content-addressed JSON: configs and payloads, each stored once
--   regions, document_regions    regions, and which regions a payload names
--   config_areas, config_fences  detection areas and fences of each distinct pipeline config
--   status_history               every observed status change, disappearance and return
--   views: stream_versions, stream_regions, areas, fences, current_streams, status_intervals

-- ---------------------------------------------------------------------------------------------
-- The ledger of sync runs.
-- ---------------------------------------------------------------------------------------------

-- One row per `streamdb sync` run.
CREATE TABLE sync_runs (
    id                INTEGER PRIMARY KEY,
    started_at        TEXT    NOT NULL,
    -- NULL while the run is going on, and for a run whose process was killed.
    finished_at       TEXT,
    -- The base URL synced from (scheme, host, port, path). Never credentials.
    source_url        TEXT    NOT NULL,
    -- running: not finished yet; ok: everything fetched and stored; partial: some streams or
    -- pages failed (see sync_errors), the rest was stored; failed: nothing could be synced
    -- (unreachable, credentials refused); interrupted: the process died, found by the next run.
    outcome           TEXT    NOT NULL DEFAULT 'running'
                      CHECK (outcome IN ('running', 'ok', 'partial', 'failed', 'interrupted')),
    -- How the run learnt which streams exist: complete (the list route, every page), incomplete
    -- (the list route failed part way), unavailable (the server has no list route), skipped
    -- (--no-list). Streams are marked gone by omission only after a complete listing.
    listing           TEXT    CHECK (listing IN ('complete', 'incomplete', 'unavailable', 'skipped')),
    streams_seen      INTEGER NOT NULL DEFAULT 0,  -- streams the server returned in this run
    streams_new       INTEGER NOT NULL DEFAULT 0,  -- job_uids seen for the first time
    streams_changed   INTEGER NOT NULL DEFAULT 0,  -- known streams that got a new version
    streams_unchanged INTEGER NOT NULL DEFAULT 0,  -- known streams with no change
    streams_gone      INTEGER NOT NULL DEFAULT 0,  -- streams that answered 404 for the first time
    streams_back      INTEGER NOT NULL DEFAULT 0,  -- streams seen again after being gone
    errors            INTEGER NOT NULL DEFAULT 0,  -- rows in sync_errors for this run
    -- One sentence on why a run failed; NULL otherwise.
    message           TEXT,
    streamdb_version  TEXT
);

-- What went wrong in a run: one row per failed request, unusable body or doubtful field.
CREATE TABLE sync_errors (
    id           INTEGER PRIMARY KEY,
    sync_run_id  INTEGER NOT NULL REFERENCES sync_runs (id),
    -- The stream concerned; NULL for errors of the listing itself.
    job_uid      TEXT,
    -- What kind of failure: 'http_503' (an HTTP status), 'timeout', 'connection', 'too_large',
    -- 'malformed_body', 'invalid_item', 'invalid_field', 'invalid_config', 'uid_mismatch',
    -- 'redirect', 'bad_uid', 'storage'.
    kind         TEXT    NOT NULL,
    http_status  INTEGER,
    -- The URL requested (never credentials), when a request failed.
    url          TEXT,
    -- How many requests were made before giving up (retries included).
    attempts     INTEGER,
    message      TEXT    NOT NULL,  -- one line
    occurred_at  TEXT    NOT NULL
);
CREATE INDEX sync_errors_by_run ON sync_errors (sync_run_id);
CREATE INDEX sync_errors_by_stream ON sync_errors (job_uid) WHERE job_uid IS NOT NULL;

-- ---------------------------------------------------------------------------------------------
-- Streams and their versions.
-- ---------------------------------------------------------------------------------------------

-- One row per job_uid ever seen. The columns from `id` to `updated_at` are the current version's
-- values (NULL where the server sent a value of an unexpected type).
CREATE TABLE streams (
    job_uid              TEXT    PRIMARY KEY,
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
    current_content_hash TEXT    NOT NULL
);
CREATE INDEX streams_by_last_seen_run ON streams (last_seen_run_id);

-- Content-addressed JSON, stored once however many versions share it: the parsed pipeline configs
-- (platform_json, binary_json) and the rest of each payload. Most new versions are status changes
-- that reuse every document of the version before.
CREATE TABLE documents (
    id        INTEGER PRIMARY KEY,
    -- Hex SHA-256 of the canonical form (sorted keys, no whitespace, canonical numbers): two
    -- documents that differ only in key order, spacing or number spelling are one document.
    sha256    TEXT    NOT NULL UNIQUE,
    -- The document as canonical JSON; NULL when the server's string was not JSON.
    json      TEXT    CHECK (json IS NULL OR json_valid(json)),
    -- The server's string exactly as served, kept only when it was not JSON.
    raw       TEXT,
    -- Why `raw` could not be read as JSON.
    parse_error TEXT,
    CHECK ((json IS NULL) <> (raw IS NULL))
);

-- One row per distinct state of a stream. Read it through the view `stream_versions`, which adds
-- the payload, the configs and `valid_to`. Rows are only ever added.
CREATE TABLE snapshots (
    job_uid            TEXT    NOT NULL REFERENCES streams (job_uid),
    version            INTEGER NOT NULL CHECK (version >= 1),  -- 1, 2, ... per stream
    observed_at        TEXT    NOT NULL,  -- when the sync that first saw this state received it
    sync_run_id        INTEGER NOT NULL REFERENCES sync_runs (id),
    -- Hex SHA-256 over the whole content, updated_at excepted: equal hash, equal state.
    content_hash       TEXT    NOT NULL,
    status             ANY,   -- raw, as served
    server_updated_at  TEXT,  -- the payload's updated_at when this state was first seen
    -- The payload without status, updated_at, platform_json and binary_json (those keys are kept
    -- with null values, so that the payload can be put back together exactly).
    rest_id            INTEGER NOT NULL REFERENCES documents (id),
    platform_config_id INTEGER REFERENCES documents (id),  -- NULL when the payload had no string
    binary_config_id   INTEGER REFERENCES documents (id),
    PRIMARY KEY (job_uid, version)
) WITHOUT ROWID;
-- Finds the version a stream had at a moment (`--as-of`) with one seek per stream.
CREATE INDEX snapshots_by_stream_time ON snapshots (job_uid, observed_at);
CREATE INDEX snapshots_by_platform_config ON snapshots (platform_config_id);

-- Every region ever named by a payload. The title is the latest one stored; the payloads in
-- stream_versions keep the title each version was served with.
CREATE TABLE regions (
    id            INTEGER PRIMARY KEY,  -- the server's region id
    title         TEXT    NOT NULL,
    first_seen_at TEXT    NOT NULL
);

-- The regions a payload (a `documents` row used as snapshots.rest_id) names, in served order.
CREATE TABLE document_regions (
    document_id INTEGER NOT NULL REFERENCES documents (id),
    position    INTEGER NOT NULL,
    region_id   INTEGER NOT NULL REFERENCES regions (id),
    PRIMARY KEY (document_id, position)
) WITHOUT ROWID;
CREATE INDEX document_regions_by_region ON document_regions (region_id);

-- The detection areas (Pipeline.Areas) of each distinct pipeline config.
CREATE TABLE config_areas (
    document_id INTEGER NOT NULL REFERENCES documents (id),
    position    INTEGER NOT NULL,  -- index in Pipeline.Areas, from 0
    area_id     TEXT,              -- the area's Id, e.g. 'area_part_1'; NULL when it had none
    shape       TEXT    CHECK (shape IS NULL OR json_valid(shape)),  -- JSON array of [x, y] points, 0..1
    point_count INTEGER,           -- NULL when Shape is not an array
    PRIMARY KEY (document_id, position)
) WITHOUT ROWID;

-- The fences (Pipeline.Fences, lines) of each distinct pipeline config, kept as given.
CREATE TABLE config_fences (
    document_id INTEGER NOT NULL REFERENCES documents (id),
    position    INTEGER NOT NULL,
    fence_id    TEXT,              -- the fence's Id or id, when it has one
    fence       TEXT    NOT NULL CHECK (json_valid(fence)),
    PRIMARY KEY (document_id, position)
) WITHOUT ROWID;

-- One row per observed change of status: the first observation of a stream, each change, each
-- disappearance (404) and each return.
CREATE TABLE status_history (
    id                INTEGER PRIMARY KEY,
    job_uid           TEXT    NOT NULL REFERENCES streams (job_uid),
    event             TEXT    NOT NULL CHECK (event IN ('first_seen', 'changed', 'gone', 'back')),
    status            ANY,     -- raw, as served; NULL for 'gone'
    previous_status   ANY,     -- the status before; NULL for 'first_seen'
    observed_at       TEXT    NOT NULL,  -- when the sync saw it
    server_updated_at TEXT,    -- the payload's updated_at at that moment; NULL for 'gone'
    -- The best estimate of when it happened: server_updated_at when it falls after the last sync
    -- that saw the earlier state (the server moved updated_at for this change), else observed_at.
    changed_at        TEXT    NOT NULL,
    changed_at_source TEXT    NOT NULL CHECK (changed_at_source IN ('server', 'sync')),
    sync_run_id       INTEGER NOT NULL REFERENCES sync_runs (id),
    version           INTEGER,  -- the version that carries this status; NULL for 'gone'
    FOREIGN KEY (job_uid, version) REFERENCES snapshots (job_uid, version)
);
CREATE INDEX status_history_by_stream ON status_history (job_uid, changed_at);
-- Whether a stream existed at a moment: its last presence event (first seen, gone, back) by then.
CREATE INDEX status_history_presence ON status_history (job_uid, observed_at)
    WHERE event IN ('first_seen', 'gone', 'back');

-- ---------------------------------------------------------------------------------------------
-- Views: the names analysts query.
-- ---------------------------------------------------------------------------------------------

-- One row per distinct state of a stream, with the whole payload as served.
CREATE VIEW stream_versions AS
SELECT
    s.job_uid,
    s.version,
    s.observed_at,
    -- When the next version replaced this one; NULL for the current version.
    (SELECT n.observed_at FROM snapshots AS n
      WHERE n.job_uid = s.job_uid AND n.version = s.version + 1) AS valid_to,
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
    s.content_hash,
    s.sync_run_id,
    s.platform_config_id,
    s.binary_config_id,
    s.rest_id
FROM snapshots AS s
JOIN documents AS r ON r.id = s.rest_id
LEFT JOIN documents AS p ON p.id = s.platform_config_id
LEFT JOIN documents AS b ON b.id = s.binary_config_id;

-- Which regions each version of each stream belongs to.
CREATE VIEW stream_regions AS
SELECT s.job_uid, s.version, dr.region_id, rg.title AS region_title
FROM snapshots AS s
JOIN document_regions AS dr ON dr.document_id = s.rest_id
JOIN regions AS rg ON rg.id = dr.region_id;

-- One row per detection area per version of each stream.
CREATE VIEW areas AS
SELECT s.job_uid, s.version, ca.area_id, ca.shape, ca.point_count, ca.position
FROM snapshots AS s
JOIN config_areas AS ca ON ca.document_id = s.platform_config_id;

-- One row per fence per version of each stream.
CREATE VIEW fences AS
SELECT s.job_uid, s.version, cf.fence_id, cf.fence, cf.position
FROM snapshots AS s
JOIN config_fences AS cf ON cf.document_id = s.platform_config_id;

-- The streams the server has now (as of the last sync), with their regions' titles.
CREATE VIEW current_streams AS
SELECT
    st.job_uid, st.id, st.status, st.case_type, st.stream_case_type, st.stream_uid,
    st.camera_group_uid, st.ovms_client, st.created_at, st.updated_at,
    (SELECT group_concat(rg.title, ', ') FROM snapshots AS s
       JOIN document_regions AS dr ON dr.document_id = s.rest_id
       JOIN regions AS rg ON rg.id = dr.region_id
      WHERE s.job_uid = st.job_uid AND s.version = st.current_version) AS regions,
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
    SELECT h.*,
           lead(h.changed_at) OVER (PARTITION BY h.job_uid ORDER BY h.changed_at, h.id) AS ended_at
    FROM status_history AS h
);
