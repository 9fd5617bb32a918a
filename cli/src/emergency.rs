//! `jingwei nearest` (the k nearest resources of each type, by straight line or by road) and
//! `jingwei impact` (what an incident's rings reach).

use anyhow::{Context, Result, bail};
use jingwei_analysis::impact::{BuildingsIn, FacilitiesIn, default_rings, impact, point};
use jingwei_analysis::routing::RoadGraph;
use jingwei_layers::catalog::Group;
use jingwei_layers::{Crs, RepairMode, Transformer, Workspace, WorkspaceLayer};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::violations::open_layer_spec;

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

fn parse_xy(s: &str) -> Result<(f64, f64)> {
    let (x, y) = s.split_once(',').with_context(|| format!("--at '{s}': write X,Y"))?;
    Ok((
        x.trim().parse().with_context(|| format!("--at '{s}': bad X"))?,
        y.trim().parse().with_context(|| format!("--at '{s}': bad Y"))?,
    ))
}

/// A workspace from a catalog and/or files; returns the ids of the layers the files became and
/// the CRS each file came in.
fn workspace(catalog: &Option<PathBuf>, specs: &[&str]) -> Result<(Workspace, Vec<String>, Vec<Option<Crs>>)> {
    let mut ws = catalog
        .as_ref()
        .map(|c| Workspace::open_catalog(c, None, RepairMode::Repair))
        .transpose()?;
    let mut ids = Vec::new();
    let mut natives = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let layer = open_layer_spec(spec)?;
        natives.push(layer.crs.clone());
        let w = match ws.as_mut() {
            Some(w) => w,
            None => ws.insert(Workspace::for_layer(&layer)?),
        };
        w.add_layer(layer, RepairMode::Repair)?;
        let id = format!("cli_{i}");
        w.layers.last_mut().expect("added").id = id.clone();
        ids.push(id);
    }
    Ok((ws.context("give files or --catalog")?, ids, natives))
}

/// The incident point in the workspace CRS: `--in`, else the CRS the first file came in, else
/// CGCS2000 lon/lat.
fn incident(ws: &Workspace, at: &str, in_crs: &Option<String>, native: Option<&Crs>) -> Result<(f64, f64)> {
    let (x, y) = parse_xy(at)?;
    let from = match (in_crs, native) {
        (Some(c), _) => Crs::parse(c)?,
        (None, Some(n)) => n.clone(),
        (None, None) => Crs::from_epsg(4490)?,
    };
    let t = Transformer::new(&from, &ws.crs)?;
    Ok(t.transform(x, y)?)
}

fn type_field(l: &jingwei_layers::Layer, given: &Option<String>) -> Result<Option<usize>> {
    match given {
        Some(f) => Ok(Some(l.field_index(f).with_context(|| format!("{}: no field '{f}'", l.name))?)),
        None => Ok(["category", "type", "kind", "amenity", "类型"]
            .iter()
            .find_map(|f| l.field_index(f))),
    }
}

pub fn nearest(a: NearestArgs) -> Result<ExitCode> {
    let mut specs: Vec<&str> = a.resources.as_deref().into_iter().collect();
    specs.extend(a.roads.as_deref());
    let (ws, ids, natives) = workspace(&a.catalog, &specs)?;
    let res = match &a.resources {
        Some(_) => ws.layer(&ids[0]).expect("loaded"),
        None => ws
            .layers
            .iter()
            .find(|l| l.group == Group::Emergency)
            .context("the catalog has no emergency layer; give --resources")?,
    };
    let roads = match (&a.roads, a.by.as_str()) {
        (Some(_), _) => Some(ws.layer(ids.last().expect("loaded")).expect("loaded")),
        (None, "road") => Some(
            ws.layers
                .iter()
                .find(|l| l.id.contains("road") || l.layer.name.contains("road"))
                .context("--by road needs --roads (or a catalog with roads)")?,
        ),
        _ => None,
    };
    if !matches!(a.by.as_str(), "straight" | "road") {
        bail!("--by '{}': use straight or road", a.by);
    }
    let (x, y) = incident(&ws, &a.at, &a.in_crs, natives.first().and_then(Option::as_ref))?;
    let tf = type_field(&res.layer, &a.type_field)?;
    let type_of = |row: usize| {
        tf.and_then(|i| res.layer.feature(row).value(i).as_str().map(str::to_string))
            .unwrap_or_else(|| "resource".into())
    };
    let to_ll = ws.to_lonlat()?;
    let name_i = ["name", "名称"].iter().find_map(|f| res.layer.field_index(f));
    let name_of = |row: usize| name_i.and_then(|i| res.layer.feature(row).value(i).as_str().map(str::to_string));

    let t0 = Instant::now();
    let mut rows: Vec<serde_json::Value> = Vec::new();
    let mut route_ms = None;
    let mut graph_info = None;
    match roads {
        None => {
            // Every resource by exact distance, then the k nearest of each type.
            let all = res.index.nearest(&res.layer.geometries, x, y, res.layer.len());
            let mut per_type: std::collections::BTreeMap<String, usize> = Default::default();
            for h in all {
                let ty = type_of(h.row);
                let n = per_type.entry(ty.clone()).or_default();
                if *n >= a.k {
                    continue;
                }
                *n += 1;
                rows.push(json!({"type": ty, "fid": res.layer.fids[h.row], "name": name_of(h.row), "distance_m": h.distance}));
            }
        }
        Some(r) => {
            let tb = Instant::now();
            let graph = RoadGraph::from_layer(&r.layer, a.snap).map_err(anyhow::Error::msg)?;
            let build_ms = tb.elapsed().as_secs_f64() * 1000.0;
            let tr = Instant::now();
            let tree = graph.from_point(x, y).context("the road network is empty")?;
            let mut found: Vec<(String, usize, f64, Vec<[f64; 2]>)> = Vec::new();
            for row in 0..res.layer.len() {
                let Some(g) = &res.layer.geometries[row] else { continue };
                let Some(c) = geo::Centroid::centroid(g) else { continue };
                if let Some((t, route)) = graph.to_point(&tree, c.x(), c.y()) {
                    found.push((type_of(row), row, t, route));
                }
            }
            route_ms = Some(tr.elapsed().as_secs_f64() * 1000.0);
            graph_info =
                Some(json!({"nodes": graph.node_count(), "edges": graph.edge_count(), "lines": graph.lines_used, "build_ms": build_ms}));
            found.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.total_cmp(&b.2)));
            let mut last = String::new();
            let mut n = 0;
            for (ty, row, t, route) in found {
                if ty != last {
                    last = ty.clone();
                    n = 0;
                }
                if n >= a.k {
                    continue;
                }
                n += 1;
                let line: Vec<[f64; 2]> = route
                    .iter()
                    .filter_map(|p| to_ll.transform(p[0], p[1]).ok().map(|(lo, la)| [lo, la]))
                    .collect();
                let length: f64 = route
                    .windows(2)
                    .map(|w| ((w[1][0] - w[0][0]).powi(2) + (w[1][1] - w[0][1]).powi(2)).sqrt())
                    .sum();
                rows.push(
                    json!({"type": ty, "fid": res.layer.fids[row], "name": name_of(row), "travel_s": t, "route_m": length,
                    "route": {"type": "LineString", "coordinates": line}}),
                );
            }
        }
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        let v = json!({"at": [x, y], "crs": ws.crs.label(), "by": a.by, "k": a.k, "resources": rows,
            "route_ms": route_ms, "graph": graph_info, "ms": t0.elapsed().as_secs_f64() * 1000.0});
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
    } else {
        for r in &rows {
            let what = match r["travel_s"].as_f64() {
                Some(t) => format!("{:>6.1} min  {:>7.0} m by road", t / 60.0, r["route_m"].as_f64().unwrap_or(0.0)),
                None => format!("{:>7.0} m", r["distance_m"].as_f64().unwrap_or(0.0)),
            };
            writeln!(
                out,
                "{:<14} {what}  #{} {}",
                r["type"].as_str().unwrap_or(""),
                r["fid"],
                r["name"].as_str().unwrap_or("")
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
    let b = match &a.buildings {
        Some(_) => ws.layer(&ids[0]).expect("loaded"),
        None => ws
            .layers
            .iter()
            .find(|l| l.id.contains("building") || l.layer.name.contains("building"))
            .context("no buildings layer: give --buildings")?,
    };
    let fac_layers: Vec<&WorkspaceLayer> = if a.facilities.is_empty() {
        ws.layers.iter().filter(|l| l.id == "pois" || l.layer.name == "pois").collect()
    } else {
        ids[usize::from(a.buildings.is_some())..]
            .iter()
            .filter_map(|id| ws.layer(id))
            .collect()
    };
    let facilities: Vec<FacilitiesIn> = fac_layers
        .iter()
        .filter_map(|l| {
            Some(FacilitiesIn {
                layer: &l.layer,
                index: &l.index,
                kind: ["kind", "amenity", "category", "type", "fclass"]
                    .iter()
                    .find_map(|f| l.layer.field_index(f))?,
                name: l.layer.field_index("name"),
            })
        })
        .collect();
    let (x, y) = incident(&ws, &a.at, &a.in_crs, natives.first().and_then(Option::as_ref))?;
    let rings = if a.rings.is_empty() {
        default_rings(&a.kind)
    } else {
        a.rings.clone()
    };
    let field = |names: &[&str]| names.iter().find_map(|n| b.layer.field_index(n));
    let bin = BuildingsIn {
        layer: &b.layer,
        index: &b.index,
        population: field(&["population", "pop", "人口"]),
        floors: field(&["floors", "levels", "building:levels", "层数"]),
        height: field(&["height", "height_m", "高度"]),
    };
    let report = impact(&point(x, y), &rings, &bin, &facilities);
    let allocation = if a.allocate {
        let mut next = n_fixed;
        let mut pick = |given: bool| {
            given.then(|| {
                next += 1;
                ws.layer(&ids[next - 1]).expect("loaded")
            })
        };
        let roads = pick(a.roads.is_some())
            .or_else(|| ws.layers.iter().find(|l| l.id.contains("road") || l.layer.name.contains("road")))
            .context("--allocate needs --roads (or a catalog with roads)")?;
        let shelters_given = pick(a.shelters.is_some());
        let shelter_layer = shelters_given
            .or_else(|| ws.layers.iter().find(|l| l.group == Group::Emergency))
            .context("--allocate needs --shelters (or a catalog with emergency resources)")?;
        let sl = &shelter_layer.layer;
        let cap = sl.field_index("capacity").context("the shelters have no capacity field")?;
        let cat = sl.field_index("category");
        let shelters: Vec<(usize, f64, f64, f64)> = (0..sl.len())
            .filter(|r| shelters_given.is_some() || cat.is_none_or(|c| sl.feature(*r).value(c).as_str() == Some("shelter")))
            .filter_map(|r| {
                let c = geo::Centroid::centroid(sl.geometries[r].as_ref()?)?;
                Some((r, c.x(), c.y(), sl.feature(r).value(cap).as_f64()?))
            })
            .collect();
        let outer = rings.iter().copied().fold(0.0, f64::max);
        let people: Vec<(usize, f64, f64, f64)> = jingwei_analysis::impact::affected(&point(x, y), outer, &bin)
            .into_iter()
            .filter_map(|(row, _, p)| {
                let c = geo::Centroid::centroid(b.layer.geometries[row].as_ref()?)?;
                Some((row, c.x(), c.y(), p))
            })
            .collect();
        let graph = RoadGraph::from_layer(&roads.layer, 2.0).map_err(anyhow::Error::msg)?;
        let al = jingwei_analysis::routing::allocate(&graph, &people, &shelters, a.limit_min * 60.0);
        let name = sl.field_index("name");
        Some(json!({
            "limit_min": a.limit_min,
            "people": people.iter().map(|p| p.3).sum::<f64>(),
            "placed": al.placements.iter().map(|p| p.people).sum::<f64>(),
            "left_over": al.left_over,
            "left_over_buildings": al.left_over_buildings.iter().map(|r| b.layer.fids[*r]).collect::<Vec<_>>(),
            "shelters": al.per_shelter.iter().map(|(r, used, capacity)| json!({
                "fid": sl.fids[*r], "name": name.and_then(|n| sl.feature(*r).value(n).as_str().map(str::to_string)),
                "placed": used, "capacity": capacity})).collect::<Vec<_>>(),
        }))
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
                al["limit_min"],
                al["placed"].as_f64().unwrap_or(0.0),
                al["people"].as_f64().unwrap_or(0.0),
                al["left_over"].as_f64().unwrap_or(0.0)
            )?;
            for s in al["shelters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["placed"].as_f64().unwrap_or(0.0) > 0.0)
            {
                writeln!(
                    out,
                    "    {:>6.0} / {:<6.0} {}",
                    s["placed"].as_f64().unwrap_or(0.0),
                    s["capacity"].as_f64().unwrap_or(0.0),
                    s["name"].as_str().unwrap_or("")
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
