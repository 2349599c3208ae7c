;; hostile: passes a (ptr, len) that runs past the end of memory. The worker bounds-checks every
;; pointer before reading: host_log returns -3 (invalid argument); nothing is read or logged.
;;   cordon run Examples/hostile/oob_hostcall.wat --export run
;; exit 0; stdout: -3
(module
  (import "env" "host_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (call $log (i32.const 2) (i32.const 65500) (i32.const 100))))
