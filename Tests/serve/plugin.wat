;; The test plugin of Tests/serve/test_serve.py: arithmetic, a trap, a fuel burner, a counted loop
;; (a known fuel cost), a nap through the host (a call that stays in flight), storage through the
;; daemon's database, memory growth, and an echo under the bytes convention.
(module
  (import "env" "host_storage_set" (func $storage_set (param i32 i32 i32 i32) (result i32)))
  (import "env" "host_storage_get" (func $storage_get (param i32 i32 i32 i32) (result i32)))
  (import "env" "host_sleep_ms" (func $sleep_ms (param i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "counter")
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "noop") (result i32) (i32.const 1))
  (func (export "trap") (result i32) unreachable)
  (func (export "spin") (loop $forever (br $forever)))
  ;; count(n): n turns of a loop, answers n; its fuel grows with n and is the same for the same n
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i))
  ;; nap(ms): sleeps in the host (capability "timer"), answers the host's status
  (func (export "nap") (param i32) (result i32) (call $sleep_ms (local.get 0)))
  ;; store(v): v under key "counter"; answers the host's status (0 = stored)
  (func (export "store") (param i32) (result i32)
    (i32.store (i32.const 64) (local.get 0))
    (call $storage_set (i32.const 0) (i32.const 7) (i32.const 64) (i32.const 4)))
  ;; load(): the stored value, or -1000 - status when there is none
  (func (export "load") (result i32) (local $r i32)
    (local.set $r (call $storage_get (i32.const 0) (i32.const 7) (i32.const 128) (i32.const 4)))
    (if (result i32) (i32.eq (local.get $r) (i32.const 4))
      (then (i32.load (i32.const 128)))
      (else (i32.sub (i32.const -1000) (local.get $r)))))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  ;; one input at a time: always the same buffer
  (func (export "cordon_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "echo") (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n))))
)
