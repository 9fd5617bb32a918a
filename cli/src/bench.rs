//! `jingwei bench-peer W1|W3|W4 DATADIR` — one workload of the peer benchmark in
//! `../shared/bench`, printed as the one JSON line its harness reads. Each run does the whole
//! job from the GeoPackage files; nothing is cached between runs.

use anyhow::{Context, Result, bail};
use geo::CoordsIter;
use jingwei_layers::{Crs, Layer, OpenOptions, Source, SpatialIndex, Transformer};
use rayon::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Workload: W1 (load + index), W3 (5 nearest resources), W4 (reproject 4547 → 4490).
    workload: String,
    /// The harness's data folder for one size (holds buildings.gpkg, ...).
    dir: PathBuf,
}

fn read(dir: &Path, name: &str) -> Result<Layer> {
    let path = dir.join(format!("{name}.gpkg"));
    let src = Source::open(&path, &OpenOptions::default())?;
    Ok(src.read_layer(Some(name))?)
}

fn round(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

pub fn run(a: Args) -> Result<ExitCode> {
    let out = match a.workload.to_ascii_uppercase().as_str() {
        "W1" => w1(&a.dir)?,
        "W3" => w3(&a.dir)?,
        "W4" => w4(&a.dir)?,
        "W2" => bail!("W2 (the violation check) belongs to the violation-detection issue and is not implemented yet"),
        other => bail!("unknown workload '{other}' (W1, W3, W4)"),
    };
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn w1(dir: &Path) -> Result<serde_json::Value> {
    let t0 = Instant::now();
    let b = read(dir, "buildings")?;
    let t1 = Instant::now();
    let index = SpatialIndex::build(&b.geometries);
    let t2 = Instant::now();
    let bbox = b.extent().context("no geometry")?;
    if index.len() != b.len() {
        bail!("indexed {} of {} buildings", index.len(), b.len());
    }
    Ok(json!({
        "buildings": b.len(),
        "bbox": bbox,
        "phases": {"read": (t1 - t0).as_secs_f64(), "index": (t2 - t1).as_secs_f64()}
    }))
}

fn w3(dir: &Path) -> Result<serde_json::Value> {
    let t0 = Instant::now();
    let (res, qs) = rayon::join(|| read(dir, "resources"), || read(dir, "queries"));
    let (res, qs) = (res?, qs?);
    let t1 = Instant::now();
    let index = SpatialIndex::build(&res.geometries);
    let t2 = Instant::now();
    let id_col = res.field_index("id").context("resources has no 'id' field")?;
    let ids: Vec<i64> = (0..res.len()).map(|r| res.feature(r).value(id_col).as_f64().unwrap_or(0.0) as i64).collect();
    let per_query: Vec<(usize, f64, i64)> = qs
        .geometries
        .par_iter()
        .map(|g| {
            let Some(geo::Geometry::Point(p)) = g else { return (0, 0.0, 0) };
            let hits = index.nearest(&res.geometries, p.x(), p.y(), 5);
            (hits.len(), hits.iter().map(|h| h.distance).sum(), hits.iter().map(|h| ids[h.row]).sum())
        })
        .collect();
    let t3 = Instant::now();
    let rows: usize = per_query.iter().map(|q| q.0).sum();
    let dist_sum: f64 = per_query.iter().map(|q| q.1).sum();
    let rid_sum: i64 = per_query.iter().map(|q| q.2).sum();
    Ok(json!({
        "queries": qs.len(), "rows": rows, "dist_sum": round(dist_sum, 3), "rid_sum": rid_sum,
        "phases": {"read": (t1 - t0).as_secs_f64(), "index": (t2 - t1).as_secs_f64(), "knn": (t3 - t2).as_secs_f64()}
    }))
}

fn w4(dir: &Path) -> Result<serde_json::Value> {
    let t0 = Instant::now();
    // Only the geometry is needed to reproject it.
    let b = jingwei_layers::gpkg::read_layer_fields(&dir.join("buildings.gpkg"), Some("buildings"), Some(&[]))
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.join("buildings.gpkg").display()))?;
    let t1 = Instant::now();
    let from = b.crs.clone().context("buildings.gpkg has no CRS")?;
    let to = Crs::from_epsg(4490)?;
    Transformer::new(&from, &to)?;
    let per: Vec<(usize, f64, f64)> = b
        .geometries
        .par_chunks(8192)
        .map_init(
            || Transformer::new(&from, &to).expect("checked"),
            |t, chunk| {
                // One PROJ call per chunk: gather every vertex, transform, then take the boxes.
                let mut buf: Vec<(f64, f64)> = Vec::new();
                let mut ends = Vec::with_capacity(chunk.len());
                for g in chunk {
                    if let Some(g) = g {
                        buf.extend(g.coords_iter().map(|c| (c.x, c.y)));
                    }
                    ends.push(buf.len());
                }
                if t.transform_in_place(&mut buf).is_err() {
                    return vec![(0, f64::NAN, f64::NAN)];
                }
                let mut start = 0;
                ends.iter()
                    .map(|&end| {
                        let pts = &buf[start..end];
                        start = end;
                        if pts.is_empty() {
                            return (0, 0.0, 0.0);
                        }
                        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
                        for &(x, y) in pts {
                            x0 = x0.min(x);
                            y0 = y0.min(y);
                            x1 = x1.max(x);
                            y1 = y1.max(y);
                        }
                        (pts.len(), (x0 + x1) / 2.0, (y0 + y1) / 2.0)
                    })
                    .collect::<Vec<_>>()
            },
        )
        .flatten()
        .collect();
    let t2 = Instant::now();
    if per.iter().any(|p| p.1.is_nan()) {
        bail!("some vertices could not be transformed");
    }
    Ok(json!({
        "buildings": b.len(),
        "vertices": per.iter().map(|p| p.0).sum::<usize>(),
        "cx_sum": round(per.iter().map(|p| p.1).sum(), 6),
        "cy_sum": round(per.iter().map(|p| p.2).sum(), 6),
        "phases": {"read": (t1 - t0).as_secs_f64(), "transform": (t2 - t1).as_secs_f64()}
    }))
}
