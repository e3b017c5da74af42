import GRDB
import NIOCore

/// Rows in PostgreSQL's COPY text format: tab between columns, a newline after each row, `\N`
/// for NULL, and backslash, tab, newline and carriage return escaped.
///
/// PostgreSQL text cannot hold U+0000: a NUL in stored text is sent as U+FFFD and counted in
/// ``replacedNULs``, so that the publish says so instead of failing on every run.
struct CopyText {
    var buffer: ByteBuffer
    private(set) var replacedNULs = 0

    init(capacity: Int) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// Appends one row: the first `count` values of `row`. The columns in `textBlobs` are text
    /// read as blobs (`CAST(raw AS BLOB)`): GRDB reads text as a C string, cut at a U+0000.
    mutating func append(_ row: Row, count: Int, textBlobs: Set<Int> = []) {
        for index in 0..<count {
            if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
            let value: DatabaseValue = row[index]
            switch value.storage {
            case .null:
                buffer.writeStaticString("\\N")
            case .int64(let value):
                buffer.writeString(String(value))
            case .double(let value):
                buffer.writeString(value.isFinite ? "\(value)" : (value.isNaN ? "NaN" : (value > 0 ? "Infinity" : "-Infinity")))
            case .string(let value):
                appendText(value)
            case .blob(let data) where textBlobs.contains(index):
                appendText(Array(data))
            case .blob(let data):
                // Blobs are hex text in the mirror (a content hash, say).
                let digits = Array("0123456789abcdef".utf8)
                for byte in data {
                    buffer.writeInteger(digits[Int(byte >> 4)])
                    buffer.writeInteger(digits[Int(byte & 15)])
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    private mutating func appendText(_ value: String) {
        var value = value
        value.withUTF8 { appendText($0) }
    }

    private mutating func appendText<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        guard bytes.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0 }) else {
            buffer.writeBytes(bytes)
            return
        }
        for byte in bytes {
            switch byte {
            case 0x5C: buffer.writeStaticString("\\\\")
            case 0x09: buffer.writeStaticString("\\t")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            case 0:
                buffer.writeBytes([0xEF, 0xBF, 0xBD])
                replacedNULs += 1
            default: buffer.writeInteger(byte)
            }
        }
    }
}
