;; Reads per-request dynamic metadata whose path segments contain dots (the
;; namespace `envoy.lb`, the key `user.id`) and reports, in `x-props`, the
;; status and value of each lookup as `status,value;`:
;;   1. metadata / filter_metadata / envoy.lb / version
;;   2. metadata / filter_metadata / io.example.auth / user.id
;;   3. metadata / filter_metadata / envoy / lb / version   (split: not found)
;;   4. metadata / filter_metadata / envoy.lb / missing
(module
  (import "env" "proxy_get_property"
    (func $get_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value"
    (func $add_header (param i32 i32 i32 i32 i32) (result i32)))

  ;; PRELUDE

  (data (i32.const 0) "x-props")
  (data (i32.const 16) "metadata\00filter_metadata\00envoy.lb\00version")
  (data (i32.const 64) "metadata\00filter_metadata\00io.example.auth\00user.id")
  (data (i32.const 128) "metadata\00filter_metadata\00envoy\00lb\00version")
  (data (i32.const 176) "metadata\00filter_metadata\00envoy.lb\00missing")

  ;; Appends `status,value;` for the property at `p` (length `n`).
  (func $lookup (param $p i32) (param $n i32)
    (i32.store (i32.const 1024) (i32.const 0))
    (i32.store (i32.const 1028) (i32.const 0))
    (call $rec (call $get_property (local.get $p) (local.get $n)
      (i32.const 1024) (i32.const 1028)))
    (call $out_bytes (i32.load (i32.const 1024)) (i32.load (i32.const 1028)))
    (call $out_byte (i32.const 59)))

  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $out_reset)
    (call $lookup (i32.const 16) (i32.const 41))
    (call $lookup (i32.const 64) (i32.const 48))
    (call $lookup (i32.const 128) (i32.const 41))
    (call $lookup (i32.const 176) (i32.const 41))
    (drop (call $add_header (i32.const 0) (i32.const 0) (i32.const 7)
      (i32.const 4096) (call $out_len)))
    (i32.const 0))
)
