-- 0012: `documents.json` without its `json_valid` CHECK.
--
-- Every document streamdb stores is JSON it wrote itself: the canonical form of a value its own
-- parser read (sorted keys, no whitespace, canonical numbers). The CHECK had SQLite parse each one
-- again on every insert, and SQLite's JSON reader before 3.45 is slow: for the 30,000 documents of
-- a first sync of 10,000 streams it was 75-95 ms, about a tenth of the sync writer's time, which
-- is what a first sync waits for (bench/ANALYSIS.md). The column still holds only JSON; to see it:
--
--   SELECT count(*) FROM documents WHERE json IS NOT NULL AND NOT json_valid(json);  -- 0
--
-- The tests check exactly that after syncing the hostile corpus, and the fuzzers check that what
-- the canonical writer writes reads back as the same value.
--
-- A CHECK is removed by editing the table's definition in sqlite_schema, as SQLite documents for
-- removing a CHECK, FOREIGN KEY or NOT NULL constraint (https://sqlite.org/lang_altertable.html,
-- "Making Other Kinds Of Table Schema Changes"): no row is read or written, so the migration
-- takes the same moment for a history of any size. The table's other CHECK (a document is either
-- JSON or the server's raw string) stays.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, '    CHECK (json IS NULL OR json_valid(json)),', ',')
WHERE type = 'table' AND name = 'documents';
PRAGMA writable_schema = RESET;

-- The definition is the one intended: the json_valid CHECK gone, everything else as it was. A
-- CHECK failing here rolls the migration back and leaves the database as it was.
CREATE TEMP TABLE migration_0012_as_intended (
    what TEXT NOT NULL,
    kept INTEGER NOT NULL CHECK (kept = 1)
);
INSERT INTO migration_0012_as_intended (what, kept)
SELECT 'documents without the json_valid CHECK, with the JSON-or-raw CHECK', (
    SELECT count(*) FROM sqlite_schema
    WHERE type = 'table' AND name = 'documents'
        AND sql NOT LIKE '%json_valid%'
        AND sql LIKE '%json      TEXT,%'
        AND sql LIKE '%CHECK ((json IS NULL) <> (raw IS NULL))%') = 1;
DROP TABLE migration_0012_as_intended;
