-- 0007: status spans, materialised. `status_intervals` was a view that rebuilt every interval
-- from `status_history` (itself a union of versions and presence events) with a window function:
-- 7.6 s over a million events. Availability (`streamdb uptime`), flapping and the HTML report read
-- every interval of a window, so the intervals are now a table, `status_spans`, kept by triggers
-- as a sync writes its status events: a new event closes the stream's open span and opens one.
-- `status_intervals` keeps its columns and reads the table.
--
-- `versions_by_time` lets the change feed (`streamdb events --since ...`) read the versions of a
-- window instead of all of them.
--
-- Nothing stored changes: the spans are derived, filled here from the status events already
-- stored, and the migration refuses to finish unless there is exactly one span per event.

-- One row per status interval of a stream: from one status event (first seen, a change, gone,
-- back) to the next one, or open (ended_at NULL) for the stream's current state.
CREATE TABLE status_spans (
    id                INTEGER PRIMARY KEY,
    stream_id         INTEGER NOT NULL REFERENCES streams (stream_id),
    -- present: served with `status`; gone: the server answered 404 (status is NULL).
    presence          TEXT    NOT NULL CHECK (presence IN ('present', 'gone')),
    status            ANY,
    -- The event that opened the span: first_seen, changed, gone or back (status_history.event).
    started_by        TEXT    NOT NULL CHECK (started_by IN ('first_seen', 'changed', 'gone', 'back')),
    -- status_history.changed_at of that event, and where that time came from (server or sync).
    started_at        TEXT    NOT NULL,
    started_at_source TEXT,
    -- When the stream's next status event began; NULL while this is its current state.
    ended_at          TEXT,
    -- started_at and ended_at as Unix seconds (UTC, to the millisecond), for arithmetic:
    -- ended_unix - started_unix is the span's length. Reports read these, not the text.
    started_unix      REAL    NOT NULL,
    ended_unix        REAL,
    -- The version the event belongs to (NULL for gone) and the run that recorded it.
    version           INTEGER,
    sync_run_id       INTEGER REFERENCES sync_runs (id)
);
CREATE INDEX status_spans_by_stream ON status_spans (stream_id, started_at);
-- At most one open span per stream: the one a new event closes.
CREATE UNIQUE INDEX status_spans_open ON status_spans (stream_id) WHERE ended_at IS NULL;

INSERT INTO status_spans (stream_id, presence, status, started_by, started_at, started_at_source, ended_at,
                          started_unix, ended_unix, version, sync_run_id)
SELECT stream_id, presence, status, event, changed_at, changed_at_source, ended_at,
       (julianday(changed_at) - 2440587.5) * 86400.0, (julianday(ended_at) - 2440587.5) * 86400.0,
       version, sync_run_id
FROM (
SELECT stream_id, CASE event WHEN 'gone' THEN 'gone' ELSE 'present' END AS presence, status, event, changed_at,
       changed_at_source,
       lead(changed_at) OVER (PARTITION BY stream_id ORDER BY changed_at, observed_at, event_order) AS ended_at,
       version, sync_run_id, observed_at, event_order
FROM (
    SELECT v.stream_id, CASE v.version WHEN 1 THEN 'first_seen' ELSE 'changed' END AS event, v.status,
           v.status_changed_at AS changed_at, v.status_changed_at_source AS changed_at_source,
           v.observed_at, v.version, v.sync_run_id, 0 AS event_order
    FROM versions AS v WHERE v.status_changed_at IS NOT NULL
    UNION ALL
    SELECT e.stream_id, e.event, e.status, e.changed_at, e.changed_at_source, e.observed_at, e.version,
           e.sync_run_id, e.id
    FROM presence_events AS e
)
)
ORDER BY stream_id, changed_at, observed_at, event_order;

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
       (SELECT count(*) FROM status_spans WHERE ended_at IS NULL)
     = (SELECT count(DISTINCT stream_id) FROM status_spans);
DROP TABLE migration_0007_kept_everything;

-- A version that carries a status event (status_changed_at set: first seen, or a change).
CREATE TRIGGER status_spans_from_versions AFTER INSERT ON versions
WHEN NEW.status_changed_at IS NOT NULL
BEGIN
    UPDATE status_spans
    SET ended_at = NEW.status_changed_at, ended_unix = (julianday(NEW.status_changed_at) - 2440587.5) * 86400.0
    WHERE stream_id = NEW.stream_id AND ended_at IS NULL;
    INSERT INTO status_spans (stream_id, presence, status, started_by, started_at, started_at_source,
                              started_unix, version, sync_run_id)
    VALUES (NEW.stream_id, 'present', NEW.status, CASE NEW.version WHEN 1 THEN 'first_seen' ELSE 'changed' END,
            NEW.status_changed_at, NEW.status_changed_at_source, (julianday(NEW.status_changed_at) - 2440587.5) * 86400.0,
            NEW.version, NEW.sync_run_id);
END;

-- A disappearance (404) or a return.
CREATE TRIGGER status_spans_from_presence AFTER INSERT ON presence_events
BEGIN
    UPDATE status_spans
    SET ended_at = NEW.changed_at, ended_unix = (julianday(NEW.changed_at) - 2440587.5) * 86400.0
    WHERE stream_id = NEW.stream_id AND ended_at IS NULL;
    INSERT INTO status_spans (stream_id, presence, status, started_by, started_at, started_at_source,
                              started_unix, version, sync_run_id)
    VALUES (NEW.stream_id, CASE NEW.event WHEN 'gone' THEN 'gone' ELSE 'present' END, NEW.status, NEW.event,
            NEW.changed_at, NEW.changed_at_source, (julianday(NEW.changed_at) - 2440587.5) * 86400.0,
            NEW.version, NEW.sync_run_id);
END;

-- The status intervals of every stream, with their length; the current one runs until now.
-- The same columns as before, read from status_spans.
DROP VIEW status_intervals;
CREATE VIEW status_intervals AS
SELECT
    st.job_uid,
    s.presence,
    s.status,
    s.started_by,
    s.started_at,
    s.started_at_source,
    s.ended_at,
    round(coalesce(s.ended_unix, (julianday('now') - 2440587.5) * 86400.0) - s.started_unix, 3) AS duration_seconds
FROM status_spans AS s
JOIN streams AS st ON st.stream_id = s.stream_id;

CREATE INDEX versions_by_time ON versions (observed_at);
