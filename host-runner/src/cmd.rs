//! The commands: `run`, `replay`, `tick`, `bench`.

use crate::cli::{Cli, Cmd, Common, RequestArgs};
use anyhow::{anyhow, Context, Result};
use edgepick_host::replay::{decision, format_summary, replay, simulate};
use edgepick_host::report::{self, Format};
use edgepick_host::{Host, Interrupt, Request};
use std::io::{BufReader, Write};
use std::time::Instant;

/// Runs the command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Replay {
            common,
            trace,
            workers,
        } => {
            let (filter, config) = common.load()?;
            let file = std::fs::File::open(&trace)
                .with_context(|| format!("opening trace {}", trace.display()))?;
            let stdout = std::io::stdout().lock();
            let summary = replay(
                filter,
                config,
                workers,
                BufReader::new(file),
                stdout,
                common.format(),
            )
            .with_context(|| format!("replaying {}", trace.display()))?;
            eprint!("---\n{}", format_summary(&summary));
            Ok(())
        }
        Cmd::Run { common, request } => run_one(&common, &request),
        Cmd::Tick { common, ms } => tick(&common, ms),
        Cmd::Bench {
            common,
            requests,
            sticky,
            epoch,
        } => bench(&common, requests, sticky, epoch),
    }
}

/// Prints a record (text records carry their own line end).
fn emit(format: Format, record: String) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => writeln!(out, "{record}")?,
        Format::Text => write!(out, "{record}")?,
    }
    Ok(())
}

/// The request `run` sends, from its flags.
fn request(a: &RequestArgs) -> Result<Request> {
    let mut req = Request::get(&a.path).client(&a.client);
    req.method = a.method.clone();
    for h in &a.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| anyhow!("--header {h}: expected NAME:VALUE"))?;
        req = req.header(k.trim(), v.trim());
    }
    req.body = match (&a.body, &a.body_file) {
        (Some(b), _) => Some(b.clone().into_bytes()),
        (None, Some(f)) => {
            Some(std::fs::read(f).with_context(|| format!("reading --body-file {}", f.display()))?)
        }
        (None, None) => None,
    };
    for p in &a.properties {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| anyhow!("--property {p}: expected PATH=VALUE"))?;
        req.properties.push((k.to_string(), v.as_bytes().to_vec()));
    }
    Ok(req)
}

fn run_one(common: &Common, a: &RequestArgs) -> Result<()> {
    let format = common.format();
    let req = request(a)?;
    let (filter, config) = common.load()?;
    let host = Host::new(filter, config);
    let mut vm = host.start_vm()?;
    emit(
        format,
        report::event(format, "vm_start", 0, &vm.take_logs(), None),
    )?;
    if a.advance_ms > 0 {
        host.advance_ms(a.advance_ms);
        vm.poll()?;
        emit(
            format,
            report::event(format, "tick", 0, &vm.take_logs(), None),
        )?;
    }
    let ex = vm.serve(&req, |fwd| Some(simulate(&None, fwd)));
    let value = decision(&ex, 0);
    let record = match format {
        Format::Json => value.to_string(),
        Format::Text => report::text(1, &value),
    };
    emit(format, record)
}

fn tick(common: &Common, ms: u64) -> Result<()> {
    let format = common.format();
    let (filter, config) = common.load()?;
    let host = Host::new(filter, config);
    let mut vm = host.start_vm()?;
    emit(
        format,
        report::event(format, "vm_start", 0, &vm.take_logs(), None),
    )?;
    let period = u64::from(vm.tick_period_ms());
    if period == 0 {
        eprintln!("edgepick-host: the module set no tick period; nothing to run");
        return Ok(());
    }
    // One step per tick period, so each tick's lines are their own record.
    let mut done = 0;
    while done < ms {
        let step = period.min(ms - done);
        host.advance_ms(step);
        done += step;
        vm.poll()?;
        let logs = vm.take_logs();
        if !logs.is_empty() {
            emit(format, report::event(format, "tick", 0, &logs, None))?;
        }
    }
    Ok(())
}

fn bench(common: &Common, requests: usize, sticky: bool, epoch: bool) -> Result<()> {
    let t0 = Instant::now();
    let interrupt = if epoch {
        Interrupt::Epoch
    } else {
        Interrupt::Fuel
    };
    let (filter, config) = common.load_with(interrupt)?;
    bench_run(filter, config, t0, requests, sticky)
}

fn bench_run(
    filter: edgepick_host::Filter,
    config: edgepick_host::HostConfig,
    t0: Instant,
    requests: usize,
    sticky: bool,
) -> Result<()> {
    let compile = t0.elapsed();
    let interrupt = filter.interrupt();
    let host = Host::new(filter, config);
    let t1 = Instant::now();
    let mut vm = host.start_vm()?;
    let instantiate = t1.elapsed();
    let mut cookie: Option<String> = None;
    // Statuses and the decisions' reasons, to show what was measured.
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    let t2 = Instant::now();
    let cpu0 = thread_cpu_nanos();
    for i in 0..requests {
        let client = format!("10.0.{}.{}:{}", (i / 250) % 250, i % 250, 1024 + i % 60000);
        let mut req = Request::get("/bench")
            .client(&client)
            .header("x-user", &i.to_string());
        if let Some(c) = &cookie {
            req = req.header("cookie", c);
        }
        let ex = vm.run_http(&req, |fwd| Some(simulate(&None, fwd)))?;
        let status = ex.status.map_or("none".into(), |s| s.to_string());
        *statuses.entry(status).or_default() += 1;
        let reason = ex
            .response_header(edgepick_host::replay::DECISION_HEADER)
            .and_then(|d| d.split_whitespace().find_map(|w| w.strip_prefix("reason=")))
            .unwrap_or("-")
            .to_string();
        *reasons.entry(reason).or_default() += 1;
        if sticky && cookie.is_none() {
            let jar: Vec<&str> = ex
                .set_cookies()
                .iter()
                .filter_map(|c| c.split(';').next())
                .collect();
            cookie = (!jar.is_empty()).then(|| jar.join("; "));
        }
        if i % 1000 == 999 {
            vm.take_logs();
        }
    }
    let elapsed = t2.elapsed();
    // CPU time of this thread: the figure that holds on a busy machine.
    let cpu = thread_cpu_nanos()
        .zip(cpu0)
        .map(|(b, a)| b.saturating_sub(a) as f64 / 1e9);
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::json!({
            "compile_ms": compile.as_secs_f64() * 1e3,
            "vm_start_ms": instantiate.as_secs_f64() * 1e3,
            "requests": requests,
            "sticky_cookie": cookie,
            "statuses": statuses,
            "reasons": reasons,
            "interrupt": format!("{interrupt:?}"),
            "seconds": elapsed.as_secs_f64(),
            "requests_per_second": requests as f64 / elapsed.as_secs_f64(),
            "cpu_seconds": cpu,
            "requests_per_cpu_second": cpu.map(|c| requests as f64 / c),
        })
    )?;
    Ok(())
}

/// Nanoseconds this thread has run on a CPU (Linux `schedstat`), if known.
fn thread_cpu_nanos() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}
