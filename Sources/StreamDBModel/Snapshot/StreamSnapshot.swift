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
            let bytes = value.canonicalBytes(masking: mask)
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

        /// `longer` read as `baseText` (which parses as `base`, an object with members) with
        /// members added before its closing brace, when it is spelt so: `baseText` up to its
        /// closing brace, then a comma and members and a closing brace. Nil when it is not.
        static func extended(_ base: JSONValue, text baseText: String, by longer: String) -> JSONValue? {
            guard case .object(var members) = base, !members.isEmpty else { return nil }
            var baseText = baseText
            var longer = longer
            return baseText.withUTF8 { baseBytes -> JSONValue? in
                longer.withUTF8 { bytes -> JSONValue? in
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
                    // Added after the base's members, so a key of both is the added one's (the last
                    // wins), as the parser reads the whole text.
                    for (key, value) in more { members[key] = value }
                    return .object(members)
                }
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
        /// With `base` (another config's text and its parsed value), a `text` that is that text with
        /// members added before its closing brace (binary_json: platform_json and `JobUid`) is read
        /// as the base value with those members set, which is what parsing it gives, without parsing
        /// the base part again.
        static func embedded(_ text: String, mask: CredentialMask?, extending base: (String, JSONValue)? = nil) -> (Document, JSONValue?) {
            if let base, let value = extended(base.1, text: base.0, by: text) {
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
