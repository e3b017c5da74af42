import Crypto
import Foundation

/// A digest of a stream object as served, taken from its bytes before any of the work that
/// normalising it costs.
///
/// Normalising a stream (``StreamSnapshot/init(item:expectedJobUID:masking:servedDigest:)``) builds
/// the object as a tree, parses the two configs embedded as strings, writes three canonical
/// documents with URL passwords masked and hashes each: most of a sync's CPU time, and wasted on a
/// stream that did not change, which is most streams in most runs. The served digest hashes the
/// object's bytes as served (read through a ``JSONOutline``, no tree built), with the value of
/// `updated_at` cut out when it is a string. The store keeps it per stream
/// (`streams.served_digest`); when a later sync is served an object with the same digest, the
/// stream is unchanged and is recorded as seen without being normalised.
///
/// Equal digests mean the same bytes but for one string where `updated_at`'s value stands, the
/// same masking setting and the same rules, so the same tree but for `updated_at` and the same
/// content hash: the digest can skip work, never hide a change. (The cut is marked by a NUL byte,
/// which valid JSON cannot hold, so the bytes either side of it are recovered from the hashed
/// input.) A different digest proves nothing (spacing or key order changed, `updated_at` moved
/// alone) and the stream is normalised in full and compared by its content hash, as always.
public enum ServedDigest {
    /// Bumped whenever normalisation changes what it stores for the same served object, or the
    /// digest changes what it hashes, so that digests written by an older streamdb no longer match
    /// and every stream is normalised once. 2: a tree encoding; 3: the bytes as served.
    static let rules = "streamdb-served-digest-3"

    /// The digest of a stream object read from its served bytes.
    public static func of(_ object: JSONOutline.Value, masking: CredentialMask?) -> String {
        Digester(masking: masking).digest(object, updatedAt: object.member("updated_at"))
    }

    /// Digests stream objects under one masking setting (a sync's items): the line of the rules
    /// and the setting that starts every digest's input is written once.
    public struct Digester: Sendable {
        private let preamble: [UInt8]

        public init(masking: CredentialMask?) {
            preamble = Array("\(ServedDigest.rules) mask=\(masking?.rulesDescription ?? "off")\n".utf8)
        }

        /// The digest of `object`, whose member `updated_at` is `updatedAt` (as
        /// ``JSONOutline/Value/member(_:)`` finds it).
        public func digest(_ object: JSONOutline.Value, updatedAt: JSONOutline.Value?) -> String {
            var hasher = SHA256()
            hasher.update(data: preamble)
            let range = object.byteRange
            object.outline.data.withUnsafeBytes { raw in
                func hash(_ part: Range<Int>) { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[part])) }
                if let updatedAt, updatedAt.kind == .string {
                    let cut = updatedAt.byteRange
                    hash(range.lowerBound..<cut.lowerBound)
                    hasher.update(data: [0])
                    hash(cut.upperBound..<range.upperBound)
                } else {
                    hash(range)
                }
            }
            return hexString(hasher.finalize())
        }
    }

    /// The digest of a stream object known only as a tree (built by a test or the bench, not
    /// served): the digest of its canonical JSON, read as if served. Such a stream is normalised
    /// once when a server serves it in another spelling.
    public static func of(_ members: [String: JSONValue], masking: CredentialMask?) -> String {
        let bytes = Data(JSONValue.object(members).canonicalBytes(masking: nil))
        guard let outline = try? JSONOutline(bytes, depth: 1) else { return sha256Hex(bytes) }
        return of(outline.root, masking: masking)
    }
}
