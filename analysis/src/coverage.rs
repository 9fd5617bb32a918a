//! Permit coverage: for each building, Σ area(building ∩ permit) over the permits that touch it.
//!
//! Permits are almost always convex (rectangles, possibly rotated): their intersection with any
//! simple building polygon is computed by Sutherland–Hodgman clipping of the building against the
//! permit, whose area is exact even when the building is concave. Non-convex permits fall back to
//! geo's boolean operations.

use geo::{Area, BooleanOps, Coord, Intersects};
use jingwei_layers::geoms::{GeomRef, Geometries, PartRef};
use jingwei_layers::index::hilbert;
use rayon::prelude::*;

use crate::grid::{Bbox, BoxGrid};
use jingwei_layers::{Cancelled, Job};

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

/// A permit's polygon as its permit's buffers hold it.
#[derive(Clone, Copy)]
struct Shape<'a> {
    /// Its exterior ring: without the closing point when `convex`, else whole (it names the
    /// polygon among its permit's, see [`Shape::polygon`]).
    ring: &'a [Coord],
    /// Index of the permit this polygon belongs to.
    permit: u32,
    /// A convex polygon without holes, clipped by its ring.
    convex: bool,
    /// The ring runs clockwise (when `convex`).
    cw: bool,
}

impl<'a> Shape<'a> {
    /// One polygon of permit `permit`.
    fn new(permit: u32, poly: &PartRef<'a>) -> Shape<'a> {
        let (ring, convex, cw) = match convex_ring(poly) {
            Some((ring, cw)) => (ring, true, cw),
            None => (poly.exterior(), false, false),
        };
        Shape { ring, permit, convex, cw }
    }

    /// The polygon, found among its permit's by its exterior ring (the rare non-convex case and
    /// the exact test of polygons that may only touch).
    fn polygon(&self, permits: &'a Geometries) -> Option<PartRef<'a>> {
        permits
            .get(self.permit as usize)?
            .polygons()
            .find(|p| p.exterior().as_ptr() == self.ring.as_ptr())
    }
}

/// A permit's polygon prepared for clipping (a million of them are gathered in space order).
#[derive(Clone)]
struct Clipper<'a> {
    /// A copy of the clipping ring when it has at most four corners (most permits are
    /// rectangles): read beside the rest, without a trip to the permit's own buffer.
    quad: [Coord; 4],
    shape: Shape<'a>,
}

impl<'a> From<Shape<'a>> for Clipper<'a> {
    fn from(shape: Shape<'a>) -> Clipper<'a> {
        let mut quad = [Coord::zero(); 4];
        if shape.convex && shape.ring.len() <= 4 {
            quad[..shape.ring.len()].copy_from_slice(shape.ring);
        }
        Clipper { quad, shape }
    }
}

impl Clipper<'_> {
    /// The clipping ring (when the polygon is convex).
    #[inline]
    fn clip(&self) -> &[Coord] {
        let ring = self.shape.ring;
        if ring.len() <= 4 { &self.quad[..ring.len()] } else { ring }
    }
}

/// The open exterior ring of a convex polygon without holes and whether it is clockwise.
fn convex_ring<'a>(p: &PartRef<'a>) -> Option<(&'a [Coord], bool)> {
    if p.rings().len() != 1 {
        return None;
    }
    let mut pts: &[Coord] = p.exterior();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts = &pts[..pts.len() - 1];
    }
    let n = pts.len();
    if n < 3 {
        return None;
    }
    let mut sign = 0.0f64;
    // (Repeated points give zero turns and are ignored.)
    for i in 0..n {
        let c = side(pts[i], pts[(i + 1) % n], pts[(i + 2) % n]);
        if c.abs() > 0.0 {
            if sign == 0.0 {
                sign = c.signum();
            } else if c.signum() != sign {
                return None;
            }
        }
    }
    (sign != 0.0).then_some((pts, sign < 0.0))
}

/// Scratch buffers of the clipping, reused across the buildings of one worker.
#[derive(Default)]
struct Scratch {
    a: Vec<Coord>,
    b: Vec<Coord>,
    per_permit: Vec<(u32, f64)>,
}

/// How far (m) every remaining vertex must lie outside a clip edge for the clipping to prove
/// that the two polygons do not meet at all, touching included. The side tests are exact to
/// about 1e-12 m at the sizes of buildings and permits, so this margin leaves no doubt.
const APART_M: f64 = 1e-6;

/// Area of `subject` inside the convex `clip` ring (open; `cw` when it runs clockwise), and
/// whether the clipping proved them apart: at the edge that left nothing, every vertex still
/// standing lay more than [`APART_M`] outside it. Coordinates are taken
/// relative to the clip ring's first vertex: in raw Gauss-Krüger metres (x ≈ 5e5, y ≈ 3.4e6)
/// the shoelace products would cancel away about a millimetre² of every building's area.
fn clipped_area(subject: &[Coord], clip: &[Coord], cw: bool, scratch: &mut Scratch) -> (f64, bool) {
    let o = clip[0];
    let (mut poly, mut next) = (std::mem::take(&mut scratch.a), std::mem::take(&mut scratch.b));
    poly.clear();
    poly.extend(subject.iter().map(|c| Coord {
        x: c.x - o.x,
        y: c.y - o.y,
    }));
    if poly.len() > 1 && poly.first() == poly.last() {
        poly.pop();
    }
    let n = clip.len();
    let mut apart = false;
    for i in 0..n {
        if poly.is_empty() {
            break;
        }
        let (a, b) = clip_edge(clip, cw, i);
        next.clear();
        let m = poly.len();
        let mut nearest = f64::MIN;
        for j in 0..m {
            let (p, q) = (poly[j], poly[(j + 1) % m]);
            let (dp, dq) = (side(a, b, p), side(a, b, q));
            nearest = nearest.max(dp);
            let cut = || {
                let t = dp / (dp - dq);
                Coord {
                    x: p.x + (q.x - p.x) * t,
                    y: p.y + (q.y - p.y) * t,
                }
            };
            match (dp >= 0.0, dq >= 0.0) {
                (true, true) => next.push(q),
                (true, false) => next.push(cut()),
                (false, true) => {
                    next.push(cut());
                    next.push(q);
                }
                (false, false) => {}
            }
        }
        std::mem::swap(&mut poly, &mut next);
        // `side` is the edge's length times the signed distance.
        if poly.is_empty() && nearest < -APART_M * (b.x - a.x).hypot(b.y - a.y) {
            apart = true;
        }
    }
    let m = poly.len();
    let area = if m < 3 {
        0.0
    } else {
        (0..m)
            .map(|i| poly[i].x * poly[(i + 1) % m].y - poly[(i + 1) % m].x * poly[i].y)
            .sum::<f64>()
            .abs()
            / 2.0
    };
    (scratch.a, scratch.b) = (poly, next);
    (area, apart)
}

/// Whether every point of `ring` lies inside or on the convex ring `clip` (open; `cw` when it runs
/// clockwise), by the same side tests as the clipping, taken relative to the clip's first vertex.
fn within_convex(ring: &[Coord], clip: &[Coord], cw: bool) -> bool {
    (0..clip.len()).all(|i| {
        let (a, b) = clip_edge(clip, cw, i);
        ring.iter().all(|&p| side(a, b, p - clip[0]) >= 0.0)
    })
}

/// Edge `i` of the convex ring `clip` (open; `cw` when it runs clockwise), relative to the ring's
/// first vertex and turned so that the inside lies to its left (a clockwise ring walked backwards).
#[inline]
fn clip_edge(clip: &[Coord], cw: bool, i: usize) -> (Coord, Coord) {
    let o = clip[0];
    let (a, b) = (clip[i] - o, clip[(i + 1) % clip.len()] - o);
    if cw { (b, a) } else { (a, b) }
}

/// Which side of the line `a`→`b` the point `p` lies on: positive to the left, the edge's length
/// times the point's distance from the line.
#[inline]
fn side(a: Coord, b: Coord, p: Coord) -> f64 {
    (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
}

/// Area of a building part inside a permit, and whether the two are known not to meet at all
/// (when false they may still only touch: the caller asks the exact predicate).
/// `area` is the building part's own (holes taken off): the answer when it lies wholly inside
/// the permit, as most buildings lie in theirs.
fn intersection_area(building: &PartRef<'_>, area: f64, permit: &Clipper, permits: &Geometries, scratch: &mut Scratch) -> (f64, bool) {
    if permit.shape.convex {
        let (clip, cw) = (permit.clip(), permit.shape.cw);
        if within_convex(building.exterior(), clip, cw) {
            // Its exterior inside a convex ring, so are its holes: the whole part is covered.
            return (area, false);
        }
        let mut rings = building.rings();
        let (mut a, apart) = rings.next().map_or((0.0, true), |r| clipped_area(r, clip, cw, scratch));
        if apart {
            // Outside the exterior, so outside every hole too.
            return (0.0, true);
        }
        for hole in rings {
            a -= clipped_area(hole, clip, cw, scratch).0;
        }
        (a.max(0.0), false)
    } else {
        let area = permit
            .shape
            .polygon(permits)
            .map_or(0.0, |p| building.to_polygon().intersection(&p.to_polygon()).unsigned_area());
        (area, false)
    }
}

/// The permits' polygons prepared for clipping, and their boxes, in the order of a Hilbert curve
/// over the boxes' centres (the further polygons of multi-polygon permits after the first ones).
/// Permits come in filing order, scattered over the city: sorted, the permits that the buildings
/// of one block meet lie together in memory, and the grid's boxes and the rings are read from
/// cache rather than with a round trip to memory each (at a million permits that was half of the
/// join's time). The permits are read once in their own order (rectangles copied then, in
/// order); only the prepared polygons are gathered in the sorted one.
fn prepare(permits: &Geometries) -> (Vec<Clipper<'_>>, Vec<Bbox>) {
    let first: Vec<(Option<(Clipper, Bbox)>, bool)> = (0..permits.len())
        .into_par_iter()
        .map(|i| match permits.get(i) {
            Some(g) => {
                let mut polys = g.polygons();
                let first = polys
                    .next()
                    .and_then(|p| shape(i as u32, p))
                    .map(|(shape, bbox)| (Clipper::from(shape), bbox));
                (first, polys.next().is_some())
            }
            None => (None, false),
        })
        .collect();
    let merge = |a: Bbox, b: Bbox| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])];
    let ext = first
        .par_iter()
        .filter_map(|(c, _)| Some(c.as_ref()?.1))
        .reduce(|| [f64::MAX, f64::MAX, f64::MIN, f64::MIN], merge);
    let (w, h) = ((ext[2] - ext[0]).max(1e-9), (ext[3] - ext[1]).max(1e-9));
    // Permits without a polygon sort last, under keys of all ones, and are cut off.
    let mut keys: Vec<u64> = first
        .par_iter()
        .enumerate()
        .map(|(i, (c, _))| match c {
            Some((_, e)) => {
                let x = ((e[0] + e[2]) / 2.0 - ext[0]) / w * 65_535.0;
                let y = ((e[1] + e[3]) / 2.0 - ext[1]) / h * 65_535.0;
                u64::from(hilbert(x as u32, y as u32)) << 32 | i as u64
            }
            None => u64::MAX,
        })
        .collect();
    keys.par_sort_unstable();
    keys.truncate(keys.partition_point(|&k| k != u64::MAX));
    let (mut clippers, mut boxes): (Vec<Clipper>, Vec<Bbox>) = keys
        .par_iter()
        .map(|&k| first[k as u32 as usize].0.clone().expect("keyed permits have a first polygon"))
        .unzip();
    if first.iter().any(|(_, more)| *more) {
        let (more, more_boxes): (Vec<Clipper>, Vec<Bbox>) = first
            .par_iter()
            .enumerate()
            .filter(|(_, (_, more))| *more)
            .filter_map(|(i, _)| Some((i as u32, permits.get(i)?)))
            .flat_map_iter(|(i, g)| g.polygons().skip(1).filter_map(move |p| shape(i, p)))
            .map(|(shape, bbox)| (Clipper::from(shape), bbox))
            .unzip();
        clippers.extend(more);
        boxes.extend(more_boxes);
    }
    (clippers, boxes)
}

/// One polygon of a permit and its box (`None` when it has no coordinates).
fn shape(permit: u32, poly: PartRef<'_>) -> Option<(Shape<'_>, Bbox)> {
    Some((Shape::new(permit, &poly), poly.envelope()?))
}

/// Coverage of every building by the permits (both in the same projected CRS), in parallel.
pub fn permit_coverage(buildings: &Geometries, permits: &Geometries) -> Vec<Coverage> {
    permit_coverage_job(buildings, permits, &Job::new()).expect("a new job is never cancelled")
}

/// [`permit_coverage`] reporting one unit per building to `job` (plan them first) and stopping
/// early when it is cancelled.
pub fn permit_coverage_job(buildings: &Geometries, permits: &Geometries, job: &Job) -> Result<Vec<Coverage>, Cancelled> {
    let (clippers, boxes) = prepare(permits);
    let grid = BoxGrid::new(boxes);
    const CHUNK: usize = 1024;
    let out: Vec<Coverage> = (0..buildings.len())
        .into_par_iter()
        .map(|i| (i, buildings.get(i)))
        .map_init(Scratch::default, |scratch, (i, g): (usize, Option<GeomRef<'_>>)| {
            if i % CHUNK == 0 {
                job.advance(CHUNK.min(buildings.len() - i) as u64);
            }
            if job.is_cancelled() {
                return Coverage::default();
            }
            let Some(g) = g else { return Coverage::default() };
            let mut c = Coverage::default();
            // Σ overlap per permit (a multi-part permit meets a building in several parts).
            scratch.per_permit.clear();
            for b in g.polygons() {
                let area = b.area();
                c.area_m2 += area;
                let Some(r) = b.envelope() else { continue };
                grid.query(&r, |k| {
                    let p = &clippers[k as usize];
                    let (a, apart) = intersection_area(&b, area, p, permits, scratch);
                    // Clipping a concave building whose arms embrace a permit leaves rounding
                    // noise (≈1e-9 m²) where there is no overlap: below a square millimetre the
                    // exact predicate decides whether they meet at all, unless the clipping
                    // already proved them apart (most pairs whose boxes meet).
                    if a > 1e-6 || (!apart && p.shape.polygon(permits).is_some_and(|q| b.to_polygon().intersects(&q.to_polygon()))) {
                        c.covered_m2 += a;
                        match scratch.per_permit.iter_mut().find(|(k, _)| *k == p.shape.permit) {
                            Some((_, sum)) => *sum += a,
                            None => scratch.per_permit.push((p.shape.permit, a)),
                        }
                    }
                });
            }
            // A permit met by several parts of either counts once.
            c.permits = scratch.per_permit.len() as u32;
            c.main = scratch.per_permit.iter().fold(None, |best, &(k, a)| match best {
                // Ties go to the lower index, whatever order the tree returned them in.
                Some((bk, b)) if b > a || (b == a && bk < k) => best,
                _ => Some((k, a)),
            });
            c
        })
        .collect();
    job.check()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Geometry, LineString, Polygon};

    fn cov_of(buildings: &[Option<Geometry>], permits: &[Option<Geometry>]) -> Vec<Coverage> {
        permit_coverage(&buildings.to_vec().into(), &permits.to_vec().into())
    }

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Option<Geometry> {
        Some(Geometry::Polygon(Polygon::new(
            LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
            vec![],
        )))
    }

    #[test]
    fn clipping_proves_apart_only_what_the_exact_predicate_calls_disjoint() {
        // Rotated rectangles and an L around and against a rotated permit, at Gauss-Krüger
        // magnitudes, many of them exactly touching (shared corners and edges): wherever the
        // clipping says "apart", geo's exact predicate must say they do not intersect.
        let mut r = crate::xorshift(0x9e37_79b9_7f4a_7c15u64);
        let (ox, oy) = (512_345.25, 3_456_789.5);
        let ring = |pts: Vec<(f64, f64)>| {
            let mut v = pts;
            v.push(v[0]);
            Polygon::new(LineString::from(v), vec![])
        };
        let (mut apart_seen, mut touching_seen) = (0, 0);
        for case in 0..4000 {
            let turn = if case % 3 == 0 { 0.0 } else { r() * std::f64::consts::TAU };
            let (c, sn) = (turn.cos(), turn.sin());
            let at = |x: f64, y: f64| (ox + x * c - y * sn, oy + x * sn + y * c);
            let permit = ring(vec![at(0.0, 0.0), at(20.0, 0.0), at(20.0, 12.0), at(0.0, 12.0)]);
            // A building beside it: shifted by up to its own size, sometimes exactly onto an
            // edge of the permit (in the permit's frame, so touching is exact when unrotated).
            let (w, h) = (2.0 + 8.0 * r(), 2.0 + 8.0 * r());
            let mut dx = -w - 2.0 + r() * (24.0 + w);
            let dy = -h - 2.0 + r() * (16.0 + h);
            if case % 5 == 0 {
                dx = 20.0;
            }
            let building = if case % 7 == 0 {
                ring(vec![
                    at(dx, dy),
                    at(dx + w, dy),
                    at(dx + w, dy + h / 2.0),
                    at(dx + w / 2.0, dy + h / 2.0),
                    at(dx + w / 2.0, dy + h),
                    at(dx, dy + h),
                ])
            } else {
                ring(vec![at(dx, dy), at(dx + w, dy), at(dx + w, dy + h), at(dx, dy + h)])
            };
            let g: Geometries = vec![Some(Geometry::Polygon(building.clone()))].into();
            let pg: Geometries = vec![Some(Geometry::Polygon(permit.clone()))].into();
            let part = g.get(0).unwrap().polygons().next().unwrap();
            let ppart = pg.get(0).unwrap().polygons().next().unwrap();
            let clipper = Clipper::from(Shape::new(0, &ppart));
            assert!(clipper.shape.convex && clipper.clip().len() == 4);
            let (a, apart) = intersection_area(&part, part.area(), &clipper, &pg, &mut Scratch::default());
            let meets = building.intersects(&permit);
            if apart {
                apart_seen += 1;
                assert!(!meets, "case {case}: proved apart but they meet");
                assert_eq!(a, 0.0);
            } else if meets && a <= 1e-6 {
                touching_seen += 1;
            }
        }
        assert!(
            apart_seen > 500 && touching_seen > 50,
            "apart {apart_seen}, touching {touching_seen}"
        );
    }

    #[test]
    fn every_shape_of_permit_agrees_with_boolean_operations() {
        // Permits of every shape the preparation tells apart — rectangles (copied), convex
        // hexagons (clipped from the permit's own buffer), L shapes (boolean operations), a
        // rectangle with a hole, and two-part multipolygons (their second part prepared apart) —
        // scattered in shuffled order at Gauss-Krüger magnitudes, under buildings placed over,
        // inside and across them: each building's pairs and covered area as geo computes them.
        let mut r = crate::xorshift(0x2545_f491_4f6c_dd1du64);
        let (ox, oy) = (438_211.75, 3_381_904.25);
        let poly = |pts: &[(f64, f64)], holes: Vec<Vec<(f64, f64)>>| {
            let close = |v: &[(f64, f64)]| {
                let mut v: Vec<(f64, f64)> = v.iter().map(|&(x, y)| (ox + x, oy + y)).collect();
                v.push(v[0]);
                LineString::from(v)
            };
            Polygon::new(close(pts), holes.iter().map(|h| close(h)).collect())
        };
        let mut permits: Vec<Option<Geometry>> = Vec::new();
        let mut buildings: Vec<Option<Geometry>> = Vec::new();
        for cell in 0..400 {
            let (x, y) = ((cell % 20) as f64 * 60.0, (cell / 20) as f64 * 60.0);
            let p = match cell % 5 {
                0 => Geometry::Polygon(poly(&[(x, y), (x + 30.0, y), (x + 30.0, y + 20.0), (x, y + 20.0)], vec![])),
                1 => Geometry::Polygon(poly(
                    &[
                        (x + 10.0, y),
                        (x + 30.0, y),
                        (x + 40.0, y + 15.0),
                        (x + 30.0, y + 30.0),
                        (x + 10.0, y + 30.0),
                        (x, y + 15.0),
                    ],
                    vec![],
                )),
                2 => Geometry::Polygon(poly(
                    &[
                        (x, y),
                        (x + 30.0, y),
                        (x + 30.0, y + 10.0),
                        (x + 10.0, y + 10.0),
                        (x + 10.0, y + 30.0),
                        (x, y + 30.0),
                    ],
                    vec![],
                )),
                3 => Geometry::Polygon(poly(
                    &[(x, y), (x + 30.0, y), (x + 30.0, y + 30.0), (x, y + 30.0)],
                    vec![vec![
                        (x + 10.0, y + 10.0),
                        (x + 20.0, y + 10.0),
                        (x + 20.0, y + 20.0),
                        (x + 10.0, y + 20.0),
                    ]],
                )),
                _ => Geometry::MultiPolygon(geo::MultiPolygon(vec![
                    poly(&[(x, y), (x + 12.0, y), (x + 12.0, y + 30.0), (x, y + 30.0)], vec![]),
                    poly(&[(x + 18.0, y), (x + 30.0, y), (x + 30.0, y + 30.0), (x + 18.0, y + 30.0)], vec![]),
                ])),
            };
            permits.push(Some(p));
            // Two buildings per permit: one wholly inside or over it, one shifted across it.
            for k in 0..2 {
                let size = if k == 0 { 8.0 } else { 20.0 };
                let (w, h) = (4.0 + size * r(), 4.0 + size * r());
                let (bx, by) = if k == 0 {
                    (x + 2.0 + 4.0 * r(), y + 2.0 + 4.0 * r())
                } else {
                    (x - 10.0 + 40.0 * r(), y - 10.0 + 40.0 * r())
                };
                buildings.push(Some(Geometry::Polygon(poly(
                    &[(bx, by), (bx + w, by), (bx + w, by + h), (bx, by + h)],
                    vec![],
                ))));
            }
        }
        // Filing order.
        for i in (1..permits.len()).rev() {
            let j = (r() * (i + 1) as f64) as usize;
            permits.swap(i, j);
        }
        let cov = cov_of(&buildings, &permits);
        let (mut inside, mut partial) = (0, 0);
        for (row, b) in buildings.iter().enumerate() {
            let Some(Geometry::Polygon(b)) = b else { unreachable!() };
            let (mut pairs, mut area, mut main) = (0, 0.0, None::<(u32, f64)>);
            for (k, p) in permits.iter().enumerate() {
                let p = p.as_ref().unwrap();
                if b.intersects(p) {
                    pairs += 1;
                    let mp = match p {
                        Geometry::Polygon(p) => geo::MultiPolygon(vec![p.clone()]),
                        Geometry::MultiPolygon(m) => m.clone(),
                        _ => unreachable!(),
                    };
                    let a = b.intersection(&mp).unsigned_area();
                    area += a;
                    if main.is_none_or(|(_, m)| a > m) {
                        main = Some((k as u32, a));
                    }
                }
            }
            let c = &cov[row];
            assert_eq!(c.permits as usize, pairs, "building {row}: pairs");
            assert!(
                (c.covered_m2 - area).abs() < 1e-6,
                "building {row}: {} against {area}",
                c.covered_m2
            );
            assert_eq!(c.main.map(|m| m.0), main.map(|m| m.0), "building {row}: main permit");
            assert!((c.area_m2 - b.unsigned_area()).abs() < 1e-6);
            inside += usize::from((c.covered_m2 - c.area_m2).abs() < 1e-9);
            partial += usize::from(c.covered_m2 > 0.0 && c.covered_m2 < c.area_m2 - 1e-6);
        }
        assert!(inside > 100 && partial > 100, "inside {inside}, partial {partial}");
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
        let cov = cov_of(std::slice::from_ref(&l), &[rect(10.0, -5.0, 30.0, 30.0)]);
        assert!((cov[0].area_m2 - 300.0).abs() < 1e-9);
        assert!((cov[0].covered_m2 - 100.0).abs() < 1e-9, "{cov:?}");
        assert_eq!(cov[0].permits, 1);
        // A touching permit counts as a pair with no area; a far one does not count.
        let cov = cov_of(
            std::slice::from_ref(&l),
            &[rect(20.0, 0.0, 25.0, 5.0), rect(50.0, 50.0, 60.0, 60.0)],
        );
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
        // The same permit over the right half, its ring clockwise: the same 100 m².
        let cw = Some(Geometry::Polygon(Polygon::new(
            LineString::from(vec![(10.0, -5.0), (10.0, 30.0), (30.0, 30.0), (30.0, -5.0), (10.0, -5.0)]),
            vec![],
        )));
        let cov = cov_of(std::slice::from_ref(&l), &[cw]);
        assert!((cov[0].covered_m2 - 100.0).abs() < 1e-9, "{cov:?}");
        assert_eq!(cov[0].main, Some((0, cov[0].covered_m2)));
        let cov = cov_of(&[l], &[u]);
        // Inside: the strip y<5 of the base (20×5 = 100) plus x<5 for y in 5..20 (5×15 = 75).
        assert!((cov[0].covered_m2 - 175.0).abs() < 1e-6, "{cov:?}");
    }
}
