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

/// Warning lines of one kind let through per minute.
pub const WARN_LINES_PER_MINUTE: u32 = 5;

/// How long a warning limiter's window lasts, ms.
pub const WINDOW_MS: u64 = 60_000;

/// Lets at most `per_minute` lines of one kind through per minute, however
/// fast a client triggers them, and counts the rest (reported with the next
/// line let through, and in total for the `warnings_suppressed` counter).
#[derive(Debug, Clone, Copy)]
pub struct Limiter {
    per_minute: u32,
    window_start: u64,
    logged: u32,
    suppressed: u32,
    /// Every event not logged, ever.
    pub total_suppressed: u64,
}

impl Limiter {
    /// A limiter letting `per_minute` lines through per minute (≥ 1).
    pub const fn new(per_minute: u32) -> Self {
        Limiter {
            per_minute: if per_minute == 0 { 1 } else { per_minute },
            window_start: 0,
            logged: 0,
            suppressed: 0,
            total_suppressed: 0,
        }
    }

    /// Count an event at `now_ms`; `Some(suppressed since the last line)`
    /// when this one should be logged.
    pub fn hit(&mut self, now_ms: u64) -> Option<u32> {
        if now_ms >= self.window_start.saturating_add(WINDOW_MS) || now_ms < self.window_start {
            self.window_start = now_ms;
            self.logged = 0;
        }
        if self.logged < self.per_minute {
            self.logged += 1;
            Some(core::mem::take(&mut self.suppressed))
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
            self.total_suppressed = self.total_suppressed.saturating_add(1);
            None
        }
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

    pub fn now_ms() -> u64 {
        crate::host::now_ms()
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

    pub fn now_ms() -> u64 {
        0
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
    if let Some(suppressed) = limiter.hit(host::now_ms()) {
        log(Level::Warn, || {
            let msg = f();
            if suppressed > 0 {
                format!("{msg} ({suppressed} similar suppressed since the last one)")
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
    fn limiter_lets_a_few_lines_a_minute_through() {
        let mut l = Limiter::new(2);
        let t0 = 1_000_000;
        let got: Vec<_> = (0..5).map(|i| l.hit(t0 + i)).collect();
        assert_eq!(got, [Some(0), Some(0), None, None, None]);
        assert_eq!(l.total_suppressed, 3);
        // A new minute: lines again, the first saying how many were dropped.
        assert_eq!(l.hit(t0 + WINDOW_MS), Some(3));
        assert_eq!(l.hit(t0 + WINDOW_MS + 1), Some(0));
        assert_eq!(l.hit(t0 + WINDOW_MS + 2), None);
        // A clock that goes back starts a window too; 0 means 1.
        assert_eq!(l.hit(5), Some(1));
        let mut one = Limiter::new(0);
        assert_eq!((one.hit(0), one.hit(1)), (Some(0), None));
    }
}
