// swift-tools-version:6.1
// libFuzzer targets for streamdb's payload normalisation and config diffing: `Fuzz/run SECONDS`
// builds them with `--sanitize fuzzer` into `.build-fuzz` and runs each for that long.
//
// A package of its own because `--sanitize fuzzer` builds every executable, build tools included,
// as a libFuzzer binary (no main of its own): the main package's `embed-migrations` tool cannot be
// built that way. So the module `StreamDB` here is compiled from links to the main package's files
// that normalise and diff JSON (Sources/StreamDB/*.swift), which need only swift-crypto; all of
// them are instrumented for the fuzzer's coverage.
import PackageDescription

let package = Package(
    name: "streamdb-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        // The same requirement as the main package's.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        .target(name: "StreamDB", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .executableTarget(name: "fuzz-snapshot", dependencies: ["StreamDB"]),
        .executableTarget(name: "fuzz-diff", dependencies: ["StreamDB"]),
    ],
    swiftLanguageModes: [.v6]
)
