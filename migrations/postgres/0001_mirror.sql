-- The team mirror: the histories of several streamdb hosts in one PostgreSQL database, written
-- only by `streamdb publish` (and `sync --publish-to`). Each host keeps its SQLite file; this is a
-- copy of it, published incrementally. Tables and views carry the SQLite names (docs/schema.md);
-- what differs is said here.
--
-- Keys. Each published SQLite file is an *origin* (table `origins`, by the uuid in the file's
-- `database_identity`). A row's id here is its id in its file plus origin_id * 2^40:
-- `local_id(id)` gives the file's id back, `origin_of(id)` the origin. Ids of different hosts
-- never collide, and every join of the SQLite schema works unchanged.
--
-- Types. Text is stored as the file holds it: documents byte for byte, times as the ISO 8601 text
-- streamdb and the server wrote. Statuses (an integer or a string, as served) are jsonb: 6 and
-- "6" stay distinct. Views expose the JSON documents as jsonb (`payload`, `platform_config`,
-- `binary_config`); the tables keep the exact text, which jsonb would reorder.

-- ---------------------------------------------------------------------------------------------
-- Who published what, and how far.

CREATE TABLE origins (
    id                    integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY CHECK (id < 8388608),
    database_uuid         text        NOT NULL UNIQUE,  -- database_identity.uuid of the SQLite file
    host                  text        NOT NULL,         -- the host that published it last
    path                  text        NOT NULL,         -- the file's path there
    first_published_at    timestamptz NOT NULL DEFAULT now(),
    last_published_at     timestamptz,
    -- The high-water marks, in the file's own ids, moved in the transaction that copies the rows:
    published_run_id      bigint      NOT NULL DEFAULT 0,  -- every run up to it, with its rows
    published_stream_id   bigint      NOT NULL DEFAULT 0,
    published_document_id bigint      NOT NULL DEFAULT 0,
    published_error_id    bigint      NOT NULL DEFAULT 0,
    published_presence_id bigint      NOT NULL DEFAULT 0,
    published_span_id     bigint      NOT NULL DEFAULT 0
);
COMMENT ON TABLE origins IS 'One row per published streamdb SQLite file, with how far it was published.';

CREATE TABLE publishes (
    id                integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    origin_id         integer     NOT NULL REFERENCES origins (id),
    started_at        timestamptz NOT NULL,
    finished_at       timestamptz NOT NULL DEFAULT now(),
    runs_from         bigint      NOT NULL,  -- the file's run ids this publish added: (runs_from, runs_to]
    runs_to           bigint      NOT NULL,
    rows_copied       bigint      NOT NULL,  -- rows inserted or updated, all tables
    streamdb_version  text        NOT NULL
);
COMMENT ON TABLE publishes IS 'The ledger of publishes that committed (one that failed left nothing).';

CREATE FUNCTION local_id(id bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT id & 1099511627775';
CREATE FUNCTION origin_of(id bigint) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT (id >> 40)::integer';

-- JSON text as jsonb, NULL where PostgreSQL refuses it (a \u0000 in a string, say): one odd
-- document never breaks a whole query.
CREATE FUNCTION as_jsonb(document text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN document::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- The tables of the SQLite schema (docs/schema.md), keyed as said above.

CREATE TABLE sources (
    id              bigint  PRIMARY KEY,
    origin_id       integer NOT NULL REFERENCES origins (id),
    name            text    NOT NULL UNIQUE CHECK (name <> ''),  -- one source, one origin
    base_url        text    NOT NULL,
    first_synced_at text,
    last_synced_at  text
);

CREATE TABLE sync_runs (
    id                bigint  PRIMARY KEY,
    origin_id         integer NOT NULL REFERENCES origins (id),
    started_at        text    NOT NULL,
    finished_at       text,
    source_url        text    NOT NULL,
    outcome           text    NOT NULL,
    listing           text,
    streams_seen      integer NOT NULL,
    streams_new       integer NOT NULL,
    streams_changed   integer NOT NULL,
    streams_unchanged integer NOT NULL,
    streams_gone      integer NOT NULL,
    streams_back      integer NOT NULL,
    errors            integer NOT NULL,
    message           text,
    streamdb_version  text,
    source_id         bigint  REFERENCES sources (id)
);

CREATE TABLE sync_errors (
    id          bigint  PRIMARY KEY,
    sync_run_id bigint  NOT NULL REFERENCES sync_runs (id),
    job_uid     text,
    kind        text    NOT NULL,
    http_status integer,
    url         text,
    attempts    integer,
    message     text    NOT NULL,
    occurred_at text    NOT NULL
);
CREATE INDEX sync_errors_by_run ON sync_errors (sync_run_id);

CREATE TABLE documents (
    id          bigint  PRIMARY KEY,
    origin_id   integer NOT NULL REFERENCES origins (id),
    sha256      text    NOT NULL,
    json        text,   -- canonical JSON text, as in the file (as_jsonb(json) for jsonb)
    raw         text,
    parse_error text,
    served      text,
    UNIQUE (origin_id, sha256)
);

CREATE TABLE regions (
    origin_id     integer NOT NULL REFERENCES origins (id),
    id            bigint  NOT NULL,  -- the server's region id (not offset: it is the server's)
    title         text    NOT NULL,
    first_seen_at text    NOT NULL,
    PRIMARY KEY (origin_id, id)
);

CREATE TABLE document_regions (
    document_id bigint  NOT NULL REFERENCES documents (id),
    position    integer NOT NULL,
    region_id   bigint  NOT NULL,  -- regions.id of the document's origin
    PRIMARY KEY (document_id, position)
);
CREATE INDEX document_regions_by_region ON document_regions (region_id);

CREATE TABLE config_areas (
    document_id bigint  NOT NULL REFERENCES documents (id),
    position    integer NOT NULL,
    area_id     text,
    shape       text,
    point_count integer,
    PRIMARY KEY (document_id, position)
);

CREATE TABLE config_fences (
    document_id bigint  NOT NULL REFERENCES documents (id),
    position    integer NOT NULL,
    fence_id    text,
    fence       text    NOT NULL,
    PRIMARY KEY (document_id, position)
);

CREATE TABLE config_case_types (
    document_id bigint PRIMARY KEY REFERENCES documents (id),
    case_type   text
);

CREATE TABLE streams (
    stream_id            bigint  PRIMARY KEY,
    origin_id            integer NOT NULL REFERENCES origins (id),
    job_uid              text    NOT NULL,
    id                   bigint,
    status               jsonb,
    stream_uid           text,
    camera_group_uid     text,
    case_type            text,
    stream_case_type     bigint,
    ovms_client          bigint,
    created_at           text,
    updated_at           text,
    first_seen_at        text    NOT NULL,
    last_seen_at         text    NOT NULL,
    last_seen_run_id     bigint,
    gone_at              text,
    current_version      integer NOT NULL,
    current_content_hash text    NOT NULL,
    served_digest        text,
    source_id            bigint  REFERENCES sources (id),
    UNIQUE (origin_id, job_uid)
);
CREATE INDEX streams_by_job_uid ON streams (job_uid);
CREATE INDEX streams_by_source ON streams (source_id, gone_at);

CREATE TABLE versions (
    stream_id                bigint  NOT NULL REFERENCES streams (stream_id),
    version                  integer NOT NULL CHECK (version >= 1),
    observed_at              text    NOT NULL,
    sync_run_id              bigint  NOT NULL REFERENCES sync_runs (id),
    content_hash             text    NOT NULL,  -- hex (a BLOB in the file)
    status                   jsonb,
    server_updated_at        text,
    rest_id                  bigint  NOT NULL REFERENCES documents (id),
    platform_config_id       bigint  REFERENCES documents (id),
    binary_config_id         bigint  REFERENCES documents (id),
    status_changed_at        text,
    status_changed_at_source text,
    PRIMARY KEY (stream_id, version)
);
CREATE INDEX versions_by_run ON versions (sync_run_id);

CREATE TABLE presence_events (
    id                bigint  PRIMARY KEY,
    stream_id         bigint  NOT NULL REFERENCES streams (stream_id),
    event             text    NOT NULL,
    status            jsonb,
    previous_status   jsonb,
    observed_at       text    NOT NULL,
    server_updated_at text,
    changed_at        text    NOT NULL,
    changed_at_source text    NOT NULL,
    sync_run_id       bigint  NOT NULL REFERENCES sync_runs (id),
    version           integer
);
CREATE INDEX presence_events_by_stream ON presence_events (stream_id, observed_at);

CREATE TABLE stream_replacements (
    old_stream_id bigint NOT NULL REFERENCES streams (stream_id),
    new_stream_id bigint NOT NULL REFERENCES streams (stream_id),
    stream_uid    text   NOT NULL,
    case_type     text,
    detected_at   text   NOT NULL,
    sync_run_id   bigint NOT NULL REFERENCES sync_runs (id),
    verdict       text   NOT NULL,
    PRIMARY KEY (old_stream_id, new_stream_id)
);
CREATE INDEX stream_replacements_by_new ON stream_replacements (new_stream_id);

CREATE TABLE status_spans (
    id              bigint  PRIMARY KEY,
    stream_id       bigint  NOT NULL REFERENCES streams (stream_id),
    started_by      text    NOT NULL,
    status          jsonb,
    started_us      bigint  NOT NULL,
    ended_us        bigint,
    from_server     integer NOT NULL,
    version         integer,
    sync_run_id     bigint  REFERENCES sync_runs (id),
    previous_status jsonb
);
CREATE INDEX status_spans_by_stream ON status_spans (stream_id, started_us);

CREATE TABLE document_changes (
    stream_id          bigint  NOT NULL,
    version            integer NOT NULL,
    observed_at        text    NOT NULL,
    sync_run_id        bigint  NOT NULL REFERENCES sync_runs (id),
    platform_config_id bigint,
    previous_config_id bigint,
    rest_id            bigint  NOT NULL,
    previous_rest_id   bigint  NOT NULL,
    PRIMARY KEY (stream_id, version),
    FOREIGN KEY (stream_id, version) REFERENCES versions (stream_id, version)
);

CREATE TABLE database_identity (
    origin_id  integer PRIMARY KEY REFERENCES origins (id),
    uuid       text    NOT NULL,
    created_at text    NOT NULL
);

-- ---------------------------------------------------------------------------------------------
-- The views of the SQLite schema, same names, same columns.

CREATE VIEW snapshots AS
SELECT st.job_uid, v.version, v.observed_at, v.sync_run_id, v.content_hash, v.status, v.server_updated_at,
       v.rest_id, v.platform_config_id, v.binary_config_id
FROM versions AS v
JOIN streams AS st ON st.stream_id = v.stream_id;

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

CREATE VIEW stream_regions AS
SELECT st.job_uid, s.version, dr.region_id, rg.title AS region_title
FROM versions AS s
JOIN streams AS st ON st.stream_id = s.stream_id
JOIN document_regions AS dr ON dr.document_id = s.rest_id
JOIN regions AS rg ON rg.origin_id = st.origin_id AND rg.id = dr.region_id;

CREATE VIEW areas AS
SELECT st.job_uid, s.version, ca.area_id, as_jsonb(ca.shape) AS shape, ca.point_count, ca.position
FROM versions AS s
JOIN streams AS st ON st.stream_id = s.stream_id
JOIN config_areas AS ca ON ca.document_id = s.platform_config_id;

CREATE VIEW fences AS
SELECT st.job_uid, s.version, cf.fence_id, as_jsonb(cf.fence) AS fence, cf.position
FROM versions AS s
JOIN streams AS st ON st.stream_id = s.stream_id
JOIN config_fences AS cf ON cf.document_id = s.platform_config_id;

CREATE VIEW current_streams AS
SELECT
    st.job_uid, st.id, st.status, st.case_type, st.stream_case_type, st.stream_uid,
    st.camera_group_uid, st.ovms_client, st.created_at, st.updated_at,
    (SELECT string_agg(rg.title, ', ' ORDER BY dr.position) FROM versions AS s
       JOIN document_regions AS dr ON dr.document_id = s.rest_id
       JOIN regions AS rg ON rg.origin_id = st.origin_id AND rg.id = dr.region_id
      WHERE s.stream_id = st.stream_id AND s.version = st.current_version) AS regions,
    st.current_version, st.first_seen_at, st.last_seen_at,
    src.name AS source
FROM streams AS st
LEFT JOIN sources AS src ON src.id = st.source_id
WHERE st.gone_at IS NULL;

CREATE VIEW replacements AS
SELECT o.job_uid AS old_job_uid, n.job_uid AS new_job_uid, r.stream_uid, r.case_type, r.detected_at, r.sync_run_id
FROM stream_replacements AS r
JOIN streams AS o ON o.stream_id = r.old_stream_id
JOIN streams AS n ON n.stream_id = r.new_stream_id
WHERE r.verdict = 'replaced';

CREATE VIEW stream_versions AS
SELECT
    st.job_uid,
    s.version,
    s.observed_at,
    (SELECT n.observed_at FROM versions AS n
      WHERE n.stream_id = s.stream_id AND n.version = s.version + 1) AS valid_to,
    s.status,
    as_jsonb(r.json) -> 'regions' AS regions,
    as_jsonb(p.json) ->> 'CaseType' AS case_type,
    s.server_updated_at,
    as_jsonb(r.json) || jsonb_build_object(
        'status', s.status,
        'updated_at', s.server_updated_at,
        'platform_json', coalesce(p.served, p.json, p.raw),
        'binary_json', coalesce(b.served, b.json, b.raw)) AS payload,
    as_jsonb(p.json) AS platform_config,
    as_jsonb(b.json) AS binary_config,
    s.content_hash,
    s.sync_run_id,
    s.platform_config_id,
    s.binary_config_id,
    s.rest_id,
    src.name AS source,
    CASE WHEN (p.json IS NOT NULL AND p.served IS NULL) OR (b.json IS NOT NULL AND b.served IS NULL) THEN 0 ELSE 1 END
        AS configs_as_served
FROM versions AS s
JOIN streams AS st ON st.stream_id = s.stream_id
JOIN documents AS r ON r.id = s.rest_id
LEFT JOIN documents AS p ON p.id = s.platform_config_id
LEFT JOIN documents AS b ON b.id = s.binary_config_id
LEFT JOIN sources AS src ON src.id = st.source_id;

CREATE VIEW stream_chains AS
WITH RECURSIVE chain (chain_job_uid, job_uid, stream_id, position) AS (
    SELECT st.job_uid, st.job_uid, st.stream_id, 1
    FROM streams AS st
    WHERE NOT EXISTS (SELECT 1 FROM stream_replacements AS r WHERE r.new_stream_id = st.stream_id AND r.verdict = 'replaced')
    UNION ALL
    SELECT c.chain_job_uid, n.job_uid, n.stream_id, c.position + 1
    FROM chain AS c
    JOIN stream_replacements AS r ON r.old_stream_id = c.stream_id AND r.verdict = 'replaced'
    JOIN streams AS n ON n.stream_id = r.new_stream_id
)
SELECT chain_job_uid, job_uid, position FROM chain;

CREATE VIEW chain_versions AS
SELECT c.chain_job_uid, c.position, v.*
FROM stream_chains AS c
JOIN stream_versions AS v ON v.job_uid = c.job_uid;

-- Microseconds since 1970 as the ISO 8601 text streamdb writes (2026-12-01T10:00:00.000000Z).
CREATE FUNCTION iso_time(microseconds bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
    'SELECT to_char((timestamptz ''epoch'' + microseconds * interval ''1 microsecond'') AT TIME ZONE ''UTC'', ''YYYY-MM-DD"T"HH24:MI:SS.US"Z"'')';

CREATE VIEW status_intervals AS
SELECT
    st.job_uid,
    CASE s.started_by WHEN 'gone' THEN 'gone' ELSE 'present' END AS presence,
    s.status,
    s.started_by,
    iso_time(s.started_us) AS started_at,
    CASE s.from_server WHEN 1 THEN 'server' ELSE 'sync' END AS started_at_source,
    iso_time(s.ended_us) AS ended_at,
    round(((coalesce(s.ended_us, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint) + 500) / 1000
           - (s.started_us + 500) / 1000) / 1000.0, 3) AS duration_seconds
FROM status_spans AS s
JOIN streams AS st ON st.stream_id = s.stream_id;
