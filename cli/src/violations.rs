//! `jingwei violations --buildings … --permits … --zones … [--previous …] [--out cases.gpkg] [--json]`
//! — the whole violation detection headless, for nightly batch runs.

use anyhow::{Result, bail};
use jingwei_analysis::violations::{
    BuildingFields, Buildings, Finding, Inputs, PermitFields, Report, Rule, Thresholds, ZoneFields, Zones, detect, field_names, find_field,
    workspace_roles,
};
use jingwei_cases::CaseStore;
use jingwei_layers::{Crs, Layer, OpenOptions, RepairMode, Source, Workspace};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A workspace catalog (e.g. assets/demo/catalog.json): its `buildings` layer, its permit
    /// layer and every layer of the control group are used unless given below.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Buildings: FILE or FILE:LAYER.
    #[arg(long, value_name = "FILE[:LAYER]")]
    buildings: Option<String>,
    /// Building permits (建设工程规划许可): FILE or FILE:LAYER.
    #[arg(long, value_name = "FILE[:LAYER]")]
    permits: Option<String>,
    /// Control zones (三区三线, river management, …): FILE or FILE:LAYER; repeat for several.
    #[arg(long, value_name = "FILE[:LAYER]")]
    zones: Vec<String>,
    /// The buildings of an earlier survey: FILE or FILE:LAYER.
    #[arg(long, value_name = "FILE[:LAYER]")]
    previous: Option<String>,
    /// Workspace CRS (default: the CGCS2000 3° zone of the buildings' centre).
    #[arg(long)]
    crs: Option<String>,

    /// Field of building height in metres (default: height, 高度, … when present).
    #[arg(long)]
    height_field: Option<String>,
    /// Field of floors (default: floors, levels, 层数, … when present).
    #[arg(long)]
    floors_field: Option<String>,
    /// Field of the permit number.
    #[arg(long)]
    permit_no_field: Option<String>,
    /// Field of the approved height (m).
    #[arg(long)]
    approved_height_field: Option<String>,
    /// Field of the approved floors.
    #[arg(long)]
    approved_floors_field: Option<String>,
    /// Field of the approved floor area (m²).
    #[arg(long)]
    approved_area_field: Option<String>,
    /// Field of the zone type in the zone layers (default: zone_type, 类型, …).
    #[arg(long)]
    zone_type_field: Option<String>,
    /// Field of the zone name.
    #[arg(long)]
    zone_name_field: Option<String>,

    /// Rule 1: flag below this permit-covered share of the footprint.
    #[arg(long, default_value_t = Thresholds::default().min_coverage)]
    min_coverage: f64,
    /// Rule 2: the main permit must cover at least this share of the building.
    #[arg(long, default_value_t = Thresholds::default().permit_match_ratio)]
    permit_match: f64,
    /// Rule 2: flag a footprint outside the permits larger than this (m²) …
    #[arg(long, default_value_t = Thresholds::default().footprint_excess_m2)]
    footprint_excess_m2: f64,
    /// … or than this share of the footprint.
    #[arg(long, default_value_t = Thresholds::default().footprint_excess_ratio)]
    footprint_excess_ratio: f64,
    /// Rule 2: height tolerance above the approved height (m).
    #[arg(long, default_value_t = Thresholds::default().height_tolerance_m)]
    height_tolerance: f64,
    /// Rule 2: extra floors tolerated.
    #[arg(long, default_value_t = Thresholds::default().floors_tolerance)]
    floors_tolerance: i64,
    /// Rule 2: floor-area tolerance as a share of the approved floor area.
    #[arg(long, default_value_t = Thresholds::default().floor_area_tolerance_ratio)]
    floor_area_tolerance: f64,
    /// Rule 3: minimum overlap with a control zone (m²).
    #[arg(long, default_value_t = Thresholds::default().min_zone_overlap_m2)]
    min_zone_overlap: f64,
    /// Rule 4: a building is new below this share covered by earlier buildings.
    #[arg(long, default_value_t = Thresholds::default().new_max_overlap)]
    new_max_overlap: f64,
    /// Rule 4: grown when the area grew by more than this share …
    #[arg(long, default_value_t = Thresholds::default().grown_area_ratio)]
    grown_area_ratio: f64,
    /// … or the height by more than this (m).
    #[arg(long, default_value_t = Thresholds::default().grown_height_m)]
    grown_height: f64,

    /// Write the findings as cases into this GeoPackage (created if missing; a building with an
    /// open case gets it updated, not a duplicate).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Who runs the detection (recorded in the audit trail; default: $USER).
    #[arg(long)]
    actor: Option<String>,
    /// How many findings to list in the text output.
    #[arg(long, default_value_t = 20)]
    top: usize,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
}

/// Open `FILE` or `FILE:LAYER` (the suffix counts as a layer only when FILE exists and the
/// whole string does not).
pub fn open_layer_spec(spec: &str) -> Result<Layer> {
    let (file, layer) = match spec.rsplit_once(':') {
        Some((f, l)) if !Path::new(spec).exists() && Path::new(f).exists() && !l.contains(['/', '\\']) => (f, Some(l)),
        _ => (spec, None),
    };
    let src = Source::open(file, &OpenOptions::default())?;
    Ok(src.read_layer(layer)?)
}

/// The actor for audit entries.
pub fn actor(given: Option<String>) -> String {
    given
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("USERNAME").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "jingwei".into())
}

struct Loaded {
    ws: Workspace,
    buildings: String,
    permits: Option<String>,
    zones: Vec<String>,
    previous: Option<String>,
    sources: serde_json::Value,
}

fn load(a: &Args) -> Result<Loaded> {
    let crs = a.crs.as_deref().map(Crs::parse).transpose()?;
    let mut ws = match &a.catalog {
        Some(c) => Some(Workspace::open_catalog(c, crs.clone(), RepairMode::Repair)?),
        None => crs.map(Workspace::new).transpose()?,
    };
    let mut add = |spec: &str, id: &str| -> Result<String> {
        let layer = open_layer_spec(spec)?;
        let w = match ws.as_mut() {
            Some(w) => w,
            None => ws.insert(Workspace::for_layer(&layer)?),
        };
        w.add_layer(layer, RepairMode::Repair)?;
        let wl = w.layers.last_mut().expect("just added");
        wl.id = id.to_string();
        Ok(id.to_string())
    };
    let mut sources = json!({});
    let buildings = match &a.buildings {
        Some(s) => {
            sources["buildings"] = json!(s);
            Some(add(s, "cli_buildings")?)
        }
        None => None,
    };
    let permits = match &a.permits {
        Some(s) => {
            sources["permits"] = json!(s);
            Some(add(s, "cli_permits")?)
        }
        None => None,
    };
    let mut zones = Vec::new();
    for (i, s) in a.zones.iter().enumerate() {
        zones.push(add(s, &format!("cli_zones_{i}"))?);
    }
    if !a.zones.is_empty() {
        sources["zones"] = json!(a.zones);
    }
    let previous = match &a.previous {
        Some(s) => {
            sources["previous"] = json!(s);
            Some(add(s, "cli_previous")?)
        }
        None => None,
    };
    let Some(ws) = ws else {
        bail!("give --buildings (and --permits, --zones, --previous) or --catalog")
    };
    let from_catalog = a.catalog.is_some();
    if let Some(c) = &a.catalog {
        sources["catalog"] = json!(std::fs::canonicalize(c).unwrap_or(c.clone()));
    }
    let roles = if from_catalog {
        Some(workspace_roles(&ws).map_err(anyhow::Error::msg))
    } else {
        None
    };
    let buildings = match (buildings, &roles) {
        (Some(b), _) => b,
        (None, Some(r)) => r.as_ref().map_err(|e| anyhow::anyhow!("{e}; give --buildings"))?.buildings.clone(),
        (None, None) => bail!("give --buildings"),
    };
    let from_roles = roles.and_then(Result::ok);
    let permits = permits.or_else(|| from_roles.as_ref().and_then(|r| r.permits.clone()));
    if zones.is_empty()
        && let Some(r) = &from_roles
    {
        zones = r.zones.clone();
    }
    if permits.is_none() && zones.is_empty() && previous.is_none() {
        bail!("nothing to check the buildings against: give --permits, --zones or --previous");
    }
    Ok(Loaded {
        ws,
        buildings,
        permits,
        zones,
        previous,
        sources,
    })
}

fn field(l: &Layer, given: &Option<String>, candidates: &[&str]) -> Result<Option<usize>> {
    find_field(l, given.as_deref(), candidates).map_err(anyhow::Error::msg)
}

pub fn run(a: Args) -> Result<ExitCode> {
    let t = Thresholds {
        min_coverage: a.min_coverage,
        permit_match_ratio: a.permit_match,
        footprint_excess_m2: a.footprint_excess_m2,
        footprint_excess_ratio: a.footprint_excess_ratio,
        height_tolerance_m: a.height_tolerance,
        floors_tolerance: a.floors_tolerance,
        floor_area_tolerance_ratio: a.floor_area_tolerance,
        min_zone_overlap_m2: a.min_zone_overlap,
        new_max_overlap: a.new_max_overlap,
        grown_area_ratio: a.grown_area_ratio,
        grown_height_m: a.grown_height,
    };
    if !(0.0..=1.0).contains(&t.min_coverage) || !(0.0..=1.0).contains(&t.new_max_overlap) {
        bail!("--min-coverage and --new-max-overlap must lie in 0..1");
    }
    let loaded = load(&a)?;
    let ws = &loaded.ws;
    let layer = |id: &str| &ws.layer(id).expect("loaded above").layer;
    let b = layer(&loaded.buildings);
    let bf = BuildingFields {
        height: field(b, &a.height_field, field_names::HEIGHT)?,
        floors: field(b, &a.floors_field, field_names::FLOORS)?,
    };
    let permits = match &loaded.permits {
        Some(id) => {
            let p = layer(id);
            Some((
                p,
                PermitFields {
                    number: field(p, &a.permit_no_field, field_names::PERMIT_NUMBER)?,
                    approved_height: field(p, &a.approved_height_field, field_names::APPROVED_HEIGHT)?,
                    approved_floors: field(p, &a.approved_floors_field, field_names::APPROVED_FLOORS)?,
                    approved_area: field(p, &a.approved_area_field, field_names::APPROVED_AREA)?,
                },
            ))
        }
        None => None,
    };
    let mut zones = Vec::new();
    for id in &loaded.zones {
        let z = layer(id);
        let zone_type = field(z, &a.zone_type_field, field_names::ZONE_TYPE)?;
        zones.push(Zones {
            layer: z,
            fields: ZoneFields {
                zone_type,
                name: field(z, &a.zone_name_field, field_names::ZONE_NAME)?,
                // Without a type field the layer's name says what it is (e.g. 生态保护红线.shp).
                default_type: z.name.clone(),
            },
        });
    }
    let previous = match &loaded.previous {
        Some(id) => {
            let p = layer(id);
            Some(Buildings {
                layer: p,
                fields: BuildingFields {
                    height: field(p, &a.height_field, field_names::HEIGHT)?,
                    floors: field(p, &a.floors_field, field_names::FLOORS)?,
                },
            })
        }
        None => None,
    };
    let inputs = Inputs {
        buildings: Buildings { layer: b, fields: bf },
        permits,
        zones,
        previous,
    };
    let report = detect(&inputs, &t);

    let stored = match &a.out {
        Some(out) => {
            let mut store = CaseStore::open_or_create(out, &ws.crs)?;
            let summary = store.import_findings(&report.findings, &b.name, |f| b.geometries[f.row].clone(), &actor(a.actor.clone()))?;
            store.set_metadata("sources", &loaded.sources.to_string())?;
            store.set_metadata("last_detection", &jingwei_cases::now_utc())?;
            Some(summary)
        }
        None => None,
    };

    let mut out = std::io::stdout().lock();
    if a.json {
        let v = json!({
            "workspace_crs": ws.crs.label(),
            "report": report,
            "cases": stored,
        });
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
    } else {
        print_text(&mut out, &report, b, a.top)?;
        if let (Some(s), Some(path)) = (stored, &a.out) {
            writeln!(
                out,
                "Cases in {}: {} new, {} updated, {} unchanged",
                path.display(),
                s.created,
                s.updated,
                s.unchanged
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(out: &mut impl Write, r: &Report, b: &Layer, top: usize) -> Result<()> {
    writeln!(out, "Buildings checked: {} ({})", r.buildings, b.source_path.display())?;
    writeln!(out, "Suspected violations: {}", r.findings.len())?;
    for (rule, n) in &r.per_rule {
        writeln!(out, "  {:<20} {:<8} {n}", rule.id(), rule.name_zh())?;
    }
    if !r.per_zone_type.is_empty() {
        writeln!(out, "By zone type:")?;
        for (ty, n) in &r.per_zone_type {
            writeln!(out, "  {ty:<36} {n}")?;
        }
    }
    for (name, v) in &r.validity {
        if v.invalid_features > 0 {
            writeln!(
                out,
                "Invalid geometries in {name}: {} ({} repaired, {} set aside)",
                v.invalid_features, v.repaired, v.skipped
            )?;
        }
    }
    if !r.findings.is_empty() && top > 0 {
        writeln!(out, "Top {} by priority:", top.min(r.findings.len()))?;
        writeln!(out, "  {:>5}  {:>8}  {:<24} evidence", "prio", "fid", "rules")?;
        for f in r.findings.iter().take(top) {
            let rules: Vec<&str> = f.rules.iter().map(|r| r.name_zh()).collect();
            writeln!(
                out,
                "  {:>5.1}  {:>8}  {:<24} {}",
                f.priority,
                f.building_fid,
                rules.join("、"),
                evidence_line(f)
            )?;
        }
    }
    Ok(())
}

/// The key evidence numbers of a finding in one line.
pub fn evidence_line(f: &Finding) -> String {
    let e = &f.evidence;
    let mut parts = vec![format!("{:.0} m²", e.area_m2)];
    if f.rules.contains(&Rule::NoPermit) {
        parts.push(format!("permit cover {:.0}%", 100.0 * e.permit_coverage.unwrap_or(0.0)));
    }
    if f.rules.contains(&Rule::OverPermit) {
        if let Some(x) = e.height_excess_m.filter(|x| *x > 0.0) {
            parts.push(format!("+{x:.1} m over approved height"));
        }
        if let Some(x) = e.footprint_excess_m2.filter(|x| *x > 0.0) {
            parts.push(format!("{x:.0} m² outside permit"));
        }
    }
    for z in &e.zones {
        parts.push(format!("{} {:.0} m²", z.zone_type, z.overlap_m2));
    }
    if let Some(p) = &e.previous {
        parts.push(format!("survey overlap {:.0}%", 100.0 * p.overlap_ratio));
    }
    parts.join(", ")
}
