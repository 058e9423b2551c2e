;; Counts requests in `x-n` and traps (`unreachable`) on the second one: after
;; that, Envoy's fault policy decides what every later request gets.
(module
  (import "env" "proxy_add_header_map_value"
    (func $add_header (param i32 i32 i32 i32 i32) (result i32)))

  ;; PRELUDE

  (data (i32.const 0) "x-n")
  (global $n (mut i32) (i32.const 0))

  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (if (i32.eq (global.get $n) (i32.const 2)) (then unreachable))
    (call $out_reset)
    (call $out_num (global.get $n))
    (drop (call $add_header (i32.const 0) (i32.const 0) (i32.const 3)
      (i32.const 4096) (call $out_len)))
    (i32.const 0))
)
