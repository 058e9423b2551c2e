;; Shared by the hand-written modules of this directory: spliced into each
;; module where it says `;; PRELUDE`. No SDK, no libc: what a C, Go or
;; hand-tuned module looks like to the host (raw imports, its own allocator).
;;
;; Memory map: 0..1024 constant strings (each module's data), 1024..2048
;; scratch for output words, 4096..8192 the text being built, 65536.. heap.

(memory (export "memory") 4)
(global $heap (mut i32) (i32.const 65536))
(global $out (mut i32) (i32.const 4096))

(func (export "proxy_abi_version_0_2_1"))

;; A bump allocator: the host copies buffers it returns into these bytes.
(func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
  (local $p i32)
  (local.set $p (global.get $heap))
  (global.set $heap (i32.and (i32.add (i32.add (local.get $p) (local.get $size)) (i32.const 7))
                             (i32.const -8)))
  (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
    (then (drop (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $heap)
      (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))))))
  (local.get $p))

;; Text under construction at 4096.
(func $out_reset (global.set $out (i32.const 4096)))
(func $out_len (result i32) (i32.sub (global.get $out) (i32.const 4096)))
(func $out_byte (param $b i32)
  (i32.store8 (global.get $out) (local.get $b))
  (global.set $out (i32.add (global.get $out) (i32.const 1))))
(func $out_bytes (param $p i32) (param $n i32)
  (memory.copy (global.get $out) (local.get $p) (local.get $n))
  (global.set $out (i32.add (global.get $out) (local.get $n))))
;; Appends `n` in decimal (signed).
(func $out_num (param $n i32)
  (local $div i32)
  (if (i32.lt_s (local.get $n) (i32.const 0))
    (then (call $out_byte (i32.const 45))
          (local.set $n (i32.sub (i32.const 0) (local.get $n)))))
  (local.set $div (i32.const 1))
  (block $done (loop $up
    (br_if $done (i32.lt_u (i32.div_u (local.get $n) (local.get $div)) (i32.const 10)))
    (local.set $div (i32.mul (local.get $div) (i32.const 10)))
    (br $up)))
  (block $end (loop $digit
    (call $out_byte (i32.add (i32.const 48)
      (i32.rem_u (i32.div_u (local.get $n) (local.get $div)) (i32.const 10))))
    (br_if $end (i32.eq (local.get $div) (i32.const 1)))
    (local.set $div (i32.div_u (local.get $div) (i32.const 10)))
    (br $digit))))
;; Appends `n` and a comma.
(func $rec (param $n i32)
  (call $out_num (local.get $n))
  (call $out_byte (i32.const 44)))
