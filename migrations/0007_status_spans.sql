-- 0007: status spans, materialised. `status_intervals` was a view that rebuilt every interval
-- from `status_history` (itself a union of versions and presence events) with a window function:
-- 7.6 s over a million events. Availability (`streamdb uptime`), flapping and the HTML report read
-- every interval of a window, so the intervals are now a table, `status_spans`, kept by triggers
-- as a sync writes its status events: a new event closes the stream's open span and opens one.
-- `status_intervals` keeps its columns and reads the table.
--
-- A span is small (times as integer microseconds, no text copies), because every status change
-- costs one: a status-only version stays under 300 bytes with its span.
--
-- `versions_by_run` lets the change feed (`streamdb events --since ...`, `--last-run`) read the
-- versions of the runs in its window instead of all of them.
--
-- Nothing stored changes: the spans are derived, filled here from the status events already
-- stored, and the migration refuses to finish unless there is exactly one span per event.

-- One row per status interval of a stream: from one status event (first seen, a change, gone,
-- back) to the next one, or open (ended_us NULL) for the stream's current state.
CREATE TABLE status_spans (
    id          INTEGER PRIMARY KEY,
    stream_id   INTEGER NOT NULL REFERENCES streams (stream_id),
    -- The event that opened the span: first_seen, changed, gone (the server answered 404; status
    -- is NULL) or back (status_history.event).
    started_by  TEXT    NOT NULL CHECK (started_by IN ('first_seen', 'changed', 'gone', 'back')),
    status      ANY,
    -- status_history.changed_at of that event, as microseconds since 1970-01-01 UTC (exact for
    -- the database's times, 2024-02-04T12:15:11.545908Z); status_intervals shows it as text.
    started_us  INTEGER NOT NULL,
    -- When the stream's next status event began; NULL while this is its current state.
    ended_us    INTEGER,
    -- Where the start time came from: 1 the payload's updated_at (server), 0 the sync.
    from_server INTEGER NOT NULL,
    -- The version the event belongs to (NULL for gone) and the run that recorded it.
    version     INTEGER,
    sync_run_id INTEGER REFERENCES sync_runs (id)
);
-- At most one open span per stream: the one a new event closes.
CREATE UNIQUE INDEX status_spans_open ON status_spans (stream_id) WHERE ended_us IS NULL;

-- A database time as microseconds: exact for the 27-character form streamdb writes, to the
-- millisecond for any other time SQLite reads.
CREATE TEMP VIEW migration_0007_events AS
SELECT stream_id, event, status, changed_at_source, version, sync_run_id, observed_at, event_order,
       CASE WHEN length(changed_at) = 27 AND substr(changed_at, 20, 1) = '.'
            THEN unixepoch(changed_at) * 1000000 + CAST(substr(changed_at, 21, 6) AS INTEGER)
            ELSE CAST(round((julianday(changed_at) - 2440587.5) * 86400000000.0) AS INTEGER) END AS changed_us
FROM (
    SELECT v.stream_id, CASE v.version WHEN 1 THEN 'first_seen' ELSE 'changed' END AS event, v.status,
           v.status_changed_at AS changed_at, v.status_changed_at_source AS changed_at_source,
           v.observed_at, v.version, v.sync_run_id, 0 AS event_order
    FROM versions AS v WHERE v.status_changed_at IS NOT NULL
    UNION ALL
    SELECT e.stream_id, e.event, e.status, e.changed_at, e.changed_at_source, e.observed_at, e.version,
           e.sync_run_id, e.id
    FROM presence_events AS e
);

INSERT INTO status_spans (stream_id, started_by, status, started_us, ended_us, from_server, version, sync_run_id)
SELECT stream_id, event, status, changed_us,
       lead(changed_us) OVER (PARTITION BY stream_id ORDER BY changed_us, observed_at, event_order),
       changed_at_source = 'server', version, sync_run_id
FROM migration_0007_events
ORDER BY stream_id, changed_us, observed_at, event_order;
DROP VIEW migration_0007_events;

-- Every status event has its span, and every stream at most one open one. A CHECK failing here
-- rolls the migration back and leaves the database as it was.
CREATE TEMP TABLE migration_0007_kept_everything (
    what TEXT NOT NULL,
    kept INTEGER NOT NULL CHECK (kept = 1)
);
INSERT INTO migration_0007_kept_everything (what, kept)
SELECT 'one span per status event',
       (SELECT count(*) FROM status_spans)
     = (SELECT count(*) FROM versions WHERE status_changed_at IS NOT NULL) + (SELECT count(*) FROM presence_events)
UNION ALL
SELECT 'one open span per stream with events',
       (SELECT count(*) FROM status_spans WHERE ended_us IS NULL)
     = (SELECT count(DISTINCT stream_id) FROM status_spans);
DROP TABLE migration_0007_kept_everything;

-- A version that carries a status event (status_changed_at set: first seen, or a change).
CREATE TRIGGER status_spans_from_versions AFTER INSERT ON versions
WHEN NEW.status_changed_at IS NOT NULL
BEGIN
    UPDATE status_spans
    SET ended_us = CASE WHEN length(NEW.status_changed_at) = 27 AND substr(NEW.status_changed_at, 20, 1) = '.'
                        THEN unixepoch(NEW.status_changed_at) * 1000000 + CAST(substr(NEW.status_changed_at, 21, 6) AS INTEGER)
                        ELSE CAST(round((julianday(NEW.status_changed_at) - 2440587.5) * 86400000000.0) AS INTEGER) END
    WHERE stream_id = NEW.stream_id AND ended_us IS NULL;
    INSERT INTO status_spans (stream_id, started_by, status, started_us, from_server, version, sync_run_id)
    VALUES (NEW.stream_id, CASE NEW.version WHEN 1 THEN 'first_seen' ELSE 'changed' END, NEW.status,
            CASE WHEN length(NEW.status_changed_at) = 27 AND substr(NEW.status_changed_at, 20, 1) = '.'
                 THEN unixepoch(NEW.status_changed_at) * 1000000 + CAST(substr(NEW.status_changed_at, 21, 6) AS INTEGER)
                 ELSE CAST(round((julianday(NEW.status_changed_at) - 2440587.5) * 86400000000.0) AS INTEGER) END,
            NEW.status_changed_at_source = 'server', NEW.version, NEW.sync_run_id);
END;

-- A disappearance (404) or a return.
CREATE TRIGGER status_spans_from_presence AFTER INSERT ON presence_events
BEGIN
    UPDATE status_spans
    SET ended_us = CASE WHEN length(NEW.changed_at) = 27 AND substr(NEW.changed_at, 20, 1) = '.'
                        THEN unixepoch(NEW.changed_at) * 1000000 + CAST(substr(NEW.changed_at, 21, 6) AS INTEGER)
                        ELSE CAST(round((julianday(NEW.changed_at) - 2440587.5) * 86400000000.0) AS INTEGER) END
    WHERE stream_id = NEW.stream_id AND ended_us IS NULL;
    INSERT INTO status_spans (stream_id, started_by, status, started_us, from_server, version, sync_run_id)
    VALUES (NEW.stream_id, NEW.event, NEW.status,
            CASE WHEN length(NEW.changed_at) = 27 AND substr(NEW.changed_at, 20, 1) = '.'
                 THEN unixepoch(NEW.changed_at) * 1000000 + CAST(substr(NEW.changed_at, 21, 6) AS INTEGER)
                 ELSE CAST(round((julianday(NEW.changed_at) - 2440587.5) * 86400000000.0) AS INTEGER) END,
            NEW.changed_at_source = 'server', NEW.version, NEW.sync_run_id);
END;

-- The status intervals of every stream, with their length; the current one runs until now.
-- The same columns as before, read from status_spans: the times as the database writes them,
-- the length to the millisecond as before.
DROP VIEW status_intervals;
CREATE VIEW status_intervals AS
SELECT
    st.job_uid,
    CASE s.started_by WHEN 'gone' THEN 'gone' ELSE 'present' END AS presence,
    s.status,
    s.started_by,
    strftime('%Y-%m-%dT%H:%M:%S', s.started_us / 1000000, 'unixepoch') || printf('.%06dZ', s.started_us % 1000000)
        AS started_at,
    CASE s.from_server WHEN 1 THEN 'server' ELSE 'sync' END AS started_at_source,
    strftime('%Y-%m-%dT%H:%M:%S', s.ended_us / 1000000, 'unixepoch') || printf('.%06dZ', s.ended_us % 1000000)
        AS ended_at,
    round(((coalesce(s.ended_us, CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)) + 500) / 1000
           - (s.started_us + 500) / 1000) / 1000.0, 3) AS duration_seconds
FROM status_spans AS s
JOIN streams AS st ON st.stream_id = s.stream_id;

CREATE INDEX versions_by_run ON versions (sync_run_id);

-- The replacement rule of 0005, unchanged but for one `+`: with versions_by_run, SQLite would
-- start from the versions of the run and search the source's streams for each (quadratic in the
-- fleet: 13 s after a first sync of 10,000). The `+` keeps it to each new stream's version 1.
DROP VIEW replacement_candidates;
CREATE VIEW replacement_candidates AS
WITH gone AS (
    SELECT e.stream_id AS old_id, e.sync_run_id AS run, e.observed_at,
           st.stream_uid, st.case_type, st.source_id
    FROM presence_events AS e
    JOIN streams AS st ON st.stream_id = e.stream_id
    WHERE e.event = 'gone' AND st.stream_uid IS NOT NULL
),
runs AS (
    SELECT id, lag(id) OVER (PARTITION BY source_id ORDER BY id) AS previous FROM sync_runs
),
born AS (
    SELECT st.stream_id AS new_id, +v.sync_run_id AS run, st.stream_uid, st.case_type, st.source_id
    FROM streams AS st
    JOIN versions AS v ON v.stream_id = st.stream_id AND v.version = 1
    WHERE st.stream_uid IS NOT NULL
),
pairs AS (
    SELECT g.old_id, b.new_id, g.stream_uid, g.case_type, g.run, g.observed_at
    FROM gone AS g
    JOIN runs AS r ON r.id = g.run
    JOIN born AS b ON b.stream_uid = g.stream_uid AND b.case_type IS g.case_type AND b.source_id IS g.source_id
                  AND (b.run = g.run OR b.run = r.previous) AND b.new_id <> g.old_id
)
SELECT old_id AS old_stream_id, new_id AS new_stream_id, stream_uid, case_type, observed_at AS detected_at,
       run AS sync_run_id,
       CASE WHEN count(*) OVER (PARTITION BY old_id, run) = 1 AND count(*) OVER (PARTITION BY new_id) = 1
            THEN 'replaced' ELSE 'ambiguous' END AS verdict
FROM pairs;
