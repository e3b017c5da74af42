import Foundation
import GRDB
import StreamDBModel
import StreamDBOutput
import StreamDBSync
import StreamSim
import Testing

/// A version keeps its configs exactly as the server served them; change detection stays semantic.
@Suite("Configs as served")
struct VerbatimTests {
    @Test(
        "show's platform_json is the served string byte for byte; show --config indents it keeping key order and spelling; a re-spelling is no new version and keeps the first spelling"
    )
    func servedBytes() async throws {
        try await withHarness(streams: 6, seed: 71) { h in
            try await h.sync()
            let stream = h.fleet.liveStreams[0]
            let served = try #require(try JSONValue.parse(stream.json)["platform_json"]?.stringValue)
            // The simulator spells its configs with spaces after ':' and ',', and keys unsorted.
            #expect(served.contains("\": ") && served.hasPrefix("{\"CaseType\""))

            let show = try await BuiltProduct.run(["show", stream.jobUID, "--db", h.databasePath])
            #expect(show.status == 0, "\(show.stderr)")
            let stored = try #require(try JSONValue.parse(Data(show.stdout.utf8))["platform_json"]?.stringValue)
            // Masked: the same bytes but for the secrets.
            #expect(stored == CredentialMask.standard.mask(served))
            let config = try await BuiltProduct.run(["show", stream.jobUID, "--config", "--db", h.databasePath])
            #expect(config.stdout == JSONTextPretty.format(stored) + "\n")
            #expect(config.stdout.hasPrefix("{\n  \"CaseType\": "))
            let canonical = try await BuiltProduct.run(["show", stream.jobUID, "--config", "--canonical", "--db", h.databasePath])
            let equal = try JSONValue.parse(Data(canonical.stdout.utf8)) == JSONValue.parse(stored)
            #expect(equal)
            #expect(canonical.stdout.hasPrefix("{\n  \"CallbackUrl\""))  // sorted keys

            // The same config re-spelled (no spaces) on the detail route: no new version, the first
            // spelling kept.
            let respelled = served.replacingOccurrences(of: "\": ", with: "\":").replacingOccurrences(of: ", ", with: ",")
            #expect(respelled != served)
            let same = try JSONValue.parse(respelled) == JSONValue.parse(served)
            #expect(same)
            guard case .object(var members) = try JSONValue.parse(stream.json) else { return }
            members["platform_json"] = .string(respelled)
            let body = Array(JSONValue.object(members).canonicalText.utf8)
            h.server.setOptions { $0.detailBodies[stream.jobUID] = body }
            var noList = SyncOptions()
            noList.useList = false
            let report = try await h.sync(noList)
            #expect(report.counts.changed == 0 && report.counts.new == 0, "\(report.summary)")
            let again = try await BuiltProduct.run(["show", stream.jobUID, "--db", h.databasePath])
            #expect(try JSONValue.parse(Data(again.stdout.utf8))["platform_json"]?.stringValue == stored)
            #expect(try h.count("SELECT count(*) FROM stream_versions WHERE configs_as_served = 0") == 0)
        }
    }

    @Test("Served text with escapes is kept only when masking it in place masks every secret")
    func escapesAndSecrets() throws {
        let canonicalOf = { (text: String) in try JSONValue.parse(text).canonicalBytes(masking: .standard) }
        let plain = #"{"Url": "rtsp://u:pw@cam/live?token=abc"}"#
        #expect(
            StreamSnapshot.Document.maskedServedText(plain, canonical: try canonicalOf(plain), mask: .standard)
                == #"{"Url": "rtsp://u:***@cam/live?token=***"}"#)
        // An escaped slash hides the URL from a text scan: the masked text would not be the masked
        // document, so nothing verbatim is kept.
        let escaped = #"{"Url": "rtsp:\/\/u:pw@cam\/live"}"#
        #expect(StreamSnapshot.Document.maskedServedText(escaped, canonical: try canonicalOf(escaped), mask: .standard) == nil)
        // Escapes that hide nothing are kept.
        let harmless = #"{"Note": "a \"quoted\" word", "Url": "rtsp://cam/live"}"#
        #expect(StreamSnapshot.Document.maskedServedText(harmless, canonical: try canonicalOf(harmless), mask: .standard) == harmless)
    }
}
