// The CPU benchmark's report: a Markdown table (or JSON) of every client, the ratio of each
// Python client's CPU to ours, the issue's targets, the callgrind figure and the machine.

import Foundation

/// Summarises the runs of ``runCPUBenchmark(_:)``.
struct CPUReport {
    var rows: [RowRuns]
    var runs: Int
    var audioSeconds: Double
    var python: PythonEnvironment
    var callgrind: CallgrindFigures.Outcome

    /// The issue's targets (not to be weakened): our CPU per audio-hour at most this for
    /// AssemblyAI at 50 ms chunks, and at least this many times less than the cheapest Python
    /// client of each vendor.
    static let assemblyAITarget = 0.3
    static let ratioTarget = 10.0

    /// CPU seconds per audio-hour of each good run.
    func cpuPerAudioHour(_ row: RowRuns) -> [Double] {
        row.results.map { ($0["cpu_seconds"] as? Double ?? 0) * 3600 / ($0["audio_seconds"] as? Double ?? 1) }
    }

    private func values(_ row: RowRuns, _ key: String) -> [Double] {
        row.results.map { ($0[key] as? Double) ?? Double($0[key] as? Int ?? 0) }
    }

    /// Our median CPU per audio-hour for `vendor` at 50 ms, the base of the ratios.
    func ours(_ vendor: String) -> Double? {
        rows.first { $0.row.isOurs && $0.row.vendor == vendor && $0.row.chunkMilliseconds == 50 }
            .flatMap { $0.results.isEmpty ? nil : median(cpuPerAudioHour($0)) }
    }

    /// The cheapest Python client of `vendor` (median CPU per audio-hour) and its label.
    func cheapestPython(_ vendor: String) -> (label: String, cpu: Double)? {
        rows.filter { !$0.row.isOurs && $0.row.vendor == vendor && !$0.results.isEmpty }
            .map { (label: $0.row.label, cpu: median(cpuPerAudioHour($0))) }
            .min { $0.cpu < $1.cpu }
    }

    // MARK: Markdown

    func printMarkdown() {
        let minutes = audioSeconds / 60
        print(
            "## Client CPU per audio-hour (\(format(minutes)) min of 16 kHz mono pcm_s16le, unpaced, wss to the "
                + "emulator in another process), \(runs) runs: median (min–max)\n")
        print(
            "| client | vendor | chunk | CPU-s per audio-hour | theirs / ours | wall s | peak RSS MiB | "
                + "whole process CPU-s | good runs |")
        print("|---|---|---|---|---|---|---|---|---|")
        for row in rows {
            let chunk =
                row.row.chunkMilliseconds >= 1000
                ? "\(row.row.chunkMilliseconds / 1000) s" : "\(row.row.chunkMilliseconds) ms"
            let vendor = row.row.vendor == "assemblyai" ? "AssemblyAI" : "Speechmatics"
            guard row.skipped == nil, !row.results.isEmpty else {
                let why = row.skipped ?? row.failures.first ?? "no run"
                print("| \(row.row.label) | \(vendor) | \(chunk) | not measured: \(why) | | | | | 0/\(runs) |")
                continue
            }
            let cpu = cpuPerAudioHour(row)
            var ratio = "(ours)"
            if !row.row.isOurs, let ours = ours(row.row.vendor), ours > 0 {
                ratio = String(format: "%.1f×", median(cpu) / ours)
            }
            let rss = values(row, "peak_rss_kib").map { $0 / 1024 }
            print(
                "| \(row.row.label) | \(vendor) | \(chunk) | \(summary(cpu)) | \(ratio) | "
                    + "\(summary(values(row, "wall_seconds"))) | \(format(median(rss))) | "
                    + "\(format(median(row.wholeProcessCPU))) | \(row.results.count)/\(runs) |")
        }
        print(
            "\nCPU-s: user + system CPU seconds of the client process from just before it connects until its session "
                + "has ended (every final received), scaled to one hour of audio. Whole process: the same process "
                + "from exec to exit, start-up and imports included, not scaled. Peak RSS: VmHWM of the client "
                + "process (the recording, \(format(audioSeconds * 32 / 1024)) MiB, is in memory in every client).")
        for row in rows where !row.failures.isEmpty {
            print("\nFailed runs of \(row.row.label), \(row.row.vendor), \(row.row.chunkMilliseconds) ms:")
            for failure in row.failures { print("- \(failure)") }
        }
        printTargets()
        printCallgrind()
        printMachine()
    }

    private func printTargets() {
        print("\n### The issue's targets\n")
        if let ours = ours("assemblyai") {
            let met = ours <= Self.assemblyAITarget ? "met" : "NOT met"
            print(
                "- AssemblyAI, 50 ms chunks: \(format(ours)) CPU-s per audio-hour; target ≤ "
                    + "\(format(Self.assemblyAITarget)): \(met).")
        } else {
            print("- AssemblyAI, 50 ms chunks: not measured.")
        }
        for vendor in ["assemblyai", "speechmatics"] {
            let name = vendor == "assemblyai" ? "AssemblyAI" : "Speechmatics"
            guard let ours = ours(vendor), let cheapest = cheapestPython(vendor) else {
                print("- \(name): no ratio (a Python client or ours was not measured).")
                continue
            }
            let ratio = cheapest.cpu / ours
            let met = ratio >= Self.ratioTarget ? "met" : "NOT met"
            print(
                "- \(name): the cheapest Python client (\(cheapest.label)) uses \(String(format: "%.1f", ratio))× "
                    + "our CPU at 50 ms; target ≥ \(Int(Self.ratioTarget))×: \(met).")
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
                "ours": row.row.isOurs, "runs": row.results, "whole_process_cpu_seconds": row.wholeProcessCPU,
                "failures": row.failures,
            ]
            if let skipped = row.skipped { object["skipped"] = skipped }
            if !row.results.isEmpty {
                object["cpu_seconds_per_audio_hour_median"] = median(cpuPerAudioHour(row))
                if !row.row.isOurs, let ours = ours(row.row.vendor), ours > 0 {
                    object["ratio_to_ours"] = median(cpuPerAudioHour(row)) / ours
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
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
        var pythonVersion = "not used"
        if case .ready(_, let version) = python { pythonVersion = version }
        return [
            ("cpu", first("/proc/cpuinfo", "model name").replacingOccurrences(of: ": ", with: "")),
            ("cores", "\(ProcessInfo.processInfo.activeProcessorCount)"),
            ("memory", String(format: "%.1f GiB", memory / 1024 / 1024)),
            ("os", first("/etc/os-release", "PRETTY_NAME=").replacingOccurrences(of: "\"", with: "")),
            ("python", pythonVersion),
            ("load average at the end (1, 5, 15 min)", load.map { $0.joined(separator: " ") } ?? "unknown"),
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
