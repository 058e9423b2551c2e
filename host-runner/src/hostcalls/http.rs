//! Stream control and outgoing calls: `proxy_send_local_response`,
//! `proxy_continue_stream`, `proxy_close_stream`, `proxy_http_call`, and the
//! gRPC calls (not carried here: refused with Envoy's status for an unknown
//! cluster, or `Unimplemented` with a log line for a configured one).

use crate::memory::{copy_out, finish, read, read_str, try_block, write_u32, Cx, Fail};
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
    let context_id = st.active_context;
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

/// gRPC is not carried by this host. A service that names no configured
/// cluster gets what Envoy answers for an unknown cluster, `ParseFailure`
/// (Envoy also tries to read the bytes as a `GrpcService` proto; this host
/// does not). A configured cluster gets `Unimplemented`, with a host log line
/// saying so, never a silent failure.
fn grpc_refused(cx: &mut Cx<'_>, call: &str, sp: u32, sl: u32) -> Result<(), Fail> {
    let service = read_str(cx, sp, sl)?;
    if !cx.data().host.config.clusters.contains_key(&service) {
        return Err(Status::ParseFailure.into());
    }
    let message = format!(
        "edgepick-host: {call} to cluster {service:?}: gRPC is not implemented by this host"
    );
    cx.data_mut().log(crate::types::LogLevel::Warn, message);
    Err(Status::Unimplemented.into())
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
    l.func_wrap(
        "env",
        "proxy_grpc_call",
        |mut cx: Cx<'_>,
         sp: u32,
         sl: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32| { finish(grpc_refused(&mut cx, "proxy_grpc_call", sp, sl)) },
    )?;
    l.func_wrap(
        "env",
        "proxy_grpc_stream",
        |mut cx: Cx<'_>,
         sp: u32,
         sl: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32,
         _: u32| { finish(grpc_refused(&mut cx, "proxy_grpc_stream", sp, sl)) },
    )?;
    l.func_wrap(
        "env",
        "proxy_grpc_send",
        |_cx: Cx<'_>, _: u32, _: u32, _: u32, _: u32| finish(Err(Status::NotFound.into())),
    )?;
    l.func_wrap("env", "proxy_grpc_cancel", |_cx: Cx<'_>, _: u32| {
        finish(Err(Status::NotFound.into()))
    })?;
    l.func_wrap("env", "proxy_grpc_close", |_cx: Cx<'_>, _: u32| {
        finish(Err(Status::NotFound.into()))
    })?;
    l.func_wrap(
        "env",
        "proxy_get_status",
        |mut cx: Cx<'_>, cp: u32, mpp: u32, msp: u32| {
            finish(try_block(|| {
                write_u32(&mut cx, cp, 0)?;
                copy_out(&mut cx, &[], mpp, msp)
            }))
        },
    )?;
    Ok(())
}
