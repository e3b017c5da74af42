-- 0004: sources. A database holds the history of one or more analytics servers (large operators
-- run one platform installation per city or customer). Every stream belongs to the source that
-- served it, and every run to the source it synced: a sync of one source re-checks, and marks
-- gone, only that source's streams.
--
-- Existing databases get one source per distinct `sync_runs.source_url`, named after its host
-- (`analytics.example`; a second URL on the same host gets `-2`, and so on); each stream goes to
-- the source of the run that last saw it. The migration checks that every run and every stream
-- found its source, and rolls back otherwise.

-- One row per analytics server the database has synced.
CREATE TABLE sources (
    id              INTEGER PRIMARY KEY,
    -- Short and unique: the user's choice (`[[source]] name` in streamdb.toml, sync --source), by
    -- default the host of the URL. The source is its name: its URL may change.
    name            TEXT    NOT NULL UNIQUE CHECK (name <> ''),
    -- The server's base URL as last synced (scheme, host, port, path). Never credentials.
    base_url        TEXT    NOT NULL,
    first_synced_at TEXT,  -- the start of its first run
    last_synced_at  TEXT   -- the start of its last run
);

INSERT INTO sources (name, base_url, first_synced_at, last_synced_at)
SELECT CASE n WHEN 1 THEN host ELSE host || '-' || n END, source_url, first_at, last_at
FROM (
    SELECT *, row_number() OVER (PARTITION BY host ORDER BY first_run) AS n
    FROM (
        SELECT source_url, first_run, first_at, last_at,
               CASE
                   WHEN instr(rest, ':') > 0 AND (instr(rest, '/') = 0 OR instr(rest, ':') < instr(rest, '/'))
                       THEN substr(rest, 1, instr(rest, ':') - 1)
                   WHEN instr(rest, '/') > 0 THEN substr(rest, 1, instr(rest, '/') - 1)
                   ELSE rest
               END AS host
        FROM (
            SELECT source_url, min(id) AS first_run, min(started_at) AS first_at, max(started_at) AS last_at,
                   substr(source_url, instr(source_url, '://') + 3) AS rest
            FROM sync_runs GROUP BY source_url
        )
    )
)
ORDER BY first_run;

-- The source a run synced.
ALTER TABLE sync_runs ADD COLUMN source_id INTEGER REFERENCES sources (id);
UPDATE sync_runs SET source_id = (SELECT s.id FROM sources AS s WHERE s.base_url = sync_runs.source_url);

-- The source that serves the stream.
ALTER TABLE streams ADD COLUMN source_id INTEGER REFERENCES sources (id);
UPDATE streams SET source_id = coalesce(
    (SELECT r.source_id FROM sync_runs AS r WHERE r.id = streams.last_seen_run_id),
    (SELECT r.source_id FROM versions AS v JOIN sync_runs AS r ON r.id = v.sync_run_id
      WHERE v.stream_id = streams.stream_id ORDER BY v.version DESC LIMIT 1));

-- A sync reads its source's present streams.
CREATE INDEX streams_by_source ON streams (source_id, gone_at);

-- Every run and every stream found its source, or nothing of this migration stays: a failed
-- CHECK rolls it back.
CREATE TEMP TABLE migration_0004_kept_everything (
    what TEXT    NOT NULL,
    kept INTEGER NOT NULL CHECK (kept = 1)
);
INSERT INTO migration_0004_kept_everything (what, kept)
VALUES ('every run has its source', NOT EXISTS (SELECT 1 FROM sync_runs WHERE source_id IS NULL)),
       ('every stream has its source', NOT EXISTS (SELECT 1 FROM streams WHERE source_id IS NULL));
DROP TABLE migration_0004_kept_everything;

-- The views analysts read carry the source's name.
DROP VIEW current_streams;
CREATE VIEW current_streams AS
SELECT
    st.job_uid, st.id, st.status, st.case_type, st.stream_case_type, st.stream_uid,
    st.camera_group_uid, st.ovms_client, st.created_at, st.updated_at,
    (SELECT group_concat(rg.title, ', ') FROM versions AS s
       JOIN document_regions AS dr ON dr.document_id = s.rest_id
       JOIN regions AS rg ON rg.id = dr.region_id
      WHERE s.stream_id = st.stream_id AND s.version = st.current_version) AS regions,
    st.current_version, st.first_seen_at, st.last_seen_at,
    src.name AS source
FROM streams AS st
LEFT JOIN sources AS src ON src.id = st.source_id
WHERE st.gone_at IS NULL;

DROP VIEW stream_versions;
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
    s.rest_id,
    src.name AS source
FROM versions AS s
JOIN streams AS st ON st.stream_id = s.stream_id
JOIN documents AS r ON r.id = s.rest_id
LEFT JOIN documents AS p ON p.id = s.platform_config_id
LEFT JOIN documents AS b ON b.id = s.binary_config_id
LEFT JOIN sources AS src ON src.id = st.source_id;
