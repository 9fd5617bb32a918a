//! `jingwei print --catalog … --out map.pdf [--template T] [--scale 2000] [--paper A3] …` — the
//! map sheet of a workspace as PDF or PNG; the same layout options print the reports of
//! `jingwei overlap --report` and `jingwei balance --report`.

use anyhow::Result;
use jingwei_app::print;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::landuse::Sources;
use crate::layout::{Layout, report};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    sources: Sources,
    #[command(flatten)]
    layout: Layout,
    /// The output: NAME.pdf, or NAME.png (PNG pages at the template's dpi).
    #[arg(long)]
    out: PathBuf,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let req = a.layout.request(a.out.clone())?;
    let ws = a.sources.open()?;
    let p = print::print_map_in(&ws, &req, &print::compose_batch(&ws))?;
    report(&p, a.json)?;
    Ok(ExitCode::SUCCESS)
}
