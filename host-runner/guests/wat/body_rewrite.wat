;; Rewrites both bodies: the request body goes upstream as `<body>`, the
;; response body reaches the client in upper case. Each body is buffered until
;; its end (StopIterationAndBuffer), and the now wrong content-length is
;; removed so the proxy frames the new length itself.
(module
  (import "env" "proxy_get_buffer_bytes"
    (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes"
    (func $set_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_remove_header_map_value"
    (func $remove_header (param i32 i32 i32) (result i32)))

  ;; PRELUDE

  (data (i32.const 0) "content-length")

  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $remove_header (i32.const 0) (i32.const 0) (i32.const 14)))
    (i32.const 0))

  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $remove_header (i32.const 2) (i32.const 0) (i32.const 14)))
    (i32.const 0))

  ;; The whole buffered body of buffer `type` at 1024 (pointer) / 1028 (size).
  (func $body (param $type i32) (param $size i32) (result i32)
    (i32.store (i32.const 1028) (i32.const 0))
    (drop (call $get_buffer (local.get $type) (i32.const 0) (local.get $size)
      (i32.const 1024) (i32.const 1028)))
    (i32.load (i32.const 1028)))

  (func (export "proxy_on_request_body") (param i32) (param $size i32) (param $eos i32) (result i32)
    (local $n i32)
    (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
    (local.set $n (call $body (i32.const 0) (local.get $size)))
    (call $out_reset)
    (call $out_byte (i32.const 60))
    (call $out_bytes (i32.load (i32.const 1024)) (local.get $n))
    (call $out_byte (i32.const 62))
    (drop (call $set_buffer (i32.const 0) (i32.const 0) (local.get $size)
      (i32.const 4096) (call $out_len)))
    (i32.const 0))

  (func (export "proxy_on_response_body") (param i32) (param $size i32) (param $eos i32) (result i32)
    (local $n i32) (local $p i32) (local $i i32) (local $c i32)
    (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
    (local.set $n (call $body (i32.const 1) (local.get $size)))
    (local.set $p (i32.load (i32.const 1024)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $c (i32.load8_u (i32.add (local.get $p) (local.get $i))))
      (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
        (then (i32.store8 (i32.add (local.get $p) (local.get $i))
          (i32.sub (local.get $c) (i32.const 32)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
    (drop (call $set_buffer (i32.const 1) (i32.const 0) (local.get $size)
      (local.get $p) (local.get $n)))
    (i32.const 0))
)
