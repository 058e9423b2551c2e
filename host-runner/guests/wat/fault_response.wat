;; Traps (`unreachable`) in on_response_headers, after the request went
;; upstream: Envoy's fault policy on the response path.
(module
  ;; PRELUDE
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    unreachable)
)
