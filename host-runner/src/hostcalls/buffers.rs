//! Byte buffers and properties: `proxy_get_buffer_bytes`,
//! `proxy_get_buffer_status`, `proxy_set_buffer_bytes`, `proxy_get_property`,
//! `proxy_set_property` (Envoy registers `proxy_get_configuration` for ABI
//! 0.1.0 only, which this host does not run).

use crate::memory::{copy_out, finish, read, try_block, write_u32, Cx, Fail};
use crate::state::{Phase, VmState};
use crate::types::{buffer_type, serialize_map, HeaderMap, Status};

/// The buffer `ty` as the active callback sees it, or `NotFound`.
fn buffer(st: &mut VmState, ty: u32) -> Result<Vec<u8>, Status> {
    let found = match ty {
        buffer_type::VM_CONFIGURATION if st.phase == Phase::VmStart => {
            Some(st.host.config.vm_config.clone())
        }
        buffer_type::PLUGIN_CONFIGURATION if st.phase == Phase::Configure => {
            Some(st.host.config.plugin_config.clone())
        }
        buffer_type::HTTP_CALL_RESPONSE_BODY => st.answer.as_ref().map(|a| a.body.clone()),
        buffer_type::GRPC_RECEIVE_BUFFER => st.grpc_received.clone(),
        buffer_type::HTTP_REQUEST_BODY => st.stream().and_then(|s| s.request_body.clone()),
        buffer_type::HTTP_RESPONSE_BODY => st.stream().and_then(|s| s.response_body.clone()),
        _ => None,
    };
    found.ok_or(Status::NotFound)
}

fn get_bytes(cx: &mut Cx<'_>, ty: u32, start: u32, max: u32, pp: u32, sp: u32) -> Result<(), Fail> {
    let buf = buffer(cx.data_mut(), ty)?;
    let (start, max) = (start as usize, max as usize);
    start.checked_add(max).ok_or(Status::BadArgument)?;
    let end = buf.len().min(start + max);
    if start >= end {
        // Nothing to copy: Envoy writes a null pointer and size 0 (an empty
        // plugin configuration reads this way; confirmed in Envoy 1.40).
        write_u32(cx, pp, 0)?;
        return write_u32(cx, sp, 0);
    }
    copy_out(cx, &buf[start..end], pp, sp)
}

fn set_bytes(
    cx: &mut Cx<'_>,
    ty: u32,
    start: u32,
    size: u32,
    dp: u32,
    dl: u32,
) -> Result<(), Fail> {
    let data = read(cx, dp, dl)?;
    let stream = cx.data_mut().stream().ok_or(Status::NotFound)?;
    let buf = match ty {
        buffer_type::HTTP_REQUEST_BODY => stream.request_body.get_or_insert_with(Vec::new),
        buffer_type::HTTP_RESPONSE_BODY => stream.response_body.get_or_insert_with(Vec::new),
        _ => return Err(Status::BadArgument.into()),
    };
    // Envoy's Buffer::copyFrom: start 0 drains `size` then prepends; start at
    // or past the end appends; anything else is BadArgument.
    let (start, size) = (start as usize, size as usize);
    if start == 0 {
        let drain = size.min(buf.len());
        buf.drain(..drain);
        buf.splice(0..0, data);
    } else if start >= buf.len() {
        buf.extend_from_slice(&data);
    } else {
        return Err(Status::BadArgument.into());
    }
    Ok(())
}

/// Turns a dotted path (`"source.address"`) into the ABI form (NUL-joined).
/// A segment that contains a dot writes it as `\.` (`"metadata.a\.b"` is
/// the two segments `metadata` and `a.b`); `\\` is a backslash.
pub fn property_path(dotted: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(dotted.len());
    let mut chars = dotted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next) => out.extend_from_slice(next.to_string().as_bytes()),
                None => out.push(b'\\'),
            },
            '.' => out.push(0),
            c => out.extend_from_slice(c.to_string().as_bytes()),
        }
    }
    out
}

fn header_value(map: Option<&HeaderMap>, name: &str) -> Option<Vec<u8>> {
    let map = map?;
    map.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone().into_bytes())
}

/// Envoy's attribute lookup: explicitly set values first, then values
/// derived from the headers, then plugin attributes.
fn property(st: &mut VmState, path: &[u8]) -> Option<Vec<u8>> {
    let host = st.host.clone();
    let segs: Vec<String> = path.split(|b| *b == 0).map(crate::types::lossy).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    if let Some(stream) = st.stream() {
        if let Some(v) = stream.properties.get(path) {
            return Some(v.clone());
        }
        let req = stream.request_headers.as_ref();
        let resp = stream.response_headers.as_ref();
        let derived = match segs.as_slice() {
            ["request", "path"] => header_value(req, ":path"),
            ["request", "url_path"] => header_value(req, ":path")
                .map(|p| p.split(|b| *b == b'?').next().unwrap_or_default().to_vec()),
            ["request", "method"] => header_value(req, ":method"),
            ["request", "host"] => header_value(req, ":authority"),
            ["request", "scheme"] => header_value(req, ":scheme"),
            ["request", "id"] => header_value(req, "x-request-id"),
            ["request", "useragent"] => header_value(req, "user-agent"),
            ["request", "referer"] => header_value(req, "referer"),
            ["request", "headers"] => req.map(|m| serialize_map(m)),
            ["request", "headers", name] => header_value(req, &name.to_ascii_lowercase()),
            ["response", "code"] => header_value(resp, ":status")
                .and_then(|s| crate::types::lossy(&s).parse::<i64>().ok())
                .map(|c| c.to_le_bytes().to_vec()),
            ["response", "headers"] => resp.map(|m| serialize_map(m)),
            ["response", "headers", name] => header_value(resp, &name.to_ascii_lowercase()),
            _ => None,
        };
        if derived.is_some() {
            return derived;
        }
    }
    if let Some(v) = host.config.properties.get(path) {
        return Some(v.clone());
    }
    match segs.as_slice() {
        ["plugin_name"] => Some(host.config.plugin_name.clone().into_bytes()),
        ["plugin_root_id"] => Some(host.config.root_id.clone().into_bytes()),
        ["plugin_vm_id"] => Some(host.config.vm_id.clone().into_bytes()),
        _ => None,
    }
}

fn get_property(cx: &mut Cx<'_>, p: u32, l: u32, vpp: u32, vsp: u32) -> Result<(), Fail> {
    let path = read(cx, p, l)?;
    let value = property(cx.data_mut(), &path).ok_or(Status::NotFound)?;
    copy_out(cx, &value, vpp, vsp)
}

fn set_property(cx: &mut Cx<'_>, p: u32, l: u32, vp: u32, vl: u32) -> Result<(), Fail> {
    let path = read(cx, p, l)?;
    let value = read(cx, vp, vl)?;
    // Envoy keeps properties in the request's stream info: none on a root context.
    let stream = cx.data_mut().stream().ok_or(Status::NotFound)?;
    stream.properties.insert(path, value);
    Ok(())
}

/// Registers the buffer and property hostcalls.
pub(crate) fn add_to_linker(l: &mut super::Registry<'_>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut cx: Cx<'_>, ty: u32, start: u32, max: u32, pp: u32, sp: u32| {
            finish(get_bytes(&mut cx, ty, start, max, pp, sp))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_buffer_status",
        |mut cx: Cx<'_>, ty: u32, lp: u32, fp: u32| {
            finish(try_block(|| {
                let n = buffer(cx.data_mut(), ty)?.len() as u32;
                write_u32(&mut cx, lp, n)?;
                write_u32(&mut cx, fp, 0)
            }))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_buffer_bytes",
        |mut cx: Cx<'_>, ty: u32, start: u32, size: u32, dp: u32, dl: u32| {
            finish(set_bytes(&mut cx, ty, start, size, dp, dl))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_property",
        |mut cx: Cx<'_>, p: u32, len: u32, vpp: u32, vsp: u32| {
            finish(get_property(&mut cx, p, len, vpp, vsp))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_property",
        |mut cx: Cx<'_>, p: u32, len: u32, vp: u32, vl: u32| {
            finish(set_property(&mut cx, p, len, vp, vl))
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn property_paths_split_on_unescaped_dots() {
        assert_eq!(super::property_path("source.address"), b"source\0address");
        assert_eq!(super::property_path("metadata.a\\.b"), b"metadata\0a.b");
        assert_eq!(super::property_path("x\\\\y"), b"x\\y");
    }
}
