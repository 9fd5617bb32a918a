//! `jingwei-tools bench-pipes` — burst isolation on a synthetic lattice network of any size
//! (`jingwei_analysis::pipes::lattice`): the network's build and each burst's analysis, in
//! milliseconds, as one JSON line. Run it on a release build (BENCHMARKS.md).

use anyhow::Result;
use jingwei_analysis::pipes::{Network, Tolerances, lattice};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Junctions per side (2·n·(n−1) pipes; 225 gives 100,800).
    #[arg(long, default_value_t = 225)]
    n: usize,
    /// Junctions per side of a valve block.
    #[arg(long, default_value_t = 9)]
    block: usize,
    /// Bursts to time.
    #[arg(long, default_value_t = 50)]
    bursts: usize,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let spacing = 50.0;
    let t0 = Instant::now();
    let (pipes, valves, sources, customers) = lattice(a.n, spacing, a.block);
    let generated_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let count = pipes.len();
    let t1 = Instant::now();
    let net = Network::build(pipes, &valves, &sources, &customers, Tolerances::default());
    let build_ms = t1.elapsed().as_secs_f64() * 1000.0;
    let mut main_ms = Vec::new();
    let mut full_ms = Vec::new();
    // Bursts spread over the lattice by a fixed stride (deterministic).
    for k in 0..a.bursts {
        let c = (k * 37 + 5) % (a.n - 1);
        let r = (k * 53 + 11) % a.n;
        let Some((e, _)) = net.nearest_edge((c as f64 + 0.5) * spacing, -(r as f64) * spacing) else {
            continue;
        };
        let t = Instant::now();
        let plan = net.isolate(e);
        full_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        main_ms.push(full_ms.last().copied().unwrap_or(0.0) / (1 + plan.if_valve_fails.len()) as f64);
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let p95 = |v: &Vec<f64>| v.get(((v.len() as f64) * 0.95) as usize).copied().unwrap_or(f64::NAN);
    let (m, f) = (med(&mut main_ms), med(&mut full_ms));
    println!(
        "{}",
        serde_json::json!({
            "pipes": count, "valves": valves.len(), "customers": customers.len(),
            "generate_ms": generated_ms, "build_ms": build_ms,
            "isolate_one_ms_median": m, "isolate_with_failures_ms_median": f, "isolate_with_failures_ms_p95": p95(&full_ms),
            "bursts": full_ms.len(),
        })
    );
    Ok(ExitCode::SUCCESS)
}
