import Foundation

/// One value of a JSON-lines record.
enum JSONValue {
    case string(String)
    case int(Int)
    case number(Double, decimals: Int)
    case bool(Bool)

    var encoded: String {
        switch self {
        case .string(let s):
            var out = "\""
            for ch in s.unicodeScalars {
                switch ch {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                default: out.unicodeScalars.append(ch)
                }
            }
            return out + "\""
        case .int(let i): return String(i)
        case .number(let d, let decimals): return d.isFinite ? String(format: "%.\(decimals)f", d) : "null"
        case .bool(let b): return b ? "true" : "false"
        }
    }
}

/// Prints one JSON object per line, keys in the given order, and flushes stdout.
func emit(_ fields: [(String, JSONValue)]) {
    let body = fields.map { "\(JSONValue.string($0.0).encoded):\($0.1.encoded)" }.joined(separator: ",")
    FileHandle.standardOutput.write(Data("{\(body)}\n".utf8))
}

/// Peak resident set size of this process in MB (VmHWM from /proc/self/status), or nil off Linux.
func peakRSSMegabytes() -> Double? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }.first
        return kb.map { $0 / 1024 }
    }
    return nil
}

/// Seconds on a monotonic clock.
@inline(__always)
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

/// Runs `body` `warmup` times untimed, then `runs` times, and returns the fastest run in seconds.
///
/// The best run is the least disturbed by other processes on a shared machine, which is what a
/// comparison between implementations needs.
func bestTime(warmup: Int, runs: Int, _ body: () -> Void) -> Double {
    for _ in 0..<warmup { body() }
    var best = Double.infinity
    for _ in 0..<max(1, runs) {
        let t0 = now()
        body()
        best = min(best, now() - t0)
    }
    return best
}

/// Like ``bestTime(warmup:runs:_:)`` for several implementations at once, run in turn within each
/// round, so that load from other processes affects all of them alike. Returns the best per body.
func bestTimes(warmup: Int, runs: Int, _ bodies: [() -> Void]) -> [Double] {
    for _ in 0..<warmup { for body in bodies { body() } }
    var best = [Double](repeating: .infinity, count: bodies.count)
    for _ in 0..<max(1, runs) {
        for (i, body) in bodies.enumerated() {
            let t0 = now()
            body()
            best[i] = min(best[i], now() - t0)
        }
    }
    return best
}

/// Repetition counts for a full or a `--quick` run.
struct RunPlan {
    let warmup: Int
    let runs: Int
    init(quick: Bool) {
        warmup = quick ? 1 : 2
        runs = quick ? 3 : 7
    }
}

/// A buffer of deterministic pseudo-random floats in [-1, 1) (no Tensor dependency, no allocation
/// inside timed regions).
func randomFloats(_ count: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
    var x = seed | 1
    for i in 0..<count {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        p[i] = Float(Int64(bitPattern: x >> 40) - (1 << 23)) / Float(1 << 23)
    }
    return p
}

/// Minor page faults of this process so far (first touches of freshly mapped memory).
func minorPageFaults() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_minflt
}
