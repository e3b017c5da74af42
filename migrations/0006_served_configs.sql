-- 0006: configs as served. `platform_json` and `binary_json` are kept as the server's strings,
-- byte for byte (key order, spacing, number spelling), secrets masked, beside their canonical form.
-- Change detection stays semantic: a document is still addressed by the SHA-256 of its canonical
-- form, so a re-spelling alone is no new version, and a document keeps the spelling it was first
-- served with.
--
-- Versions stored before this migration keep what they have: their documents have no served text
-- (`documents.served` is NULL) and `stream_versions.payload` shows their canonical form, as
-- `stream_versions.configs_as_served = 0` says. Nothing stored is rewritten.

-- The config string exactly as served (secrets masked); NULL for documents stored before
-- migration 0006, for the rest of a payload, and for a config whose secrets could only be masked
-- in its parsed form.
ALTER TABLE documents ADD COLUMN served TEXT;

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
    -- The whole object: platform_json and binary_json as the server's strings (see
    -- configs_as_served), the other fields in canonical JSON.
    json_replace(r.json,
        '$.status', s.status,
        '$.updated_at', s.server_updated_at,
        '$.platform_json', coalesce(p.served, p.json, p.raw),
        '$.binary_json', coalesce(b.served, b.json, b.raw)) AS payload,
    -- The parsed platform_json (canonical); NULL when it did not parse (payload keeps the raw string).
    json(p.json) AS platform_config,
    json(b.json) AS binary_config,
    CASE typeof(s.content_hash) WHEN 'blob' THEN lower(hex(s.content_hash)) ELSE s.content_hash END AS content_hash,
    s.sync_run_id,
    s.platform_config_id,
    s.binary_config_id,
    s.rest_id,
    src.name AS source,
    -- 1 when the payload's config strings are byte for byte as served (stored since migration
    -- 0006), 0 when they are the canonical form (stored before, or not maskable in place).
    CASE WHEN (p.json IS NOT NULL AND p.served IS NULL) OR (b.json IS NOT NULL AND b.served IS NULL) THEN 0 ELSE 1 END
        AS configs_as_served
FROM versions AS s
JOIN streams AS st ON st.stream_id = s.stream_id
JOIN documents AS r ON r.id = s.rest_id
LEFT JOIN documents AS p ON p.id = s.platform_config_id
LEFT JOIN documents AS b ON b.id = s.binary_config_id
LEFT JOIN sources AS src ON src.id = st.source_id;
