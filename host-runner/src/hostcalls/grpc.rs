//! gRPC hostcalls: `proxy_grpc_call`, `proxy_grpc_stream`, `proxy_grpc_send`,
//! `proxy_grpc_cancel`, `proxy_grpc_close`, `proxy_get_status`, with Envoy
//! 1.40's statuses (`Context::grpcCall`, `grpcSend`, `grpcClose`,
//! `grpcCancel` in `source/extensions/common/wasm/context.cc`).
//!
//! A unary call to a cluster scripted for gRPC ([`crate::Upstream::Grpc`])
//! gets a token (5, 9, 13, …) and its answer after the callback returns
//! (`crate::grpc`). This host carries no gRPC to a real server: a call to any
//! other configured cluster, and any stream, is refused the way Envoy refuses
//! an unknown cluster (`ParseFailure`), with a host log line saying why.

use crate::grpc::PendingGrpc;
use crate::memory::{copy_out, finish, read, read_str, try_block, write_u32, Cx, Fail};
use crate::types::{deserialize_map, LogLevel, Status};
use crate::Upstream;

/// Envoy's callout kinds, in a token's two low bits.
const GRPC_CALL: u32 = 1;
const GRPC_STREAM: u32 = 2;

/// `ParseFailure` for a cluster Envoy would not find; for one it would call
/// but this host cannot, the same status and a log line naming the reason.
fn refuse(cx: &mut Cx<'_>, call: &str, cluster: &str, why: &str) -> Fail {
    if cx.data().host.config.clusters.contains_key(cluster) {
        let line = format!(
            "edgepick-host: {call} to cluster {cluster:?} refused as an unknown cluster \
             (ParseFailure): {why}; Envoy would make the call"
        );
        cx.data_mut().log(LogLevel::Warn, line);
    }
    Status::ParseFailure.into()
}

#[allow(clippy::too_many_arguments)]
fn grpc_call(
    cx: &mut Cx<'_>,
    cluster: (u32, u32),
    service: (u32, u32),
    method: (u32, u32),
    metadata: (u32, u32),
    message: (u32, u32),
    token_ptr: u32,
) -> Result<(), Fail> {
    let cluster = read_str(cx, cluster.0, cluster.1)?;
    let service = read_str(cx, service.0, service.1)?;
    let method = read_str(cx, method.0, method.1)?;
    let metadata = deserialize_map(&read(cx, metadata.0, metadata.1)?).unwrap_or_default();
    let message = read(cx, message.0, message.1)?;
    let scripted = matches!(
        cx.data().host.config.clusters.get(&cluster),
        Some(Upstream::Grpc(_))
    );
    if !scripted {
        let why = "gRPC reaches only clusters scripted for it (--grpc-scripted)";
        return Err(refuse(cx, "proxy_grpc_call", &cluster, why));
    }
    let st = cx.data_mut();
    let token = st.next_grpc_call;
    st.next_grpc_call = token.wrapping_add(4);
    st.grpc_calls.push(PendingGrpc {
        token,
        cluster,
        service,
        method,
        metadata,
        message,
    });
    write_u32(cx, token_ptr, token)
}

fn grpc_stream(cx: &mut Cx<'_>, cluster: (u32, u32), rest: [(u32, u32); 3]) -> Result<(), Fail> {
    let cluster = read_str(cx, cluster.0, cluster.1)?;
    for (p, l) in rest {
        read(cx, p, l)?;
    }
    let why = "gRPC streams are not modelled by this host";
    Err(refuse(cx, "proxy_grpc_stream", &cluster, why))
}

/// `proxy_grpc_send`: only a stream token is valid, and no stream is open.
fn grpc_send(cx: &Cx<'_>, token: u32, p: u32, len: u32) -> Result<(), Fail> {
    read(cx, p, len)?;
    Err(match token & 3 {
        GRPC_STREAM => Status::NotFound,
        _ => Status::BadArgument,
    }
    .into())
}

/// `proxy_grpc_cancel` / `proxy_grpc_close`: a pending call is dropped.
/// No stream is ever open here.
fn end_call(cx: &mut Cx<'_>, token: u32) -> Result<(), Fail> {
    match token & 3 {
        GRPC_CALL => {
            let calls = &mut cx.data_mut().grpc_calls;
            let before = calls.len();
            calls.retain(|c| c.token != token);
            if calls.len() == before {
                return Err(Status::NotFound.into());
            }
            Ok(())
        }
        GRPC_STREAM => Err(Status::NotFound.into()),
        _ => Err(Status::BadArgument.into()),
    }
}

/// Registers the gRPC hostcalls.
pub(crate) fn add_to_linker(l: &mut super::Registry<'_>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_grpc_call",
        |mut cx: Cx<'_>,
         a: u32,
         b: u32,
         c: u32,
         d: u32,
         e: u32,
         f: u32,
         g: u32,
         h: u32,
         i: u32,
         j: u32,
         _timeout_ms: u32,
         tp: u32| {
            finish(grpc_call(
                &mut cx,
                (a, b),
                (c, d),
                (e, f),
                (g, h),
                (i, j),
                tp,
            ))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_grpc_stream",
        |mut cx: Cx<'_>,
         a: u32,
         b: u32,
         c: u32,
         d: u32,
         e: u32,
         f: u32,
         g: u32,
         h: u32,
         _tp: u32| { finish(grpc_stream(&mut cx, (a, b), [(c, d), (e, f), (g, h)])) },
    )?;
    l.func_wrap(
        "env",
        "proxy_grpc_send",
        |cx: Cx<'_>, token: u32, p: u32, len: u32, _end: u32| finish(grpc_send(&cx, token, p, len)),
    )?;
    l.func_wrap("env", "proxy_grpc_cancel", |mut cx: Cx<'_>, token: u32| {
        finish(end_call(&mut cx, token))
    })?;
    l.func_wrap("env", "proxy_grpc_close", |mut cx: Cx<'_>, token: u32| {
        finish(end_call(&mut cx, token))
    })?;
    l.func_wrap(
        "env",
        "proxy_get_status",
        |mut cx: Cx<'_>, cp: u32, mpp: u32, msp: u32| {
            let status = cx.data().grpc_status.clone();
            finish(try_block(|| {
                write_u32(&mut cx, cp, status.code)?;
                copy_out(&mut cx, status.message.as_bytes(), mpp, msp)
            }))
        },
    )?;
    Ok(())
}
