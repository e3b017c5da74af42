import Foundation
import StreamDBModel
import StreamDBOutput
import StreamDBQuery
import StreamSim
import Synchronization
import Testing

/// The Output layer: durations and times as the table shows them, the progress bar, the chart.
@Suite("Output")
struct OutputTests {
    @Test(
        "Durations show their two largest units",
        arguments: [
            (0.4, "0s"), (5.0, "5s"), (65.0, "1m 5s"), (3600.0, "1h 0m"), (11_529.0, "3h 12m"),
            (187_260.0, "2d 4h 1m"), (-65.0, "-1m 5s"),
        ] as [(Double, String)])
    func durations(seconds: Double, text: String) {
        #expect(DurationText.format(seconds: seconds) == text)
    }

    @Test("Readable times are to the second, in UTC or in the zone asked for")
    func readableTimes() throws {
        let date = try #require(Timestamp.parse("2024-02-04T12:15:11.545908Z"))
        #expect(DurationText.readable(date) == "2024-02-04 12:15:11")
        #expect(DurationText.readable(date, zone: TimeZone(identifier: "UTC")) == "2024-02-04 12:15:11")
        #expect(DurationText.readable(date, zone: TimeZone(identifier: "Europe/Minsk")) == "2024-02-04 15:15:11 +0300")
    }

    @Test("A table fits a terminal's width: long text gets an ellipsis, uids keep a telling prefix, numbers and times stay whole")
    func tableFitsWidth() {
        let table = ResultTable(
            columns: ["job_uid", "count", "at", "note"],
            rows: [
                [
                    .text("5b9c41f0-b0dc-d1fd-0ebd-3e41e3098fe8"), .int(123_456), .text("2026-12-01 22:32:03"),
                    .text(String(repeating: "long note ", count: 10)),
                ],
                [.text("5b9c41f1-0000-0000-0000-000000000000"), .int(7), .text("now"), .text("short")],
            ])
        let full = table.rendered(as: .table)
        #expect(full.split(separator: "\n").allSatisfy { !$0.contains("…") })
        let fitted = table.rendered(as: .table, width: 60)
        let lines = fitted.split(separator: "\n")
        #expect(lines.allSatisfy { $0.count <= 60 }, "\(fitted)")
        // Each uid is cut to a prefix that still tells the two apart (they share "5b9c41f").
        let prefixes = lines[2...3].map { String($0.prefix { $0 != "…" && $0 != " " }) }
        #expect(prefixes[0] != prefixes[1] && prefixes.allSatisfy { $0.count >= 8 && $0.count < 36 }, "\(fitted)")
        #expect("5b9c41f0-b0dc-d1fd-0ebd-3e41e3098fe8".hasPrefix(prefixes[0]))
        #expect(lines[2].contains("123456") && lines[2].contains("2026-12-01 22:32:03"))
        #expect(lines[2].hasSuffix("…"))
        // Machine formats are never cut.
        #expect(table.rendered(as: .csv, width: 20).contains(String(repeating: "long note ", count: 10)))
    }

    @Test(
        "The formats for programs: CSV quotes what needs it (CR LF included), JSON and NDJSON write each row once, empty results stay valid"
    )
    func programFormats() throws {
        let table = ResultTable(
            columns: ["name", "n", "tags"],
            rows: [
                [.text("plain"), .int(1), .list(["a", "b"])],
                [.text("comma, \"quoted\""), .null, .list([])],
                [.text("two\r\nlines"), .double(2.5), .bool(true)],
            ])
        #expect(
            table.rendered(as: .csv)
                == "name,n,tags\r\nplain,1,\"a, b\"\r\n\"comma, \"\"quoted\"\"\",,\r\n\"two\r\nlines\",2.5,true\r\n")
        let lines = table.rendered(as: .ndjson).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0] == #"{"name":"plain","n":1,"tags":["a","b"]}"#)
        let json = try JSONValue.parse(Data(table.rendered(as: .json).utf8))
        #expect(json.arrayValue?.count == 3)
        #expect(json.arrayValue?[2]["name"] == .string("two\r\nlines"))
        let empty = ResultTable(columns: ["name"])
        #expect(empty.rendered(as: .json) == "[]\n" && empty.rendered(as: .ndjson) == "" && empty.rendered(as: .csv) == "name\r\n")
    }

    @Test("The progress bar draws counts against the total, at most ten times a second, and nothing when disabled")
    func progressBar() {
        let written = Mutex<[String]>([])
        let bar = ProgressBar(enabled: true) { text in written.withLock { $0.append(text) } }
        bar.update(done: 10, total: 40, label: "listing")
        bar.update(done: 11, total: 40, label: "listing")  // within 0.1 s of the last: skipped
        bar.update(done: 40, total: 40, label: "listing")  // the last one is always drawn
        bar.finish()
        let lines = written.withLock { $0 }
        #expect(lines.count == 3)
        #expect(lines[0].hasSuffix("listing [" + String(repeating: "#", count: 7) + String(repeating: ".", count: 23) + "] 10/40"))
        #expect(lines[1].hasSuffix("] 40/40") && lines[1].contains(String(repeating: "#", count: 30)))
        #expect(lines[2] == "\r\u{1B}[2K")

        let unknownTotal = Mutex<[String]>([])
        ProgressBar(enabled: true) { text in unknownTotal.withLock { $0.append(text) } }.update(done: 7, total: nil, label: "details")
        #expect(unknownTotal.withLock { $0 } == ["\r\u{1B}[2Kdetails 7"])

        let silent = Mutex<[String]>([])
        let off = ProgressBar(enabled: false) { text in silent.withLock { $0.append(text) } }
        off.update(done: 1, total: 2, label: "listing")
        off.finish()
        #expect(silent.withLock { $0 }.isEmpty)
    }

    @Test("The chart shades each status where it ran, marks gone time, and names what it drew")
    func chart() throws {
        let start = try #require(Timestamp.parse("2026-01-01T00:00:00Z"))
        func at(_ minutes: Double) -> Date { start.addingTimeInterval(minutes * 60) }
        // 0-30 WORKING, 30-40 DOWN, 40-50 gone, 50-60 WORKING again (open).
        let timeline = StatusTimeline(
            jobUID: "00617614-b938-11ee-bfd6-5622fced16a0",
            entries: [
                .init(
                    at: at(0), until: at(30), isInterval: true, event: .firstSeen, status: .int(11), durationSeconds: 1800,
                    timeSource: .sync),
                .init(
                    at: at(30), until: at(40), isInterval: true, event: .changed, status: .int(6), durationSeconds: 600, timeSource: .sync),
                .init(at: at(40), until: at(50), isInterval: true, event: .gone, status: nil, durationSeconds: 600, timeSource: .sync),
                .init(at: at(50), until: nil, isInterval: true, event: .back, status: .int(11), durationSeconds: nil, timeSource: .sync),
            ])
        let labels = StatusLabels(names: ["11": "WORKING", "6": "DOWN"])
        let text = TimelineChart.render(timeline, from: at(0), to: at(60), width: 60, labels: labels, colour: false)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        let bar = Array(lines[0].dropFirst().dropLast())  // between the | |
        #expect(bar.count == 60)
        #expect(Set(bar[0..<30]) == ["█"])
        #expect(Set(bar[30..<40]) == ["▒"])
        #expect(Set(bar[40..<50]) == ["·"])
        #expect(Set(bar[50..<60]) == ["█"])
        #expect(lines[1].hasPrefix("2026-01-01 00:00:00") && lines[1].hasSuffix("2026-01-01 01:00:00"))
        #expect(lines[1].contains(" 2026-01-01 00:30:00 "))  // the middle of the axis
        #expect(lines[2] == "█ WORKING (11) 40m 0s (66.7 %)   ▒ DOWN (6) 10m 0s (16.7 %)   · gone 10m 0s (16.7 %)")

        // A current state too short for a column of its own still ends the bar.
        let blip = StatusTimeline(
            jobUID: timeline.jobUID,
            entries: [
                .init(
                    at: at(0), until: at(59.9), isInterval: true, event: .firstSeen, status: .int(11), durationSeconds: nil,
                    timeSource: .sync),
                .init(
                    at: at(59.9), until: nil, isInterval: true, event: .changed, status: .int(6), durationSeconds: nil, timeSource: .sync),
            ])
        let blipBar = Array(TimelineChart.render(blip, from: at(0), to: at(60), width: 60, labels: labels, colour: false).prefix(62))
        #expect(blipBar[59] == "█" && blipBar[60] == "▒")
        // Nothing in range: one line saying so.
        #expect(
            TimelineChart.render(timeline, from: at(60), to: at(0), labels: labels, colour: false)
                == "(nothing to draw in that time range)\n")
    }

    @Test("history --chart through the binary: a bar, the two ends of the axis and the legend of a synced stream")
    func chartCommand() async throws {
        try await withHarness(streams: 5) { h in
            try await h.sync()
            let uid = h.fleet.liveStreams[0].jobUID
            h.fleet.setStatus(uid, h.fleet.liveStreams[0].status == 6 ? 11 : 6)
            try await h.sync()
            let result = try await BuiltProduct.run(["history", String(uid.prefix(8)), "--chart", "--width", "40", "--db", h.databasePath])
            #expect(result.status == 0, "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 4, "\(result.stdout)")
            #expect(lines[0] == "history of \(uid) (times UTC)")
            #expect(lines[1].hasPrefix("|") && lines[1].hasSuffix("|") && lines[1].count == 42)
            #expect(lines[3].contains("6") && lines[3].contains("11") && lines[3].contains("%"))
            let json = try await BuiltProduct.run(["history", uid, "--chart", "--format", "json", "--db", h.databasePath])
            #expect(json.status == 2 && json.stderr.contains("--chart draws for a terminal"))
        }
    }
}
