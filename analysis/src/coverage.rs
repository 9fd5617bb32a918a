//! Permit coverage: for each building, Σ area(building ∩ permit) over the permits that touch it.
//!
//! Permits are almost always convex (rectangles, possibly rotated): their intersection with any
//! simple building polygon is computed by Sutherland–Hodgman clipping of the building against the
//! permit, whose area is exact even when the building is concave. Non-convex permits fall back to
//! geo's boolean operations.

use geo::{Area, BooleanOps, Coord, Geometry, Intersects, LineString, Polygon};
use rayon::prelude::*;
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

use crate::{aabb, polygons};

/// Coverage of one building.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Coverage {
    /// Σ area(building ∩ permit), m².
    pub covered_m2: f64,
    /// Footprint area, m².
    pub area_m2: f64,
    /// Permits whose geometry intersects the building (touching included).
    pub permits: u32,
    /// The permit (index into the input slice) with the largest overlap, and that overlap in m².
    pub main: Option<(u32, f64)>,
}

impl Coverage {
    /// Covered share of the footprint (0 for an empty footprint).
    pub fn ratio(&self) -> f64 {
        if self.area_m2 > 0.0 { self.covered_m2 / self.area_m2 } else { 0.0 }
    }
}

/// A permit prepared for clipping: its exterior ring counter-clockwise when convex.
struct Clipper {
    /// Index of the permit this polygon belongs to.
    permit: u32,
    poly: Polygon,
    ccw_convex: Option<Vec<Coord>>,
}

fn convex_ccw(p: &Polygon) -> Option<Vec<Coord>> {
    if !p.interiors().is_empty() {
        return None;
    }
    let mut pts: Vec<Coord> = p.exterior().0.clone();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    pts.dedup();
    if pts.len() < 3 {
        return None;
    }
    let n = pts.len();
    let cross = |a: Coord, b: Coord, c: Coord| (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
    let mut sign = 0.0f64;
    for i in 0..n {
        let c = cross(pts[i], pts[(i + 1) % n], pts[(i + 2) % n]);
        if c.abs() > 0.0 {
            if sign == 0.0 {
                sign = c.signum();
            } else if c.signum() != sign {
                return None;
            }
        }
    }
    if sign < 0.0 {
        pts.reverse();
    }
    Some(pts)
}

/// Area of `subject` inside the convex, counter-clockwise `clip` ring. Coordinates are taken
/// relative to the clip ring's first vertex: in raw Gauss-Krüger metres (x ≈ 5e5, y ≈ 3.4e6)
/// the shoelace products would cancel away about a millimetre² of every building's area.
fn clipped_area(subject: &LineString, clip: &[Coord]) -> f64 {
    let o = clip[0];
    let mut poly: Vec<Coord> = subject
        .0
        .iter()
        .map(|c| Coord {
            x: c.x - o.x,
            y: c.y - o.y,
        })
        .collect();
    if poly.len() > 1 && poly.first() == poly.last() {
        poly.pop();
    }
    let clip: Vec<Coord> = clip
        .iter()
        .map(|c| Coord {
            x: c.x - o.x,
            y: c.y - o.y,
        })
        .collect();
    let n = clip.len();
    for i in 0..n {
        if poly.is_empty() {
            break;
        }
        let (a, b) = (clip[i], clip[(i + 1) % n]);
        let inside = |p: Coord| (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x) >= 0.0;
        let cut = |p: Coord, q: Coord| {
            let (d1, d2) = (
                (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x),
                (b.x - a.x) * (q.y - a.y) - (b.y - a.y) * (q.x - a.x),
            );
            let t = d1 / (d1 - d2);
            Coord {
                x: p.x + (q.x - p.x) * t,
                y: p.y + (q.y - p.y) * t,
            }
        };
        let input = std::mem::take(&mut poly);
        let m = input.len();
        for j in 0..m {
            let (p, q) = (input[j], input[(j + 1) % m]);
            match (inside(p), inside(q)) {
                (true, true) => poly.push(q),
                (true, false) => poly.push(cut(p, q)),
                (false, true) => {
                    poly.push(cut(p, q));
                    poly.push(q);
                }
                (false, false) => {}
            }
        }
    }
    let m = poly.len();
    if m < 3 {
        return 0.0;
    }
    (0..m)
        .map(|i| poly[i].x * poly[(i + 1) % m].y - poly[(i + 1) % m].x * poly[i].y)
        .sum::<f64>()
        .abs()
        / 2.0
}

fn intersection_area(building: &Polygon, permit: &Clipper) -> f64 {
    match &permit.ccw_convex {
        Some(clip) => {
            let mut a = clipped_area(building.exterior(), clip);
            for hole in building.interiors() {
                a -= clipped_area(hole, clip);
            }
            a.max(0.0)
        }
        None => building.intersection(&permit.poly).unsigned_area(),
    }
}

/// Coverage of every building by the permits (both in the same projected CRS), in parallel.
pub fn permit_coverage(buildings: &[Option<Geometry>], permits: &[Option<Geometry>]) -> Vec<Coverage> {
    let clippers: Vec<Clipper> = permits
        .iter()
        .enumerate()
        .filter_map(|(i, g)| Some((i, g.as_ref()?)))
        .flat_map(|(i, g)| polygons(g).into_iter().cloned().map(move |poly| (i as u32, poly)))
        .map(|(permit, poly)| Clipper {
            permit,
            ccw_convex: convex_ccw(&poly),
            poly,
        })
        .collect();
    let entries: Vec<GeomWithData<Rectangle<[f64; 2]>, u32>> = clippers
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some(GeomWithData::new(Rectangle::from_aabb(aabb(&c.poly)?), i as u32)))
        .collect();
    let tree = RTree::bulk_load(entries);
    buildings
        .par_iter()
        .map(|g| {
            let Some(g) = g else { return Coverage::default() };
            let mut c = Coverage::default();
            // Σ overlap per permit (a multi-part permit meets a building in several parts).
            let mut per_permit: Vec<(u32, f64)> = Vec::new();
            for b in polygons(g) {
                c.area_m2 += b.unsigned_area();
                let Some(env) = aabb(b) else { continue };
                for e in tree.locate_in_envelope_intersecting(&env) {
                    let p = &clippers[e.data as usize];
                    let a = intersection_area(b, p);
                    // Clipping a concave building whose arms embrace a permit leaves rounding
                    // noise (≈1e-9 m²) where there is no overlap: below a square millimetre the
                    // exact predicate decides whether they meet at all.
                    if a > 1e-6 || b.intersects(&p.poly) {
                        c.permits += 1;
                        c.covered_m2 += a;
                        match per_permit.iter_mut().find(|(k, _)| *k == p.permit) {
                            Some((_, sum)) => *sum += a,
                            None => per_permit.push((p.permit, a)),
                        }
                    }
                }
            }
            c.main = per_permit.into_iter().fold(None, |best, (k, a)| match best {
                // Ties go to the lower index, whatever order the tree returned them in.
                Some((bk, b)) if b > a || (b == a && bk < k) => best,
                _ => Some((k, a)),
            });
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Option<Geometry> {
        Some(Geometry::Polygon(Polygon::new(
            LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
            vec![],
        )))
    }

    #[test]
    fn concave_building_against_convex_and_concave_permits() {
        // An L-shaped building: 20×10 base plus a 10×10 arm, 300 m².
        let l = Some(Geometry::Polygon(Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (20.0, 0.0),
                (20.0, 10.0),
                (10.0, 10.0),
                (10.0, 20.0),
                (0.0, 20.0),
                (0.0, 0.0),
            ]),
            vec![],
        )));
        // A permit over the right half (x ≥ 10): covers 10×10 of the base only = 100 m².
        let cov = permit_coverage(&[l.clone()], &[rect(10.0, -5.0, 30.0, 30.0)]);
        assert!((cov[0].area_m2 - 300.0).abs() < 1e-9);
        assert!((cov[0].covered_m2 - 100.0).abs() < 1e-9, "{cov:?}");
        assert_eq!(cov[0].permits, 1);
        // A touching permit counts as a pair with no area; a far one does not count.
        let cov = permit_coverage(&[l.clone()], &[rect(20.0, 0.0, 25.0, 5.0), rect(50.0, 50.0, 60.0, 60.0)]);
        assert_eq!(cov[0].permits, 1);
        assert_eq!(cov[0].covered_m2, 0.0);
        // A concave permit goes through the boolean-ops fallback and agrees.
        let u = Some(Geometry::Polygon(Polygon::new(
            LineString::from(vec![
                (-1.0, -1.0),
                (21.0, -1.0),
                (21.0, 5.0),
                (5.0, 5.0),
                (5.0, 21.0),
                (-1.0, 21.0),
                (-1.0, -1.0),
            ]),
            vec![],
        )));
        let cov = permit_coverage(&[l], &[u]);
        // Inside: the strip y<5 of the base (20×5 = 100) plus x<5 for y in 5..20 (5×15 = 75).
        assert!((cov[0].covered_m2 - 175.0).abs() < 1e-6, "{cov:?}");
    }
}
