import Foundation

/// A stream object whose served digest matched the one stored for it: recorded as seen (and its
/// `updated_at` taken) without normalising, unless the store finds that the stream moved on in the
/// meantime, in which case the object is normalised after all (``snapshot()``).
public struct UnchangedStream: Sendable {
    public let jobUID: String
    /// The history's key for the stream (`streams.stream_id`), as the run began.
    public let streamID: Int64
    public let servedDigest: String
    /// `updated_at` as served (masked like every stored string), when it was a string.
    public let serverUpdatedAt: String?
    let item: JSONOutline.Value
    let expectedJobUID: String?
    let masking: CredentialMask?

    /// Normalises the object in full, for when the shortcut does not apply after all.
    public func snapshot() -> Result<StreamSnapshot, SnapshotRejection> {
        ServedDigestFilter.normalise(item, expectedJobUID: expectedJobUID, masking: masking, servedDigest: servedDigest)
    }
}

/// What the history holds of a present stream served before: the ``ServedDigest`` of the object
/// it was last served as (`streams.served_digest`) and the stream's key there.
public struct StoredDigest: Sendable, Equatable {
    public let digest: String
    public let streamID: Int64

    public init(digest: String, streamID: Int64) {
        self.digest = digest
        self.streamID = streamID
    }
}

/// Sorts served objects into those known unchanged by their digest and those to normalise.
public struct ServedDigestFilter: Sendable {
    /// What the history held of every present stream with a digest, by job_uid, as the run began.
    let stored: [String: StoredDigest]
    public let masking: CredentialMask?
    let digester: ServedDigest.Digester

    public init(stored: [String: StoredDigest], masking: CredentialMask?) {
        self.stored = stored
        self.masking = masking
        self.digester = ServedDigest.Digester(masking: masking)
    }

    public enum Outcome: Sendable {
        case unchanged(UnchangedStream)
        case normalised(Result<StreamSnapshot, SnapshotRejection>)
    }

    /// Digests a served item from its bytes; builds it as a tree and normalises it only when its
    /// digest is not the one stored for its stream.
    public func classify(_ item: JSONOutline.Value, expectedJobUID: String? = nil) -> Outcome {
        guard item.kind == .object else {
            // Not a stream object: the full path says why.
            return .normalised(Self.normalise(item, expectedJobUID: expectedJobUID, masking: masking, servedDigest: nil))
        }
        let known = item.members(["job_uid", "updated_at"])
        let digest = digester.digest(item, updatedAt: known[1])
        guard let uid = known[0]?.string.flatMap(JobUID.normalized),
            expectedJobUID == nil || expectedJobUID == uid,
            let storedStream = stored[uid], storedStream.digest == digest
        else {
            return .normalised(Self.normalise(item, expectedJobUID: expectedJobUID, masking: masking, servedDigest: digest))
        }
        let updatedAt = known[1]?.string.map { masking?.mask($0) ?? $0 }
        return .unchanged(
            UnchangedStream(
                jobUID: uid, streamID: storedStream.streamID, servedDigest: digest, serverUpdatedAt: updatedAt, item: item,
                expectedJobUID: expectedJobUID, masking: masking))
    }

    /// Builds the item's tree and normalises it.
    static func normalise(
        _ item: JSONOutline.Value, expectedJobUID: String?, masking: CredentialMask?, servedDigest: String?
    ) -> Result<StreamSnapshot, SnapshotRejection> {
        let tree: JSONValue
        do {
            tree = try item.tree()
        } catch {
            // Not reached: the outline was checked by the parser's own rules.
            return .failure(SnapshotRejection(kind: .invalidItem, jobUID: expectedJobUID, message: "the item is not JSON: \(error)"))
        }
        return StreamSnapshot.normalise(tree, expectedJobUID: expectedJobUID, masking: masking, servedDigest: servedDigest)
    }
}
