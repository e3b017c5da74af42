import Foundation

/// A stream object whose served digest matched the one stored for it: recorded as seen (and its
/// `updated_at` taken) without normalising, unless the store finds that the stream moved on in the
/// meantime, in which case the object is normalised after all (``snapshot()``).
public struct UnchangedStream: Sendable {
    public let jobUID: String
    public let servedDigest: String
    /// `updated_at` as served (masked like every stored string), when it was a string.
    public let serverUpdatedAt: String?
    let item: JSONValue
    let expectedJobUID: String?
    let masking: CredentialMask?

    /// Normalises the object in full, for when the shortcut does not apply after all.
    public func snapshot() -> Result<StreamSnapshot, SnapshotRejection> {
        StreamSnapshot.normalise(
            item, expectedJobUID: expectedJobUID, masking: masking,
            servedDigest: servedDigest)
    }
}

/// Sorts served objects into those known unchanged by their digest and those to normalise.
public struct ServedDigestFilter: Sendable {
    /// `streams.served_digest` of every present stream, by job_uid, as the run began.
    let stored: [String: String]
    public let masking: CredentialMask?

    public init(stored: [String: String], masking: CredentialMask?) {
        self.stored = stored
        self.masking = masking
    }

    public enum Outcome: Sendable {
        case unchanged(UnchangedStream)
        case normalised(Result<StreamSnapshot, SnapshotRejection>)
    }

    public func classify(_ item: JSONValue, expectedJobUID: String? = nil) -> Outcome {
        guard case .object(let members) = item,
            let uid = members["job_uid"]?.stringValue.flatMap(JobUID.normalized),
            expectedJobUID == nil || expectedJobUID == uid
        else {
            // Not a stream object the shortcut can recognise: the full path says why.
            return .normalised(StreamSnapshot.normalise(item, expectedJobUID: expectedJobUID, masking: masking))
        }
        let digest = ServedDigest.of(members, masking: masking)
        if stored[uid] == digest {
            var updatedAt: String?
            if case .string(let text)? = members["updated_at"] {
                updatedAt = masking?.mask(text) ?? text
            }
            return .unchanged(
                UnchangedStream(
                    jobUID: uid, servedDigest: digest, serverUpdatedAt: updatedAt, item: item,
                    expectedJobUID: expectedJobUID, masking: masking))
        }
        return .normalised(
            StreamSnapshot.normalise(
                item, expectedJobUID: expectedJobUID, masking: masking,
                servedDigest: digest))
    }
}
