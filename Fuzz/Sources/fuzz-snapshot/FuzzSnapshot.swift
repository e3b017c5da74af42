import Foundation
import StreamDBModel

/// One input is one body as a server could serve it. Whatever the bytes, parsing and normalising
/// must not crash, and what they produce must hold together: the canonical text reads back as the
/// same value, a stored snapshot's documents are JSON, and its hash does not depend on spelling.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshot(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    guard let value = try? JSONValue.parse(data) else { return 0 }
    let text = value.canonicalText
    guard let reread = try? JSONValue.parse(text) else { fatalError("canonical text is not JSON: \(text.prefix(300))") }
    precondition(reread == value, "canonical text reads back as another value: \(text.prefix(300))")
    precondition(reread.canonicalText == text, "canonical text is not a fixed point: \(text.prefix(300))")
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
