//! [`HttpStream`]: one request through the filter, callback by callback,
//! the way Envoy's HTTP filter chain calls it.

use crate::error::HostError;
use crate::state::{LocalResponse, StreamData};
use crate::types::HeaderMap;
use crate::vm::Vm;

/// What the filter decided after a callback (and after pending callouts
/// were answered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterOutcome {
    /// The stream goes on.
    Continue,
    /// The filter paused the stream and has not resumed it.
    Paused,
    /// The filter answered with a local response.
    LocalResponse(LocalResponse),
    /// The filter reset the stream (`proxy_close_stream`).
    Reset,
}

/// One HTTP request/response on a [`Vm`]. Dropping it without
/// [`finish`](HttpStream::finish) skips `on_log`/`on_done`/`on_delete`.
pub struct HttpStream<'vm> {
    vm: &'vm mut Vm,
    id: u32,
}

impl Vm {
    /// Opens an HTTP stream: a new context (`proxy_on_context_create`).
    pub fn http_stream(&mut self) -> Result<HttpStream<'_>, HostError> {
        let id = self.create_stream()?;
        Ok(HttpStream { vm: self, id })
    }
}

impl HttpStream<'_> {
    pub(crate) fn host_shared(&self) -> &crate::shared::Shared {
        &self.vm.store.data().host.shared
    }

    /// The context id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The stream's state: headers as the filter left them, local response…
    pub fn data(&mut self) -> &StreamData {
        self.vm.stream_data(self.id)
    }

    /// Sets a property for this stream, by dotted path (`"upstream.address"`).
    pub fn set_property(&mut self, dotted: &str, value: impl Into<Vec<u8>>) {
        let path = crate::hostcalls::property_path(dotted);
        self.vm
            .stream_data(self.id)
            .properties
            .insert(path, value.into());
    }

    /// A request header's first value as the filter left it.
    pub fn request_header(&mut self, name: &str) -> Option<String> {
        let map = self.vm.stream_data(self.id).request_headers.as_ref()?;
        map.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    /// A response header's first value as the filter left it.
    pub fn response_header(&mut self, name: &str) -> Option<String> {
        let map = self.vm.stream_data(self.id).response_headers.as_ref()?;
        map.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    /// Runs `proxy_on_request_headers`. `headers` should carry `:method`,
    /// `:path`, `:authority` and `:scheme` like Envoy's map.
    pub fn on_request_headers(
        &mut self,
        headers: HeaderMap,
        end_of_stream: bool,
    ) -> Result<FilterOutcome, HostError> {
        let n = headers.len() as u32;
        self.vm.stream_data(self.id).request_headers = Some(lower(headers));
        let eos = u32::from(end_of_stream);
        self.run("proxy_on_request_headers", (self.id, n, eos), true)
    }

    /// Runs `proxy_on_request_body` with `chunk` appended to the body.
    pub fn on_request_body(
        &mut self,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<FilterOutcome, HostError> {
        let n = append(&mut self.vm.stream_data(self.id).request_body, chunk);
        self.run(
            "proxy_on_request_body",
            (self.id, n, u32::from(end_of_stream)),
            true,
        )
    }

    /// Runs `proxy_on_response_headers` (`:status` is added if missing).
    pub fn on_response_headers(
        &mut self,
        headers: HeaderMap,
        end_of_stream: bool,
    ) -> Result<FilterOutcome, HostError> {
        let mut headers = lower(headers);
        if !headers.iter().any(|(k, _)| k == ":status") {
            headers.insert(0, (":status".into(), "200".into()));
        }
        let n = headers.len() as u32;
        self.vm.stream_data(self.id).response_headers = Some(headers);
        let eos = u32::from(end_of_stream);
        self.run("proxy_on_response_headers", (self.id, n, eos), false)
    }

    /// Runs `proxy_on_response_body` with `chunk` appended to the body.
    pub fn on_response_body(
        &mut self,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> Result<FilterOutcome, HostError> {
        let n = append(&mut self.vm.stream_data(self.id).response_body, chunk);
        self.run(
            "proxy_on_response_body",
            (self.id, n, u32::from(end_of_stream)),
            false,
        )
    }

    /// Ends the stream: `proxy_on_log`, `proxy_on_done`, `proxy_on_delete`.
    /// Returns the stream's final state.
    pub fn finish(self) -> Result<StreamData, HostError> {
        let id = self.id;
        self.vm.call::<u32, ()>("proxy_on_log", id, id)?;
        self.vm.call::<u32, u32>("proxy_on_done", id, id)?;
        self.vm.call::<u32, ()>("proxy_on_delete", id, id)?;
        self.vm.pump()?;
        Ok(self
            .vm
            .store
            .data_mut()
            .streams
            .remove(&id)
            .unwrap_or_default())
    }

    fn run(
        &mut self,
        name: &'static str,
        args: (u32, u32, u32),
        request: bool,
    ) -> Result<FilterOutcome, HostError> {
        let had_local = self.vm.stream_data(self.id).local_response.is_some();
        let action = self
            .vm
            .call::<(u32, u32, u32), u32>(name, self.id, args)?
            .unwrap_or(0);
        self.vm.pump()?;
        let data = self.vm.stream_data(self.id);
        if data.reset {
            return Ok(FilterOutcome::Reset);
        }
        if let Some(local) = data.local_response.clone().filter(|_| !had_local) {
            self.local_reply_headers(&local)?;
            return Ok(FilterOutcome::LocalResponse(local));
        }
        let resumed = if request {
            data.request_resumed
        } else {
            data.response_resumed
        };
        Ok(if action != 0 && !resumed {
            FilterOutcome::Paused
        } else {
            FilterOutcome::Continue
        })
    }

    /// Envoy sends a local reply through the filter chain's encoder side, so
    /// the filter sees it in `on_response_headers`.
    fn local_reply_headers(&mut self, local: &LocalResponse) -> Result<(), HostError> {
        let mut headers = vec![(":status".to_string(), local.status.to_string())];
        headers.extend(lower(local.headers.clone()));
        if !local.body.is_empty() {
            headers.push(("content-length".into(), local.body.len().to_string()));
            if !headers.iter().any(|(k, _)| k == "content-type") {
                headers.push(("content-type".into(), "text/plain".into()));
            }
        }
        let n = headers.len() as u32;
        self.vm.stream_data(self.id).response_headers = Some(headers);
        if self.vm.store.data().host.config.local_reply_through_filter {
            let eos = u32::from(local.body.is_empty());
            self.vm.call::<(u32, u32, u32), u32>(
                "proxy_on_response_headers",
                self.id,
                (self.id, n, eos),
            )?;
            self.vm.pump()?;
        }
        Ok(())
    }
}

fn lower(map: HeaderMap) -> HeaderMap {
    map.into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// Appends a body chunk; returns the buffered body's length, as Envoy reports it.
fn append(body: &mut Option<Vec<u8>>, chunk: &[u8]) -> u32 {
    let body = body.get_or_insert_with(Vec::new);
    body.extend_from_slice(chunk);
    body.len() as u32
}
