//! The proxy-wasm ABI 0.2.1 hostcalls, one host function per hostcall, named
//! like the imports in `proxy-wasm-rust-sdk/src/hostcalls.rs`. Statuses follow
//! Envoy's `source/extensions/common/wasm/context.cc`.

mod buffers;
mod core;
mod grpc;
mod headers;
mod http;
mod shared;

pub use buffers::property_path;

use crate::host::AbiVersion;
use crate::state::VmState;
use wasmtime::{IntoFunc, Linker};

/// A [`Linker`] that records every name it defines, so the list of what a
/// module may import is the linker's own (see [`imports`]), never a second
/// hand-kept list.
pub(crate) struct Registry<'a> {
    linker: &'a mut Linker<VmState>,
    abi: AbiVersion,
    defined: Vec<(&'static str, &'static str)>,
}

impl Registry<'_> {
    /// Defines `module.name` as host function `f`.
    pub(crate) fn func_wrap<P, R>(
        &mut self,
        module: &'static str,
        name: &'static str,
        f: impl IntoFunc<VmState, P, R>,
    ) -> wasmtime::Result<&mut Self> {
        self.linker.func_wrap(module, name, f)?;
        self.defined.push((module, name));
        Ok(self)
    }

    /// The ABI version of the module being linked (Envoy registers a few
    /// hostcalls for some versions only).
    pub(crate) fn abi(&self) -> AbiVersion {
        self.abi
    }
}

/// Registers every import Envoy 1.40 gives a module declaring `abi`: the
/// proxy-wasm hostcalls, the WASI functions and Envoy's two `env` helpers.
/// Returns the `(module, name)` pairs defined.
pub(crate) fn add_to_linker(
    linker: &mut Linker<VmState>,
    abi: AbiVersion,
) -> wasmtime::Result<Vec<(&'static str, &'static str)>> {
    let mut l = Registry {
        linker,
        abi,
        defined: Vec::new(),
    };
    core::add_to_linker(&mut l)?;
    headers::add_to_linker(&mut l)?;
    buffers::add_to_linker(&mut l)?;
    shared::add_to_linker(&mut l)?;
    http::add_to_linker(&mut l)?;
    grpc::add_to_linker(&mut l)?;
    crate::wasi::add_to_linker(&mut l)?;
    Ok(l.defined)
}

/// Every `(module, name)` import this host (like Envoy 1.40) provides to a
/// module declaring `abi`, sorted; a module importing anything else is
/// refused. Read from a linker built for the purpose.
pub fn imports(abi: AbiVersion) -> Result<Vec<(String, String)>, crate::HostError> {
    let engine = wasmtime::Engine::default();
    let mut linker = Linker::new(&engine);
    let defined =
        add_to_linker(&mut linker, abi).map_err(|e| crate::HostError::Load(format!("{e:#}")))?;
    let mut out: Vec<(String, String)> = defined
        .into_iter()
        .map(|(m, n)| (m.to_string(), n.to_string()))
        .collect();
    out.sort();
    Ok(out)
}
