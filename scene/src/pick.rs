//! Picking extruded buildings with a view ray, in f64 workspace metres: the nearest prism the
//! ray enters (through its roof or a wall), so that a click on a tower's top picks the tower, not
//! the ground behind it.

use geo::{Contains, Coord, Point};
use jingwei_layers::{Layer, SpatialIndex};

use crate::extrude::{HeightRule, polygons};
use crate::terrain::Ground;
use crate::view::View;

/// A building hit by a ray.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrismHit {
    /// Row in the layer.
    pub row: usize,
    /// Distance along the ray (m).
    pub t: f64,
    /// The hit point: workspace x, y and height (m).
    pub point: [f64; 3],
    /// The building's base and top (m).
    pub base_m: f64,
    /// Top.
    pub top_m: f64,
}

/// The nearest building of `layer` hit by the ray through pixel (`px`, `py`). Over a terrain
/// (`ground`) each building stands where the scene draws it: on the lowest ground under its
/// corners. What `clip` (剖切) cuts away is passed over.
#[allow(clippy::too_many_arguments)]
pub fn pick_prism(
    layer: &Layer,
    index: &SpatialIndex,
    rule: &HeightRule,
    origin: [f64; 2],
    view: &View,
    px: f32,
    py: f32,
    width: u32,
    height: u32,
    ground: Option<&Ground>,
    clip: &jingwei_layers::workspace::Clip,
) -> Option<PrismHit> {
    let frame = crate::local::LocalFrame::new(origin);
    let ([ox, oy, oz], [dx, dy, dz]) = world_ray(view, origin, px, py, width, height);
    if dz >= 0.0 {
        return None;
    }
    // The ray's stretch from the camera down to y = 0 (no ground lies lower) bounds the
    // candidates.
    let t_ground = -oz / dz;
    let (gx, gy) = (ox + dx * t_ground, oy + dy * t_ground);
    let bbox = [ox.min(gx), oy.min(gy), ox.max(gx), oy.max(gy)];
    let mut best: Option<PrismHit> = None;
    for row in index.candidates(bbox) {
        let Some(g) = &layer.geometries.geometry(row) else { continue };
        let (base, top) = rule.heights(layer, row);
        let lift = ground.map_or(0.0, |gr| {
            polygons(g)
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .flat_map(|ring| ring.0.iter())
                .map(|c| {
                    let [lx, lz] = frame.to_local_f32(c.x, c.y);
                    gr.y(lx, lz)
                })
                .fold(f32::MAX, f32::min)
        });
        let lift = if lift == f32::MAX { 0.0 } else { f64::from(lift) };
        let (base, top) = (base + lift, top + lift);
        // `probe`: where the clip is asked (a cap's point lies on its own cutting plane).
        let mut consider_at = |t: f64, point: [f64; 3], probe: [f64; 3]| {
            if t > 0.0 && best.is_none_or(|b| t < b.t) && crate::clip::keeps(clip, origin, probe) {
                best = Some(PrismHit {
                    row,
                    t,
                    point,
                    base_m: base,
                    top_m: top,
                });
            }
        };
        let mut consider = |t: f64| {
            let point = [ox + dx * t, oy + dy * t, oz + dz * t];
            consider_at(t, point, point);
        };
        let inside = |x: f64, y: f64| polygons(g).iter().any(|p| p.contains(&Point::new(x, y)));
        // The roof.
        let t_roof = (top - oz) / dz;
        if inside(ox + dx * t_roof, oy + dy * t_roof) {
            consider(t_roof);
        }
        // The walls: where the ray's ground track crosses an edge, between base and top.
        for p in polygons(g) {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for w in ring.0.windows(2) {
                    let (a, b): (Coord, Coord) = (w[0], w[1]);
                    let (ex, ey) = (b.x - a.x, b.y - a.y);
                    let den = dx * ey - dy * ex;
                    if den.abs() < 1e-12 {
                        continue;
                    }
                    let t = ((a.x - ox) * ey - (a.y - oy) * ex) / den;
                    let u = ((a.x - ox) * dy - (a.y - oy) * dx) / den;
                    let z = oz + dz * t;
                    if (0.0..=1.0).contains(&u) && z >= base && z <= top {
                        consider(t);
                    }
                }
            }
        }
        // The caps a cut closes the building with (`clip::clip_solid`): where the ray crosses a
        // cutting plane inside the prism, between its base and its top (and the other cut).
        let below_top = clip.top_m.map_or(top, |c| c.min(top));
        if let Some(c) = clip.top_m
            && c > base
            && c < top
        {
            let t = (c - oz) / dz;
            let (x, y) = (ox + dx * t, oy + dy * t);
            if inside(x, y) {
                consider_at(t, [x, y, c], [x, y, c - 1e-6]);
            }
        }
        if let Some([a, b]) = clip.section {
            // The vertical plane through a and b; the kept side is to the left of a → b.
            let (ex, ey) = (b[0] - a[0], b[1] - a[1]);
            let (den, len) = (ex * dy - ey * dx, ex.hypot(ey));
            if den.abs() > 1e-12 && len > 0.0 {
                let t = -(ex * (oy - a[1]) - ey * (ox - a[0])) / den;
                let p = [ox + dx * t, oy + dy * t, oz + dz * t];
                if p[2] >= base && p[2] <= below_top && inside(p[0], p[1]) {
                    let (lx, ly) = (-ey / len * 1e-6, ex / len * 1e-6);
                    consider_at(t, p, [p[0] + lx, p[1] + ly, p[2]]);
                }
            }
        }
    }
    best
}

/// The ray through a pixel in world coordinates (x east, y north, z up; local x, −z, y): its
/// origin and unit direction.
fn world_ray(view: &View, origin: [f64; 2], px: f32, py: f32, width: u32, height: u32) -> ([f64; 3], [f64; 3]) {
    let (o, d) = view.ray(px, py, width, height);
    let (ox, oy) = crate::local::LocalFrame::new(origin).to_world(f64::from(o.x), f64::from(o.z));
    ([ox, oy, f64::from(o.y)], [f64::from(d.x), -f64::from(d.z), f64::from(d.y)])
}

/// A city model's surface (CityJSON, glTF, an IFC storey) hit by a ray.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfaceHit {
    /// Row in the layer.
    pub row: usize,
    /// Distance along the ray (m).
    pub t: f64,
    /// The hit point: workspace x, y and height as drawn (m above the model's ground).
    pub point: [f64; 3],
}

/// The nearest face of `surfaces` (a city model layer's, in the workspace CRS; drawn standing on
/// their ground height, see `Surfaces::ground_z`) hit by the ray through pixel (`px`, `py`):
/// each planar face met where the ray crosses its plane inside its outer ring and outside its
/// holes; a face cut away by `clip` (剖切) there is passed over.
#[allow(clippy::too_many_arguments)]
pub fn pick_surfaces(
    surfaces: &jingwei_layers::cityjson::Surfaces,
    skip: &[usize],
    clip: &jingwei_layers::workspace::Clip,
    origin: [f64; 2],
    view: &View,
    px: f32,
    py: f32,
    width: u32,
    height: u32,
) -> Option<SurfaceHit> {
    let z0 = surfaces.ground_z().unwrap_or(0.0);
    // The ray in world coordinates, its height the model's.
    let (o, d) = world_ray(view, origin, px, py, width, height);
    let o = [o[0], o[1], o[2] + z0];
    let sub = |a: [f64; 3], b: [f64; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let mut best: Option<SurfaceHit> = None;
    for (row, faces) in surfaces.rows.iter().enumerate() {
        if skip.binary_search(&row).is_ok() {
            continue;
        }
        for face in faces {
            let Some(outer) = face.first().filter(|r| r.len() >= 3) else {
                continue;
            };
            let (n, drop) = crate::scene::plane_of(outer);
            let denom = dot(n, d);
            if denom.abs() < 1e-12 {
                continue;
            }
            let t = dot(n, sub(outer[0], o)) / denom;
            if t <= 0.0 || best.is_some_and(|b| t >= b.t) {
                continue;
            }
            let p = [o[0] + d[0] * t, o[1] + d[1] * t, o[2] + d[2] * t];
            // Inside, in the plane the normal is most perpendicular to.
            let (u, v) = match drop {
                0 => (1, 2),
                1 => (2, 0),
                _ => (0, 1),
            };
            let inside = |ring: &Vec<[f64; 3]>| {
                let mut c = false;
                for i in 0..ring.len() {
                    let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
                    if (a[v] > p[v]) != (b[v] > p[v]) && p[u] < a[u] + (p[v] - a[v]) * (b[u] - a[u]) / (b[v] - a[v]) {
                        c = !c;
                    }
                }
                c
            };
            if inside(outer) && !face[1..].iter().any(inside) && crate::clip::keeps(clip, origin, [p[0], p[1], p[2] - z0]) {
                best = Some(SurfaceHit {
                    row,
                    t,
                    point: [p[0], p[1], p[2] - z0],
                });
            }
        }
    }
    best
}
