import Foundation

/// Masks passwords in URLs (`rtsp://admin:secret@camera/...` becomes `rtsp://admin:***@camera/...`)
/// anywhere in a served stream, before anything is hashed or stored.
///
/// Camera and callback URLs in pipeline configs often carry credentials; the history database is
/// an infrastructure map that outlives them, so by default it never holds them. A password change
/// alone is then not a change. `streamdb sync --keep-url-credentials` turns masking off.
public enum CredentialMask {
    /// What a masked password reads as.
    public static let placeholder = "***"

    /// `text` with every URL password replaced by ``placeholder``: in `scheme://user:password@host`,
    /// the part between the first `:` after `//` and the `@` that ends the authority.
    public static func mask(_ text: String) -> String {
        var text = text
        return text.withUTF8 { bytes in
            // Most strings hold no URL: one pass that finds no "://" returns them as they are.
            guard bytes.count >= 8, let first = authorityStart(bytes, from: 0) else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var changed = false
            var i = 0
            var next: Int? = first
            while let start = next {
                // `start` is just after "://": the authority runs to the first / ? # space quote or control.
                var j = start
                var colon: Int?
                var at: Int?
                while j < bytes.count {
                    let b = bytes[j]
                    if b == UInt8(ascii: "/") || b == UInt8(ascii: "?") || b == UInt8(ascii: "#") || b == UInt8(ascii: " ")
                        || b == UInt8(ascii: "\"") || b < 0x20
                    {
                        break
                    }
                    if b == UInt8(ascii: "@") { at = j }
                    if b == UInt8(ascii: ":"), colon == nil, at == nil { colon = j }
                    j += 1
                }
                if let colon, let at, colon < at, at > colon + 1 {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i...colon]))
                    out.append(contentsOf: placeholder.utf8)
                    i = at
                    changed = true
                }
                next = authorityStart(bytes, from: j)
            }
            guard changed else { return nil }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i...]))
            return String(decoding: out, as: UTF8.self)
        } ?? text
    }

    /// The index just after the next "://" at or after `from` that follows a scheme character.
    private static func authorityStart(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var i = max(from, 1)
        while i + 2 < bytes.count {
            if bytes[i] == UInt8(ascii: ":"), bytes[i + 1] == UInt8(ascii: "/"), bytes[i + 2] == UInt8(ascii: "/"),
                isSchemeByte(bytes[i - 1])
            {
                return i + 3
            }
            i += 1
        }
        return nil
    }

    private static func isSchemeByte(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2B || b == 0x2D || b == 0x2E
    }
}
