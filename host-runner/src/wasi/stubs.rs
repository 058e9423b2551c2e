//! The WASI functions Envoy registers as stubs: no file system, no sockets.
//! Each answers exactly what Envoy 1.40 answers (proxy-wasm-cpp-host
//! `src/exports.cc`), including the output words it zeroes first, and has
//! Envoy's signature (`path_symlink` and `path_link` take one argument
//! fewer than WASI's: a module declaring WASI's form is refused, by Envoy too).

use super::{errno, EBADF, ENOTSUP, ESUCCESS};
use crate::memory::{write, write_u32, write_u64, Cx};

const ENOSYS: i32 = 52;
const ENOENT: i32 = 44;
const ENOTDIR: i32 = 20;

/// stdout and stderr: the only descriptors Envoy knows.
fn std_fd(fd: i32) -> bool {
    fd == 1 || fd == 2
}

/// `ok` for stdout/stderr, `EBADF` otherwise.
fn on_std(fd: i32, ok: i32) -> wasmtime::Result<i32> {
    Ok(if std_fd(fd) { ok } else { EBADF })
}

/// Zeroes an output word, then answers `then` (`EFAULT` if the word is bad).
fn zero_then(r: Result<(), crate::memory::Fail>, then: i32) -> wasmtime::Result<i32> {
    Ok(match errno(r)? {
        ESUCCESS => then,
        e => e,
    })
}

/// Registers the stubs under WASI module `m`.
pub(super) fn add_to_linker(
    l: &mut crate::hostcalls::Registry<'_>,
    m: &'static str,
) -> wasmtime::Result<()> {
    type C<'a> = Cx<'a>;
    // Reading, seeking and closing.
    l.func_wrap(m, "fd_read", |_: C<'_>, _: i32, _: i32, _: i32, _: i32| {
        Ok(ENOSYS)
    })?;
    l.func_wrap(
        m,
        "fd_pread",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i64, _: i32| Ok(ENOSYS),
    )?;
    l.func_wrap(m, "fd_seek", |_: C<'_>, _: i32, _: i64, _: i32, _: i32| {
        Ok(ESUCCESS)
    })?;
    l.func_wrap(m, "fd_close", |_: C<'_>, _: i32| Ok(ESUCCESS))?;
    l.func_wrap(m, "fd_tell", |mut cx: C<'_>, fd: i32, rp: u32| {
        if !std_fd(fd) {
            return Ok(EBADF);
        }
        errno(write_u64(&mut cx, rp, 0))
    })?;
    // Descriptor state.
    l.func_wrap(m, "fd_fdstat_get", |mut cx: C<'_>, fd: i32, buf: u32| {
        if !std_fd(fd) {
            return Ok(EBADF);
        }
        // Three u64 words, rights_base = FD_WRITE (64); Envoy ignores a bad pointer.
        let mut stat = [0u8; 24];
        stat[8] = 64;
        let _ = write(&mut cx, buf, &stat);
        Ok(ESUCCESS)
    })?;
    l.func_wrap(m, "fd_fdstat_set_flags", |_: C<'_>, _: i32, _: i32| {
        Ok(ENOSYS)
    })?;
    l.func_wrap(
        m,
        "fd_fdstat_set_rights",
        |_: C<'_>, fd: i32, _: i64, _: i64| on_std(fd, ESUCCESS),
    )?;
    l.func_wrap(
        m,
        "fd_advise",
        |_: C<'_>, _: i32, _: i64, _: i64, _: i32| Ok(ESUCCESS),
    )?;
    l.func_wrap(m, "fd_allocate", |_: C<'_>, fd: i32, _: i64, _: i64| {
        on_std(fd, ESUCCESS)
    })?;
    l.func_wrap(m, "fd_datasync", |_: C<'_>, fd: i32| on_std(fd, ESUCCESS))?;
    l.func_wrap(m, "fd_sync", |_: C<'_>, fd: i32| on_std(fd, ESUCCESS))?;
    l.func_wrap(m, "fd_filestat_get", |_: C<'_>, _: i32, _: i32| Ok(EBADF))?;
    l.func_wrap(m, "fd_filestat_set_size", |_: C<'_>, fd: i32, _: i64| {
        on_std(fd, ESUCCESS)
    })?;
    l.func_wrap(
        m,
        "fd_filestat_set_times",
        |_: C<'_>, fd: i32, _: i64, _: i64, _: i32| on_std(fd, ESUCCESS),
    )?;
    l.func_wrap(m, "fd_renumber", |_: C<'_>, fd: i32, to: i32| {
        Ok(if std_fd(fd) && std_fd(to) {
            ENOTSUP
        } else {
            EBADF
        })
    })?;
    l.func_wrap(
        m,
        "fd_readdir",
        |mut cx: C<'_>, _: i32, _: i32, _: i32, _: i64, np: u32| {
            zero_then(write_u32(&mut cx, np, 0), ENOTDIR)
        },
    )?;
    // Preopened directories: none.
    l.func_wrap(m, "fd_prestat_get", |_: C<'_>, _: i32, _: i32| Ok(EBADF))?;
    l.func_wrap(
        m,
        "fd_prestat_dir_name",
        |_: C<'_>, _: i32, _: i32, _: i32| Ok(ENOSYS),
    )?;
    // Paths.
    l.func_wrap(
        m,
        "path_open",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i64, _: i64, _: i32, _: i32| {
            Ok(ENOENT)
        },
    )?;
    l.func_wrap(
        m,
        "path_filestat_get",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i32, _: i32| Ok(ENOTSUP),
    )?;
    l.func_wrap(
        m,
        "path_filestat_set_times",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i32, _: i64, _: i64, _: i32| Ok(ENOTSUP),
    )?;
    l.func_wrap(
        m,
        "path_create_directory",
        |_: C<'_>, _: i32, _: i32, _: i32| Ok(ENOTSUP),
    )?;
    l.func_wrap(
        m,
        "path_remove_directory",
        |_: C<'_>, _: i32, _: i32, _: i32| Ok(ENOTSUP),
    )?;
    l.func_wrap(m, "path_unlink_file", |_: C<'_>, _: i32, _: i32, _: i32| {
        Ok(ENOTSUP)
    })?;
    l.func_wrap(
        m,
        "path_link",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32| Ok(ENOTSUP),
    )?;
    l.func_wrap(
        m,
        "path_rename",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32| Ok(ENOTSUP),
    )?;
    l.func_wrap(
        m,
        "path_symlink",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i32| Ok(ENOTSUP),
    )?;
    l.func_wrap(
        m,
        "path_readlink",
        |mut cx: C<'_>, _: i32, _: i32, _: i32, _: i32, _: i32, rp: u32| {
            zero_then(write_u32(&mut cx, rp, 0), ENOTSUP)
        },
    )?;
    // Sockets: none.
    l.func_wrap(
        m,
        "sock_accept",
        |mut cx: C<'_>, _: i32, _: i32, rp: u32| zero_then(write_u64(&mut cx, rp, 0), ENOTSUP),
    )?;
    l.func_wrap(
        m,
        "sock_recv",
        |mut cx: C<'_>, _: i32, _: i32, _: i32, _: i32, np: u32, fp: u32| {
            let r = write_u32(&mut cx, np, 0).and_then(|_| write(&mut cx, fp, &[0, 0]));
            zero_then(r, ENOTSUP)
        },
    )?;
    l.func_wrap(
        m,
        "sock_send",
        |mut cx: C<'_>, _: i32, _: i32, _: i32, _: i32, np: u32| {
            zero_then(write_u32(&mut cx, np, 0), ENOTSUP)
        },
    )?;
    l.func_wrap(m, "sock_shutdown", |_: C<'_>, _: i32, _: i32| Ok(ENOTSUP))?;
    // Scheduling: one thread, nothing to wait for.
    l.func_wrap(m, "sched_yield", |_: C<'_>| Ok(ESUCCESS))?;
    l.func_wrap(
        m,
        "poll_oneoff",
        |mut cx: C<'_>, _: i32, _: i32, _: i32, np: u32| {
            // Go's runtime needs success here; no events are reported.
            zero_then(write_u32(&mut cx, np, 0), ESUCCESS)
        },
    )?;
    Ok(())
}
