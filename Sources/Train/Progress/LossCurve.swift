import Foundation

/// Renders a training history's loss curve (and evaluation losses) as a standalone SVG document.
public enum LossCurve {
    /// The SVG text for `history`, `width`×`height` pixels.
    public static func svg(_ history: TrainingHistory, title: String = "Training loss", width: Int = 640, height: Int = 360) -> String {
        let train = history.steps.map { (Double($0.step), Double($0.loss)) }
        let eval = history.evaluations.map { (Double($0.step), Double($0.loss)) }
        let all = train + eval
        let (left, right, top, bottom) = (56.0, 16.0, 36.0, 40.0)
        let w = Double(width) - left - right, h = Double(height) - top - bottom
        let maxX = max(1, all.map(\.0).max() ?? 1)
        let minY = min(all.map(\.1).min() ?? 0, 0), maxY = max(all.map(\.1).max() ?? 1, minY + 1e-6)
        func x(_ v: Double) -> Double { left + v / maxX * w }
        func y(_ v: Double) -> Double { top + (1 - (v - minY) / (maxY - minY)) * h }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="20" text-anchor="middle" font-size="14">\(escape(title))</text>
        <line x1="\(f(left))" y1="\(f(top + h))" x2="\(f(left + w))" y2="\(f(top + h))" stroke="black"/>
        <line x1="\(f(left))" y1="\(f(top))" x2="\(f(left))" y2="\(f(top + h))" stroke="black"/>

        """
        for i in 0...4 {
            let v = minY + (maxY - minY) * Double(i) / 4
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(y(v) + 4))\" text-anchor=\"end\">\(String(format: "%.2f", v))</text>\n"
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y(v)))\" x2=\"\(f(left + w))\" y2=\"\(f(y(v)))\" stroke=\"#ddd\"/>\n"
        }
        s += "<text x=\"\(f(left + w / 2))\" y=\"\(height - 8)\" text-anchor=\"middle\">optimizer step (of \(Int(maxX)))</text>\n"
        if !train.isEmpty {
            let points = train.map { "\(f(x($0.0))),\(f(y($0.1)))" }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"\(points)\"/>\n"
        }
        for (sx, sy) in eval {
            s += "<circle cx=\"\(f(x(sx)))\" cy=\"\(f(y(sy)))\" r=\"4\" fill=\"#d62728\"/>\n"
        }
        s += "<text x=\"\(f(left + w - 4))\" y=\"\(f(top + 14))\" text-anchor=\"end\" fill=\"#1f77b4\">train loss</text>\n"
        if !eval.isEmpty { s += "<text x=\"\(f(left + w - 4))\" y=\"\(f(top + 30))\" text-anchor=\"end\" fill=\"#d62728\">eval loss</text>\n" }
        return s + "</svg>\n"
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
