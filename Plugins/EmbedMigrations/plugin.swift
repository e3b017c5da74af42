import Foundation
import PackagePlugin

/// Compiles the package's `migrations/*.sql` into the target as Swift source, so that the binary
/// carries its schema: a release binary copied alone into another directory can still migrate a
/// database. The `.sql` files stay the schema's source of truth; the generated file is rebuilt
/// whenever one of them changes.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        // The SQLite schema for the store; the team mirror's PostgreSQL schema for its target.
        let folder = target.name == "StreamDBPostgres" ? "migrations/postgres" : "migrations"
        let directory = context.package.directoryURL.appending(path: folder)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path())
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        let inputs = names.map { directory.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(names.count) migrations into \(target.name)",
                executable: try context.tool(named: "embed-migrations").url,
                arguments: [output.path()] + inputs.map { $0.path() },
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
