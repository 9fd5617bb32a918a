//! `jingwei balance --catalog … --status LAYER [--plan LAYER] [--csv out.csv] [--json]` — 用地平衡表;
//! `jingwei change --catalog … --from LAYER --to LAYER [--csv out.csv] [--json]` — 多期对比's
//! from→to matrix in 公顷. Layers are ids of the catalog or FILE[:LAYER] given with --data
//! (then `cli_0`, `cli_1`, …). The same answers as the app's.

use anyhow::Result;
use jingwei_app::data::{self, DataRequest};
use jingwei_app::files;
use jingwei_app::planning;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the layers come from: a catalog and files (the planning commands).
#[derive(clap::Args)]
pub struct Sources {
    /// The workspace catalog.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Layers from files: FILE or FILE:LAYER (ids cli_0, cli_1, … in that order).
    #[arg(long, value_name = "FILE[:LAYER]")]
    data: Vec<String>,
}

impl Sources {
    /// The workspace of the catalog and the files.
    pub fn open(&self) -> Result<jingwei_layers::Workspace> {
        let ids = (0..self.data.len()).map(|i| format!("cli_{i}"));
        Ok(data::open(&DataRequest {
            catalog: self.catalog.clone(),
            specs: self.data.iter().cloned().zip(ids).collect(),
            crs: None,
        })?
        .workspace)
    }
}

/// The layers, and where a table goes.
#[derive(clap::Args)]
pub struct Common {
    #[command(flatten)]
    pub sources: Sources,
    /// Write the table as CSV (UTF-8 with BOM) here.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Write the table as an Excel workbook (XLSX, with number formats) here.
    #[arg(long)]
    pub xlsx: Option<PathBuf>,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct BalanceArgs {
    #[command(flatten)]
    common: Common,
    /// The status-quo layer's id.
    #[arg(long)]
    status: String,
    /// The plan layer's id.
    #[arg(long)]
    plan: Option<String>,
    /// Print the table as a report here: .pdf or .png.
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    layout: crate::layout::Layout,
}

#[derive(clap::Args)]
pub struct ChangeArgs {
    #[command(flatten)]
    common: Common,
    /// The first epoch's layer id.
    #[arg(long)]
    from: String,
    /// The second epoch's layer id.
    #[arg(long)]
    to: String,
    /// Print the matrix as a report here: .pdf or .png.
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    layout: crate::layout::Layout,
}

pub fn balance(a: BalanceArgs) -> Result<ExitCode> {
    let ws = a.common.sources.open()?;
    let b = planning::balance_in(&ws, &a.status, a.plan.as_deref())?;
    if let Some(p) = &a.common.csv {
        files::write_atomic(p, planning::balance_csv(&b).as_bytes())?;
    }
    if let Some(p) = &a.common.xlsx {
        files::write_atomic(p, &planning::balance_xlsx(&b)?)?;
    }
    if let Some(out) = &a.report {
        let p = jingwei_app::print::print_balance_in(&ws, &a.status, a.plan.as_deref(), &a.layout.request(out.clone())?)?;
        if !a.common.json {
            crate::layout::report(&p, false)?;
        }
    }
    if a.common.json {
        println!("{}", serde_json::to_string_pretty(&b)?);
        return Ok(ExitCode::SUCCESS);
    }
    let opt = |v: Option<f64>, d: usize| v.map_or(String::new(), |v| format!("{v:.d$}"));
    println!(
        "{:<8} {:<24} {:>12} {:>8} {:>12} {:>8} {:>12}",
        "编码", "名称", "现状公顷", "占比%", "规划公顷", "占比%", "增减公顷"
    );
    for r in &b.rows {
        let indent = if r.level == 2 { "  " } else { "" };
        println!(
            "{:<8} {:<24} {:>12.4} {:>8.2} {:>12} {:>8} {:>12}",
            format!("{indent}{}", r.code),
            r.name,
            r.status_ha,
            r.status_share,
            opt(r.plan_ha, 4),
            opt(r.plan_share, 2),
            opt(r.change_ha, 4)
        );
    }
    println!(
        "{:<8} {:<24} {:>12.4} {:>8.2} {:>12}",
        "合计",
        "",
        b.status_total_ha,
        100.0,
        opt(b.plan_total_ha, 4)
    );
    Ok(ExitCode::SUCCESS)
}

pub fn change(a: ChangeArgs) -> Result<ExitCode> {
    let ws = a.common.sources.open()?;
    let (m, _) = planning::change_in(&ws, &a.from, &a.to)?;
    if let Some(out) = &a.report {
        let p = jingwei_app::print::print_change_in(&ws, &a.from, &a.to, &a.layout.request(out.clone())?)?;
        if !a.common.json {
            crate::layout::report(&p, false)?;
        }
    }
    if let Some(p) = &a.common.xlsx {
        files::write_atomic(p, &planning::change_xlsx(&m)?)?;
    }
    if let Some(p) = &a.common.csv {
        files::write_atomic(p, planning::change_csv(&m).as_bytes())?;
    }
    if a.common.json {
        println!("{}", serde_json::to_string_pretty(&m)?);
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", planning::change_csv(&m).trim_start_matches('\u{feff}').replace(',', "\t"));
    Ok(ExitCode::SUCCESS)
}
