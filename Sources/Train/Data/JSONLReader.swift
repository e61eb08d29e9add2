import Foundation
import Tensor

/// Records read from a JSONL source, with the lines that had to be skipped.
public struct LoadedDataset: Sendable, Hashable {
    /// Where the records came from (a path, or a name for in-memory data).
    public var source: String
    /// The format the records were read as.
    public var format: DataFormat
    /// The usable records, in file order.
    public var records: [DataRecord]
    /// The 1-based line number of each record (its index + 1 for in-memory data).
    public var lineNumbers: [Int]
    /// Skipped lines, in file order.
    public var malformed: [MalformedLine]
    /// Number of lines (or in-memory records) examined.
    public var lineCount: Int

    /// Wraps in-memory records (line numbers are their 1-based positions).
    public init(records: [DataRecord], source: String = "in-memory records") {
        self.source = source
        format = records.first?.format ?? .text
        self.records = records
        lineNumbers = records.indices.map { $0 + 1 }
        malformed = []
        lineCount = records.count
    }

    init(source: String, format: DataFormat, records: [DataRecord], lineNumbers: [Int], malformed: [MalformedLine], lineCount: Int) {
        self.source = source
        self.format = format
        self.records = records
        self.lineNumbers = lineNumbers
        self.malformed = malformed
        self.lineCount = lineCount
    }
}

/// Reads JSON Lines datasets: one JSON object per line, in one of the ``DataFormat`` layouts.
///
/// The format is given or detected from the first object with identifying fields. A line that
/// cannot be used (empty, invalid UTF-8 or JSON, not an object, missing/mistyped/empty fields,
/// unknown chat roles) is skipped and recorded with its 1-based line number — never a crash.
/// Lines may end in `\n` or `\r\n`; a UTF-8 byte-order mark at the start is ignored. Files are
/// memory-mapped.
public enum JSONLReader {
    /// Reads the file at `url`.
    public static func read(contentsOf url: URL, format: DataFormat? = nil) throws -> LoadedDataset {
        let data: Data
        do {
            data = try FileBytes.read(url, mapped: true)
        } catch {
            throw DataError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        return try read(data: data, source: url.path, format: format)
    }

    /// Reads JSONL text held in memory.
    public static func read(string: String, source: String = "in-memory JSONL", format: DataFormat? = nil) throws -> LoadedDataset {
        try read(data: Data(string.utf8), source: source, format: format)
    }

    /// Reads JSONL bytes.
    public static func read(data: Data, source: String, format: DataFormat? = nil) throws -> LoadedDataset {
        let parsed = parseLines(data)
        guard let format = format ?? detectFormat(parsed) else {
            throw DataError.cannotDetectFormat(source: source)
        }
        var records: [DataRecord] = []
        var lineNumbers: [Int] = []
        var malformed: [MalformedLine] = []
        records.reserveCapacity(parsed.count)
        lineNumbers.reserveCapacity(parsed.count)
        for (index, line) in parsed.enumerated() {
            let lineNumber = index + 1
            switch line {
            case .failure(let reason):
                malformed.append(MalformedLine(lineNumber: lineNumber, reason: reason))
            case .success(let object):
                switch RecordDecoder.decode(object, as: format) {
                case .success(let record):
                    if let empty = emptyRequiredField(record) {
                        malformed.append(MalformedLine(lineNumber: lineNumber, reason: .emptyField(empty)))
                    } else {
                        records.append(record)
                        lineNumbers.append(lineNumber)
                    }
                case .failure(let reason):
                    malformed.append(MalformedLine(lineNumber: lineNumber, reason: reason))
                }
            }
        }
        return LoadedDataset(source: source, format: format, records: records, lineNumbers: lineNumbers,
                             malformed: malformed, lineCount: parsed.count)
    }

    private static func detectFormat(_ lines: [Result<[String: Any], MalformedReason>]) -> DataFormat? {
        for case .success(let object) in lines {
            if let format = RecordDecoder.detectFormat(object) { return format }
        }
        return nil
    }

    /// The name of the first required text field that is empty or whitespace, if any.
    private static func emptyRequiredField(_ record: DataRecord) -> String? {
        func blank(_ s: String) -> Bool { s.unicodeScalars.allSatisfy { $0.properties.isWhitespace } }
        switch record {
        case .alpaca(let instruction, _, let output):
            if blank(instruction) { return "instruction" }
            if blank(output) { return "output" }
        case .chat(let messages):
            if let i = messages.firstIndex(where: { $0.role == .assistant && blank($0.content) }) { return "messages[\(i)].content" }
        case .completion(_, let completion):
            if blank(completion) { return "completion" }
        case .text(let text):
            if blank(text) { return "text" }
        }
        return nil
    }

    /// Splits `data` into lines and parses each as JSON.
    static func parseLines(_ data: Data) -> [Result<[String: Any], MalformedReason>] {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Result<[String: Any], MalformedReason>] in
            let bytes = raw.bindMemory(to: UInt8.self)
            var results: [Result<[String: Any], MalformedReason>] = []
            var start = 0
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
            var lineStart = start
            var i = start
            while i <= bytes.count {
                if i == bytes.count || bytes[i] == 0x0A {
                    // A final newline ends the last line; it does not start an empty one.
                    if i == bytes.count && lineStart == bytes.count { break }
                    var end = i
                    if end > lineStart, bytes[end - 1] == 0x0D { end -= 1 }
                    results.append(parseLine(UnsafeBufferPointer(rebasing: bytes[lineStart..<end])))
                    lineStart = i + 1
                }
                i += 1
            }
            return results
        }
    }

    private static func parseLine(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<[String: Any], MalformedReason> {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return .failure(.emptyLine) }
        guard String(bytes: bytes, encoding: .utf8) != nil else { return .failure(.invalidUTF8) }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(buffer: bytes), options: [.fragmentsAllowed])
        } catch {
            return .failure(.invalidJSON)
        }
        guard let object = value as? [String: Any] else { return .failure(.notAnObject) }
        return .success(object)
    }
}
