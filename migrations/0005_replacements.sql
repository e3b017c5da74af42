-- 0005: replacements. The platform updates a job by deleting it and creating a new one: a new
-- job_uid, the same camera stream (`stream_uid`) and case type, the new config. Seen through the
-- API that is one job answering 404 and a new job appearing. streamdb links them.
--
-- The rule, in the view `replacement_candidates`: job A is found gone (its JSON 404) in run R of a
-- source, and job B of the same source, with A's `stream_uid` and case type, was first seen in R
-- or in that source's run before R (the new job may be listed a run before the old one's 404 is
-- seen). A pairing counts only when it is one to one: A has one such B and B one such A. Anything
-- else is recorded as ambiguous, never guessed. An old job that comes back later keeps its
-- replacement (the history shows both jobs, and the return).
--
-- This migration backfills the pairs of existing databases by the same rule; every sync then
-- applies it again after writing (so a pairing seen one to one may become ambiguous when a second
-- candidate appears in the next run).

-- The pairs the rule finds, with their verdict. A view: the rule is written once, for the backfill
-- and for every sync.
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
    SELECT st.stream_id AS new_id, v.sync_run_id AS run, st.stream_uid, st.case_type, st.source_id
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

-- One row per pairing found: the old job, the new one, and whether it counts.
CREATE TABLE stream_replacements (
    old_stream_id INTEGER NOT NULL REFERENCES streams (stream_id),
    new_stream_id INTEGER NOT NULL REFERENCES streams (stream_id),
    stream_uid    TEXT    NOT NULL,  -- the camera stream both jobs ran on
    case_type     TEXT,              -- the case type both jobs have
    detected_at   TEXT    NOT NULL,  -- when the sync saw the old job's 404
    sync_run_id   INTEGER NOT NULL REFERENCES sync_runs (id),  -- that sync
    -- 'replaced': one to one, the new job continues the old one; 'ambiguous': several candidates
    -- either way, so none is taken.
    verdict       TEXT    NOT NULL CHECK (verdict IN ('replaced', 'ambiguous')),
    PRIMARY KEY (old_stream_id, new_stream_id)
) WITHOUT ROWID;
CREATE INDEX stream_replacements_by_new ON stream_replacements (new_stream_id);

INSERT INTO stream_replacements (old_stream_id, new_stream_id, stream_uid, case_type, detected_at, sync_run_id, verdict)
SELECT old_stream_id, new_stream_id, stream_uid, case_type, detected_at, sync_run_id, verdict FROM replacement_candidates;

-- The replacements that count, by job_uid.
CREATE VIEW replacements AS
SELECT o.job_uid AS old_job_uid, n.job_uid AS new_job_uid, r.stream_uid, r.case_type, r.detected_at, r.sync_run_id
FROM stream_replacements AS r
JOIN streams AS o ON o.stream_id = r.old_stream_id
JOIN streams AS n ON n.stream_id = r.new_stream_id
WHERE r.verdict = 'replaced';

-- Each job of a chain of replacements, in order: `chain_job_uid` is the chain's first job,
-- `position` 1 for it, 2 for the job that replaced it, and so on. A job never replaced and never
-- replacing is a chain of one.
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

-- Every version of every job of a chain, in the chain's order: "motion detection on camera X"
-- across the job_uids the platform gave it.
CREATE VIEW chain_versions AS
SELECT c.chain_job_uid, c.position, v.*
FROM stream_chains AS c
JOIN stream_versions AS v ON v.job_uid = c.job_uid;
