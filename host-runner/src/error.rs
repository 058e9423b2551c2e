//! Errors the host returns to its caller. A guest fault ends that VM with a
//! [`HostError::Fault`]; the host process carries on.

use crate::state::LogLine;
use std::fmt;

/// How a guest went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FaultKind {
    /// `unreachable` executed: a Rust panic or abort.
    Panic,
    /// Any other trap (bad memory access, stack overflow, ...).
    Trap,
    /// The per-callback instruction budget (fuel) ran out: an endless loop.
    OutOfFuel,
    /// The per-callback wall-clock budget (epochs) ran out: an endless loop.
    Deadline,
    /// The guest grew its memory past the host's limit.
    MemoryLimit,
    /// The guest trapped after calling WASI `proc_exit` (Envoy returns from
    /// `proc_exit`; a Rust guest then reaches `unreachable`).
    Exit,
}

/// An error from loading or running a module.
#[derive(Debug, Clone)]
pub enum HostError {
    /// The bytes are not a valid module, or a file could not be read.
    Load(String),
    /// The module imports a function the host (like Envoy) does not provide.
    MissingImport {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
    },
    /// The module imports a function Envoy provides, with another signature.
    ImportTypeMismatch {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
        /// The linker's explanation (the two signatures).
        detail: String,
    },
    /// The module exports no supported `proxy_abi_version_*`.
    UnsupportedAbi(String),
    /// `proxy_on_vm_start` returned false.
    VmStartFailed {
        /// Log lines written so far.
        logs: Vec<LogLine>,
    },
    /// `proxy_on_configure` returned false: Envoy rejects the plugin.
    ConfigurationRejected {
        /// Log lines written so far (the filter's explanation).
        logs: Vec<LogLine>,
    },
    /// The guest faulted; the VM is unusable from now on.
    Fault {
        /// What happened.
        kind: FaultKind,
        /// The callback that was running.
        callback: String,
        /// Wasmtime's description.
        message: String,
        /// Log lines written before the fault (panic messages land here).
        logs: Vec<LogLine>,
    },
    /// The VM faulted earlier and cannot be used.
    VmFailed(String),
}

fn fmt_logs(f: &mut fmt::Formatter<'_>, logs: &[LogLine]) -> fmt::Result {
    for l in logs {
        write!(f, "\n  [{:?}] {}", l.level, l.message)?;
    }
    Ok(())
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Load(m) => write!(f, "failed to load Wasm module: {m}"),
            HostError::MissingImport { module, name } => {
                write!(
                    f,
                    "Failed to load Wasm module due to a missing import: {module}.{name}"
                )
            }
            HostError::ImportTypeMismatch {
                module,
                name,
                detail,
            } => write!(
                f,
                "Failed to load Wasm module due to an import type mismatch: {module}.{name} ({detail})"
            ),
            HostError::UnsupportedAbi(m) => write!(f, "unsupported proxy-wasm ABI: {m}"),
            HostError::VmStartFailed { logs } => {
                write!(f, "proxy_on_vm_start returned false")?;
                fmt_logs(f, logs)
            }
            HostError::ConfigurationRejected { logs } => {
                write!(
                    f,
                    "plugin configuration rejected (proxy_on_configure returned false)"
                )?;
                fmt_logs(f, logs)
            }
            HostError::Fault {
                kind,
                callback,
                message,
                logs,
            } => {
                write!(f, "guest fault ({kind:?}) in {callback}: {message}")?;
                fmt_logs(f, logs)
            }
            HostError::VmFailed(m) => write!(f, "VM failed earlier: {m}"),
        }
    }
}

impl std::error::Error for HostError {}
