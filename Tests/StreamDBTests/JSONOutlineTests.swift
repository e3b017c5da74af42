import Foundation
import StreamDBModel
import Testing

/// The outline a sync reads served items through (``JSONOutline``): it must accept exactly what
/// the parser accepts, and give back for each value what the parser builds for it.
@Suite("JSON outline")
struct JSONOutlineTests {
    /// Bodies the parser refuses, each for another reason, and bodies it accepts with something
    /// unusual in them.
    static let edgeCases: [String] = [
        "", " ", "{", "[", "}", "]", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,}", "[1,]", "[1 2]", "{\"a\" 1}", "{1:2}",
        "\"abc", "\"a\\\"", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\uD800\"", "\"\\uD800\\u0041\"", "\"\\uDC00\"",
        "\"\\uD83D\\uDE00\"", "\"tab\there\"", "\"nul\u{0}\"", "tru", "nul", "falsey", "-", "01", "1.", "1e", "1e+", "-0",
        "1e999", "-1e999", "123456789012345678901234567890", "9223372036854775807", "9223372036854775808", "1.5e300",
        "0.1", "[[[]]]", "{\"a\":{\"b\":{\"c\":[1,{\"d\":null}]}}}", "{} {}", "[] x", " [1] ", "\u{FEFF}[]",
        "{\"k\\u0065y\":1,\"key\":2}", "{\"a\":1,\"a\":2}", "\"caf\u{E9}\"", "{\"\":\"\"}",
        String(repeating: "[", count: 512) + String(repeating: "]", count: 512),
        String(repeating: "[", count: 513) + String(repeating: "]", count: 513),
        String(repeating: "{\"a\":", count: 300) + "1" + String(repeating: "}", count: 300),
    ]

    /// Raw bytes that are not UTF-8, inside strings and keys.
    static let invalidUTF8: [[UInt8]] = [
        [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
        [0x7B, 0x22, 0xE2, 0x82, 0x22, 0x3A, 0x31, 0x7D], [0x22, 0xC3, 0x5C, 0x6E, 0x22], [0x22, 0x41, 0xA9, 0x22],
        [0x22, 0xE2, 0x82, 0xAC, 0x22],
    ]

    static func hostileBodies() throws -> [Data] {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "Fixtures/hostile")
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
            .map { try Data(contentsOf: folder.appending(path: $0)) }
    }

    /// Checks that the outline of `data` agrees with the parser: the same refusal, or the same
    /// value for the document and every recorded value below it.
    func expectAgreement(_ data: Data, sourceLocation: SourceLocation = #_sourceLocation) {
        let parsed = Result { try JSONValue.parse(data) }
        let outlined = Result { try JSONOutline(data, depth: 3) }
        switch (parsed, outlined) {
        case (.success(let value), .success(let outline)):
            expectSame(outline.root, value, levels: 3, sourceLocation: sourceLocation)
        case (.failure(let refused), .failure(let alike)):
            #expect("\(refused)" == "\(alike)", sourceLocation: sourceLocation)
        case (.success, .failure(let error)):
            Issue.record("the outline refuses what the parser accepts: \(error)", sourceLocation: sourceLocation)
        case (.failure, .success):
            Issue.record("the outline accepts what the parser refuses", sourceLocation: sourceLocation)
        }
    }

    func expectSame(_ outlined: JSONOutline.Value, _ value: JSONValue, levels: Int, sourceLocation: SourceLocation) {
        #expect((try? outlined.tree()) == value, sourceLocation: sourceLocation)
        guard levels > 0 else { return }
        switch value {
        case .object(let members):
            #expect(outlined.kind == .object, sourceLocation: sourceLocation)
            for (key, member) in members {
                guard let found = outlined.member(key) else {
                    Issue.record("no member \(key)", sourceLocation: sourceLocation)
                    continue
                }
                expectSame(found, member, levels: levels - 1, sourceLocation: sourceLocation)
            }
            #expect(outlined.member("no such key \u{1}") == nil, sourceLocation: sourceLocation)
        case .array(let items):
            #expect(outlined.kind == .array, sourceLocation: sourceLocation)
            let children = outlined.children
            #expect(children.count == items.count, sourceLocation: sourceLocation)
            for (child, item) in zip(children, items) {
                expectSame(child, item, levels: levels - 1, sourceLocation: sourceLocation)
            }
        case .string(let text):
            #expect(outlined.string == text, sourceLocation: sourceLocation)
        default:
            #expect(outlined.children.isEmpty, sourceLocation: sourceLocation)
        }
    }

    @Test(
        "The outline accepts exactly what the parser accepts, refuses with the parser's words, and gives each value back as the parser builds it"
    )
    func agreesWithTheParser() throws {
        for text in Self.edgeCases { expectAgreement(Data(text.utf8)) }
        for bytes in Self.invalidUTF8 { expectAgreement(Data(bytes)) }
        for body in try Self.hostileBodies() { expectAgreement(body) }
        // Every prefix of a real page: truncated bodies, each refused at its own byte.
        let page = try Data(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "Fixtures/stream-list-page-1.json"))
        for end in stride(from: 0, through: page.count, by: 7) { expectAgreement(page.prefix(end)) }
        expectAgreement(page)
    }

    @Test(
        "Bytes that are not UTF-8 are refused at every position of a string of three words, before or after an escape, in a value or a key; valid characters there read exactly"
    )
    func utf8AtEveryPosition() throws {
        let invalid: [[UInt8]] = [[0xFF], [0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF0, 0x9F, 0x98]]
        let valid = ["\u{E9}", "\u{20AC}", "\u{1F600}"].map { Array($0.utf8) }
        let newline = Array(#"\n"#.utf8)
        for position in 0..<24 {
            for escape in ["none", "before", "after"] {
                func body(_ piece: [UInt8], key: Bool) -> (bytes: [UInt8], content: [UInt8]) {
                    let head = [UInt8](repeating: UInt8(ascii: "a"), count: position)
                    let tail = [UInt8](repeating: UInt8(ascii: "b"), count: 23 - position)
                    var served = head + piece + tail
                    var content = served
                    if escape == "before" {
                        served = newline + served
                        content = [0x0A] + content
                    } else if escape == "after" {
                        served += newline
                        content += [0x0A]
                    }
                    let string = [UInt8(ascii: "\"")] + served + [UInt8(ascii: "\"")]
                    return (key ? Array(#"{"#.utf8) + string + Array(#":1}"#.utf8) : string, content)
                }
                for piece in invalid {
                    for key in [false, true] {
                        let data = Data(body(piece, key: key).bytes)
                        do {
                            _ = try JSONValue.parse(data)
                            Issue.record("\(piece) at \(position), escape \(escape): parsed")
                        } catch {
                            #expect(error is JSONValue.ParseError)
                            #expect("\(error)".contains("invalid UTF-8 in a string"), "\(piece) at \(position), escape \(escape)")
                        }
                        expectAgreement(data)
                    }
                }
                for piece in valid {
                    let (bytes, content) = body(piece, key: false)
                    #expect(try JSONValue.parse(Data(bytes)) == .string(String(decoding: content, as: UTF8.self)))
                    let (keyed, _) = body(piece, key: true)
                    #expect(try JSONValue.parse(Data(keyed)) == .object([String(decoding: content, as: UTF8.self): .int(1)]))
                    expectAgreement(Data(keyed))
                }
            }
        }
    }

    @Test("A member is the last of a duplicate key, an escaped key is the key it spells, and byte ranges leave out the spacing")
    func members() throws {
        let text = #"  { "a" : 1 , "b" : [ 1 , "x" ] , "\u0061" : "last" , "c\"d" : { "e" : null } }  "#
        // A body that is a slice of a larger buffer (as a response body can be) reads the same.
        let buffer = Data(("xxxx" + text).utf8)
        let outline = try JSONOutline(buffer[4...], depth: 1)
        let root = outline.root
        #expect(root.kind == .object)
        #expect(root.byteRange == 2..<(text.utf8.count - 2))
        #expect(root.member("a")?.string == "last")
        #expect(root.member("a").map { String(decoding: $0.data, as: UTF8.self) } == #""last""#)
        #expect(root.member("b")?.kind == .array)
        #expect(root.member("c\"d")?.kind == .object)
        #expect(root.children.count == 4)
        // Two levels down is not recorded at depth 1: the value is there, its members are not.
        #expect(root.member("b")?.children.isEmpty == true)
        #expect(try root.member("b")?.tree() == .array([.int(1), .string("x")]))
        #expect(try JSONOutline(buffer[4...], depth: 2).root.member("b")?.children.count == 2)
        #expect(root.member("e") == nil)
        #expect(try JSONOutline(Data("[1]".utf8), depth: 1).root.member("a") == nil)
    }
}
