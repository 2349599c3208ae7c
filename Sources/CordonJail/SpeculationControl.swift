import CCordonShims
import Glibc

/// A speculative-execution misfeature the worker turns off for itself with
/// `prctl(PR_SET_SPECULATION_CTRL, which, PR_SPEC_FORCE_DISABLE)` (Documentation/userspace-api/spec_ctrl.rst).
///
/// The kernel answers ENXIO when the mitigation is not per-task controllable here (booted `off`, or
/// `on` for everyone), ENODEV/EINVAL when it does not know the control; the state that counts is what
/// `PR_GET_SPECULATION_CTRL` reports afterwards. The layer is achieved when the CPU is not affected or
/// speculation is disabled for this task (by us or globally); otherwise it is missing from the hello,
/// and the step fails only when the plan requires it.
public enum SpeculationControl: CaseIterable, Sendable {
    /// Speculative Store Bypass (Spectre v4): loads speculatively bypassing older stores.
    case storeBypass
    /// Indirect-branch speculation (Spectre v2 user-to-user, via STIBP/IBPB for this task).
    case indirectBranch

    static let setCtrl: Int32 = 53          // PR_SET_SPECULATION_CTRL
    static let getCtrl: Int32 = 52          // PR_GET_SPECULATION_CTRL
    static let disableBit: Int32 = 1 << 2   // PR_SPEC_DISABLE
    static let forceDisableBit: Int32 = 1 << 3 // PR_SPEC_FORCE_DISABLE

    /// PR_SPEC_STORE_BYPASS / PR_SPEC_INDIRECT_BRANCH.
    var which: UInt {
        switch self {
        case .storeBypass: 0
        case .indirectBranch: 1
        }
    }

    /// What step 5b turns off: indirect-branch speculation always (it crosses tasks), store bypass
    /// only when the policy asks (it leaks only within the worker's own address space).
    public static func applied(mitigatingStoreBypass: Bool) -> [SpeculationControl] {
        mitigatingStoreBypass ? [.storeBypass, .indirectBranch] : [.indirectBranch]
    }

    /// The layer name in the hello and in `layers_requested` / `layers_achieved`.
    public var layer: String {
        switch self {
        case .storeBypass: "speculation.store-bypass"
        case .indirectBranch: "speculation.indirect-branch"
        }
    }

    /// Force-disables this speculation for the calling process. Returns the layer when speculation
    /// is off for this task afterwards (or the CPU is not affected), nil when it stays on and `required`
    /// is false; throws when it stays on and `required` is true, or on an unexpected errno.
    func forceDisable(required: Bool) throws(JailError) -> String? {
        let set = cordon_prctl(Self.setCtrl, which, UInt(Self.forceDisableBit), 0, 0)
        let setErrno = set == 0 ? 0 : errno
        // ENXIO: not controllable per task; ENODEV/EINVAL: the kernel or CPU lacks the control.
        if set != 0, ![ENXIO, ENODEV, EINVAL].contains(setErrno) {
            throw JailError(step: .speculation, errno: setErrno, detail: "prctl(PR_SET_SPECULATION_CTRL, \(layer), PR_SPEC_FORCE_DISABLE)")
        }
        let state = cordon_prctl(Self.getCtrl, which, 0, 0, 0)
        let off = state == 0 /* PR_SPEC_NOT_AFFECTED */ || (state > 0 && state & (Self.disableBit | Self.forceDisableBit) != 0)
        if off { return layer }
        guard required else { return nil }
        let why = state < 0 ? "PR_GET_SPECULATION_CTRL failed" : "speculation still enabled (state 0x\(String(state, radix: 16)))"
        throw JailError(step: .speculation, errno: setErrno != 0 ? setErrno : (state < 0 ? errno : EPERM),
                        detail: "\(layer): \(why); the policy requires it (\"requireSpeculationControl\": true)")
    }
}
