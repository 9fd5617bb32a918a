//! `jingwei info FILE [--layer NAME] [--json]`

use anyhow::Result;
use jingwei_layers::{OpenOptions, Source};
use serde::Serialize;
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
    let src = Source::open(&a.file, &OpenOptions { encoding: a.encoding.clone() })?;
    let layers = match &a.layer {
        Some(n) => vec![src.layer_info(Some(n))?],
        None => src.info()?,
    };
    let report = Report { path: a.file.display().to_string(), driver: src.driver(), layers };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("File:    {}", report.path);
    println!("Driver:  {}", report.driver);
    if let Some(e) = src.encoding() {
        println!("Encoding: {} ({})", e.encoding, serde_json::to_value(e.source)?.as_str().unwrap_or(""));
    }
    let n = report.layers.len();
    for (i, l) in report.layers.iter().enumerate() {
        println!();
        println!("Layer {}/{n}: {}", i + 1, l.name);
        println!("  Features:  {}", l.feature_count);
        println!("  Geometry:  {}", l.geometry_type);
        match &l.crs {
            Some(c) => println!("  CRS:       {} — {}", c.label(), c.name),
            None => println!("  CRS:       (none declared)"),
        }
        if let Some(e) = l.extent {
            println!("  Extent:    {:.6}, {:.6} — {:.6}, {:.6}", e[0], e[1], e[2], e[3]);
        }
        if let Some(e) = l.extent_lonlat {
            println!("  Lon/lat:   {:.7}, {:.7} — {:.7}, {:.7} (CGCS2000)", e[0], e[1], e[2], e[3]);
        }
        println!("  Fields:    {}", l.fields.len());
        for f in &l.fields {
            if f.alias.is_empty() {
                println!("    {:<24} {}", f.name, f.kind.as_str());
            } else {
                println!("    {:<24} {} ({})", f.name, f.kind.as_str(), f.alias);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
