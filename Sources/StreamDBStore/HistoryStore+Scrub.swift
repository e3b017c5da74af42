import Foundation
import GRDB
import StreamDBModel

/// What ``HistoryStore/scrubSecrets(path:masking:wait:)`` changed.
public struct SecretScrubReport: Sendable, Equatable {
    /// Documents whose text held a secret and now holds `***` instead.
    public var documentsMasked = 0
    /// Of those, the ones that became equal to a document already stored (a version that differed
    /// only by its token): its versions now point to that document.
    public var documentsMerged = 0
    /// Area, fence, region, error and stream rows whose text held a secret.
    public var otherRowsMasked = 0
    /// Streams whose `current_content_hash` was recomputed from the masked documents, so that the
    /// next sync does not see the masking as a change.
    public var streamsRehashed = 0

    public init() {}
}

extension HistoryStore {
    /// Removes URL secrets (passwords, secret query parameters) from everything a database holds,
    /// for a file written before they were masked, or with `--keep-url-credentials`: the one kind
    /// of rewrite streamdb makes. Version rows keep their numbers, times, statuses and content
    /// hashes; a document that holds a secret is rewritten masked (its hash is then the masked
    /// text's), or merged into the masked one already stored. Freed pages are zeroed
    /// (`secure_delete`) and the file rebuilt (`VACUUM`), so the old text is gone from the file and
    /// its write-ahead log. Takes the sync lock: no sync runs meanwhile.
    public static func scrubSecrets(path: String, masking: CredentialMask, wait: Bool = false) throws -> SecretScrubReport {
        let lock = try SyncLock(databasePath: path, wait: wait)
        let store = try openForWriting(path: path)
        guard let pool = store.database as? DatabasePool else { return SecretScrubReport() }
        let report: SecretScrubReport
        do {
            report = try pool.writeWithoutTransaction { db in
                // Pages freed by the rewrite are overwritten with zeros
                // (https://sqlite.org/pragma.html#pragma_secure_delete).
                try db.execute(sql: "PRAGMA secure_delete = ON")
                var result = SecretScrubReport()
                try db.inTransaction(.immediate) {
                    result = try SecretScrub(db: db, masking: masking).run()
                    // The ledger (migration 0010): a publish to the team mirror sees the rewrite.
                    try db.execute(
                        sql: """
                            INSERT INTO scrubs (scrubbed_at, documents_masked, documents_merged, other_rows_masked,
                                                streams_rehashed, streamdb_version)
                            VALUES (?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            Timestamp.now(), result.documentsMasked, result.documentsMerged, result.otherRowsMasked,
                            result.streamsRehashed, StreamDBVersion.current,
                        ])
                    return .commit
                }
                return result
            }
            // Rebuild the file without the freed pages, then empty the log into it.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "VACUUM")
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        } catch {
            throw translate(error, path: path)
        }
        try store.closeAfterSync()
        withExtendedLifetime(lock) {}
        return report
    }
}

/// The rewrite itself, inside one transaction.
private struct SecretScrub {
    let db: Database
    let masking: CredentialMask

    func run() throws -> SecretScrubReport {
        var report = SecretScrubReport()
        try maskDocuments(&report)
        // A version whose documents differed from the one before only by a secret differs no
        // more: it is no config or regions change (document_changes holds only versions that are).
        try db.execute(
            sql: "DELETE FROM document_changes WHERE platform_config_id IS previous_config_id AND rest_id = previous_rest_id")
        report.otherRowsMasked += try maskColumn("config_areas", "shape", key: ["document_id", "position"])
        report.otherRowsMasked += try maskColumn("config_fences", "fence", key: ["document_id", "position"])
        report.otherRowsMasked += try maskColumn("regions", "title", key: ["id"])
        report.otherRowsMasked += try maskColumn("sync_errors", "message", key: ["id"])
        report.otherRowsMasked += try maskColumn("sync_errors", "url", key: ["id"])
        report.otherRowsMasked += try maskColumn("versions", "server_updated_at", key: ["stream_id", "version"])
        for column in ["stream_uid", "camera_group_uid", "case_type", "created_at", "updated_at"] {
            report.otherRowsMasked += try maskColumn("streams", column, key: ["stream_id"])
        }
        report.streamsRehashed = try rehashStreams()
        // Digests were taken of the served objects under the old rules: every stream is
        // normalised in full once more.
        try db.execute(sql: "UPDATE streams SET served_digest = NULL")
        return report
    }

    /// Rewrites every document whose text holds a secret; merges it into an equal one.
    private func maskDocuments(_ report: inout SecretScrubReport) throws {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT id, sha256, json, CAST(raw AS BLOB) AS raw, served FROM documents
                WHERE json LIKE '%://%' OR raw LIKE '%://%' OR served LIKE '%://%' ORDER BY id
                """)
        for row in rows {
            let id: Int64 = row["id"]
            let json: String? = row["json"]
            // As its bytes: a config string kept as served may hold U+0000 (GRDB cuts text there).
            let raw = (row["raw"] as Data?).map { String(decoding: $0, as: UTF8.self) }
            let served: String? = row["served"]
            let masked: (sha256: String, json: String?, raw: String?, served: String?)
            if let json {
                guard let value = try? JSONValue.parse(json) else { continue }
                let bytes = value.canonicalBytes(masking: masking)
                let maskedServed = served.flatMap {
                    StreamSnapshot.Document.maskedServedText($0, canonical: bytes, mask: masking)
                }
                masked = (sha256Hex(bytes), String(decoding: bytes, as: UTF8.self), nil, maskedServed)
            } else if let raw {
                let text = masking.mask(raw)
                masked = (sha256Hex("raw:" + text), nil, text, nil)
            } else {
                continue
            }
            guard masked.sha256 != row["sha256"] as String || masked.served != served else { continue }
            report.documentsMasked += 1
            if let existing = try Int64.fetchOne(db, sql: "SELECT id FROM documents WHERE sha256 = ?", arguments: [masked.sha256]) {
                try merge(id, into: existing)
                report.documentsMerged += 1
            } else {
                try db.execute(
                    sql: "UPDATE documents SET sha256 = ?, json = ?, raw = CAST(? AS TEXT), served = ? WHERE id = ?",
                    arguments: [masked.sha256, masked.json, masked.raw.map { Data($0.utf8) }, masked.served, id])
            }
        }
    }

    /// Points every use of document `id` at `existing` and removes `id`.
    private func merge(_ id: Int64, into existing: Int64) throws {
        for column in ["rest_id", "platform_config_id", "binary_config_id"] {
            try db.execute(sql: "UPDATE versions SET \(column) = ? WHERE \(column) = ?", arguments: [existing, id])
        }
        // So do each stream's current payload document (0011) and the change feed's rows (0008).
        try db.execute(sql: "UPDATE streams SET current_rest_id = ? WHERE current_rest_id = ?", arguments: [existing, id])
        for column in ["platform_config_id", "previous_config_id", "rest_id", "previous_rest_id"] {
            try db.execute(sql: "UPDATE document_changes SET \(column) = ? WHERE \(column) = ?", arguments: [existing, id])
        }
        // The rows derived from a document: the existing one's stand when it has them.
        for table in ["document_regions", "config_areas", "config_fences", "config_case_types"] {
            let has = try Bool.fetchOne(db, sql: "SELECT 1 FROM \(table) WHERE document_id = ? LIMIT 1", arguments: [existing]) ?? false
            if has {
                try db.execute(sql: "DELETE FROM \(table) WHERE document_id = ?", arguments: [id])
            } else {
                try db.execute(sql: "UPDATE \(table) SET document_id = ? WHERE document_id = ?", arguments: [existing, id])
            }
        }
        try db.execute(sql: "DELETE FROM documents WHERE id = ?", arguments: [id])
    }

    /// Masks one text column in place; returns the rows changed. `table` and `column` are
    /// streamdb's own names, never a user's.
    private func maskColumn(_ table: String, _ column: String, key: [String]) throws -> Int {
        let keys = key.joined(separator: ", ")
        let rows = try Row.fetchAll(db, sql: "SELECT \(keys), \(column) AS text FROM \(table) WHERE \(column) LIKE '%://%'")
        var changed = 0
        for row in rows {
            let text: String = row["text"]
            let masked = masking.mask(text)
            guard masked != text else { continue }
            let condition = key.map { "\($0) = ?" }.joined(separator: " AND ")
            try db.execute(
                sql: "UPDATE \(table) SET \(column) = ? WHERE \(condition)",
                arguments: StatementArguments([masked] + key.map { row[$0] as DatabaseValue }))
            changed += 1
        }
        return changed
    }

    /// Recomputes each stream's `current_content_hash` as a sync would from its current version's
    /// documents and status, so that masking alone is no change at the next sync.
    private func rehashStreams() throws -> Int {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT st.stream_id, st.current_content_hash, v.status,
                       rest.sha256 AS rest, platform.sha256 AS platform, binary.sha256 AS binary
                FROM streams AS st
                JOIN versions AS v ON v.stream_id = st.stream_id AND v.version = st.current_version
                JOIN documents AS rest ON rest.id = v.rest_id
                LEFT JOIN documents AS platform ON platform.id = v.platform_config_id
                LEFT JOIN documents AS binary ON binary.id = v.binary_config_id
                """)
        var changed = 0
        for row in rows {
            let status: StatusValue
            switch (row["status"] as DatabaseValue).storage {
            case .int64(let i): status = .int(i)
            case .string(let s): status = .text(s)
            default: continue
            }
            let hash = StreamSnapshot.contentHash(
                restSHA256: row["rest"], status: status, platformSHA256: row["platform"], binarySHA256: row["binary"])
            guard hash != row["current_content_hash"] as String else { continue }
            try db.execute(
                sql: "UPDATE streams SET current_content_hash = ? WHERE stream_id = ?", arguments: [hash, row["stream_id"] as Int64])
            changed += 1
        }
        return changed
    }
}
