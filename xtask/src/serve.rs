//! A small static file server for the browser simulator (correct MIME types for
//! `.wasm` and ES modules, loopback only, no directory escapes).

use anyhow::{Context, Result};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A running server; stops on drop.
pub struct Static {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let mut out = root.to_path_buf();
    for c in Path::new(path.trim_start_matches('/')).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    out.is_file().then_some(out)
}

impl Static {
    /// Serve `root` on `127.0.0.1:port`.
    pub fn start(root: &Path, port: u16) -> Result<Static> {
        let server = Arc::new(
            tiny_http::Server::http(("127.0.0.1", port))
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("listening on 127.0.0.1:{port} (use --web-port)"))?,
        );
        let (srv, root) = (server.clone(), root.to_path_buf());
        let thread = std::thread::spawn(move || {
            for req in srv.incoming_requests() {
                let resp = match resolve(&root, req.url()).and_then(|p| std::fs::read(&p).ok().map(|b| (p, b))) {
                    Some((p, body)) => {
                        let ct = tiny_http::Header::from_bytes("content-type", mime(&p)).ok();
                        let mut r = tiny_http::Response::from_data(body);
                        if let Some(h) = ct {
                            r.add_header(h);
                        }
                        r
                    }
                    None => tiny_http::Response::from_data(b"not found\n".to_vec()).with_status_code(404),
                };
                let _ = req.respond(resp);
            }
        });
        Ok(Static { server, thread: Some(thread) })
    }
}

impl Drop for Static {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
