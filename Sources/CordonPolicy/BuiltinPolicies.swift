// GENERATED from policies/default.json and policies/strict.json — keep byte-identical.
// A test (BuiltinPolicyTests) compares these strings with the files; regenerate, never hand-edit.

public extension SandboxPolicy {
    /// The exact bytes of policies/default.json.
    static var defaultJSON: String { BuiltinPolicyText.defaultJSON }
    /// The exact bytes of policies/strict.json.
    static var strictJSON: String { BuiltinPolicyText.strictJSON }

    /// policies/default.json, parsed once (it is validated by tests, so a failure here is a build defect).
    static var builtinDefault: SandboxPolicy { BuiltinPolicyText.defaultPolicy }
    /// policies/strict.json, parsed.
    static var builtinStrict: SandboxPolicy { BuiltinPolicyText.strictPolicy }
}

/// Holder of the embedded policy texts.
enum BuiltinPolicyText {
    // Parsed once: a load that takes the default policy must not re-parse 10 KiB of JSON.
    static let defaultPolicy = parsed(defaultJSON, "<builtin default>")
    static let strictPolicy = parsed(strictJSON, "<builtin strict>")

    static func parsed(_ text: String, _ label: String) -> SandboxPolicy {
        do { return try SandboxPolicy.parse(Array(text.utf8), file: label) }
        catch { fatalError("embedded policy is invalid: \(error)") }
    }

    static let defaultJSON = #"""
{
  "name": "default",
  "seccomp": {
    "defaultAction": "SCMP_ACT_NOTIFY",
    "syscalls": [
      {
        "names": [
          "futex"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "FUTEX_WAIT, with or without PRIVATE/CLOCK_REALTIME (low 32 bits: the kernel reads an int)",
        "args": [
          {
            "index": 1,
            "value": 4294966911,
            "valueTwo": 0,
            "op": "SCMP_CMP_MASKED_EQ"
          }
        ]
      },
      {
        "names": [
          "futex"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "FUTEX_WAKE, with or without PRIVATE/CLOCK_REALTIME (low 32 bits: the kernel reads an int)",
        "args": [
          {
            "index": 1,
            "value": 4294966911,
            "valueTwo": 1,
            "op": "SCMP_CMP_MASKED_EQ"
          }
        ]
      },
      {
        "names": [
          "mmap",
          "mprotect"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "no PROT_EXEC: no new machine code",
        "args": [
          {
            "index": 2,
            "value": 4,
            "valueTwo": 0,
            "op": "SCMP_CMP_MASKED_EQ"
          }
        ]
      },
      {
        "names": [
          "write"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "fd 2: stderr (a pipe to the supervisor)",
        "args": [
          {
            "index": 0,
            "value": 2,
            "op": "SCMP_CMP_EQ"
          }
        ]
      },
      {
        "names": [
          "write"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "fd 4: the doorbell eventfd",
        "args": [
          {
            "index": 0,
            "value": 4,
            "op": "SCMP_CMP_EQ"
          }
        ]
      },
      {
        "names": [
          "munmap",
          "brk"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "memory management without exec"
      },
      {
        "names": [
          "mremap"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "flags 0 or MREMAP_MAYMOVE (realloc of an mmapped chunk): no MREMAP_FIXED, no MREMAP_DONTUNMAP",
        "args": [
          {
            "index": 3,
            "value": 4294967294,
            "valueTwo": 0,
            "op": "SCMP_CMP_MASKED_EQ"
          }
        ]
      },
      {
        "names": [
          "madvise"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "MADV_DONTNEED: malloc trimming and the idle release of code pages (low 32 bits: the kernel reads an int)",
        "args": [
          {
            "index": 2,
            "value": 4294967295,
            "valueTwo": 4,
            "op": "SCMP_CMP_MASKED_EQ"
          }
        ]
      },
      {
        "names": [
          "madvise"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "MADV_FREE: lazy release; never MERGEABLE (KSM page sharing is a side channel) nor COLLAPSE/POPULATE",
        "args": [
          {
            "index": 2,
            "value": 4294967295,
            "valueTwo": 8,
            "op": "SCMP_CMP_MASKED_EQ"
          }
        ]
      },
      {
        "names": [
          "exit",
          "exit_group",
          "restart_syscall",
          "rt_sigreturn",
          "rt_sigprocmask",
          "sigaltstack"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "exit and signal return"
      },
      {
        "names": [
          "getpid",
          "gettid",
          "getppid"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "identity queries (namespace-relative)"
      },
      {
        "names": [
          "clock_gettime",
          "clock_getres",
          "gettimeofday"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "vDSO fallbacks"
      },
      {
        "names": [
          "getrandom",
          "sched_yield",
          "close"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "hash seeds, spin back-off, fd hygiene"
      }
    ]
  },
  "rlimits": {
    "addressSpaceBytes": 4294967296,
    "cpuSecondsSoft": 60,
    "cpuSecondsHard": 65,
    "openFiles": 32,
    "processes": 0,
    "fileSizeBytes": 0,
    "coreBytes": 0,
    "lockedMemoryBytes": 0,
    "stackBytes": 8388608
  },
  "namespaces": {
    "user": "optional",
    "mount": "optional",
    "network": "optional",
    "ipc": "optional",
    "uts": "optional",
    "pid": "optional",
    "cgroup": "optional"
  },
  "identity": {
    "uidRangeStart": 200000,
    "uidRangeCount": 1000,
    "gidStrategy": "perSlot"
  },
  "wasm": {
    "maxMemoryPages": 4096,
    "maxTableElements": 100000,
    "maxFuelPerCall": 1000000000,
    "maxCallDepth": 20000,
    "maxReentryDepth": 4,
    "maxModuleBytes": 67108864
  },
  "limits": {
    "maxWallTimeMillisecondsPerCall": 5000,
    "maxCPUSecondsPerWorker": 60,
    "maxHostCallsPerSecond": 10000,
    "maxHostCallsPerCall": 1000,
    "maxHostCallBytes": 1048576,
    "maxMessageBytes": 4194304,
    "maxLogBytesPerSecond": 65536
  }
}

"""#

    static let strictJSON = #"""
{
  "name": "strict",
  "seccomp": {
    "defaultAction": "SCMP_ACT_NOTIFY",
    "syscalls": [
      {
        "names": [
          "futex"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "FUTEX_WAIT, with or without PRIVATE/CLOCK_REALTIME (low 32 bits: the kernel reads an int)",
        "args": [
          {
            "index": 1,
            "value": 4294966911,
            "valueTwo": 0,
            "op": "SCMP_CMP_MASKED_EQ"
          }
        ]
      },
      {
        "names": [
          "futex"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "FUTEX_WAKE, with or without PRIVATE/CLOCK_REALTIME (low 32 bits: the kernel reads an int)",
        "args": [
          {
            "index": 1,
            "value": 4294966911,
            "valueTwo": 1,
            "op": "SCMP_CMP_MASKED_EQ"
          }
        ]
      },
      {
        "names": [
          "mmap",
          "mprotect"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "no PROT_EXEC: no new machine code",
        "args": [
          {
            "index": 2,
            "value": 4,
            "valueTwo": 0,
            "op": "SCMP_CMP_MASKED_EQ"
          }
        ]
      },
      {
        "names": [
          "write"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "fd 2: stderr (a pipe to the supervisor)",
        "args": [
          {
            "index": 0,
            "value": 2,
            "op": "SCMP_CMP_EQ"
          }
        ]
      },
      {
        "names": [
          "write"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "fd 4: the doorbell eventfd",
        "args": [
          {
            "index": 0,
            "value": 4,
            "op": "SCMP_CMP_EQ"
          }
        ]
      },
      {
        "names": [
          "munmap",
          "brk"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "memory management without exec"
      },
      {
        "names": [
          "mremap"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "flags 0 or MREMAP_MAYMOVE (realloc of an mmapped chunk): no MREMAP_FIXED, no MREMAP_DONTUNMAP",
        "args": [
          {
            "index": 3,
            "value": 4294967294,
            "valueTwo": 0,
            "op": "SCMP_CMP_MASKED_EQ"
          }
        ]
      },
      {
        "names": [
          "madvise"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "MADV_DONTNEED: malloc trimming and the idle release of code pages (low 32 bits: the kernel reads an int)",
        "args": [
          {
            "index": 2,
            "value": 4294967295,
            "valueTwo": 4,
            "op": "SCMP_CMP_MASKED_EQ"
          }
        ]
      },
      {
        "names": [
          "madvise"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "MADV_FREE: lazy release; never MERGEABLE (KSM page sharing is a side channel) nor COLLAPSE/POPULATE",
        "args": [
          {
            "index": 2,
            "value": 4294967295,
            "valueTwo": 8,
            "op": "SCMP_CMP_MASKED_EQ"
          }
        ]
      },
      {
        "names": [
          "exit",
          "exit_group",
          "restart_syscall",
          "rt_sigreturn",
          "rt_sigprocmask",
          "sigaltstack"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "exit and signal return"
      },
      {
        "names": [
          "getpid",
          "gettid",
          "getppid"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "identity queries (namespace-relative)"
      },
      {
        "names": [
          "clock_gettime",
          "clock_getres",
          "gettimeofday"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "vDSO fallbacks"
      },
      {
        "names": [
          "getrandom",
          "sched_yield",
          "close"
        ],
        "action": "SCMP_ACT_ALLOW",
        "comment": "hash seeds, spin back-off, fd hygiene"
      }
    ]
  },
  "rlimits": {
    "addressSpaceBytes": 1073741824,
    "cpuSecondsSoft": 10,
    "cpuSecondsHard": 12,
    "openFiles": 16,
    "processes": 0,
    "fileSizeBytes": 0,
    "coreBytes": 0,
    "lockedMemoryBytes": 0,
    "stackBytes": 8388608
  },
  "namespaces": {
    "user": "required",
    "mount": "required",
    "network": "required",
    "ipc": "required",
    "uts": "required",
    "pid": "required",
    "cgroup": "required"
  },
  "identity": {
    "uidRangeStart": 300000,
    "uidRangeCount": 256,
    "gidStrategy": "perSlot"
  },
  "wasm": {
    "maxMemoryPages": 1024,
    "maxTableElements": 10000,
    "maxFuelPerCall": 100000000,
    "maxCallDepth": 2000,
    "maxReentryDepth": 2,
    "maxModuleBytes": 16777216
  },
  "limits": {
    "maxWallTimeMillisecondsPerCall": 1000,
    "maxCPUSecondsPerWorker": 10,
    "maxHostCallsPerSecond": 1000,
    "maxHostCallsPerCall": 100,
    "maxHostCallBytes": 65536,
    "maxMessageBytes": 1048576,
    "maxLogBytesPerSecond": 4096
  },
  "wasi": {
    "donateReadOnlyFiles": false
  },
  "mitigateSpeculativeStoreBypass": true
}

"""#
}
