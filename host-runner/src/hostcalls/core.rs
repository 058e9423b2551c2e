//! Logging, time, ticks, contexts and foreign functions: `proxy_log`,
//! `proxy_get_log_level`, `proxy_get_current_time_nanoseconds`,
//! `proxy_set_tick_period_milliseconds`, `proxy_set_effective_context`,
//! `proxy_done`, `proxy_call_foreign_function`.

use crate::memory::{copy_out, finish, read, read_str, write_u32, write_u64, Cx, Fail};
use crate::state::ForeignCall;
use crate::types::{LogLevel, Status};

fn log(cx: &mut Cx<'_>, level: u32, p: u32, l: u32) -> Result<(), Fail> {
    let level = LogLevel::from_u32(level).ok_or(Status::BadArgument)?;
    let message = read_str(cx, p, l)?;
    cx.data_mut().log(level, message);
    Ok(())
}

/// Foreign functions Envoy registers that take no effect on this host's model:
/// they succeed with no result. Anything else is `NotFound`, like Envoy.
const KNOWN_FOREIGN: &[&str] = &["clear_route_cache"];

fn foreign(
    cx: &mut Cx<'_>,
    np: u32,
    nl: u32,
    ap: u32,
    al: u32,
    rpp: u32,
    rsp: u32,
) -> Result<(), Fail> {
    let name = read_str(cx, np, nl)?;
    let args = read(cx, ap, al)?;
    let known = KNOWN_FOREIGN.contains(&name.as_str());
    cx.data_mut().foreign_calls.push(ForeignCall { name, args });
    if !known {
        return Err(Status::NotFound.into());
    }
    copy_out(cx, &[], rpp, rsp)
}

/// Registers the core hostcalls.
pub(crate) fn add_to_linker(l: &mut super::Registry<'_>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_log",
        |mut cx: Cx<'_>, level: u32, p: u32, len: u32| finish(log(&mut cx, level, p, len)),
    )?;
    // Envoy registers `proxy_get_log_level` for ABI 0.2.1 only.
    if l.abi() == crate::AbiVersion::V0_2_1 {
        l.func_wrap("env", "proxy_get_log_level", |mut cx: Cx<'_>, rp: u32| {
            let level = cx.data().host.config.log_level as u32;
            finish(write_u32(&mut cx, rp, level))
        })?;
    }
    l.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        |mut cx: Cx<'_>, rp: u32| {
            let now = cx.data().host.shared.now_nanos();
            finish(write_u64(&mut cx, rp, now))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        |mut cx: Cx<'_>, ms: u32| {
            let st = cx.data_mut();
            st.tick_period_ms = ms;
            st.next_tick_nanos = st
                .host
                .shared
                .now_nanos()
                .saturating_add(u64::from(ms).saturating_mul(1_000_000));
            finish(Ok(()))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_effective_context",
        |mut cx: Cx<'_>, id: u32| {
            let st = cx.data_mut();
            if id != st.root_context_id && !st.streams.contains_key(&id) {
                return finish(Err(Status::BadArgument.into()));
            }
            st.active_context = id;
            finish(Ok(()))
        },
    )?;
    l.func_wrap("env", "proxy_done", |_cx: Cx<'_>| finish(Ok(())))?;
    l.func_wrap(
        "env",
        "proxy_call_foreign_function",
        |mut cx: Cx<'_>, np: u32, nl: u32, ap: u32, al: u32, rpp: u32, rsp: u32| {
            finish(foreign(&mut cx, np, nl, ap, al, rpp, rsp))
        },
    )?;
    Ok(())
}
