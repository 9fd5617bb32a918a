//! `jingwei about [--catalog FILE] [--json]` and the long `--version`: what the app's About box
//! shows, from the same use case.

use anyhow::Result;
use jingwei_app::about::{self, AboutDto};
use jingwei_layers::{RepairMode, Workspace};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Also list the sources and licences of this workspace's layers (as the app does for
    /// the workspace it has open).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Print JSON (the app's AboutDto).
    #[arg(long)]
    json: bool,
}

/// `--version`'s long text (clap prints the program name before it).
pub fn long_version() -> String {
    let a = about::about(None);
    let libs: Vec<String> = a.components.iter().map(|c| format!("{} {}", c.name, c.version)).collect();
    format!(
        "{} {}\n{}\nlicences and data attributions: {}",
        about::version_line(),
        a.target,
        libs.join(" · "),
        a.licence_dir
    )
}

pub fn run(a: Args) -> Result<ExitCode> {
    // The workspace opened as the app's session opens a catalog.
    let workspace = match &a.catalog {
        Some(c) => Some(Workspace::open_catalog(c, None, RepairMode::Repair)?),
        None => None,
    };
    let dto = about::about(workspace.as_ref());
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &dto)?;
        writeln!(out)?;
    } else {
        write_text(&mut out, &dto)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn write_text(out: &mut impl Write, a: &AboutDto) -> std::io::Result<()> {
    writeln!(out, "{} {} ({} {}) {}", a.product, a.version, a.commit, a.commit_date, a.target)?;
    writeln!(out, "\nComponents:")?;
    for c in &a.components {
        writeln!(out, "  {:<8} {:<10} {}", c.name, c.version, c.licence)?;
    }
    writeln!(out, "\nData and fonts:")?;
    for n in &a.data {
        writeln!(out, "  {} — {} — {}", n.what, n.licence, n.source)?;
    }
    writeln!(out, "\nFull licence texts and attributions: {}", a.licence_dir)
}
