import Foundation

/// A child process's wall time, peak memory and exit status.
struct Measured {
    let seconds: Double
    /// Peak resident set size of the child, in MiB.
    let peakRSS: Double
    let status: Int32
}

/// Runs `executable` with `arguments`, discarding its output, and measures it with wait4(2).
func runMeasured(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Measured {
    var env = ProcessInfo.processInfo.environment
    for (key, value) in environment { env[key] = value }
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        for pointer in argv + envp { free(pointer) }
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    defer { posix_spawn_file_actions_destroy(&actions) }
    var pid: pid_t = 0
    let start = ContinuousClock.now
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
    guard spawned == 0 else { throw BenchError("cannot start \(executable): \(String(cString: strerror(spawned)))") }
    // The peak RSS is the child's VmHWM, read while it runs. wait4's ru_maxrss cannot be used:
    // posix_spawn shares this process's memory until the exec, and Linux carries that memory's
    // high-water mark into the child's ru_maxrss, so every child seemed as large as the benchmark
    // with its simulated fleet (about 300 MiB at 50,000 streams).
    let peak = PeakRSSWatcher(pid: pid)
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let elapsed = ContinuousClock.now - start
    let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return Measured(seconds: seconds(elapsed), peakRSS: Double(peak.stop()) / 1024, status: exit)
}

/// Reads a running process's VmHWM (peak resident set, KiB) from /proc every 2 ms on a thread of
/// its own, so that waiting for the process stays exact.
final class PeakRSSWatcher: @unchecked Sendable {
    // `peak` and `running` are only touched under `lock`.
    private let lock = NSLock()
    private var peak = 0
    private var running = true

    init(pid: pid_t) {
        let thread = Thread { [self] in
            let path = "/proc/\(pid)/status"
            while lock.withLock({ running }) {
                if let text = try? String(contentsOfFile: path, encoding: .utf8),
                    let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                    let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
                {
                    lock.withLock { peak = max(peak, kib) }
                }
                usleep(2000)
            }
        }
        thread.start()
    }

    /// Stops watching; returns the highest VmHWM seen, in KiB.
    func stop() -> Int {
        lock.withLock {
            running = false
            return peak
        }
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Times `body`.
func timed(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    return seconds(ContinuousClock.now - start)
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Median and 95th percentile of samples.
func percentiles(_ samples: [Double]) -> (median: Double, p95: Double) {
    let sorted = samples.sorted()
    guard !sorted.isEmpty else { return (0, 0) }
    let median = sorted[sorted.count / 2]
    let p95 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.95).rounded(.up)) - 1)]
    return (median, p95)
}

func fileSize(_ path: String) -> Int {
    var total = 0
    for suffix in ["", "-wal"] {
        total += (try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int) ?? 0
    }
    return total
}
