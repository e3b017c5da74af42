import Foundation

/// One stream as served, normalised for storage: the pieces that are stored once and shared
/// (configs, the rest of the payload), the raw status, and a hash of the whole content.
///
/// Built by ``StreamSnapshot/init(item:expectedJobUID:)``; the store decides from ``contentHash``
/// whether it is a new version.
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

    public enum StatusValue: Sendable, Hashable, CustomStringConvertible {
        case int(Int64)
        case text(String)

        public var description: String {
            switch self {
            case .int(let i): return String(i)
            case .text(let s): return s
            }
        }
    }

    /// A JSON document stored content-addressed in `documents`.
    public struct Document: Sendable {
        public let sha256: String
        /// Canonical JSON, or nil when the served string was not JSON.
        public let json: String?
        /// The served string when it was not JSON.
        public let raw: String?
        public let parseError: String?

        init(value: JSONValue, mask: Bool) {
            let bytes = value.canonicalBytes(maskingCredentials: mask)
            self.sha256 = sha256Hex(bytes)
            self.json = String(decoding: bytes, as: UTF8.self)
            self.raw = nil
            self.parseError = nil
        }

        init(raw text: String, parseError: String) {
            self.sha256 = sha256Hex("raw:" + text)
            self.json = nil
            self.raw = text
            self.parseError = parseError
        }

        /// A JSON-in-a-string field: parsed when it parses (the parsed value is returned too, for
        /// reading areas and fences), else kept raw.
        static func embedded(_ text: String, mask: Bool) -> (Document, JSONValue?) {
            do {
                let value = try JSONValue.parse(text)
                return (Document(value: value, mask: mask), value)
            } catch {
                return (Document(raw: mask ? CredentialMask.mask(text) : text, parseError: String(describing: error)), nil)
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
        public let kind: String
        public let message: String
    }
}

/// Why a served item cannot be stored at all (it is recorded in `sync_errors` instead).
public struct SnapshotRejection: Error, Sendable, CustomStringConvertible {
    public let kind: String
    public let jobUID: String?
    public let message: String
    public var description: String { message }
}

extension StreamSnapshot {
    /// Normalises one served stream object.
    ///
    /// - Parameter expectedJobUID: the uid asked for on the detail route; a body about another
    ///   stream is rejected rather than stored under the wrong key.
    /// - Throws: ``SnapshotRejection`` when the item lacks what the history is keyed on: an object
    ///   with a UUID `job_uid` and an integer or string `status`.
    /// - Parameter maskCredentials: replace URL passwords with `***` everywhere (see
    ///   ``CredentialMask``); on by default.
    /// - Parameter servedDigest: the item's ``ServedDigest`` when the caller has already taken it.
    public init(item: JSONValue, expectedJobUID: String? = nil, maskCredentials: Bool = true,
                servedDigest: String? = nil) throws {
        // Every string that is stored passes through here or through the masking canonical writer.
        let mask = maskCredentials
        func text(_ s: String) -> String { mask ? CredentialMask.mask(s) : s }
        func preview(_ value: JSONValue) -> String { Self.preview(value, mask: mask) }
        guard case .object(var members) = item else {
            throw SnapshotRejection(kind: "invalid_item", jobUID: expectedJobUID, message: "the stream is \(item.typeDescription), not an object.")
        }
        guard let rawUID = members["job_uid"] else {
            throw SnapshotRejection(kind: "invalid_item", jobUID: expectedJobUID, message: "the stream has no job_uid.")
        }
        guard let uidText = rawUID.stringValue, let uid = JobUID.normalized(uidText) else {
            throw SnapshotRejection(kind: "invalid_item", jobUID: expectedJobUID, message: "the stream's job_uid is \(preview(rawUID)), not a UUID.")
        }
        if let expectedJobUID, expectedJobUID != uid {
            throw SnapshotRejection(kind: "uid_mismatch", jobUID: expectedJobUID, message: "asked for \(expectedJobUID), the server answered with job_uid \(uid); nothing stored.")
        }
        let status: StatusValue
        switch members["status"] {
        case .int(let i)?: status = .int(i)
        case .string(let s)? where !s.isEmpty && s.utf8.count <= 256: status = .text(text(s))
        case nil:
            throw SnapshotRejection(kind: "invalid_item", jobUID: uid, message: "the stream has no status; the stored state is kept.")
        case let other?:
            throw SnapshotRejection(kind: "invalid_item", jobUID: uid, message: "the stream's status is \(preview(other)), not an integer or a name; the stored state is kept.")
        }

        self.servedDigest = servedDigest ?? ServedDigest.of(members, maskCredentials: mask)
        var notes: [Note] = []
        members["status"] = .null
        var serverUpdatedAt: String?
        if case .string(let s)? = members["updated_at"] {
            serverUpdatedAt = text(s)
            members["updated_at"] = .null
        } else if let other = members["updated_at"] {
            notes.append(Note(kind: "invalid_field", message: "updated_at is \(preview(other)), not a time; kept as served."))
        }

        func embedded(_ key: String) -> (Document?, JSONValue?) {
            switch members[key] {
            case .string(let text)?:
                members[key] = .null
                let (document, value) = Document.embedded(text, mask: mask)
                if let error = document.parseError {
                    notes.append(Note(kind: "invalid_config", message: "\(key) is not JSON (\(error)); the raw string is kept."))
                }
                return (document, value)
            case nil:
                notes.append(Note(kind: "invalid_field", message: "the stream has no \(key)."))
                return (nil, nil)
            case let other?:
                notes.append(Note(kind: "invalid_field", message: "\(key) is \(preview(other)), not a JSON string; kept as served."))
                return (nil, nil)
            }
        }
        let (platform, config) = embedded("platform_json")
        let binary = embedded("binary_json").0

        let rest = Document(value: .object(members), mask: mask)
        self.jobUID = uid
        self.status = status
        self.serverUpdatedAt = serverUpdatedAt
        self.rest = rest
        self.platformConfig = platform
        self.binaryConfig = binary
        let statusText = JSONValue.statusJSON(status)
        self.contentHash = sha256Hex([rest.sha256, statusText, platform?.sha256 ?? "-", binary?.sha256 ?? "-"].joined(separator: "\n"))

        if let config, config.objectValue == nil {
            notes.append(Note(kind: "invalid_config", message: "platform_json is \(config.typeDescription), not an object."))
        }
        var fields = Fields()
        func typed<T>(_ key: String, _ read: (JSONValue) -> T?) -> T? {
            guard let value = members[key], value != .null else { return nil }
            if let typed = read(value) { return typed }
            notes.append(Note(kind: "invalid_field", message: "\(key) is \(preview(value)), of an unexpected type; kept as served."))
            return nil
        }
        fields.id = typed("id") { $0.intValue }
        fields.streamUID = typed("stream_uid") { $0.stringValue.map(text) }
        fields.cameraGroupUID = typed("camera_group_uid") { $0.stringValue.map(text) }
        fields.streamCaseType = typed("stream_case_type") { $0.intValue }
        fields.ovmsClient = typed("ovms_client") { $0.intValue }
        fields.createdAt = typed("created_at") { $0.stringValue.map(text) }
        fields.caseType = config?["CaseType"]?.stringValue.map(text)
        self.fields = fields

        var regions: [Region] = []
        switch members["regions"] {
        case .array(let items)?:
            for item in items {
                if let id = item["id"]?.intValue, let title = item["title"]?.stringValue {
                    regions.append(Region(id: id, title: text(title)))
                } else {
                    notes.append(Note(kind: "invalid_field", message: "a region is \(preview(item)), not {id, title}; kept in the payload only."))
                }
            }
        case nil, .null?: break
        case let other?:
            notes.append(Note(kind: "invalid_field", message: "regions is \(preview(other)), not an array; kept as served."))
        }
        self.regions = regions

        let pipeline = config?["Pipeline"]
        var areas: [Area] = []
        if let items = pipeline?["Areas"]?.arrayValue {
            for (position, item) in items.enumerated() {
                let shape = item["Shape"]
                areas.append(Area(
                    position: position,
                    areaID: Self.identifier(item["Id"] ?? item["id"]).map(text),
                    shape: shape.map { String(decoding: $0.canonicalBytes(maskingCredentials: mask), as: UTF8.self) },
                    pointCount: shape?.arrayValue?.count))
            }
        }
        self.areas = areas
        var fences: [Fence] = []
        if let items = pipeline?["Fences"]?.arrayValue {
            for (position, item) in items.enumerated() {
                fences.append(Fence(position: position, fenceID: Self.identifier(item["Id"] ?? item["id"]).map(text),
                                    json: String(decoding: item.canonicalBytes(maskingCredentials: mask), as: UTF8.self)))
            }
        }
        self.fences = fences
        self.notes = notes
    }

    /// ``init(item:expectedJobUID:maskCredentials:servedDigest:)`` as a result: a rejection, or
    /// any other error as an `invalid_item` rejection.
    static func normalise(_ item: JSONValue, expectedJobUID: String? = nil, maskCredentials: Bool,
                          servedDigest: String? = nil) -> Result<StreamSnapshot, SnapshotRejection> {
        do {
            return .success(try StreamSnapshot(item: item, expectedJobUID: expectedJobUID, maskCredentials: maskCredentials,
                                               servedDigest: servedDigest))
        } catch let rejection as SnapshotRejection {
            return .failure(rejection)
        } catch {
            return .failure(SnapshotRejection(kind: "invalid_item", jobUID: expectedJobUID, message: "\(error)"))
        }
    }

    private static func identifier(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let s)?: return s
        case .int(let i)?: return String(i)
        default: return nil
        }
    }

    /// A short rendering of a value for messages: type and the start of its text.
    static func preview(_ value: JSONValue, mask: Bool = true) -> String {
        let text = String(decoding: value.canonicalBytes(maskingCredentials: mask), as: UTF8.self)
        let short = text.count > 40 ? String(text.prefix(40)) + "..." : text
        return "\(value.typeDescription) \(short)"
    }
}

extension JSONValue {
    static func statusJSON(_ status: StreamSnapshot.StatusValue) -> String {
        switch status {
        case .int(let i): return JSONValue.int(i).canonicalText
        case .text(let s): return JSONValue.string(s).canonicalText
        }
    }
}
