;; hostile: an infinite loop. Stopped by fuel (or, with --fuel 0, by the wall-time kill).
;;   cordon run Examples/hostile/fuel_loop.wat --export run --fuel 1000000
;; exit 75; stderr: error: limit exceeded: fuel (limit 1,000,000, measured exhausted) in export 'run'
;;   cordon run Examples/hostile/fuel_loop.wat --export run --fuel 0 --timeout 1
;; exit 75; stderr: error: limit exceeded: wall_time (limit 1.0 s, measured > 1.0 s, worker killed) in export 'run'
(module
  (func (export "run")
    (loop $forever (br $forever))))
