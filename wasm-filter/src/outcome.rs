//! What happened to a request, from Envoy's properties at the end of the
//! stream: the [`Outcome`] to close the core's ticket with (the ticket itself
//! works out which ranked nodes failed before the one that served).

use edgepick_core::Outcome;

/// Envoy's legacy `response.flags` bits that mean the upstream itself failed:
/// UT (request timeout), UR (remote reset), UF (connection failure), UC
/// (connection termination). `StreamInfo::ResponseFlag` in Envoy.
pub const UPSTREAM_FAILURE_FLAGS: u64 = 0x4 | 0x10 | 0x20 | 0x40;

/// Decode an Envoy integer property (8 bytes little endian).
pub fn decode_int(bytes: &[u8]) -> Option<i64> {
    Some(i64::from_le_bytes(bytes.get(..8)?.try_into().ok()?))
}

/// The final status of the attempt that ended the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// The upstream answered with this status.
    Status(u16),
    /// Connect failure, reset or timeout (Envoy's response flags say so).
    UpstreamFailure,
    /// Nothing to learn (e.g. the client went away before an answer).
    Unknown,
}

/// Classify from `response.code` and `response.flags`. A local 5xx carrying an
/// upstream-failure flag is the upstream's fault; any other answer counts as
/// the status it carries.
pub fn observe(code: Option<i64>, flags: u64) -> Observed {
    let code = code
        .and_then(|c| u16::try_from(c).ok())
        .filter(|&c| (100..=599).contains(&c));
    let upstream_failed = flags & UPSTREAM_FAILURE_FLAGS != 0;
    match code {
        Some(c) if c < 500 || !upstream_failed => Observed::Status(c),
        _ if upstream_failed => Observed::UpstreamFailure,
        _ => Observed::Unknown,
    }
}

/// The core's [`Outcome`] for the final attempt, or `None` when nothing was observed.
pub fn outcome(
    observed: Observed,
    latency_ms: Option<f64>,
    bytes: u64,
    load: Option<f64>,
) -> Option<Outcome> {
    let status = match observed {
        Observed::Status(s) => Some(s),
        Observed::UpstreamFailure => None,
        Observed::Unknown => return None,
    };
    Some(Outcome {
        status,
        latency_ms,
        bytes,
        load,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_envoy_integers() {
        assert_eq!(decode_int(&200i64.to_le_bytes()), Some(200));
        assert_eq!(decode_int(&[1, 2, 3]), None);
    }

    #[test]
    fn classifies_final_status() {
        assert_eq!(observe(Some(200), 0), Observed::Status(200));
        assert_eq!(
            observe(Some(503), 0),
            Observed::Status(503),
            "a real 503 from the node"
        );
        assert_eq!(
            observe(Some(503), 0x20),
            Observed::UpstreamFailure,
            "Envoy's own 503 after UF"
        );
        assert_eq!(observe(Some(504), 0x4), Observed::UpstreamFailure);
        assert_eq!(
            observe(Some(200), 0x20),
            Observed::Status(200),
            "a retry succeeded"
        );
        assert_eq!(observe(Some(0), 0x10), Observed::UpstreamFailure);
        assert_eq!(observe(None, 0x4000), Observed::Unknown, "client went away");
        assert_eq!(observe(Some(0), 0), Observed::Unknown);
    }

    #[test]
    fn outcome_maps_to_core() {
        let o = outcome(Observed::UpstreamFailure, Some(3.0), 0, None).unwrap();
        assert!(o.is_failure());
        let ok = outcome(Observed::Status(204), Some(1.5), 10, Some(0.5)).unwrap();
        assert!(!ok.is_failure());
        assert_eq!(ok.bytes, 10);
        assert_eq!(outcome(Observed::Unknown, None, 0, None), None);
    }
}
