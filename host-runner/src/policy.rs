//! Envoy's fault policy around [`Vm::run_http`]: once the guest faults, the
//! plugin on that worker stays failed. With `fail_open: false` (Envoy's
//! default) the faulting request and every later one get a local 503
//! (details `wasm_fail_stream`); with `fail_open: true` they go upstream as
//! if the plugin were not there. A fault on the response path: 503 when
//! failing closed, the upstream response unfiltered with `fail_open`.
//! Confirmed against Envoy 1.40 by `tests/tests/fidelity_wat.rs`.

use crate::error::HostError;
use crate::exchange::{BackendResponse, Exchange, Request};
use crate::state::LocalResponse;
use crate::stream::FilterOutcome;
use crate::types::HeaderMap;
use crate::vm::Vm;

/// gRPC `UNAVAILABLE`, the status Envoy gives its `wasm_fail_stream` reply.
const GRPC_UNAVAILABLE: i32 = 14;

impl Vm {
    /// Runs `req` the way Envoy serves it, fault policy included: never an
    /// error. A guest fault (now or earlier) becomes a 503 local response,
    /// or with [`crate::HostConfig::fail_open`] the request goes to
    /// `backend` unfiltered; [`Exchange::fault`] says why.
    pub fn serve(
        &mut self,
        req: &Request,
        backend: impl FnOnce(&HeaderMap) -> Option<BackendResponse>,
    ) -> Exchange {
        self.serve_with_body(req, |headers, _| backend(headers))
    }

    /// [`Vm::serve`] with a `backend` that also sees the forwarded body.
    pub fn serve_with_body(
        &mut self,
        req: &Request,
        backend: impl FnOnce(&HeaderMap, &[u8]) -> Option<BackendResponse>,
    ) -> Exchange {
        let log_start = self.logs().len();
        let mut backend = Some(backend);
        // What went upstream and what came back, if the fault came after.
        let mut answered: Option<(HeaderMap, Vec<u8>, BackendResponse)> = None;
        let run = self.run_http_with_body(req, |h, b| {
            let resp = backend.take().and_then(|f| f(h, b))?;
            answered = Some((h.clone(), b.to_vec(), resp.clone()));
            Some(resp)
        });
        let err = match run {
            Ok(ex) => return ex,
            Err(e) => e,
        };
        let fault = match &err {
            HostError::VmFailed(m) => format!("the plugin failed earlier: {m}"),
            other => other.to_string(),
        };
        let logs = self.logs().get(log_start..).unwrap_or_default().to_vec();
        let fail_open = self.store.data().host.config.fail_open;
        if let Some((request_headers, body, resp)) = answered.filter(|_| fail_open) {
            // The guest faulted on the response path: with fail_open Envoy
            // passes the upstream response on, unfiltered (fail closed: 503).
            return Exchange {
                request_outcome: FilterOutcome::Continue,
                request_headers,
                request_body: Some(body).filter(|b| !b.is_empty()),
                response_headers: response_map(&resp),
                status: Some(resp.status),
                response_body: resp.body,
                local_response: None,
                logs,
                fault: Some(fault),
            };
        }
        let (request_headers, _) = self.connection_manager_headers(req);
        match backend.take().filter(|_| fail_open) {
            Some(backend) => {
                let body = req.body.clone().unwrap_or_default();
                let resp = backend(&request_headers, &body).unwrap_or(BackendResponse {
                    status: 503,
                    body: b"no healthy upstream".to_vec(),
                    ..BackendResponse::default()
                });
                let response_headers = response_map(&resp);
                Exchange {
                    request_outcome: FilterOutcome::Continue,
                    request_headers,
                    request_body: req.body.clone(),
                    response_headers,
                    response_body: resp.body,
                    status: Some(resp.status),
                    local_response: None,
                    logs,
                    fault: Some(fault),
                }
            }
            None => {
                let local = LocalResponse {
                    status: 503,
                    details: "wasm_fail_stream".into(),
                    body: String::new(),
                    headers: Vec::new(),
                    grpc_status: GRPC_UNAVAILABLE,
                };
                Exchange {
                    request_outcome: FilterOutcome::LocalResponse(local.clone()),
                    request_headers,
                    request_body: req.body.clone(),
                    response_headers: vec![(":status".into(), "503".into())],
                    response_body: Vec::new(),
                    status: Some(503),
                    local_response: Some(local),
                    logs,
                    fault: Some(fault),
                }
            }
        }
    }
}

/// The response header map of `resp` (`:status` first).
fn response_map(resp: &BackendResponse) -> HeaderMap {
    let mut m = vec![(":status".to_string(), resp.status.to_string())];
    m.extend(resp.headers.iter().cloned());
    m
}
