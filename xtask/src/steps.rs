//! Running commands with progress lines and clear failures.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set (relative to the
/// workspace root, as cargo reads it), else `target/` in the workspace.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => root().join(d),
        _ => root().join("target"),
    }
}

/// The cargo binary running us (falls back to `cargo`).
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    c
}

/// Print a step header.
pub fn step(title: &str) -> Instant {
    eprintln!("\n==> {title}");
    Instant::now()
}

/// Run `cmd`, streaming its output; fail with the command line on a non-zero exit.
pub fn run(title: &str, cmd: &mut Command) -> Result<()> {
    let started = step(title);
    let status = cmd
        .status()
        .with_context(|| format!("{title}: could not start {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{title}: failed ({status}): {cmd:?}");
    }
    eprintln!("    ({title}: {:.1}s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// Run `cmd` quietly and return its stdout.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// True when `program` is an executable file on `PATH` (some tools, such as
/// wrk, exit non-zero for `--version`, so running them proves nothing).
pub fn have(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            std::fs::metadata(d.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}
