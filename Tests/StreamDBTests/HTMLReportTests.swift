import Foundation
import StreamDBModel
import StreamSim
import Testing

/// `streamdb report --html`, rendered by a real browser: Debian's chromium, headless.
@Suite("HTML report")
struct HTMLReportTests {
    /// chromium, when this machine has it (`.ci/run` installs Debian's package).
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    static func browser(_ arguments: [String]) async throws -> BuiltProduct.Result {
        try await BuiltProduct.run(
            ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1"] + arguments,
            executable: URL(fileURLWithPath: chromium!), killAfter: .seconds(120))
    }

    /// The RGB of the screenshot's pixel at (x, y), read by Pillow (`.ci/run` installs it).
    static func pixel(_ png: String, x: Int, y: Int) async throws -> [Int]? {
        let result = try await BuiltProduct.run(
            [
                "python3", "-c",
                "import sys; from PIL import Image; print(*Image.open(sys.argv[1]).convert('RGB').getpixel((int(sys.argv[2]), int(sys.argv[3]))))",
                png, "\(x)", "\(y)",
            ],
            executable: URL(fileURLWithPath: "/usr/bin/env"))
        guard result.status == 0 else {
            Issue.record("cannot read the screenshot with Pillow (pip install pillow): \(result.stderr)")
            return nil
        }
        return result.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    @Test(
        "A simulator run's report in headless chromium: the known DOWN interval is drawn in the DOWN colour, one timeline per stream asked for, the legend, hostile text shown as text",
        .enabled(
            if: chromium != nil,
            "chromium is not installed (.ci/run installs Debian's chromium package): the report cannot be rendered here")
    )
    func renderedInABrowser() async throws {
        try await withClockedFleet(t0: "2026-03-02T00:00:00Z", size: 4, seed: 77, lead: 3600) { f in
            let (fleet, db, directory) = (f.fleet, f.databasePath, f.directory)
            let uids = f.uids
            let (a, b) = (uids[0], uids[1])
            let hostile = SimRegion(id: 99, title: "<script>alert(1)</script>")
            for uid in uids {
                fleet.setStatus(uid, 11)
                fleet.setRegions(uid, [hostile])
            }
            fleet.setAreas(b, [SimArea(id: #"zone "north" 'gate' <b>"#, shape: [[0, 0], [1, 0], [1, 1]])])
            try await f.sync(at: 0)
            f.set(120)
            fleet.setStatus(a, 6)  // A is DOWN from 2:00 to 4:00 of the 8-hour window
            try await f.sync(at: 126)
            f.set(240)
            fleet.setStatus(a, 11)
            try await f.sync(at: 246)
            f.set(300)
            fleet.setAreas(b, [SimArea(id: #"zone "south""#, shape: [[0, 0], [1, 1], [0, 1]])])  // a config change
            try await f.sync(at: 306)

            let labels = directory.appending(path: "labels.txt").path()
            try "6=DOWN\n11=WORKING\n".write(toFile: labels, atomically: true, encoding: .utf8)
            let html = directory.appending(path: "report.html").path()
            let written = try await BuiltProduct.run([
                "report", "--db", db, "--html", html, "--status-labels", labels, "--since", "2026-03-02T00:00:00Z",
                "--until", "2026-03-02T08:00:00Z", "--streams", "3",
            ])
            #expect(written.status == 0, "\(written.stderr)")
            #expect(written.stdout.contains("3 timelines of 4 streams"), "\(written.stdout)")
            let page = try String(contentsOfFile: html, encoding: .utf8)
            // Self-contained: nothing to fetch, no script.
            #expect(!page.contains("<script") && !page.contains("src=") && !page.contains("href=") && !page.contains("@import"))

            // The browser's DOM: one timeline per stream asked for, A first (the least available),
            // the legend's entries, and the hostile text as text.
            let dom = try await Self.browser(["--dump-dom", "file://" + html])
            #expect(dom.status == 0, "\(dom.stderr)")
            #expect(dom.stdout.components(separatedBy: "<svg class=\"timeline\"").count - 1 == 3)
            #expect(dom.stdout.contains("id=\"s-1\"") && dom.stdout.contains("id=\"s-3\"") && !dom.stdout.contains("id=\"s-4\""))
            let first = try #require(dom.stdout.range(of: "id=\"s-1\""))
            #expect(dom.stdout[first.upperBound...].prefix(400).contains(a))
            for entry in ["DOWN (6)", "WORKING (11)", "gone (404)", "config change", "replaced (a new job_uid)"] {
                #expect(dom.stdout.contains(entry), "legend entry \(entry)")
            }
            #expect(dom.stdout.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!dom.stdout.contains("<script>alert(1)</script>"))
            // The area id with quotes and markup, in the config change's paths: text, not an element.
            #expect(dom.stdout.contains(#"zone "north" 'gate' &lt;b&gt;"#), "the hostile area id as text")
            #expect(!dom.stdout.contains(#"'gate' <b>"#))
            #expect(dom.stdout.contains("DOWN (6) from 2026-03-02 02:00:00 to 2026-03-02 04:00:00 (2h 0m)"), "the bar's hover title")
            #expect(dom.stdout.contains("1 config changes in the window"))

            // The screenshot: A's timeline pinned to the top-left corner (a rule added to a copy of the
            // page, so that its place is known); the DOWN interval spans a quarter to a half of 960 px.
            let pinned = directory.appending(path: "pinned.html").path()
            try page.replacingOccurrences(
                of: "</style>", with: "#s-1 { position: fixed; top: 0; left: 0; margin: 0; background: #fff; z-index: 9; }\n</style>"
            ).write(toFile: pinned, atomically: true, encoding: .utf8)
            let png = directory.appending(path: "shot.png").path()
            let shot = try await Self.browser(["--window-size=1280,400", "--screenshot=\(png)", "file://" + pinned])
            #expect(shot.status == 0 && FileManager.default.fileExists(atPath: png), "\(shot.stderr)")
            let barMiddle = 18 + 8 + 8  // the h3 line, then the bar's top, then half its height
            let down = try await Self.pixel(png, x: Int(960 * 0.375), y: barMiddle)
            #expect(down == [0xD5, 0x5E, 0x00], "the DOWN colour (#D55E00) at 3:00")
            let up = try await Self.pixel(png, x: Int(960 * 0.75), y: barMiddle)
            #expect(up == [0x00, 0x9E, 0x73], "the WORKING colour (#009E73) at 6:00")
        }
    }

    @Test("report refuses a window the wrong way round, an unwritable path and an unknown source, in one sentence, writing nothing")
    func badArguments() async throws {
        try await withHarness(streams: 2) { h in
            _ = try await h.sync()
            let out = h.directory.appending(path: "r.html").path()
            let backwards = try await BuiltProduct.run([
                "report", "--db", h.databasePath, "--html", out, "--since", "1h", "--until", "2h", "--up", "11",
            ])
            #expect(backwards.status == 2 && backwards.stderr.contains("is later than --until"))
            let nowhere = try await BuiltProduct.run(["report", "--db", h.databasePath, "--html", "/nonexistent/r.html", "--up", "11"])
            #expect(nowhere.status == 2 && nowhere.stderr.contains("cannot write /nonexistent/r.html"), "\(nowhere.stderr)")
            let unknown = try await BuiltProduct.run(["report", "--db", h.databasePath, "--html", out, "--source", "nosuch", "--up", "11"])
            #expect(unknown.status == 2 && unknown.stderr.contains("No source is called 'nosuch'"), "\(unknown.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "no page for an unknown source")
        }
    }
}
