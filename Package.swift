// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "streamdb",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "streamdb", targets: ["streamdb"]),
        .executable(name: "streamdb-sim", targets: ["streamdb-sim"]),
        .executable(name: "streamdb-bench", targets: ["streamdb-bench"]),
        .library(name: "StreamDB", targets: ["StreamDB"]),
        .library(name: "StreamSim", targets: ["StreamSim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        // The library: all behaviour, in the order data flows through it:
        // API -> Sync -> Store -> Query -> Output.
        .target(
            name: "StreamDB",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            plugins: ["EmbedMigrations"]
        ),
        // The API simulator: a real HTTP server (SwiftNIO) that serves a deterministic, evolving fleet.
        .target(
            name: "StreamSim",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The thin command line on top of the library: argument parsing only.
        .executableTarget(
            name: "streamdb",
            dependencies: [
                "StreamDB",
                "StreamSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "streamdb-sim",
            dependencies: [
                "StreamSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The benchmark harness: sync and query speed against references measured in the same run.
        .executableTarget(
            name: "streamdb-bench",
            dependencies: [
                "StreamDB",
                "StreamSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Build-time tool: turns migrations/*.sql into Swift source so the binary carries its schema.
        .executableTarget(name: "embed-migrations"),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["embed-migrations"]
        ),
        .testTarget(
            name: "StreamDBTests",
            dependencies: [
                "StreamDB",
                "StreamSim",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
