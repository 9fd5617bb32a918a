//! `jingwei info FILE [--layer NAME] [--json]`

use anyhow::Result;
use jingwei_layers::{OpenOptions, Source};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The file (GeoPackage, Shapefile or .zip, GeoJSON, FlatGeobuf, .gdb folder, KML, GML, DXF, CSV, ...).
    file: PathBuf,
    /// Only this layer.
    #[arg(long)]
    layer: Option<String>,
    /// Text encoding of a shapefile's attributes (GBK, GB18030, Big5, UTF-8, CP1252, ...); detected if absent.
    #[arg(long)]
    encoding: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    path: String,
    driver: &'a str,
    layers: Vec<jingwei_layers::LayerInfo>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let src = Source::open(
        &a.file,
        &OpenOptions {
            encoding: a.encoding.clone(),
        },
    )?;
    let layers = match &a.layer {
        Some(n) => vec![src.layer_info(Some(n))?],
        None => src.info()?,
    };
    let report = Report {
        path: a.file.display().to_string(),
        driver: src.driver(),
        layers,
    };
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "File:    {}", report.path)?;
    writeln!(out, "Driver:  {}", report.driver)?;
    if let Some(e) = src.encoding() {
        writeln!(
            out,
            "Encoding: {} ({})",
            e.encoding,
            serde_json::to_value(e.source)?.as_str().unwrap_or("")
        )?;
    }
    let n = report.layers.len();
    for (i, l) in report.layers.iter().enumerate() {
        writeln!(out)?;
        writeln!(out, "Layer {}/{n}: {}", i + 1, l.name)?;
        writeln!(out, "  Features:  {}", l.feature_count)?;
        writeln!(out, "  Geometry:  {}", l.geometry_type)?;
        match &l.crs {
            Some(c) => writeln!(out, "  CRS:       {} — {}", c.label(), c.name)?,
            None => writeln!(out, "  CRS:       (none declared)")?,
        }
        if let Some(e) = l.extent {
            writeln!(out, "  Extent:    {:.6}, {:.6} — {:.6}, {:.6}", e[0], e[1], e[2], e[3])?;
        }
        if let Some(e) = l.extent_lonlat {
            writeln!(out, "  Lon/lat:   {:.7}, {:.7} — {:.7}, {:.7} (CGCS2000)", e[0], e[1], e[2], e[3])?;
        }
        writeln!(out, "  Fields:    {}", l.fields.len())?;
        for f in &l.fields {
            if f.alias.is_empty() {
                writeln!(out, "    {:<24} {}", f.name, f.kind.as_str())?;
            } else {
                writeln!(out, "    {:<24} {} ({})", f.name, f.kind.as_str(), f.alias)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
