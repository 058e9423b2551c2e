//! Safe access to guest memory from a hostcall: every pointer and length comes
//! from the guest, so every access is bounds-checked and a bad one becomes
//! `InvalidMemoryAccess`, never a host panic.

use crate::state::VmState;
use crate::types::Status;
use wasmtime::Caller;

/// Why a hostcall did not return `Ok`: a status for the guest, or a trap.
pub(crate) enum Fail {
    /// Return this status to the guest.
    Status(Status),
    /// Abort the guest (its allocator trapped).
    Trap(wasmtime::Error),
}

impl From<Status> for Fail {
    fn from(s: Status) -> Self {
        Fail::Status(s)
    }
}

/// The caller type every hostcall receives.
pub(crate) type Cx<'a> = Caller<'a, VmState>;

/// Turns a hostcall body's result into the `u32` status the guest reads.
pub(crate) fn finish(r: Result<(), Fail>) -> wasmtime::Result<u32> {
    match r {
        Ok(()) => Ok(Status::Ok as u32),
        Err(Fail::Status(s)) => Ok(s as u32),
        Err(Fail::Trap(e)) => Err(e),
    }
}

/// Reads `len` bytes at `ptr` from guest memory.
pub(crate) fn read(cx: &Cx<'_>, ptr: u32, len: u32) -> Result<Vec<u8>, Fail> {
    let mem = cx.data().memory.ok_or(Status::InvalidMemoryAccess)?;
    let data = mem.data(cx);
    let start = ptr as usize;
    let end = start
        .checked_add(len as usize)
        .ok_or(Status::InvalidMemoryAccess)?;
    Ok(data
        .get(start..end)
        .ok_or(Status::InvalidMemoryAccess)?
        .to_vec())
}

/// Reads a UTF-8 string (lossily) at `ptr`.
pub(crate) fn read_str(cx: &Cx<'_>, ptr: u32, len: u32) -> Result<String, Fail> {
    Ok(crate::types::lossy(&read(cx, ptr, len)?))
}

/// Writes `bytes` at `ptr` in guest memory.
pub(crate) fn write(cx: &mut Cx<'_>, ptr: u32, bytes: &[u8]) -> Result<(), Fail> {
    let mem = cx.data().memory.ok_or(Status::InvalidMemoryAccess)?;
    let data = mem.data_mut(cx);
    let start = ptr as usize;
    let end = start
        .checked_add(bytes.len())
        .ok_or(Status::InvalidMemoryAccess)?;
    data.get_mut(start..end)
        .ok_or(Status::InvalidMemoryAccess)?
        .copy_from_slice(bytes);
    Ok(())
}

/// Writes a little-endian `u32` at `ptr`.
pub(crate) fn write_u32(cx: &mut Cx<'_>, ptr: u32, v: u32) -> Result<(), Fail> {
    write(cx, ptr, &v.to_le_bytes())
}

/// Writes a little-endian `u64` at `ptr`.
pub(crate) fn write_u64(cx: &mut Cx<'_>, ptr: u32, v: u64) -> Result<(), Fail> {
    write(cx, ptr, &v.to_le_bytes())
}

/// Copies `bytes` into memory the guest allocates (its `malloc` /
/// `proxy_on_memory_allocate`), then writes the pointer and size to
/// `ptr_ptr` and `size_ptr`. Empty data gives pointer 0, like Envoy.
pub(crate) fn copy_out(
    cx: &mut Cx<'_>,
    bytes: &[u8],
    ptr_ptr: u32,
    size_ptr: u32,
) -> Result<(), Fail> {
    let mut ptr = 0u32;
    if !bytes.is_empty() {
        let len = u32::try_from(bytes.len()).map_err(|_| Status::InvalidMemoryAccess)?;
        let malloc = cx
            .data()
            .malloc
            .clone()
            .ok_or(Status::InvalidMemoryAccess)?;
        ptr = malloc.call(&mut *cx, len).map_err(Fail::Trap)?;
        if ptr == 0 {
            return Err(Status::InvalidMemoryAccess.into());
        }
        write(cx, ptr, bytes)?;
    }
    write_u32(cx, ptr_ptr, ptr)?;
    write_u32(cx, size_ptr, bytes.len() as u32)
}

/// Runs `f` so a hostcall body can use `?` inline.
pub(crate) fn try_block<T>(f: impl FnOnce() -> Result<T, Fail>) -> Result<T, Fail> {
    f()
}
