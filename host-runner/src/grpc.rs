//! Answers to `proxy_grpc_call` from a cluster scripted for gRPC
//! ([`Upstream::Grpc`]), delivered the way Envoy 1.40's unary gRPC client
//! delivers them (`source/extensions/common/wasm/context.cc`,
//! `Grpc::AsyncRequestImpl::onRemoteClose`):
//!
//! - status OK with a message: `proxy_on_grpc_receive(root, token, size)`;
//!   the message is buffer `GrpcReceiveBuffer` (5) during the callback;
//! - any other status: `proxy_on_grpc_close(root, token, status)`; the status
//!   and its message, marked as the upstream's, are what `proxy_get_status`
//!   answers during the callback;
//! - status OK without a message: closed with `Internal` (13), no message.
//!
//! Both go to the plugin's root context, as in Envoy: `proxy_grpc_call` acts
//! for the root context of whichever context called it (proxy-wasm-cpp-host
//! `src/exports.cc`); a module resumes its stream with
//! `proxy_set_effective_context`.
//!
//! [`Upstream::Grpc`]: crate::Upstream::Grpc

use crate::state::CalloutAnswer;
use crate::types::HeaderMap;
use crate::vm::Vm;
use crate::HostError;

/// gRPC status `INTERNAL`: what Envoy reports for an OK answer without a
/// message.
pub const GRPC_INTERNAL: u32 = 13;

/// How Envoy 1.40 marks a status that came from the upstream's
/// `grpc-status`: `{via_upstream}` after its `grpc-message`, or
/// `via_upstream` alone when it sent none (observed in
/// `tests/tests/fidelity_grpc.rs`).
fn via_upstream(grpc_message: &str) -> String {
    if grpc_message.is_empty() {
        "via_upstream".into()
    } else {
        format!("{grpc_message}{{via_upstream}}")
    }
}

/// A canned answer to `proxy_grpc_call` (what a gRPC server would send).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptedGrpc {
    /// gRPC status (`grpc-status`): 0 OK, 7 PERMISSION_DENIED, 14 UNAVAILABLE, …
    pub status: u32,
    /// The response message (bytes of the serialized proto), if one is sent.
    pub message: Option<Vec<u8>>,
    /// The status message (`grpc-message`).
    pub status_message: String,
}

impl ScriptedGrpc {
    /// How Envoy's unary client reports this answer: the message (status
    /// OK), or the status and status message it closes with.
    pub(crate) fn outcome(&self) -> Result<&[u8], (u32, String)> {
        match (self.status, &self.message) {
            (0, Some(m)) => Ok(m),
            (0, None) => Err((GRPC_INTERNAL, String::new())),
            (s, _) => Err((s, via_upstream(&self.status_message))),
        }
    }

    /// This answer as an HTTP response, for a `proxy_http_call` to a cluster
    /// scripted for gRPC: what a gRPC server sends (200,
    /// `application/grpc`, the status as header fields, the message in a
    /// gRPC frame).
    pub(crate) fn as_http(&self) -> CalloutAnswer {
        let mut headers: HeaderMap = vec![
            (":status".into(), "200".into()),
            ("content-type".into(), "application/grpc".into()),
            ("grpc-status".into(), self.status.to_string()),
        ];
        if !self.status_message.is_empty() {
            headers.push(("grpc-message".into(), self.status_message.clone()));
        }
        let body = self.message.as_deref().map(frame).unwrap_or_default();
        CalloutAnswer {
            headers: Some(headers),
            body,
            trailers: None,
        }
    }
}

/// A gRPC length-prefixed message: flag 0 (not compressed), length
/// (big-endian `u32`), the bytes.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 5);
    out.push(0);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// A `proxy_grpc_call` waiting for its answer.
#[derive(Debug, Clone)]
pub struct PendingGrpc {
    /// Token returned to the guest (5, 9, 13, … per VM, as in Envoy).
    pub token: u32,
    /// Cluster named by the call.
    pub cluster: String,
    /// Service (`pkg.Service`).
    pub service: String,
    /// Method.
    pub method: String,
    /// Initial metadata the module sent.
    pub metadata: HeaderMap,
    /// The request message.
    pub message: Vec<u8>,
}

/// What a callback reads while a gRPC answer is delivered.
#[derive(Debug, Clone, Default)]
pub(crate) struct GrpcStatus {
    /// `proxy_get_status`'s code (Envoy keeps the last one).
    pub code: u32,
    /// `proxy_get_status`'s message (cleared after the callback).
    pub message: String,
}

/// Delivers the scripted answer to `call` on the root context.
pub(crate) fn deliver(vm: &mut Vm, call: PendingGrpc) -> Result<(), HostError> {
    let host = vm.store.data().host.clone();
    let Some(crate::Upstream::Grpc(script)) = host.config.clusters.get(&call.cluster) else {
        // Accepted only for clusters scripted for gRPC (see hostcalls).
        return Ok(());
    };
    let root = vm.store.data().root_context_id;
    match script.outcome() {
        Ok(message) => {
            let size = message.len() as u32;
            vm.store.data_mut().grpc_received = Some(message.to_vec());
            let r = vm.call::<(u32, u32, u32), ()>(
                "proxy_on_grpc_receive",
                root,
                (root, call.token, size),
            );
            vm.store.data_mut().grpc_received = None;
            r.map(|_| ())
        }
        Err((code, message)) => {
            vm.store.data_mut().grpc_status = GrpcStatus { code, message };
            let r = vm.call::<(u32, u32, u32), ()>(
                "proxy_on_grpc_close",
                root,
                (root, call.token, code),
            );
            vm.store.data_mut().grpc_status.message.clear();
            r.map(|_| ())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unary_outcomes_follow_envoys_client() {
        let ok = ScriptedGrpc {
            status: 0,
            message: Some(b"m".to_vec()),
            status_message: String::new(),
        };
        assert_eq!(ok.outcome(), Ok(&b"m"[..]));
        let empty = ScriptedGrpc::default();
        assert_eq!(empty.outcome(), Err((GRPC_INTERNAL, String::new())));
        let denied = ScriptedGrpc {
            status: 7,
            message: Some(b"dropped".to_vec()),
            status_message: "no".into(),
        };
        assert_eq!(denied.outcome(), Err((7, "no{via_upstream}".into())));
        let down = ScriptedGrpc {
            status: 14,
            ..ScriptedGrpc::default()
        };
        assert_eq!(down.outcome(), Err((14, "via_upstream".into())));
    }

    #[test]
    fn http_rendition_frames_the_message() {
        let a = ScriptedGrpc {
            status: 0,
            message: Some(b"ab".to_vec()),
            status_message: String::new(),
        }
        .as_http();
        assert_eq!(a.body, [0, 0, 0, 0, 2, b'a', b'b']);
        assert!(a
            .headers
            .unwrap()
            .contains(&("grpc-status".into(), "0".into())));
    }
}
