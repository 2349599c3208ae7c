;; counter: keeps a little-endian u32 under storage key "count"; each increment adds one.
;; Storage lives in the host, so it survives worker restarts (plugin memory does not).
;;   cordon run Examples/wat/counter.wat --export increment 3 --grant storage
;; stdout: 3
;; Without --grant storage the first host_storage_get returns -2 and the export returns -2.
(module
  (import "env" "host_storage_get" (func $get (param i32 i32 i32 i32) (result i32)))
  (import "env" "host_storage_set" (func $set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "count")
  ;; the value buffer is at 16 (4 bytes)
  (func $bump (result i32)
    (local $status i32)
    (local.set $status (call $get (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 4)))
    ;; -1 (not found) means 0; any other negative code is returned to the caller as is.
    (if (i32.eq (local.get $status) (i32.const -1))
      (then (i32.store (i32.const 16) (i32.const 0)))
      (else (if (i32.lt_s (local.get $status) (i32.const 0)) (then (return (local.get $status))))))
    (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
    (local.set $status (call $set (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 4)))
    (if (i32.lt_s (local.get $status) (i32.const 0)) (then (return (local.get $status))))
    (i32.load (i32.const 16)))
  ;; increment(times) -> the counter after `times` increments (or a negative ABI code)
  (func (export "increment") (param $times i32) (result i32)
    (local $value i32)
    (block $done
      (loop $again
        (br_if $done (i32.le_s (local.get $times) (i32.const 0)))
        (local.set $value (call $bump))
        (br_if $done (i32.lt_s (local.get $value) (i32.const 0)))
        (local.set $times (i32.sub (local.get $times) (i32.const 1)))
        (br $again)))
    (local.get $value)))
