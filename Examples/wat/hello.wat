;; hello: one host_log call. No capabilities needed (host_log is always allowed, rate-limited).
;;   cordon run Examples/wat/hello.wat --export hello
;; stderr: [hello] info: hello, world
;; stdout: 0
(module
  (import "env" "host_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hello, world")
  (func (export "hello") (result i32)
    ;; level 2 = info; the message is UTF-8 at (0, 12) in the exported memory.
    (call $log (i32.const 2) (i32.const 0) (i32.const 12))))
