//! What an incident reaches: rings at distances per incident type (or the alert's own area),
//! and for each ring the buildings, their floor area, an estimated population and the critical
//! facilities (schools, hospitals, care homes, hazardous sites) by distance.
//!
//! Population: a population field of the buildings when there is one; otherwise floor area ×
//! [`PERSONS_PER_M2`] (one person per 40 m² of floor area, about the urban per-capita housing
//! floor area of China's 7th census), floor area = footprint × floors, floors from a floors
//! field, else height ÷ 3 m, else 1. It is an estimate for planning a response, not a count.

use geo::{BoundingRect, Distance, Euclidean, Geometry, Point};
use jingwei_layers::{Layer, SpatialIndex};
use serde::Serialize;

/// Persons per m² of floor area for population estimates.
pub const PERSONS_PER_M2: f64 = 1.0 / 40.0;

/// The default rings (m) of an incident type; users edit them per incident.
pub fn default_rings(incident_type: &str) -> Vec<f64> {
    match incident_type {
        "fire" => vec![100.0, 300.0, 500.0],
        // Initial isolation and protective-action distances of the order the emergency response
        // guidebooks give for large spills.
        "hazardous_chemical_leak" => vec![300.0, 800.0, 1500.0],
        "gas_leak" => vec![100.0, 300.0, 600.0],
        "building_collapse" => vec![50.0, 150.0, 300.0],
        "flood" | "waterlogging" => vec![200.0, 500.0, 1000.0],
        "earthquake" => vec![1000.0, 5000.0, 10000.0],
        "explosion" => vec![200.0, 500.0, 1000.0],
        _ => vec![200.0, 500.0, 1000.0],
    }
}

/// The class of a critical facility from a POI's kind (OSM/Tilezen values or Chinese names).
pub fn facility_class(kind: &str) -> Option<&'static str> {
    let k = kind.to_lowercase();
    let any = |w: &[&str]| w.iter().any(|x| k.contains(x));
    if any(&[
        "school",
        "kindergarten",
        "college",
        "university",
        "学校",
        "幼儿园",
        "中学",
        "小学",
        "大学",
    ]) {
        Some("school")
    } else if any(&["hospital", "clinic", "doctors", "医院", "卫生"]) {
        Some("hospital")
    } else if any(&["nursing_home", "social_facility", "retirement", "care_home", "养老", "福利院"]) {
        Some("care_home")
    } else if any(&[
        "fuel",
        "chemical",
        "hazard",
        "gas_station",
        "explosive",
        "加油",
        "危化",
        "化工",
        "燃气",
    ]) {
        Some("hazardous")
    } else {
        None
    }
}

/// A building layer with what the estimate reads.
pub struct BuildingsIn<'a> {
    /// The layer.
    pub layer: &'a Layer,
    /// Its index.
    pub index: &'a SpatialIndex,
    /// Population field.
    pub population: Option<usize>,
    /// Floors field.
    pub floors: Option<usize>,
    /// Height field (m).
    pub height: Option<usize>,
}

/// A facility layer: the field holding its kind and the one holding its name.
pub struct FacilitiesIn<'a> {
    /// The layer.
    pub layer: &'a Layer,
    /// Its index.
    pub index: &'a SpatialIndex,
    /// Kind field.
    pub kind: usize,
    /// Name field.
    pub name: Option<usize>,
}

/// A critical facility reached.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Facility {
    /// Layer name.
    pub layer: String,
    /// Feature id.
    pub fid: i64,
    /// school, hospital, care_home or hazardous.
    pub class: &'static str,
    /// The raw kind.
    pub kind: String,
    /// Name.
    pub name: Option<String>,
    /// Distance from the incident (m).
    pub distance_m: f64,
}

/// What one ring reaches (everything within its distance, inner rings included).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Ring {
    /// Distance (m); 0 for the incident's own area.
    pub radius_m: f64,
    /// Buildings touched.
    pub buildings: usize,
    /// Their floor area (m²).
    pub floor_area_m2: f64,
    /// Estimated population.
    pub population: f64,
    /// Whether the population came from a field (else from floor area).
    pub population_from_field: bool,
    /// Critical facilities, nearest first.
    pub facilities: Vec<Facility>,
}

fn area(g: &Geometry) -> f64 {
    use geo::Area;
    g.unsigned_area()
}

/// Rows of `layer` within `r` of `at` with their distances (exact geometry distance).
fn within(layer: &Layer, index: &SpatialIndex, at: &Geometry, r: f64) -> Vec<(usize, f64)> {
    let Some(b) = at.bounding_rect() else { return Vec::new() };
    let bbox = [b.min().x - r, b.min().y - r, b.max().x + r, b.max().y + r];
    let mut out: Vec<(usize, f64)> = index
        .candidates(bbox)
        .filter_map(|row| {
            let g = layer.geometries.geometry(row)?;
            let d = Euclidean.distance(at, &g);
            (d <= r).then_some((row, d))
        })
        .collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    out
}

/// Floor area (m²) and people of one building (see the module documentation).
pub fn building_load(buildings: &BuildingsIn<'_>, row: usize) -> (f64, f64) {
    let b = buildings.layer;
    let num = |f: Option<usize>| {
        f.and_then(|i| b.feature(row).value(i).as_f64())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    let footprint = b.geometries.geometry(row).as_ref().map_or(0.0, area);
    let floors = num(buildings.floors)
        .or_else(|| num(buildings.height).map(|h| (h / 3.0).round().max(1.0)))
        .unwrap_or(1.0);
    let fa = footprint * floors;
    (fa, num(buildings.population).unwrap_or(fa * PERSONS_PER_M2))
}

/// The buildings within `r` of `at`: (row, distance, people), nearest first.
pub fn affected(at: &Geometry, r: f64, buildings: &BuildingsIn<'_>) -> Vec<(usize, f64, f64)> {
    within(buildings.layer, buildings.index, at, r)
        .into_iter()
        .map(|(row, d)| (row, d, building_load(buildings, row).1))
        .collect()
}

/// The rings of an incident at `at` (a point or an area, in the layers' projected CRS).
pub fn impact(at: &Geometry, rings_m: &[f64], buildings: &BuildingsIn<'_>, facilities: &[FacilitiesIn<'_>]) -> Vec<Ring> {
    let b = buildings.layer;
    let mut rings: Vec<f64> = rings_m.iter().copied().filter(|r| r.is_finite() && *r >= 0.0).collect();
    if !matches!(at, Geometry::Point(_)) {
        rings.insert(0, 0.0);
    }
    rings.sort_by(f64::total_cmp);
    rings.dedup();
    rings
        .iter()
        .map(|&r| {
            let hits = within(b, buildings.index, at, r);
            let (mut floor, mut pop) = (0.0, 0.0);
            for (row, _) in &hits {
                let (fa, people) = building_load(buildings, *row);
                floor += fa;
                pop += people;
            }
            let mut fac: Vec<Facility> = facilities
                .iter()
                .flat_map(|f| {
                    within(f.layer, f.index, at, r).into_iter().filter_map(move |(row, d)| {
                        let feat = f.layer.feature(row);
                        let kind = feat.value(f.kind).as_str()?.to_string();
                        Some(Facility {
                            layer: f.layer.name.clone(),
                            fid: feat.fid(),
                            class: facility_class(&kind)?,
                            name: f.name.and_then(|n| feat.value(n).as_str().map(str::to_string)),
                            kind,
                            distance_m: d,
                        })
                    })
                })
                .collect();
            fac.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
            Ring {
                radius_m: r,
                buildings: hits.len(),
                floor_area_m2: floor,
                population: pop.round(),
                population_from_field: buildings.population.is_some(),
                facilities: fac,
            }
        })
        .collect()
}

/// A point incident.
pub fn point(x: f64, y: f64) -> Geometry {
    Geometry::Point(Point::new(x, y))
}
