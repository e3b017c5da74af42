import Foundation

/// The Python modules some tests use as real peers (`.ci/run` installs them); a test that needs
/// one is skipped, saying which, when it is missing.
enum Python {
    /// Whether python3 can `import modules` (`"django, rest_framework"`).
    static func canImport(_ modules: String) -> Bool {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import \(modules)"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        // Polled: waitUntilExit can stall while the test runner is still discovering tests.
        for _ in 0..<3000 where probe.isRunning { usleep(10_000) }
        return !probe.isRunning && probe.terminationStatus == 0
    }

    /// Prometheus' own client library, whose text parser reads the metrics file back.
    static let prometheusClient = canImport("prometheus_client")
    /// Pillow, which reads a screenshot's pixels.
    static let pillow = canImport("PIL")
}
