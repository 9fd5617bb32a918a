//! `jingwei-tools` — developers' tools kept out of the user's `jingwei`: the peer benchmark's
//! workloads (`bench-peer`, run by `../shared/bench` as `JINGWEI_BENCH="jingwei-tools
//! bench-peer"`) and the generator of the demo city's synthetic layers (`generate-demo`).

// Doc comments of the argument structs are the commands' --help text (`FILE[:LAYER]`, `[rest]`),
// not links.
#![allow(rustdoc::broken_intra_doc_links)]

#[path = "../alloc.rs"]
mod alloc;
#[path = "../bench.rs"]
mod bench;
#[path = "../bench_imagery.rs"]
mod bench_imagery;
#[path = "../bench_pipes.rs"]
mod bench_pipes;
#[path = "../demo.rs"]
mod demo;
#[path = "../exit.rs"]
mod exit;
#[path = "../lifelines_demo.rs"]
mod lifelines_demo;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "jingwei-tools",
    version,
    about = "Jingwei 经纬 — developers' tools (benchmark workloads, demo data)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one workload of the peer benchmark (../shared/bench) and print its JSON line.
    BenchPeer(bench::Args),
    /// Imagery figures: first frame of a large GeoTIFF, memory while panning, tiles per second.
    BenchImagery(bench_imagery::Args),
    /// Burst isolation on a synthetic lattice pipe network (100,800 pipes by default), ms.
    BenchPipes(bench_pipes::Args),
    /// Generate the demo city's synthetic planning and emergency layers from the OSM extract.
    GenerateDemo(demo::Args),
    /// Generate the demo city's synthetic water network, cameras and terrain from the OSM extract.
    GenerateLifelines(lifelines_demo::Args),
}

fn main() -> ExitCode {
    exit::panic_hook("jingwei-tools");
    let result = match Cli::parse().command {
        Command::BenchPeer(a) => bench::run(a),
        Command::GenerateDemo(a) => demo::run(a),
        Command::GenerateLifelines(a) => lifelines_demo::run(a),
        Command::BenchImagery(a) => bench_imagery::run(a),
        Command::BenchPipes(a) => bench_pipes::run(a),
    };
    exit::finish("jingwei-tools", result)
}
