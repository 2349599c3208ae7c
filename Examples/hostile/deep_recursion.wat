;; hostile: unbounded recursion. The interpreter's call-depth limit traps it.
;;   cordon run Examples/hostile/deep_recursion.wat --export run 0
;; exit 70; stderr: error: plugin trapped in 'run': stackExhausted — call stack exhausted
(module
  (func $down (export "run") (param $n i32) (result i32)
    (i32.add (call $down (i32.add (local.get $n) (i32.const 1))) (i32.const 1))))
