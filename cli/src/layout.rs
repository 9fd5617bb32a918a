//! The print options the print commands share (`jingwei print`, `overlap --report`,
//! `balance --report`, `change --report`), and how a print is reported.

use anyhow::{Result, anyhow};
use jingwei_app::print::{PrintRequest, PrintedDto};
use std::path::PathBuf;

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
