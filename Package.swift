// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "streamdb",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "streamdb", targets: ["streamdb"]),
        .executable(name: "streamdb-sim", targets: ["streamdb-sim"]),
        .executable(name: "streamdb-bench", targets: ["streamdb-bench"]),
        .library(
            name: "StreamDB",
            targets: [
                "StreamDBModel", "StreamDBAPI", "StreamDBSync", "StreamDBStore", "StreamDBQuery", "StreamDBOutput",
                "StreamDBPostgres",
            ]),
        // The pure types alone (JSON, canonical form, masking, normalisation, diffs): the fuzzers use it.
        .library(name: "StreamDBModel", targets: ["StreamDBModel"]),
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
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // The library, one target per layer, in the order data flows through it:
        // Model <- API <- Sync -> Store <- Query <- Output. A layer imports only those before it,
        // and the compiler holds it to that (docs/architecture.md).
        //
        // The pure types: JSON, its canonical form, job uids, masking, normalisation, diffs, times.
        .target(
            name: "StreamDBModel",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // HTTP and the wire: the streams API's routes, retries, errors.
        .target(
            name: "StreamDBAPI",
            dependencies: [
                "StreamDBModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // SQLite's process-wide settings that only C can make (sqlite3_config is variadic).
        .target(name: "CStreamDBSQLite", linkerSettings: [.linkedLibrary("sqlite3")]),
        // SQLite: the schema (migrations/*.sql, embedded), the one writer, versions, the ledger.
        .target(
            name: "StreamDBStore",
            dependencies: ["StreamDBModel", "CStreamDBSQLite", .product(name: "GRDB", package: "GRDB.swift")],
            plugins: ["EmbedMigrations"]
        ),
        // One run: fetch, normalise, detect change, hand batches to the store; the session around it.
        .target(
            name: "StreamDBSync",
            dependencies: [
                "StreamDBModel", "StreamDBAPI", "StreamDBStore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Questions asked of the history, answered with typed results.
        .target(
            name: "StreamDBQuery",
            dependencies: ["StreamDBModel", "StreamDBStore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Typed results as table, JSON, NDJSON, CSV, Prometheus text and the HTML report; labels, time zones, charts, progress.
        .target(
            name: "StreamDBOutput",
            dependencies: [
                "StreamDBModel", "StreamDBStore", "StreamDBQuery",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // The team mirror on PostgreSQL: its schema (migrations/postgres/*.sql, embedded) and
        // `publish`, which reads the store and copies what is new. Beside Query: it reads the store.
        .target(
            name: "StreamDBPostgres",
            dependencies: [
                "StreamDBModel", "StreamDBStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            plugins: ["EmbedMigrations"]
        ),
        // streamdb.toml: the settings of cron runs and their sources, read with TOMLKit, validated once.
        .target(
            name: "StreamDBConfig",
            dependencies: [
                "StreamDBModel", "StreamDBAPI", "StreamDBSync",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
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
                "StreamDBModel", "StreamDBAPI", "StreamDBStore", "StreamDBSync", "StreamDBQuery", "StreamDBOutput",
                "StreamDBConfig", "StreamDBPostgres", "StreamSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
                "StreamDBModel", "StreamDBAPI", "StreamDBStore", "StreamDBSync", "StreamDBQuery", "StreamDBOutput",
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
                "StreamDBModel", "StreamDBAPI", "StreamDBStore", "StreamDBSync", "StreamDBQuery", "StreamDBOutput", "StreamDBConfig",
                "StreamDBPostgres", "StreamSim",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
