;; hostile: calls a host function in a tight loop, past the per-call host-call budget
;; (default policy: 1,000 host calls per export call, 10,000 per second). Over budget, every host
;; call is refused with -4 (rate limited) and a limit.breach is audited; the plugin is not killed,
;; so this one stops at the first -4 and returns how many calls were served.
;;   cordon run Examples/hostile/hostcall_flood.wat --export run --grant storage
;; exit 0; stdout: 1000
;; A plugin that ignores -4 and keeps looping is stopped by fuel or the wall-time kill (exit 75).
(module
  (import "env" "host_storage_delete" (func $delete (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "missing-key")
  (func (export "run") (result i32)
    (local $served i32)
    (block $refused
      (loop $again
        ;; -1 (not found) is a served call; -4 means the budget is spent.
        (br_if $refused (i32.eq (call $delete (i32.const 0) (i32.const 11)) (i32.const -4)))
        (local.set $served (i32.add (local.get $served) (i32.const 1)))
        (br $again)))
    (local.get $served)))
