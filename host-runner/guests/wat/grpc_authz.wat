;; An authorisation filter that asks a gRPC service: each request's path goes
;; as the message of a unary call `edgepick.Authz/Check` to the cluster named
;; by the plugin configuration, and the request waits for the answer. The
;; answer becomes a local reply describing what the module saw:
;;   200 `receive ctx=.. token=.. size=.. message=..`  (status OK)
;;   403 `close ctx=.. token=.. status=.. get_status=.. message=..`  (other)
;;   503 `dispatch N` when the call itself is refused with status N.
;; `ctx` says which context the callback was delivered to (`root`, `stream`
;; or a number): it resumes the request with proxy_set_effective_context.
(module
  (import "env" "proxy_grpc_call" (func $grpc_call
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes"
    (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value"
    (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_status" (func $get_status (param i32 i32 i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $set_effective (param i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $local_response
    (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))

  ;; PRELUDE

  (data (i32.const 0) ":path")
  (data (i32.const 16) "edgepick.Authz")
  (data (i32.const 32) "Check")
  (data (i32.const 48) "receive ctx=")
  (data (i32.const 64) "close ctx=")
  (data (i32.const 80) " token=")
  (data (i32.const 96) " size=")
  (data (i32.const 112) " message=")
  (data (i32.const 128) " status=")
  (data (i32.const 144) " get_status=")
  (data (i32.const 160) "dispatch ")
  (data (i32.const 176) "root")
  (data (i32.const 192) "stream")

  (global $root (mut i32) (i32.const 0))
  (global $stream (mut i32) (i32.const 0))
  ;; The cluster name (the plugin configuration), copied to 2048.
  (global $cluster_len (mut i32) (i32.const 0))

  (func (export "proxy_on_context_create") (param $id i32) (param $parent i32)
    (if (i32.eqz (local.get $parent)) (then (global.set $root (local.get $id)))))

  (func (export "proxy_on_configure") (param i32) (param $size i32) (result i32)
    (i32.store (i32.const 1028) (i32.const 0))
    (drop (call $get_buffer (i32.const 7) (i32.const 0) (local.get $size)
      (i32.const 1024) (i32.const 1028)))
    (global.set $cluster_len (i32.load (i32.const 1028)))
    (memory.copy (i32.const 2048) (i32.load (i32.const 1024)) (global.get $cluster_len))
    (i32.const 1))

  (func $reply (param $status i32)
    (drop (call $local_response (local.get $status) (i32.const 0) (i32.const 0)
      (i32.const 4096) (call $out_len) (i32.const 0) (i32.const 0) (i32.const -1))))

  (func (export "proxy_on_request_headers") (param $ctx i32) (param i32 i32) (result i32)
    (local $status i32)
    (global.set $stream (local.get $ctx))
    (drop (call $get_header (i32.const 0) (i32.const 0) (i32.const 5)
      (i32.const 1024) (i32.const 1028)))
    (local.set $status (call $grpc_call
      (i32.const 2048) (global.get $cluster_len) (i32.const 16) (i32.const 14)
      (i32.const 32) (i32.const 5) (i32.const 0) (i32.const 0)
      (i32.load (i32.const 1024)) (i32.load (i32.const 1028))
      (i32.const 5000) (i32.const 1032)))
    (if (i32.eqz (local.get $status)) (then (return (i32.const 1))))
    (call $out_reset)
    (call $out_bytes (i32.const 160) (i32.const 9))
    (call $out_num (local.get $status))
    (call $reply (i32.const 503))
    (i32.const 1))

  ;; Appends which context `ctx` is.
  (func $out_ctx (param $ctx i32)
    (if (i32.eq (local.get $ctx) (global.get $root))
      (then (call $out_bytes (i32.const 176) (i32.const 4)) (return)))
    (if (i32.eq (local.get $ctx) (global.get $stream))
      (then (call $out_bytes (i32.const 192) (i32.const 6)) (return)))
    (call $out_num (local.get $ctx)))

  (func (export "proxy_on_grpc_receive") (param $ctx i32) (param $token i32) (param $size i32)
    (call $out_reset)
    (call $out_bytes (i32.const 48) (i32.const 12))
    (call $out_ctx (local.get $ctx))
    (call $out_bytes (i32.const 80) (i32.const 7))
    (call $out_num (local.get $token))
    (call $out_bytes (i32.const 96) (i32.const 6))
    (call $out_num (local.get $size))
    (call $out_bytes (i32.const 112) (i32.const 9))
    (i32.store (i32.const 1028) (i32.const 0))
    (drop (call $get_buffer (i32.const 5) (i32.const 0) (local.get $size)
      (i32.const 1024) (i32.const 1028)))
    (call $out_bytes (i32.load (i32.const 1024)) (i32.load (i32.const 1028)))
    (drop (call $set_effective (global.get $stream)))
    (call $reply (i32.const 200)))

  (func (export "proxy_on_grpc_close") (param $ctx i32) (param $token i32) (param $status i32)
    (call $out_reset)
    (call $out_bytes (i32.const 64) (i32.const 10))
    (call $out_ctx (local.get $ctx))
    (call $out_bytes (i32.const 80) (i32.const 7))
    (call $out_num (local.get $token))
    (call $out_bytes (i32.const 128) (i32.const 8))
    (call $out_num (local.get $status))
    (i32.store (i32.const 1040) (i32.const 77))
    (i32.store (i32.const 1048) (i32.const 0))
    (drop (call $get_status (i32.const 1040) (i32.const 1044) (i32.const 1048)))
    (call $out_bytes (i32.const 144) (i32.const 12))
    (call $out_num (i32.load (i32.const 1040)))
    (call $out_bytes (i32.const 112) (i32.const 9))
    (call $out_bytes (i32.load (i32.const 1044)) (i32.load (i32.const 1048)))
    (drop (call $set_effective (global.get $stream)))
    (call $reply (i32.const 403)))
)
