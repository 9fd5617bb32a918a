//! The violation rules on the demo city, checked against an independent overlay with GEOS
//! (through GDAL) and against what the demo generator planted.

use gdal::vector::ToGdal;
use geo::Area;
use jingwei_analysis::violations::{
    BuildingFields, Buildings, Inputs, PermitFields, Rule, Thresholds, ZoneFields, Zones, detect, field_names, find_field,
};
use jingwei_layers::{Layer, RepairMode, Workspace};
use std::path::Path;

fn demo() -> Workspace {
    Workspace::open_catalog(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json"),
        None,
        RepairMode::Repair,
    )
    .unwrap()
}

fn zones_of(l: &Layer) -> Zones<'_> {
    Zones {
        layer: l,
        fields: ZoneFields {
            zone_type: find_field(l, None, field_names::ZONE_TYPE).unwrap(),
            name: find_field(l, None, field_names::ZONE_NAME).unwrap(),
            default_type: String::new(),
        },
    }
}

#[test]
fn demo_city_rules_agree_with_geos_and_the_planted_cases() {
    let ws = demo();
    let b = &ws.layer("buildings").unwrap().layer;
    let p = &ws.layer("permits").unwrap().layer;
    let cz = &ws.layer("control_zones").unwrap().layer;
    let rz = &ws.layer("river_protection").unwrap().layer;
    let pf = PermitFields {
        number: find_field(p, None, field_names::PERMIT_NUMBER).unwrap(),
        approved_height: find_field(p, None, field_names::APPROVED_HEIGHT).unwrap(),
        approved_floors: find_field(p, None, field_names::APPROVED_FLOORS).unwrap(),
        approved_area: find_field(p, None, field_names::APPROVED_AREA).unwrap(),
    };
    assert!(pf.number.is_some() && pf.approved_height.is_some());
    let bf = BuildingFields {
        height: find_field(b, None, field_names::HEIGHT).unwrap(),
        floors: None,
    };
    let inputs = Inputs {
        buildings: Buildings { layer: b, fields: bf },
        permits: Some((p, pf)),
        zones: vec![zones_of(cz), zones_of(rz)],
        previous: None,
    };
    let t = Thresholds::default();
    let report = detect(&inputs, &t);
    assert_eq!(report.buildings, b.len());

    // Independent overlay with GEOS.
    let gp: Vec<gdal::vector::Geometry> = p.geometries.iter().flatten().map(|g| g.to_geo().to_gdal().unwrap()).collect();
    let zone_geoms: Vec<(String, gdal::vector::Geometry)> = [cz, rz]
        .iter()
        .flat_map(|l| {
            let ti = l.field_index("zone_type").unwrap();
            l.features()
                .filter_map(move |f| Some((f.value(ti).as_str()?.to_string(), f.geo()?.to_gdal().unwrap())))
        })
        .collect();
    let (mut no_permit, mut zone_counts) = (0usize, std::collections::BTreeMap::<String, usize>::new());
    for (row, g) in b.geometries.iter().enumerate() {
        let Some(g) = g.map(|g| g.to_geo()) else { continue };
        let area = g.unsigned_area();
        if area <= 0.0 {
            continue;
        }
        let bg = g.to_gdal().unwrap();
        let covered: f64 = gp
            .iter()
            .filter(|pg| bg.intersects(pg))
            .map(|pg| bg.intersection(pg).map_or(0.0, |i| i.area()))
            .sum();
        let finding = report.findings.iter().find(|f| f.row == row);
        let flagged = covered / area < t.min_coverage;
        no_permit += usize::from(flagged);
        assert_eq!(finding.is_some_and(|f| f.rules.contains(&Rule::NoPermit)), flagged, "row {row}");
        if let Some(f) = finding {
            assert!((f.evidence.permit_covered_m2.unwrap() - covered).abs() < 1e-6 * area.max(1.0));
            assert!((f.evidence.area_m2 - area).abs() < 1e-9 * area.max(1.0));
        }
        let mut types = std::collections::BTreeSet::new();
        let mut in_boundary = 0.0;
        for (ty, zg) in &zone_geoms {
            let overlap = if bg.intersects(zg) {
                bg.intersection(zg).map_or(0.0, |i| i.area())
            } else {
                0.0
            };
            if ty == "urban_development_boundary" {
                in_boundary += overlap;
            } else if overlap > t.min_zone_overlap_m2 {
                types.insert(if ty == "river_protection_zone" {
                    "river_management_zone".to_string()
                } else {
                    ty.clone()
                });
            }
        }
        if area - in_boundary > t.min_zone_overlap_m2 {
            types.insert("outside_urban_development_boundary".into());
        }
        let ours: std::collections::BTreeSet<String> = finding
            .map(|f| f.evidence.zones.iter().map(|z| z.zone_type.clone()).collect())
            .unwrap_or_default();
        assert_eq!(ours, types, "zone types of row {row}");
        for ty in types {
            *zone_counts.entry(ty).or_default() += 1;
        }
    }
    let per_rule = |r: Rule| report.per_rule.iter().find(|(k, _)| *k == r).unwrap().1;
    assert_eq!(per_rule(Rule::NoPermit), no_permit);
    let ours: std::collections::BTreeMap<String, usize> = report.per_zone_type.iter().cloned().collect();
    assert_eq!(ours, zone_counts);
    assert!(zone_counts.len() >= 3, "the demo breaks several zone types: {zone_counts:?}");

    // Every permit the generator made with too low an approved height catches its building.
    let cat = p.field_index("category").unwrap();
    let bfid = p.field_index("building_fid").unwrap();
    let mut planted = 0;
    for f in p.features() {
        if f.value(cat).as_str() != Some("height_exceeded") {
            continue;
        }
        let fid = f.value(bfid).as_f64().unwrap() as i64;
        let row = b.row_of_fid(fid).unwrap();
        let excess =
            b.feature(row).value_by_name("height").unwrap().as_f64().unwrap() - f.value(pf.approved_height.unwrap()).as_f64().unwrap();
        // The building is compared with the permit it overlaps most (by GEOS); neighbours' permits
        // can overlap more where OSM building parts overlap.
        let bg = &b.geometries.geometry(row).unwrap().to_gdal().unwrap();
        let mut overlaps: Vec<(i64, f64)> = p
            .features()
            .filter_map(|q| Some((q.fid(), bg.intersection(&q.geo()?.to_gdal().unwrap())?.area())))
            .collect();
        overlaps.sort_by(|a, b| b.1.total_cmp(&a.1));
        let tied = overlaps.len() > 1 && overlaps[0].1 - overlaps[1].1 < 1e-6;
        if overlaps[0].0 != f.fid() || tied || excess <= t.height_tolerance_m {
            continue;
        }
        let finding = report
            .findings
            .iter()
            .find(|x| x.building_fid == fid)
            .expect("planted height excess found");
        assert!(finding.rules.contains(&Rule::OverPermit), "{finding:?}");
        assert_eq!(finding.evidence.permit.as_ref().unwrap().fid, f.fid());
        assert!((finding.evidence.height_excess_m.unwrap() - excess).abs() < 1e-9);
        planted += 1;
    }
    assert!(planted > 10, "{planted} planted height excesses");

    // Ranked by priority, within 0..=100.
    assert!(report.findings.windows(2).all(|w| w[0].priority >= w[1].priority));
    assert!(report.findings.iter().all(|f| (0.0..=100.0).contains(&f.priority)));
    // Zone breaches rank above plain missing permits of the same size: the top finding is in a zone.
    assert!(
        report.findings[0].rules.contains(&Rule::InControlZone),
        "{:?}",
        &report.findings[..3]
    );

    // Thresholds matter: at zero tolerance more buildings are over their permits.
    let strict = Thresholds {
        height_tolerance_m: -100.0,
        ..Thresholds::default()
    };
    let report2 = detect(&inputs, &strict);
    let over = |r: &jingwei_analysis::violations::Report| r.findings.iter().filter(|f| f.rules.contains(&Rule::OverPermit)).count();
    assert!(over(&report2) > over(&report));
}

#[test]
fn a_named_field_that_is_missing_is_an_error_naming_layer_and_field() {
    let ws = demo();
    let b = &ws.layer("buildings").unwrap().layer;
    let e = find_field(b, Some("层数"), field_names::FLOORS).unwrap_err().to_string();
    assert!(
        e.contains("buildings_polygon") && e.contains("层数") && e.contains("lujiazui_osm.gpkg"),
        "{e}"
    );
    assert_eq!(find_field(b, Some("HEIGHT"), &[]).unwrap(), b.field_index("height"));
}

#[test]
fn new_and_grown_buildings_against_an_earlier_survey() {
    let ws = demo();
    let b = &ws.layer("buildings").unwrap().layer;
    // An "earlier survey": the same buildings minus every 10th, with every 7th one 5 m lower.
    let mut prev = b.clone();
    let h = prev.field_index("height").unwrap();
    let mut keep = Vec::new();
    for row in 0..prev.len() {
        if row % 10 == 0 {
            prev.geometries.set(row, None);
        } else {
            keep.push(row);
        }
    }
    let heights: Vec<jingwei_layers::Value> = (0..prev.len())
        .map(|r| match prev.feature(r).value(h).as_f64() {
            Some(v) if r % 7 == 3 => jingwei_layers::Value::Real(v - 5.0),
            other => other.map_or(jingwei_layers::Value::Null, jingwei_layers::Value::Real),
        })
        .collect();
    let mut col = jingwei_layers::Column::for_kind(prev.fields[h].kind, prev.len());
    for v in heights {
        col.push(v);
    }
    prev.columns[h] = col;
    let fields = BuildingFields {
        height: Some(h),
        floors: None,
    };
    let inputs = Inputs {
        buildings: Buildings { layer: b, fields },
        permits: None,
        zones: vec![],
        previous: Some(Buildings { layer: &prev, fields }),
    };
    let report = detect(&inputs, &Thresholds::default());
    let new: Vec<usize> = report
        .findings
        .iter()
        .filter(|f| f.rules.contains(&Rule::NewSinceSurvey))
        .map(|f| f.row)
        .collect();
    // Removed buildings are new unless another old building covers half of them (OSM parts).
    let removed: Vec<usize> = (0..b.len())
        .filter(|r| r % 10 == 0 && b.geometries.geometry(*r).as_ref().is_some_and(|g| g.unsigned_area() > 0.0))
        .collect();
    assert!(new.iter().all(|r| r % 10 == 0), "only removed buildings are new");
    eprintln!("{} of {} removed buildings found new", new.len(), removed.len());
    assert!(
        new.len() * 10 >= removed.len() * 8,
        "{} of {} removed found new",
        new.len(),
        removed.len()
    );
    let grown: Vec<usize> = report
        .findings
        .iter()
        .filter(|f| f.rules.contains(&Rule::GrownSinceSurvey))
        .map(|f| f.row)
        .collect();
    assert!(!grown.is_empty());
    for r in &grown {
        let f = report.findings.iter().find(|f| f.row == *r).unwrap();
        let pe = f.evidence.previous.as_ref().unwrap();
        let taller = f.evidence.height_m.unwrap_or(0.0) - pe.height_m.unwrap_or(0.0) > 3.0;
        let larger = f.evidence.area_m2 > pe.area_m2.unwrap() * 1.1;
        assert!(taller || larger, "{f:?}");
    }
    // The lowered buildings (5 m) that kept their own counterpart are found grown.
    let lowered = report
        .findings
        .iter()
        .filter(|f| f.row % 7 == 3 && f.evidence.previous.as_ref().and_then(|p| p.fid) == Some(b.fids[f.row]))
        .filter(|f| f.rules.contains(&Rule::GrownSinceSurvey))
        .count();
    let candidates = (0..b.len())
        .filter(|r| r % 7 == 3 && r % 10 != 0 && b.feature(*r).value(h).as_f64().is_some())
        .count();
    eprintln!("{lowered} of {candidates} lowered buildings found grown");
    assert!(lowered * 10 >= candidates * 8, "{lowered} of {candidates}");
}
