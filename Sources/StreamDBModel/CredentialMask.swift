import Foundation

/// Masks the secrets in URLs anywhere in a served stream, before anything is hashed or stored:
/// passwords (`rtsp://admin:secret@camera/...` becomes `rtsp://admin:***@camera/...`) and the
/// values of secret-bearing query parameters (`.../live/?token=lHHN...~~` becomes
/// `.../live/?token=***`), as the vendor's own camera URLs carry access tokens there.
///
/// Camera and callback URLs in pipeline configs often carry credentials; the history database is
/// an infrastructure map that outlives them, so by default it never holds them. A password or token
/// change alone is then not a change. `streamdb sync --keep-url-credentials` turns masking off;
/// `--mask-query-param NAME` masks more parameters.
public struct CredentialMask: Sendable, Hashable {
    /// What a masked secret reads as.
    public static let placeholder = "***"

    /// The query parameters masked by default (compared without regard to case).
    public static let defaultQueryParameters = [
        "token", "access_token", "auth", "authorization", "password", "passwd", "pass", "pwd", "secret", "key", "apikey",
        "api_key", "signature", "sig",
    ]

    /// The default rules: passwords and the default query parameters.
    public static let standard = CredentialMask()

    /// Lower-cased names of the query parameters whose values are masked.
    public let queryParameters: Set<String>

    /// - Parameter extraQueryParameters: more parameter names to mask, beside the defaults.
    public init(extraQueryParameters: [String] = []) {
        queryParameters = Set((Self.defaultQueryParameters + extraQueryParameters).map { $0.lowercased() })
    }

    /// A text that changes when the rules do: part of the served digest, so that objects digested
    /// under other rules are normalised again.
    public var rulesDescription: String { queryParameters.sorted().joined(separator: ",") }

    /// `text` with every URL password and every secret query value replaced by ``placeholder``.
    ///
    /// A URL starts at `scheme://`; its authority runs to the first `/ ? #`, space, quote or
    /// control character, and a password is what lies between its first `:` and the `@` that ends
    /// the user part. Its query starts at `?` and runs to `#`, a space, a quote or a control
    /// character; a parameter is `name=value`, separated by `&` or `;`.
    public func mask(_ text: String) -> String {
        var text = text
        return text.withUTF8 { bytes in
            // Most strings hold no URL: one pass that finds no "://" returns them as they are.
            guard bytes.count >= 8, let first = Self.authorityStart(bytes, from: 0) else { return nil }
            var writer = MaskWriter(bytes: bytes)
            var next: Int? = first
            while let start = next {
                let end = maskURL(bytes, from: start, into: &writer)
                next = Self.authorityStart(bytes, from: end)
            }
            return writer.result()
        } ?? text
    }

    /// Masks the URL whose authority starts at `start`; returns the index where it ends.
    private func maskURL(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, into writer: inout MaskWriter) -> Int {
        var j = start
        var colon: Int?
        var at: Int?
        while j < bytes.count {
            let b = bytes[j]
            if b == UInt8(ascii: "/") || b == UInt8(ascii: "?") || b == UInt8(ascii: "#") || Self.endsURL(b) { break }
            if b == UInt8(ascii: "@") { at = j }
            if b == UInt8(ascii: ":"), colon == nil, at == nil { colon = j }
            j += 1
        }
        if let colon, let at, colon < at, at > colon + 1 {
            writer.replace(colon + 1..<at)
        }
        // The path, then the query.
        while j < bytes.count, bytes[j] != UInt8(ascii: "?"), bytes[j] != UInt8(ascii: "#"), !Self.endsURL(bytes[j]) { j += 1 }
        guard j < bytes.count, bytes[j] == UInt8(ascii: "?") else { return j }
        j += 1
        while j < bytes.count, bytes[j] != UInt8(ascii: "#"), !Self.endsURL(bytes[j]) {
            let nameStart = j
            while j < bytes.count, bytes[j] != UInt8(ascii: "="), !Self.endsParameter(bytes[j]) { j += 1 }
            let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[nameStart..<j]), as: UTF8.self).lowercased()
            guard j < bytes.count, bytes[j] == UInt8(ascii: "=") else {
                if j < bytes.count, bytes[j] == UInt8(ascii: "&") || bytes[j] == UInt8(ascii: ";") { j += 1 }
                continue
            }
            j += 1
            let valueStart = j
            while j < bytes.count, !Self.endsParameter(bytes[j]) { j += 1 }
            if j > valueStart, queryParameters.contains(name) {
                writer.replace(valueStart..<j)
            }
            if j < bytes.count, bytes[j] == UInt8(ascii: "&") || bytes[j] == UInt8(ascii: ";") { j += 1 }
        }
        return j
    }

    /// A space, a quote, a backslash or a control character ends a URL inside a longer text.
    private static func endsURL(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") || b == UInt8(ascii: "\\") || b < 0x20
    }

    private static func endsParameter(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "&") || b == UInt8(ascii: ";") || b == UInt8(ascii: "#") || endsURL(b)
    }

    /// The index just after the next "://" at or after `from` that follows a scheme character.
    private static func authorityStart(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        var i = max(from, 1)
        // From colon to colon with memchr: every string of every payload is scanned, and few hold
        // a URL.
        while i + 2 < bytes.count {
            guard let colon = memchr(base + i, Int32(UInt8(ascii: ":")), bytes.count - 2 - i) else { return nil }
            i = base.distance(to: colon.assumingMemoryBound(to: UInt8.self))
            if bytes[i + 1] == UInt8(ascii: "/"), bytes[i + 2] == UInt8(ascii: "/"), isSchemeByte(bytes[i - 1]) {
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

/// Copies a text with some of its ranges replaced by the placeholder, in increasing order.
private struct MaskWriter {
    let bytes: UnsafeBufferPointer<UInt8>
    private var out: [UInt8] = []
    private var copied = 0
    private var changed = false

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func replace(_ range: Range<Int>) {
        // A value already masked stays as it is (and the text unchanged).
        if range.count == 3, bytes[range.lowerBound] == UInt8(ascii: "*"), bytes[range.lowerBound + 1] == UInt8(ascii: "*"),
            bytes[range.lowerBound + 2] == UInt8(ascii: "*")
        {
            return
        }
        if !changed { out.reserveCapacity(bytes.count) }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied..<range.lowerBound]))
        out.append(contentsOf: CredentialMask.placeholder.utf8)
        copied = range.upperBound
        changed = true
    }

    /// The masked text, or nil when nothing was replaced.
    func result() -> String? {
        guard changed else { return nil }
        var text = out
        text.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied...]))
        return String(decoding: text, as: UTF8.self)
    }
}
