;; A service-style module: its root context asks for a tick every 100 ms in
;; on_configure and logs `tick N` on each (info level). Requests only read the
;; count (`x-ticks`).
(module
  (import "env" "proxy_set_tick_period_milliseconds"
    (func $set_tick_period (param i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value"
    (func $add_header (param i32 i32 i32 i32 i32) (result i32)))

  ;; PRELUDE

  (data (i32.const 0) "tick ")
  (data (i32.const 16) "x-ticks")
  (global $n (mut i32) (i32.const 0))

  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))

  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $set_tick_period (i32.const 100)))
    (i32.const 1))

  (func (export "proxy_on_tick") (param i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (call $out_reset)
    (call $out_bytes (i32.const 0) (i32.const 5))
    (call $out_num (global.get $n))
    (drop (call $log (i32.const 2) (i32.const 4096) (call $out_len))))

  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $out_reset)
    (call $out_num (global.get $n))
    (drop (call $add_header (i32.const 0) (i32.const 16) (i32.const 7)
      (i32.const 4096) (call $out_len)))
    (i32.const 0))
)
