import Foundation

/// A one-line terminal progress bar with rate and ETA, redrawn in place on standard error.
///
/// When standard error is not a terminal it prints a plain line every `plainEvery` updates instead,
/// so logs stay readable.
public struct ProgressBar: Sendable {
    /// Work units in total.
    public let total: Int
    /// Label before the bar.
    public let label: String
    /// Width of the bar in characters.
    public let width: Int
    private let started = Date()
    private let interactive = isatty(2) != 0
    private let plainEvery: Int

    /// A bar for `total` units.
    public init(total: Int, label: String, width: Int = 24, plainEvery: Int = 10) {
        self.total = max(1, total)
        self.label = label
        self.width = width
        self.plainEvery = max(1, plainEvery)
    }

    /// Draws progress `done` with `detail` (e.g. "loss 1.23 · 80 tok/s").
    public func update(_ done: Int, detail: String = "") {
        let fraction = min(1, Double(done) / Double(total))
        let elapsed = Date().timeIntervalSince(started)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let line = "\(label) \(bar) \(done)/\(total) \(detail) · \(Self.clock(elapsed)) elapsed, ETA \(Self.clock(eta))"
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
            if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
        } else if done % plainEvery == 0 || done >= total || done == 1 {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// m:ss.
    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}
