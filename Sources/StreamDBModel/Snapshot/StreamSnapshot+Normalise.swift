import Foundation

extension StreamSnapshot {
    /// Normalises one served stream object.
    ///
    /// - Parameter expectedJobUID: the uid asked for on the detail route; a body about another
    ///   stream is rejected rather than stored under the wrong key.
    /// - Parameter masking: the rules that replace URL secrets with `***` everywhere (see
    ///   ``CredentialMask``); nil keeps them as served.
    /// - Parameter servedDigest: the item's ``ServedDigest`` when the caller has already taken it.
    /// - Throws: ``SnapshotRejection`` when the item lacks what the history is keyed on: an object
    ///   with a UUID `job_uid` and an integer or string `status`.
    public init(
        item: JSONValue, expectedJobUID: String? = nil, masking: CredentialMask?, servedDigest: String? = nil
    ) throws {
        var reader = try PayloadReader(item: item, expectedJobUID: expectedJobUID, mask: masking)
        self.jobUID = reader.jobUID
        self.status = reader.status
        self.servedDigest = servedDigest ?? ServedDigest.of(reader.served, masking: masking)
        self.serverUpdatedAt = reader.takeUpdatedAt()
        let (platform, config) = reader.takeEmbedded("platform_json")
        // binary_json is platform_json with JobUid added: read as that when it is spelt so.
        let platformText = reader.served["platform_json"]?.stringValue
        let base = config.flatMap { value in
            platformText.flatMap { text in platform.map { Document.Base(text: text, value: value, document: $0) } }
        }
        let binary = reader.takeEmbedded("binary_json", extending: base).0
        let rest = Document(value: .object(reader.members), mask: masking)
        self.rest = rest
        self.platformConfig = platform
        self.binaryConfig = binary
        self.contentHash = Self.contentHash(
            restSHA256: rest.sha256, status: status, platformSHA256: platform?.sha256, binarySHA256: binary?.sha256)
        self.fields = reader.fields(config: config)
        self.regions = reader.regions()
        let pipeline = config?["Pipeline"]
        self.areas = reader.areas(pipeline?["Areas"])
        self.fences = reader.fences(pipeline?["Fences"])
        self.notes = reader.notes
    }

    /// A version's content hash from its parts: the documents' hashes and the status (everything
    /// but `updated_at`). The one place the rule is written: `scrub-secrets` recomputes current
    /// hashes with it.
    public static func contentHash(restSHA256: String, status: StatusValue, platformSHA256: String?, binarySHA256: String?) -> String {
        sha256Hex([restSHA256, status.json.canonicalText, platformSHA256 ?? "-", binarySHA256 ?? "-"].joined(separator: "\n"))
    }

    /// Normalises with the standard masking rules (`true`) or none.
    public init(item: JSONValue, expectedJobUID: String? = nil, maskCredentials: Bool = true, servedDigest: String? = nil) throws {
        try self.init(
            item: item, expectedJobUID: expectedJobUID, masking: maskCredentials ? .standard : nil, servedDigest: servedDigest)
    }

    /// ``init(item:expectedJobUID:masking:servedDigest:)`` as a result: a rejection, or any other
    /// error as an `invalid_item` rejection.
    public static func normalise(
        _ item: JSONValue, expectedJobUID: String? = nil, masking: CredentialMask?, servedDigest: String? = nil
    ) -> Result<StreamSnapshot, SnapshotRejection> {
        do {
            return .success(
                try StreamSnapshot(
                    item: item, expectedJobUID: expectedJobUID, masking: masking,
                    servedDigest: servedDigest))
        } catch let rejection as SnapshotRejection {
            return .failure(rejection)
        } catch {
            return .failure(SnapshotRejection(kind: .invalidItem, jobUID: expectedJobUID, message: "\(error)"))
        }
    }

    /// A short rendering of a value for messages: type and the start of its text.
    static func preview(_ value: JSONValue, mask: CredentialMask? = .standard) -> String {
        let text = String(decoding: value.canonicalBytes(masking: mask), as: UTF8.self)
        let short = text.count > 40 ? String(text.prefix(40)) + "..." : text
        return "\(value.typeDescription) \(short)"
    }
}

/// Reads the fields of one served object, taking out what is stored apart from the rest and
/// noting every doubtful value. Every string that is stored passes through ``text(_:)`` or
/// through the masking canonical writer.
private struct PayloadReader {
    /// The object as served (what ``ServedDigest`` is taken of).
    let served: [String: JSONValue]
    /// The object as it will be stored: status, updated_at and the embedded configs taken out.
    var members: [String: JSONValue]
    let jobUID: String
    let status: StatusValue
    let mask: CredentialMask?
    var notes: [StreamSnapshot.Note] = []

    init(item: JSONValue, expectedJobUID: String?, mask: CredentialMask?) throws {
        self.mask = mask
        func reject(_ message: String, _ uid: String? = expectedJobUID, kind: ErrorKind = .invalidItem) -> SnapshotRejection {
            SnapshotRejection(kind: kind, jobUID: uid, message: message)
        }
        guard case .object(let members) = item else {
            throw reject("the stream is \(item.typeDescription), not an object.")
        }
        guard let rawUID = members["job_uid"] else { throw reject("the stream has no job_uid.") }
        guard let uidText = rawUID.stringValue, let uid = JobUID.normalized(uidText) else {
            throw reject("the stream's job_uid is \(StreamSnapshot.preview(rawUID, mask: mask)), not a UUID.")
        }
        if let expectedJobUID, expectedJobUID != uid {
            throw reject(
                "asked for \(expectedJobUID), the server answered with job_uid \(uid); nothing stored.", kind: .uidMismatch)
        }
        switch members["status"] {
        case .int(let i)?: status = .int(i)
        case .string(let s)? where !s.isEmpty && s.utf8.count <= 256: status = .text(mask?.mask(s) ?? s)
        case nil: throw reject("the stream has no status; the stored state is kept.", uid)
        case let other?:
            throw reject(
                "the stream's status is \(StreamSnapshot.preview(other, mask: mask)), not an integer or a name; the stored state is kept.",
                uid)
        }
        self.served = members
        self.members = members
        self.jobUID = uid
        self.members["status"] = .null
    }

    func text(_ s: String) -> String { mask?.mask(s) ?? s }
    func preview(_ value: JSONValue) -> String { StreamSnapshot.preview(value, mask: mask) }

    mutating func note(_ kind: ErrorKind, _ message: String) {
        notes.append(StreamSnapshot.Note(kind: kind, message: message))
    }

    /// `updated_at` when it is a string, taken out of the content (it moves with every change).
    mutating func takeUpdatedAt() -> String? {
        switch members["updated_at"] {
        case .string(let s)?:
            members["updated_at"] = .null
            return text(s)
        case nil: return nil
        case let other?:
            note(.invalidField, "updated_at is \(preview(other)), not a time; kept as served.")
            return nil
        }
    }

    /// A JSON-in-a-string field, taken out of the rest of the payload to be stored on its own.
    ///
    /// - Parameter base: another embedded config already read, its text, parsed value and document
    ///   (platform_json's, for binary_json), which this one may extend
    ///   (``StreamSnapshot/Document/embedded(_:mask:extending:)``).
    mutating func takeEmbedded(
        _ key: String, extending base: StreamSnapshot.Document.Base? = nil
    ) -> (StreamSnapshot.Document?, JSONValue?) {
        switch members[key] {
        case .string(let served)?:
            members[key] = .null
            let (document, value) = StreamSnapshot.Document.embedded(served, mask: mask, extending: base)
            if let error = document.parseError {
                note(.invalidConfig, "\(key) is not JSON (\(error)); the raw string is kept.")
            }
            if key == "platform_json", let value, value.objectValue == nil {
                note(.invalidConfig, "platform_json is \(value.typeDescription), not an object.")
            }
            return (document, value)
        case nil:
            note(.invalidField, "the stream has no \(key).")
            return (nil, nil)
        case let other?:
            note(.invalidField, "\(key) is \(preview(other)), not a JSON string; kept as served.")
            return (nil, nil)
        }
    }

    mutating func fields(config: JSONValue?) -> StreamSnapshot.Fields {
        let mask = self.mask
        let text = { (s: String) in mask?.mask(s) ?? s }
        var fields = StreamSnapshot.Fields()
        fields.id = typed("id") { $0.intValue }
        fields.streamUID = typed("stream_uid") { $0.stringValue.map(text) }
        fields.cameraGroupUID = typed("camera_group_uid") { $0.stringValue.map(text) }
        fields.streamCaseType = typed("stream_case_type") { $0.intValue }
        fields.ovmsClient = typed("ovms_client") { $0.intValue }
        fields.createdAt = typed("created_at") { $0.stringValue.map(text) }
        fields.caseType = config?["CaseType"]?.stringValue.map(text)
        return fields
    }

    /// A typed column: nil for a missing or null value, noted for a value of another type.
    private mutating func typed<T>(_ key: String, _ read: (JSONValue) -> T?) -> T? {
        guard let value = members[key], value != .null else { return nil }
        if let typed = read(value) { return typed }
        note(.invalidField, "\(key) is \(preview(value)), of an unexpected type; kept as served.")
        return nil
    }

    mutating func regions() -> [StreamSnapshot.Region] {
        switch members["regions"] {
        case .array(let items)?:
            var regions: [StreamSnapshot.Region] = []
            for item in items {
                if let id = item["id"]?.intValue, let title = item["title"]?.stringValue {
                    regions.append(StreamSnapshot.Region(id: id, title: text(title)))
                } else {
                    note(.invalidField, "a region is \(preview(item)), not {id, title}; kept in the payload only.")
                }
            }
            return regions
        case nil, .null?: return []
        case let other?:
            note(.invalidField, "regions is \(preview(other)), not an array; kept as served.")
            return []
        }
    }

    func areas(_ value: JSONValue?) -> [StreamSnapshot.Area] {
        (value?.arrayValue ?? []).enumerated().map { position, item in
            let shape = item["Shape"]
            return StreamSnapshot.Area(
                position: position,
                areaID: Self.identifier(item["Id"] ?? item["id"]).map(text),
                shape: shape.map { String(decoding: $0.canonicalBytes(masking: mask), as: UTF8.self) },
                pointCount: shape?.arrayValue?.count)
        }
    }

    func fences(_ value: JSONValue?) -> [StreamSnapshot.Fence] {
        (value?.arrayValue ?? []).enumerated().map { position, item in
            StreamSnapshot.Fence(
                position: position, fenceID: Self.identifier(item["Id"] ?? item["id"]).map(text),
                json: String(decoding: item.canonicalBytes(masking: mask), as: UTF8.self))
        }
    }

    private static func identifier(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let s)?: return s
        case .int(let i)?: return String(i)
        default: return nil
        }
    }
}
