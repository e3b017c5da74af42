import Foundation
import StreamDBModel

/// One input is one body as a server could serve it. Whatever the bytes, parsing and normalising
/// must not crash, and what they produce must hold together: the canonical text reads back as the
/// same value, a stored snapshot's documents are JSON, and its hash does not depend on spelling.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshot(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    // The outline a sync reads items through accepts exactly what the parser accepts, and gives
    // each value back as the parser builds it.
    let outline = try? JSONOutline(data, depth: 3)
    guard let value = try? JSONValue.parse(data) else {
        precondition(outline == nil, "the outline accepts a body the parser refuses")
        return 0
    }
    guard let outline else { fatalError("the outline refuses a body the parser accepts") }
    checkOutline(outline.root, value, levels: 3)
    let text = value.canonicalText
    guard let reread = try? JSONValue.parse(text) else { fatalError("canonical text is not JSON: \(text.prefix(300))") }
    precondition(reread == value, "canonical text reads back as another value: \(text.prefix(300))")
    precondition(reread.canonicalText == text, "canonical text is not a fixed point: \(text.prefix(300))")
    checkBinaryExtension(value)
    for mask in [true, false] {
        let snapshot: StreamSnapshot
        do {
            snapshot = try StreamSnapshot(item: value, maskCredentials: mask)
        } catch is SnapshotRejection {
            continue
        } catch {
            fatalError("normalising threw \(error), not a SnapshotRejection")
        }
        precondition(snapshot.contentHash.count == 64)
        precondition(JobUID.normalized(snapshot.jobUID) == snapshot.jobUID)
        for document in [snapshot.rest, snapshot.platformConfig, snapshot.binaryConfig].compactMap({ $0 }) {
            precondition((document.json == nil) != (document.raw == nil), "a document is both or neither JSON and raw")
            if let json = document.json {
                precondition((try? JSONValue.parse(json)) != nil, "a stored document is not JSON: \(json.prefix(300))")
            }
        }
        for area in snapshot.areas {
            if let shape = area.shape { precondition((try? JSONValue.parse(shape)) != nil, "an area's shape is not JSON") }
        }
        // The same content spelt canonically, and asked for by its own uid, is the same snapshot.
        guard let same = try? StreamSnapshot(item: reread, expectedJobUID: snapshot.jobUID, maskCredentials: mask) else {
            fatalError("the canonical spelling of a stored item is rejected")
        }
        precondition(same.contentHash == snapshot.contentHash, "the content hash depends on spelling")
        if mask {
            // Masking twice is masking once.
            let masked = (try? JSONValue.parse(Data(value.canonicalBytes(maskingCredentials: true)))) ?? value
            let again = try? StreamSnapshot(item: masked, maskCredentials: true)
            precondition(again?.contentHash == snapshot.contentHash, "masking is not idempotent")
        }
    }
    return 0
}

/// An object's members split in two, served as a platform_json of the first part and a
/// binary_json that is that text with the rest added: binary_json is stored as when it is read on
/// its own (what the sync reads by extending platform_json's value and canonical form).
func checkBinaryExtension(_ value: JSONValue) {
    guard case .object(let members) = value, members.count >= 2 else { return }
    let keys = Array(members.keys)
    let half = keys.count / 2
    let base = JSONValue.object(Dictionary(uniqueKeysWithValues: keys[..<half].map { ($0, members[$0]!) })).canonicalText
    var added = JSONValue.object(Dictionary(uniqueKeysWithValues: keys[half...].map { ($0, members[$0]!) })).canonicalText
    added.removeFirst()
    let binary = String(base.dropLast()) + ", " + added
    for mask in [true, false] {
        func stored(platform: String) -> StreamSnapshot.Document? {
            let item: JSONValue = .object([
                "job_uid": .string("00617614-b938-11ee-bfd6-5622fced16a0"), "status": .int(11),
                "platform_json": .string(platform), "binary_json": .string(binary),
            ])
            return (try? StreamSnapshot(item: item, maskCredentials: mask))?.binaryConfig
        }
        let extended = stored(platform: base)
        let alone = stored(platform: "{\"another\": \"base\"}")
        precondition(
            extended?.sha256 == alone?.sha256 && extended?.json == alone?.json && extended?.served == alone?.served,
            "binary_json read as an extension of platform_json is stored otherwise: \(binary.prefix(300))")
    }
}

/// `outlined` is `value`, and so is each recorded value below it.
func checkOutline(_ outlined: JSONOutline.Value, _ value: JSONValue, levels: Int) {
    precondition((try? outlined.tree()) == value, "the outline's value is not the parser's")
    guard levels > 0 else { return }
    switch value {
    case .object(let members):
        for (key, member) in members {
            guard let found = outlined.member(key) else { fatalError("the outline lacks the member \(key)") }
            checkOutline(found, member, levels: levels - 1)
        }
    case .array(let items):
        let children = outlined.children
        precondition(children.count == items.count, "the outline has another number of elements")
        for (child, item) in zip(children, items) { checkOutline(child, item, levels: levels - 1) }
    default:
        break
    }
}
