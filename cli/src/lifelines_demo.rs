//! `jingwei-tools generate-lifelines` — the deterministic generator of the demo city's synthetic
//! lifelines and terrain: a water-supply network under the OSM roads with valves, two supply
//! points and a customer per building, video cameras at the main crossings, and a DEM with the
//! Huangpu's bed, its flood wall (with one weak section) and ground rising inland.
//!
//! Everything it writes is SYNTHETIC (made up by rule from the OSM geometry; the rules are in
//! `assets/demo/README.md`), marked in each layer's description, in GeoPackage metadata
//! (`SYNTHETIC=YES`), in a `synthetic` field on every feature and in the DEM's metadata.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::demo::{field, write_synthetic};
use anyhow::{Context, Result};
use geo::{Area, BoundingRect, Centroid, Coord, Geometry, LineString, Point, Polygon};
use jingwei_layers::{FieldDef, FieldKind, OpenOptions, RepairMode, Source, Value, Workspace};

#[derive(clap::Args)]
pub struct Args {
    /// The Lujiazui OSM GeoPackage (assets/demo/lujiazui_osm.gpkg).
    #[arg(long)]
    osm: PathBuf,
    /// Output GeoPackage (replaced).
    #[arg(long)]
    out: PathBuf,
    /// Output DEM, GeoTIFF (replaced).
    #[arg(long)]
    dem: PathBuf,
}

const NOTE: &str = "SYNTHETIC demo data made by jingwei-tools generate-lifelines; not real infrastructure";
/// DEM cell size, m.
pub const CELL_M: f64 = 5.0;
/// Heights (m, 吴淞 datum as Shanghai's are given): the river bed, the flood wall, its weak
/// section, and the ground at the bank and 1 km inland.
pub const BED_M: f32 = -6.0;
pub const WALL_M: f32 = 6.9;
pub const WEAK_WALL_M: f32 = 4.9;
pub const BANK_M: f64 = 3.8;
pub const INLAND_RISE_M: f64 = 2.5;
/// The weak section: wall cells within this distance (m) of the gauge's bank.
pub const WEAK_RADIUS_M: f64 = 60.0;
/// The demo gauge (assets/demo/feeds/gauge_lujiazui.json), longitude/latitude.
pub const GAUGE: (f64, f64) = (121.4948, 31.2354);

/// Cells of a `cols` × `rows` grid (top-left `x0`, `y0`) whose centre lies in `poly`.
fn rasterize(poly: &Polygon, x0: f64, y0: f64, cols: usize, rows: usize, out: &mut [bool]) {
    let Some(b) = poly.bounding_rect() else { return };
    let r0 = ((y0 - b.max().y) / CELL_M).floor().max(0.0) as usize;
    let r1 = (((y0 - b.min().y) / CELL_M).ceil().max(0.0) as usize).min(rows);
    let rings: Vec<&LineString> = std::iter::once(poly.exterior()).chain(poly.interiors()).collect();
    for r in r0..r1 {
        let y = y0 - (r as f64 + 0.5) * CELL_M;
        let mut xs: Vec<f64> = Vec::new();
        for ring in &rings {
            for l in ring.lines() {
                let (a, c) = (l.start, l.end);
                if (a.y > y) != (c.y > y) {
                    xs.push(a.x + (y - a.y) * (c.x - a.x) / (c.y - a.y));
                }
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks(2) {
            if let [xa, xb] = pair {
                let c0 = ((xa - x0) / CELL_M - 0.5).ceil().max(0.0) as usize;
                let c1 = (((xb - x0) / CELL_M - 0.5).floor() + 1.0).max(0.0) as usize;
                for c in c0..c1.min(cols) {
                    out[r * cols + c] = true;
                }
            }
        }
    }
}

/// Distance (m) from each cell to the nearest `src` cell: two-pass chamfer (3-4) transform.
fn distance(src: &[bool], cols: usize, rows: usize) -> Vec<f64> {
    let big = f64::MAX / 4.0;
    let mut d: Vec<f64> = src.iter().map(|s| if *s { 0.0 } else { big }).collect();
    let (a, b) = (CELL_M, CELL_M * 2f64.sqrt());
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            let mut v = d[i];
            if c > 0 {
                v = v.min(d[i - 1] + a);
            }
            if r > 0 {
                v = v.min(d[i - cols] + a);
                if c > 0 {
                    v = v.min(d[i - cols - 1] + b);
                }
                if c + 1 < cols {
                    v = v.min(d[i - cols + 1] + b);
                }
            }
            d[i] = v;
        }
    }
    for r in (0..rows).rev() {
        for c in (0..cols).rev() {
            let i = r * cols + c;
            let mut v = d[i];
            if c + 1 < cols {
                v = v.min(d[i + 1] + a);
            }
            if r + 1 < rows {
                v = v.min(d[i + cols] + a);
                if c + 1 < cols {
                    v = v.min(d[i + cols + 1] + b);
                }
                if c > 0 {
                    v = v.min(d[i + cols - 1] + b);
                }
            }
            d[i] = v;
        }
    }
    d
}

pub fn run(a: Args) -> Result<ExitCode> {
    let src = Source::open(&a.osm, &OpenOptions::default())?;
    let buildings = src.read_layer(Some("buildings_polygon"))?;
    let mut ws = Workspace::for_layer(&buildings)?;
    ws.add_layer(buildings, RepairMode::Repair)?;
    for name in ["roads_linestring", "water_multipolygon", "water_polygon"] {
        ws.add_layer(src.read_layer(Some(name))?, RepairMode::Repair)?;
    }
    let crs = ws.crs.clone();
    let b = &ws.layers[0].layer;
    let roads = &ws.layers[1].layer;
    let water = &ws.layers[2].layer;
    let water_polygons = &ws.layers[3].layer;
    let (gx, gy) = crs.from_lonlat()?.transform(GAUGE.0, GAUGE.1)?;

    // --- Terrain ---
    let mut ext = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for l in [b, roads] {
        for g in l.geometries.to_vec().into_iter().flatten() {
            if let Some(r) = g.bounding_rect() {
                ext = [
                    ext[0].min(r.min().x),
                    ext[1].min(r.min().y),
                    ext[2].max(r.max().x),
                    ext[3].max(r.max().y),
                ];
            }
        }
    }
    let x0 = (ext[0] / CELL_M).floor() * CELL_M - 100.0;
    let y0 = (ext[3] / CELL_M).ceil() * CELL_M + 100.0;
    let cols = ((ext[2] + 100.0 - x0) / CELL_M).ceil() as usize;
    let rows = ((y0 - (ext[1] - 100.0)) / CELL_M).ceil() as usize;
    let mut river = vec![false; cols * rows];
    let wname = water.field_index("name").context("water has no name")?;
    let mut polys: Vec<Polygon> = Vec::new();
    for f in water.features() {
        if matches!(f.value(wname).as_str(), Some("黄浦江" | "苏州河"))
            && let Some(g) = f.geo()
        {
            polys.extend(polygons_of(&g).into_iter().cloned());
        }
    }
    for g in water_polygons.geometries.to_vec().into_iter().flatten() {
        if g.unsigned_area() > 50_000.0 {
            polys.extend(polygons_of(&g).into_iter().cloned());
        }
    }
    for p in &polys {
        rasterize(p, x0, y0, cols, rows, &mut river);
    }
    // Close the seams between the OSM tiles the river is cut into (up to 10 m wide).
    let grown: Vec<bool> = distance(&river, cols, rows).iter().map(|d| *d <= 2.0 * CELL_M).collect();
    let outside: Vec<bool> = grown.iter().map(|g| !g).collect();
    let river: Vec<bool> = distance(&outside, cols, rows).iter().map(|d| *d > 2.0 * CELL_M).collect();
    let dist = distance(&river, cols, rows);
    // The weak section: the wall cells nearest the gauge.
    let centre = |i: usize| (x0 + ((i % cols) as f64 + 0.5) * CELL_M, y0 - ((i / cols) as f64 + 0.5) * CELL_M);
    let is_wall = |i: usize| !river[i] && dist[i] <= CELL_M * 1.5;
    let weak_at = (0..cols * rows)
        .filter(|i| is_wall(*i))
        .min_by(|p, q| {
            let (a, b) = (centre(*p), centre(*q));
            ((a.0 - gx).hypot(a.1 - gy)).total_cmp(&(b.0 - gx).hypot(b.1 - gy))
        })
        .map(centre)
        .context("no river bank in the extract")?;
    let heights: Vec<f32> = (0..cols * rows)
        .map(|i| {
            let (x, y) = centre(i);
            if river[i] {
                BED_M
            } else if is_wall(i) {
                if (x - weak_at.0).hypot(y - weak_at.1) <= WEAK_RADIUS_M {
                    WEAK_WALL_M
                } else {
                    WALL_M
                }
            } else {
                let rise = (dist[i] / 1000.0).min(1.0);
                let wave = 0.15 * ((x - x0) / 310.0).sin() * ((y0 - y) / 260.0).cos();
                (BANK_M + INLAND_RISE_M * rise + wave) as f32
            }
        })
        .collect();
    if a.dem.exists() {
        std::fs::remove_file(&a.dem).with_context(|| format!("{}: cannot replace", a.dem.display()))?;
    }
    jingwei_layers::dem::write_grid(
        &a.dem,
        &crs,
        [x0, CELL_M, 0.0, y0, 0.0, -CELL_M],
        (cols, rows),
        heights,
        None,
        &[("SYNTHETIC", "YES"), ("DESCRIPTION", NOTE)],
    )?;

    // --- Water supply pipes under the roads, split where roads share a vertex ---
    let kind_i = roads.field_index("kind");
    let mut uses: HashMap<(i64, i64), u32> = HashMap::new();
    let key = |c: Coord| ((c.x * 100.0).round() as i64, (c.y * 100.0).round() as i64);
    let mut lines: Vec<(LineString, &str)> = Vec::new();
    for f in roads.features() {
        let kind = kind_i.and_then(|i| f.value(i).as_str().map(str::to_string)).unwrap_or_default();
        let class = match kind.as_str() {
            "highway" | "major_road" => "main",
            "minor_road" => "distribution",
            _ => continue,
        };
        let Some(g) = f.geo() else { continue };
        let ls: Vec<&LineString> = match &g {
            Geometry::LineString(l) => vec![l],
            Geometry::MultiLineString(m) => m.0.iter().collect(),
            _ => continue,
        };
        for l in ls {
            for c in &l.0 {
                *uses.entry(key(*c)).or_default() += 1;
            }
            lines.push((l.clone(), class));
        }
    }
    let mut pipes: Vec<(LineString, &str)> = Vec::new();
    for (l, class) in &lines {
        let mut cur = vec![l.0[0]];
        for (k, c) in l.0.iter().enumerate().skip(1) {
            cur.push(*c);
            let last = k + 1 == l.0.len();
            if (last || uses[&key(*c)] > 1) && cur.len() >= 2 {
                pipes.push((LineString::new(std::mem::take(&mut cur)), class));
                cur.push(*c);
            }
        }
    }
    // Node degree at pipe ends.
    let mut degree: HashMap<(i64, i64), u32> = HashMap::new();
    for (l, _) in &pipes {
        *degree.entry(key(l.0[0])).or_default() += 1;
        *degree.entry(key(l.0[l.0.len() - 1])).or_default() += 1;
    }
    let len = |l: &LineString| l.lines().map(|s| (s.end.x - s.start.x).hypot(s.end.y - s.start.y)).sum::<f64>();
    let pipe_fields = [
        field("pipe_no", FieldKind::Text),
        field("network", FieldKind::Text),
        field("class", FieldKind::Text),
        field("diameter_mm", FieldKind::Integer),
        field("material", FieldKind::Text),
        field("depth_m", FieldKind::Real),
        field("install_year", FieldKind::Integer),
        field("synthetic", FieldKind::Integer),
    ];
    let mut pipe_rows = Vec::new();
    let mut valves: Vec<Point> = Vec::new();
    for (k, (l, class)) in pipes.iter().enumerate() {
        let (dia, mat, depth) = if *class == "main" {
            (600, "球墨铸铁", 1.8)
        } else {
            (200, "PE", 1.2)
        };
        // Install years cycle by pipe number: deterministic and spread.
        let year = 1990 + (k * 7 % 33) as i64;
        pipe_rows.push((
            Some(Geometry::LineString(l.clone())),
            vec![
                Value::Text(format!("GS-{:05}", k + 1)),
                Value::Text("给水".into()),
                Value::Text((*class).into()),
                Value::Integer(dia),
                Value::Text(mat.into()),
                Value::Real(depth),
                Value::Integer(year),
                Value::Integer(1),
            ],
        ));
        // A valve 6 m into the pipe from each end at a junction (pipes of 15 m or more).
        let total = len(l);
        if total < 15.0 {
            continue;
        }
        for (end, at) in [(l.0[0], 6.0), (l.0[l.0.len() - 1], total - 6.0)] {
            if degree[&key(end)] >= 3 {
                let mut run = 0.0;
                for s in l.lines() {
                    let sl = (s.end.x - s.start.x).hypot(s.end.y - s.start.y);
                    if run + sl >= at && sl > 0.0 {
                        let t = (at - run) / sl;
                        valves.push(Point::new(
                            s.start.x + t * (s.end.x - s.start.x),
                            s.start.y + t * (s.end.y - s.start.y),
                        ));
                        break;
                    }
                    run += sl;
                }
            }
        }
    }
    let point_fields = [
        field("kind", FieldKind::Text),
        field("kind_zh", FieldKind::Text),
        field("name", FieldKind::Text),
        field("building_fid", FieldKind::Integer),
        field("people", FieldKind::Integer),
        field("synthetic", FieldKind::Integer),
    ];
    let mut points = Vec::new();
    for (k, v) in valves.iter().enumerate() {
        points.push((
            Some(Geometry::Point(*v)),
            vec![
                Value::Text("valve".into()),
                Value::Text("阀门".into()),
                Value::Text(format!("FM-{:05}", k + 1)),
                Value::Null,
                Value::Null,
                Value::Integer(1),
            ],
        ));
    }
    // Two supply points: the main-pipe ends nearest two corners of the extent.
    for (fx, fy, name) in [(0.9, 0.1, "浦东供水加压站（示意）"), (0.1, 0.9, "陆家嘴供水加压站（示意）")] {
        let (tx, ty) = (ext[0] + fx * (ext[2] - ext[0]), ext[1] + fy * (ext[3] - ext[1]));
        let best = pipes
            .iter()
            .filter(|(_, c)| *c == "main")
            .flat_map(|(l, _)| [l.0[0], l.0[l.0.len() - 1]])
            .min_by(|p, q| (p.x - tx).hypot(p.y - ty).total_cmp(&(q.x - tx).hypot(q.y - ty)))
            .context("no main pipes")?;
        points.push((
            Some(Geometry::Point(Point(best))),
            vec![
                Value::Text("source".into()),
                Value::Text("水源".into()),
                Value::Text(name.into()),
                Value::Null,
                Value::Null,
                Value::Integer(1),
            ],
        ));
    }
    // A customer (service connection) per building, with its people at 1 per 40 m² of floor.
    let height_i = b.field_index("height");
    for f in b.features() {
        let Some(g) = f.geo() else { continue };
        let Some(c) = g.centroid() else { continue };
        let floors = height_i
            .and_then(|i| f.value(i).as_f64())
            .map_or(1.0, |h| (h / 3.0).round().max(1.0));
        let people = (g.unsigned_area() * floors / 40.0).round() as i64;
        points.push((
            Some(Geometry::Point(c)),
            vec![
                Value::Text("customer".into()),
                Value::Text("用户".into()),
                Value::Null,
                Value::Integer(f.fid()),
                Value::Integer(people),
                Value::Integer(1),
            ],
        ));
    }

    // --- Cameras at the main crossings ---
    let camera_fields = [
        field("name", FieldKind::Text),
        field("heading_deg", FieldKind::Real),
        field("fov_deg", FieldKind::Real),
        field("range_m", FieldKind::Real),
        field("height_m", FieldKind::Real),
        field("synthetic", FieldKind::Integer),
    ];
    let mut cams = Vec::new();
    let mut seen: HashMap<(i64, i64), ()> = HashMap::new();
    for (l, class) in &pipes {
        if *class != "main" {
            continue;
        }
        let (s, n) = (l.0[0], l.0[1]);
        if degree[&key(s)] < 4 || seen.insert(key(s), ()).is_some() {
            continue;
        }
        let k = cams.len();
        let heading = ((n.x - s.x).atan2(n.y - s.y).to_degrees()).rem_euclid(360.0);
        let dome = k % 4 == 0;
        cams.push((
            Some(Geometry::Point(Point(s))),
            vec![
                Value::Text(format!("雪亮工程点位{:03}（示意）", k + 1)),
                Value::Real((heading * 10.0).round() / 10.0),
                Value::Real(if dome { 360.0 } else { 90.0 }),
                Value::Real(if dome { 80.0 } else { 150.0 }),
                Value::Real(6.0),
                Value::Integer(1),
            ],
        ));
    }

    if a.out.exists() {
        std::fs::remove_file(&a.out).with_context(|| format!("{}: cannot replace", a.out.display()))?;
    }
    let meta = [("SYNTHETIC", "YES"), ("GENERATOR", "jingwei-tools generate-lifelines")];
    let write = |name: &str, what: &str, geometry_type, fields: &[FieldDef], features: &[(Option<Geometry>, Vec<Value>)]| {
        write_synthetic(
            &a.out,
            &crs,
            &meta,
            &format!("{what} — {NOTE}"),
            (name, geometry_type),
            fields,
            features,
        )
    };
    write(
        "water_pipes",
        "给水管网 water supply pipes",
        gdal_sys::OGRwkbGeometryType::wkbLineString,
        &pipe_fields,
        &pipe_rows,
    )?;
    write(
        "pipe_points",
        "管点 valves, supply points, customers",
        gdal_sys::OGRwkbGeometryType::wkbPoint,
        &point_fields,
        &points,
    )?;
    write(
        "cameras",
        "视频点位 cameras",
        gdal_sys::OGRwkbGeometryType::wkbPoint,
        &camera_fields,
        &cams,
    )?;
    eprintln!(
        "wrote {}: {} pipes, {} valves, 2 supply points, {} customers, {} cameras; {}: {cols} × {rows} cells of {CELL_M} m ({})",
        a.out.display(),
        pipe_rows.len(),
        valves.len(),
        points.len() - valves.len() - 2,
        cams.len(),
        a.dem.display(),
        crs.label()
    );
    Ok(ExitCode::SUCCESS)
}

/// The polygons of a polygonal geometry.
fn polygons_of(g: &Geometry) -> Vec<&Polygon> {
    match g {
        Geometry::Polygon(p) => vec![p],
        Geometry::MultiPolygon(m) => m.0.iter().collect(),
        _ => Vec::new(),
    }
}
