import Foundation
import GRDB
import StreamDBModel

/// One stored version of a stream, exactly as stored: `streamdb show`, and the inputs of
/// `streamdb diff`.
public struct StoredVersion: Sendable {
    public let jobUID: String
    public let version: Int64
    public let observedAt: Date?
    public let validTo: Date?
    /// The whole object as stored.
    public let payload: String
    /// The parsed `platform_json`; nil when it did not parse or was missing.
    public let platformConfig: String?

    /// The current version, version `number`, or the version the mirror held at `asOf`.
    static func load(jobUID: String, number: Int64? = nil, asOf: Date? = nil, in db: Database) throws -> StoredVersion {
        let row: Row?
        if let number {
            row = try Row.fetchOne(
                db, sql: "SELECT * FROM stream_versions WHERE job_uid = ? AND version = ?", arguments: [jobUID, number])
            guard row != nil else {
                let last =
                    try Int64.fetchOne(db, sql: "SELECT current_version FROM streams WHERE job_uid = ?", arguments: [jobUID])
                    ?? 0
                throw QueryError("\(jobUID) has no version \(number) (it has versions 1 to \(last)).")
            }
        } else if let asOf {
            row = try Row.fetchOne(
                db,
                sql: "SELECT * FROM stream_versions WHERE job_uid = ? AND observed_at <= ? ORDER BY version DESC LIMIT 1",
                arguments: [jobUID, Timestamp.format(asOf)])
            guard row != nil else { throw QueryError("\(jobUID) was not yet seen at \(Timestamp.format(asOf)).") }
        } else {
            row = try Row.fetchOne(
                db,
                sql: """
                    SELECT v.* FROM stream_versions AS v
                    JOIN streams AS st ON st.job_uid = v.job_uid AND st.current_version = v.version
                    WHERE v.job_uid = ?
                    """, arguments: [jobUID])
        }
        guard let row else { throw QueryError("no stored version of \(jobUID).") }
        return StoredVersion(
            jobUID: jobUID, version: row["version"], observedAt: row.date("observed_at"), validTo: row.date("valid_to"),
            payload: row["payload"], platformConfig: row["platform_config"])
    }

    /// The payload, parsed.
    public func payloadDocument() throws -> JSONValue {
        do {
            return try JSONValue.parse(payload)
        } catch {
            throw QueryError("version \(version) of \(jobUID) has a payload that does not parse (\(error)).")
        }
    }

    /// The payload with its config strings parsed, so that a payload diff shows config paths.
    public func expandedPayload() throws -> JSONValue {
        guard case .object(var members) = try payloadDocument() else { return try payloadDocument() }
        for key in ["platform_json", "binary_json"] {
            if let text = members[key]?.stringValue, let parsed = try? JSONValue.parse(text) {
                members[key] = parsed
            }
        }
        return .object(members)
    }

    /// The `platform_json` string as the payload holds it: as served for versions stored since
    /// migration 0006 (see `stream_versions.configs_as_served`), canonical before.
    public func servedConfigText() throws -> String {
        guard let text = try payloadDocument()["platform_json"]?.stringValue else {
            throw QueryError("version \(version) of \(jobUID) has no platform_json string; try --payload.")
        }
        return text
    }

    /// The pipeline config, or an error naming why there is none.
    public func config() throws -> JSONValue {
        guard let platformConfig, let config = try? JSONValue.parse(platformConfig) else {
            throw QueryError(
                "version \(version) of \(jobUID) has no parsed pipeline config (its platform_json was missing or not JSON); try --payload."
            )
        }
        return config
    }
}
