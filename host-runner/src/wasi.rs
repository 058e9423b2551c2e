//! The WASI preview1 subset Envoy gives a module, implemented in the host:
//! `fd_write` (stdout → info log, stderr → error log), `fd_read`, `fd_seek`,
//! `fd_close`, `fd_fdstat_get`, `environ_get`, `environ_sizes_get`,
//! `args_get`, `args_sizes_get`, `proc_exit`, `clock_time_get` (virtual
//! clock) and `random_get` (seeded). Registered under both
//! `wasi_snapshot_preview1` and `wasi_unstable`, as Envoy does.

use crate::memory::{read, write, write_u32, write_u64, Cx, Fail};
use crate::state::VmState;
use crate::types::LogLevel;
use wasmtime::Linker;

const ESUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const ENOSYS: i32 = 52;
const ESPIPE: i32 = 70;

/// The imports a module may take from the WASI modules.
pub const WASI_FUNCTIONS: &[&str] = &[
    "fd_write",
    "fd_read",
    "fd_seek",
    "fd_close",
    "fd_fdstat_get",
    "environ_get",
    "environ_sizes_get",
    "args_get",
    "args_sizes_get",
    "proc_exit",
    "clock_time_get",
    "random_get",
];

/// The WASI module names registered.
pub const WASI_MODULES: &[&str] = &["wasi_snapshot_preview1", "wasi_unstable"];

fn errno(r: Result<(), Fail>) -> wasmtime::Result<i32> {
    match r {
        Ok(()) => Ok(ESUCCESS),
        Err(Fail::Status(_)) => Ok(EFAULT),
        Err(Fail::Trap(e)) => Err(e),
    }
}

fn fd_write(cx: &mut Cx<'_>, fd: i32, iovs: u32, n: u32, nwritten: u32) -> Result<(), Fail> {
    let mut text = Vec::new();
    for i in 0..n {
        let iov = read(cx, iovs.wrapping_add(i.wrapping_mul(8)), 8)?;
        let ptr = u32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
        let len = u32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
        text.extend_from_slice(&read(cx, ptr, len)?);
    }
    let written = text.len() as u32;
    let level = if fd == 1 {
        LogLevel::Info
    } else {
        LogLevel::Error
    };
    let message = crate::types::lossy(&text);
    let message = message.strip_suffix('\n').unwrap_or(&message).to_string();
    if !message.is_empty() {
        cx.data_mut().log(level, message);
    }
    write_u32(cx, nwritten, written)
}

fn fill_random(cx: &mut Cx<'_>, buf: u32, len: u32) -> Result<(), Fail> {
    let mut bytes = Vec::with_capacity(len as usize);
    while bytes.len() < len as usize {
        bytes.extend_from_slice(&cx.data_mut().next_random().to_le_bytes());
    }
    bytes.truncate(len as usize);
    write(cx, buf, &bytes)
}

/// Registers the WASI subset under both WASI module names.
pub(crate) fn add_to_linker(l: &mut Linker<VmState>) -> wasmtime::Result<()> {
    for m in WASI_MODULES {
        l.func_wrap(
            m,
            "fd_write",
            |mut cx: Cx<'_>, fd: i32, iovs: u32, n: u32, nw: u32| {
                if fd != 1 && fd != 2 {
                    return Ok(EBADF);
                }
                errno(fd_write(&mut cx, fd, iovs, n, nw))
            },
        )?;
        l.func_wrap(
            m,
            "fd_read",
            |_cx: Cx<'_>, _: i32, _: u32, _: u32, _: u32| Ok(ENOSYS),
        )?;
        l.func_wrap(
            m,
            "fd_seek",
            |_cx: Cx<'_>, fd: i32, _: i64, _: i32, _: u32| {
                Ok(if (0..=2).contains(&fd) { ESPIPE } else { EBADF })
            },
        )?;
        l.func_wrap(m, "fd_close", |_cx: Cx<'_>, _: i32| Ok(EBADF))?;
        l.func_wrap(m, "fd_fdstat_get", |mut cx: Cx<'_>, fd: i32, buf: u32| {
            if !(0..=2).contains(&fd) {
                return Ok(EBADF);
            }
            // fdstat: filetype u8 (2 = character device), flags u16, rights u64 x2.
            let mut stat = [0u8; 24];
            stat[0] = 2;
            errno(write(&mut cx, buf, &stat))
        })?;
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
        l.func_wrap(
            m,
            "proc_exit",
            |_cx: Cx<'_>, code: i32| -> wasmtime::Result<()> {
                Err(wasmtime::Error::msg(format!(
                    "guest called proc_exit({code})"
                )))
            },
        )?;
        l.func_wrap(
            m,
            "clock_time_get",
            |mut cx: Cx<'_>, id: i32, _prec: i64, tp: u32| {
                if !(0..=3).contains(&id) {
                    return Ok(EINVAL);
                }
                let now = cx.data().host.shared.now_nanos();
                errno(write_u64(&mut cx, tp, now))
            },
        )?;
        l.func_wrap(m, "random_get", |mut cx: Cx<'_>, buf: u32, len: u32| {
            errno(fill_random(&mut cx, buf, len))
        })?;
    }
    Ok(())
}
