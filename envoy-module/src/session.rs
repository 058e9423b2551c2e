//! The companion HTTP filter's decisions, without Envoy: the policy reads
//! the session cookie when it picks; this filter writes it.
//!
//! Two roles of one filter (`envoy.filters.http.dynamic_modules`, same
//! library), chosen by `filter_name`, both configured with the policy's JSON
//! document (so names, keys and attributes agree with the policy's):
//!
//! * [`COOKIE_FILTER`] (`edgepick`, in the listener's `http_filters` before
//!   the router): on the response, a `Set-Cookie` naming the backend that
//!   served, only when it must change (core's rule,
//!   [`edgepick_core::ticket::cookie_to_send`]): none when the request's
//!   valid cookie already names that backend and was signed with the newest
//!   key, none on a 5xx answer. Same format and keys as the wasm filter, so a
//!   fleet can mix both targets.
//! * [`STRIP_FILTER`] (`edgepick_strip`, in the router's
//!   `upstream_http_filters`): removes the balancer's cookie from the request
//!   before it goes upstream (`cookie.strip`). It must run after host
//!   selection, because the policy reads the cookie then: a downstream filter
//!   would hide it from the policy.

use crate::hosts;
use crate::settings::Settings;
use edgepick_core::config::Cookie;
use edgepick_core::cookie::{self, lines, Signer};
use edgepick_core::cookie_memo::CookieMemo;
use edgepick_core::ticket::cookie_to_send;
use edgepick_core::CookieVerdict;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// `filter_name` of the role that sets the cookie.
pub const COOKIE_FILTER: &str = "edgepick";
/// `filter_name` of the role that strips it before the upstream.
pub const STRIP_FILTER: &str = "edgepick_strip";

/// Configurations whose memos one worker thread keeps (older ones are dropped).
const MEMOS_PER_THREAD: usize = 8;

/// A worker's remembered verifications for one configuration: core's memo
/// over backend names interned in `names`.
struct WorkerMemo {
    /// [`Session::id`] of the configuration (never reused, unlike an address).
    config: u64,
    memo: CookieMemo,
    names: Vec<String>,
}

impl WorkerMemo {
    fn intern(&mut self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| {
                self.names.push(name.to_string());
                self.names.len() - 1
            })
    }
}

thread_local! {
    static MEMOS: RefCell<Vec<WorkerMemo>> = const { RefCell::new(Vec::new()) };
}

/// What a filter instance does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Set the cookie on responses.
    SetCookie,
    /// Strip the cookie from requests going upstream.
    Strip,
}

/// A configured filter (shared by every stream on every worker).
#[derive(Debug)]
pub struct Session {
    /// What it does.
    pub role: Role,
    /// Unique per configuration made (keys the per-worker memos).
    id: u64,
    settings: Settings,
    cookie: Cookie,
    signer: Signer,
}

/// Who served a response, as Envoy tells the filter.
#[derive(Debug, Clone, Copy)]
pub struct Served<'a> {
    /// The upstream host's `ip:port` (`upstream.address`).
    pub address: &'a str,
    /// Its endpoint metadata `edgepick.name`, if any.
    pub metadata_name: Option<&'a str>,
}

impl Session {
    /// Read a filter's configuration: `Err` carries the line to log.
    pub fn configure(name: &[u8], config: &[u8]) -> Result<Self, String> {
        let role = match name {
            n if n == COOKIE_FILTER.as_bytes() => Role::SetCookie,
            n if n == STRIP_FILTER.as_bytes() => Role::Strip,
            n => {
                return Err(format!(
                    "filter_name {:?} is unknown: this module provides {COOKIE_FILTER:?} and {STRIP_FILTER:?}",
                    String::from_utf8_lossy(n)
                ))
            }
        };
        let env = |k: &str| std::env::var(k).ok();
        let settings =
            Settings::parse(config, &env).map_err(|e| format!("configuration refused: {e}"))?;
        let Some(cookie) = settings.template.cookie.clone() else {
            return Err(
                "configuration refused: cookie: the session-cookie filter needs the \
                 document's \"cookie\" section (the same document as the policy's)"
                    .into(),
            );
        };
        if role == Role::Strip && !cookie.strip {
            return Err(format!(
                "configuration refused: cookie.strip: the {STRIP_FILTER:?} filter is configured \
                 but the document does not ask for stripping (set \"strip\": true)"
            ));
        }
        let signer = Signer::new(&cookie);
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Ok(Session {
            role,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            settings,
            cookie,
            signer,
        })
    }

    /// Whether the name of the host at `address` comes from its endpoint
    /// metadata (the document does not list it): only then is the metadata
    /// worth reading.
    pub fn names_by_metadata(&self, address: &str) -> bool {
        address
            .parse()
            .map_or(true, |a| self.settings.backend_at(&a).is_none())
    }

    /// The cookie's name.
    pub fn cookie_name(&self) -> &str {
        &self.cookie.name
    }

    /// The `Set-Cookie` value for a response, or `None` to send none.
    /// `request_cookie`: the request's `Cookie` lines joined; `served`: who
    /// answered (`None`: no upstream, e.g. a local reply); `status`: the
    /// response's status; `now_ms`: Unix milliseconds.
    pub fn set_cookie(
        &self,
        request_cookie: Option<&str>,
        served: Option<Served<'_>>,
        status: Option<u16>,
        now_ms: u64,
    ) -> Option<String> {
        let served = served?;
        let address: SocketAddr = served.address.parse().ok()?;
        let name = hosts::backend_name(&self.settings, &address, served.metadata_name);
        let (verdict, stale_key) = self.verdict(request_cookie, &name, now_ms);
        // Backend indexes in a space of two: 0 is the server, 1 any other.
        cookie_to_send(verdict, stale_key, Some(0), status)?;
        let value = self.signer.sign(&name, now_ms);
        Some(self.signer.set_cookie(&value))
    }

    /// What the request's cookie says about backend `served` (index 0).
    /// Valid values signed with the newest key are remembered per worker
    /// (core's [`CookieMemo`]): a client holding its cookie costs one HMAC.
    fn verdict(&self, header: Option<&str>, served: &str, now_ms: u64) -> (CookieVerdict, bool) {
        let Some(value) = header.and_then(|h| cookie::find(h, &self.cookie.name)) else {
            return (CookieVerdict::Absent, false);
        };
        let same = |name: &str| CookieVerdict::Valid(usize::from(name != served));
        let now_s = now_ms / 1000;
        let known = self.with_memo(|m| m.memo.valid(value, now_s).map(|i| same(&m.names[i])));
        if let Some(v) = known {
            return (v, false);
        }
        match self.signer.verify_with_key(value, now_ms) {
            Ok((name, expiry, key)) => {
                if key == 0 {
                    self.with_memo(|m| {
                        let i = m.intern(&name);
                        m.memo.remember_valid(value, i, expiry);
                    });
                }
                (same(&name), key > 0)
            }
            Err(r) => (CookieVerdict::Invalid(r), false),
        }
    }

    /// Run `f` on this configuration's memo on the calling worker thread.
    fn with_memo<R>(&self, f: impl FnOnce(&mut WorkerMemo) -> R) -> R {
        MEMOS.with(|memos| {
            let mut memos = memos.borrow_mut();
            let at = match memos.iter().position(|m| m.config == self.id) {
                Some(at) => at,
                None => {
                    if memos.len() >= MEMOS_PER_THREAD {
                        memos.remove(0);
                    }
                    memos.push(WorkerMemo {
                        config: self.id,
                        memo: CookieMemo::default(),
                        names: Vec::new(),
                    });
                    memos.len() - 1
                }
            };
            f(&mut memos[at])
        })
    }

    /// The request's `Cookie` lines without the balancer's cookie, or `None`
    /// when no line carries it.
    pub fn strip(&self, lines: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
        lines::without(lines, &self.cookie.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"algorithm":{"name":"round_robin"},
        "backends":[{"name":"a","address":"127.0.0.1:81"}],
        "cookie":{"name":"ep","keys":["new-key-0123456789abcdef","old-key-0123456789abcdef"],"strip":true}}"#;
    const NOW: u64 = 1_800_000_000_000;

    fn session(name: &str, doc: &str) -> Result<Session, String> {
        Session::configure(name.as_bytes(), doc.as_bytes())
    }

    fn at(address: &str) -> Option<Served<'_>> {
        Some(Served {
            address,
            metadata_name: None,
        })
    }

    /// The cookie header a client holds after a `Set-Cookie`.
    fn held(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_string()
    }

    #[test]
    fn a_cookie_is_set_only_when_it_must_change() {
        let s = session(COOKIE_FILTER, DOC).unwrap();
        let first = s
            .set_cookie(None, at("127.0.0.1:81"), Some(200), NOW)
            .unwrap();
        assert!(first.starts_with("ep=v1."), "{first}");
        let cookie = held(&first);
        // Held and naming the server: nothing to send.
        assert_eq!(
            s.set_cookie(Some(&cookie), at("127.0.0.1:81"), Some(200), NOW),
            None
        );
        // Another server (failover): re-pinned, by the name the policy uses
        // (an unlisted host is named by its address).
        let moved = s.set_cookie(Some(&cookie), at("127.0.0.1:82"), Some(200), NOW);
        let v = cookie::find(&held(&moved.unwrap()), "ep")
            .unwrap()
            .to_string();
        assert_eq!(s.signer.verify(&v, NOW).unwrap(), "127.0.0.1:82");
        // Never pinned to a 5xx, nothing without a server.
        assert_eq!(s.set_cookie(None, at("127.0.0.1:81"), Some(503), NOW), None);
        assert_eq!(s.set_cookie(None, None, Some(200), NOW), None);
        // Tampered or expired: replaced.
        let tampered = cookie.replace("v1.", "v1.x");
        assert!(s
            .set_cookie(Some(&tampered), at("127.0.0.1:81"), Some(200), NOW)
            .is_some());
        let later = NOW + 86_400_000 * 400;
        assert!(s
            .set_cookie(Some(&cookie), at("127.0.0.1:81"), Some(200), later)
            .is_some());
    }

    #[test]
    fn the_same_value_as_the_wasm_filter_and_re_signed_under_the_newest_key() {
        let s = session(COOKIE_FILTER, DOC).unwrap();
        let cfg = s.cookie.clone();
        let set = s
            .set_cookie(None, at("127.0.0.1:81"), Some(200), NOW)
            .unwrap();
        let core = Signer::new(&cfg);
        assert_eq!(set, core.set_cookie(&core.sign("a", NOW)));
        let mut old = cfg.clone();
        old.keys.remove(0);
        let by_old = format!("ep={}", Signer::new(&old).sign("a", NOW));
        assert!(s
            .set_cookie(Some(&by_old), at("127.0.0.1:81"), Some(200), NOW)
            .is_some());
    }

    #[test]
    fn metadata_names_the_unlisted_hosts() {
        let s = session(COOKIE_FILTER, DOC).unwrap();
        let served = Some(Served {
            address: "127.0.0.1:83",
            metadata_name: Some("c"),
        });
        let set = s.set_cookie(None, served, Some(200), NOW).unwrap();
        let v = cookie::find(&held(&set), "ep").unwrap().to_string();
        assert_eq!(s.signer.verify(&v, NOW).unwrap(), "c");
    }

    #[test]
    fn bad_configurations_name_what_is_wrong() {
        let e = session("nope", DOC).unwrap_err();
        assert!(e.contains("filter_name \"nope\""), "{e}");
        let e = session(COOKIE_FILTER, r#"{"algorithm":{"name":"round_robin"}}"#).unwrap_err();
        assert!(e.contains("cookie:"), "{e}");
        let no_strip = DOC.replace(r#""strip":true"#, r#""strip":false"#);
        assert!(session(COOKIE_FILTER, &no_strip).is_ok());
        let e = session(STRIP_FILTER, &no_strip).unwrap_err();
        assert!(e.contains("cookie.strip"), "{e}");
        let e = session(COOKIE_FILTER, r#"{"cookie":{"name":"ep","max_age_s":-1}}"#).unwrap_err();
        assert!(e.contains("cookie."), "{e}");
    }

    #[test]
    fn stripping_removes_only_the_balancers_cookie() {
        let s = session(STRIP_FILTER, DOC).unwrap();
        let lines = vec![b"a=1; ep=v1.x".to_vec(), b"b=2".to_vec()];
        assert_eq!(
            s.strip(&lines).unwrap(),
            vec![b"a=1".to_vec(), b"b=2".to_vec()]
        );
        assert_eq!(s.strip(&[b"b=2".to_vec()]), None);
    }
}
