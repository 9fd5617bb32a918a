//! 压占分析 and its areas, checked against independent implementations: the ellipsoidal areas
//! against GeographicLib's `Planimeter` (Debian's geographiclib-tools) on parcels in several
//! Gauss-Krüger zones, the overlaps against GEOS (through GDAL) class by class on the demo city.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use gdal::vector::ToGdal;
use geo::{Coord, Geometry, LineString, Polygon};
use jingwei_analysis::area::{self, Ellipsoid, M2_PER_MU};
use jingwei_analysis::overlap::{OverlapLayer, overlap};
use jingwei_layers::{Crs, RepairMode, Transformer, Workspace};

/// An irregular parcel of `n` vertices around (`cx`, `cy`), radii between `r` and 1.6 `r`.
fn parcel(cx: f64, cy: f64, r: f64, n: usize) -> Polygon {
    let pts: Vec<Coord> = (0..=n)
        .map(|i| {
            let t = (i % n) as f64 / n as f64 * std::f64::consts::TAU;
            let rr = r * (1.0 + 0.6 * ((i % n) as f64 * 2.3).sin().abs());
            Coord {
                x: cx + rr * t.cos(),
                y: cy + rr * t.sin(),
            }
        })
        .collect();
    Polygon::new(LineString(pts), Vec::new())
}

/// GeographicLib's area of a ring of (lon, lat) points on CGCS2000, m².
fn planimeter(ring: &[(f64, f64)]) -> f64 {
    let e = Ellipsoid::CGCS2000;
    let mut child = Command::new("Planimeter")
        .args(["-e", &e.a.to_string(), &e.f.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("Planimeter (Debian's geographiclib-tools) is installed by scripts/setup.sh");
    {
        let mut input = child.stdin.take().unwrap();
        for (lon, lat) in ring {
            writeln!(input, "{lat:.12} {lon:.12}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // "points perimeter area"
    text.split_whitespace().nth(2).unwrap().parse::<f64>().unwrap().abs()
}

#[test]
fn ellipsoidal_areas_agree_with_geographiclib_in_several_zones() {
    let geo4490 = Crs::from_epsg(4490).unwrap();
    // 3-degree zones without the zone number (EPSG:4534 = CM 75°E … 4554 = CM 135°E), at
    // several latitudes, parcels of about 1 and 8 km across, off the central meridian.
    let mut worst: f64 = 0.0;
    for (cm, lat) in [
        (75.0, 39.5),
        (87.0, 43.8),
        (108.0, 34.3),
        (114.0, 22.5),
        (123.0, 31.2),
        (126.0, 45.7),
        (135.0, 48.3),
    ] {
        let epsg = 4534 + ((cm - 75.0) / 3.0) as u32;
        let zone = Crs::from_epsg(epsg).unwrap();
        let to_lonlat = Transformer::new(&zone, &geo4490).unwrap();
        let from_lonlat = Transformer::new(&geo4490, &zone).unwrap();
        let (cx, cy) = from_lonlat.transform(cm + 1.1, lat).unwrap();
        for r in [500.0, 4000.0] {
            let p = parcel(cx, cy, r, 24);
            let ours = area::areas(&Geometry::Polygon(p.clone()), &to_lonlat).unwrap();
            // The same ring for GeographicLib: edges straight in the zone, cut every 5 m.
            let mut ring = Vec::new();
            for w in p.exterior().0.windows(2) {
                let n = ((w[1].x - w[0].x).hypot(w[1].y - w[0].y) / 5.0).ceil() as usize;
                for k in 0..n {
                    let t = k as f64 / n as f64;
                    ring.push(
                        to_lonlat
                            .transform(w[0].x + (w[1].x - w[0].x) * t, w[0].y + (w[1].y - w[0].y) * t)
                            .unwrap(),
                    );
                }
            }
            let theirs = planimeter(&ring);
            let rel = (ours.ellipsoid_m2 - theirs).abs() / theirs;
            worst = worst.max(rel);
            eprintln!(
                "EPSG:{epsg} {lat}°N r {r} m: ellipsoid {:.2} m² (GeographicLib {theirs:.2}, {:.1e}); plane {:.2} m² ({:+.4} %)",
                ours.ellipsoid_m2,
                rel,
                ours.plane_m2,
                (ours.plane_m2 / ours.ellipsoid_m2 - 1.0) * 100.0
            );
            assert!(rel < 1e-4, "EPSG:{epsg} r {r}: {} vs {theirs} ({rel:.2e})", ours.ellipsoid_m2);
            // Off the central meridian the zone's plane stretches areas: the two differ.
            assert!(ours.plane_m2 > ours.ellipsoid_m2);
        }
    }
    eprintln!("worst relative difference from GeographicLib: {worst:.2e}");
}

#[test]
fn the_demo_red_line_against_land_use_and_control_lines_matches_geos() {
    let ws = Workspace::open_catalog(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json"),
        None,
        RepairMode::Repair,
    )
    .unwrap();
    let to_lonlat = Transformer::new(&ws.crs, &Crs::from_epsg(4490).unwrap()).unwrap();
    // A project site across the demo's control zones and land use.
    let red = Geometry::Polygon(parcel(357_000.0, 3_458_400.0, 600.0, 9));
    let lu = ws.layer("landuse").unwrap();
    let cz = ws.layer("control_zones").unwrap();
    let layers = [
        OverlapLayer {
            id: "landuse",
            title: "用地现状",
            layer: &lu.layer,
            index: &lu.index,
            class_fields: vec![lu.layer.field_index("kind").unwrap()],
            place_field: None,
        },
        OverlapLayer {
            id: "control_zones",
            title: "三区三线",
            layer: &cz.layer,
            index: &cz.index,
            class_fields: vec![cz.layer.field_index("zone_type").unwrap()],
            place_field: None,
        },
    ];
    let o = overlap(&red, &layers, &to_lonlat, 0.01).unwrap();
    let red_g = red.to_gdal().unwrap();
    assert!((o.redline.plane_m2 - red_g.area()).abs() < 1e-6, "the red line's plane area");
    for (l, got) in layers.iter().zip(&o.layers) {
        // GEOS: each parcel's intersection with the red line, summed per class.
        let mut want: BTreeMap<String, (usize, f64)> = BTreeMap::new();
        for (row, g) in l.layer.geometries.iter().enumerate() {
            let Some(g) = g else { continue };
            let i = g.to_geo().to_gdal().unwrap().intersection(&red_g).map_or(0.0, |i| i.area());
            if i >= 0.01 {
                let class = l.layer.feature(row).value(l.class_fields[0]).to_string();
                let e = want.entry(class).or_default();
                e.0 += 1;
                e.1 += i;
            }
        }
        assert!(!want.is_empty(), "{}: the red line overlaps it", l.id);
        assert_eq!(got.rows.len(), want.len(), "{}: classes {:?} vs GEOS {want:?}", l.id, got.rows);
        for r in &got.rows {
            let (n, a) = want[&r.class];
            assert_eq!(r.parcels, n, "{} {}: parcels", l.id, r.class);
            assert!(
                (r.areas.plane_m2 - a).abs() < 0.01,
                "{} {}: {} m² vs GEOS {a} m²",
                l.id,
                r.class,
                r.areas.plane_m2
            );
            assert!((r.share - r.areas.plane_m2 / o.redline.plane_m2).abs() < 1e-12);
        }
        // The classes sum to the layer's overlap within 0.01 m², in both areas.
        let sum: f64 = got.rows.iter().map(|r| r.areas.plane_m2).sum();
        let sum_e: f64 = got.rows.iter().map(|r| r.areas.ellipsoid_m2).sum();
        assert!((sum - got.total.areas.plane_m2).abs() < 0.01 && (sum_e - got.total.areas.ellipsoid_m2).abs() < 0.01);
        let pieces: f64 = o
            .pieces
            .iter()
            .filter(|p| layers[p.layer].id == l.id)
            .map(|p| p.areas.plane_m2)
            .sum();
        assert!((pieces - sum).abs() < 0.01, "{}: the pieces layer holds the overlap", l.id);
        eprintln!(
            "{}: {} classes, {:.2} m² = {:.4} 公顷 = {:.2} 亩 ({:.1} % of the red line)",
            l.id,
            got.rows.len(),
            got.total.areas.plane_m2,
            got.total.areas.plane_m2 / 1e4,
            got.total.areas.plane_m2 / M2_PER_MU,
            got.total.share * 100.0
        );
    }
    // The control lines: verdicts as GEOS sees them.
    for v in &o.control {
        let mut inter = 0.0;
        let mut union: Option<gdal::vector::Geometry> = None;
        for (row, g) in cz.layer.geometries.iter().enumerate() {
            let t = cz.layer.feature(row).value(layers[1].class_fields[0]).to_string();
            if jingwei_analysis::violations::normalise_zone_type(&t) != v.line {
                continue;
            }
            let g = g.unwrap().to_geo().to_gdal().unwrap();
            inter += g.intersection(&red_g).map_or(0.0, |i| i.area());
            union = Some(match union {
                Some(u) => u.union(&g).unwrap(),
                None => g,
            });
        }
        let want = if v.line == "urban_development_boundary" {
            red_g.difference(union.as_ref().unwrap()).map_or(0.0, |d| d.area())
        } else {
            inter
        };
        assert_eq!(v.hit, Some(want >= 0.01), "{}: {want} m² by GEOS", v.line);
        assert!(
            (v.areas.plane_m2 - want).abs() < 0.01,
            "{}: {} vs GEOS {want}",
            v.line,
            v.areas.plane_m2
        );
        eprintln!("{}: {:?} ({:.2} m²)", v.line, v.hit, v.areas.plane_m2);
    }
}

/// 坐落单位: rows split by class and place, each (class, place) as GEOS sums it; the places of a
/// class add up to the class. The demo's land use has no 坐落单位 field, so its OSM `name`
/// stands in for one (every parcel with a name is "located" in it).
#[test]
fn rows_split_by_place_where_the_layer_has_one() {
    let ws = Workspace::open_catalog(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json"),
        None,
        RepairMode::Repair,
    )
    .unwrap();
    let to_lonlat = Transformer::new(&ws.crs, &Crs::from_epsg(4490).unwrap()).unwrap();
    let lu = ws.layer("landuse").unwrap();
    let (class_f, place_f) = (lu.layer.field_index("kind").unwrap(), lu.layer.field_index("name").unwrap());
    let red = Geometry::Polygon(parcel(357_700.0, 3_457_900.0, 500.0, 11));
    let with_place = [OverlapLayer {
        id: "landuse",
        title: "用地现状",
        layer: &lu.layer,
        index: &lu.index,
        class_fields: vec![class_f],
        place_field: Some(place_f),
    }];
    let without = [OverlapLayer {
        id: "landuse",
        title: "用地现状",
        layer: &lu.layer,
        index: &lu.index,
        class_fields: vec![class_f],
        place_field: None,
    }];
    let o = overlap(&red, &with_place, &to_lonlat, 0.01).unwrap();
    let plain = overlap(&red, &without, &to_lonlat, 0.01).unwrap();
    let red_g = red.to_gdal().unwrap();
    let mut want: BTreeMap<(String, String), (usize, f64)> = BTreeMap::new();
    for (row, g) in lu.layer.geometries.iter().enumerate() {
        let Some(g) = g else { continue };
        let i = g.to_geo().to_gdal().unwrap().intersection(&red_g).map_or(0.0, |i| i.area());
        if i >= 0.01 {
            let key = (
                lu.layer.feature(row).value(class_f).to_string(),
                lu.layer.feature(row).value(place_f).to_string(),
            );
            let e = want.entry(key).or_default();
            e.0 += 1;
            e.1 += i;
        }
    }
    let rows = &o.layers[0].rows;
    assert!(
        rows.iter().filter(|r| r.place.as_deref().is_some_and(|p| !p.is_empty())).count() >= 2,
        "named parcels under the red line: {rows:?}"
    );
    assert_eq!(rows.len(), want.len(), "{rows:?} vs GEOS {want:?}");
    for r in rows {
        let (n, a) = want[&(r.class.clone(), r.place.clone().unwrap_or_default())];
        assert_eq!(r.parcels, n, "{} · {:?}", r.class, r.place);
        assert!(
            (r.areas.plane_m2 - a).abs() < 0.01,
            "{} · {:?}: {} vs GEOS {a}",
            r.class,
            r.place,
            r.areas.plane_m2
        );
    }
    // Per class, the places add up to the class without places.
    for c in &plain.layers[0].rows {
        let sum: f64 = rows.iter().filter(|r| r.class == c.class).map(|r| r.areas.plane_m2).sum();
        assert!((sum - c.areas.plane_m2).abs() < 0.01, "{}: {sum} vs {}", c.class, c.areas.plane_m2);
    }
    assert!((o.layers[0].total.areas.plane_m2 - plain.layers[0].total.areas.plane_m2).abs() < 1e-6);
}
