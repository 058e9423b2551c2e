//! Deterministic discrete-event simulation of a topology (filled in by the web-demo work).
