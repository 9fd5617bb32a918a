//! Cutting meshes away (剖切): above a height and behind a vertical section, triangles are cut
//! exactly along the plane (new vertices where an edge crosses it); inside or outside an area,
//! a triangle goes by where its centroid lies (an area's edge is as fine as the mesh).
//!
//! Meshes are in the local frame (x east, y up, z south, metres) about `base`, itself local.

use crate::extrude::MeshData;
use crate::local::LocalFrame;
use jingwei_layers::workspace::Clip;

/// A plane in local coordinates: kept where `n · p + d ≥ 0`.
#[derive(Clone, Copy)]
struct Plane {
    n: [f64; 3],
    d: f64,
}

/// The planes a clip cuts by, in the local frame of a workspace whose origin is `origin_xy`.
fn planes(clip: &Clip, origin_xy: [f64; 2]) -> Vec<Plane> {
    let frame = LocalFrame::new(origin_xy);
    let mut out = Vec::new();
    if let Some(top) = clip.top_m {
        // Keep y ≤ top.
        out.push(Plane {
            n: [0.0, -1.0, 0.0],
            d: top,
        });
    }
    if let Some([a, b]) = clip.section {
        let [ax, az] = frame.to_local(a[0], a[1]);
        let [bx, bz] = frame.to_local(b[0], b[1]);
        // In the world (east, north), the left of a→b is where (b − a) × (p − a) > 0. Local z
        // is south (north = −z): left means (bx−ax)(−(pz−az)) − (−(bz−az))(px−ax) > 0.
        let (dx, dz) = (bx - ax, bz - az);
        let n = [dz, 0.0, -dx];
        let l = (n[0] * n[0] + n[2] * n[2]).sqrt();
        if l > 0.0 {
            let n = [n[0] / l, 0.0, n[2] / l];
            out.push(Plane {
                n,
                d: -(n[0] * ax + n[2] * az),
            });
        }
    }
    out
}

/// Whether `clip` keeps a point given in the workspace (x east, y north, height): what picking
/// asks, so that what is cut away is not hit.
pub fn keeps(clip: &Clip, origin_xy: [f64; 2], p: [f64; 3]) -> bool {
    if !clip.is_active() {
        return true;
    }
    let [lx, lz] = LocalFrame::new(origin_xy).to_local(p[0], p[1]);
    let local = [lx, p[2], lz];
    if planes(clip, origin_xy)
        .iter()
        .any(|pl| pl.n[0] * local[0] + pl.n[1] * local[1] + pl.n[2] * local[2] + pl.d < 0.0)
    {
        return false;
    }
    match &clip.area {
        Some((area, keep_inside)) => geo::Contains::contains(area, &geo::Point::new(p[0], p[1])) == *keep_inside,
        None => true,
    }
}

/// Cut `mesh` (about `base` in the local frame) by `clip`. Meshes with per-vertex extra data
/// (screen-space lines) lose whole triangles only.
pub fn clip_mesh(mesh: &mut MeshData, base: [f64; 3], origin_xy: [f64; 2], clip: &Clip) {
    if !clip.is_active() || mesh.indices.is_empty() {
        return;
    }
    let planes = planes(clip, origin_xy);
    let frame = LocalFrame::new(origin_xy);
    let world = |p: [f64; 3]| frame.to_world(p[0], p[2]);
    let at = |p: &[f32; 3]| [f64::from(p[0]) + base[0], f64::from(p[1]) + base[1], f64::from(p[2]) + base[2]];
    let exact = mesh.extra.is_empty();
    let mut indices = Vec::with_capacity(mesh.indices.len());
    let mut rows = Vec::with_capacity(mesh.triangle_rows.len());
    for (t, tri) in mesh.indices.chunks_exact(3).enumerate() {
        let row = mesh.triangle_rows.get(t).copied();
        // Polygon (vertex indices) cut by each plane in turn.
        let mut poly: Vec<u32> = tri.to_vec();
        for pl in &planes {
            if poly.is_empty() {
                break;
            }
            let dist = |i: u32| {
                let p = at(&mesh.positions[i as usize]);
                pl.n[0] * p[0] + pl.n[1] * p[1] + pl.n[2] * p[2] + pl.d
            };
            let ds: Vec<f64> = poly.iter().map(|i| dist(*i)).collect();
            if ds.iter().all(|d| *d >= 0.0) {
                continue;
            }
            if ds.iter().all(|d| *d < 0.0) || !exact {
                poly.clear();
                break;
            }
            let mut next = Vec::with_capacity(poly.len() + 1);
            for k in 0..poly.len() {
                let j = (k + 1) % poly.len();
                if ds[k] >= 0.0 {
                    next.push(poly[k]);
                }
                if (ds[k] >= 0.0) != (ds[j] >= 0.0) {
                    let f = (ds[k] / (ds[k] - ds[j])) as f32;
                    let (a, b) = (mesh.positions[poly[k] as usize], mesh.positions[poly[j] as usize]);
                    mesh.positions
                        .push([a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f]);
                    if !mesh.uvs.is_empty() {
                        let (a, b) = (mesh.uvs[poly[k] as usize], mesh.uvs[poly[j] as usize]);
                        mesh.uvs.push([a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f]);
                    }
                    next.push(mesh.positions.len() as u32 - 1);
                }
            }
            poly = next;
        }
        if poly.len() < 3 {
            continue;
        }
        if let Some((area, keep_inside)) = &clip.area {
            let c = poly.iter().fold([0.0; 3], |s, i| {
                let p = at(&mesh.positions[*i as usize]);
                [s[0] + p[0], s[1] + p[1], s[2] + p[2]]
            });
            let n = poly.len() as f64;
            let (x, y) = world([c[0] / n, c[1] / n, c[2] / n]);
            let inside = geo::Contains::contains(area, &geo::Point::new(x, y));
            if inside != *keep_inside {
                continue;
            }
        }
        for k in 1..poly.len() - 1 {
            indices.extend([poly[0], poly[k], poly[k + 1]]);
            if let Some(r) = row {
                rows.push(r);
            }
        }
    }
    mesh.indices = indices;
    if !mesh.triangle_rows.is_empty() {
        mesh.triangle_rows = rows;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 10 m cube standing on the origin, as a mesh.
    fn cube() -> MeshData {
        let p = |x: f32, y: f32, z: f32| [x, y, z];
        let positions = vec![
            p(0., 0., 0.),
            p(10., 0., 0.),
            p(10., 0., 10.),
            p(0., 0., 10.),
            p(0., 10., 0.),
            p(10., 10., 0.),
            p(10., 10., 10.),
            p(0., 10., 10.),
        ];
        let q = |a: u32, b: u32, c: u32, d: u32| [a, b, c, a, c, d];
        let indices = [
            q(0, 1, 2, 3),
            q(4, 7, 6, 5),
            q(0, 4, 5, 1),
            q(1, 5, 6, 2),
            q(2, 6, 7, 3),
            q(3, 7, 4, 0),
        ]
        .concat();
        MeshData {
            triangle_rows: vec![7; indices.len() / 3],
            positions,
            indices,
            extra: Vec::new(),
            uvs: Vec::new(),
        }
    }

    fn used(m: &MeshData) -> Vec<[f32; 3]> {
        m.indices.iter().map(|i| m.positions[*i as usize]).collect()
    }

    #[test]
    fn a_top_cut_leaves_nothing_above_and_keeps_the_walls_below() {
        let mut m = cube();
        clip_mesh(
            &mut m,
            [0.0; 3],
            [0.0, 0.0],
            &Clip {
                top_m: Some(4.0),
                ..Default::default()
            },
        );
        let pts = used(&m);
        assert!(pts.iter().all(|p| p[1] <= 4.0 + 1e-5));
        assert!(pts.iter().any(|p| (p[1] - 4.0).abs() < 1e-5));
        // Floor (2) and four walls cut to two triangles' worth each (quads of 3–4 vertices).
        assert_eq!(m.triangle_rows.len(), m.indices.len() / 3);
        assert!(m.indices.len() / 3 >= 10, "{}", m.indices.len() / 3);
        // Above the cube: nothing; below the floor: all of it.
        let mut all = cube();
        clip_mesh(
            &mut all,
            [0.0, -20.0, 0.0],
            [0.0, 0.0],
            &Clip {
                top_m: Some(4.0),
                ..Default::default()
            },
        );
        assert_eq!(all.indices.len(), 36);
        let mut none = cube();
        clip_mesh(
            &mut none,
            [0.0, 20.0, 0.0],
            [0.0, 0.0],
            &Clip {
                top_m: Some(4.0),
                ..Default::default()
            },
        );
        assert!(none.indices.is_empty());
    }

    #[test]
    fn a_section_cuts_away_the_right_of_its_line_and_an_area_its_inside() {
        // The line runs north along x = 5 (world): east of it is cut away.
        let mut m = cube();
        let section = [[5.0, -100.0], [5.0, 100.0]];
        clip_mesh(
            &mut m,
            [0.0; 3],
            [0.0, 0.0],
            &Clip {
                section: Some(section),
                ..Default::default()
            },
        );
        assert!(used(&m).iter().all(|p| p[0] <= 5.0 + 1e-5));
        // A hole over the west half (world x < 5, any y): only triangles east of it stay.
        let west = geo::MultiPolygon(vec![geo::Polygon::new(
            geo::LineString::from(vec![(-1.0, -20.0), (5.0, -20.0), (5.0, 20.0), (-1.0, 20.0)]),
            vec![],
        )]);
        let mut m = cube();
        clip_mesh(
            &mut m,
            [0.0; 3],
            [0.0, 0.0],
            &Clip {
                area: Some((west, false)),
                ..Default::default()
            },
        );
        let kept = used(&m);
        assert!(!kept.is_empty() && kept.len() < 36);
        for t in kept.chunks(3) {
            let cx = (t[0][0] + t[1][0] + t[2][0]) / 3.0;
            assert!(cx >= 5.0, "{t:?}");
        }
    }

    #[test]
    fn picking_asks_the_same_clip_of_a_point() {
        let west = geo::MultiPolygon(vec![geo::Polygon::new(
            geo::LineString::from(vec![(-1.0, -20.0), (5.0, -20.0), (5.0, 20.0), (-1.0, 20.0)]),
            vec![],
        )]);
        let clip = Clip {
            top_m: Some(4.0),
            section: Some([[5.0, -100.0], [5.0, 100.0]]),
            area: Some((west, true)),
            area_layer: None,
        };
        // Below the top, west of the section, inside the area: kept; each cut alone: not.
        assert!(keeps(&clip, [0.0, 0.0], [2.0, 3.0, 1.0]));
        assert!(!keeps(&clip, [0.0, 0.0], [2.0, 3.0, 4.5]));
        assert!(!keeps(&clip, [0.0, 0.0], [-3.0, 30.0, 1.0]));
        let east_of_line = Clip {
            section: Some([[5.0, -100.0], [5.0, 100.0]]),
            ..Default::default()
        };
        assert!(!keeps(&east_of_line, [0.0, 0.0], [6.0, 3.0, 1.0]));
        assert!(keeps(&east_of_line, [0.0, 0.0], [4.0, 3.0, 1.0]));
        assert!(keeps(&Clip::default(), [0.0, 0.0], [1e6, 1e6, 1e6]));
    }
}
