//! 用地平衡表 and 多期对比 on two epochs of a land-use layer classed by the 2023 用地用海分类
//! (generated here: a 1.2 km square cut into 100 m parcels for the status quo, into 150 m
//! parcels turned by 7° for the plan): totals equal the polygons', shares add up to 100.00 %,
//! the matrix's rows and columns equal each epoch's class totals, every cell equals GEOS's.

use std::collections::BTreeMap;

use gdal::vector::ToGdal;
use geo::{Area, BooleanOps, Coord, Geometry, LineString, MultiPolygon, Polygon, Rotate};
use jingwei_analysis::balance::{Epoch, balance, class_areas, first_level, transitions};
use jingwei_layers::{Column, FieldDef, FieldKind, Layer, SpatialIndex, Value};

const CODES: [&str; 8] = ["0101", "0103", "0301", "0701", "0702", "0901", "1207", "1401"];

fn square(x: f64, y: f64, s: f64) -> Polygon {
    Polygon::new(
        LineString(vec![
            Coord { x, y },
            Coord { x: x + s, y },
            Coord { x: x + s, y: y + s },
            Coord { x, y: y + s },
            Coord { x, y },
        ]),
        Vec::new(),
    )
}

/// A partition of the 1.2 km square at (400 000, 3 450 000): cells of `cell` m, the grid
/// turned by `turn` degrees and clipped to the square; each cell a class.
fn epoch(cell: f64, turn: f64, seed: usize) -> Layer {
    let (x0, y0, side) = (400_000.0, 3_450_000.0, 1200.0);
    let site = MultiPolygon(vec![square(x0, y0, side)]);
    let centre = geo::Point::new(x0 + side / 2.0, y0 + side / 2.0);
    let n = (side * 1.5 / cell).ceil() as i64;
    let mut geoms = Vec::new();
    let mut codes = Column::for_kind(FieldKind::Text, 0);
    for i in -n / 3..n {
        for j in -n / 3..n {
            let c = square(x0 + i as f64 * cell, y0 + j as f64 * cell, cell).rotate_around_point(turn, centre);
            let piece = site.intersection(&MultiPolygon(vec![c]));
            if piece.unsigned_area() < 1.0 {
                continue;
            }
            let k = (i * 7 + j * 3 + seed as i64).rem_euclid(CODES.len() as i64) as usize;
            codes.push(Value::Text(CODES[k].into()));
            geoms.push(Some(Geometry::MultiPolygon(piece)));
        }
    }
    Layer {
        name: format!("epoch{seed}"),
        source_path: Default::default(),
        driver: "Memory".into(),
        geometry_type: "Multi Polygon".into(),
        crs: None,
        fields: vec![FieldDef {
            name: "YDYHFLDM".into(),
            alias: String::new(),
            kind: FieldKind::Text,
        }],
        columns: vec![codes],
        fids: (1..=geoms.len() as i64).collect(),
        geometries: geoms.into(),
        encoding: None,
        issues: Vec::new(),
    }
}

#[test]
fn balance_of_status_and_plan() {
    let (a, b) = (epoch(100.0, 0.0, 0), epoch(150.0, 7.0, 3));
    let sa = class_areas(&a, 0, None);
    let sb = class_areas(&b, 0, None);
    let t = balance(&sa, Some(&sb));
    let polygons = |l: &Layer| l.geometries.iter().flatten().map(|g| g.to_geo().unsigned_area()).sum::<f64>() / 1e4;
    assert!(
        (t.status_total_ha - polygons(&a)).abs() < 1e-4,
        "{} vs {}",
        t.status_total_ha,
        polygons(&a)
    );
    assert!((t.plan_total_ha.unwrap() - polygons(&b)).abs() < 1e-4);
    assert!((t.status_total_ha - 144.0).abs() < 1e-4, "the square is 144 公顷");
    let firsts: Vec<_> = t.rows.iter().filter(|r| r.level == 1).collect();
    assert_eq!(
        firsts.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
        ["01", "03", "07", "09", "12", "14"]
    );
    assert_eq!(firsts[0].name, "耕地");
    let share_sum: f64 = firsts.iter().map(|r| r.status_share).sum();
    let plan_sum: f64 = firsts.iter().map(|r| r.plan_share.unwrap()).sum();
    assert!(
        (share_sum - 100.0).abs() < 1e-9 && (plan_sum - 100.0).abs() < 1e-9,
        "{share_sum} {plan_sum}"
    );
    // Each subtotal is the sum of its classes; the change is plan − status.
    for f in &firsts {
        let kids: f64 = t
            .rows
            .iter()
            .filter(|r| r.level == 2 && first_level(&r.code) == Some(f.code.as_str()))
            .map(|r| r.status_ha)
            .sum();
        assert!((kids - f.status_ha).abs() < 1e-9, "{}", f.code);
        assert!((f.change_ha.unwrap() - (f.plan_ha.unwrap() - f.status_ha)).abs() < 1e-9);
    }
}

#[test]
fn the_change_matrix_matches_both_epochs_and_geos() {
    let (a, b) = (epoch(100.0, 0.0, 0), epoch(150.0, 7.0, 3));
    let (ia, ib) = (SpatialIndex::build(&a.geometries), SpatialIndex::build(&b.geometries));
    let (m, pieces) = transitions(
        &Epoch {
            layer: &a,
            index: &ia,
            class_field: 0,
        },
        &Epoch {
            layer: &b,
            index: &ib,
            class_field: 0,
        },
        0.0,
    );
    assert!(
        !m.to.iter().any(|c| c.starts_with('(')),
        "the plan covers the whole square: {:?}",
        m.to
    );
    let totals = |l: &Layer| -> BTreeMap<String, f64> { class_areas(l, 0, None).into_iter().map(|(k, v)| (k, v.1 / 1e4)).collect() };
    let (ta, tb) = (totals(&a), totals(&b));
    for (i, f) in m.from.iter().enumerate() {
        let row: f64 = m.ha[i].iter().sum();
        assert!((row - ta[f]).abs() < 1e-6, "row {f}: {row} vs {}", ta[f]);
    }
    for (j, c) in m.to.iter().enumerate() {
        let col: f64 = m.ha.iter().map(|r| r[j]).sum();
        assert!((col - tb[c]).abs() < 1e-6, "column {c}: {col} vs {}", tb[c]);
    }
    // Every cell against GEOS's intersections.
    let mut geos: BTreeMap<(String, String), f64> = BTreeMap::new();
    let gb: Vec<_> = b.geometries.iter().map(|g| g.unwrap().to_geo().to_gdal().unwrap()).collect();
    for (ra, g) in a.geometries.iter().enumerate() {
        let g = g.unwrap().to_geo().to_gdal().unwrap();
        for (rb, h) in gb.iter().enumerate() {
            // (Neighbours touch along a line: no area, and GDAL would warn.)
            let area = g
                .intersection(h)
                .filter(|i| i.geometry_name().contains("POLYGON"))
                .map_or(0.0, |i| i.area());
            if area > 0.0 {
                let k = (a.feature(ra).value(0).to_string(), b.feature(rb).value(0).to_string());
                *geos.entry(k).or_default() += area / 1e4;
            }
        }
    }
    for (i, f) in m.from.iter().enumerate() {
        for (j, t) in m.to.iter().enumerate() {
            let want = geos.get(&(f.clone(), t.clone())).copied().unwrap_or(0.0);
            assert!((m.ha[i][j] - want).abs() < 1e-8, "{f}→{t}: {} vs GEOS {want}", m.ha[i][j]);
        }
    }
    // The changed pieces hold exactly the off-diagonal area.
    let off: f64 = m
        .from
        .iter()
        .enumerate()
        .flat_map(|(i, f)| m.to.iter().enumerate().filter(move |(_, t)| *t != f).map(move |(j, _)| (i, j)))
        .map(|(i, j)| m.ha[i][j])
        .sum();
    let held: f64 = pieces.iter().map(|p| p.area_m2).sum::<f64>() / 1e4;
    assert!((off - held).abs() < 1e-8 && off > 10.0, "{off} vs {held}");
    assert!(pieces.iter().all(|p| p.from != p.to));
}
