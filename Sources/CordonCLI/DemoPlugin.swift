/// The plugin `cordon demo` runs, embedded so the demo works from a fresh clone with no files.
/// Same source as Examples/wat/demo.wat.
enum DemoPlugin {
    static let wat = #"""
    (module
      (import "env" "host_log" (func $log (param i32 i32 i32) (result i32)))
      (import "env" "host_send_message" (func $send (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "hello from a confined plugin")
      (data (i32.const 64) "ops")
      (data (i32.const 80) "exfiltrate")

      ;; fib(n), iteratively, after one host_log call.
      (func (export "fib") (param $n i32) (result i32)
        (local $a i32) (local $b i32) (local $t i32)
        (drop (call $log (i32.const 2) (i32.const 0) (i32.const 28)))
        (local.set $b (i32.const 1))
        (block $done
          (loop $next
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $t (i32.add (local.get $a) (local.get $b)))
            (local.set $a (local.get $b))
            (local.set $b (local.get $t))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $next)))
        (local.get $a))

      ;; Sends a message without the send_message capability: the host answers -2.
      (func (export "send") (result i32)
        (call $send (i32.const 64) (i32.const 3) (i32.const 80) (i32.const 10)))

      ;; Never returns: stopped by fuel, or by the wall-time kill when fuel is off.
      (func (export "spin")
        (loop $forever (br $forever))))
    """#
}
