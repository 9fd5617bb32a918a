//! A cut (剖切) over a building layer big enough to be cut into level-of-detail tiles.

use geo::{Geometry, LineString, Polygon};
use jingwei_layers::workspace::Clip;
use jingwei_layers::{Crs, FieldKind, Layer, RepairMode, Value, Workspace};
use jingwei_scene::lod::TILED_FROM;
use jingwei_scene::scene::build_scene;

/// `n` squares of 10–25 m in rows 40 m apart (Gauss-Krüger metres), heights 10–60 m.
fn city(n: usize, crs: Crs) -> Layer {
    let side = (n as f64).sqrt().ceil() as usize;
    let rows = (0..n)
        .map(|i| {
            let (x, y) = (500_000.0 + (i % side) as f64 * 40.0, 3_400_000.0 + (i / side) as f64 * 40.0);
            let s = 10.0 + (i % 7) as f64 * 2.5;
            let ring = LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)]);
            let height = Value::Real(10.0 + (i % 11) as f64 * 5.0);
            (Some(Geometry::Polygon(Polygon::new(ring, vec![]))), vec![height])
        })
        .collect();
    Layer::from_rows("buildings", "mem".into(), "test", Some(crs), &[("height", FieldKind::Real)], rows)
}

/// The layer is drawn untiled, in full detail (no stand-ins, no distance ranges), cut at the
/// height, every building kept below it.
#[test]
fn a_cut_draws_a_big_layer_untiled_and_cut() {
    let n = TILED_FROM + 500;
    let mut ws = Workspace::new(Crs::from_epsg(4547).unwrap()).unwrap();
    let layer = city(n, ws.crs.clone());
    ws.add_layer(layer, RepairMode::Keep).unwrap();
    ws.origin_xy = [503_000.0, 3_403_000.0];
    let uncut = build_scene(&ws);
    assert!(!uncut.stand_ins.is_empty() && uncut.meshes.iter().any(|m| m.range.is_some()));
    ws.clip = Clip {
        top_m: Some(20.0),
        ..Clip::default()
    };
    let cut = build_scene(&ws);
    assert!(cut.stand_ins.is_empty());
    assert!(cut.meshes.iter().all(|m| m.range.is_none()));
    let drawn = cut
        .meshes
        .iter()
        .flat_map(|m| m.mesh.indices.iter().map(|&i| m.mesh.positions[i as usize][1]));
    let top = drawn.fold(f32::MIN, f32::max);
    assert!((top - 20.0).abs() < 1e-3, "drawn up to {top} m");
    // Every building still stands (all are at least 10 m tall), each cut at 20 m.
    let mut rows: Vec<u32> = cut.meshes.iter().flat_map(|m| m.mesh.triangle_rows.iter().copied()).collect();
    rows.sort_unstable();
    rows.dedup();
    assert_eq!(rows.len(), n);
}
