// The CPU benchmark's report: a Markdown table (or JSON) of every client, the ratio of each
// Python client's CPU to ours, the targets, the callgrind figure and the machine.

import Foundation

/// Summarises the runs of ``runCPUBenchmark(_:)``.
struct CPUReport {
    var rows: [RowRuns]
    var runs: Int
    var audioSeconds: Double
    var python: PythonEnvironment
    var callgrind: CallgrindFigures.Outcome
    /// `/proc/loadavg`'s three averages when the benchmark started.
    var loadAtStart: String

    /// The targets (Docs/Performance.md; not to be weakened): our CPU per audio-hour at most this for
    /// AssemblyAI at 50 ms chunks, and at least this many times less than the cheapest Python
    /// client of each vendor.
    static let assemblyAITarget = 0.3
    static let ratioTarget = 10.0

    /// Which CPU time is scaled to an audio-hour.
    enum Metric {
        /// The whole session, from just before connecting until it ended (the table's main figure).
        case session
        /// The session without its set-up (until `Begin` / `RecognitionStarted`): what each more
        /// hour of audio costs in a long session.
        case streaming
    }

    /// CPU seconds per audio-hour of each good run.
    func perAudioHour(_ row: RowRuns, _ metric: Metric) -> [Double] {
        row.results.map { result in
            let total = result["cpu_seconds"] as? Double ?? 0
            let setup = metric == .streaming ? (result["setup_cpu_seconds"] as? Double ?? 0) : 0
            return (total - setup) * 3600 / (result["audio_seconds"] as? Double ?? 1)
        }
    }

    private func values(_ row: RowRuns, _ key: String) -> [Double] {
        row.results.map { ($0[key] as? Double) ?? Double($0[key] as? Int ?? 0) }
    }

    /// Our median CPU per audio-hour for `vendor` at 50 ms, the base of the ratios.
    func ours(_ vendor: String, _ metric: Metric, onEventLoop: Bool = false) -> Double? {
        rows.first {
            $0.row.isOurs && $0.row.isOnEventLoop == onEventLoop && $0.row.vendor == vendor
                && $0.row.chunkMilliseconds == 50
        }
        .flatMap { $0.results.isEmpty ? nil : median(perAudioHour($0, metric)) }
    }

    /// The cheapest Python client of `vendor` (median CPU per audio-hour) and its label.
    func cheapestPython(_ vendor: String, _ metric: Metric) -> (label: String, cpu: Double)? {
        rows.filter { !$0.row.isOurs && $0.row.vendor == vendor && !$0.results.isEmpty }
            .map { (label: $0.row.label, cpu: median(perAudioHour($0, metric))) }
            .min { $0.cpu < $1.cpu }
    }

    /// `theirs / ours` for a Python row, `(ours)` for ours.
    private func ratio(_ row: RowRuns, _ metric: Metric) -> String {
        guard !row.row.isOurs else { return "(ours)" }
        guard let ours = ours(row.row.vendor, metric), ours > 0 else { return "" }
        return String(format: "%.1f×", median(perAudioHour(row, metric)) / ours)
    }

    // MARK: Markdown

    func printMarkdown() {
        print(
            "## Client CPU per audio-hour (\(format(audioSeconds / 60)) min of 16 kHz mono pcm_s16le, unpaced, wss to "
                + "the emulator in another process), \(runs) runs: median (min–max)\n")
        print("| client | vendor | chunk | CPU-s per audio-hour | theirs / ours | wall s | peak RSS MiB | good runs |")
        print("|---|---|---|---|---|---|---|---|")
        for row in rows {
            guard row.skipped == nil, !row.results.isEmpty else {
                let why = row.skipped ?? row.failures.first ?? "no run"
                print("| \(names(row)) | not measured: \(why) | | | | 0/\(runs) |")
                continue
            }
            let rss = values(row, "peak_rss_kib").map { $0 / 1024 }
            print(
                "| \(names(row)) | \(summary(perAudioHour(row, .session))) | \(ratio(row, .session)) | "
                    + "\(summary(values(row, "wall_seconds"))) | \(format(median(rss))) | \(row.results.count)/\(runs) |"
            )
        }
        print(
            "\nCPU-s per audio-hour: user + system CPU seconds of the client process from just before it connects "
                + "until its session has ended (every final received), scaled from \(format(audioSeconds / 60)) "
                + "minutes to one hour of audio. Wall: the same span. Peak RSS: VmHWM of the client process (the "
                + "recording, \(format(audioSeconds * 32 / 1024)) MiB, is in memory in every client).\n")
        print("Where the CPU goes: the session's set-up, and the rest scaled to an audio-hour (medians).\n")
        print(
            "| client | vendor | chunk | set-up CPU ms | streaming CPU-s per audio-hour | theirs / ours | "
                + "whole process CPU-s |")
        print("|---|---|---|---|---|---|---|")
        for row in rows where row.skipped == nil && !row.results.isEmpty {
            let setup = values(row, "setup_cpu_seconds").map { $0 * 1000 }
            print(
                "| \(names(row)) | \(format(median(setup))) | \(summary(perAudioHour(row, .streaming))) | "
                    + "\(ratio(row, .streaming)) | \(format(median(row.wholeProcessCPU))) |")
        }
        print(
            "\nSet-up: from just before connecting until `Begin` / `RecognitionStarted` was received (TCP, TLS, "
                + "WebSocket handshake, first message). Streaming: the rest of the session, scaled to an "
                + "audio-hour. Whole process: the client process from exec to exit (interpreter start, imports, "
                + "reading the recording), not scaled.")
        for row in rows where !row.failures.isEmpty {
            print("\nFailed runs of \(row.row.label), \(row.row.vendor), \(row.row.chunkMilliseconds) ms:")
            for failure in row.failures { print("- \(failure)") }
        }
        printTargets()
        printCallgrind()
        printMachine()
    }

    /// `client | vendor | chunk` of a row.
    private func names(_ row: RowRuns) -> String {
        let milliseconds = row.row.chunkMilliseconds
        let chunk = milliseconds >= 1000 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
        let vendor = row.row.vendor == "assemblyai" ? "AssemblyAI" : "Speechmatics"
        return "\(row.row.label) | \(vendor) | \(chunk)"
    }

    private func printTargets() {
        print("\n### Targets\n")
        for onEventLoop in [false, true] {
            let how = onEventLoop ? ", tasks on the event loop" : ""
            for (metric, name) in [(Metric.session, "whole session"), (.streaming, "streaming only")] {
                if let ours = ours("assemblyai", metric, onEventLoop: onEventLoop) {
                    let met = ours <= Self.assemblyAITarget ? "met" : "NOT met"
                    print(
                        "- AssemblyAI, 50 ms chunks\(how), \(name): \(format(ours)) CPU-s per audio-hour; target ≤ "
                            + "\(format(Self.assemblyAITarget)): \(met).")
                }
            }
        }
        for onEventLoop in [false, true] {
            let how = onEventLoop ? ", tasks on the event loop" : ""
            for vendor in ["assemblyai", "speechmatics"] {
                let vendorName = vendor == "assemblyai" ? "AssemblyAI" : "Speechmatics"
                for (metric, name) in [(Metric.session, "whole session"), (.streaming, "streaming only")] {
                    guard let ours = ours(vendor, metric, onEventLoop: onEventLoop),
                        let cheapest = cheapestPython(vendor, metric)
                    else {
                        print("- \(vendorName)\(how), \(name): no ratio (a Python client or ours was not measured).")
                        continue
                    }
                    let ratio = cheapest.cpu / ours
                    let met = ratio >= Self.ratioTarget ? "met" : "NOT met"
                    print(
                        "- \(vendorName), 50 ms chunks\(how), \(name): the cheapest Python client "
                            + "(\(cheapest.label)) uses \(String(format: "%.2f", ratio))× our CPU; target ≥ "
                            + "\(Int(Self.ratioTarget))×: \(met).")
                }
            }
        }
    }

    private func printCallgrind() {
        print("\n### Instruction count (callgrind), StreamingSTT → AssemblyAI, 50 ms chunks\n")
        switch callgrind {
        case .notRun(let why):
            print("Not measured: \(why).")
        case .measured(let seconds, let short, let long, let top):
            let perSecond = Double(long - short) / Double(seconds)
            print(
                "Whole client process: \(grouped(short)) instructions for \(seconds) s of audio, \(grouped(long)) for "
                    + "\(2 * seconds) s. The difference, what streaming audio costs without the start-up: "
                    + "\(grouped(Int(perSecond))) instructions per audio second (\(grouped(Int(perSecond / 20))) per "
                    + "50 ms chunk), ≈ \(String(format: "%.2e", perSecond * 3600)) per audio-hour. The functions whose "
                    + "own instructions grew the most:\n")
            print("| instructions for \(seconds) more s | share | function [object] |")
            print("|---|---|---|")
            for function in top {
                let name = function.name.replacingOccurrences(of: "|", with: "\\|")
                print("| \(grouped(function.instructions)) | \(String(format: "%.1f", function.percent)) % | \(name) |")
            }
        }
    }

    private func printMachine() {
        print("\n### Machine\n")
        for (key, value) in machine() { print("- \(key): \(value)") }
    }

    // MARK: JSON

    func printJSON() throws {
        var rowObjects: [[String: Any]] = []
        for row in rows {
            var object: [String: Any] = [
                "label": row.row.label, "vendor": row.row.vendor, "chunk_ms": row.row.chunkMilliseconds,
                "ours": row.row.isOurs, "on_event_loop": row.row.isOnEventLoop, "runs": row.results,
                "whole_process_cpu_seconds": row.wholeProcessCPU,
                "failures": row.failures,
            ]
            if let skipped = row.skipped { object["skipped"] = skipped }
            if !row.results.isEmpty {
                object["cpu_seconds_per_audio_hour_median"] = median(perAudioHour(row, .session))
                object["streaming_cpu_seconds_per_audio_hour_median"] = median(perAudioHour(row, .streaming))
                if !row.row.isOurs, let ours = ours(row.row.vendor, .session), ours > 0 {
                    object["ratio_to_ours"] = median(perAudioHour(row, .session)) / ours
                }
                if !row.row.isOurs, let ours = ours(row.row.vendor, .streaming), ours > 0 {
                    object["streaming_ratio_to_ours"] = median(perAudioHour(row, .streaming)) / ours
                }
            }
            rowObjects.append(object)
        }
        var document: [String: Any] = [
            "audio_seconds": audioSeconds, "runs": runs, "rows": rowObjects,
            "machine": Dictionary(uniqueKeysWithValues: machine()),
            "targets": [
                "assemblyai_cpu_seconds_per_audio_hour_max": Self.assemblyAITarget, "ratio_min": Self.ratioTarget,
            ],
        ]
        switch callgrind {
        case .notRun(let why): document["callgrind"] = ["not_run": why]
        case .measured(let seconds, let short, let long, let top):
            document["callgrind"] = [
                "audio_seconds_short": seconds, "instructions_short": short, "instructions_long": long,
                "top": top.map { ["instructions": $0.instructions, "percent": $0.percent, "function": $0.name] },
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    // MARK: Helpers

    /// What the figures ran on.
    private func machine() -> [(String, String)] {
        func first(_ path: String, _ prefix: String) -> String {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix(prefix) }
            return line.map { String($0.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces) } ?? "unknown"
        }
        let memory = Double(first("/proc/meminfo", "MemTotal:").split(separator: " ").first ?? "0") ?? 0
        var pythonVersion = "not used"
        if case .ready(_, let version) = python { pythonVersion = version }
        return [
            ("cpu", first("/proc/cpuinfo", "model name").replacingOccurrences(of: ": ", with: "")),
            ("cores", "\(ProcessInfo.processInfo.activeProcessorCount)"),
            ("memory", String(format: "%.1f GiB", memory / 1024 / 1024)),
            ("os", first("/etc/os-release", "PRETTY_NAME=").replacingOccurrences(of: "\"", with: "")),
            ("python", pythonVersion),
            ("load average (1, 5, 15 min) at the start", loadAtStart),
            ("load average (1, 5, 15 min) at the end", loadAverage()),
        ]
    }

    private func summary(_ values: [Double]) -> String {
        guard let low = values.min(), let high = values.max() else { return "" }
        return "\(format(median(values))) (\(format(low))–\(format(high)))"
    }

    private func format(_ value: Double) -> String {
        value >= 100
            ? String(format: "%.0f", value)
            : value >= 10 ? String(format: "%.1f", value) : String(format: "%.2f", value)
    }

    private func grouped(_ value: Int) -> String {
        let digits = String(value)
        var result = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result += "," }
            result.append(character)
        }
        return result
    }
}

/// `/proc/loadavg`'s 1, 5 and 15 minute load averages.
func loadAverage() -> String {
    let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}
