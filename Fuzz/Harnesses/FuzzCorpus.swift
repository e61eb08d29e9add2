import Foundation

/// Committed fuzz corpora (`Tests/FuzzTests/Fixtures/FuzzCorpus/<harness>/`).
public enum FuzzCorpus {
    /// The corpus folder of harness `name`.
    public static func folder(_ name: String) -> URL {
        FuzzFixtures.root.appendingPathComponent("Tests/FuzzTests/Fixtures/FuzzCorpus/\(name)")
    }

    /// `url` itself when it is a file, else the files in it (sorted, hidden ones skipped).
    public static func files(at url: URL) -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [url] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { url.appendingPathComponent($0) }
    }
}
