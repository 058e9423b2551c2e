;; Answers every request itself with the request header map exactly as the
;; filter sees it, one `name: value` line per entry, in the map's order
;; (pseudo-headers included): what Envoy's connection manager made of the
;; client's HTTP/1.1 request before the filter chain.
(module
  (import "env" "proxy_get_header_map_pairs"
    (func $get_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response"
    (func $local_response (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))

  ;; PRELUDE

  (data (i32.const 0) "header_map")
  ;; An empty serialized map (count 0) for the reply's extra headers.
  (data (i32.const 16) "\00\00\00\00")

  ;; Appends the serialized map at `p` as text lines.
  (func $dump (param $p i32)
    (local $n i32) (local $i i32) (local $d i32) (local $kl i32) (local $vl i32)
    (local.set $n (i32.load (local.get $p)))
    (local.set $d (i32.add (i32.add (local.get $p) (i32.const 4))
                           (i32.mul (local.get $n) (i32.const 8))))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $kl (i32.load (i32.add (local.get $p)
        (i32.add (i32.const 4) (i32.mul (local.get $i) (i32.const 8))))))
      (local.set $vl (i32.load (i32.add (local.get $p)
        (i32.add (i32.const 8) (i32.mul (local.get $i) (i32.const 8))))))
      (call $out_bytes (local.get $d) (local.get $kl))
      (call $out_byte (i32.const 58)) (call $out_byte (i32.const 32))
      (local.set $d (i32.add (local.get $d) (i32.add (local.get $kl) (i32.const 1))))
      (call $out_bytes (local.get $d) (local.get $vl))
      (call $out_byte (i32.const 10))
      (local.set $d (i32.add (local.get $d) (i32.add (local.get $vl) (i32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each))))

  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $out_reset)
    (if (i32.eqz (call $get_pairs (i32.const 0) (i32.const 1024) (i32.const 1028)))
      (then (call $dump (i32.load (i32.const 1024)))))
    (drop (call $local_response (i32.const 200) (i32.const 0) (i32.const 10)
      (i32.const 4096) (call $out_len) (i32.const 16) (i32.const 4) (i32.const -1)))
    (i32.const 1))
)
