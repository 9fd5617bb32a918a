//! `jingwei nearest` (the k nearest resources of each type, by straight line or by road) and
//! `jingwei impact` (what an incident's rings reach).

use anyhow::{Context, Result, bail};
use jingwei_analysis::impact::{default_rings, point};
use jingwei_analysis::routing::RoadGraph;
use jingwei_app::data::{self, DataRequest};
use jingwei_app::emergency;
use jingwei_app::roles::{self, Role};
use jingwei_layers::{Crs, Workspace, WorkspaceLayer};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct NearestArgs {
    /// A workspace catalog: its emergency layers are the resources, its roads the network.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Resources (shelters, fire stations, hospitals, warehouses, teams): FILE or FILE:LAYER.
    #[arg(long, value_name = "FILE[:LAYER]")]
    resources: Option<String>,
    /// The incident X,Y.
    #[arg(long, value_name = "X,Y", allow_hyphen_values = true)]
    at: String,
    /// CRS of --at (default: the resources' own CRS), e.g. EPSG:4490.
    #[arg(long = "in", value_name = "CRS")]
    in_crs: Option<String>,
    /// How many of each type.
    #[arg(short, long, default_value_t = 5)]
    k: usize,
    /// The field holding the resource type (default: category, type, kind, amenity).
    #[arg(long)]
    type_field: Option<String>,
    /// straight (line distance) or road (travel time over the roads).
    #[arg(long, default_value = "straight")]
    by: String,
    /// Roads for --by road: FILE or FILE:LAYER.
    #[arg(long, value_name = "FILE[:LAYER]")]
    roads: Option<String>,
    /// Loose road ends within this many metres of another vertex are joined.
    #[arg(long, default_value_t = 2.0)]
    snap: f64,
    /// JSON output (routes as lon/lat line strings).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ImpactArgs {
    /// A workspace catalog: its buildings and points of interest are used.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Buildings: FILE or FILE:LAYER.
    #[arg(long, value_name = "FILE[:LAYER]")]
    buildings: Option<String>,
    /// Facilities (points of interest with a kind): FILE or FILE:LAYER (repeatable).
    #[arg(long, value_name = "FILE[:LAYER]")]
    facilities: Vec<String>,
    /// The incident X,Y.
    #[arg(long, value_name = "X,Y", allow_hyphen_values = true)]
    at: String,
    /// CRS of --at (default: the buildings' own CRS).
    #[arg(long = "in", value_name = "CRS")]
    in_crs: Option<String>,
    /// Incident type (fire, hazardous_chemical_leak, gas_leak, building_collapse, flood, earthquake, …).
    #[arg(long = "type", default_value = "fire")]
    kind: String,
    /// Ring distances in metres, comma-separated (default: those of the type).
    #[arg(long, value_delimiter = ',')]
    rings: Vec<f64>,
    /// Also assign the people of the outermost ring to shelters reachable by road within
    /// --limit-min minutes, within their capacity, and report who is left over.
    #[arg(long)]
    allocate: bool,
    /// Travel-time limit of the allocation, minutes.
    #[arg(long, default_value_t = 15.0)]
    limit_min: f64,
    /// Roads for the allocation: FILE or FILE:LAYER (default: the catalog's roads).
    #[arg(long, value_name = "FILE[:LAYER]")]
    roads: Option<String>,
    /// Shelters: FILE or FILE:LAYER with a capacity field (default: the catalog's emergency
    /// resources of category shelter).
    #[arg(long, value_name = "FILE[:LAYER]")]
    shelters: Option<String>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// The workspace of the catalog and files given; the files become layers `cli_0`, `cli_1`, …
fn workspace(catalog: &Option<PathBuf>, specs: &[&str]) -> Result<(Workspace, Vec<String>, Vec<Option<Crs>>)> {
    let ids: Vec<String> = (0..specs.len()).map(|i| format!("cli_{i}")).collect();
    let opened = data::open(&DataRequest {
        catalog: catalog.clone(),
        specs: specs.iter().map(|s| s.to_string()).zip(ids.iter().cloned()).collect(),
        crs: None,
    })?;
    Ok((opened.workspace, ids, opened.natives))
}

/// The incident point in the workspace CRS: `--in`, else the CRS the first file came in, else
/// CGCS2000 lon/lat.
fn incident(ws: &Workspace, at: &str, in_crs: &Option<String>, native: Option<&Crs>) -> Result<(f64, f64)> {
    let xy = data::parse_xy(at).with_context(|| "--at".to_string())?;
    Ok(data::user_point(ws, xy, in_crs.as_deref(), native)?)
}

pub fn nearest(a: NearestArgs) -> Result<ExitCode> {
    if !matches!(a.by.as_str(), "straight" | "road") {
        bail!("--by '{}': use straight or road", a.by);
    }
    let mut specs: Vec<&str> = a.resources.as_deref().into_iter().collect();
    specs.extend(a.roads.as_deref());
    let (ws, ids, natives) = workspace(&a.catalog, &specs)?;
    let res: Vec<&WorkspaceLayer> = match &a.resources {
        Some(_) => ws.layer(&ids[0]).into_iter().collect(),
        None => roles::layers(&ws, Role::Resources),
    };
    if res.is_empty() {
        bail!("the catalog has no emergency layer; give --resources");
    }
    let roads = match (&a.roads, a.by.as_str()) {
        (Some(_), _) => ws.layer(&ids[ids.len() - 1]),
        (None, "road") => Some(roles::layer(&ws, Role::Roads).context("--by road needs --roads (or a catalog with roads)")?),
        _ => None,
    };
    let (x, y) = incident(&ws, &a.at, &a.in_crs, natives.first().and_then(Option::as_ref))?;
    let to_ll = ws.to_lonlat()?;
    let t0 = Instant::now();
    let (found, unreachable, route_ms, graph_info) = match roads {
        None => (
            emergency::nearest_straight(&res, a.type_field.as_deref(), x, y, a.k)?,
            Vec::new(),
            None,
            None,
        ),
        Some(r) => {
            let tb = Instant::now();
            let graph = RoadGraph::from_layer(&r.layer, a.snap)?;
            let build_ms = tb.elapsed().as_secs_f64() * 1000.0;
            let tr = Instant::now();
            let by_road = emergency::nearest_by_road(&graph, &res, a.type_field.as_deref(), x, y, a.k)?;
            let info = json!({"nodes": graph.node_count(), "edges": graph.edge_count(), "lines": graph.lines_used, "build_ms": build_ms});
            (
                by_road.reached,
                by_road.unreachable,
                Some(tr.elapsed().as_secs_f64() * 1000.0),
                Some(info),
            )
        }
    };
    let rows: Vec<serde_json::Value> = found
        .iter()
        .map(|r| {
            let mut v = json!({"type": r.kind, "fid": r.fid, "name": r.name});
            if let Some(d) = r.distance_m {
                v["distance_m"] = json!(d);
            }
            if let (Some(t), Some(m)) = (r.travel_s, r.route_m) {
                let line: Vec<[f64; 2]> = r
                    .route
                    .iter()
                    .filter_map(|p| to_ll.transform(p[0], p[1]).ok().map(|(lo, la)| [lo, la]))
                    .collect();
                v["travel_s"] = json!(t);
                v["route_m"] = json!(m);
                v["route"] = json!({"type": "LineString", "coordinates": line});
            }
            v
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if a.json {
        let unreached: Vec<serde_json::Value> = unreachable
            .iter()
            .map(|r| json!({"type": r.kind, "fid": r.fid, "name": r.name, "distance_m": r.distance_m}))
            .collect();
        let v = json!({"at": [x, y], "crs": ws.crs.label(), "by": a.by, "k": a.k, "resources": rows, "unreachable": unreached,
            "route_ms": route_ms, "graph": graph_info, "ms": t0.elapsed().as_secs_f64() * 1000.0});
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
    } else {
        for r in &found {
            let what = match (r.travel_s, r.route_m) {
                (Some(t), Some(m)) => format!("{:>6.1} min  {:>7.0} m by road", t / 60.0, m),
                _ => format!("{:>7.0} m", r.distance_m.unwrap_or(0.0)),
            };
            writeln!(out, "{:<14} {what}  #{} {}", r.kind, r.fid, r.name.as_deref().unwrap_or(""))?;
        }
        for r in &unreachable {
            writeln!(
                out,
                "{:<14} not reachable by road ({:.0} m in a straight line)  #{} {}",
                r.kind,
                r.distance_m.unwrap_or(0.0),
                r.fid,
                r.name.as_deref().unwrap_or("")
            )?;
        }
        if let Some(ms) = route_ms {
            writeln!(out, "(one-to-many travel times over the network: {ms:.1} ms)")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_impact(a: ImpactArgs) -> Result<ExitCode> {
    let mut specs: Vec<&str> = a.buildings.as_deref().into_iter().collect();
    specs.extend(a.facilities.iter().map(String::as_str));
    let n_fixed = specs.len();
    specs.extend(a.roads.as_deref());
    specs.extend(a.shelters.as_deref());
    let (ws, ids, natives) = workspace(&a.catalog, &specs)?;
    let buildings = a.buildings.as_ref().map(|_| ids[0].clone());
    let facilities: Option<Vec<String>> = (!a.facilities.is_empty()).then(|| ids[usize::from(a.buildings.is_some())..n_fixed].to_vec());
    let (x, y) = incident(&ws, &a.at, &a.in_crs, natives.first().and_then(Option::as_ref))?;
    let rings = if a.rings.is_empty() {
        default_rings(&a.kind)
    } else {
        a.rings.clone()
    };
    let at = point(x, y);
    let report = emergency::impact(&ws, &at, &rings, buildings.as_deref(), facilities.as_deref())?;
    let allocation = if a.allocate {
        let mut next = n_fixed;
        let mut pick = |given: bool| {
            given.then(|| {
                next += 1;
                ws.layer(&ids[next - 1])
            })
        };
        let roads = pick(a.roads.is_some())
            .flatten()
            .or_else(|| roles::layer(&ws, Role::Roads))
            .context("--allocate needs --roads (or a catalog with roads)")?;
        let shelters_given = pick(a.shelters.is_some()).flatten();
        let shelters = shelters_given
            .or_else(|| roles::layer(&ws, Role::Resources))
            .context("--allocate needs --shelters (or a catalog with emergency resources)")?;
        let b = emergency::buildings_layer(&ws, buildings.as_deref())?;
        let graph = RoadGraph::from_layer(&roads.layer, emergency::SNAP_M)?;
        let outer = rings.iter().copied().fold(0.0, f64::max);
        Some(emergency::allocate_shelters(
            &graph,
            &at,
            outer,
            b,
            shelters,
            shelters_given.is_some(),
            a.limit_min,
        )?)
    } else {
        None
    };
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer(
            &mut out,
            &json!({"at": [x, y], "crs": ws.crs.label(), "type": a.kind, "rings": report, "allocation": allocation}),
        )?;
        writeln!(out)?;
    } else {
        for r in &report {
            writeln!(
                out,
                "≤ {:>6.0} m: {} buildings, {:.0} m² floor area, ≈ {:.0} people{}",
                r.radius_m,
                r.buildings,
                r.floor_area_m2,
                r.population,
                if r.population_from_field {
                    ""
                } else {
                    " (estimated from floor area)"
                }
            )?;
            for f in r.facilities.iter().take(10) {
                writeln!(
                    out,
                    "    {:<10} {:>6.0} m  {}",
                    f.class,
                    f.distance_m,
                    f.name.as_deref().unwrap_or(&f.kind)
                )?;
            }
        }
        if let Some(al) = &allocation {
            writeln!(
                out,
                "Shelters within {} min by road: {:.0} of {:.0} people placed, {:.0} left over",
                al.limit_min, al.placed, al.people, al.left_over
            )?;
            for s in al.shelters.iter().filter(|s| s.placed > 0.0) {
                writeln!(
                    out,
                    "    {:>6.0} / {:<6.0} {}",
                    s.placed,
                    s.capacity,
                    s.name.as_deref().unwrap_or("")
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
