import Foundation

/// One stream as served, normalised for storage: the pieces that are stored once and shared
/// (configs, the rest of the payload), the raw status, and a hash of the whole content.
///
/// Built by ``StreamSnapshot/init(item:expectedJobUID:masking:servedDigest:)`` (in
/// `StreamSnapshot+Normalise.swift`); the store decides from ``contentHash`` whether it is a new
/// version.
public struct StreamSnapshot: Sendable {
    /// The job_uid, lower-cased canonical UUID spelling.
    public let jobUID: String
    /// The raw status: an integer or, on servers that send names, a string.
    public let status: StatusValue
    /// `updated_at` as served, when it was a string. Not part of ``contentHash``.
    public let serverUpdatedAt: String?
    /// The payload without status, updated_at, platform_json and binary_json (kept as nulls).
    public let rest: Document
    /// The config strings, when the payload had them as strings.
    public let platformConfig: Document?
    public let binaryConfig: Document?
    /// Hex SHA-256 over everything but `updated_at`: equal hash, no change.
    public let contentHash: String
    /// The object's ``ServedDigest``, stored so that the next sync can skip normalising it when it
    /// is served again unchanged.
    public let servedDigest: String
    /// The typed columns of `streams` (nil where the value had another type).
    public let fields: Fields
    public let regions: [Region]
    public let areas: [Area]
    public let fences: [Fence]
    /// Doubtful values that were kept as served, for `sync_errors` when this state is stored.
    public let notes: [Note]

    /// A JSON document stored content-addressed in `documents`.
    public struct Document: Sendable {
        /// An embedded config already read, which another may extend (platform_json, for
        /// binary_json): its text as served, its parsed value, and its document, written with the
        /// masking of the one that extends it.
        struct Base {
            let text: String
            let value: JSONValue
            let document: Document
        }

        public let sha256: String
        /// Canonical JSON, or nil when the served string was not JSON.
        public let json: String?
        /// The served string when it was not JSON.
        public let raw: String?
        public let parseError: String?
        /// The JSON string exactly as served (key order, spacing, number spelling), secrets
        /// masked; nil for a document that is not an embedded config, and for one whose secrets
        /// could not be masked in the text itself (then only the canonical form is kept).
        public let served: String?

        init(value: JSONValue, mask: CredentialMask?, served: String? = nil) {
            self.init(canonical: value.canonicalBytes(masking: mask), mask: mask, served: served)
        }

        /// A document from its canonical bytes (written with `mask`).
        private init(canonical bytes: [UInt8], mask: CredentialMask?, served: String?) {
            self.sha256 = sha256Hex(bytes)
            self.json = String(decoding: bytes, as: UTF8.self)
            self.raw = nil
            self.parseError = nil
            self.served = served.flatMap { Self.maskedServedText($0, canonical: bytes, mask: mask) }
        }

        /// `text` with its secrets masked in place, when that gives exactly the masked document:
        /// without a backslash every string's content stands in the text literally, so masking the
        /// text masks every string; with escapes, the masked text is parsed again and must give the
        /// same canonical form, or nothing verbatim is kept (a secret must never be).
        public static func maskedServedText(_ text: String, canonical: [UInt8], mask: CredentialMask?) -> String? {
            guard let mask else { return text }
            let masked = mask.mask(text)
            if !text.utf8Contains(UInt8(ascii: "\\")) { return masked }
            guard let reparsed = try? JSONValue.parse(masked), reparsed.canonicalBytes(masking: nil) == canonical else { return nil }
            return masked
        }

        /// The members `longer` adds to `baseText` (which parses as an object with `members`)
        /// before its closing brace, when it is spelt so: `baseText` up to its closing brace, then
        /// a comma and members and a closing brace. Nil when it is not, or when the base has no
        /// members.
        static func addedMembers(to members: [String: JSONValue], text baseText: String, by longer: String) -> [String: JSONValue]? {
            guard !members.isEmpty else { return nil }
            var baseText = baseText
            var longer = longer
            return baseText.withUTF8 { baseBytes -> [String: JSONValue]? in
                longer.withUTF8 { bytes -> [String: JSONValue]? in
                    // The base up to its closing brace (it parsed as an object: the last byte that is
                    // not whitespace is that brace).
                    guard var open = baseBytes.lastIndex(where: { !JSONValue.Parser.isWhitespace($0) }),
                        baseBytes[open] == UInt8(ascii: "}"),
                        bytes.count > open, memcmp(baseBytes.baseAddress!, bytes.baseAddress!, open) == 0
                    else { return nil }
                    while open < bytes.count, JSONValue.Parser.isWhitespace(bytes[open]) { open += 1 }
                    guard open < bytes.count, bytes[open] == UInt8(ascii: ",") else { return nil }
                    // What follows the comma, read as the members of an object of their own: `{` in
                    // the comma's place.
                    var added = [UInt8](UnsafeBufferPointer(rebasing: bytes[open...]))
                    added[0] = UInt8(ascii: "{")
                    // No members (`, }`) is not JSON in the whole text either.
                    guard case .object(let more)? = try? JSONValue.parse(Data(added)), !more.isEmpty else { return nil }
                    return more
                }
            }
        }

        /// Where each member of an object written as canonical JSON stands, key to value: the
        /// text is streamdb's own (no whitespace, every string closed), so a comma outside strings
        /// at the object's own level ends a member; strings are skipped by the parser's own rules.
        /// Nil for text that is not such an object.
        private static func memberRanges(canonical bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>]? {
            guard bytes.count >= 2, bytes[0] == UInt8(ascii: "{"), bytes[bytes.count - 1] == UInt8(ascii: "}") else {
                return nil
            }
            var ranges: [Range<Int>] = []
            guard bytes.count > 2 else { return ranges }
            let end = bytes.count - 1
            var reader = JSONValue.Parser(bytes: bytes)
            reader.index = 1
            var (start, depth) = (1, 0)
            while reader.index < end {
                switch bytes[reader.index] {
                case UInt8(ascii: "\""):
                    guard (try? reader.skipString()) != nil, reader.index <= end else { return nil }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    guard depth >= 0 else { return nil }
                case UInt8(ascii: ",") where depth == 0:
                    ranges.append(start..<reader.index)
                    start = reader.index + 1
                default:
                    break
                }
                reader.index += 1
            }
            guard depth == 0 else { return nil }
            ranges.append(start..<end)
            return ranges
        }

        /// The canonical bytes of the object `members` with `added` set over it, from
        /// `baseCanonical`, the canonical bytes of `members` written with the same `mask`: the
        /// base's members are copied from it (canonical JSON puts them in the order of their keys'
        /// bytes, one per key), the added ones written and put in their places, replacing a base
        /// member of the same key. What writing the merged object gives, without writing the base
        /// again. Nil when `baseCanonical` is not such an object, or when an added key equals a
        /// base key only as Swift compares strings (canonically equivalent, other bytes): the
        /// caller then writes the whole.
        static func canonicalBytes(
            extending baseCanonical: String, members: [String: JSONValue], added: [String: JSONValue], mask: CredentialMask?
        ) -> [UInt8]? {
            let baseKeys = members.keys.sorted { $0.utf8Precedes($1) }
            let addedKeys = added.keys.sorted { $0.utf8Precedes($1) }
            func sameBytes(_ a: String, _ b: String) -> Bool { !a.utf8Precedes(b) && !b.utf8Precedes(a) }
            for key in addedKeys where members[key] != nil {
                guard baseKeys.contains(where: { sameBytes($0, key) }) else { return nil }
            }
            var text = baseCanonical
            return text.withUTF8 { bytes -> [UInt8]? in
                guard let ranges = memberRanges(canonical: bytes), ranges.count == baseKeys.count else { return nil }
                var out: [UInt8] = []
                out.reserveCapacity(bytes.count + 64 * addedKeys.count)
                out.append(UInt8(ascii: "{"))
                var (b, a) = (0, 0)
                while b < baseKeys.count || a < addedKeys.count {
                    if out.count > 1 { out.append(UInt8(ascii: ",")) }
                    if a < addedKeys.count, b == baseKeys.count || !baseKeys[b].utf8Precedes(addedKeys[a]) {
                        if b < baseKeys.count, sameBytes(baseKeys[b], addedKeys[a]) { b += 1 }
                        JSONValue.appendCanonicalMember(key: addedKeys[a], value: added[addedKeys[a]]!, mask: mask, to: &out)
                        a += 1
                    } else {
                        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[ranges[b]]))
                        b += 1
                    }
                }
                out.append(UInt8(ascii: "}"))
                return out
            }
        }

        init(raw text: String, parseError: String) {
            self.sha256 = sha256Hex("raw:" + text)
            self.json = nil
            self.raw = text
            self.parseError = parseError
            self.served = nil
        }

        /// A JSON-in-a-string field: parsed when it parses (the parsed value is returned too, for
        /// reading areas and fences), else kept raw.
        ///
        /// With `base` (another config read before), a `text` that is the base's text with members
        /// added before its closing brace (binary_json: platform_json and `JobUid`) is read as the
        /// base value with those members set, which is what parsing it gives, without parsing the
        /// base part again; its canonical form is the base's with the added members put in their
        /// places, without writing the base part again.
        static func embedded(_ text: String, mask: CredentialMask?, extending base: Base? = nil) -> (Document, JSONValue?) {
            if let base, case .object(var members) = base.value,
                let added = addedMembers(to: members, text: base.text, by: text)
            {
                let canonical = base.document.json.flatMap {
                    canonicalBytes(extending: $0, members: members, added: added, mask: mask)
                }
                // Added after the base's members, so a key of both is the added one's (the last
                // wins), as the parser reads the whole text.
                for (key, value) in added { members[key] = value }
                let value = JSONValue.object(members)
                if let canonical { return (Document(canonical: canonical, mask: mask, served: text), value) }
                return (Document(value: value, mask: mask, served: text), value)
            }
            do {
                let value = try JSONValue.parse(text)
                return (Document(value: value, mask: mask, served: text), value)
            } catch {
                return (Document(raw: mask?.mask(text) ?? text, parseError: String(describing: error)), nil)
            }
        }
    }

    public struct Fields: Sendable {
        public var id: Int64?
        public var streamUID: String?
        public var cameraGroupUID: String?
        public var caseType: String?
        public var streamCaseType: Int64?
        public var ovmsClient: Int64?
        public var createdAt: String?
    }

    public struct Region: Sendable, Hashable {
        public let id: Int64
        public let title: String

        public init(id: Int64, title: String) {
            self.id = id
            self.title = title
        }
    }

    public struct Area: Sendable {
        public let position: Int
        public let areaID: String?
        /// JSON of the Shape as given.
        public let shape: String?
        public let pointCount: Int?
    }

    public struct Fence: Sendable {
        public let position: Int
        public let fenceID: String?
        public let json: String
    }

    /// Something doubtful in a payload that was stored anyway.
    public struct Note: Sendable {
        public let kind: ErrorKind
        public let message: String
    }
}

/// Why a served item cannot be stored at all (it is recorded in `sync_errors` instead).
public struct SnapshotRejection: Error, Sendable, CustomStringConvertible {
    public let kind: ErrorKind
    public let jobUID: String?
    public let message: String
    public var description: String { message }
}
