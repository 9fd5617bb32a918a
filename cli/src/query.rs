//! `jingwei query FILE --bbox ... | --point X,Y | --nearest K --at X,Y | --within D --at X,Y`

use anyhow::{Context, Result, bail};
use jingwei_layers::validity::RepairMode;
use jingwei_layers::{Crs, Hit, Layer, OpenOptions, Source, SpatialIndex, Workspace};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, clap::ValueEnum)]
enum Invalid {
    Repair,
    Skip,
    Keep,
}

#[derive(clap::Args)]
pub struct Args {
    /// The file to query.
    file: PathBuf,
    /// Layer (first if absent).
    #[arg(long)]
    layer: Option<String>,
    /// Features intersecting the envelope XMIN,YMIN,XMAX,YMAX.
    #[arg(long, value_name = "XMIN,YMIN,XMAX,YMAX", allow_hyphen_values = true)]
    bbox: Option<String>,
    /// Features under the point X,Y (polygons containing it; lines and points within --tolerance).
    #[arg(long, value_name = "X,Y", allow_hyphen_values = true)]
    point: Option<String>,
    /// The K nearest features to --at, by exact geometry distance.
    #[arg(long, value_name = "K")]
    nearest: Option<usize>,
    /// All features within this distance (metres in the workspace) of --at.
    #[arg(long, value_name = "DISTANCE")]
    within: Option<f64>,
    /// The query point for --nearest and --within.
    #[arg(long, value_name = "X,Y", allow_hyphen_values = true)]
    at: Option<String>,
    /// Search radius for --point, in metres (native units for layers without a CRS).
    #[arg(long, default_value_t = 1.0)]
    tolerance: f64,
    /// CRS of the query coordinates (default: the layer's own CRS), e.g. EPSG:4490 or GCJ02.
    #[arg(long = "in", value_name = "CRS")]
    in_crs: Option<String>,
    /// What to do with invalid geometries: repair (default), skip, or keep as they are.
    #[arg(long, value_enum, default_value = "repair")]
    invalid: Invalid,
    /// Text encoding of shapefile attributes (detected if absent).
    #[arg(long)]
    encoding: Option<String>,
    /// Seven-parameter shift of the layer's datum to CGCS2000 (dx,dy,dz m, rx,ry,rz ″, ds ppm),
    /// for Xi'an 1980 or Beijing 1954 data.
    #[arg(long, value_name = "DX,DY,DZ,RX,RY,RZ,DS", allow_hyphen_values = true)]
    towgs84: Option<String>,
    /// Print GeoJSON (geometries in CGCS2000 lon/lat when the layer has a CRS).
    #[arg(long)]
    json: bool,
}

fn parse_nums(s: &str, n: usize, what: &str) -> Result<Vec<f64>> {
    let v: Vec<f64> = s
        .split(',')
        .map(|t| t.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("{what} '{s}' must be {n} comma-separated numbers"))?;
    if v.len() != n || v.iter().any(|x| !x.is_finite()) {
        bail!("{what} '{s}' must be {n} comma-separated numbers");
    }
    Ok(v)
}

enum Query {
    Bbox([f64; 4]),
    /// An envelope given in another CRS, as a densified polygon in the workspace CRS.
    Area(geo::Geometry),
    /// An envelope wholly outside the area where the CRSs are meant to be used.
    Nothing,
    Point(f64, f64),
    Nearest(usize, f64, f64),
    Within(f64, f64, f64),
}

fn parse_query(a: &Args) -> Result<Query> {
    let at = || -> Result<(f64, f64)> {
        let s = a.at.as_deref().context("--nearest and --within need --at X,Y")?;
        let v = parse_nums(s, 2, "--at")?;
        Ok((v[0], v[1]))
    };
    let chosen = [a.bbox.is_some(), a.point.is_some(), a.nearest.is_some(), a.within.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if chosen != 1 {
        bail!("give exactly one of --bbox, --point, --nearest K --at X,Y, --within D --at X,Y");
    }
    Ok(if let Some(b) = &a.bbox {
        let v = parse_nums(b, 4, "--bbox")?;
        if v[0] > v[2] || v[1] > v[3] {
            bail!("--bbox '{b}': min must not exceed max");
        }
        Query::Bbox([v[0], v[1], v[2], v[3]])
    } else if let Some(p) = &a.point {
        let v = parse_nums(p, 2, "--point")?;
        Query::Point(v[0], v[1])
    } else if let Some(k) = a.nearest {
        let (x, y) = at()?;
        Query::Nearest(k, x, y)
    } else {
        let d = a.within.expect("checked");
        if !(d >= 0.0) {
            bail!("--within must be a distance of 0 or more");
        }
        let (x, y) = at()?;
        Query::Within(d, x, y)
    })
}

/// The query in the workspace: an envelope clipped to where the CRSs are meant to be used
/// (an unbounded one means every feature), a point outside that area one clear error.
fn transform_query(q: Query, ws: &Workspace, from: &Crs) -> Result<Query> {
    let (t, data) = ws.user_input(from)?;
    Ok(match q {
        Query::Bbox(b) if t.is_identity() => Query::Bbox(b),
        Query::Bbox(b) => match t.envelope(b, data)? {
            Some(ring) => Query::Area(geo::Geometry::Polygon(ring)),
            None => Query::Nothing,
        },
        Query::Area(g) => Query::Area(g),
        Query::Nothing => Query::Nothing,
        Query::Point(x, y) => {
            let (x, y) = t.point(x, y, data)?;
            Query::Point(x, y)
        }
        Query::Nearest(k, x, y) => {
            let (x, y) = t.point(x, y, data)?;
            Query::Nearest(k, x, y)
        }
        Query::Within(d, x, y) => {
            let (x, y) = t.point(x, y, data)?;
            Query::Within(d, x, y)
        }
    })
}

fn execute(q: &Query, layer: &Layer, index: &SpatialIndex, tolerance: f64) -> Vec<(usize, Option<f64>)> {
    let with_d = |hits: Vec<Hit>| hits.into_iter().map(|h| (h.row, Some(h.distance))).collect();
    match *q {
        Query::Nothing => Vec::new(),
        Query::Bbox(b) => index.in_envelope(&layer.geometries, b).into_iter().map(|r| (r, None)).collect(),
        Query::Area(ref g) => index.intersecting(&layer.geometries, g).into_iter().map(|r| (r, None)).collect(),
        Query::Point(x, y) => with_d(index.at_point(&layer.geometries, x, y, tolerance)),
        Query::Nearest(k, x, y) => with_d(index.nearest(&layer.geometries, x, y, k)),
        Query::Within(d, x, y) => with_d(index.within_distance(&layer.geometries, x, y, d)),
    }
}

pub fn run(a: Args) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let query = parse_query(&a)?;
    let mode = match a.invalid {
        Invalid::Repair => RepairMode::Repair,
        Invalid::Skip => RepairMode::Skip,
        Invalid::Keep => RepairMode::Keep,
    };
    let mut src = Source::open(
        &a.file,
        &OpenOptions {
            encoding: a.encoding.clone(),
        },
    )?;
    let bar = crate::progress(0, "reading");
    let b2 = bar.clone();
    src.set_progress(std::sync::Arc::new(move |done, total| {
        b2.set_length(total.max(done));
        b2.set_position(done);
    }));
    let mut layer = src.read_layer(a.layer.as_deref())?;
    bar.finish_and_clear();
    if let Some(p) = &a.towgs84 {
        let params = crate::transform::seven(p)?;
        let crs = layer
            .crs
            .as_ref()
            .with_context(|| format!("{}: the layer has no CRS to attach --towgs84 to", a.file.display()))?;
        layer.crs = Some(crs.with_towgs84(params)?);
    }
    let (ws_layer, index, query, to_lonlat, units) = match layer.crs.clone() {
        Some(native) => {
            let mut ws = Workspace::for_layer(&layer)?;
            ws.add_layer(layer, mode)?;
            let q_crs = match &a.in_crs {
                Some(s) => Crs::parse(s)?,
                None => native,
            };
            let q = transform_query(query, &ws, &q_crs)?;
            let to_ll = ws.to_lonlat()?;
            let wl = ws.layers.pop().expect("one layer");
            (wl.layer, wl.index, q, Some(to_ll), "m")
        }
        None => {
            if a.in_crs.is_some() {
                bail!("{}: the layer has no CRS, so --in cannot be applied", a.file.display());
            }
            let mut layer = layer;
            layer.validate(mode);
            let index = SpatialIndex::build(&layer.geometries);
            (layer, index, query, None, "units")
        }
    };
    let rows = execute(&query, &ws_layer, &index, a.tolerance);
    let summary = ws_layer.validity_summary();
    if summary.invalid_features > 0 {
        eprintln!(
            "jingwei: {}: {} invalid geometries ({} repaired, {} set aside, {} kept); fids: {}",
            a.file.display(),
            summary.invalid_features,
            summary.repaired,
            summary.skipped,
            summary.kept,
            ws_layer.issues.iter().map(|i| i.fid.to_string()).collect::<Vec<_>>().join(",")
        );
    }
    if a.json {
        let row_ids: Vec<usize> = rows.iter().map(|r| r.0).collect();
        let dist: std::collections::HashMap<usize, f64> = rows.iter().filter_map(|(r, d)| d.map(|d| (*r, d))).collect();
        let key = format!("_distance_{units}");
        let fc = jingwei_layers::geojson::feature_collection(&ws_layer, &row_ids, to_lonlat.as_ref(), &|row| {
            dist.get(&row).map(|d| vec![(key.clone(), json!(d))]).unwrap_or_default()
        })?;
        let features = fc["features"].clone();
        let collection = json!({"type": "FeatureCollection", "features": features, "numberMatched": rows.len()});
        writeln!(out, "{}", serde_json::to_string(&collection)?)?;
    } else {
        writeln!(out, "{} feature(s)", rows.len())?;
        for (row, dist) in &rows {
            let f = ws_layer.feature(*row);
            let mut line = format!("fid={}", f.fid());
            if let Some(d) = dist {
                line.push_str(&format!(" distance={d:.3} {units}"));
            }
            for (name, v) in f.attributes() {
                if !v.is_null() {
                    line.push_str(&format!(" {name}={v}"));
                }
            }
            writeln!(out, "{line}")?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
