//! The WASI preview1 functions Envoy 1.40 registers (proxy-wasm-cpp-host's
//! `FOR_ALL_WASI_FUNCTIONS`, 45 functions under both `wasi_snapshot_preview1`
//! and `wasi_unstable`), with Envoy's signatures and return values, and
//! Envoy's two `env` helpers (`pthread_equal`, `emscripten_notify_memory_growth`).
//!
//! Real here: `fd_write`/`fd_pwrite` to stdout (info log) and stderr (error
//! log), `clock_time_get`/`clock_res_get` (virtual clock), `random_get`
//! (seeded), the empty environment and argument list. Everything else is a
//! stub answering what Envoy answers (see [`stubs`]): no file system, no
//! sockets. A module importing a WASI function outside this set is refused.

mod stubs;

use crate::memory::{read, write, write_u32, write_u64, Cx, Fail};
use crate::types::LogLevel;

pub(crate) const ESUCCESS: i32 = 0;
pub(crate) const EBADF: i32 = 8;
pub(crate) const EFAULT: i32 = 21;
pub(crate) const EINVAL: i32 = 28;
pub(crate) const ENOTSUP: i32 = 58;

/// The WASI module names Envoy registers the functions under.
pub const WASI_MODULES: &[&str] = &["wasi_snapshot_preview1", "wasi_unstable"];

/// Largest `random_get` Envoy serves (`PROXY_WASM_HOST_WASI_RANDOM_GET_MAX_SIZE_BYTES`).
const RANDOM_GET_MAX: u32 = 64 * 1024;

/// Turns a memory access result into an errno (a bad pointer is `EFAULT`).
pub(crate) fn errno(r: Result<(), Fail>) -> wasmtime::Result<i32> {
    match r {
        Ok(()) => Ok(ESUCCESS),
        Err(Fail::Status(_)) => Ok(EFAULT),
        Err(Fail::Trap(e)) => Err(e),
    }
}

/// `fd_write` on stdout/stderr: the gathered bytes become one log line
/// (trailing newline removed; nothing logged for zero bytes). Returns the
/// byte count, or an errno.
fn writev(cx: &mut Cx<'_>, fd: i32, iovs: u32, n: u32) -> Result<u32, i32> {
    let level = match fd {
        1 => LogLevel::Info,
        2 => LogLevel::Error,
        _ => return Err(EBADF),
    };
    let mut text = Vec::new();
    for i in 0..n {
        let at = iovs.wrapping_add(i.wrapping_mul(8));
        let iov = read(cx, at, 8).map_err(|_| EFAULT)?;
        let ptr = u32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
        let len = u32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
        if len != 0 {
            text.extend_from_slice(&read(cx, ptr, len).map_err(|_| EFAULT)?);
        }
    }
    let written = text.len() as u32;
    if !text.is_empty() {
        if text.last() == Some(&b'\n') {
            text.pop();
        }
        let message = crate::types::lossy(&text);
        cx.data_mut().log(level, message);
    }
    Ok(written)
}

fn write_out(cx: &mut Cx<'_>, fd: i32, iovs: u32, n: u32, nwritten: u32) -> i32 {
    match writev(cx, fd, iovs, n) {
        Ok(w) => match write_u32(cx, nwritten, w) {
            Ok(()) => ESUCCESS,
            Err(_) => EFAULT,
        },
        Err(e) => e,
    }
}

fn fill_random(cx: &mut Cx<'_>, buf: u32, len: u32) -> Result<(), Fail> {
    let mut bytes = Vec::with_capacity(len as usize);
    while bytes.len() < len as usize {
        bytes.extend_from_slice(&cx.data_mut().next_random().to_le_bytes());
    }
    bytes.truncate(len as usize);
    write(cx, buf, &bytes)
}

/// Registers the WASI functions under both WASI module names, then the `env`
/// helpers.
pub(crate) fn add_to_linker(l: &mut crate::hostcalls::Registry<'_>) -> wasmtime::Result<()> {
    for m in WASI_MODULES {
        l.func_wrap(
            m,
            "fd_write",
            |mut cx: Cx<'_>, fd: i32, iovs: u32, n: u32, nw: u32| {
                Ok(write_out(&mut cx, fd, iovs, n, nw))
            },
        )?;
        l.func_wrap(
            m,
            "fd_pwrite",
            |mut cx: Cx<'_>, fd: i32, iovs: u32, n: u32, _offset: i64, nw: u32| {
                Ok(write_out(&mut cx, fd, iovs, n, nw))
            },
        )?;
        l.func_wrap(m, "environ_get", |_cx: Cx<'_>, _: u32, _: u32| Ok(ESUCCESS))?;
        l.func_wrap(
            m,
            "environ_sizes_get",
            |mut cx: Cx<'_>, cp: u32, sp: u32| {
                errno(write_u32(&mut cx, cp, 0).and_then(|_| write_u32(&mut cx, sp, 0)))
            },
        )?;
        l.func_wrap(m, "args_get", |_cx: Cx<'_>, _: u32, _: u32| Ok(ESUCCESS))?;
        l.func_wrap(m, "args_sizes_get", |mut cx: Cx<'_>, cp: u32, sp: u32| {
            errno(write_u32(&mut cx, cp, 0).and_then(|_| write_u32(&mut cx, sp, 0)))
        })?;
        // Envoy only traces `proc_exit` and returns to the guest; a Rust
        // guest then reaches `unreachable`, which the VM reports as an exit.
        l.func_wrap(m, "proc_exit", |mut cx: Cx<'_>, code: i32| {
            cx.data_mut().exit_code = Some(code);
        })?;
        l.func_wrap(
            m,
            "clock_time_get",
            |mut cx: Cx<'_>, id: i32, _precision: i64, tp: u32| {
                // Realtime and monotonic; CPU-time clocks are not supported.
                if id != 0 && id != 1 {
                    return Ok(ENOTSUP);
                }
                let now = cx.data().host.shared.now_nanos();
                errno(write_u64(&mut cx, tp, now))
            },
        )?;
        l.func_wrap(m, "clock_res_get", |mut cx: Cx<'_>, id: i32, rp: u32| {
            if id != 0 && id != 1 {
                return Ok(ENOTSUP);
            }
            errno(write_u64(&mut cx, rp, 1))
        })?;
        l.func_wrap(m, "random_get", |mut cx: Cx<'_>, buf: u32, len: u32| {
            if len > RANDOM_GET_MAX {
                return Ok(EINVAL);
            }
            if len == 0 {
                return Ok(ESUCCESS);
            }
            errno(fill_random(&mut cx, buf, len))
        })?;
        stubs::add_to_linker(l, m)?;
    }
    l.func_wrap("env", "pthread_equal", |_cx: Cx<'_>, a: i32, b: i32| {
        i32::from(a == b)
    })?;
    l.func_wrap(
        "env",
        "emscripten_notify_memory_growth",
        |_cx: Cx<'_>, _index: i32| {},
    )?;
    Ok(())
}
