;; Makes an HTTP callout (`GET /check` to cluster `edgepick`) from each
;; request and answers the client, from the callout's callback, with which
;; context the answer was delivered to, its token and its body's size:
;;   200 `http ctx=root token=4 body=7`
;; (`ctx` is `root`, `stream` or a number).
(module
  (import "env" "proxy_http_call" (func $http_call
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $set_effective (param i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $local_response
    (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))

  ;; PRELUDE

  (data (i32.const 0) "edgepick")
  (data (i32.const 16) "http ctx=")
  (data (i32.const 32) " token=")
  (data (i32.const 64) " body=")
  (data (i32.const 80) "dispatch ")
  (data (i32.const 96) "root")
  (data (i32.const 112) "stream")
  ;; The callout's headers, serialized: 3 pairs, their sizes, then each
  ;; name and value NUL-terminated (69 bytes).
  (data (i32.const 128)
    "\03\00\00\00"
    "\07\00\00\00\03\00\00\00" "\05\00\00\00\06\00\00\00" "\0a\00\00\00\04\00\00\00"
    ":method\00GET\00:path\00/check\00:authority\00echo\00")

  (global $root (mut i32) (i32.const 0))
  (global $stream (mut i32) (i32.const 0))

  (func (export "proxy_on_context_create") (param $id i32) (param $parent i32)
    (if (i32.eqz (local.get $parent)) (then (global.set $root (local.get $id)))))

  (func $reply (param $status i32)
    (drop (call $local_response (local.get $status) (i32.const 0) (i32.const 0)
      (i32.const 4096) (call $out_len) (i32.const 0) (i32.const 0) (i32.const -1))))

  (func (export "proxy_on_request_headers") (param $ctx i32) (param i32 i32) (result i32)
    (local $status i32)
    (global.set $stream (local.get $ctx))
    (local.set $status (call $http_call (i32.const 0) (i32.const 8) (i32.const 128)
      (i32.const 69) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
      (i32.const 5000) (i32.const 1032)))
    (if (i32.eqz (local.get $status)) (then (return (i32.const 1))))
    (call $out_reset)
    (call $out_bytes (i32.const 80) (i32.const 9))
    (call $out_num (local.get $status))
    (call $reply (i32.const 503))
    (i32.const 1))

  (func (export "proxy_on_http_call_response")
    (param $ctx i32) (param $token i32) (param $headers i32) (param $body i32) (param i32)
    (call $out_reset)
    (call $out_bytes (i32.const 16) (i32.const 9))
    (if (i32.eq (local.get $ctx) (global.get $root))
      (then (call $out_bytes (i32.const 96) (i32.const 4)))
      (else (if (i32.eq (local.get $ctx) (global.get $stream))
        (then (call $out_bytes (i32.const 112) (i32.const 6)))
        (else (call $out_num (local.get $ctx))))))
    (call $out_bytes (i32.const 32) (i32.const 7))
    (call $out_num (local.get $token))
    (call $out_bytes (i32.const 64) (i32.const 6))
    (call $out_num (local.get $body))
    (drop (call $set_effective (global.get $stream)))
    (call $reply (i32.const 200)))
)
