#!/usr/bin/env python3
"""Regenerates the committed seed corpus under Tests/Fuzz/corpus/<target>/.

Small, meaningful seeds: a valid frame of every kind (docs/protocol.md, "Frame format"), channel
scripts, host calls of every known function, the shipped policies, tiny wasm modules (hand-assembled
equivalents of small WAT programs). The audit-log seeds are produced by the real AuditLog: see
run.sh --seed-audit (FuzzAuditVerifier writes a valid log when CORDON_FUZZ_WRITE_SEED is set).
"""
import os, struct, shutil, glob, sys

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(ROOT, "..", ".."))
CORPUS = os.path.join(ROOT, "corpus")

def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

u8 = lambda v: struct.pack("<B", v)
u16 = lambda v: struct.pack("<H", v)
u32 = lambda v: struct.pack("<I", v & 0xFFFFFFFF)
i32 = lambda v: struct.pack("<i", v)
u64 = lambda v: struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)
i64 = lambda v: struct.pack("<q", v)
def s(text): b = text.encode(); return u32(len(b)) + b
def blob(b): return u32(len(b)) + b

KINDS = dict(hello=1, loaded=2, loadFailed=3, callOutcome=4, hostCall=5, log=6, violation=7, output=8, cleanupFailed=9,
             listenerTaken=0x10, bootstrap=0x11, call=0x12, hostReply=0x13, shutdown=0x14, moduleChunk=0x15, heartbeat=0x20)

def frame(kind, payload, call_id=0):
    return bytes([0xC0, 1, KINDS[kind], 0]) + u32(call_id) + u32(len(payload)) + payload

I32, I64, F32, F64 = 0x7F, 0x7E, 0x7D, 0x7C
# The WASI tail of a bootstrap: no args, env or preopens; 1 us clock resolution; a zero seed; 1 MiB output.
WASI_DEFAULT = u32(0) + u32(0) + u32(0) + u64(1000) + blob(bytes(32)) + u32(1 << 20)
def types(ts): return u32(len(ts)) + bytes(ts)

frames = {
    "hello": frame("hello", u16(1) + i32(1) + u32(100001) + i32(-1) + u32(3) + s("namespace.net") + s("rlimits") + s("seccomp")),
    "loaded": frame("loaded", u32(1) + u32(2) + s("add") + types([I32, I32]) + types([I32]) + s("run") + types([]) + types([I64, F32, F64])),
    "loadFailed": frame("loadFailed", u8(2) + s("type mismatch in function 0")),
    "callOutcome-values": frame("callOutcome", u64(1234) + u32(3) + u64(0) + u8(0) + u32(4) + u8(I32) + u32(5) + u8(I64) + u64(7) + u8(F32) + u32(0x3F800000) + u8(F64) + u64(0x7FF8000000000001), 7),
    "callOutcome-bytes": frame("callOutcome", u64(99) + u32(1) + u64(0) + u8(1) + blob(b"hello bytes"), 8),
    "callOutcome-trap": frame("callOutcome", u64(5) + u32(0) + u64(0) + u8(2) + u8(1) + s("unreachable executed"), 9),
    "callOutcome-exited": frame("callOutcome", u64(5) + u32(1) + u64(12) + u8(3) + i32(2), 10),
    "output": frame("output", u8(1) + blob(b"hello, stdout\n"), 10),
    "hostCall": frame("hostCall", s("host_log") + u32(1) + i64(2) + u32(1) + blob(b"hi from guest"), 3),
    "log": frame("log", u8(2) + s("a worker diagnostic")),
    "violation": frame("violation", i32(41) + u32(0xC000003E)),
    "cleanupFailed": frame("cleanupFailed", s("cordon_cleanup: unreachable")),
    "listenerTaken": frame("listenerTaken", b""),
    "bootstrap": frame("bootstrap", u32(256) + u32(1024) + u64(1000000) + u32(8) + u32(65536) + u32(20000) + u64(8) + u32(2) + s("my_fn") + s("other") + u32(1000) + WASI_DEFAULT + u8(0)),
    "bootstrap-wasi": frame("bootstrap", u32(256) + u32(1024) + u64(1000000) + u32(8) + u32(65536) + u32(20000) + u64(8) + u32(0) + u32(0)
                            + u32(2) + s("prog") + s("--flag") + u32(1) + s("HOME=/") + u32(1) + s("/data") + u64(1000000) + blob(bytes(range(32))) + u32(4096) + u8(1)),
    "moduleChunk": frame("moduleChunk", blob(b"\0asm\1\0\0\0")),
    "call": frame("call", u64(1000000) + s("add") + u32(2) + u8(I32) + u32(2) + u8(I32) + u32(3) + u8(0) + blob(b""), 11),
    "call-bytes": frame("call", u64(1000000) + s("process") + u32(0) + u8(1) + blob(b"input") + blob(b""), 12),
    "call-stdin": frame("call", u64(0) + s("_start") + u32(0) + u8(0) + blob(b"line one\nline two\n"), 13),
    "hostReply": frame("hostReply", i64(5) + blob(b"value"), 3),
    "shutdown": frame("shutdown", b""),
    "heartbeat": frame("heartbeat", u64(42)),
}

# FuzzFrameDecoder: mode byte 0x00 = one frame; 0x80 = script (see the harness header).
for name, f in frames.items():
    put("FuzzFrameDecoder", "frame-" + name, b"\x00" + f)
def script_records(fs, drain_each=True):
    out = b""
    for f in fs:
        out += u8(4) + u16(len(f)) + f + (u8(2) if drain_each else b"")
    return out
worker_frames = [frames[k] for k in ("hello", "loaded", "output", "callOutcome-values", "hostCall", "log", "violation", "heartbeat")]
put("FuzzFrameDecoder", "script-worker-session", b"\x80" + script_records(worker_frames))
put("FuzzFrameDecoder", "script-batched", b"\x80" + script_records(worker_frames, drain_each=False) + u8(2))
# Wrap-around: many records so the ring's 4 KiB wraps, then a drain.
put("FuzzFrameDecoder", "script-wrap", b"\x80" + script_records([frames["callOutcome-bytes"]] * 120))
put("FuzzFrameDecoder", "script-tail-back", b"\x80" + script_records([frames["log"]]) + u8(0) + u64(0) + u8(2))
put("FuzzFrameDecoder", "script-closed", b"\x80" + script_records([frames["log"]], False) + u8(6) + u8(2))
# Overlay: a header as the host wrote it, w2h tail 24, one record in the w2h ring.
header = bytearray(4096)
header[0:4] = u32(0x4E445243); header[4:8] = u32(1); header[8:16] = u64(4096); header[16:24] = u64(2048)
rec = u32(len(frames["heartbeat"])) + frames["heartbeat"]
rec += b"\0" * (-len(rec) % 8)
header[192:200] = u64(len(rec))
put("FuzzFrameDecoder", "overlay-one-record", b"\x40" + bytes(header) + bytes(4096) + rec)

# FuzzHostCallDecoding: structured seeds (see the harness header) and whole hostCall frames.
known = sorted(["host_log", "host_get_config", "host_set_config", "host_send_message", "host_receive_message",
                "host_call_tool", "host_storage_get", "host_storage_set", "host_storage_delete",
                "host_random_bytes", "host_now_ms", "host_sleep_ms"])
shapes = {  # function: (integers, blobs)
    "host_log": ([2], [b"hello"]), "host_get_config": ([64], [b"k"]), "host_set_config": ([], [b"k", b"v"]),
    "host_send_message": ([], [b"peer", b"payload"]), "host_receive_message": ([1024], []),
    "host_call_tool": ([256], [b"echo", b"args"]), "host_storage_get": ([32], [b"key"]),
    "host_storage_set": ([], [b"key", b"value"]), "host_storage_delete": ([], [b"key"]),
    "host_random_bytes": ([16], []), "host_now_ms": ([], []), "host_sleep_ms": ([1], []),
}
def structured(selector, ints, blobs, max_output=65536, custom=b""):
    out = u8(selector) + (u8(len(custom)) + custom if selector >= 0xA0 else b"") + u32(max_output)
    out += u8(len(ints)) + b"".join(i64(i) for i in ints) + u8(len(blobs))
    out += b"".join(u16(len(b)) + b for b in blobs)
    return out
for idx, fn in enumerate(known):
    ints, blobs = shapes[fn]
    put("FuzzHostCallDecoding", "call-" + fn, structured(idx, ints, blobs))
    payload = s(fn) + u32(len(ints)) + b"".join(i64(i) for i in ints) + u32(len(blobs)) + b"".join(blob(b) for b in blobs)
    put("FuzzHostCallDecoding", "frame-" + fn, frame("hostCall", payload, 1))
put("FuzzHostCallDecoding", "custom-fn", structured(0xA0, [128], [b"input"], custom=b"my_custom_fn"))
put("FuzzHostCallDecoding", "bad-utf8-key", structured(known.index("host_storage_get"), [8], [b"\xff\xfe"]))
put("FuzzHostCallDecoding", "negative-capacity", structured(known.index("host_get_config"), [-1], [b"k"]))
put("FuzzHostCallDecoding", "random-too-large", structured(known.index("host_random_bytes"), [1 << 30], [], max_output=1024))

# FuzzPolicyParser: the shipped policies plus a few small edits.
for path in sorted(glob.glob(os.path.join(REPO, "policies", "*.json"))):
    with open(path, "rb") as f:
        put("FuzzPolicyParser", os.path.basename(path), f.read())
# Docker's current default profile (Tests/Fixtures/seccomp/moby-default.json, Apache-2.0, see the README
# there): bare (SeccompProfile.parse) and as the seccomp section of a policy. It allows syscalls
# libseccomp 2.5.4 does not know, which the parser skips and records.
import json
with open(os.path.join(REPO, "Tests", "Fixtures", "seccomp", "moby-default.json"), "rb") as f:
    moby = f.read()
put("FuzzPolicyParser", "moby-default-bare.json", moby)
with open(os.path.join(REPO, "policies", "docker-default-compatible.json")) as f:
    composed = json.load(f)
composed["name"] = "moby-default"
composed["seccomp"] = json.loads(moby)
put("FuzzPolicyParser", "moby-default-policy.json", json.dumps(composed, indent=1).encode())
# A policy with every optional section: `wasi`, and requireSpeculationControl (the confinement plan v2
# option bit) with allowDegraded namespaces.
with open(os.path.join(REPO, "policies", "default.json")) as f:
    full = json.load(f)
full["name"] = "full-options"
full["wasi"] = {"maxOpenFiles": 16, "maxWriteBytesPerCall": 65536, "maxOutputBytes": 1048576,
                "clockResolutionNanoseconds": 1000, "donateReadOnlyFiles": False}
full["requireSpeculationControl"] = True
full["namespaces"]["allowDegraded"] = True
put("FuzzPolicyParser", "wasi-and-plan-v2-options.json", json.dumps(full, indent=1).encode())
put("FuzzPolicyParser", "empty-object.json", b"{}")
put("FuzzPolicyParser", "deep.json", b"[" * 64 + b"]" * 64)
put("FuzzPolicyParser", "numbers.json", b'{"a": -0, "b": 1e309, "c": 18446744073709551616, "d": "\\ud800"}')

# FuzzModuleLoading: tiny wasm modules (section-by-section encodings of small WAT programs).
def leb(n):
    out = bytearray()
    while True:
        b = n & 0x7F; n >>= 7
        if n: out.append(b | 0x80)
        else: out.append(b); return bytes(out)
def sleb(n):
    out = bytearray()
    while True:
        b = n & 0x7F; n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40): out.append(b); return bytes(out)
        out.append(b | 0x80)
def vec(items): return leb(len(items)) + b"".join(items)
def name(t): return leb(len(t)) + t.encode()
def section(sid, body): return bytes([sid]) + leb(len(body)) + body
def functype(params, results): return b"\x60" + vec([bytes([p]) for p in params]) + vec([bytes([r]) for r in results])
def code(body, locals_=b"\x00"): b = locals_ + body + b"\x0b"; return leb(len(b)) + b
def module(types_, funcs, exports, bodies, imports=(), memory=None, start=None, data=()):
    m = b"\0asm\1\0\0\0" + section(1, vec(list(types_)))
    if imports: m += section(2, vec(list(imports)))
    m += section(3, vec([leb(t) for t in funcs]))
    if memory is not None: m += section(5, vec([b"\x00" + leb(memory)]))
    m += section(7, vec([name(n) + bytes([k]) + leb(i) for n, k, i in exports]))
    if start is not None: m += section(8, leb(start))
    m += section(10, vec([code(b) for b in bodies]))
    if data: m += section(11, vec([b"\x00\x41" + sleb(off) + b"\x0b" + vec([bytes([c]) for c in d]) for off, d in data]))
    return m
put("FuzzModuleLoading", "empty.wasm", b"\0asm\1\0\0\0")
put("FuzzModuleLoading", "add.wasm", module([functype([I32, I32], [I32])], [0], [("add", 0, 0)], [b"\x20\x00\x20\x01\x6a"]))
put("FuzzModuleLoading", "spin.wasm", module([functype([], [])], [0], [("spin", 0, 0)], [b"\x03\x40\x0c\x00\x0b"]))
put("FuzzModuleLoading", "trap.wasm", module([functype([], [])], [0], [("boom", 0, 0)], [b"\x00"]))
put("FuzzModuleLoading", "recurse.wasm", module([functype([], [])], [0], [("rec", 0, 0)], [b"\x10\x00"]))
put("FuzzModuleLoading", "grow.wasm", module([functype([], [])], [0], [("grow", 0, 0)],
    [b"\x03\x40\x41\x01\x40\x00\x1a\x0c\x00\x0b"], memory=1))
put("FuzzModuleLoading", "start-trap.wasm", module([functype([], [])], [0], [("f", 0, 0)], [b"\x00"], start=0))
put("FuzzModuleLoading", "data.wasm", module([functype([], [I32])], [0], [("mem", 2, 0), ("load", 0, 0)],
    [b"\x41\x00\x28\x02\x00"], memory=1, data=[(0, b"\x2a\0\0\0")]))
imp = name("env") + name("host_log") + b"\x00" + leb(1)
put("FuzzModuleLoading", "host-log.wasm", module([functype([], []), functype([I32, I32, I32], [I32])], [0],
    [("run", 0, 1), ("memory", 2, 0)], [b"\x41\x02\x41\x00\x41\x05\x10\x00\x1a"], imports=[imp], memory=1,
    data=[(0, b"hello")]))
print("seeds written to", CORPUS)
