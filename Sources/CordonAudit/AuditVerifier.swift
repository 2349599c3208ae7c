/// Checks audit log files offline: JSON, schema, gapless `seq`, chain links, hashes, the head
/// anchor and torn tails. Used by `cordon audit verify`.
public enum AuditVerifier {
    /// Verifies one file or a whole rotated set, given in any order (files are ordered by the seq
    /// of their first record). `head` is the head file's path (`<log>.head`); without it the log
    /// must end with `log.close`, unless `requireAnchor` is false. Stops at the first problem.
    public static func verify(files: [String], head: String?, requireAnchor: Bool = true) -> AuditVerification {
        struct LoadedFile {
            var path: String
            var bytes: [UInt8]
            var firstSeq: UInt64?
        }
        var loaded: [LoadedFile] = []
        for path in files {
            let bytes: [UInt8]?
            do { bytes = try FileIO.readFile(path) } catch {
                return .failed(seq: nil, line: 0, file: path, reason: .unreadable(detail: "\(error)"))
            }
            guard let bytes else { return .failed(seq: nil, line: 0, file: path, reason: .unreadable(detail: "no such file")) }
            loaded.append(LoadedFile(path: path, bytes: bytes, firstSeq: firstSeq(bytes)))
        }
        // Files without any readable record (e.g. the fresh active file after a rotation) go last.
        loaded.sort { ($0.firstSeq ?? .max) < ($1.firstSeq ?? .max) }

        var anchor: AuditHead?
        if let head {
            do { anchor = try AuditHead.read(path: head) } catch {
                return .failed(seq: nil, line: 0, file: head, reason: .unreadable(detail: "\(error)"))
            }
            if anchor == nil {
                return .failed(seq: nil, line: 0, file: head, reason: .unreadable(detail: "no such file"))
            }
        }

        // Whether a seq occurs anywhere in the set, to tell reordering (it appears elsewhere) from
        // a gap (it never does). Only needed once something is wrong, so computed lazily.
        func present(_ seq: UInt64) -> Bool {
            var found = false
            for f in loaded where !found {
                forEachLine(f.bytes) { line, _ in
                    if !found, quickSeq(line) == seq { found = true }
                }
            }
            return found
        }

        var expected: UInt64 = 1
        var prevHash = AuditRecord.genesisHash
        var count = 0
        var last: (seq: UInt64, type: AuditEventType, line: Int, file: String)?
        var anchorHash: String?
        let lastFileIndex = loaded.count - 1

        for (fileIndex, f) in loaded.enumerated() {
            var failure: AuditVerification?
            forEachLine(f.bytes) { line, info in
                if failure != nil { return }
                let isFinal = fileIndex == lastFileIndex && info.isLastLine
                if !info.terminated {
                    failure = .failed(seq: last?.seq, line: info.number, file: f.path,
                                      reason: .tornTail(bytes: line.count))
                    return
                }
                let record: AuditRecord
                do throws(AuditRecordError) { record = try AuditRecord(line: line) } catch {
                    switch error {
                    case .invalidJSON(let e):
                        failure = isFinal
                            ? .failed(seq: last?.seq, line: info.number, file: f.path, reason: .tornTail(bytes: line.count + 1))
                            : .failed(seq: nil, line: info.number, file: f.path, reason: .invalidJSON(detail: e.description))
                    case .schema(let field):
                        failure = .failed(seq: quickSeq(line), line: info.number, file: f.path, reason: .schema(field: field))
                    }
                    return
                }
                if record.seq != expected {
                    let reason: VerificationFailure = record.seq < expected || present(expected)
                        ? .reordered(expected: expected, found: record.seq)
                        : .seqGap(expected: expected, found: record.seq)
                    failure = .failed(seq: record.seq, line: info.number, file: f.path, reason: reason)
                    return
                }
                if record.computeHash() != record.hash {
                    failure = .failed(seq: record.seq, line: info.number, file: f.path, reason: .hashMismatch)
                    return
                }
                if record.prev != prevHash {
                    failure = .failed(seq: record.seq, line: info.number, file: f.path, reason: .chainBroken)
                    return
                }
                if let anchor, anchor.seq == record.seq { anchorHash = record.hash }
                prevHash = record.hash
                expected += 1
                count += 1
                last = (record.seq, record.type, info.number, f.path)
            }
            if let failure { return failure }
        }

        let lastSeq = last?.seq ?? 0
        let lastLine = last?.line ?? 0
        let lastFile = last?.file ?? loaded.last?.path ?? files.first ?? ""
        if let anchor {
            if anchor.seq > lastSeq {
                return .failed(seq: last?.seq, line: lastLine, file: lastFile,
                               reason: .truncated(expectedLastSeq: anchor.seq))
            }
            if anchor.seq > 0, anchorHash != anchor.hash {
                return .failed(seq: anchor.seq, line: 0, file: head ?? "", reason: .headMismatch(seq: anchor.seq))
            }
        } else if requireAnchor, let last, last.type != .logClose {
            return .failed(seq: last.seq, line: last.line, file: last.file, reason: .unanchored)
        }
        return .ok(records: count)
    }

    struct LineInfo {
        var number: Int
        var terminated: Bool
        var isLastLine: Bool
    }

    /// Calls `body` for each line (without its newline). A final fragment without newline is
    /// reported with `terminated == false`.
    static func forEachLine(_ bytes: [UInt8], _ body: (ArraySlice<UInt8>, LineInfo) -> Void) {
        var start = 0
        var number = 0
        while start < bytes.count {
            number += 1
            if let nl = bytes[start...].firstIndex(of: 0x0A) {
                body(bytes[start..<nl], LineInfo(number: number, terminated: true, isLastLine: nl + 1 == bytes.count))
                start = nl + 1
            } else {
                body(bytes[start...], LineInfo(number: number, terminated: false, isLastLine: true))
                return
            }
        }
    }

    /// The seq of the first line that parses as a record (used only to order files).
    static func firstSeq(_ bytes: [UInt8]) -> UInt64? {
        var found: UInt64?
        forEachLine(bytes) { line, info in
            if found == nil, info.terminated, let s = quickSeq(line) { found = s }
        }
        return found
    }

    /// `seq` of a line that is at least JSON with an integer `seq`.
    static func quickSeq(_ line: ArraySlice<UInt8>) -> UInt64? {
        guard let v = try? CanonicalJSON.parse(line), let s = v.objectValue?["seq"]?.intValue, s > 0 else { return nil }
        return UInt64(s)
    }
}
