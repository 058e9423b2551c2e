//! Header and trailer maps: `proxy_get_header_map_value`,
//! `proxy_replace_header_map_value`, `proxy_add_header_map_value`,
//! `proxy_remove_header_map_value`, `proxy_get_header_map_pairs`,
//! `proxy_set_header_map_pairs`.
//!
//! Envoy's rules: names are lower-cased; a map that does not exist in the
//! current callback is `BadArgument`; a missing header is `NotFound`; `get`
//! returns the first value; `replace` removes every value and appends the new
//! one at the end.

use crate::memory::{copy_out, finish, read, read_str, try_block, Cx, Fail};
use crate::state::VmState;
use crate::types::{deserialize_map, map_type, serialize_map, HeaderMap, Status};

/// The map `ty` of the active context, if it exists now.
pub(crate) fn map_mut(st: &mut VmState, ty: u32) -> Result<&mut HeaderMap, Status> {
    let found = match ty {
        map_type::HTTP_CALL_RESPONSE_HEADERS => st.answer.as_mut().and_then(|a| a.headers.as_mut()),
        map_type::HTTP_CALL_RESPONSE_TRAILERS => {
            st.answer.as_mut().and_then(|a| a.trailers.as_mut())
        }
        _ => {
            let s = st.stream().ok_or(Status::BadArgument)?;
            match ty {
                map_type::REQUEST_HEADERS => s.request_headers.as_mut(),
                map_type::REQUEST_TRAILERS => s.request_trailers.as_mut(),
                map_type::RESPONSE_HEADERS => s.response_headers.as_mut(),
                map_type::RESPONSE_TRAILERS => s.response_trailers.as_mut(),
                _ => None,
            }
        }
    };
    found.ok_or(Status::BadArgument)
}

fn get_value(cx: &mut Cx<'_>, ty: u32, kp: u32, kl: u32, vpp: u32, vsp: u32) -> Result<(), Fail> {
    let key = read_str(cx, kp, kl)?.to_ascii_lowercase();
    let map = map_mut(cx.data_mut(), ty)?;
    let value = map.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
    let value = value.ok_or(Status::NotFound)?;
    copy_out(cx, value.as_bytes(), vpp, vsp)
}

fn replace_value(cx: &mut Cx<'_>, ty: u32, kp: u32, kl: u32, vp: u32, vl: u32) -> Result<(), Fail> {
    let key = read_str(cx, kp, kl)?.to_ascii_lowercase();
    let value = read_str(cx, vp, vl)?;
    let map = map_mut(cx.data_mut(), ty)?;
    // Envoy's `setCopy`: every value goes, the new one is appended at the end
    // (the fidelity test sees the header move behind `x-request-id`).
    map.retain(|(k, _)| *k != key);
    map.push((key, value));
    Ok(())
}

fn add_value(cx: &mut Cx<'_>, ty: u32, kp: u32, kl: u32, vp: u32, vl: u32) -> Result<(), Fail> {
    let key = read_str(cx, kp, kl)?.to_ascii_lowercase();
    let value = read_str(cx, vp, vl)?;
    map_mut(cx.data_mut(), ty)?.push((key, value));
    Ok(())
}

fn remove_value(cx: &mut Cx<'_>, ty: u32, kp: u32, kl: u32) -> Result<(), Fail> {
    let key = read_str(cx, kp, kl)?.to_ascii_lowercase();
    map_mut(cx.data_mut(), ty)?.retain(|(k, _)| *k != key);
    Ok(())
}

fn get_pairs(cx: &mut Cx<'_>, ty: u32, pp: u32, sp: u32) -> Result<(), Fail> {
    let bytes = serialize_map(map_mut(cx.data_mut(), ty)?);
    copy_out(cx, &bytes, pp, sp)
}

fn set_pairs(cx: &mut Cx<'_>, ty: u32, p: u32, l: u32) -> Result<(), Fail> {
    let raw = read(cx, p, l)?;
    let pairs = deserialize_map(&raw).ok_or(Status::BadArgument)?;
    let map = map_mut(cx.data_mut(), ty)?;
    // Envoy removes every existing header, then adds each pair.
    map.clear();
    for (k, v) in pairs {
        map.push((k.to_ascii_lowercase(), v));
    }
    Ok(())
}

/// Registers the header-map hostcalls.
pub(crate) fn add_to_linker(l: &mut super::Registry<'_>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_header_map_value",
        |mut cx: Cx<'_>, ty: u32, kp: u32, kl: u32, vpp: u32, vsp: u32| {
            finish(get_value(&mut cx, ty, kp, kl, vpp, vsp))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_replace_header_map_value",
        |mut cx: Cx<'_>, ty: u32, kp: u32, kl: u32, vp: u32, vl: u32| {
            finish(replace_value(&mut cx, ty, kp, kl, vp, vl))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_add_header_map_value",
        |mut cx: Cx<'_>, ty: u32, kp: u32, kl: u32, vp: u32, vl: u32| {
            finish(add_value(&mut cx, ty, kp, kl, vp, vl))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_remove_header_map_value",
        |mut cx: Cx<'_>, ty: u32, kp: u32, kl: u32| finish(remove_value(&mut cx, ty, kp, kl)),
    )?;
    l.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        |mut cx: Cx<'_>, ty: u32, pp: u32, sp: u32| finish(get_pairs(&mut cx, ty, pp, sp)),
    )?;
    l.func_wrap(
        "env",
        "proxy_set_header_map_pairs",
        |mut cx: Cx<'_>, ty: u32, p: u32, len: u32| finish(set_pairs(&mut cx, ty, p, len)),
    )?;
    l.func_wrap(
        "env",
        "proxy_get_header_map_size",
        |mut cx: Cx<'_>, ty: u32, sp: u32| {
            finish(try_block(|| {
                let n = serialize_map(map_mut(cx.data_mut(), ty)?).len() as u32;
                crate::memory::write_u32(&mut cx, sp, n)
            }))
        },
    )?;
    Ok(())
}
