import Foundation
import StreamDBAPI
import StreamDBModel
import StreamDBOutput
import StreamDBQuery
import StreamDBStore
import StreamDBSync
import Testing

/// Normalising served objects: what counts as a change, and what a hostile body becomes.
@Suite("Snapshot normalisation")
struct StreamSnapshotTests {
    static let example = try! String(
        contentsOf: URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().appending(path: "Fixtures/stream-detail-200.json"), encoding: .utf8)

    func snapshot(_ text: String, expected: String? = nil) throws -> StreamSnapshot {
        try StreamSnapshot(item: try JSONValue.parse(text), expectedJobUID: expected)
    }

    /// The vendor's example with its `platform_json` replaced.
    func withPlatformJSON(_ config: String) throws -> String {
        guard case .object(var members) = try JSONValue.parse(Self.example) else { throw CancellationError() }
        members["platform_json"] = .string(config)
        return JSONValue.object(members).canonicalText
    }

    @Test("binary_json spelt as platform_json with members added is stored exactly as when it is read on its own")
    func binaryExtendsPlatform() throws {
        // The second base's strings hold every byte that structures JSON, and an escaped quote,
        // so that its canonical form is cut into members only where members end; the third has a
        // key that Swift's strings equal to another spelling (é precomposed and decomposed).
        for platform in [
            #"{"CaseType": "motion-detect", "Source": {"Url": "rtsp://u:secret@cam:554/live"}, "JobUid": "old" }"#,
            #"{"A,}": "x\",{}[]:", "Zed": [{"k": "a,b}"}, [1.5, -2e3]], "B\"": {"c": "]}{,"}, "M": "rtsp://a:b@c/x?token=t,1"}"#,
            #"{"\u00e9": 1, "x": 2}"#,
        ] {
            try binaryExtends(platform)
        }
    }

    private func binaryExtends(_ platform: String) throws {
        let open = String(platform.dropLast())
        let binaries = [
            open + #", "JobUid": "00617614-b938-11ee-bfd6-5622fced16a0"}"#,
            open + #","JobUid":"x","Extra":[1,{"a":null}]}  "#,
            open + "\n ,\n \"JobUid\" : \"x\" , \"JobUid\": \"y\"\n}\n",
            open + #", "Source": {"Url": "rtsp://other:pw@cam/x"}}"#,
            open + #", "A,}": 1, "B\"": null, "": "first", "~": "last", "N": "rtsp://n:pw@x/"}"#,
            open + #", "e\u0301": 3}"#, open + #", "\u00e9": 4, "y": 5}"#,
            // Not JSON: no members, two commas, a bad member, data after the brace, no brace.
            open + ", }", open + ",, \"a\": 1}", open + ", \"a\" 1}", open + ", \"a\": 1} x", open + ", \"a\": 1",
            // Not an extension: another base, no comma, a prefix cut short.
            #"{"CaseType": "face"}"#, open + #" "a": 1}"#, "{\"CaseType\": \"mo\"}",
        ]
        func document(platform: String, binary: String) throws -> StreamSnapshot.Document? {
            let item: JSONValue = .object([
                "job_uid": .string("00617614-b938-11ee-bfd6-5622fced16a0"), "status": .int(11),
                "platform_json": .string(platform), "binary_json": .string(binary),
            ])
            return try StreamSnapshot(item: item).binaryConfig
        }
        for binary in binaries {
            // Read as an extension of platform_json, and on its own (after a platform_json it does
            // not extend): the same document, or the same refusal.
            let extended = try #require(try document(platform: platform, binary: binary))
            let alone = try #require(try document(platform: #"{"Other": 1}"#, binary: binary))
            #expect(extended.sha256 == alone.sha256, "\(binary)")
            #expect(extended.json == alone.json, "\(binary)")
            #expect(extended.served == alone.served, "\(binary)")
            #expect(extended.parseError == alone.parseError, "\(binary)")
        }
        // The password in the added member is masked like any other.
        let masked = try #require(try document(platform: platform, binary: binaries[3]))
        #expect(masked.json?.contains("pw") == false)
        #expect(masked.json?.contains("other:***@cam") == true)
    }

    @Test("A job_uid is a UUID in its 8-4-4-4-12 spelling; it is lower-cased and trimmed, anything else is refused")
    func jobUIDs() {
        #expect(JobUID.normalized("00617614-b938-11ee-bfd6-5622fced16a0") == "00617614-b938-11ee-bfd6-5622fced16a0")
        #expect(JobUID.normalized(" 00617614-B938-11EE-BFD6-5622FCED16A0\t") == "00617614-b938-11ee-bfd6-5622fced16a0")
        for bad in [
            "", "00617614", "00617614-b938-11ee-bfd6-5622fced16a", "00617614-b938-11ee-bfd6-5622fced16a00",
            "00617614b938-11ee-bfd6-5622fced16a0-", "{00617614-b938-11ee-bfd6-5622fced16a0}",
            "00617614-b938-11ee-bfd6-5622fced16g0", "00617614-b938-11ee-bfd6-5622fced16\u{e9}",
            "../../admin/?x=1234567890123456789012", "00617614-b938-11ee-bfd6-5622fced\n6a0",
        ] {
            #expect(JobUID.normalized(bad) == nil, "\(bad)")
        }
    }

    @Test("The vendor's example parses: config, areas, regions, typed fields")
    func vendorExample() throws {
        let s = try snapshot(Self.example)
        #expect(s.jobUID == "00617614-b938-11ee-bfd6-5622fced16a0")
        #expect(s.status == .int(11))
        #expect(s.fields.caseType == "motion-detect")
        #expect(s.fields.streamCaseType == 2)
        #expect(s.fields.ovmsClient == 391)
        #expect(s.regions == [StreamSnapshot.Region(id: 2, title: "minsk")])
        #expect(s.areas.count == 1)
        #expect(s.areas[0].areaID == "area_part_1")
        #expect(s.areas[0].pointCount == 5)
        #expect(s.notes.isEmpty)
        #expect(s.serverUpdatedAt == "2024-02-04T12:15:11.545908Z")
    }

    @Test("Key order, whitespace and number spelling inside platform_json are not changes")
    func canonicalConfig() throws {
        let a = try snapshot(
            try withPlatformJSON(#"{"CaseType": "motion-detect", "Pipeline": {"Detector": {"Threshold": 496}, "Areas": []}}"#))
        let b = try snapshot(try withPlatformJSON(#"{"Pipeline":{"Areas":[],"Detector":{"Threshold":4.96e2}},"CaseType":"motion-detect"}"#))
        let c = try snapshot(try withPlatformJSON(#"{"Pipeline":{"Areas":[],"Detector":{"Threshold":497}},"CaseType":"motion-detect"}"#))
        #expect(a.contentHash == b.contentHash)
        #expect(a.contentHash != c.contentHash)
    }

    @Test("updated_at alone does not change the content hash; status does")
    func updatedAtIsNotContent() throws {
        guard case .object(var members) = try JSONValue.parse(Self.example) else {
            Issue.record("the example is not an object")
            return
        }
        let original = try snapshot(Self.example)
        members["updated_at"] = .string("2025-01-01T00:00:00Z")
        let touched = try StreamSnapshot(item: .object(members))
        #expect(touched.contentHash == original.contentHash)
        members["status"] = .int(6)
        #expect(try StreamSnapshot(item: .object(members)).contentHash != original.contentHash)
    }

    @Test("platform_json that is not JSON is kept raw, noted, and the item still stored")
    func configNotJSON() throws {
        let s = try snapshot(try withPlatformJSON("{not json"))
        #expect(s.platformConfig?.json == nil)
        #expect(s.platformConfig?.raw == "{not json")
        #expect(s.notes.contains { $0.kind == .invalidConfig })
        #expect(s.areas.isEmpty)
    }

    @Test("A status sent as a name is kept as text")
    func statusAsName() throws {
        let s = try snapshot(Self.example.replacingOccurrences(of: "\"status\": 11", with: "\"status\": \"WORKING\""))
        #expect(s.status == .text("WORKING"))
    }

    @Test(
        "Items that cannot be keyed are rejected with a reason",
        arguments: [
            ("{\"status\": 11}", "invalid_item"),
            ("[1, 2]", "invalid_item"),
            ("{\"job_uid\": \"abc\", \"status\": 11}", "invalid_item"),
            ("{\"job_uid\": \"00617614-b938-11ee-bfd6-5622fced16a0\"}", "invalid_item"),
            ("{\"job_uid\": \"00617614-b938-11ee-bfd6-5622fced16a0\", \"status\": {\"a\": 1}}", "invalid_item"),
            ("{\"job_uid\": \"00617614-b938-11ee-bfd6-5622fced16a0\", \"status\": null}", "invalid_item"),
        ])
    func rejected(body: String, kind: String) throws {
        #expect {
            _ = try snapshot(body)
        } throws: { error in
            (error as? SnapshotRejection)?.kind.description == kind
        }
    }

    @Test("A body about another stream than the one asked for is rejected")
    func uidMismatch() throws {
        #expect {
            _ = try snapshot(Self.example, expected: "11111111-1111-1111-1111-111111111111")
        } throws: { error in
            (error as? SnapshotRejection)?.kind == .uidMismatch
        }
    }

    @Test("Fields of unexpected types are kept in the payload and noted")
    func oddTypes() throws {
        let body = Self.example
            .replacingOccurrences(of: "\"id\": 420", with: "\"id\": \"420x\"")
            .replacingOccurrences(of: "\"ovms_client\": 391", with: "\"ovms_client\": [391]")
        let s = try snapshot(body)
        #expect(s.fields.id == nil)
        #expect(s.fields.ovmsClient == nil)
        #expect(s.notes.count == 2)
        #expect(s.rest.json?.contains("\"420x\"") == true)
    }

    /// Documents that are not JSON, named for the test report (a 20,000-character name is not).
    static let hostileBodies: [String: String] = [
        "arrays nested 10,000 deep": String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000),
        "an unterminated object": "{\"a\": 1",
        "nothing": "",
        "a truncated literal": "nul",
    ]

    @Test("Parsing hostile documents fails cleanly", arguments: hostileBodies.keys.sorted())
    func hostileDocuments(name: String) throws {
        let text = try #require(Self.hostileBodies[name])
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
    }

    @Test("Invalid UTF-8 is a parse error, not a crash")
    func invalidUTF8() {
        let bytes = Data([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D])
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(bytes) }
    }

    @Test("Numbers beyond 64 bits parse; whole doubles become integers")
    func bigNumbers() throws {
        #expect(try JSONValue.parse("123456789012345678901234567890").typeDescription == "a number")
        #expect(try JSONValue.parse("11.0") == .int(11))
        #expect(try JSONValue.parse("[1e2]").canonicalText == "[100]")
    }

    @Test("URL passwords are masked everywhere unless kept on purpose")
    func credentialsMasked() throws {
        let body = try withPlatformJSON(
            #"{"CaseType": "motion-detect", "Source": {"Url": "rtsp://admin:s3cr3t@10.0.0.5:554/live"}, "CallbackUrl": "https://hook:pw@example.org/cb"}"#
        )
        let masked = try snapshot(body)
        let config = try #require(masked.platformConfig?.json)
        #expect(config.contains("rtsp://admin:***@10.0.0.5:554/live"))
        #expect(config.contains("https://hook:***@example.org/cb"))
        #expect(!config.contains("s3cr3t"))
        let kept = try StreamSnapshot(item: try JSONValue.parse(body), maskCredentials: false)
        #expect(kept.platformConfig?.json?.contains("s3cr3t") == true)
        #expect(CredentialMask.standard.mask("rtsp://camera.local/live") == "rtsp://camera.local/live")
        #expect(CredentialMask.standard.mask("rtsp://user@camera.local/live") == "rtsp://user@camera.local/live")
    }

    @Test("Secret query parameters are masked in every URL, whatever their case; other parameters are kept")
    func queryTokensMasked() {
        let mask = CredentialMask.standard
        // The vendor's own update example.
        #expect(
            mask.mask("rtsp://vms:4554/live/d1d97b55-0564-4da6-be9f-dc2d079b8823/?token=lHHNFr0E-abc~~")
                == "rtsp://vms:4554/live/d1d97b55-0564-4da6-be9f-dc2d079b8823/?token=***")
        #expect(mask.mask("https://h/cb?TOKEN=x&fps=5&Api_Key=k#frag") == "https://h/cb?TOKEN=***&fps=5&Api_Key=***#frag")
        #expect(mask.mask("rtsp://u:pw@h/live?sig=abc;pass=p") == "rtsp://u:***@h/live?sig=***;pass=***")
        #expect(mask.mask("a https://h/?token=t1 and https://g/?auth=t2") == "a https://h/?token=*** and https://g/?auth=***")
        #expect(mask.mask("https://h/?tokens=keep&x=token") == "https://h/?tokens=keep&x=token")
        #expect(mask.mask("https://h/?token=&flag") == "https://h/?token=&flag")
        #expect(mask.mask("https://h/?token=***") == "https://h/?token=***")
        #expect(mask.mask("no url ?token=abc") == "no url ?token=abc")
        // More names on request; the rules differ, so the served digest does too.
        let more = CredentialMask(extraQueryParameters: ["ticket"])
        #expect(more.mask("https://h/?ticket=t&token=u") == "https://h/?ticket=***&token=***")
        #expect(mask.mask("https://h/?ticket=t") == "https://h/?ticket=t")
        #expect(more.rulesDescription != mask.rulesDescription)
    }

    @Test("A rotated token alone is no new content; a masked snapshot holds no token")
    func rotatedTokenIsNoChange() throws {
        func body(_ token: String) throws -> String {
            try withPlatformJSON(#"{"CaseType": "motion-detect", "Source": {"Url": "rtsp://vms:4554/live/x/?token=\#(token)"}}"#)
        }
        let first = try snapshot(try body("AAAA-1~~"))
        let second = try snapshot(try body("BBBB-2~~"))
        #expect(first.contentHash == second.contentHash)
        #expect(first.platformConfig?.json?.contains("AAAA") == false)
        let kept = try StreamSnapshot(item: try JSONValue.parse(try body("AAAA-1~~")), maskCredentials: false)
        #expect(kept.platformConfig?.json?.contains("AAAA-1~~") == true)
    }

    @Test("The parser reads escapes, surrogate pairs and every JSON type, and refuses what is not JSON")
    func parser() throws {
        let value = try JSONValue.parse(
            #" {"s": "a\"b\\c\/d\n\u00e9\ud83d\ude00", "n": -0.5, "i": -12, "e": 1E3, "t": true, "f": false, "z": null, "a": [], "o": {}} "#
        )
        #expect(value["s"] == .string("a\"b\\c/d\né😀"))
        #expect(value["n"] == .double(-0.5))
        #expect(value["i"] == .int(-12))
        #expect(value["e"] == .int(1000))
        #expect(value["t"] == .bool(true) && value["f"] == .bool(false) && value["z"] == .null)
        #expect(value["a"] == .array([]) && value["o"] == .object([:]))
        #expect(try JSONValue.parse(#"{"k": 1, "k": 2}"#)["k"] == .int(2))
        #expect(try JSONValue.parse("\"é\"") == .string("é"))
        for bad in ["{} x", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\ud800\"", "\"a\u{01}b\"", "tru", "[1 2]", "{\"a\":}", "1e999"] {
            #expect(throws: JSONValue.ParseError.self, "\(bad)") { try JSONValue.parse(bad) }
        }
    }
}
