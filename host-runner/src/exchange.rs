//! A whole request in one call: [`Vm::run_http`] runs the request path, asks
//! a simulated backend for the response, runs the response path and ends the
//! stream, returning everything observable as an [`Exchange`].

use crate::error::HostError;
use crate::state::{LocalResponse, LogLine};
use crate::stream::FilterOutcome;
use crate::types::HeaderMap;
use crate::vm::Vm;

/// A client request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `:method`.
    pub method: String,
    /// `:path`.
    pub path: String,
    /// `:authority`.
    pub authority: String,
    /// `:scheme`.
    pub scheme: String,
    /// Other headers.
    pub headers: HeaderMap,
    /// Body, if any.
    pub body: Option<Vec<u8>>,
    /// Client address `ip:port` (`source.address`).
    pub client: Option<String>,
    /// Extra properties by dotted path.
    pub properties: Vec<(String, Vec<u8>)>,
}

impl Request {
    /// A `GET` for `path` on authority `edgepick.local`.
    pub fn get(path: &str) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            authority: "edgepick.local".into(),
            scheme: "http".into(),
            ..Request::default()
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Sets the client address.
    pub fn client(mut self, addr: &str) -> Request {
        self.client = Some(addr.into());
        self
    }

    /// The header map Envoy would hand the filter (pseudo-headers first).
    pub fn header_map(&self) -> HeaderMap {
        let mut m: HeaderMap = vec![
            (":authority".into(), self.authority.clone()),
            (":path".into(), self.path.clone()),
            (":method".into(), self.method.clone()),
            (":scheme".into(), self.scheme.clone()),
        ];
        m.extend(
            self.headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone())),
        );
        m
    }
}

/// What the simulated backend answers.
#[derive(Debug, Clone, Default)]
pub struct BackendResponse {
    /// Status.
    pub status: u16,
    /// Headers (without `:status`).
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
    /// `upstream.address` property: the host that served.
    pub upstream_address: Option<String>,
    /// Virtual time the backend takes.
    pub latency_ms: u64,
}

/// Everything observable about one request.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Outcome of the request path.
    pub request_outcome: FilterOutcome,
    /// Request headers as the filter left them (what goes upstream).
    pub request_headers: HeaderMap,
    /// Response headers as the client gets them (empty if none).
    pub response_headers: HeaderMap,
    /// Status the client gets: local response, backend, or `None` when the
    /// request stayed paused or was reset.
    pub status: Option<u16>,
    /// Local response, if the filter sent one.
    pub local_response: Option<LocalResponse>,
    /// Log lines written while the request ran.
    pub logs: Vec<LogLine>,
}

fn first<'a>(m: &'a HeaderMap, name: &str) -> Option<&'a str> {
    m.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

impl Exchange {
    /// First value of a request header (as forwarded).
    pub fn request_header(&self, name: &str) -> Option<&str> {
        first(&self.request_headers, name)
    }

    /// First value of a response header (as sent to the client).
    pub fn response_header(&self, name: &str) -> Option<&str> {
        first(&self.response_headers, name)
    }

    /// All `set-cookie` values sent to the client.
    pub fn set_cookies(&self) -> Vec<&str> {
        let m = &self.response_headers;
        m.iter()
            .filter(|(k, _)| k == "set-cookie")
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl Vm {
    /// Runs `req` through the filter. `backend` sees the forwarded request
    /// headers and returns the upstream response (`None`: no upstream, 503).
    pub fn run_http(
        &mut self,
        req: &Request,
        backend: impl FnOnce(&HeaderMap) -> Option<BackendResponse>,
    ) -> Result<Exchange, HostError> {
        let log_start = self.logs().len();
        let mut s = self.http_stream()?;
        if let Some(client) = &req.client {
            s.set_property("source.address", client.as_bytes());
            if let Some(port) = client
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<i64>().ok())
            {
                s.set_property("source.port", port.to_le_bytes());
            }
        }
        for (k, v) in &req.properties {
            s.set_property(k, v.clone());
        }
        let mut outcome = s.on_request_headers(req.header_map(), req.body.is_none())?;
        if let (Some(body), FilterOutcome::Continue) = (&req.body, &outcome) {
            outcome = s.on_request_body(body, true)?;
        }
        let mut status = None;
        if let FilterOutcome::LocalResponse(l) = &outcome {
            status = u16::try_from(l.status).ok();
        } else if outcome == FilterOutcome::Continue {
            let forwarded = s.data().request_headers.clone().unwrap_or_default();
            let resp = backend(&forwarded).unwrap_or(BackendResponse {
                status: 503,
                body: b"no healthy upstream".to_vec(),
                ..BackendResponse::default()
            });
            if let Some(addr) = &resp.upstream_address {
                s.set_property("upstream.address", addr.as_bytes());
            }
            s.vm_host_advance(resp.latency_ms);
            let mut headers = vec![(":status".to_string(), resp.status.to_string())];
            headers.extend(resp.headers.iter().cloned());
            let mut r = s.on_response_headers(headers, resp.body.is_empty())?;
            if !resp.body.is_empty() && r == FilterOutcome::Continue {
                r = s.on_response_body(&resp.body, true)?;
            }
            status = match r {
                FilterOutcome::LocalResponse(l) => u16::try_from(l.status).ok(),
                FilterOutcome::Reset => None,
                _ => s.response_header(":status").and_then(|v| v.parse().ok()),
            };
        }
        let data = s.finish()?;
        Ok(Exchange {
            request_outcome: outcome,
            request_headers: data.request_headers.unwrap_or_default(),
            response_headers: data.response_headers.unwrap_or_default(),
            status,
            local_response: data.local_response,
            logs: self.logs().get(log_start..).unwrap_or_default().to_vec(),
        })
    }
}

impl crate::stream::HttpStream<'_> {
    fn vm_host_advance(&mut self, ms: u64) {
        if ms > 0 {
            self.host_shared()
                .advance_nanos(ms.saturating_mul(1_000_000));
        }
    }
}
