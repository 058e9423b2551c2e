;; Makes a gRPC call and opens a gRPC stream to cluster `nowhere`, which the
;; proxy does not have, and reports both statuses in `x-grpc`.
(module
  (import "env" "proxy_grpc_call" (func $grpc_call
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_grpc_stream" (func $grpc_stream
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value"
    (func $add_header (param i32 i32 i32 i32 i32) (result i32)))

  ;; PRELUDE

  (data (i32.const 0) "x-grpc")
  (data (i32.const 16) "nowhere")
  (data (i32.const 32) "pkg.Service")
  (data (i32.const 48) "Method")
  (data (i32.const 64) "\00\00\00\00")
  (data (i32.const 80) "hello")

  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $out_reset)
    (call $rec (call $grpc_call (i32.const 16) (i32.const 7) (i32.const 32) (i32.const 11)
      (i32.const 48) (i32.const 6) (i32.const 64) (i32.const 4) (i32.const 80) (i32.const 5)
      (i32.const 1000) (i32.const 1024)))
    (call $rec (call $grpc_stream (i32.const 16) (i32.const 7) (i32.const 32) (i32.const 11)
      (i32.const 48) (i32.const 6) (i32.const 64) (i32.const 4) (i32.const 1024)))
    (drop (call $add_header (i32.const 0) (i32.const 0) (i32.const 6)
      (i32.const 4096) (call $out_len)))
    (i32.const 0))
)
