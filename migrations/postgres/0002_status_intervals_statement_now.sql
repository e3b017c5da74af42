-- 0002: status_intervals measures every open interval from one moment per statement.
--
-- 0001 took the current time with clock_timestamp(), which PostgreSQL reads again for every
-- row: two intervals that began together got lengths a few microseconds apart, so one query
-- could order them differently from the SQLite file (whose 'now' is one moment per statement).
-- statement_timestamp() is that moment. Same columns, same types; nothing else changes.
CREATE OR REPLACE VIEW status_intervals AS
SELECT
    st.job_uid,
    CASE s.started_by WHEN 'gone' THEN 'gone' ELSE 'present' END AS presence,
    s.status,
    s.started_by,
    iso_time(s.started_us) AS started_at,
    CASE s.from_server WHEN 1 THEN 'server' ELSE 'sync' END AS started_at_source,
    iso_time(s.ended_us) AS ended_at,
    round(((coalesce(s.ended_us, (extract(epoch FROM statement_timestamp()) * 1000000)::bigint) + 500) / 1000
           - (s.started_us + 500) / 1000) / 1000.0, 3) AS duration_seconds
FROM status_spans AS s
JOIN streams AS st ON st.stream_id = s.stream_id;

COMMENT ON VIEW status_intervals IS 'Every status interval of every stream with its length in seconds; an open one runs until the statement''s start.';

