//! The edgepick Envoy filter.
