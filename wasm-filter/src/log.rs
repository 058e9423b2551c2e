//! Logging through the host's `proxy_log`, formatted only when the host's level
//! lets the line through, plus a limiter for warnings that clients can trigger
//! at will (bad cookies, bad load reports).

/// Log levels, as proxy-wasm numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Per-request detail.
    Debug = 1,
    /// Health changes, configuration.
    Info = 2,
    /// Bad input that was ignored.
    Warn = 3,
    /// Configuration rejected.
    Error = 4,
}

/// Logs one of every `every` events: the first, then each `every`-th, saying
/// how many were suppressed in between.
#[derive(Debug, Clone, Copy)]
pub struct Limiter {
    every: u32,
    seen: u32,
}

impl Limiter {
    /// A limiter letting one of `every` events through (`every` ≥ 1).
    pub const fn new(every: u32) -> Self {
        Limiter {
            every: if every == 0 { 1 } else { every },
            seen: 0,
        }
    }

    /// Count an event; `Some(suppressed)` when this one should be logged.
    pub fn hit(&mut self) -> Option<u32> {
        let n = self.seen;
        self.seen = self.seen.wrapping_add(1);
        n.is_multiple_of(self.every)
            .then(|| if n == 0 { 0 } else { self.every - 1 })
    }
}

#[cfg(target_arch = "wasm32")]
mod host {
    use super::Level;
    use core::sync::atomic::{AtomicU32, Ordering};
    use proxy_wasm::hostcalls;
    use proxy_wasm::types::LogLevel;

    static MIN: AtomicU32 = AtomicU32::new(Level::Info as u32);

    /// Ask the host for its current level (cheap; call once per configure/tick).
    pub fn refresh() {
        if let Ok(l) = hostcalls::get_log_level() {
            MIN.store(l as u32, Ordering::Relaxed);
        }
    }

    pub fn enabled(level: Level) -> bool {
        level as u32 >= MIN.load(Ordering::Relaxed)
    }

    pub fn write(level: Level, msg: &str) {
        let l = match level {
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        let _ = hostcalls::log(l, msg);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod host {
    use super::Level;

    pub fn refresh() {}

    pub fn enabled(_: Level) -> bool {
        false
    }

    pub fn write(_: Level, _: &str) {}
}

pub use host::{enabled, refresh};

/// Log the message `f` builds, if the host's level lets `level` through.
pub fn log(level: Level, f: impl FnOnce() -> String) {
    if host::enabled(level) {
        host::write(level, &f());
    }
}

/// [`log`] at debug level.
pub fn debug(f: impl FnOnce() -> String) {
    log(Level::Debug, f)
}

/// [`log`] at info level.
pub fn info(f: impl FnOnce() -> String) {
    log(Level::Info, f)
}

/// [`log`] at warn level, through `limiter`.
pub fn warn_limited(limiter: &mut Limiter, f: impl FnOnce() -> String) {
    if let Some(suppressed) = limiter.hit() {
        log(Level::Warn, || {
            let msg = f();
            if suppressed > 0 {
                format!("{msg} ({suppressed} similar suppressed)")
            } else {
                msg
            }
        })
    }
}

/// [`log`] at error level.
pub fn error(f: impl FnOnce() -> String) {
    log(Level::Error, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_lets_one_in_n_through() {
        let mut l = Limiter::new(3);
        let got: Vec<_> = (0..7).map(|_| l.hit()).collect();
        assert_eq!(got, [Some(0), None, None, Some(2), None, None, Some(2)]);
        let mut every = Limiter::new(0);
        assert_eq!((every.hit(), every.hit()), (Some(0), Some(0)));
    }
}
