import Foundation

/// A digest of a stream object as served, taken before any of the work that normalising it costs.
///
/// Normalising a stream (``StreamSnapshot/init(item:expectedJobUID:masking:servedDigest:)``) parses
/// the two configs embedded as strings, writes three canonical documents with URL passwords masked
/// and hashes each: most of a sync's CPU time, and wasted on a stream that did not change, which is
/// most streams in most runs. The served digest hashes the object once with the configs left as
/// strings. The store keeps it per stream (`streams.served_digest`); when a later sync is served an
/// object with the same digest, the stream is unchanged and is recorded as seen without being
/// normalised.
///
/// Equal digests mean equal input to the normalisation (the same object but for `updated_at`, the
/// same masking setting, the same rules), so the same content hash: the digest can skip work, never
/// hide a change. A different digest proves nothing (a config re-spelt, `updated_at` moved alone)
/// and the stream is normalised in full and compared by its content hash, as always.
public enum ServedDigest {
    /// Bumped whenever normalisation changes what it stores for the same served object, so that
    /// digests written by an older streamdb no longer match and every stream is normalised once.
    static let rules = "streamdb-served-digest-2"

    /// The digest of `members` (a stream object), leaving out `updated_at` when it is a string
    /// (as normalisation does: a value of another type is content, kept and compared).
    public static func of(_ members: [String: JSONValue], masking: CredentialMask?) -> String {
        var encoder = Encoder()
        encoder.bytes += "\(rules) mask=\(masking?.rulesDescription ?? "off")\n".utf8
        // As if updated_at were not there, without a copy of the object that lacks it.
        if case .string? = members["updated_at"] {
            encoder.encode(members, leavingOut: "updated_at")
        } else {
            encoder.encode(.object(members))
        }
        return sha256Hex(encoder.bytes)
    }

    /// A binary encoding of a value, one to one: a tag byte per value, lengths before contents,
    /// object members in key order. Unlike canonical JSON it copies strings without escaping them:
    /// the configs embedded as strings are most of an object's bytes, and full of quotes.
    private struct Encoder {
        var bytes: [UInt8] = []

        init() { bytes.reserveCapacity(8192) }

        mutating func encode(_ value: JSONValue) {
            switch value {
            case .null: bytes.append(0)
            case .bool(let b): bytes.append(b ? 2 : 1)
            case .int(let i):
                bytes.append(3)
                word(UInt64(bitPattern: i))
            case .double(let d):
                bytes.append(4)
                word(d.bitPattern)
            case .string(let s):
                bytes.append(5)
                string(s)
            case .array(let items):
                bytes.append(6)
                word(UInt64(items.count))
                for item in items { encode(item) }
            case .object(let members):
                encode(members, leavingOut: nil)
            }
        }

        mutating func encode(_ members: [String: JSONValue], leavingOut left: String?) {
            bytes.append(7)
            word(UInt64(members.count - (left.map { members[$0] == nil ? 0 : 1 } ?? 0)))
            // Members sorted with their values: no second lookup of each key.
            for (key, value) in members.sorted(by: { $0.key.utf8Precedes($1.key) }) where key != left {
                string(key)
                encode(value)
            }
        }

        mutating func string(_ s: String) {
            var s = s
            s.withUTF8 { utf8 in
                word(UInt64(utf8.count))
                bytes.append(contentsOf: utf8)
            }
        }

        mutating func word(_ w: UInt64) {
            withUnsafeBytes(of: w.littleEndian) { bytes.append(contentsOf: $0) }
        }
    }
}
