//! `edgepick-dns --config FILE`: serve the configuration's zone.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: edgepick-dns --config FILE   (SIGHUP or a change to FILE reloads it)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = match args.as_slice() {
        [flag, file] if flag == "--config" || flag == "-c" => PathBuf::from(file),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let served = edgepick_dns::serve::load(&path).and_then(|zone| {
        // TCP, probes, metrics and reloads; UDP has threads of its own.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        rt.block_on(edgepick_dns::serve::run(path, zone))
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgepick-dns: {e:#}");
            ExitCode::FAILURE
        }
    }
}
