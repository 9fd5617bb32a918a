//! `jingwei bench-peer W1|W2|W3|W4|MESH DATADIR` — one workload of the peer benchmark in
//! `../shared/bench`, printed as the one JSON line its harness reads. Each run does the whole
//! job from the GeoPackage files; nothing is cached between runs.

use anyhow::{Context, Result, bail};
use jingwei_layers::{Crs, Layer, OpenOptions, Source, SpatialIndex, Transformer};
use rayon::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Workload: W1 (load + index), W2 (permit coverage and zone hits), W3 (5 nearest
    /// resources), W4 (reproject 4547 → 4490), MESH (extrude every building into the 3D
    /// scene's meshes, single-threaded and parallel).
    workload: String,
    /// The harness's data folder for one size (holds buildings.gpkg, ...).
    dir: PathBuf,
}

fn read(dir: &Path, name: &str) -> Result<Layer> {
    read_fields(dir, name, None)
}

/// Read a harness layer, keeping only the `keep` attribute fields (all when `None`).
fn read_fields(dir: &Path, name: &str, keep: Option<&[&str]>) -> Result<Layer> {
    let path = dir.join(format!("{name}.gpkg"));
    if !path.is_file() {
        bail!("{}: no such file", path.display());
    }
    // The harness's files are plain GeoPackage feature tables: read them with the native reader
    // (no GDAL start-up); anything it declines goes through GDAL as usual.
    match jingwei_layers::gpkg::read_layer_fields(&path, Some(name), keep) {
        Ok(l) => Ok(l),
        Err(_) => Ok(Source::open(&path, &OpenOptions::default())?.read_layer(Some(name))?),
    }
}

/// Leave a workload's data to the operating system: the process prints its line and exits
/// right after, and freeing a million geometries one by one first would only add to the time.
fn leave<T>(data: T) {
    std::mem::forget(data);
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
        "W2" => w2(&a.dir)?,
        "MESH" => mesh(&a.dir)?,
        other => bail!("unknown workload '{other}' (W1, W2, W3, W4, MESH)"),
    };
    println!("{out}");
    // The answer is out; skip freeing a million geometries one by one at exit.
    use std::io::Write;
    std::io::stdout().flush()?;
    std::process::exit(0)
}

fn w1(dir: &Path) -> Result<serde_json::Value> {
    let t0 = Instant::now();
    let b = read(dir, "buildings")?;
    let t1 = Instant::now();
    let index = SpatialIndex::build(&b.geometries);
    let t2 = Instant::now();
    let bbox = index.extent().context("no geometry")?;
    if index.len() != b.len() {
        bail!("indexed {} of {} buildings", index.len(), b.len());
    }
    let n = b.len();
    leave((b, index));
    Ok(json!({
        "buildings": n,
        "bbox": bbox,
        "phases": {"read": (t1 - t0).as_secs_f64(), "index": (t2 - t1).as_secs_f64()}
    }))
}

fn w2(dir: &Path) -> Result<serde_json::Value> {
    use jingwei_analysis::{coverage::permit_coverage, zones::zone_hits};
    let t0 = Instant::now();
    let (b, (p, z)) = rayon::join(
        || read_fields(dir, "buildings", Some(&[])),
        || {
            rayon::join(
                || read_fields(dir, "permits", Some(&[])),
                || read_fields(dir, "zones", Some(&["zone_type"])),
            )
        },
    );
    let (b, p, z) = (b?, p?, z?);
    let t1 = Instant::now();
    let cov = permit_coverage(&b.geometries, &p.geometries);
    let t2 = Instant::now();
    let hits = zone_hits(&b.geometries, &z.geometries);
    let t3 = Instant::now();
    let ty = z.field_index("zone_type").context("zones has no zone_type")?;
    let types: Vec<String> = (0..z.len()).map(|r| z.feature(r).value(ty).to_string()).collect();
    let mut by_type: std::collections::BTreeMap<String, u64> = Default::default();
    let (mut cov_flag, mut cov_zero, mut cov_partial, mut pairs, mut zone_any, mut flag_any, mut flag_both) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut cov_sum = 0.0f64;
    for (c, h) in cov.iter().zip(&hits) {
        let ratio = c.ratio();
        cov_sum += ratio;
        pairs += u64::from(c.permits);
        let flagged = ratio < 0.95;
        if flagged {
            cov_flag += 1;
            if c.covered_m2 == 0.0 { cov_zero += 1 } else { cov_partial += 1 }
        }
        if !h.is_empty() {
            zone_any += 1;
            let mut seen: Vec<&str> = h.iter().map(|&i| types[i as usize].as_str()).collect();
            seen.sort_unstable();
            seen.dedup();
            for t in seen {
                *by_type.entry(t.to_owned()).or_default() += 1;
            }
        }
        flag_any += u64::from(flagged || !h.is_empty());
        flag_both += u64::from(flagged && !h.is_empty());
    }
    let n = b.len();
    leave((b, p, z, cov, hits));
    Ok(json!({
        "buildings": n, "pairs_permit": pairs, "cov_flag": cov_flag, "cov_zero": cov_zero, "cov_partial": cov_partial,
        "zone_any": zone_any, "zone_by_type": by_type, "flag_any": flag_any, "flag_both": flag_both, "cov_sum": round(cov_sum, 3),
        "phases": {"read": (t1 - t0).as_secs_f64(), "coverage": (t2 - t1).as_secs_f64(), "zones": (t3 - t2).as_secs_f64()}
    }))
}

fn mesh(dir: &Path) -> Result<serde_json::Value> {
    use jingwei_scene::extrude::{HeightRule, extrude_layer};
    let t0 = Instant::now();
    let b = read(dir, "buildings")?;
    let t1 = Instant::now();
    let e = b.extent().context("no buildings")?;
    let origin = [((e[0] + e[2]) / 2.0).round(), ((e[1] + e[3]) / 2.0).round()];
    let rule = HeightRule::for_layer(&b);
    let single = rayon::ThreadPoolBuilder::new().num_threads(1).build()?.install(|| {
        let t = Instant::now();
        let m = extrude_layer(&b, &rule, origin);
        (t.elapsed().as_secs_f64(), m.indices.len())
    });
    let t2 = Instant::now();
    let m = extrude_layer(&b, &rule, origin);
    let parallel_s = t2.elapsed().as_secs_f64();
    assert_eq!(m.indices.len(), single.1, "parallel and single-threaded meshes differ");
    // What is uploaded: positions and u16 indices in chunks of ≤ 65,536 vertices.
    let t3 = Instant::now();
    let chunks = m.chunks();
    let chunk_s = t3.elapsed().as_secs_f64();
    let gpu_bytes: usize = chunks.iter().map(|(p, i, e)| p.len() * 12 + i.len() * 2 + e.len() * 16).sum();
    Ok(json!({
        "buildings": b.len(), "vertices": m.positions.len(), "triangles": m.indices.len() / 3,
        "gpu_bytes": gpu_bytes, "gpu_bytes_per_building": gpu_bytes as f64 / b.len() as f64, "chunks": chunks.len(),
        "mesh_s_single_thread": single.0, "mesh_s_parallel": parallel_s, "chunk_s": chunk_s, "threads": rayon::current_num_threads(),
        "phases": {"read": (t1 - t0).as_secs_f64()}
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
    let ids: Vec<i64> = (0..res.len())
        .map(|r| res.feature(r).value(id_col).as_f64().unwrap_or(0.0) as i64)
        .collect();
    let points: Vec<[f64; 2]> = qs
        .geometries
        .iter()
        .map(|g| match g.and_then(|g| g.point()) {
            Some(p) => [p.x, p.y],
            None => [f64::NAN, f64::NAN],
        })
        .collect();
    let per_query: Vec<(usize, f64, i64)> = index
        .nearest_each(&res.geometries, &points, 5)
        .into_par_iter()
        .zip(&points)
        .map(|(hits, p)| {
            if p[0].is_nan() {
                return (0, 0.0, 0);
            }
            (
                hits.len(),
                hits.iter().map(|h| h.distance).sum(),
                hits.iter().map(|h| ids[h.row]).sum(),
            )
        })
        .collect();
    let t3 = Instant::now();
    let rows: usize = per_query.iter().map(|q| q.0).sum();
    let dist_sum: f64 = per_query.iter().map(|q| q.1).sum();
    let rid_sum: i64 = per_query.iter().map(|q| q.2).sum();
    let n = qs.len();
    leave((res, qs, index));
    Ok(json!({
        "queries": n, "rows": rows, "dist_sum": round(dist_sum, 3), "rid_sum": rid_sum,
        "phases": {"read": (t1 - t0).as_secs_f64(), "index": (t2 - t1).as_secs_f64(), "knn": (t3 - t2).as_secs_f64()}
    }))
}

fn w4(dir: &Path) -> Result<serde_json::Value> {
    let t0 = Instant::now();
    let path = dir.join("buildings.gpkg");
    let to = Crs::cgcs2000()?;
    let from = jingwei_layers::gpkg::layer_crs(&path, Some("buildings"))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        .context("buildings.gpkg has no CRS")?;
    Transformer::new(&from, &to)?;
    thread_local! {
        static T: std::cell::RefCell<Option<Transformer>> = const { std::cell::RefCell::new(None) };
        // The thread's coordinate buffers, kept from chunk to chunk.
        static BUF: std::cell::Cell<(Vec<(f64, f64)>, Vec<usize>)> = const { std::cell::Cell::new((Vec::new(), Vec::new())) };
    }
    // Stream the table in chunks: read, transform and reduce each chunk, never holding the
    // whole layer. One transformer per thread; one PROJ (or closed-form) call per chunk.
    let per_chunk = jingwei_layers::gpkg::map_wkb_chunks(&path, Some("buildings"), 16_384, |wkbs| {
        T.with(|cell| {
            let mut cell = cell.borrow_mut();
            let t = cell.get_or_insert_with(|| Transformer::new(&from, &to).expect("checked"));
            // Walk the WKB straight into one coordinate buffer: no geometry objects.
            let (mut buf, mut ends) = BUF.take();
            buf.clear();
            ends.clear();
            for w in wkbs.iter().flatten() {
                jingwei_layers::wkb::push_wkb_coords(w, &mut buf).map_err(|e| e.to_string())?;
                ends.push(buf.len());
            }
            t.transform_in_place(&mut buf).map_err(|e| e.to_string())?;
            // Reduce each chunk to partial sums (buildings, vertices, Σcx, Σcy).
            let mut start = 0;
            let mut acc = (0usize, 0usize, 0.0f64, 0.0f64);
            for &end in &ends {
                let pts = &buf[start..end];
                start = end;
                let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
                for &(x, y) in pts {
                    x0 = x0.min(x);
                    y0 = y0.min(y);
                    x1 = x1.max(x);
                    y1 = y1.max(y);
                }
                acc = (acc.0 + 1, acc.1 + pts.len(), acc.2 + (x0 + x1) / 2.0, acc.3 + (y0 + y1) / 2.0);
            }
            BUF.set((buf, ends));
            Ok::<_, String>(acc)
        })
    })
    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let t1 = Instant::now();
    let mut total = (0usize, 0usize, 0.0f64, 0.0f64);
    for c in per_chunk {
        let c = c.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        total = (total.0 + c.0, total.1 + c.1, total.2 + c.2, total.3 + c.3);
    }
    Ok(json!({
        "buildings": total.0,
        "vertices": total.1,
        "cx_sum": round(total.2, 6),
        "cy_sum": round(total.3, 6),
        "phases": {"read_transform": (t1 - t0).as_secs_f64()}
    }))
}
