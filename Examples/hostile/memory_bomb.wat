;; hostile: grows memory one page at a time until refused, then traps to report it.
;;   cordon run Examples/hostile/memory_bomb.wat --export run --memory-pages 16
;; exit 75; stderr: error: limit exceeded: memory (limit 16 pages, measured growth past 16 pages refused) in export 'run'
(module
  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (loop $grow
      ;; memory.grow returns -1 once the policy's page limit refuses the growth
      (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable))
