//! The violation rules (违法建设研判): which buildings lack a permit, exceed it, stand in a
//! control zone, or are new or grown since the last survey — each finding with the evidence
//! numbers an inspector checks and a priority score.
//!
//! All layers must already be in one projected CRS in metres (the workspace CRS), and their
//! geometries repaired ([`jingwei_layers::Layer::validate`]); [`detect`] reports what the
//! inputs' validation found.
//!
//! ## Priority score (0–100)
//! The sum of these terms, capped at 100:
//! - **zone**: the largest weight of the zone types the building breaks — ecological red line 50,
//!   permanent basic farmland 45, river / water management zone 40, outside the urban development
//!   boundary 30, any other control zone 25;
//! - **no permit**: 25 × (1 − permit coverage);
//! - **over the permit**: 15 × min(uncovered share, 1) for the footprint, 15 × min(height excess /
//!   10 m, 1) for the height, 10 × min(extra floors / 3, 1) for the floors, 10 × min(floor-area
//!   excess share, 1) for the floor area;
//! - **new since the survey**: 10; **grown**: 5;
//! - **size**: 10 × log10(1 + footprint / 100 m²), at most 20 (100 m² → 3, 1,000 m² → 10.4,
//!   10,000 m² → 20), so that of two equal breaches the larger building comes first.

use jingwei_layers::{Cancelled, Job, Layer, ValiditySummary};
use rayon::prelude::*;
use serde::Serialize;

use crate::coverage::permit_coverage_job;
use crate::zones::ZoneSet;

/// Which fields of the buildings layer hold what (`None`: not available).
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildingFields {
    /// Height in metres.
    pub height: Option<usize>,
    /// Number of floors above ground.
    pub floors: Option<usize>,
}

/// Which fields of the permits layer hold what.
#[derive(Debug, Clone, Copy, Default)]
pub struct PermitFields {
    /// Permit number (许可证号).
    pub number: Option<usize>,
    /// Approved height in metres.
    pub approved_height: Option<usize>,
    /// Approved floors.
    pub approved_floors: Option<usize>,
    /// Approved gross floor area in m².
    pub approved_area: Option<usize>,
}

/// Which fields of a control-zone layer hold what.
#[derive(Debug, Clone, Default)]
pub struct ZoneFields {
    /// Zone type (e.g. `ecological_red_line`, `permanent_basic_farmland`, 生态保护红线, …).
    pub zone_type: Option<usize>,
    /// Zone name.
    pub name: Option<usize>,
    /// The type of every zone when the layer has no type field.
    pub default_type: String,
}

/// A buildings layer with its field mapping.
pub struct Buildings<'a> {
    /// The layer.
    pub layer: &'a Layer,
    /// Its fields.
    pub fields: BuildingFields,
}

/// A control-zone layer with its field mapping.
pub struct Zones<'a> {
    /// The layer.
    pub layer: &'a Layer,
    /// Its fields.
    pub fields: ZoneFields,
}

/// Everything [`detect`] reads.
pub struct Inputs<'a> {
    /// The current buildings.
    pub buildings: Buildings<'a>,
    /// Building permits (建设工程规划许可) with their field mapping.
    pub permits: Option<(&'a Layer, PermitFields)>,
    /// Control-zone layers.
    pub zones: Vec<Zones<'a>>,
    /// The buildings of an earlier survey.
    pub previous: Option<Buildings<'a>>,
}

/// The rules' thresholds, all user-adjustable.
#[derive(Debug, Clone, Serialize)]
pub struct Thresholds {
    /// Rule 1: flag when the permit-covered share of the footprint is below this.
    pub min_coverage: f64,
    /// Rule 2: a building is compared with the permit it overlaps most when that permit covers at
    /// least this share of it (less is a neighbour's permit grazing it: rule 1's case).
    pub permit_match_ratio: f64,
    /// Rule 2: flag when the footprint outside the permits exceeds this many m² …
    pub footprint_excess_m2: f64,
    /// … or this share of the footprint.
    pub footprint_excess_ratio: f64,
    /// Rule 2: flag when taller than the approved height by more than this (m).
    pub height_tolerance_m: f64,
    /// Rule 2: flag when the floors exceed the approved floors by more than this.
    pub floors_tolerance: i64,
    /// Rule 2: flag when the floor area (footprint × floors, with a floors field) exceeds the
    /// approved floor area by more than this share.
    pub floor_area_tolerance_ratio: f64,
    /// Rule 3: flag when the footprint overlaps a control zone by more than this (m²).
    pub min_zone_overlap_m2: f64,
    /// Rule 4: a building is new when the share of it covered by earlier buildings is below this.
    pub new_max_overlap: f64,
    /// Rule 4: a building has grown when its area grew by more than this share …
    pub grown_area_ratio: f64,
    /// … or its height by more than this many metres.
    pub grown_height_m: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_coverage: 0.95,
            permit_match_ratio: 0.5,
            footprint_excess_m2: 10.0,
            footprint_excess_ratio: 0.05,
            height_tolerance_m: 1.0,
            floors_tolerance: 0,
            floor_area_tolerance_ratio: 0.05,
            min_zone_overlap_m2: 1.0,
            new_max_overlap: 0.5,
            grown_area_ratio: 0.10,
            grown_height_m: 3.0,
        }
    }
}

/// A rule a building broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// 无证建设: not (enough) covered by permits.
    NoPermit,
    /// 超证建设: larger, taller or with more floors than its permit.
    OverPermit,
    /// 占用管控区: overlaps a control zone.
    InControlZone,
    /// 新增建筑: no counterpart in the earlier survey.
    NewSinceSurvey,
    /// 扩建/加高: grew since the earlier survey.
    GrownSinceSurvey,
}

impl Rule {
    /// Every rule, in order.
    pub const ALL: [Rule; 5] = [
        Rule::NoPermit,
        Rule::OverPermit,
        Rule::InControlZone,
        Rule::NewSinceSurvey,
        Rule::GrownSinceSurvey,
    ];

    /// The stable identifier (as serialised).
    pub fn id(self) -> &'static str {
        match self {
            Rule::NoPermit => "no_permit",
            Rule::OverPermit => "over_permit",
            Rule::InControlZone => "in_control_zone",
            Rule::NewSinceSurvey => "new_since_survey",
            Rule::GrownSinceSurvey => "grown_since_survey",
        }
    }

    /// Parse an identifier.
    pub fn from_id(s: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == s)
    }

    /// The Chinese name inspectors use.
    pub fn name_zh(self) -> &'static str {
        match self {
            Rule::NoPermit => "无证建设",
            Rule::OverPermit => "超证建设",
            Rule::InControlZone => "占用管控区",
            Rule::NewSinceSurvey => "新增建筑",
            Rule::GrownSinceSurvey => "扩建加高",
        }
    }
}

/// The permit a building is compared with (the one it overlaps most).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PermitEvidence {
    /// Name of the permits layer.
    pub layer: String,
    /// Feature id in the permits layer.
    pub fid: i64,
    /// Permit number.
    pub number: Option<String>,
    /// Overlap of the building with this permit, m².
    pub overlap_m2: f64,
    /// Approved height, m.
    pub approved_height_m: Option<f64>,
    /// Approved floors.
    pub approved_floors: Option<i64>,
    /// Approved floor area, m².
    pub approved_area_m2: Option<f64>,
}

/// A control zone a building overlaps (or, for the development boundary, lies outside of).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneEvidence {
    /// Name of the zone layer.
    pub layer: String,
    /// Feature id of the zone (`None` for "outside the urban development boundary").
    pub fid: Option<i64>,
    /// Zone type (normalised: `ecological_red_line`, `permanent_basic_farmland`,
    /// `river_management_zone`, `outside_urban_development_boundary`, or as given).
    pub zone_type: String,
    /// Zone name.
    pub name: Option<String>,
    /// Area of the footprint in (or, for the boundary, outside) the zone, m².
    pub overlap_m2: f64,
}

/// The earlier building a current one is matched with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviousEvidence {
    /// Feature id of the earlier building with the largest overlap (`None`: none overlaps).
    pub fid: Option<i64>,
    /// Share of the current footprint covered by earlier buildings.
    pub overlap_ratio: f64,
    /// Footprint area of the matched earlier building, m².
    pub area_m2: Option<f64>,
    /// Height of the matched earlier building, m.
    pub height_m: Option<f64>,
}

/// The numbers behind a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Footprint area, m².
    pub area_m2: f64,
    /// Height, m (from the height field).
    pub height_m: Option<f64>,
    /// Floors (from the floors field).
    pub floors: Option<i64>,
    /// Permit-covered share of the footprint (when permits were given).
    pub permit_coverage: Option<f64>,
    /// Permit-covered area, m².
    pub permit_covered_m2: Option<f64>,
    /// The permit compared with: the one overlapping the building most, when it covers at least
    /// [`Thresholds::permit_match_ratio`] of it.
    pub permit: Option<PermitEvidence>,
    /// Footprint outside every permit, m² (when the building has a permit).
    pub footprint_excess_m2: Option<f64>,
    /// Height above the approved height, m.
    pub height_excess_m: Option<f64>,
    /// Floors above the approved floors.
    pub floors_excess: Option<i64>,
    /// Estimated floor area above the approved floor area, m².
    pub floor_area_excess_m2: Option<f64>,
    /// Control zones broken.
    pub zones: Vec<ZoneEvidence>,
    /// Comparison with the earlier survey.
    pub previous: Option<PreviousEvidence>,
}

/// One suspected violation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Feature id of the building.
    pub building_fid: i64,
    /// Row of the building in its layer.
    #[serde(skip)]
    pub row: usize,
    /// The rules broken (sorted).
    pub rules: Vec<Rule>,
    /// The evidence.
    pub evidence: Evidence,
    /// Priority score, 0–100 (see the module documentation).
    pub priority: f64,
}

/// What [`detect`] found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Findings, highest priority first (ties by building fid).
    pub findings: Vec<Finding>,
    /// Buildings examined.
    pub buildings: usize,
    /// Number of findings per rule.
    pub per_rule: Vec<(Rule, usize)>,
    /// Zone-rule findings per zone type.
    pub per_zone_type: Vec<(String, usize)>,
    /// The thresholds used.
    pub thresholds: Thresholds,
    /// Geometry validation of each input layer (name, summary).
    pub validity: Vec<(String, ValiditySummary)>,
}

/// Normalise a zone type: English ids and the usual Chinese names map to one id.
pub fn normalise_zone_type(t: &str) -> String {
    let t = t.trim();
    let lower = t.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n) || t.contains(n));
    if has(&["ecological_red_line", "ecological red line", "生态保护红线", "生态红线"]) {
        "ecological_red_line".into()
    } else if has(&["permanent_basic_farmland", "basic farmland", "永久基本农田", "基本农田"]) {
        "permanent_basic_farmland".into()
    } else if has(&["urban_development_boundary", "development boundary", "城镇开发边界"]) {
        "urban_development_boundary".into()
    } else if has(&["river", "water", "河道", "河湖", "水域", "蓝线"]) {
        "river_management_zone".into()
    } else {
        t.to_string()
    }
}

/// The priority weight of a (normalised) zone type.
pub fn zone_weight(zone_type: &str) -> f64 {
    match zone_type {
        "ecological_red_line" => 50.0,
        "permanent_basic_farmland" => 45.0,
        "river_management_zone" => 40.0,
        "outside_urban_development_boundary" => 30.0,
        _ => 25.0,
    }
}

fn number(layer: &Layer, row: usize, field: Option<usize>) -> Option<f64> {
    field.and_then(|f| layer.feature(row).value(f).as_f64()).filter(|v| v.is_finite())
}

fn text(layer: &Layer, row: usize, field: Option<usize>) -> Option<String> {
    field.and_then(|f| layer.feature(row).value(f).as_str().map(str::to_string))
}

fn area(g: Option<jingwei_layers::GeomRef<'_>>) -> f64 {
    g.map_or(0.0, |g| g.polygons().map(|p| p.area()).sum())
}

/// Run every rule whose inputs are given and rank the findings.
pub fn detect(inputs: &Inputs<'_>, t: &Thresholds) -> Report {
    detect_job(inputs, t, &Job::new()).expect("a new job is never cancelled")
}

/// [`detect`] reporting progress to `job` (one unit per building and pass) and stopping as soon
/// as it is cancelled.
pub fn detect_job(inputs: &Inputs<'_>, t: &Thresholds, job: &Job) -> Result<Report, Cancelled> {
    let b = inputs.buildings.layer;
    let bf = inputs.buildings.fields;
    let geoms = &b.geometries;
    let passes = 1 + u64::from(inputs.permits.is_some()) + u64::from(inputs.previous.is_some());
    job.plan(passes * b.len() as u64);

    // Rule 1 and 2: permit coverage and the main permit of each building.
    let coverage = match inputs.permits {
        Some((p, _)) => Some(permit_coverage_job(geoms, &p.geometries, job)?),
        None => None,
    };

    // Rule 3: zones, one prepared set per layer; the development boundary is inverted.
    struct ZoneLayer<'a> {
        layer: &'a Layer,
        set: ZoneSet,
        types: Vec<String>,
        names: Vec<Option<String>>,
    }
    let zone_layers: Vec<ZoneLayer> = inputs
        .zones
        .iter()
        .map(|z| {
            let l = z.layer;
            let types = (0..l.len())
                .map(|r| normalise_zone_type(&text(l, r, z.fields.zone_type).unwrap_or_else(|| z.fields.default_type.clone())))
                .collect();
            let names = (0..l.len()).map(|r| text(l, r, z.fields.name)).collect();
            ZoneLayer {
                layer: l,
                set: ZoneSet::new(&l.geometries),
                types,
                names,
            }
        })
        .collect();
    let has_boundary = zone_layers
        .iter()
        .any(|z| z.types.iter().any(|t| t == "urban_development_boundary"));

    // Rule 4: the share of each building covered by earlier buildings (the same exact overlay).
    let previous = match inputs.previous.as_ref() {
        Some(p) => Some((p, permit_coverage_job(geoms, &p.layer.geometries, job)?)),
        None => None,
    };

    const CHUNK: usize = 1024;
    let mut findings: Vec<Finding> = (0..b.len())
        .into_par_iter()
        .filter_map(|row| {
            if row % CHUNK == 0 {
                job.advance(CHUNK.min(b.len() - row) as u64);
            }
            if job.is_cancelled() {
                return None;
            }
            let g = geoms.get(row)?;
            let area_m2 = area(Some(g));
            if area_m2 <= 0.0 {
                return None;
            }
            let height_m = number(b, row, bf.height);
            // Floors only from a floors field: estimating them from heights (storey heights vary
            // from 2.8 to 4.5 m) would flag buildings that keep to their permits.
            let floors = number(b, row, bf.floors).map(|f| f.round() as i64);
            let mut e = Evidence {
                area_m2,
                height_m,
                floors,
                permit_coverage: None,
                permit_covered_m2: None,
                permit: None,
                footprint_excess_m2: None,
                height_excess_m: None,
                floors_excess: None,
                floor_area_excess_m2: None,
                zones: Vec::new(),
                previous: None,
            };
            let mut rules = Vec::new();
            let mut score = 10.0 * (1.0 + area_m2 / 100.0).log10();
            score = score.min(20.0);

            if let (Some(cov), Some((pl, pf))) = (&coverage, inputs.permits) {
                let c = cov[row];
                let ratio = (c.covered_m2 / area_m2).min(1.0);
                e.permit_coverage = Some(ratio);
                e.permit_covered_m2 = Some(c.covered_m2);
                if ratio < t.min_coverage {
                    rules.push(Rule::NoPermit);
                    score += 25.0 * (1.0 - ratio);
                }
                if let Some((k, overlap)) = c.main.filter(|(_, a)| *a > 0.0 && *a >= t.permit_match_ratio * area_m2) {
                    let k = k as usize;
                    let pe = PermitEvidence {
                        layer: pl.name.clone(),
                        fid: pl.fids[k],
                        number: text(pl, k, pf.number),
                        overlap_m2: overlap,
                        approved_height_m: number(pl, k, pf.approved_height),
                        approved_floors: number(pl, k, pf.approved_floors).map(|f| f.round() as i64),
                        approved_area_m2: number(pl, k, pf.approved_area),
                    };
                    let mut over = false;
                    let excess = (area_m2 - c.covered_m2).max(0.0);
                    e.footprint_excess_m2 = Some(excess);
                    if excess > t.footprint_excess_m2 || excess / area_m2 > t.footprint_excess_ratio {
                        over = true;
                        score += 15.0 * (excess / area_m2).min(1.0);
                    }
                    if let (Some(h), Some(ah)) = (height_m, pe.approved_height_m) {
                        let x = h - ah;
                        e.height_excess_m = Some(x);
                        if x > t.height_tolerance_m {
                            over = true;
                            score += 15.0 * (x / 10.0).min(1.0);
                        }
                    }
                    if let (Some(f), Some(af)) = (floors, pe.approved_floors) {
                        let x = f - af;
                        e.floors_excess = Some(x);
                        if x > t.floors_tolerance {
                            over = true;
                            score += 10.0 * (x as f64 / 3.0).min(1.0);
                        }
                    }
                    if let (Some(f), Some(aa)) = (floors, pe.approved_area_m2.filter(|a| *a > 0.0)) {
                        let x = area_m2 * f as f64 - aa;
                        e.floor_area_excess_m2 = Some(x);
                        if x > aa * t.floor_area_tolerance_ratio {
                            over = true;
                            score += 10.0 * (x / aa).min(1.0);
                        }
                    }
                    e.permit = Some(pe);
                    if over {
                        rules.push(Rule::OverPermit);
                    }
                }
            }

            let mut zone_score: f64 = 0.0;
            let mut inside_boundary = 0.0;
            for z in &zone_layers {
                for k in z.set.hits(g) {
                    let k = k as usize;
                    let overlap = z.set.overlap_area(k as u32, g);
                    if z.types[k] == "urban_development_boundary" {
                        inside_boundary += overlap;
                        continue;
                    }
                    if overlap > t.min_zone_overlap_m2 {
                        zone_score = zone_score.max(zone_weight(&z.types[k]));
                        e.zones.push(ZoneEvidence {
                            layer: z.layer.name.clone(),
                            fid: Some(z.layer.fids[k]),
                            zone_type: z.types[k].clone(),
                            name: z.names[k].clone(),
                            overlap_m2: overlap,
                        });
                    }
                }
            }
            if has_boundary {
                let outside = (area_m2 - inside_boundary).max(0.0);
                if outside > t.min_zone_overlap_m2 {
                    let zt = "outside_urban_development_boundary";
                    zone_score = zone_score.max(zone_weight(zt));
                    e.zones.push(ZoneEvidence {
                        layer: String::new(),
                        fid: None,
                        zone_type: zt.into(),
                        name: None,
                        overlap_m2: outside,
                    });
                }
            }
            if !e.zones.is_empty() {
                rules.push(Rule::InControlZone);
                score += zone_score;
            }

            if let Some((p, cov)) = &previous {
                let c = cov[row];
                let ratio = (c.covered_m2 / area_m2).min(1.0);
                let matched = c.main.filter(|(_, a)| *a > 0.0).map(|(k, _)| k as usize);
                let pe = PreviousEvidence {
                    fid: matched.map(|k| p.layer.fids[k]),
                    overlap_ratio: ratio,
                    area_m2: matched.map(|k| area(p.layer.geometries.get(k))),
                    height_m: matched.and_then(|k| number(p.layer, k, p.fields.height)),
                };
                if ratio < t.new_max_overlap {
                    rules.push(Rule::NewSinceSurvey);
                    score += 10.0;
                } else {
                    let grew_area = pe.area_m2.is_some_and(|a| a > 0.0 && area_m2 > a * (1.0 + t.grown_area_ratio));
                    let grew_height = matches!((height_m, pe.height_m), (Some(h), Some(ph)) if h - ph > t.grown_height_m);
                    if grew_area || grew_height {
                        rules.push(Rule::GrownSinceSurvey);
                        score += 5.0;
                    }
                }
                e.previous = Some(pe);
            }

            if rules.is_empty() {
                return None;
            }
            rules.sort_unstable();
            Some(Finding {
                building_fid: b.fids[row],
                row,
                rules,
                evidence: e,
                priority: (score.min(100.0) * 10.0).round() / 10.0,
            })
        })
        .collect();
    job.check()?;
    findings.sort_by(|a, b| b.priority.total_cmp(&a.priority).then(a.building_fid.cmp(&b.building_fid)));

    let per_rule = Rule::ALL
        .into_iter()
        .map(|r| (r, findings.iter().filter(|f| f.rules.contains(&r)).count()))
        .collect();
    let mut per_zone_type: Vec<(String, usize)> = Vec::new();
    for f in &findings {
        let mut types: Vec<&str> = f.evidence.zones.iter().map(|z| z.zone_type.as_str()).collect();
        types.sort_unstable();
        types.dedup();
        for ty in types {
            match per_zone_type.iter_mut().find(|(k, _)| k == ty) {
                Some((_, n)) => *n += 1,
                None => per_zone_type.push((ty.to_string(), 1)),
            }
        }
    }
    per_zone_type.sort();
    let mut validity = vec![(b.name.clone(), b.validity_summary())];
    if let Some((p, _)) = inputs.permits {
        validity.push((p.name.clone(), p.validity_summary()));
    }
    for z in &inputs.zones {
        validity.push((z.layer.name.clone(), z.layer.validity_summary()));
    }
    if let Some(p) = &inputs.previous {
        validity.push((format!("{} (previous)", p.layer.name), p.layer.validity_summary()));
    }
    Ok(Report {
        findings,
        buildings: b.len(),
        per_rule,
        per_zone_type,
        thresholds: t.clone(),
        validity,
    })
}

/// Usual names of each mapped field (English, OSM, Chinese and pinyin initials seen in
/// municipal data), tried in order when the user names none.
pub mod field_names {
    /// Building height in metres.
    pub const HEIGHT: &[&str] = &[
        "height",
        "height_m",
        "bldg_height",
        "building_height",
        "高度",
        "建筑高度",
        "jzgd",
        "gd",
    ];
    /// Floors.
    pub const FLOORS: &[&str] = &[
        "floors",
        "levels",
        "building:levels",
        "building_levels",
        "层数",
        "建筑层数",
        "cs",
        "jzcs",
    ];
    /// Permit number.
    pub const PERMIT_NUMBER: &[&str] = &["permit_no", "permit_number", "许可证号", "证号", "xkzh"];
    /// Approved height.
    pub const APPROVED_HEIGHT: &[&str] = &["approved_height_m", "approved_height", "批准高度", "核定高度", "pzgd"];
    /// Approved floors.
    pub const APPROVED_FLOORS: &[&str] = &["approved_floors", "批准层数", "核定层数", "pzcs"];
    /// Approved gross floor area.
    pub const APPROVED_AREA: &[&str] = &[
        "approved_area_m2",
        "approved_area",
        "approved_floor_area",
        "批准建筑面积",
        "建筑面积",
        "jzmj",
    ];
    /// Zone type.
    pub const ZONE_TYPE: &[&str] = &["zone_type", "type", "类型", "管控类型", "lx"];
    /// Zone name.
    pub const ZONE_NAME: &[&str] = &["name", "zone_name", "名称", "mc"];
}

/// Find a field: the one the user named (an error when the layer has none by that name), else
/// the first of the usual `candidates` present (case-insensitive), else `None`.
pub fn find_field(layer: &Layer, given: Option<&str>, candidates: &[&str]) -> Result<Option<usize>, crate::AnalysisError> {
    let find = |name: &str| layer.fields.iter().position(|f| f.name.eq_ignore_ascii_case(name));
    match given {
        Some(name) => find(name).map(Some).ok_or_else(|| {
            let names: Vec<&str> = layer.fields.iter().map(|f| f.name.as_str()).collect();
            crate::AnalysisError::NoField {
                path: layer.source_path.clone(),
                layer: layer.name.clone(),
                field: name.to_string(),
                available: names.join(", "),
            }
        }),
        None => Ok(candidates.iter().find_map(|c| find(c))),
    }
}

/// Which layers of a workspace play which part: the buildings, the permits and the control
/// zones (layer ids). The application API decides them from its table of layer roles.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceRoles {
    /// The buildings layer.
    pub buildings: String,
    /// The permits layer.
    pub permits: Option<String>,
    /// The control-zone layers (管控: 三区三线, river protection, …).
    pub zones: Vec<String>,
}

impl BuildingFields {
    /// The usual field names of `layer`.
    pub fn guess(layer: &Layer) -> BuildingFields {
        BuildingFields {
            height: find_field(layer, None, field_names::HEIGHT).ok().flatten(),
            floors: find_field(layer, None, field_names::FLOORS).ok().flatten(),
        }
    }
}

impl PermitFields {
    /// The usual field names of `layer`.
    pub fn guess(layer: &Layer) -> PermitFields {
        let f = |c: &[&str]| find_field(layer, None, c).ok().flatten();
        PermitFields {
            number: f(field_names::PERMIT_NUMBER),
            approved_height: f(field_names::APPROVED_HEIGHT),
            approved_floors: f(field_names::APPROVED_FLOORS),
            approved_area: f(field_names::APPROVED_AREA),
        }
    }
}

impl ZoneFields {
    /// The usual field names of `layer`; without a type field the layer's name is the type.
    pub fn guess(layer: &Layer) -> ZoneFields {
        ZoneFields {
            zone_type: find_field(layer, None, field_names::ZONE_TYPE).ok().flatten(),
            name: find_field(layer, None, field_names::ZONE_NAME).ok().flatten(),
            default_type: layer.name.clone(),
        }
    }
}
