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

    /// The client's header map (pseudo-headers first). [`Vm::run_http`] adds
    /// what Envoy's connection manager adds (`x-forwarded-proto`,
    /// `x-request-id`) before the filter sees it.
    ///
    /// As Envoy's HTTP/1.1 codec does, the client's `Host` header becomes
    /// `:authority` (the first one; [`Request::authority`] when there is
    /// none) and is not kept as a header, and the hop-by-hop headers
    /// (`connection`, `keep-alive`, `proxy-connection`, `upgrade`,
    /// `transfer-encoding`, and `te` other than `trailers`) are dropped.
    pub fn header_map(&self) -> HeaderMap {
        let host = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.clone());
        let mut m: HeaderMap = vec![
            (
                ":authority".into(),
                host.unwrap_or_else(|| self.authority.clone()),
            ),
            (":path".into(), self.path.clone()),
            (":method".into(), self.method.clone()),
            (":scheme".into(), self.scheme.clone()),
        ];
        m.extend(
            self.headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .filter(|(k, v)| !hop_by_hop(k, v)),
        );
        m
    }
}

/// Headers Envoy does not pass on from an HTTP/1.1 client (and `host`,
/// which became `:authority`).
fn hop_by_hop(name: &str, value: &str) -> bool {
    match name {
        "host" | "connection" | "keep-alive" | "proxy-connection" | "upgrade"
        | "transfer-encoding" => true,
        "te" => !value.eq_ignore_ascii_case("trailers"),
        _ => false,
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
    /// Request body as the filter left it (what goes upstream), if any.
    pub request_body: Option<Vec<u8>>,
    /// Response headers as the client gets them (empty if none).
    pub response_headers: HeaderMap,
    /// Response body as the client gets it: the local response's, or the
    /// backend's as the filter left it.
    pub response_body: Vec<u8>,
    /// Status the client gets: local response, backend, or `None` when the
    /// request stayed paused or was reset.
    pub status: Option<u16>,
    /// Local response, if the filter sent one.
    pub local_response: Option<LocalResponse>,
    /// Log lines written while the request ran.
    pub logs: Vec<LogLine>,
    /// The guest fault that decided this request's fate ([`Vm::serve`]:
    /// Envoy's fault policy answered instead of the filter).
    pub fault: Option<String>,
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
        self.run_http_with_body(req, |headers, _| backend(headers))
    }

    /// [`Vm::run_http`] with a `backend` that also sees the forwarded request
    /// body (as the filter left it; empty when the request has none).
    ///
    /// Like Envoy's filter chain, a body reaches the filter even when its
    /// headers callback stopped iteration (it buffers), unless the filter
    /// answered locally or reset the stream.
    pub fn run_http_with_body(
        &mut self,
        req: &Request,
        backend: impl FnOnce(&HeaderMap, &[u8]) -> Option<BackendResponse>,
    ) -> Result<Exchange, HostError> {
        let log_start = self.logs().len();
        let (headers, source) = self.connection_manager_headers(req);
        let mut s = self.http_stream()?;
        if let Some(client) = &source {
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
        let mut outcome = s.on_request_headers(headers, req.body.is_none())?;
        if let (Some(body), FilterOutcome::Continue | FilterOutcome::Paused) = (&req.body, &outcome)
        {
            outcome = s.on_request_body(body, true)?;
        }
        let mut status = None;
        if let FilterOutcome::LocalResponse(l) = &outcome {
            status = u16::try_from(l.status).ok();
        } else if outcome == FilterOutcome::Continue {
            let forwarded = s.data().request_headers.clone().unwrap_or_default();
            let body = s.data().request_body.clone().unwrap_or_default();
            let resp = backend(&forwarded, &body).unwrap_or(BackendResponse {
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
            if !resp.body.is_empty() && matches!(r, FilterOutcome::Continue | FilterOutcome::Paused)
            {
                r = s.on_response_body(&resp.body, true)?;
            }
            status = match r {
                FilterOutcome::LocalResponse(l) => u16::try_from(l.status).ok(),
                FilterOutcome::Reset => None,
                _ => s.response_header(":status").and_then(|v| v.parse().ok()),
            };
        }
        let data = s.finish()?;
        let response_body = match &data.local_response {
            Some(l) => l.body.clone().into_bytes(),
            None if status.is_some() => data.response_body.clone().unwrap_or_default(),
            None => Vec::new(),
        };
        Ok(Exchange {
            request_outcome: outcome,
            request_headers: data.request_headers.unwrap_or_default(),
            request_body: data.request_body,
            response_headers: data.response_headers.unwrap_or_default(),
            response_body,
            status,
            local_response: data.local_response,
            logs: self.logs().get(log_start..).unwrap_or_default().to_vec(),
            fault: None,
        })
    }
}

impl Vm {
    /// `req`'s header map as Envoy's HTTP connection manager hands it to the
    /// filter chain, and the `source.address` it resolves: it appends
    /// `x-forwarded-proto` (the scheme) and a UUID v4 `x-request-id` when the
    /// client sent none (seeded, so runs replay), and, with a client address,
    /// acts as `use_remote_address: true` with the configured
    /// `xff_num_trusted_hops` (see [`crate::HostConfig::xff_num_trusted_hops`]).
    pub(crate) fn connection_manager_headers(
        &mut self,
        req: &Request,
    ) -> (HeaderMap, Option<String>) {
        let mut m = req.header_map();
        let hops = self.store.data().host.config.xff_num_trusted_hops;
        let source = req
            .client
            .as_deref()
            .map(|peer| remote_address(&mut m, peer, hops, &self.local_address()));
        // With `use_remote_address` (a client address), Envoy overwrites
        // the client's x-forwarded-proto with the connection's scheme.
        match m.iter_mut().find(|(k, _)| k == "x-forwarded-proto") {
            Some((_, v)) if source.is_some() => *v = req.scheme.clone(),
            Some(_) => {}
            None => m.push(("x-forwarded-proto".into(), req.scheme.clone())),
        }
        // An external request (Envoy 1.40 counts loopback as external unless
        // `internal_address_config` says otherwise) loses the client's own
        // x-envoy-external-address / x-envoy-internal and gets Envoy's.
        if let Some(src) = &source {
            m.retain(|(k, _)| k != "x-envoy-external-address" && k != "x-envoy-internal");
            let ip = src
                .parse::<std::net::SocketAddr>()
                .map_or_else(|_| src.clone(), |a| a.ip().to_string());
            m.push(("x-envoy-external-address".into(), ip));
        }
        if !m.iter().any(|(k, _)| k == "x-request-id") {
            let st = self.store.data_mut();
            let (hi, lo) = (st.next_random(), st.next_random());
            m.push(("x-request-id".into(), uuid_v4(hi, lo)));
        }
        (m, source)
    }
}

/// Envoy's `use_remote_address: true`: the peer's IP is appended to
/// `x-forwarded-for` (the first such header, or a new one), and with `hops`
/// trusted proxies the client is the `hops`-th entry from the right of the
/// header as received, as `ip:0` (observed in Envoy 1.40: `source.address`
/// reads `1.1.1.1:0`); the peer when the header has fewer entries or the
/// entry is no IP.
///
/// A loopback peer is not appended: Envoy appends its own local address
/// instead (`local`, see [`crate::HostConfig::local_address`]).
fn remote_address(m: &mut HeaderMap, peer: &str, hops: u32, local: &str) -> String {
    let parsed = peer.parse::<std::net::SocketAddr>().ok();
    let peer_ip = match parsed {
        Some(a) if a.ip().is_loopback() => local.to_string(),
        Some(a) => a.ip().to_string(),
        None => peer.to_string(),
    };
    let xff = m.iter_mut().find(|(k, _)| k == "x-forwarded-for");
    let received = xff.as_ref().map(|(_, v)| v.clone());
    match xff {
        Some((_, v)) => {
            v.push(',');
            v.push_str(&peer_ip);
        }
        None => m.push(("x-forwarded-for".into(), peer_ip)),
    }
    let trusted = (hops > 0).then_some(received).flatten().and_then(|v| {
        let entries: Vec<&str> = v.split(',').map(str::trim).collect();
        let i = entries.len().checked_sub(hops as usize)?;
        entries[i].parse::<std::net::IpAddr>().ok()
    });
    match trusted {
        Some(std::net::IpAddr::V6(ip)) => format!("[{ip}]:0"),
        Some(ip) => format!("{ip}:0"),
        None => peer.to_string(),
    }
}

impl Vm {
    /// The address Envoy appends to x-forwarded-for for a loopback client.
    fn local_address(&self) -> String {
        let configured = &self.store.data().host.config.local_address;
        configured.clone().unwrap_or_else(|| {
            static FOUND: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            FOUND.get_or_init(machine_address).clone()
        })
    }
}

/// This machine's outward IPv4 address, as the routing table picks it (a
/// UDP `connect` sends nothing); `127.0.0.1` when there is no route. Envoy
/// takes the first non-loopback interface address: the same on a machine
/// with one interface.
fn machine_address() -> String {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("8.8.8.8:53").map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".into())
}

/// Formats 128 random bits as a UUID v4.
fn uuid_v4(hi: u64, lo: u64) -> String {
    let hi = (hi & !0xF000) | 0x4000;
    let lo = (lo & !(0xC << 60)) | (0x8 << 60);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

impl crate::stream::HttpStream<'_> {
    fn vm_host_advance(&mut self, ms: u64) {
        if ms > 0 {
            self.host_shared()
                .advance_nanos(ms.saturating_mul(1_000_000));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_uuid_v4() {
        let id = super::uuid_v4(u64::MAX, 0);
        assert_eq!(id, "ffffffff-ffff-4fff-8000-000000000000");
        assert_eq!(super::uuid_v4(0, u64::MAX).len(), 36);
    }
}
