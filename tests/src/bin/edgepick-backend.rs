//! `edgepick-backend`: the test backend used by the end-to-end tests and the demo.
//! See [`edgepick_tests::backend`].

use clap::Parser;

fn main() -> anyhow::Result<()> {
    edgepick_tests::backend::run(edgepick_tests::backend::Options::parse())
}
