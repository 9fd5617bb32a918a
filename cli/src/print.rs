//! `jingwei print --catalog … --out map.pdf [--template T] [--scale 2000] [--paper A3] …` — the
//! map sheet of a workspace as PDF or PNG; the same layout options print the reports of
//! `jingwei overlap --report` and `jingwei balance --report`.

use anyhow::{Result, anyhow};
use jingwei_app::print::{self, PrintRequest, PrintedDto};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::landuse::Sources;

/// The layout: a template file and settings over it.
#[derive(clap::Args, Default)]
pub struct Layout {
    /// A print template (TOML; see assets/demo/print/template.toml).
    #[arg(long)]
    template: Option<PathBuf>,
    /// The title.
    #[arg(long)]
    title: Option<String>,
    /// A4 or A3.
    #[arg(long)]
    paper: Option<String>,
    /// portrait or landscape.
    #[arg(long)]
    orientation: Option<String>,
    /// The scale's denominator (2000 for 1:2000).
    #[arg(long)]
    scale: Option<u32>,
    /// 制图单位.
    #[arg(long)]
    unit: Option<String>,
    /// 制图日期 (default today).
    #[arg(long)]
    date: Option<String>,
    /// A text field, LABEL=TEXT (repeatable; after the template's).
    #[arg(long = "field", value_name = "LABEL=TEXT")]
    fields: Vec<String>,
    /// Resolution of PNG pages (default 300).
    #[arg(long)]
    dpi: Option<u32>,
    /// The map's centre in workspace metres: X,Y.
    #[arg(long, value_name = "X,Y")]
    centre: Option<String>,
}

impl Layout {
    /// The request printing to `out`.
    pub fn request(&self, out: PathBuf) -> Result<PrintRequest> {
        let fields = self
            .fields
            .iter()
            .map(|f| {
                f.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .ok_or_else(|| anyhow!("--field '{f}': give LABEL=TEXT"))
            })
            .collect::<Result<Vec<_>>>()?;
        let centre_xy = self
            .centre
            .as_deref()
            .map(|c| -> Result<[f64; 2]> {
                let v: Vec<f64> = c
                    .split(',')
                    .map(|p| p.trim().parse::<f64>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| anyhow!("--centre '{c}': give X,Y in metres"))?;
                match v[..] {
                    [x, y] => Ok([x, y]),
                    _ => Err(anyhow!("--centre '{c}': give X,Y in metres")),
                }
            })
            .transpose()?;
        Ok(PrintRequest {
            template: self.template.clone(),
            title: self.title.clone(),
            paper: self.paper.clone(),
            orientation: self.orientation.clone(),
            scale: self.scale,
            unit: self.unit.clone(),
            date: self.date.clone(),
            fields,
            dpi: self.dpi,
            centre_xy,
            view: None,
            out,
        })
    }
}

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

/// Say what was printed.
pub fn report(p: &PrintedDto, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(p)?);
        return Ok(());
    }
    let scale = p.scale.map_or(String::new(), |s| format!(", 1:{s}"));
    println!(
        "{} {} {}{scale}, {} page(s):",
        p.paper,
        p.orientation,
        if p.dpi.is_some() { "PNG" } else { "PDF" },
        p.pages
    );
    for f in &p.files {
        println!("  {f}");
    }
    Ok(())
}

pub fn run(a: Args) -> Result<ExitCode> {
    let req = a.layout.request(a.out.clone())?;
    let ws = a.sources.open()?;
    let p = print::print_map_in(&ws, &req, &print::compose_batch(&ws))?;
    report(&p, a.json)?;
    Ok(ExitCode::SUCCESS)
}
