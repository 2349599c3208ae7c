;; config reader: reads configuration key "greeting" and logs it.
;;   cordon run Examples/wat/config_reader.wat --export greet --grant read_config --config greeting=bonjour
;; stderr: [config_reader] info: bonjour
;; stdout: 7          (the value's length)
;; Without the key: -1 (not found). Without --grant read_config: -2 (permission denied).
(module
  (import "env" "host_get_config" (func $config (param i32 i32 i32 i32) (result i32)))
  (import "env" "host_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "greeting")
  ;; output buffer: 256 bytes at 1024
  (func (export "greet") (result i32)
    (local $len i32)
    (local.set $len (call $config (i32.const 0) (i32.const 8) (i32.const 1024) (i32.const 256)))
    (if (i32.lt_s (local.get $len) (i32.const 0)) (then (return (local.get $len))))
    ;; The full length comes back even when the value did not fit; it was written only if it did.
    (if (i32.gt_s (local.get $len) (i32.const 256)) (then (return (i32.const -5))))
    (drop (call $log (i32.const 2) (i32.const 1024) (local.get $len)))
    (local.get $len)))
