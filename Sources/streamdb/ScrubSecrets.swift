import ArgumentParser
import StreamDBModel
import StreamDBStore

extension Streamdb {
    struct ScrubSecrets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scrub-secrets",
            abstract: "Mask URL passwords and tokens already stored (by an older streamdb, or with --keep-url-credentials).",
            discussion: """
                Every stored document, area, fence, region title and error message that holds a URL \
                password or the value of a secret query parameter is rewritten with *** in its place: \
                the one rewrite streamdb makes. Versions keep their numbers, times and statuses; two \
                versions that differed only by a token then share one document. Freed space is zeroed \
                and the file rebuilt (VACUUM), so the old text is gone from the file and its log. \
                Back the file up first if you must keep the secrets somewhere.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(
            name: .customLong("mask-query-param"),
            help: ArgumentHelp("Also mask this query parameter (repeatable), as sync --mask-query-param.", valueName: "name"))
        var maskQueryParameters: [String] = []

        @Flag(help: "Wait for a running sync to finish instead of stopping.")
        var wait = false

        func run() async throws {
            let masking = CredentialMask(extraQueryParameters: maskQueryParameters)
            let path = database.path(try database.loadConfig())
            let report = try HistoryStore.scrubSecrets(path: path, masking: masking, wait: wait)
            print(
                "scrubbed \(path): \(report.documentsMasked) documents masked (\(report.documentsMerged) merged into an equal one), "
                    + "\(report.otherRowsMasked) other rows masked, \(report.streamsRehashed) streams rehashed; versions unchanged.")
        }
    }
}
