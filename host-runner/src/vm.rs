//! [`Vm`]: one instance of the module, like one Envoy worker thread's VM.
//! Drives the lifecycle Envoy drives and contains guest faults.

use crate::error::{FaultKind, HostError};
use crate::host::HostInner;
use crate::state::{LogLine, Phase, StreamData, VmState};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use wasmtime::{Instance, Store, Trap, TypedFunc, WasmParams, WasmResults};

/// One VM. Not shared between threads; several VMs of one [`Host`](crate::Host)
/// share its shared data, queues and metrics.
pub struct Vm {
    pub(crate) store: Store<VmState>,
    instance: Instance,
    failed: Option<String>,
    next_context: u32,
    /// Exports looked up and type-checked once: `Option<TypedFunc<P, R>>` by
    /// name (`None`: the module lacks it).
    exports: HashMap<&'static str, Box<dyn Any>>,
}

impl Vm {
    pub(crate) fn start(host: Arc<HostInner>, index: usize) -> Result<Vm, HostError> {
        let cfg = &host.config;
        let seed = cfg.seed.wrapping_add(index as u64);
        let filter = host.filter.clone();
        let max_memory = cfg.max_memory_bytes;
        let mut store = Store::new(filter.engine(), VmState::new(host, index, max_memory, seed));
        store.limiter(|s| &mut s.limiter);
        refill(&mut store, filter.interrupt());
        let instance = filter
            .pre()
            .instantiate(&mut store)
            .map_err(|e| fault(&store, "instantiate", e))?;
        let memory = instance.get_memory(&mut store, "memory");
        let malloc = instance
            .get_typed_func::<u32, u32>(&mut store, "malloc")
            .or_else(|_| {
                instance.get_typed_func::<u32, u32>(&mut store, "proxy_on_memory_allocate")
            })
            .ok();
        store.data_mut().memory = memory;
        store.data_mut().malloc = malloc;
        let mut vm = Vm {
            store,
            instance,
            failed: None,
            next_context: 2,
            exports: HashMap::new(),
        };
        let init = if vm.has_export("_initialize") {
            "_initialize"
        } else {
            "_start"
        };
        vm.call::<(), ()>(init, 0, ())?;
        let root = vm.store.data().root_context_id;
        vm.call::<(u32, u32), ()>("proxy_on_context_create", root, (root, 0))?;
        let vm_config_len = vm.store.data().host.config.vm_config.len() as u32;
        vm.store.data_mut().phase = Phase::VmStart;
        let ok = vm.call::<(u32, u32), u32>("proxy_on_vm_start", root, (root, vm_config_len));
        vm.store.data_mut().phase = Phase::Running;
        if ok? == Some(0) {
            return Err(HostError::VmStartFailed {
                logs: vm.logs().to_vec(),
            });
        }
        let plugin_len = vm.store.data().host.config.plugin_config.len() as u32;
        vm.store.data_mut().phase = Phase::Configure;
        let ok = vm.call::<(u32, u32), u32>("proxy_on_configure", root, (root, plugin_len));
        vm.store.data_mut().phase = Phase::Running;
        if ok? == Some(0) {
            return Err(HostError::ConfigurationRejected {
                logs: vm.logs().to_vec(),
            });
        }
        vm.pump()?;
        Ok(vm)
    }

    fn has_export(&mut self, name: &str) -> bool {
        self.instance.get_export(&mut self.store, name).is_some()
    }

    /// Calls export `name` with `context` active and a fresh fuel budget.
    /// A missing export is `Ok(None)` (Envoy skips callbacks a module lacks);
    /// a fault marks the VM failed.
    pub(crate) fn call<P: WasmParams + 'static, R: WasmResults + 'static>(
        &mut self,
        name: &'static str,
        context: u32,
        params: P,
    ) -> Result<Option<R>, HostError> {
        if let Some(m) = &self.failed {
            return Err(HostError::VmFailed(m.clone()));
        }
        let Some(func) = self.export::<P, R>(name) else {
            return Ok(None);
        };
        let interrupt = self.store.data().host.filter.interrupt();
        refill(&mut self.store, interrupt);
        let previous = std::mem::replace(&mut self.store.data_mut().active_context, context);
        let result = func.call(&mut self.store, params);
        self.store.data_mut().active_context = previous;
        match result {
            Ok(r) => Ok(Some(r)),
            Err(e) => {
                let err = fault(&self.store, name, e);
                self.failed = Some(err.to_string());
                Err(err)
            }
        }
    }

    /// Export `name` as a typed function, looked up once per VM.
    fn export<P: WasmParams + 'static, R: WasmResults + 'static>(
        &mut self,
        name: &'static str,
    ) -> Option<TypedFunc<P, R>> {
        if let Some(f) = self
            .exports
            .get(name)
            .and_then(|f| f.downcast_ref::<Option<TypedFunc<P, R>>>())
        {
            return f.clone();
        }
        let f = self
            .instance
            .get_typed_func::<P, R>(&mut self.store, name)
            .ok();
        self.exports.insert(name, Box::new(f.clone()));
        f
    }

    /// Allocates a context id and runs `proxy_on_context_create` for an HTTP
    /// stream.
    pub(crate) fn create_stream(&mut self) -> Result<u32, HostError> {
        let id = self.next_context;
        self.next_context += 1;
        self.store
            .data_mut()
            .streams
            .insert(id, StreamData::default());
        let root = self.store.data().root_context_id;
        self.call::<(u32, u32), ()>("proxy_on_context_create", id, (id, root))?;
        Ok(id)
    }

    /// The stream `id`'s data.
    pub(crate) fn stream_data(&mut self, id: u32) -> &mut StreamData {
        self.store.data_mut().streams.entry(id).or_default()
    }

    /// Delivers what is due: answers to `proxy_http_call`, to
    /// `proxy_grpc_call`, then `proxy_on_queue_ready` for queues registered by this VM.
    pub fn pump(&mut self) -> Result<(), HostError> {
        for _ in 0..10_000 {
            let callouts = std::mem::take(&mut self.store.data_mut().callouts);
            let grpc = std::mem::take(&mut self.store.data_mut().grpc_calls);
            let index = self.store.data().vm_index;
            let ready = self.store.data().host.shared.take_ready(index);
            if callouts.is_empty() && grpc.is_empty() && ready.is_empty() {
                return Ok(());
            }
            for c in callouts {
                crate::callout::deliver(self, c)?;
            }
            for g in grpc {
                crate::grpc::deliver(self, g)?;
            }
            for (root, token) in ready {
                self.call::<(u32, u32), ()>("proxy_on_queue_ready", root, (root, token))?;
            }
        }
        Ok(())
    }

    /// Fires `proxy_on_tick` for every tick period elapsed on the virtual
    /// clock, then delivers pending events.
    pub fn poll(&mut self) -> Result<(), HostError> {
        for _ in 0..100_000 {
            let st = self.store.data();
            let now = st.host.shared.now_nanos();
            if st.tick_period_ms == 0 || st.next_tick_nanos > now {
                break;
            }
            let period = u64::from(st.tick_period_ms).saturating_mul(1_000_000);
            let root = st.root_context_id;
            let next = &mut self.store.data_mut().next_tick_nanos;
            let at_end = next.checked_add(period).is_none();
            *next = next.saturating_add(period);
            self.call::<u32, ()>("proxy_on_tick", root, root)?;
            self.pump()?;
            if at_end {
                // The clock's last tick: the next one can never come.
                break;
            }
        }
        self.pump()
    }

    /// Every line the module logged so far.
    pub fn logs(&self) -> &[LogLine] {
        &self.store.data().logs
    }

    /// Takes the log lines written so far.
    pub fn take_logs(&mut self) -> Vec<LogLine> {
        std::mem::take(&mut self.store.data_mut().logs)
    }

    /// Foreign function calls the module made.
    pub fn foreign_calls(&self) -> &[crate::state::ForeignCall] {
        &self.store.data().foreign_calls
    }

    /// The tick period the module asked for (0: none).
    pub fn tick_period_ms(&self) -> u32 {
        self.store.data().tick_period_ms
    }

    /// Why the VM failed, if it did.
    pub fn failure(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// This VM's index in its host (0, 1, ...).
    pub fn index(&self) -> usize {
        self.store.data().vm_index
    }
}

/// A fresh budget for the next callback: fuel, or an epoch deadline.
fn refill(store: &mut Store<VmState>, interrupt: crate::Interrupt) {
    let cfg = &store.data().host.config;
    match interrupt {
        crate::Interrupt::Fuel => {
            let fuel = cfg.fuel_per_callback;
            // Fails only when fuel is not enabled, which Fuel mode enables.
            let _ = store.set_fuel(fuel);
        }
        crate::Interrupt::Epoch => {
            let ticks = cfg.epochs_per_callback;
            store.set_epoch_deadline(ticks);
        }
    }
}

/// Classifies a wasmtime error into a [`HostError::Fault`].
fn fault(store: &Store<VmState>, callback: &str, e: wasmtime::Error) -> HostError {
    let st = store.data();
    let kind = if st.limiter.exceeded {
        FaultKind::MemoryLimit
    } else if st.exit_code.is_some() {
        FaultKind::Exit
    } else {
        match e.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => FaultKind::OutOfFuel,
            Some(Trap::Interrupt) => FaultKind::Deadline,
            Some(Trap::UnreachableCodeReached) => FaultKind::Panic,
            Some(_) => FaultKind::Trap,
            None => FaultKind::Trap,
        }
    };
    HostError::Fault {
        kind,
        callback: callback.to_string(),
        message: match st.exit_code {
            Some(code) => format!("after proc_exit({code}): {e:#}"),
            None => format!("{e:#}"),
        },
        logs: st.logs.clone(),
    }
}
