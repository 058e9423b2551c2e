//! One request: pick on request headers, write `x-gateway-destination-endpoint`
//! (or answer 302 in redirect mode), set the session cookie and read load
//! reports on response headers, account the outcome at the end of the stream.

use crate::cookies::CookieLines;
use crate::headers::{
    self, ATTEMPT_COUNT_HEADER, DECISION_HEADER, DESTINATION_HEADER, LOAD_HEADER, ORCA_HEADER,
    UPSTREAM_HEADER,
};
use crate::host;
use crate::log;
use crate::outcome::{observe, outcome, Observed};
use crate::worker::WorkerState;
use edgepick_core::config::{Algorithm, HashKey};
use edgepick_core::load_report::{parse_orca, parse_plain};
use edgepick_core::{CookieVerdict, Mode, Request, Ticket};
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, MapType};
use std::cell::RefCell;
use std::rc::Rc;

const REQ: MapType = MapType::HttpRequestHeaders;
const RESP: MapType = MapType::HttpResponseHeaders;

/// Per-request state.
pub struct EdgepickHttp {
    worker: Option<Rc<RefCell<WorkerState>>>,
    /// The router's ticket (decision, cookie verdict, start time, in-flight
    /// count) from the pick until `on_log` closes it; dropping the context
    /// closes it too, so no path leaves a count high.
    ticket: Option<Ticket>,
    explain: Option<String>,
    /// When the response headers arrived, ms (latency: from the ticket's start).
    headers_ms: Option<u64>,
    /// `:status` of the response headers.
    status: Option<u16>,
    load: Option<f64>,
    body_bytes: u64,
    local_reply: bool,
    /// The node that served, once known (attempt count or `upstream.address`).
    served: Option<Option<usize>>,
}

impl EdgepickHttp {
    /// A request of the worker `worker` (`None`: the plugin is not configured).
    pub fn new(worker: Option<Rc<RefCell<WorkerState>>>) -> Self {
        EdgepickHttp {
            worker,
            ticket: None,
            explain: None,
            headers_ms: None,
            status: None,
            load: None,
            body_bytes: 0,
            local_reply: false,
            served: None,
        }
    }

    fn reply(&mut self, status: u32, headers: Vec<(&str, &str)>, body: Option<&[u8]>) -> Action {
        self.local_reply = true;
        host::send_response(status, headers, body);
        Action::Pause
    }

    fn pick(&mut self, s: &mut WorkerState) -> Action {
        let now = host::now_ms();
        let cfg = s.plugin.config();
        // Each read that returns data costs a hostcall plus a call back into
        // this VM's allocator: read only what this configuration uses.
        let needs = s.needs;
        // Every Cookie line takes the whole header map. Asking first whether
        // there is a cookie at all (one value read) was measured: requests
        // without one saved 10,200 Envoy instructions, requests holding one
        // paid 11,000 more (the value is copied into the VM too); sessions
        // hold their cookie on every request but the first.
        let cookie_lines = if needs.cookie {
            host::header_lines(REQ, "cookie")
        } else {
            CookieLines::default()
        };
        let cookie = cookie_lines.joined();
        let path = (needs.path || log::enabled(log::Level::Debug))
            .then(|| host::header(REQ, ":path"))
            .flatten()
            .unwrap_or_default();
        // The client address is Envoy's own verdict: `source.address`, which
        // the connection manager resolves from the connection or, with
        // `xff_num_trusted_hops: N` (= the filter's `trusted_hops`), from the
        // N-th X-Forwarded-For entry from the right. Reading the header here
        // as well would resolve the hops twice.
        let peer = needs
            .client
            .then(|| host::property_str(&["source", "address"]))
            .flatten()
            .and_then(|a| headers::parse_ip(&a));
        let hash_header = match &cfg.algorithm {
            Algorithm::ConsistentHash {
                key: HashKey::Header(name),
                ..
            } => host::header(REQ, name).map(|v| (name.clone(), v)),
            _ => None,
        };
        let hv: Vec<(&str, &str)> = hash_header
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let req = Request {
            peer,
            forwarded_for: None,
            cookie: cookie.as_deref(),
            path: &path,
            headers: &hv,
        };

        // No sync here: the worker's state is exact for its own requests and
        // at most one sync period old for the others' (`sync.rs`).
        let ticket = s.plugin.pick(&req, now);
        if let CookieVerdict::Invalid(why) = ticket.verdict() {
            log::warn_limited(&mut s.warn_cookie, || {
                format!("edgepick: session cookie ignored: {why:?}")
            });
        }
        if let Some(p) = ticket.primary() {
            s.count_pick(p);
        }
        let cfg = s.plugin.config();
        let decision = ticket.decision();
        // Formatting the explanation costs more than the pick: only when asked for.
        log::debug(|| format!("edgepick: {} path={path}", decision.explain(cfg)));
        if cfg.decision_header {
            self.explain = Some(decision.explain(cfg));
        }
        match cfg.mode {
            Mode::Proxy => {
                // Never let a client choose the node: replace (or drop) any value it sent.
                match ticket.primary() {
                    Some(_) => {
                        let endpoints = s.plugin.endpoints(ticket.ranked());
                        host::set_header(REQ, DESTINATION_HEADER, Some(&endpoints));
                    }
                    None => host::set_header(REQ, DESTINATION_HEADER, None),
                }
                if let Some(c) = cfg.cookie.as_ref().filter(|c| c.strip) {
                    if let Some(rest) = cookie_lines.without(&c.name) {
                        host::set_header_lines(REQ, "cookie", &rest);
                    }
                }
                self.ticket = Some(ticket);
                Action::Continue
            }
            Mode::Redirect => {
                let primary = ticket.primary();
                // The client goes to the node itself: nothing in flight here.
                let set_cookie = s.plugin.router.set_cookie(&ticket, primary, None, now);
                s.plugin.router.abandon(ticket);
                let Some(primary) = primary else {
                    return self.reply(503, vec![], Some(b"edgepick: no backend available\n"));
                };
                let cfg = s.plugin.config();
                let b = &cfg.backends[primary];
                let location = headers::redirect_location(b.url.as_deref(), &b.address, &path);
                let explain = self.explain.take();
                let mut hs = vec![("location", location.as_str())];
                if let Some(c) = &set_cookie {
                    hs.push(("set-cookie", c.as_str()));
                }
                if let Some(e) = &explain {
                    hs.push((DECISION_HEADER, e.as_str()));
                }
                self.reply(302, hs, None)
            }
        }
    }

    /// The backend that served: the primary when Envoy counted one try, else
    /// `upstream.address` (the host of the last try), read once per request.
    /// Measured against a route header carrying `%UPSTREAM_HOST%` (read,
    /// then removed before the client): the property cost ~4,200 fewer Envoy
    /// instructions per request.
    fn served(&mut self, s: &WorkerState) -> Option<usize> {
        if self.served.is_none() {
            let addr = host::property(&["upstream", "address"]);
            self.served = Some(addr.and_then(|a| s.plugin.backend_at(&a)));
        }
        self.served.flatten()
    }

    /// Read the served backend's load report, if this response is one
    /// [`ReportSampling`](crate::reports::ReportSampling) reads.
    fn read_load(&mut self, s: &mut WorkerState) {
        let served = self.served.flatten();
        if !s.reports.read(served) {
            s.reports.record(served, false);
            return;
        }
        let (value, parsed) = if let Some(v) = host::header(RESP, ORCA_HEADER) {
            let p = parse_orca(&v);
            (v, p)
        } else if let Some(v) = host::header(RESP, LOAD_HEADER) {
            let p = parse_plain(&v);
            (v, p)
        } else {
            s.reports.record(served, false);
            return;
        };
        s.reports.record(served, true);
        match parsed {
            Ok(u) => self.load = Some(u),
            Err(e) => log::warn_limited(&mut s.warn_load, || {
                format!("edgepick: {e} (value {value:?}); ignored")
            }),
        }
    }

    /// Close the ticket (at most once): the router accounts the outcome and
    /// the in-flight count, then the passive observations go to shared data.
    fn finish(&mut self, s: &mut WorkerState) {
        let Some(ticket) = self.ticket.take() else {
            return;
        };
        if !s.needs.outcome {
            s.plugin.router.abandon(ticket);
            return;
        }
        // The response headers' status, when there were any (the property
        // read costs as much as the pick; it is only the fallback for resets
        // and local replies).
        let code = match self.status {
            Some(c) => Some(i64::from(c)),
            None => host::property_int(&["response", "code"]),
        };
        // Response flags (UF, UR, …) only tell failures apart.
        let flags = match code {
            Some(c) if (100..500).contains(&c) => 0,
            _ => host::property_int(&["response", "flags"]).map_or(0, |f| f as u64),
        };
        let observed = observe(code, flags);
        let served = self.served(s);
        // The response's time when it was taken; else a time is read only
        // if one is recorded: a success of the first choice on a node with
        // no failures (nearly every request) records none.
        let quiet = matches!(observed, Observed::Status(c) if c < 500)
            && served.is_some_and(|i| Some(i) == ticket.primary() && s.plugin.clean(i));
        let now = match self.headers_ms {
            Some(t) => t,
            None if quiet => ticket.started_ms(),
            None => host::now_ms(),
        };
        let latency_ms = self.headers_ms.map(|t| ticket.latency_ms(t));
        // Bytes feed throughput, measured only where it is used (with time).
        let bytes = if s.needs.timing { self.body_bytes } else { 0 };
        let o = outcome(observed, latency_ms, bytes, self.load);
        let a = s.plugin.router.finish(ticket, served, o.as_ref(), now);
        for (i, failure) in a.passive() {
            s.passive(i, failure, now);
        }
        log::debug(|| {
            format!(
                "edgepick: done served={served:?} {observed:?} walked_past={:?}",
                a.walked_past
            )
        });
    }
}

impl Drop for EdgepickHttp {
    /// A context deleted before `on_log` (the host never logged it) still
    /// releases its in-flight count.
    fn drop(&mut self) {
        let (Some(ticket), Some(worker)) = (self.ticket.take(), &self.worker) else {
            return;
        };
        if let Ok(mut s) = worker.try_borrow_mut() {
            s.plugin.router.abandon(ticket);
        }
    }
}

impl Context for EdgepickHttp {}

impl HttpContext for EdgepickHttp {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let Some(worker) = self.worker.clone() else {
            return self.reply(503, vec![], Some(b"edgepick: not configured\n"));
        };
        let mut s = worker.borrow_mut();
        self.pick(&mut s)
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        if self.local_reply {
            return Action::Continue;
        }
        let Some(worker) = self.worker.clone() else {
            return Action::Continue;
        };
        let mut s = worker.borrow_mut();
        if let Some(e) = &self.explain {
            host::set_header(RESP, DECISION_HEADER, Some(e));
        }
        if !s.needs.outcome {
            return Action::Continue;
        }
        // Latency-aware algorithms time the response. For the others the
        // clock (~1,400 Envoy instructions) is read only when a time is
        // recorded: a cookie issued, a failure, a recovery.
        let now = s.needs.timing.then(host::now_ms);
        self.headers_ms = now;
        // Who served and how, from Envoy itself (any value a backend sent is
        // overwritten): `x-edgepick-upstream`, one read for both; without it,
        // `x-envoy-attempt-count` and `:status`. Every value read costs
        // Envoy ~10,500 instructions (`cargo xtask bench --instructions`,
        // the "floor +" rows), so the happy path reads one.
        let signal = host::header(RESP, UPSTREAM_HEADER)
            .as_deref()
            .and_then(headers::parse_upstream);
        let tries = match signal {
            Some(u) => Some(u.tries),
            None => host::header(RESP, ATTEMPT_COUNT_HEADER).and_then(|v| v.parse().ok()),
        };
        self.status = signal
            .and_then(|u| u.status)
            .or_else(|| host::header(RESP, ":status").and_then(|v| v.parse::<u16>().ok()));
        // One try: the primary served, and the `upstream.address` property
        // need not be read. Any other count, or none, asks the property.
        if tries == Some(1) {
            if let Some(primary) = self.ticket.as_ref().and_then(Ticket::primary) {
                self.served = Some(Some(primary));
            }
        }
        if s.needs.load {
            self.read_load(&mut s);
        }
        // The ticket's rule: not when already right, not on a 5xx, re-issued
        // when another node served or the cookie's key is old.
        if s.plugin.config().cookie.is_some() && self.ticket.is_some() {
            let served = self.served(&s);
            let status = self.status;
            if let Some(ticket) = self
                .ticket
                .as_ref()
                .filter(|t| t.cookie_for(served, status).is_some())
            {
                let now = now.unwrap_or_else(host::now_ms);
                if let Some(c) = s.plugin.router.set_cookie(ticket, served, status, now) {
                    host::add_header(RESP, "set-cookie", &c);
                }
            }
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, _end_of_stream: bool) -> Action {
        self.body_bytes = self.body_bytes.saturating_add(body_size as u64);
        Action::Continue
    }

    fn on_log(&mut self) {
        if self.ticket.is_none() {
            return;
        }
        let Some(worker) = self.worker.clone() else {
            return;
        };
        let mut s = worker.borrow_mut();
        self.finish(&mut s);
    }
}
