;; A module configured with a plain string (not JSON), as many are: it reads
;; its plugin configuration in `proxy_on_configure` twice, the C++ SDK's way
;; (length = the size it was given) and the Rust SDK's way (length = max), and
;; reports each status and returned size in `x-config-status` (77: the size
;; word was left unwritten), and the bytes in `x-config` when there are some.
(module
  (import "env" "proxy_get_buffer_bytes"
    (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value"
    (func $add_header (param i32 i32 i32 i32 i32) (result i32)))

  ;; PRELUDE

  (data (i32.const 0) "x-config-status")
  (data (i32.const 16) "x-config")
  ;; What on_configure saw: the status text at 2048.., its length; the
  ;; configuration's address and size.
  (global $status_len (mut i32) (i32.const 0))
  (global $conf (mut i32) (i32.const 0))
  (global $conf_len (mut i32) (i32.const 0))

  (func $read (param $len i32)
    (i32.store (i32.const 1024) (i32.const 77))
    (i32.store (i32.const 1028) (i32.const 77))
    (call $rec (call $get_buffer (i32.const 7) (i32.const 0) (local.get $len)
      (i32.const 1024) (i32.const 1028)))
    (call $rec (i32.load (i32.const 1028))))

  (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
    (call $out_reset)
    (call $read (local.get $size))
    (call $read (i32.const -1))
    (if (i32.ne (i32.load (i32.const 1028)) (i32.const 77))
      (then (global.set $conf (i32.load (i32.const 1024)))
            (global.set $conf_len (i32.load (i32.const 1028)))))
    (global.set $status_len (call $out_len))
    (memory.copy (i32.const 2048) (i32.const 4096) (global.get $status_len))
    (i32.const 1))

  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $add_header (i32.const 0) (i32.const 0) (i32.const 15)
      (i32.const 2048) (global.get $status_len)))
    (if (i32.gt_u (global.get $conf_len) (i32.const 0))
      (then (drop (call $add_header (i32.const 0) (i32.const 16) (i32.const 8)
        (global.get $conf) (global.get $conf_len)))))
    (i32.const 0))
)
