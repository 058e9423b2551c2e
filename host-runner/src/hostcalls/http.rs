//! Stream control and outgoing calls: `proxy_send_local_response`,
//! `proxy_continue_stream`, `proxy_close_stream`, `proxy_http_call` (gRPC
//! calls are in `grpc.rs`).

use crate::memory::{finish, read, read_str, write_u32, Cx, Fail};
use crate::state::{LocalResponse, PendingCallout, VmState};
use crate::types::{deserialize_map, lossy, stream_type, Status};

#[allow(clippy::too_many_arguments)]
fn http_call(
    cx: &mut Cx<'_>,
    up: (u32, u32),
    hdr: (u32, u32),
    body: (u32, u32),
    trl: (u32, u32),
    timeout_ms: u32,
    tokenp: u32,
) -> Result<(), Fail> {
    let upstream = read_str(cx, up.0, up.1)?;
    let headers = deserialize_map(&read(cx, hdr.0, hdr.1)?).ok_or(Status::BadArgument)?;
    let body = read(cx, body.0, body.1)?;
    let _trailers = read(cx, trl.0, trl.1)?;
    let st = cx.data_mut();
    if !st.host.config.clusters.contains_key(&upstream) {
        return Err(Status::BadArgument.into());
    }
    // Envoy refuses a call without :method, :path and :authority.
    for required in [":method", ":path", ":authority"] {
        if !headers.iter().any(|(k, _)| k == required) {
            return Err(Status::BadArgument.into());
        }
    }
    let token = st.next_callout;
    st.next_callout = st.next_callout.wrapping_add(4);
    // Envoy makes the call for the caller's root context and answers there
    // (proxy-wasm-cpp-host `exports.cc`: `root_context()->httpCall`).
    let context_id = st.root_context_id;
    st.callouts.push(PendingCallout {
        token,
        context_id,
        upstream,
        headers,
        body,
        timeout_ms,
    });
    write_u32(cx, tokenp, token)
}

#[allow(clippy::too_many_arguments)]
fn local_response(
    cx: &mut Cx<'_>,
    status: u32,
    details: (u32, u32),
    body: (u32, u32),
    hdr: (u32, u32),
    grpc_status: i32,
) -> Result<(), Fail> {
    let details = read_str(cx, details.0, details.1)?;
    let body = lossy(&read(cx, body.0, body.1)?);
    let headers = deserialize_map(&read(cx, hdr.0, hdr.1)?).ok_or(Status::BadArgument)?;
    if let Some(stream) = cx.data_mut().stream() {
        stream.local_response = Some(LocalResponse {
            status,
            details,
            body,
            headers,
            grpc_status,
        });
    }
    Ok(())
}

fn stream_control(st: &mut VmState, ty: u32, close: bool) -> Result<(), Fail> {
    let Some(stream) = st.stream() else {
        return Err(Status::NotFound.into());
    };
    match (ty, close) {
        (stream_type::HTTP_REQUEST, false) => stream.request_resumed = true,
        (stream_type::HTTP_RESPONSE, false) => stream.response_resumed = true,
        (stream_type::HTTP_REQUEST | stream_type::HTTP_RESPONSE, true) => stream.reset = true,
        _ => return Err(Status::BadArgument.into()),
    }
    Ok(())
}

/// Registers stream-control and call hostcalls.
pub(crate) fn add_to_linker(l: &mut super::Registry<'_>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_http_call",
        |mut cx: Cx<'_>,
         a: u32,
         b: u32,
         c: u32,
         d: u32,
         e: u32,
         f: u32,
         g: u32,
         h: u32,
         t: u32,
         tp: u32| { finish(http_call(&mut cx, (a, b), (c, d), (e, f), (g, h), t, tp)) },
    )?;
    l.func_wrap(
        "env",
        "proxy_send_local_response",
        |mut cx: Cx<'_>, s: u32, a: u32, b: u32, c: u32, d: u32, e: u32, f: u32, g: i32| {
            finish(local_response(&mut cx, s, (a, b), (c, d), (e, f), g))
        },
    )?;
    l.func_wrap("env", "proxy_continue_stream", |mut cx: Cx<'_>, ty: u32| {
        finish(stream_control(cx.data_mut(), ty, false))
    })?;
    l.func_wrap("env", "proxy_close_stream", |mut cx: Cx<'_>, ty: u32| {
        finish(stream_control(cx.data_mut(), ty, true))
    })?;
    Ok(())
}
