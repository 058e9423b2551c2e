//! L4: Envoy `tcp_proxy` with the native policy, from the shipped
//! `deploy/envoy-l4.yaml` (substituted: ports, endpoints, the policy's JSON
//! document, the health-check interval; optionally Envoy's own policy in
//! place of the module, for comparison), and TCP echo backends on loopback.
//!
//! An echo backend writes its name and a newline on accept, then echoes
//! what it reads; killing it closes its listener (new connects are refused)
//! and every connection it holds.

use super::envoy::{launch, scratch_dir, Launch};
use super::http::connect;
use super::native::{deploy_file, lb_endpoints, native_module, Endpoint};
use super::{envoy_binary, free_port, Envoy, EnvoyBuilder};
use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Open connections by accept number (clones, so `kill` can close them).
type Conns = Arc<Mutex<std::collections::HashMap<usize, TcpStream>>>;

/// A TCP echo server on 127.0.0.1 that greets with its name.
pub struct TcpEcho {
    name: String,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    conns: Conns,
    accepted: Arc<AtomicUsize>,
}

impl TcpEcho {
    /// Listen on a free loopback port.
    pub fn spawn(name: &str) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Conns = Arc::default();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (s, c, a, n) = (
            stop.clone(),
            conns.clone(),
            accepted.clone(),
            name.to_string(),
        );
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let id = a.fetch_add(1, Ordering::SeqCst);
                        if let Ok(clone) = stream.try_clone() {
                            c.lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .insert(id, clone);
                        }
                        let greeting = format!("{n}\n");
                        let c = c.clone();
                        std::thread::spawn(move || {
                            serve(stream, &greeting);
                            // Its clone goes too (a process holds ~1024 files).
                            c.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
            // The listener closes here: connects are refused from now on.
        });
        Ok(TcpEcho {
            name: name.to_string(),
            addr,
            stop,
            conns,
            accepted,
        })
    }

    /// Its name (the greeting).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far (health checks included).
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Stop listening and close every connection it holds.
    pub fn kill(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let conns = std::mem::take(&mut *self.conns.lock().unwrap_or_else(|e| e.into_inner()));
        for c in conns.into_values() {
            let _ = c.shutdown(Shutdown::Both);
        }
        // The accept loop sleeps at most 2 ms between polls.
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for TcpEcho {
    fn drop(&mut self) {
        self.kill();
    }
}

fn serve(mut stream: TcpStream, greeting: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    if stream.write_all(greeting.as_bytes()).is_err() {
        return;
    }
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 || stream.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    // The accept loop holds a clone (for kill): close the socket itself.
    let _ = stream.shutdown(Shutdown::Both);
}

/// One proxied connection: its greeting (the backend's name) read, `ping` echoed.
pub struct L4Conn {
    reader: BufReader<TcpStream>,
    /// The backend that answered.
    pub backend: String,
}

impl L4Conn {
    /// Connect to `target` from `source`, read the greeting, check one echo.
    pub fn open(target: SocketAddr, source: IpAddr, timeout: Duration) -> anyhow::Result<Self> {
        let stream = connect(target, Some(source), timeout).context("connect")?;
        let mut conn = L4Conn {
            reader: BufReader::new(stream),
            backend: String::new(),
        };
        conn.backend = conn.line().context("greeting")?;
        conn.echo().context("echo")?;
        Ok(conn)
    }

    fn line(&mut self) -> anyhow::Result<String> {
        let mut l = String::new();
        if self.reader.read_line(&mut l)? == 0 {
            return Err(anyhow!("closed"));
        }
        Ok(l.trim_end().to_string())
    }

    /// Send a line and read it back: Err when the connection ended.
    pub fn echo(&mut self) -> anyhow::Result<()> {
        self.reader.get_mut().write_all(b"ping\n")?;
        match self.line()?.as_str() {
            "ping" => Ok(()),
            other => Err(anyhow!("echo answered {other:?}")),
        }
    }
}

fn set(doc: &mut Value, pointer: &str, v: Value) -> anyhow::Result<()> {
    *doc.pointer_mut(pointer)
        .ok_or_else(|| anyhow!("envoy-l4.yaml has no {pointer}"))? = v;
    Ok(())
}

/// Builds and starts Envoy from `deploy/envoy-l4.yaml`.
#[derive(Debug, Clone)]
pub struct L4Builder {
    document: String,
    endpoints: Vec<Endpoint>,
    envoy_policy: Option<String>,
    health_check_ms: Option<u64>,
    concurrency: u32,
}

impl L4Builder {
    /// The native policy with `document` over `endpoints`.
    pub fn new(document: &str, endpoints: &[Endpoint]) -> Self {
        L4Builder {
            document: document.to_string(),
            endpoints: endpoints.to_vec(),
            envoy_policy: None,
            health_check_ms: None,
            concurrency: 1,
        }
    }

    /// Envoy's own `lb_policy` (e.g. `ROUND_ROBIN`) instead of the module.
    pub fn envoy_policy(mut self, lb_policy: &str) -> Self {
        self.envoy_policy = Some(lb_policy.to_string());
        self
    }

    /// The TCP health-check interval (default: the file's).
    pub fn health_checks(mut self, interval_ms: u64) -> Self {
        self.health_check_ms = Some(interval_ms);
        self
    }

    /// Envoy worker threads.
    pub fn concurrency(mut self, n: u32) -> Self {
        self.concurrency = n.max(1);
        self
    }

    fn document(&self, admin_port: u16, port: u16) -> anyhow::Result<Value> {
        let path = deploy_file("envoy-l4.yaml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut doc: Value = serde_yaml::from_str(&text)?;
        set(
            &mut doc,
            "/admin/address/socket_address",
            json!({ "address": "127.0.0.1", "port_value": admin_port }),
        )?;
        set(
            &mut doc,
            "/static_resources/listeners/0/address/socket_address",
            json!({ "address": "127.0.0.1", "port_value": port }),
        )?;
        set(
            &mut doc,
            "/static_resources/clusters/0/load_assignment/endpoints",
            lb_endpoints(&self.endpoints),
        )?;
        let policy = "/static_resources/clusters/0/load_balancing_policy/policies/0/typed_extension_config/typed_config/lb_policy_config/value";
        set(&mut doc, policy, json!(self.document))?;
        if let Some(ms) = self.health_check_ms {
            let t = json!(format!("{}.{:03}s", ms / 1000, ms % 1000));
            set(
                &mut doc,
                "/static_resources/clusters/0/health_checks/0/interval",
                t.clone(),
            )?;
            set(
                &mut doc,
                "/static_resources/clusters/0/health_checks/0/no_traffic_interval",
                t,
            )?;
        }
        if let Some(lb) = &self.envoy_policy {
            let c = doc
                .pointer_mut("/static_resources/clusters/0")
                .and_then(Value::as_object_mut)
                .ok_or_else(|| anyhow!("envoy-l4.yaml has no cluster"))?;
            c.remove("load_balancing_policy");
            c.insert("lb_policy".into(), json!(lb));
        }
        Ok(doc)
    }

    /// Start Envoy with the module on its search path; wait until ready.
    pub fn start(self) -> anyhow::Result<Envoy> {
        let module = native_module();
        let search = module
            .parent()
            .ok_or_else(|| anyhow!("{} has no directory", module.display()))?;
        let (admin_port, port) = (free_port()?, free_port()?);
        let dir = scratch_dir()?;
        let doc = self.document(admin_port, port)?;
        let mut envoy = launch(&Launch {
            envoy: &envoy_binary(),
            doc: &doc,
            dir,
            admin_port,
            listener_ports: &[port],
            concurrency: self.concurrency,
            env: &[(
                "ENVOY_DYNAMIC_MODULES_SEARCH_PATH",
                search.as_os_str().to_owned(),
            )],
            template: EnvoyBuilder::without_filter(&[]),
        })?;
        envoy
            .wait_ready(Duration::from_secs(30))
            .map_err(|e| e.context(envoy.log_tail(20)))?;
        Ok(envoy)
    }
}
