//! The edgepick browser demo.
