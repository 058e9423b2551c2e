//! Shared data, shared queues and metrics: `proxy_get_shared_data`,
//! `proxy_set_shared_data`, `proxy_register_shared_queue`,
//! `proxy_resolve_shared_queue`, `proxy_enqueue_shared_queue`,
//! `proxy_dequeue_shared_queue`, `proxy_define_metric`,
//! `proxy_increment_metric`, `proxy_record_metric`, `proxy_get_metric`.

use crate::memory::{copy_out, finish, read, read_str, write_u32, write_u64, Cx, Fail};
use crate::shared::MetricKind;
use crate::types::Status;

fn get_shared_data(
    cx: &mut Cx<'_>,
    kp: u32,
    kl: u32,
    vpp: u32,
    vsp: u32,
    casp: u32,
) -> Result<(), Fail> {
    let key = read(cx, kp, kl)?;
    let (value, cas) = cx.data().host.shared.get_data(&key)?;
    copy_out(cx, &value, vpp, vsp)?;
    write_u32(cx, casp, cas)
}

fn set_shared_data(
    cx: &mut Cx<'_>,
    kp: u32,
    kl: u32,
    vp: u32,
    vl: u32,
    cas: u32,
) -> Result<(), Fail> {
    let key = read(cx, kp, kl)?;
    let value = read(cx, vp, vl)?;
    match cx.data().host.shared.set_data(&key, &value, cas) {
        Status::Ok => Ok(()),
        s => Err(s.into()),
    }
}

fn register_queue(cx: &mut Cx<'_>, np: u32, nl: u32, idp: u32) -> Result<(), Fail> {
    let name = read_str(cx, np, nl)?;
    let st = cx.data();
    // Readiness goes to the root context, like Envoy's queue registration.
    let token = st.host.shared.register_queue(
        &st.host.config.vm_id,
        &name,
        st.vm_index,
        st.root_context_id,
    );
    write_u32(cx, idp, token)
}

fn resolve_queue(
    cx: &mut Cx<'_>,
    vp: u32,
    vl: u32,
    np: u32,
    nl: u32,
    idp: u32,
) -> Result<(), Fail> {
    let vm_id = read_str(cx, vp, vl)?;
    let name = read_str(cx, np, nl)?;
    let token = cx
        .data()
        .host
        .shared
        .resolve_queue(&vm_id, &name)
        .ok_or(Status::NotFound)?;
    write_u32(cx, idp, token)
}

fn dequeue(cx: &mut Cx<'_>, token: u32, pp: u32, sp: u32) -> Result<(), Fail> {
    let item = cx.data().host.shared.dequeue(token)?;
    copy_out(cx, &item, pp, sp)
}

fn enqueue(cx: &mut Cx<'_>, token: u32, vp: u32, vl: u32) -> Result<(), Fail> {
    let value = read(cx, vp, vl)?;
    match cx.data().host.shared.enqueue(token, &value) {
        Status::Ok => Ok(()),
        s => Err(s.into()),
    }
}

/// Envoy numbers metric ids `type | (n << 2)`: the low two bits are the kind.
fn kind_of(id: u32) -> Option<MetricKind> {
    match id & 3 {
        0 => Some(MetricKind::Counter),
        1 => Some(MetricKind::Gauge),
        2 => Some(MetricKind::Histogram),
        _ => None,
    }
}

fn define_metric(cx: &mut Cx<'_>, ty: u32, np: u32, nl: u32, idp: u32) -> Result<(), Fail> {
    let kind = kind_of(ty).filter(|_| ty <= 2).ok_or(Status::BadArgument)?;
    let name = read_str(cx, np, nl)?;
    let st = cx.data_mut();
    st.next_metric[ty as usize] += 4;
    let id = st.next_metric[ty as usize];
    st.metric_ids.insert(id, name.clone());
    st.host.shared.define_metric(&name, kind);
    write_u32(cx, idp, id)
}

fn metric_name(cx: &Cx<'_>, id: u32) -> Result<(MetricKind, String), Status> {
    let kind = kind_of(id).ok_or(Status::BadArgument)?;
    let name = cx.data().metric_ids.get(&id).ok_or(Status::NotFound)?;
    Ok((kind, name.clone()))
}

fn increment(cx: &Cx<'_>, id: u32, offset: i64) -> Result<(), Fail> {
    let (kind, name) = metric_name(cx, id)?;
    let shared = &cx.data().host.shared;
    let r = shared.with_metric(&name, |m| match kind {
        MetricKind::Counter if offset > 0 => {
            m.value = m.value.wrapping_add(offset as u64);
            Status::Ok
        }
        MetricKind::Counter | MetricKind::Histogram => Status::BadArgument,
        MetricKind::Gauge => {
            m.value = m.value.wrapping_add(offset as u64);
            Status::Ok
        }
    });
    match r.unwrap_or(Status::NotFound) {
        Status::Ok => Ok(()),
        s => Err(s.into()),
    }
}

fn record(cx: &Cx<'_>, id: u32, value: u64) -> Result<(), Fail> {
    let (kind, name) = metric_name(cx, id).map_err(|_| Status::NotFound)?;
    let shared = &cx.data().host.shared;
    shared
        .with_metric(&name, |m| match kind {
            MetricKind::Counter => m.value = m.value.wrapping_add(value),
            MetricKind::Gauge => m.value = value,
            MetricKind::Histogram => {
                m.value += 1;
                m.samples.push(value);
            }
        })
        .ok_or(Status::NotFound)?;
    Ok(())
}

fn get_metric(cx: &mut Cx<'_>, id: u32, rp: u32) -> Result<(), Fail> {
    let (kind, name) = metric_name(cx, id)?;
    if kind == MetricKind::Histogram {
        return Err(Status::BadArgument.into());
    }
    let v = cx.data().host.shared.with_metric(&name, |m| m.value);
    write_u64(cx, rp, v.ok_or(Status::NotFound)?)
}

/// Registers shared data, queue and metric hostcalls.
pub(crate) fn add_to_linker(l: &mut super::Registry<'_>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_shared_data",
        |mut cx: Cx<'_>, kp: u32, kl: u32, vpp: u32, vsp: u32, casp: u32| {
            finish(get_shared_data(&mut cx, kp, kl, vpp, vsp, casp))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_shared_data",
        |mut cx: Cx<'_>, kp: u32, kl: u32, vp: u32, vl: u32, cas: u32| {
            finish(set_shared_data(&mut cx, kp, kl, vp, vl, cas))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_register_shared_queue",
        |mut cx: Cx<'_>, np: u32, nl: u32, idp: u32| finish(register_queue(&mut cx, np, nl, idp)),
    )?;
    l.func_wrap(
        "env",
        "proxy_resolve_shared_queue",
        |mut cx: Cx<'_>, vp: u32, vl: u32, np: u32, nl: u32, idp: u32| {
            finish(resolve_queue(&mut cx, vp, vl, np, nl, idp))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_dequeue_shared_queue",
        |mut cx: Cx<'_>, token: u32, pp: u32, sp: u32| finish(dequeue(&mut cx, token, pp, sp)),
    )?;
    l.func_wrap(
        "env",
        "proxy_enqueue_shared_queue",
        |mut cx: Cx<'_>, token: u32, vp: u32, vl: u32| finish(enqueue(&mut cx, token, vp, vl)),
    )?;
    l.func_wrap(
        "env",
        "proxy_define_metric",
        |mut cx: Cx<'_>, ty: u32, np: u32, nl: u32, idp: u32| {
            finish(define_metric(&mut cx, ty, np, nl, idp))
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_increment_metric",
        |cx: Cx<'_>, id: u32, offset: i64| finish(increment(&cx, id, offset)),
    )?;
    l.func_wrap(
        "env",
        "proxy_record_metric",
        |cx: Cx<'_>, id: u32, value: u64| finish(record(&cx, id, value)),
    )?;
    l.func_wrap(
        "env",
        "proxy_get_metric",
        |mut cx: Cx<'_>, id: u32, rp: u32| finish(get_metric(&mut cx, id, rp)),
    )?;
    Ok(())
}
