-- 0008: the change feed, materialised. `streamdb events` read every version of the runs in its
-- window, each with the version before it, to find the status, config and regions changes among
-- them: 40,000 random reads across the file for a day of a 10,000-stream fleet, for events that
-- are mostly status changes the spans of 0007 already hold. Now:
--
--   * a status span carries the status before it (`previous_status`), so a status event is one
--     span row; `status_spans_by_run` finds the spans a run recorded;
--   * `document_changes` holds one row per version whose pipeline config or payload document
--     differs from the version before (a config event, and a regions event when the regions
--     differ): rare rows, so a status-only version costs nothing here;
--   * `presence_events_by_run` finds the disappearances and returns a run recorded;
--   * `versions_by_run` (0007) goes: nothing reads versions by run any more.
--
-- Nothing stored changes: the new rows are derived, filled here from what is stored, and the
-- migration refuses to finish unless they match what they are derived from.

-- The status before the span's event: for a status change (`changed`) the status of the version
-- before; for `gone` the last status served (presence_events.previous_status); NULL for
-- `first_seen` and `back` (as presence_events records a return).
ALTER TABLE status_spans ADD COLUMN previous_status ANY;

UPDATE status_spans
SET previous_status = (SELECT p.status FROM versions AS p
                       WHERE p.stream_id = status_spans.stream_id AND p.version = status_spans.version - 1)
WHERE started_by = 'changed';

-- A stream records at most one presence event per run: the span of a gone is found by stream,
-- run and time.
UPDATE status_spans
SET previous_status = (SELECT e.previous_status FROM presence_events AS e
                       WHERE e.stream_id = status_spans.stream_id AND e.sync_run_id = status_spans.sync_run_id
                         AND e.event = 'gone'
                       ORDER BY e.id LIMIT 1)
WHERE started_by = 'gone';

CREATE INDEX status_spans_by_run ON status_spans (sync_run_id);
CREATE INDEX presence_events_by_run ON presence_events (sync_run_id);

-- The feed no longer reads versions by run, and nothing else did: the index of 0007 cost every
-- version about as much as the spans' new index and column cost a status change, so a
-- status-only version stays under 300 bytes. (A question about one run's versions, rare and
-- ad hoc, scans versions; `status_spans_by_run` and `document_changes_by_run` answer most.)
DROP INDEX versions_by_run;

-- One row per version (after the first) whose pipeline config or payload document (without the
-- status) differs from the version before: the candidates for a `config` event (the config ids
-- differ) and a `regions` event (the payload ids differ and so do its regions).
CREATE TABLE document_changes (
    stream_id          INTEGER NOT NULL,
    version            INTEGER NOT NULL,
    -- versions.observed_at of the version: when the sync saw the change
    observed_at        TEXT    NOT NULL,
    sync_run_id        INTEGER NOT NULL REFERENCES sync_runs (id),
    platform_config_id INTEGER REFERENCES documents (id),
    previous_config_id INTEGER REFERENCES documents (id),
    rest_id            INTEGER NOT NULL REFERENCES documents (id),
    previous_rest_id   INTEGER NOT NULL REFERENCES documents (id),
    PRIMARY KEY (stream_id, version),
    FOREIGN KEY (stream_id, version) REFERENCES versions (stream_id, version)
) WITHOUT ROWID;
CREATE INDEX document_changes_by_run ON document_changes (sync_run_id);

INSERT INTO document_changes (stream_id, version, observed_at, sync_run_id, platform_config_id, previous_config_id,
                              rest_id, previous_rest_id)
SELECT v.stream_id, v.version, v.observed_at, v.sync_run_id, v.platform_config_id, p.platform_config_id,
       v.rest_id, p.rest_id
FROM versions AS v
JOIN versions AS p ON p.stream_id = v.stream_id AND p.version = v.version - 1
WHERE v.platform_config_id IS NOT p.platform_config_id OR v.rest_id IS NOT p.rest_id
ORDER BY v.stream_id, v.version;

-- What was derived matches what it was derived from. A CHECK failing here rolls the migration
-- back and leaves the database as it was.
CREATE TEMP TABLE migration_0008_kept_everything (
    what TEXT NOT NULL,
    kept INTEGER NOT NULL CHECK (kept = 1)
);
INSERT INTO migration_0008_kept_everything (what, kept)
SELECT 'every status change carries the status of the version before',
       NOT EXISTS (SELECT 1 FROM status_spans AS s
                   JOIN versions AS p ON p.stream_id = s.stream_id AND p.version = s.version - 1
                   WHERE s.started_by = 'changed' AND s.previous_status IS NOT p.status)
UNION ALL
SELECT 'every disappearance carries the status served before it',
       (SELECT count(*) FROM status_spans WHERE started_by = 'gone')
     = (SELECT count(*) FROM presence_events WHERE event = 'gone')
   AND (SELECT count(*) FROM status_spans WHERE started_by = 'gone' AND previous_status IS NOT NULL)
     = (SELECT count(*) FROM presence_events WHERE event = 'gone' AND previous_status IS NOT NULL)
UNION ALL
SELECT 'one document change per version whose config or payload differs from the one before',
       (SELECT count(*) FROM document_changes)
     = (SELECT count(*) FROM versions AS v
        WHERE v.version > 1
          AND EXISTS (SELECT 1 FROM versions AS p
                      WHERE p.stream_id = v.stream_id AND p.version = v.version - 1
                        AND (p.platform_config_id IS NOT v.platform_config_id OR p.rest_id IS NOT v.rest_id)));
DROP TABLE migration_0008_kept_everything;

-- The triggers of 0007, now with the status before.
DROP TRIGGER status_spans_from_versions;
CREATE TRIGGER status_spans_from_versions AFTER INSERT ON versions
WHEN NEW.status_changed_at IS NOT NULL
BEGIN
    UPDATE status_spans
    SET ended_us = CASE WHEN length(NEW.status_changed_at) = 27 AND substr(NEW.status_changed_at, 20, 1) = '.'
                        THEN unixepoch(NEW.status_changed_at) * 1000000 + CAST(substr(NEW.status_changed_at, 21, 6) AS INTEGER)
                        ELSE CAST(round((julianday(NEW.status_changed_at) - 2440587.5) * 86400000000.0) AS INTEGER) END
    WHERE stream_id = NEW.stream_id AND ended_us IS NULL;
    INSERT INTO status_spans (stream_id, started_by, status, started_us, from_server, version, sync_run_id, previous_status)
    VALUES (NEW.stream_id, CASE NEW.version WHEN 1 THEN 'first_seen' ELSE 'changed' END, NEW.status,
            CASE WHEN length(NEW.status_changed_at) = 27 AND substr(NEW.status_changed_at, 20, 1) = '.'
                 THEN unixepoch(NEW.status_changed_at) * 1000000 + CAST(substr(NEW.status_changed_at, 21, 6) AS INTEGER)
                 ELSE CAST(round((julianday(NEW.status_changed_at) - 2440587.5) * 86400000000.0) AS INTEGER) END,
            NEW.status_changed_at_source = 'server', NEW.version, NEW.sync_run_id,
            (SELECT p.status FROM versions AS p WHERE p.stream_id = NEW.stream_id AND p.version = NEW.version - 1));
END;

DROP TRIGGER status_spans_from_presence;
CREATE TRIGGER status_spans_from_presence AFTER INSERT ON presence_events
BEGIN
    UPDATE status_spans
    SET ended_us = CASE WHEN length(NEW.changed_at) = 27 AND substr(NEW.changed_at, 20, 1) = '.'
                        THEN unixepoch(NEW.changed_at) * 1000000 + CAST(substr(NEW.changed_at, 21, 6) AS INTEGER)
                        ELSE CAST(round((julianday(NEW.changed_at) - 2440587.5) * 86400000000.0) AS INTEGER) END
    WHERE stream_id = NEW.stream_id AND ended_us IS NULL;
    INSERT INTO status_spans (stream_id, started_by, status, started_us, from_server, version, sync_run_id, previous_status)
    VALUES (NEW.stream_id, NEW.event, NEW.status,
            CASE WHEN length(NEW.changed_at) = 27 AND substr(NEW.changed_at, 20, 1) = '.'
                 THEN unixepoch(NEW.changed_at) * 1000000 + CAST(substr(NEW.changed_at, 21, 6) AS INTEGER)
                 ELSE CAST(round((julianday(NEW.changed_at) - 2440587.5) * 86400000000.0) AS INTEGER) END,
            NEW.changed_at_source = 'server', NEW.version, NEW.sync_run_id,
            CASE NEW.event WHEN 'gone' THEN NEW.previous_status END);
END;

-- A version whose config or payload document differs from the one before.
CREATE TRIGGER document_changes_from_versions AFTER INSERT ON versions
WHEN NEW.version > 1
BEGIN
    INSERT INTO document_changes (stream_id, version, observed_at, sync_run_id, platform_config_id, previous_config_id,
                                  rest_id, previous_rest_id)
    SELECT NEW.stream_id, NEW.version, NEW.observed_at, NEW.sync_run_id, NEW.platform_config_id, p.platform_config_id,
           NEW.rest_id, p.rest_id
    FROM versions AS p
    WHERE p.stream_id = NEW.stream_id AND p.version = NEW.version - 1
      AND (p.platform_config_id IS NOT NEW.platform_config_id OR p.rest_id IS NOT NEW.rest_id);
END;
