// What a process has used: CPU time of all its threads and its resident memory.

import Foundation

/// CPU seconds, split into user and system time.
struct CPUTime {
    /// Seconds in user mode.
    var user: Double
    /// Seconds in the kernel.
    var system: Double

    /// User plus system.
    var total: Double { user + system }

    /// This process's CPU time so far, every thread included.
    static func ofThisProcess() -> CPUTime { CPUTime(RUSAGE_SELF) }

    /// The CPU time of every child process that has ended and been waited for.
    static func ofEndedChildren() -> CPUTime { CPUTime(RUSAGE_CHILDREN) }

    private init(_ who: __rusage_who) {
        var usage = rusage()
        getrusage(who.rawValue, &usage)
        user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    init(user: Double, system: Double) {
        self.user = user
        self.system = system
    }

    static func - (lhs: CPUTime, rhs: CPUTime) -> CPUTime {
        CPUTime(user: lhs.user - rhs.user, system: lhs.system - rhs.system)
    }
}

/// This process's peak resident set size (`VmHWM` in `/proc/self/status`), in KiB.
func peakResidentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    }
    return 0
}

/// This process's resident set size now (`VmRSS` in `/proc/self/status`), in bytes.
func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kilobytes * 1024
    }
    return 0
}
