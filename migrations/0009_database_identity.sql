-- 0009: the database's identity, for publishing to a team mirror (`streamdb publish`).
--
-- Several hosts publish their SQLite files into one PostgreSQL. Each file is an *origin* there,
-- known by this uuid, and the mirror keeps how far each origin was published (its high-water
-- marks) under it. The uuid is made once, here, and never changes; a copy of the file (a backup
-- restored elsewhere) carries the same uuid, so publish only one of the two.

CREATE TABLE database_identity (
    uuid       TEXT NOT NULL CHECK (length(uuid) = 36),  -- random, made when this migration ran
    created_at TEXT NOT NULL                             -- when that was
);

INSERT INTO database_identity (uuid, created_at)
SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-'
       || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(h, 18, 3) || '-' || substr(h, 21, 12),
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM (SELECT lower(hex(randomblob(16))) AS h);

-- One row, always.
CREATE TRIGGER database_identity_once BEFORE INSERT ON database_identity
BEGIN
    SELECT RAISE(ABORT, 'database_identity holds one row');
END;

CREATE TRIGGER database_identity_unchanged BEFORE UPDATE ON database_identity
BEGIN
    SELECT RAISE(ABORT, 'database_identity never changes');
END;
