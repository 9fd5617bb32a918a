//! Picking a building that a cut (剖切) closed with a cap: the ray stops on the cap, as drawn.

use geo::{Geometry, LineString, Polygon};
use jingwei_layers::workspace::Clip;
use jingwei_layers::{Crs, FieldKind, Layer, SpatialIndex, Value};
use jingwei_scene::extrude::HeightRule;
use jingwei_scene::pick::pick_prism;
use jingwei_scene::view::View;

/// One 40 m square tower, 100 m tall, about the origin (Gauss-Krüger metres).
fn tower() -> Layer {
    let (x, y) = (500_000.0, 3_400_000.0);
    let ring = LineString::from(vec![
        (x - 20.0, y - 20.0),
        (x + 20.0, y - 20.0),
        (x + 20.0, y + 20.0),
        (x - 20.0, y + 20.0),
        (x - 20.0, y - 20.0),
    ]);
    let rows = vec![(Some(Geometry::Polygon(Polygon::new(ring, vec![]))), vec![Value::Real(100.0)])];
    Layer::from_rows(
        "buildings",
        "mem".into(),
        "test",
        Some(Crs::from_epsg(4547).unwrap()),
        &[("height", FieldKind::Real)],
        rows,
    )
}

#[test]
fn a_ray_stops_on_the_cap_a_cut_closes_a_building_with() {
    let layer = tower();
    let index = SpatialIndex::build(&layer.geometries);
    let rule = HeightRule::for_layer(&layer);
    let origin = [500_000.0, 3_400_000.0];
    // Looking steeply down at the middle of the tower's roof.
    let view = View {
        target: [0.0, 100.0, 0.0],
        distance_m: 300.0,
        pitch_deg: 80.0,
        yaw_deg: 60.0,
        fov_deg: 40.0,
    };
    let pick = |clip: &Clip| pick_prism(&layer, &index, &rule, origin, &view, 160.0, 120.0, 320, 240, None, clip).expect("the tower");
    // Uncut, the roof at 100 m.
    let roof = pick(&Clip::default());
    assert!((roof.point[2] - 100.0).abs() < 1e-6, "{roof:?}");
    // Cut at 40 m: the ray stops on the cap at 40 m, not on the inside of the far wall.
    let cap = pick(&Clip {
        top_m: Some(40.0),
        ..Clip::default()
    });
    assert_eq!(cap.point[2], 40.0, "{cap:?}");
    assert!(
        (cap.point[0] - 500_000.0).abs() < 20.0 && (cap.point[1] - 3_400_000.0).abs() < 20.0,
        "{cap:?}"
    );
    // A section 5 m beside the centre that cuts away the side the camera is on: the ray passes
    // the roof (cut away) and stops on the section's cap, on its plane, below the roof.
    let camera_east = view.pose().translation.x > 0.0;
    let (x, line) = if camera_east {
        (499_995.0, [[499_995.0, 3_300_000.0], [499_995.0, 3_500_000.0]])
    } else {
        (500_005.0, [[500_005.0, 3_500_000.0], [500_005.0, 3_300_000.0]])
    };
    let hit = pick(&Clip {
        section: Some(line),
        ..Clip::default()
    });
    assert!((hit.point[0] - x).abs() < 1e-6, "{hit:?}");
    assert!(hit.point[2] > 0.0 && hit.point[2] < 100.0, "{hit:?}");
}
