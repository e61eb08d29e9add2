import Foundation

/// Reads whole files for the loaders. An empty file gives empty data without calling Foundation's
/// reader, which leaks a buffer on empty files (found by fuzzing and AddressSanitizer).
package enum FileBytes {
    /// The contents of `url`; `mapped` maps the file instead of copying it when that is safe.
    package static func read(_ url: URL, mapped: Bool = false) throws -> Data {
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
        if size == 0 { return Data() }
        return try Data(contentsOf: url, options: mapped ? .mappedIfSafe : [])
    }
}
