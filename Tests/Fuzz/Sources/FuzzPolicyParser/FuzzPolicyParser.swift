// libFuzzer target: SandboxPolicy.parse on arbitrary bytes (what a careless operator writes), and
// everything the supervisor then derives from an ACCEPTED policy, so a policy that parses can never
// crash the supervisor later:
//   - ResourceLimits(policy:) (integer conversions of every limit),
//   - PolicyCompiler.compile for the namespace attempts the spawner would try, at the highest uid
//     slot the policy allows (uid arithmetic), → ConfinementPlan.encoded() → decode round trip,
//   - SeccompProfile.parse on the same bytes (the bare OCI profile entry point).
// Properties: no crash / ASan report; errors are typed (PolicyError / JailError); an accepted policy
// re-parses identically from the same bytes (determinism), its canonical JSON parses back to it, and
// its plan round-trips.
import Cordon
import CordonJail
import CordonPolicy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? SeccompProfile.parse(bytes, file: "fuzz.json")
    let policy: SandboxPolicy
    do throws(PolicyError) {
        policy = try SandboxPolicy.parse(bytes, file: "fuzz.json")
    } catch {
        _ = error.description
        return 0
    }
    guard let again = try? SandboxPolicy.parse(bytes, file: "fuzz.json"), again == policy else {
        fatalError("accepted policy does not re-parse to the same value")
    }
    // The canonical form (what policy_sha256 hashes) loses nothing and is a fixed point.
    let canonical = policy.canonicalJSON
    guard let reparsed = try? SandboxPolicy.parse(canonical, file: "canonical.json"), reparsed == policy,
          reparsed.canonicalJSON == canonical else {
        fatalError("canonical form does not round-trip: \(String(decoding: canonical, as: UTF8.self))")
    }
    _ = ResourceLimits(policy: policy)
    let slot = policy.identity.uidRangeCount == 0 ? 0 : policy.identity.uidRangeCount - 1
    for attempt in NamespacePlanner.attempts(for: policy.namespaces, runningAsRoot: true).prefix(2) {
        do throws(JailError) {
            let plan = try PolicyCompiler.compile(policy, slot: slot, supervisorPID: 1, createdNamespaces: attempt,
                                                  runningAsRoot: true)
            let decoded = try ConfinementPlan.decode(plan.encoded())
            guard decoded == plan else { fatalError("confinement plan does not round-trip") }
        } catch {
            _ = error.description
        }
    }
    return 0
}
