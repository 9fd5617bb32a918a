//! `jingwei violations --buildings … --permits … --zones … [--previous …] [--out cases.gpkg] [--json]`
//! — the whole violation detection headless, for nightly batch runs.

use anyhow::{Context, Result, bail};
use jingwei_analysis::violations::{Finding, Report, Rule, Thresholds, WorkspaceRoles};
use jingwei_app::data::{self, DataRequest};
use jingwei_app::violations::{self, FieldOverrides, RuleLayers};
use jingwei_app::{files, roles};
use jingwei_cases::CaseStore;
use jingwei_layers::{Job, Layer};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
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
    violations::check_thresholds(&t)?;
    // The files given become layers with fixed ids; the catalog's roles fill in the rest.
    let mut specs = Vec::new();
    specs.extend(a.buildings.iter().map(|s| (s.clone(), "cli_buildings".to_string())));
    specs.extend(a.permits.iter().map(|s| (s.clone(), "cli_permits".to_string())));
    specs.extend(a.zones.iter().enumerate().map(|(i, s)| (s.clone(), format!("cli_zones_{i}"))));
    specs.extend(a.previous.iter().map(|s| (s.clone(), "cli_previous".to_string())));
    if a.catalog.is_none() && a.buildings.is_none() {
        bail!("give --buildings (and --permits, --zones, --previous) or --catalog");
    }
    let opened = data::open(&DataRequest {
        catalog: a.catalog.clone(),
        specs,
        crs: a.crs.clone(),
    })?;
    let ws = &opened.workspace;
    let from_catalog = a.catalog.as_ref().map(|_| roles::violation_roles(ws));
    let buildings = match (&a.buildings, &from_catalog) {
        (Some(_), _) => "cli_buildings".to_string(),
        (None, Some(Ok(r))) => r.buildings.clone(),
        (None, Some(Err(e))) => bail!("{e}; give --buildings"),
        (None, None) => bail!("give --buildings"),
    };
    let catalog_roles = from_catalog.and_then(|r| r.ok());
    let permits = match &a.permits {
        Some(_) => Some("cli_permits".to_string()),
        None => catalog_roles.as_ref().and_then(|r| r.permits.clone()),
    };
    let zones = if a.zones.is_empty() {
        catalog_roles.map(|r| r.zones).unwrap_or_default()
    } else {
        (0..a.zones.len()).map(|i| format!("cli_zones_{i}")).collect()
    };
    let layers = RuleLayers {
        roles: WorkspaceRoles { buildings, permits, zones },
        previous: a.previous.as_ref().map(|_| "cli_previous".to_string()),
    };
    if layers.roles.permits.is_none() && layers.roles.zones.is_empty() && layers.previous.is_none() {
        bail!("nothing to check the buildings against: give --permits, --zones or --previous");
    }
    let fields = FieldOverrides {
        height: a.height_field.clone(),
        floors: a.floors_field.clone(),
        permit_no: a.permit_no_field.clone(),
        approved_height: a.approved_height_field.clone(),
        approved_floors: a.approved_floors_field.clone(),
        approved_area: a.approved_area_field.clone(),
        zone_type: a.zone_type_field.clone(),
        zone_name: a.zone_name_field.clone(),
    };
    let report = violations::run(ws, &layers, &fields, &t, &Job::new())?;
    let b = &ws.layer(&layers.roles.buildings).context("the buildings layer")?.layer;

    let stored = match &a.out {
        Some(out) => {
            let mut store = CaseStore::open_or_create(out, &ws.crs)?;
            // The catalog when one was given, and the files given on top of it.
            let mut src = violations::sources(ws, &layers, None);
            if let Some(c) = &a.catalog {
                src["catalog"] = json!(std::fs::canonicalize(c).unwrap_or(c.clone()));
                for (key, given) in [
                    ("buildings", a.buildings.is_some()),
                    ("permits", a.permits.is_some()),
                    ("zones", !a.zones.is_empty()),
                ] {
                    if let Some(o) = src.as_object_mut().filter(|_| !given) {
                        o.remove(key);
                    }
                }
            }
            Some(violations::store_findings(
                &mut store,
                ws,
                &layers,
                &report,
                &src,
                &files::actor(a.actor.as_deref()),
            )?)
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
