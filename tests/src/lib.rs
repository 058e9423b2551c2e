//! Shared test support for edgepick.
