//! 违法建设研判: the violation rules over a workspace, and their findings turned into cases.
//! One path for every front door: the roles table picks the layers, the field mapping is the
//! usual names unless the user names others, and a store that receives findings always
//! records the sources it came from (so its printed reports can draw a site map).

use jingwei_analysis::violations::{
    BuildingFields, Buildings, Inputs, PermitFields, Report, Thresholds, WorkspaceRoles, ZoneFields, Zones, detect_job, field_names,
    find_field,
};
use jingwei_cases::{CaseStore, ImportSummary};
use jingwei_layers::{Job, Layer, Workspace};
use serde::Serialize;
use serde_json::json;
use std::path::Path;

use crate::data;
use crate::error::{Error, Result};
use crate::session::{Origin, Session};

/// Field names the user chose instead of the usual ones.
#[derive(Debug, Clone, Default)]
pub struct FieldOverrides {
    /// Building height (m).
    pub height: Option<String>,
    /// Building floors.
    pub floors: Option<String>,
    /// Permit number.
    pub permit_no: Option<String>,
    /// Approved height (m).
    pub approved_height: Option<String>,
    /// Approved floors.
    pub approved_floors: Option<String>,
    /// Approved floor area (m²).
    pub approved_area: Option<String>,
    /// Zone type.
    pub zone_type: Option<String>,
    /// Zone name.
    pub zone_name: Option<String>,
}

/// Which layers of a workspace the rules read (ids), and the earlier survey if any.
#[derive(Debug, Clone)]
pub struct RuleLayers {
    /// Buildings, permits, zones.
    pub roles: WorkspaceRoles,
    /// The buildings of an earlier survey.
    pub previous: Option<String>,
}

/// Check thresholds a user typed.
pub fn check_thresholds(t: &Thresholds) -> Result<()> {
    let shares = [
        ("min_coverage", t.min_coverage),
        ("permit_match_ratio", t.permit_match_ratio),
        ("new_max_overlap", t.new_max_overlap),
    ];
    if let Some((name, v)) = shares.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
        return Err(Error::Invalid(format!("{name} {v}: a share must lie in 0..1")));
    }
    let amounts = [
        t.footprint_excess_m2,
        t.footprint_excess_ratio,
        t.height_tolerance_m,
        t.floor_area_tolerance_ratio,
        t.min_zone_overlap_m2,
        t.grown_area_ratio,
        t.grown_height_m,
    ];
    if amounts.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
        return Err(Error::Invalid("thresholds are finite numbers, 0 or more".into()));
    }
    Ok(())
}

fn field(l: &Layer, given: &Option<String>, candidates: &[&str]) -> Result<Option<usize>> {
    Ok(find_field(l, given.as_deref(), candidates)?)
}

/// The rules' inputs: the layers named by `layers`, with the user's field names where given
/// and the usual ones otherwise.
pub fn inputs<'a>(ws: &'a Workspace, layers: &RuleLayers, fields: &FieldOverrides) -> Result<Inputs<'a>> {
    let layer = |id: &str| ws.layer(id).map(|l| &l.layer).ok_or_else(|| Error::NoLayer(id.into()));
    let b = layer(&layers.roles.buildings)?;
    let building_fields = |l: &Layer| -> Result<BuildingFields> {
        Ok(BuildingFields {
            height: field(l, &fields.height, field_names::HEIGHT)?,
            floors: field(l, &fields.floors, field_names::FLOORS)?,
        })
    };
    let permits = match &layers.roles.permits {
        Some(id) => {
            let p = layer(id)?;
            Some((
                p,
                PermitFields {
                    number: field(p, &fields.permit_no, field_names::PERMIT_NUMBER)?,
                    approved_height: field(p, &fields.approved_height, field_names::APPROVED_HEIGHT)?,
                    approved_floors: field(p, &fields.approved_floors, field_names::APPROVED_FLOORS)?,
                    approved_area: field(p, &fields.approved_area, field_names::APPROVED_AREA)?,
                },
            ))
        }
        None => None,
    };
    let mut zones = Vec::new();
    for id in &layers.roles.zones {
        let z = layer(id)?;
        zones.push(Zones {
            layer: z,
            fields: ZoneFields {
                zone_type: field(z, &fields.zone_type, field_names::ZONE_TYPE)?,
                name: field(z, &fields.zone_name, field_names::ZONE_NAME)?,
                // Without a type field the layer's name says what it is (e.g. 生态保护红线.shp).
                default_type: z.name.clone(),
            },
        });
    }
    let previous = match &layers.previous {
        Some(id) => {
            let p = layer(id)?;
            Some(Buildings {
                layer: p,
                fields: building_fields(p)?,
            })
        }
        None => None,
    };
    if permits.is_none() && zones.is_empty() && previous.is_none() {
        return Err(Error::Missing(
            "nothing to check the buildings against: give permits, control zones or an earlier survey".into(),
        ));
    }
    Ok(Inputs {
        buildings: Buildings {
            layer: b,
            fields: building_fields(b)?,
        },
        permits,
        zones,
        previous,
    })
}

/// Run the rules (progress to `job`, stopped when it is cancelled; nothing is kept then).
pub fn run(ws: &Workspace, layers: &RuleLayers, fields: &FieldOverrides, t: &Thresholds, job: &Job) -> Result<Report> {
    check_thresholds(t)?;
    let inputs = inputs(ws, layers, fields)?;
    detect_job(&inputs, t, job).map_err(|_| Error::Cancelled("running the rules".into()))
}

/// The sources of a rules run as a report reads them back: `catalog` (a catalog file), and
/// `buildings`, `permits`, `zones`, `previous` as `FILE:LAYER` specs of layers not from it.
pub fn sources(ws: &Workspace, layers: &RuleLayers, catalog: Option<&Path>) -> serde_json::Value {
    let mut v = json!({});
    let spec = |id: &str| ws.layer(id).map(|l| data::spec_of(&l.layer));
    match catalog {
        Some(c) => v["catalog"] = json!(std::fs::canonicalize(c).unwrap_or_else(|_| c.to_path_buf())),
        None => {
            v["buildings"] = json!(spec(&layers.roles.buildings));
            if let Some(p) = &layers.roles.permits {
                v["permits"] = json!(spec(p));
            }
            if !layers.roles.zones.is_empty() {
                v["zones"] = json!(layers.roles.zones.iter().filter_map(|z| spec(z)).collect::<Vec<_>>());
            }
        }
    }
    if let Some(p) = &layers.previous {
        v["previous"] = json!(spec(p));
    }
    v
}

/// Turn the findings into cases in `store` (an open case of the same building is updated, not
/// duplicated) and record where they came from and when.
pub fn store_findings(
    store: &mut CaseStore,
    ws: &Workspace,
    layers: &RuleLayers,
    report: &Report,
    sources: &serde_json::Value,
    actor: &str,
) -> Result<ImportSummary> {
    let b = &ws
        .layer(&layers.roles.buildings)
        .ok_or_else(|| Error::NoLayer(layers.roles.buildings.clone()))?
        .layer;
    let summary = store.import_findings(&report.findings, &b.name, |f| b.geometries.geometry(f.row), actor)?;
    store.set_metadata("sources", &sources.to_string())?;
    store.set_metadata("last_detection", &jingwei_cases::now_utc())?;
    Ok(summary)
}

/// What a rules run in the session did.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DetectionDto {
    /// Buildings checked.
    pub buildings: usize,
    /// Findings.
    pub findings: usize,
    /// New cases.
    pub created: usize,
    /// Open cases updated.
    pub updated: usize,
    /// Open cases found again unchanged.
    pub unchanged: usize,
    /// Findings per rule id.
    pub per_rule: Vec<(String, usize)>,
    /// The store the cases went to.
    pub store: String,
    /// Milliseconds the run and the import took.
    pub ms: f64,
}

impl Session {
    /// Run the violation rules on the open workspace (its layer roles, the usual field names,
    /// the thresholds given) and turn the findings into cases in the session's store.
    pub fn run_violations(&self, t: &Thresholds, job: &Job) -> Result<(Report, DetectionDto)> {
        let t0 = std::time::Instant::now();
        self.with_workspace(|ws| {
            let layers = RuleLayers {
                roles: crate::roles::violation_roles(ws)?,
                previous: None,
            };
            let report = run(ws, &layers, &FieldOverrides::default(), t, job)?;
            let catalog = match &*self.origin.lock()? {
                Origin::Catalog(c) => Some(c.clone()),
                _ => None,
            };
            let sources = sources(ws, &layers, catalog.as_deref());
            let summary = self.with_store_in(ws, |s| store_findings(s, ws, &layers, &report, &sources, self.actor()))?;
            let dto = DetectionDto {
                buildings: report.buildings,
                findings: report.findings.len(),
                created: summary.created,
                updated: summary.updated,
                unchanged: summary.unchanged,
                per_rule: report.per_rule.iter().map(|(r, n)| (r.id().to_string(), *n)).collect(),
                store: self.store_path()?.display().to_string(),
                ms: t0.elapsed().as_secs_f64() * 1000.0,
            };
            Ok((report, dto))
        })
    }
}
