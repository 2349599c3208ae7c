;; hostile: executes `unreachable`. The worker stays healthy; the call fails.
;;   cordon run Examples/hostile/unreachable.wat --export run
;; exit 70; stderr: error: plugin trapped in 'run': unreachable — unreachable
(module
  (func (export "run") unreachable))
