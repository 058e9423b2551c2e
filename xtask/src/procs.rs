//! Child processes the xtask commands start and must not leave behind.

use anyhow::{bail, Result};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A child process stopped when this guard drops.
pub(crate) struct Killed(pub(crate) Child);

impl Drop for Killed {
    /// SIGTERM first, so a master process (nginx) takes its workers down
    /// with it; SIGKILL after 5 s.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wait until something listens on `127.0.0.1:port`, for at most `secs`.
pub(crate) fn wait_port(port: u16, secs: u64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("nothing listens on 127.0.0.1:{port} after {secs} s")
}
