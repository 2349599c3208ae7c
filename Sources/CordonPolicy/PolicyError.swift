import Glibc

/// Why a policy file was rejected: the file, the exact JSON path, and a typed reason.
public struct PolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The typed cause of a `PolicyError`.
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// A key that this section does not define (Cordon sections and the OCI seccomp shape are closed).
        case unknownKey(String)
        /// A syscall name libseccomp 2.5 cannot resolve on any architecture it knows, in a rule that
        /// does not allow it (an allow rule under a denying default skips it instead).
        case unknownSyscall(String)
        /// An action that is not one of the SCMP_ACT_* names.
        case unknownAction(String)
        /// A comparison operator that is not one of the SCMP_CMP_* names.
        case unknownOp(String)
        /// An architecture name libseccomp does not know.
        case unknownArchitecture(String)
        /// A string that is not one of the values this key accepts (e.g. a namespace mode).
        case unknownValue(String, allowed: [String])
        /// The JSON value has the wrong kind.
        case wrongType(expected: JSONKind, found: JSONKind)
        /// A key (or a value that must be unique, e.g. an arg index) appears twice.
        case duplicate(String)
        /// A number outside its documented range; `value` is the literal text from the file.
        case outOfRange(value: String, range: ClosedRange<UInt64>)
        /// A required key is absent.
        case missing(key: String)
        /// The bytes are not JSON.
        case invalidJSON(JSONSyntaxError, offset: Int, line: Int, column: Int)
        /// A valid field that Cordon deliberately refuses (e.g. an allow-by-default filter).
        case unsupported(Unsupported)
        /// Two fields contradict each other (e.g. a soft limit above its hard limit).
        case inconsistent(Inconsistency)
        /// The file could not be read.
        case unreadable(errno: Int32)
        /// The file exceeds `SandboxPolicy.maxFileBytes`.
        case tooLarge(bytes: Int)

        public var description: String {
            switch self {
            case .unknownKey(let k): "unknown key \"\(k)\""
            case .unknownSyscall(let n): "unknown syscall \"\(n)\" (libseccomp cannot resolve it; only a rule that allows it under a denying default may name it, and is then skipped)"
            case .unknownAction(let a): "unknown action \"\(a)\""
            case .unknownOp(let o): "unknown operator \"\(o)\""
            case .unknownArchitecture(let a): "unknown architecture \"\(a)\""
            case .unknownValue(let v, let allowed): "unknown value \"\(v)\" (allowed: \(allowed.joined(separator: ", ")))"
            case .wrongType(let e, let f): "expected \(e.rawValue), found \(f.rawValue)"
            case .duplicate(let k): "duplicate \"\(k)\""
            case .outOfRange(let v, let r): "\(v) is out of range \(r.lowerBound)...\(r.upperBound)"
            case .missing(let k): "missing required key \"\(k)\""
            case .invalidJSON(let e, let off, let line, let col): "invalid JSON at line \(line), column \(col) (byte \(off)): \(e)"
            case .unsupported(let u): "unsupported: \(u)"
            case .inconsistent(let i): "inconsistent: \(i)"
            case .unreadable(let e): "cannot read file: \(String(cString: strerror(e))) (errno \(e))"
            case .tooLarge(let n): "file is \(n) bytes; the limit is \(SandboxPolicy.maxFileBytes)"
            }
        }
    }

    /// Fields Cordon parses but refuses to honour.
    public enum Unsupported: String, Sendable, Hashable, CustomStringConvertible {
        case permissiveDefaultAction = "a Cordon policy's seccomp.defaultAction must deny (KILL*, TRAP, ERRNO, NOTIFY), not ALLOW/LOG/TRACE"
        case listenerPath = "listenerPath/listenerMetadata: Cordon's supervisor is the only notification listener"
        case filterFlag = "this seccomp filter flag weakens the filter or is unknown"
        case errnoRetWithoutErrno = "errnoRet is only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"
        public var description: String { rawValue }
    }

    /// Contradictions between fields.
    public enum Inconsistency: String, Sendable, Hashable, CustomStringConvertible {
        case softAboveHard = "soft limit is above the hard limit"
        case uidRangeIncludesReserved = "uid range must not include 0 or the overflow id 65534"
        case uidRangeOverflows = "uidRangeStart + uidRangeCount exceeds 2^32 - 2"
        case fixedGidRequired = "gidStrategy \"fixed\" requires fixedGid"
        case fixedGidForbidden = "fixedGid is only allowed with gidStrategy \"fixed\""
        case emptyNames = "a syscall rule needs at least one name"
        case tooManyArgs = "a syscall rule has at most 6 args"
        public var description: String { rawValue }
    }

    /// The file the policy came from (or a label such as "<builtin default>").
    public var file: String
    /// JSON path of the offending value, e.g. `$.seccomp.syscalls[3].names[1]`.
    public var path: String
    public var reason: Reason

    public init(file: String, path: String, reason: Reason) {
        self.file = file
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(file): \(path): \(reason)" }
}
