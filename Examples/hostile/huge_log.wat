;; hostile: one host_log call with a 4 MiB message (the memory is 64 pages of zeros).
;; The worker refuses it before any byte leaves the process: host_log returns -5 (too large).
;;   cordon run Examples/hostile/huge_log.wat --export run
;; exit 0; stdout: -5
(module
  (import "env" "host_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 64)
  (func (export "run") (result i32)
    (call $log (i32.const 2) (i32.const 0) (i32.const 4194304))))
