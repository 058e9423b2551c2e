//! `edgepick-host`: run proxy-wasm filters natively (replay, run, bench).

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    match cli::run(cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgepick-host: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
