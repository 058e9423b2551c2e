//! `edgepick-host`: run proxy-wasm filters natively (replay, run, bench).

mod cli;
mod cmd;

use clap::Parser;

fn main() -> std::process::ExitCode {
    match cmd::run(cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader went away (`| head`): stop quietly, like `cat` would.
        Err(e) if is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgepick-host: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Whether `e` comes from writing to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
