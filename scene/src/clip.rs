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
/// (screen-space lines) lose whole triangles only. What a plane cuts open stays open: for
/// surfaces (the ground, fills, textured models); solids take [`clip_solid`].
pub fn clip_mesh(mesh: &mut MeshData, base: [f64; 3], origin_xy: [f64; 2], clip: &Clip) {
    clip_with(mesh, base, origin_xy, clip, false);
}

/// Cut a mesh of solids (buildings, city and BIM models) like [`clip_mesh`], and close each
/// solid where a plane cut it: its cut edges along the plane are chained into rings (an open
/// chain — a building without a floor, a part already cut away by the other plane — closed by
/// the straight line between its ends), rings inside rings taken as holes (a courtyard), and
/// the rings filled with a cap in the solid's own colour and row, facing the side cut away, then
/// cut by the other plane and the area like everything else.
pub fn clip_solid(mesh: &mut MeshData, base: [f64; 3], origin_xy: [f64; 2], clip: &Clip) {
    clip_with(mesh, base, origin_xy, clip, true);
}

/// A cut edge: where plane `plane` crossed a triangle of row `row`, from the point where its
/// boundary enters the kept side to where it leaves it (so that the edges of neighbouring
/// triangles follow on from each other).
struct CutEdge {
    plane: usize,
    row: Option<u32>,
    from: u32,
    to: u32,
}

fn clip_with(mesh: &mut MeshData, base: [f64; 3], origin_xy: [f64; 2], clip: &Clip, caps: bool) {
    if !clip.is_active() || mesh.indices.is_empty() {
        return;
    }
    let planes = planes(clip, origin_xy);
    let exact = mesh.extra.is_empty();
    let capping = caps && exact && mesh.uvs.is_empty() && !planes.is_empty();
    let mut indices = Vec::with_capacity(mesh.indices.len());
    let mut rows = Vec::with_capacity(mesh.triangle_rows.len());
    let mut edges: Vec<CutEdge> = Vec::new();
    let old = std::mem::take(&mut mesh.indices);
    for (t, tri) in old.chunks_exact(3).enumerate() {
        let row = mesh.triangle_rows.get(t).copied();
        let record = if capping { Some((&mut edges, row)) } else { None };
        let poly = cut(mesh, tri.to_vec(), &planes, base, exact, None, record);
        emit(mesh, &poly, row, base, origin_xy, clip, &mut indices, &mut rows);
    }
    if capping {
        for (plane, row, tri) in caps_of(mesh, &edges, &planes, base) {
            let poly = cut(mesh, tri.to_vec(), &planes, base, exact, Some(plane), None);
            emit(mesh, &poly, row, base, origin_xy, clip, &mut indices, &mut rows);
        }
    }
    mesh.indices = indices;
    if !mesh.triangle_rows.is_empty() {
        mesh.triangle_rows = rows;
    }
}

/// A polygon (vertex indices) cut by each plane in turn but `skip`; new vertices are pushed
/// onto the mesh. With `record`, each plane's cut edge goes there, with the row.
fn cut(
    mesh: &mut MeshData,
    mut poly: Vec<u32>,
    planes: &[Plane],
    base: [f64; 3],
    exact: bool,
    skip: Option<usize>,
    mut record: Option<(&mut Vec<CutEdge>, Option<u32>)>,
) -> Vec<u32> {
    let at = |p: &[f32; 3]| [f64::from(p[0]) + base[0], f64::from(p[1]) + base[1], f64::from(p[2]) + base[2]];
    for (pi, pl) in planes.iter().enumerate() {
        if poly.is_empty() {
            break;
        }
        if skip == Some(pi) {
            continue;
        }
        let dist = |p: &[f32; 3]| {
            let p = at(p);
            pl.n[0] * p[0] + pl.n[1] * p[1] + pl.n[2] * p[2] + pl.d
        };
        let ds: Vec<f64> = poly.iter().map(|i| dist(&mesh.positions[*i as usize])).collect();
        if ds.iter().all(|d| *d >= 0.0) {
            continue;
        }
        if ds.iter().all(|d| *d < 0.0) || !exact {
            poly.clear();
            break;
        }
        let mut next = Vec::with_capacity(poly.len() + 1);
        let (mut enters, mut leaves) = (None, None);
        for k in 0..poly.len() {
            let j = (k + 1) % poly.len();
            if ds[k] >= 0.0 {
                next.push(poly[k]);
            }
            if (ds[k] >= 0.0) != (ds[j] >= 0.0) {
                // The crossing from the edge's ends in one order (by position), so that the
                // triangle on the other side of the edge makes the very same point.
                let (mut p, mut q) = (poly[k], poly[j]);
                let (mut dp, mut dq) = (ds[k], ds[j]);
                if mesh.positions[q as usize].map(f32::to_bits) < mesh.positions[p as usize].map(f32::to_bits) {
                    (p, q, dp, dq) = (q, p, dq, dp);
                }
                let f = (dp / (dp - dq)) as f32;
                let (a, b) = (mesh.positions[p as usize], mesh.positions[q as usize]);
                mesh.positions
                    .push([a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f]);
                if !mesh.uvs.is_empty() {
                    let (a, b) = (mesh.uvs[p as usize], mesh.uvs[q as usize]);
                    mesh.uvs.push([a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f]);
                }
                let v = mesh.positions.len() as u32 - 1;
                next.push(v);
                if ds[k] >= 0.0 {
                    leaves = Some(v);
                } else {
                    enters = Some(v);
                }
            }
        }
        if let (Some((edges, row)), Some(from), Some(to)) = (record.as_mut(), enters, leaves)
            && mesh.positions[from as usize] != mesh.positions[to as usize]
        {
            edges.push(CutEdge {
                plane: pi,
                row: *row,
                from,
                to,
            });
        }
        poly = next;
    }
    poly
}

/// Keep a cut polygon where the clip's area says so, as a fan of triangles.
#[allow(clippy::too_many_arguments)]
fn emit(
    mesh: &MeshData,
    poly: &[u32],
    row: Option<u32>,
    base: [f64; 3],
    origin_xy: [f64; 2],
    clip: &Clip,
    indices: &mut Vec<u32>,
    rows: &mut Vec<u32>,
) {
    if poly.len() < 3 {
        return;
    }
    if let Some((area, keep_inside)) = &clip.area {
        let c = poly.iter().fold([0.0; 3], |s, i| {
            let p = mesh.positions[*i as usize];
            [s[0] + f64::from(p[0]), s[1] + f64::from(p[1]), s[2] + f64::from(p[2])]
        });
        let n = poly.len() as f64;
        let (x, y) = LocalFrame::new(origin_xy).to_world(c[0] / n + base[0], c[2] / n + base[2]);
        let inside = geo::Contains::contains(area, &geo::Point::new(x, y));
        if inside != *keep_inside {
            return;
        }
    }
    for k in 1..poly.len() - 1 {
        indices.extend([poly[0], poly[k], poly[k + 1]]);
        if let Some(r) = row {
            rows.push(r);
        }
    }
}

/// The caps of the cut edges: for each plane and row, the edges chained into rings, filled.
/// Their vertices are pushed onto the mesh; each triangle comes with its plane and row.
fn caps_of(mesh: &mut MeshData, edges: &[CutEdge], planes: &[Plane], base: [f64; 3]) -> Vec<(usize, Option<u32>, [u32; 3])> {
    use std::collections::HashMap;
    let key = |v: u32, m: &MeshData| m.positions[v as usize].map(f32::to_bits);
    let mut groups: HashMap<(usize, Option<u32>), Vec<usize>> = HashMap::new();
    for (i, e) in edges.iter().enumerate() {
        groups.entry((e.plane, e.row)).or_default().push(i);
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_unstable_by_key(|g| g.0);
    let mut out = Vec::new();
    for ((plane, row), members) in groups {
        // Chains: from each edge to the one that starts where it ends.
        let mut starting: HashMap<[u32; 3], Vec<usize>> = HashMap::new();
        let mut ending: std::collections::HashSet<[u32; 3]> = Default::default();
        for &i in &members {
            starting.entry(key(edges[i].from, mesh)).or_default().push(i);
            ending.insert(key(edges[i].to, mesh));
        }
        let mut used: std::collections::HashSet<usize> = Default::default();
        let mut rings: Vec<Vec<[f32; 3]>> = Vec::new();
        // Open chains first (from an edge nothing leads to), then the closed ones.
        let heads: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| !ending.contains(&key(edges[i].from, mesh)))
            .chain(members.iter().copied())
            .collect();
        for h in heads {
            if used.contains(&h) {
                continue;
            }
            let mut ring = vec![mesh.positions[edges[h].from as usize]];
            let mut at = h;
            loop {
                used.insert(at);
                let end = key(edges[at].to, mesh);
                ring.push(mesh.positions[edges[at].to as usize]);
                match starting.get(&end).and_then(|c| c.iter().copied().find(|i| !used.contains(i))) {
                    Some(n) => at = n,
                    None => break,
                }
            }
            // A closed ring ends where it began; an open one is closed by its chord.
            if ring.len() > 1 && ring.first() == ring.last() {
                ring.pop();
            }
            if ring.len() >= 3 {
                rings.push(ring);
            }
        }
        for tri in fill(&rings, planes[plane], base) {
            let start = mesh.positions.len() as u32;
            mesh.positions.extend(tri);
            out.push((plane, row, [start, start + 1, start + 2]));
        }
    }
    out
}

/// Fill rings lying in `plane` (positions about `base`): rings inside an odd number of others
/// are holes of the smallest ring around them. Triangles face away from the kept side.
fn fill(rings: &[Vec<[f32; 3]>], plane: Plane, base: [f64; 3]) -> Vec<[[f32; 3]; 3]> {
    let n = plane.n;
    // A basis of the plane: u, v with u × v = n.
    let a = if n[1].abs() < 0.9 { [0.0, 1.0, 0.0] } else { [1.0, 0.0, 0.0] };
    let dot = |p: [f64; 3], q: [f64; 3]| p[0] * q[0] + p[1] * q[1] + p[2] * q[2];
    let cross = |p: [f64; 3], q: [f64; 3]| [p[1] * q[2] - p[2] * q[1], p[2] * q[0] - p[0] * q[2], p[0] * q[1] - p[1] * q[0]];
    let an = dot(a, n);
    let u = [a[0] - an * n[0], a[1] - an * n[1], a[2] - an * n[2]];
    let ul = dot(u, u).sqrt();
    let u = [u[0] / ul, u[1] / ul, u[2] / ul];
    let v = cross(n, u);
    let flat: Vec<geo::LineString> = rings
        .iter()
        .map(|r| {
            r.iter()
                .map(|p| {
                    // In the planes' frame (`base` added), as `back` takes them.
                    let p = [0, 1, 2].map(|k| f64::from(p[k]) + base[k]);
                    geo::coord! { x: dot(p, u), y: dot(p, v) }
                })
                .collect::<Vec<_>>()
                .into()
        })
        .collect();
    let area = |l: &geo::LineString| geo::Area::unsigned_area(&geo::Polygon::new(l.clone(), vec![]));
    let inside = |l: &geo::LineString, of: &geo::LineString| {
        geo::Contains::contains(&geo::Polygon::new(of.clone(), vec![]), &geo::Point::from(l.0[0]))
    };
    let depth: Vec<usize> = (0..flat.len())
        .map(|i| (0..flat.len()).filter(|&j| j != i && inside(&flat[i], &flat[j])).count())
        .collect();
    let mut polygons: Vec<(geo::LineString, Vec<geo::LineString>)> = Vec::new();
    let mut outer_of = vec![None; flat.len()];
    for i in (0..flat.len()).filter(|&i| depth[i].is_multiple_of(2)) {
        outer_of[i] = Some(polygons.len());
        polygons.push((flat[i].clone(), Vec::new()));
    }
    for i in (0..flat.len()).filter(|&i| !depth[i].is_multiple_of(2)) {
        let around = (0..flat.len())
            .filter(|&j| depth[j].is_multiple_of(2) && inside(&flat[i], &flat[j]))
            .min_by(|&x, &y| area(&flat[x]).total_cmp(&area(&flat[y])));
        if let Some(o) = around.and_then(|o| outer_of[o]) {
            polygons[o].1.push(flat[i].clone());
        }
    }
    // The plane's points: x u + y v − d n, about `base`.
    let back = |c: [f64; 2]| -> [f32; 3] { [0, 1, 2].map(|k| (c[0] * u[k] + c[1] * v[k] - plane.d * n[k] - base[k]) as f32) };
    let mut out = Vec::new();
    for (exterior, holes) in polygons {
        let tris = geo::TriangulateEarcut::earcut_triangles_raw(&geo::Polygon::new(exterior, holes));
        for t in tris.triangle_indices.chunks_exact(3) {
            let [p, q, r] = [t[0], t[1], t[2]].map(|i| {
                let c = &tris.vertices[i];
                [c[0], c[1]]
            });
            // Facing −n (towards the side cut away): (q − p) × (r − p) in (u, v) is +n when
            // counter-clockwise.
            let ccw = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]) > 0.0;
            out.push(if ccw {
                [back(p), back(r), back(q)]
            } else {
                [back(p), back(q), back(r)]
            });
        }
    }
    out
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

    /// Area and normal of each triangle (f64).
    fn triangles(m: &MeshData) -> Vec<([[f64; 3]; 3], f64, [f64; 3])> {
        m.indices
            .chunks_exact(3)
            .map(|t| {
                let p = [0, 1, 2].map(|k| m.positions[t[k] as usize].map(f64::from));
                let (a, b) = ([0, 1, 2].map(|k| p[1][k] - p[0][k]), [0, 1, 2].map(|k| p[2][k] - p[0][k]));
                let n = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
                let l = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
                (p, l / 2.0, n.map(|c| c / l.max(1e-30)))
            })
            .collect()
    }

    /// The triangles lying in a plane: all corners with coordinate `axis` at `at`.
    fn in_plane(m: &MeshData, axis: usize, at: f64) -> Vec<([[f64; 3]; 3], f64, [f64; 3])> {
        triangles(m)
            .into_iter()
            .filter(|(p, _, _)| p.iter().all(|q| (q[axis] - at).abs() < 1e-4))
            .collect()
    }

    /// A building of 30 × 30 m with a 10 × 10 m courtyard, 30 m tall, no floor (as extruded).
    fn courtyard() -> MeshData {
        let ring = |a: f64, b: f64| geo::LineString::from(vec![(a, a), (b, a), (b, b), (a, b), (a, a)]);
        let p = geo::Polygon::new(ring(0.0, 30.0), vec![ring(10.0, 20.0)]);
        let mut m = MeshData::default();
        crate::extrude::extrude_polygon(&p, 0.0, 30.0, [0.0, 0.0], 3, &mut m);
        m
    }

    #[test]
    fn a_solid_cut_at_a_height_gets_a_cap_facing_up_over_its_section() {
        let top = |h| Clip {
            top_m: Some(h),
            ..Default::default()
        };
        // A surface cut stays open; a solid is closed over its whole section, facing up.
        let mut open = cube();
        clip_mesh(&mut open, [0.0; 3], [0.0, 0.0], &top(4.0));
        assert!(in_plane(&open, 1, 4.0).is_empty());
        let mut m = cube();
        clip_solid(&mut m, [0.0; 3], [0.0, 0.0], &top(4.0));
        let cap = in_plane(&m, 1, 4.0);
        let area: f64 = cap.iter().map(|c| c.1).sum();
        assert!((area - 100.0).abs() < 1e-3, "{area}");
        assert!(cap.iter().all(|c| c.2[1] > 0.999), "a cap faces the side cut away");
        assert!(used(&m).iter().all(|p| p[1] <= 4.0 + 1e-5));
        assert_eq!(m.triangle_rows.len(), m.indices.len() / 3);
        assert!(m.triangle_rows.iter().all(|r| *r == 7));
        // A courtyard stays open: the cap is the ring between the two walls.
        let mut m = courtyard();
        clip_solid(&mut m, [0.0; 3], [0.0, 0.0], &top(12.0));
        let cap = in_plane(&m, 1, 12.0);
        let area: f64 = cap.iter().map(|c| c.1).sum();
        assert!((area - 800.0).abs() < 1e-2, "{area}");
        for (p, _, n) in &cap {
            assert!(n[1] > 0.999);
            let c = [0, 2].map(|k| (p[0][k] + p[1][k] + p[2][k]) / 3.0);
            assert!(
                !(c[0] > 10.0 && c[0] < 20.0 && -c[1] > 10.0 && -c[1] < 20.0),
                "a cap over the courtyard at {c:?}"
            );
        }
        // About another base: the same cap, on the cube (at 6 m about the base, 4 m as drawn).
        let mut m = cube();
        clip_solid(&mut m, [3.0, -2.0, 5.0], [0.0, 0.0], &top(4.0));
        let cap = in_plane(&m, 1, 6.0);
        let area: f64 = cap.iter().map(|c| c.1).sum();
        assert!((area - 100.0).abs() < 1e-3, "{area}");
        assert!(
            cap.iter()
                .flat_map(|c| c.0)
                .all(|p| (-1e-4..=10.0 + 1e-4).contains(&p[0]) && (-1e-4..=10.0 + 1e-4).contains(&p[2]))
        );
        // Seen from below its base, a solid is whole and gets no cap.
        let mut below = cube();
        clip_solid(&mut below, [0.0, -20.0, 0.0], [0.0, 0.0], &top(4.0));
        assert_eq!(below.indices.len(), 36);
    }

    #[test]
    fn a_section_closes_a_solid_without_a_floor_and_a_cap_is_cut_by_the_other_plane() {
        // North along x = 15 through the courtyard: the east half goes. The section meets the
        // building twice (south and north of the courtyard), each 10 m wide and 30 m tall; it has
        // no floor, so each piece of the cut is an open chain closed along the ground.
        let section = Clip {
            section: Some([[15.0, -100.0], [15.0, 100.0]]),
            ..Default::default()
        };
        let mut m = courtyard();
        clip_solid(&mut m, [0.0; 3], [0.0, 0.0], &section);
        let cap = in_plane(&m, 0, 15.0);
        let area: f64 = cap.iter().map(|c| c.1).sum();
        assert!((area - 600.0).abs() < 1e-2, "{area}");
        assert!(cap.iter().all(|c| c.2[0] > 0.999), "faces east, the side cut away");
        assert!(cap.iter().all(|c| c.0.iter().all(|p| p[1] >= -1e-4 && p[1] <= 30.0 + 1e-4)));
        // Both planes: the top's cap keeps the west half (50 m²), the section's reaches up to
        // the top only (10 m × 4 m).
        let both = Clip {
            top_m: Some(4.0),
            section: Some([[5.0, -100.0], [5.0, 100.0]]),
            ..Default::default()
        };
        let mut m = cube();
        clip_solid(&mut m, [0.0; 3], [0.0, 0.0], &both);
        let top: f64 = in_plane(&m, 1, 4.0).iter().map(|c| c.1).sum();
        let side: f64 = in_plane(&m, 0, 5.0).iter().map(|c| c.1).sum();
        assert!((top - 50.0).abs() < 1e-3, "{top}");
        assert!((side - 40.0).abs() < 1e-3, "{side}");
        assert!(used(&m).iter().all(|p| p[0] <= 5.0 + 1e-5 && p[1] <= 4.0 + 1e-5));
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
