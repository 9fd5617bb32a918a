//! `jingwei-render` — the part of the command line that draws, with the Bevy renderer (software
//! Vulkan where there is no GPU): headless renders of layers or a workspace, and printable case
//! reports with their site maps. `jingwei render …` and `jingwei cases export --format report …`
//! run it; it is a program of its own so that `jingwei`'s batch commands link no graphics stack.

// Doc comments of the argument structs are the commands' --help text (`FILE[:LAYER]`, `[rest]`),
// not links.
#![allow(rustdoc::broken_intra_doc_links)]

#[path = "../args.rs"]
mod args;
#[path = "../bench_twin.rs"]
mod bench_twin;
#[path = "../exit.rs"]
mod exit;
#[path = "../filter.rs"]
mod filter;
#[path = "../render.rs"]
mod render;

use anyhow::Result;
use clap::{Parser, Subcommand};
use jingwei_app::report::{MAP_H, MAP_W, SiteMapRenderer, write_reports};
use jingwei_cases::CaseStore;
use jingwei_scene::scene::SceneData;
use jingwei_scene::view::View;
use jingwei_viewer::render::Renderer;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "jingwei-render", about = "Jingwei 经纬 — headless renders and printable case reports")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render layers or a workspace to a PNG, headless (software rendering where there is no GPU).
    Render(render::Args),
    /// Printable case reports: one HTML page per case with its site map, and an index.
    Report(ReportArgs),
    /// The city twin's fly-through benchmark: frame times and memory over a scripted flight.
    BenchTwin(bench_twin::Args),
}

#[derive(clap::Args)]
struct ReportArgs {
    /// The workspace GeoPackage with the cases.
    #[arg(long, short = 'w')]
    workspace: PathBuf,
    /// The folder to write into.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    filter: filter::FilterArgs,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// Site maps drawn by one offscreen renderer, made on the first map.
#[derive(Default)]
struct Maps(Option<Renderer>);

impl SiteMapRenderer for Maps {
    fn render_png(&mut self, scene: &SceneData, view: &View) -> jingwei_app::Result<Vec<u8>> {
        let err = |e: &dyn std::fmt::Display| jingwei_app::Error::Render(e.to_string());
        if self.0.is_none() {
            self.0 = Some(Renderer::new(MAP_W, MAP_H).map_err(|e| err(&e))?);
        }
        let r = self.0.as_mut().ok_or_else(|| err(&"no renderer"))?;
        r.render_png(scene, view).map_err(|e| err(&e))
    }
}

fn report(a: ReportArgs) -> Result<ExitCode> {
    use std::io::Write;
    let filter = a.filter.filter()?;
    let store = CaseStore::open(&a.workspace)?;
    let done = write_reports(&store, &filter, &a.out, &mut Maps::default())?;
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(
            out,
            "{}",
            serde_json::json!({"exported": done.cases, "with_map": done.with_map, "format": "report", "out": a.out})
        )?;
    } else {
        writeln!(out, "{} cases exported to {} (report)", done.cases, a.out.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    jingwei_layers::one_allocator_arena_per_core();
    exit::panic_hook("jingwei-render");
    jingwei_services::tileset::register();
    render::prepare_environment();
    let result = match args::parse::<Cli>(None).command {
        Command::Render(a) => render::run(a),
        Command::Report(a) => report(a),
        Command::BenchTwin(a) => bench_twin::run(a),
    };
    // Errors read as the `jingwei` command's: that is the command the user typed.
    exit::finish("jingwei", result)
}
