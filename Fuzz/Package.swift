// swift-tools-version:6.1
// libFuzzer targets for streamdb's payload normalisation and config diffing: `Fuzz/run SECONDS`
// builds them with `--sanitize fuzzer` into `.build-fuzz` and runs each for that long.
//
// A package of its own because `--sanitize fuzzer` builds every executable, build tools included,
// as a libFuzzer binary (no main of its own): the main package's `embed-migrations` tool cannot be
// built that way. The targets depend on the main package's `StreamDBModel` by path: the pure
// types that normalise and diff JSON, which need only swift-crypto, so nothing else of the main
// package is built here, and all of it is instrumented for the fuzzer's coverage.
import PackageDescription

let package = Package(
    name: "streamdb-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "streamdb", path: "..")
    ],
    targets: [
        .executableTarget(
            name: "fuzz-snapshot", dependencies: [.product(name: "StreamDBModel", package: "streamdb")]),
        .executableTarget(name: "fuzz-diff", dependencies: [.product(name: "StreamDBModel", package: "streamdb")]),
    ],
    swiftLanguageModes: [.v6]
)
