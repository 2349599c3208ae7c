/// WAT sources of the plugins the supervisor tests load. Each is small and does one thing.
enum Plugins {
    /// Calls each host function and returns its status; `key` is at offset 0 ("greeting", 8 bytes).
    static let hostCalls = """
    (module
      (import "env" "host_get_config" (func $get_config (param i32 i32 i32 i32) (result i32)))
      (import "env" "host_storage_set" (func $storage_set (param i32 i32 i32 i32) (result i32)))
      (import "env" "host_storage_get" (func $storage_get (param i32 i32 i32 i32) (result i32)))
      (import "env" "host_send_message" (func $send (param i32 i32 i32 i32) (result i32)))
      (import "env" "host_random_bytes" (func $random (param i32 i32) (result i32)))
      (import "env" "host_now_ms" (func $now (result i64)))
      (import "env" "host_log" (func $log (param i32 i32 i32)))
      (import "env" "host_call_tool" (func $tool (param i32 i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "greeting")
      (data (i32.const 16) "hello from the guest")
      (data (i32.const 48) "upper")
      ;; get_config("greeting") into [256, 256+64): returns the length or an error code
      (func (export "get_config") (result i32)
        (call $get_config (i32.const 0) (i32.const 8) (i32.const 256) (i32.const 64)))
      ;; first byte of the value read back, to prove bytes were written
      (func (export "config_first_byte") (result i32) (i32.load8_u (i32.const 256)))
      (func (export "storage_roundtrip") (result i32)
        (drop (call $storage_set (i32.const 0) (i32.const 8) (i32.const 16) (i32.const 20)))
        (call $storage_get (i32.const 0) (i32.const 8) (i32.const 512) (i32.const 64)))
      (func (export "send") (result i32)
        (call $send (i32.const 0) (i32.const 8) (i32.const 16) (i32.const 20)))
      (func (export "random") (result i32) (call $random (i32.const 600) (i32.const 32)))
      (func (export "now") (result i64) (call $now))
      (func (export "log") (call $log (i32.const 2) (i32.const 16) (i32.const 20)))
      (func (export "tool") (result i32)
        (call $tool (i32.const 48) (i32.const 5) (i32.const 16) (i32.const 5) (i32.const 700) (i32.const 64)))
      (func (export "tool_byte") (result i32) (i32.load8_u (i32.const 700)))
      ;; a (ptr, len) far outside memory: must come back as -3, not crash anything
      (func (export "out_of_bounds") (result i32)
        (call $get_config (i32.const 0xFFFFFFF0) (i32.const 64) (i32.const 256) (i32.const 64)))
      (func (export "huge_log") (call $log (i32.const 2) (i32.const 0) (i32.const 65536)))
      (func (export "huge_log_status") (result i32)
        (call $get_config (i32.const 0) (i32.const 65536) (i32.const 256) (i32.const 64)))
      ;; call now() n times; count the calls that were rate limited
      (func (export "flood") (param $n i32) (result i32) (local $limited i32)
        (block $done (loop $again
          (br_if $done (i32.eqz (local.get $n)))
          (if (i32.eq (call $random (i32.const 600) (i32.const 1)) (i32.const -4))
            (then (local.set $limited (i32.add (local.get $limited) (i32.const 1)))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $again)))
        (local.get $limited)))
    """

    /// Misbehaviour, one export each.
    static let hostile = """
    (module
      (memory (export "memory") 1)
      (func (export "spin") (loop $l (br $l)))
      (func (export "grow") (result i32) (local $i i32)
        (block $out (loop $l
          (br_if $out (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
        unreachable)
      (func $recurse (export "recurse") (param i32) (result i32)
        (call $recurse (i32.add (local.get 0) (i32.const 1))))
      (func (export "divide") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
      (func (export "trap") unreachable)
      (func (export "ok") (result i32) (i32.const 42)))
    """

    /// A module whose start function never returns.
    static let loopingStart = """
    (module (func $s (loop $l (br $l))) (start $s))
    """

    /// Imports something Cordon does not provide.
    static let unknownImport = """
    (module (import "env" "launch_missiles" (func (param i32))) (func (export "f")))
    """

    /// A data segment past the end of memory.
    static let dataOutOfBounds = """
    (module (memory 1) (data (i32.const 70000) "x"))
    """
}

extension Plugins {
    /// The bytes convention: `cordon_alloc` hands out memory, `upper` upper-cases ASCII in place and
    /// returns (ptr << 32 | len); `sleepy` sleeps through the host for `timer`-granted plugins.
    static let bytes = """
    (module
      (import "env" "host_sleep_ms" (func $sleep (param i32) (result i32)))
      (memory (export "memory") 2)
      (global $next (mut i32) (i32.const 1024))
      (func (export "cordon_alloc") (param $len i32) (result i32) (local $p i32)
        (local.set $p (global.get $next))
        (global.set $next (i32.add (global.get $next) (local.get $len)))
        (local.get $p))
      (func (export "upper") (param $ptr i32) (param $len i32) (result i64) (local $i i32) (local $c i32)
        (block $done (loop $next
          (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
          (local.set $c (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
          (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
            (then (i32.store8 (i32.add (local.get $ptr) (local.get $i)) (i32.sub (local.get $c) (i32.const 32)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
        (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.extend_i32_u (local.get $len))))
      (func (export "lie") (param i32 i32) (result i64) (i64.const -281474976710640))
      (func (export "sleepy") (param $ms i32) (result i32) (call $sleep (local.get $ms))))
    """
}

extension Plugins {
    /// `meet` calls the host's custom `rendezvous` and returns its status (0, or a negative ABI code).
    static let rendezvous = """
    (module
      (import "env" "rendezvous" (func $rendezvous (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "meet") (result i32)
        (call $rendezvous (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))))
    """
}

extension Plugins {
    /// `grow` adds pages to its memory (memory.grow's old size back), `now` makes one host call,
    /// `trap` traps.
    static let grower = """
    (module
      (import "env" "host_now_ms" (func $now (result i64)))
      (memory (export "memory") 1)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "now") (result i64) (call $now))
      (func (export "trap") unreachable))
    """
}
