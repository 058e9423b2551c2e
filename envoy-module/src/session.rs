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
use edgepick_core::{CookieVerdict, Rejection};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// `filter_name` of the role that sets the cookie.
pub const COOKIE_FILTER: &str = "edgepick";
/// `filter_name` of the role that strips it before the upstream.
pub const STRIP_FILTER: &str = "edgepick_strip";

/// Configurations whose memos one worker thread keeps (older ones are dropped).
const MEMOS_PER_THREAD: usize = 8;

/// A worker's remembered verifications for one configuration: core's memo,
/// whose backend numbers are [`Named::memo_index`]es (listed backends by
/// their index, other names interned in `others` after them).
struct WorkerMemo {
    /// [`Session::id`] of the configuration (never reused, unlike an address).
    config: u64,
    memo: CookieMemo,
    others: Vec<Box<str>>,
}

impl WorkerMemo {
    /// `name`'s place in `others`, added if new.
    fn intern(&mut self, name: &str) -> usize {
        self.others
            .iter()
            .position(|n| &**n == name)
            .unwrap_or_else(|| {
                self.others.push(name.into());
                self.others.len() - 1
            })
    }
}

/// A backend as the cookie and the served host name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// The document's backend at this index.
    Listed(usize),
    /// A host the document does not list (named by metadata or address).
    Other(Box<str>),
}

/// What the request's cookie said, kept for its response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Held {
    /// No balancer cookie.
    #[default]
    Absent,
    /// One that is not usable.
    Invalid(Rejection),
    /// A valid one naming `backend`; `stale_key`: signed with an older key.
    Valid { backend: Named, stale_key: bool },
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
    /// The listed backends' addresses as Envoy writes `upstream.address`
    /// (`127.0.0.1:80`, `[::1]:80`), sorted, with their indexes.
    by_address: Vec<(Box<str>, usize)>,
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
        let mut by_address: Vec<(Box<str>, usize)> = (settings.template.backends.iter())
            .enumerate()
            .map(|(i, b)| (b.address.to_string().into(), i))
            .collect();
        by_address.sort();
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Ok(Session {
            role,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            settings,
            cookie,
            signer,
            by_address,
        })
    }

    /// The backend that served, from `upstream.address`'s text: a listed
    /// one (looked up by text, or parsed when written another way, e.g.
    /// `[::ffff:…]`), else the name `metadata_name` reads (endpoint metadata
    /// `edgepick.name`, asked only for hosts the document does not list),
    /// else the address. `None`: not an address.
    pub fn server<'a>(
        &self,
        address: &str,
        metadata_name: impl FnOnce() -> Option<&'a str>,
    ) -> Option<Named> {
        if let Ok(at) = self
            .by_address
            .binary_search_by(|(a, _)| (**a).cmp(address))
        {
            return Some(Named::Listed(self.by_address[at].1));
        }
        let address: SocketAddr = address.parse().ok()?;
        let backends = &self.settings.template.backends;
        Some(match backends.iter().position(|b| b.address == address) {
            Some(i) => Named::Listed(i),
            None => Named::Other(hosts::unlisted_name(&address, metadata_name()).into()),
        })
    }

    /// The cookie's name.
    pub fn cookie_name(&self) -> &str {
        &self.cookie.name
    }

    /// What the request's `Cookie` lines say (the first line carrying the
    /// balancer's cookie decides, as in the joined header core reads).
    /// Valid values signed with the newest key are remembered per worker
    /// (core's [`CookieMemo`]): a client holding its cookie costs one HMAC.
    pub fn read_request(&self, lines: &[&[u8]], now_ms: u64) -> Held {
        for line in lines {
            if let Some(value) = cookie::find(&crate::cluster::lossy(line), &self.cookie.name) {
                return self.verdict(value, now_ms);
            }
        }
        Held::Absent
    }

    fn verdict(&self, value: &str, now_ms: u64) -> Held {
        let listed = self.settings.template.backends.len();
        let known = self.with_memo(|m| {
            let i = m.memo.valid(value, now_ms / 1000)?;
            Some(match i.checked_sub(listed) {
                None => Named::Listed(i),
                Some(k) => Named::Other(m.others.get(k)?.clone()),
            })
        });
        if let Some(backend) = known {
            return Held::Valid {
                backend,
                stale_key: false,
            };
        }
        match self.signer.verify_with_key(value, now_ms) {
            Ok((name, expiry, key)) => {
                let backend = match self
                    .settings
                    .template
                    .backends
                    .iter()
                    .position(|b| b.name == name)
                {
                    Some(i) => Named::Listed(i),
                    None => Named::Other(name.into()),
                };
                if key == 0 {
                    self.with_memo(|m| {
                        let i = match &backend {
                            Named::Listed(i) => *i,
                            Named::Other(n) => listed + m.intern(n),
                        };
                        m.memo.remember_valid(value, i, expiry);
                    });
                }
                Held::Valid {
                    backend,
                    stale_key: key > 0,
                }
            }
            Err(r) => Held::Invalid(r),
        }
    }

    /// The `Set-Cookie` value for a response, or `None` to send none.
    /// `held`: what the request's cookie said; `server`: who answered
    /// ([`Session::server`]; `None`: no upstream, e.g. a local reply);
    /// `status`: reads the response's status, asked only when a cookie would
    /// otherwise be sent (core's rule: a 5xx answer never pins); `now_ms`:
    /// Unix milliseconds.
    pub fn set_cookie(
        &self,
        held: &Held,
        server: Option<Named>,
        status: impl FnOnce() -> Option<u16>,
        now_ms: u64,
    ) -> Option<String> {
        let server = server?;
        // Backend indexes in a space of two: 0 is the server, 1 any other.
        let (verdict, stale_key) = match held {
            Held::Absent => (CookieVerdict::Absent, false),
            Held::Invalid(r) => (CookieVerdict::Invalid(*r), false),
            Held::Valid { backend, stale_key } => (
                CookieVerdict::Valid(usize::from(*backend != server)),
                *stale_key,
            ),
        };
        cookie_to_send(verdict, stale_key, Some(0), None)?;
        cookie_to_send(verdict, stale_key, Some(0), status())?;
        let name = match &server {
            Named::Listed(i) => &self.settings.template.backends[*i].name,
            Named::Other(n) => &**n,
        };
        let value = self.signer.sign(name, now_ms);
        Some(self.signer.set_cookie(&value))
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
                        others: Vec::new(),
                    });
                    memos.len() - 1
                }
            };
            f(&mut memos[at])
        })
    }

    /// The request's `Cookie` lines without the balancer's cookie, or `None`
    /// when no line carries it.
    pub fn strip<L: AsRef<[u8]>>(&self, lines: &[L]) -> Option<Vec<Vec<u8>>> {
        lines::without(lines, &self.cookie.name)
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
