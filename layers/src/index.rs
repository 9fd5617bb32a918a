//! R-tree index of a layer's geometries (bulk-loaded envelopes) and the queries on top of it:
//! features in an envelope, features under a point, k nearest by exact geometry distance, and
//! features within a distance. Candidate envelopes come from the tree; answers are exact.
//!
//! The envelopes are stored as f32 about a local origin (the first feature's centre), rounded
//! outwards so that each contains its feature: half the memory of f64 boxes (20-byte entries,
//! 48-byte nodes) and faster to build. Only candidates come from them; every answer is decided
//! on the f64 geometry, and distance bounds allow for the rounding (see `SpatialIndex::slack`).

use geo::{BoundingRect, Distance, Euclidean, Geometry, Intersects, Point, Rect, coord};
use rayon::prelude::*;
use rstar::{AABB, PointDistance, RTree, RTreeObject};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One indexed feature: its envelope (f32 about the local origin) and its row. The envelope is
/// stored as rstar's own box, so the bulk load's many comparisons read it instead of rebuilding
/// it from corners each time (as `GeomWithData<Rectangle>` does).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    env: AABB<[f32; 2]>,
    row: u32,
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f32; 2]>;
    #[inline]
    fn envelope(&self) -> AABB<[f32; 2]> {
        self.env
    }
}

impl PointDistance for Entry {
    #[inline]
    fn distance_2(&self, point: &[f32; 2]) -> f32 {
        self.env.distance_2(point)
    }
}

/// Node sizes of the layer index. Larger nodes than rstar's default (6) make a bulk-loaded,
/// read-mostly tree shallower, faster to build and smaller (fewer parent nodes), at no cost to
/// queries (`jingwei bench-peer W1/W3`).
#[derive(Debug, Clone, Copy, Default)]
pub struct IndexParams;

impl rstar::RTreeParams for IndexParams {
    const MIN_SIZE: usize = NODE / 2;
    const MAX_SIZE: usize = NODE;
    const REINSERTION_COUNT: usize = NODE / 3;
    type DefaultInsertionStrategy = rstar::RStarInsertionStrategy;
}

const NODE: usize = 16;

/// The R-tree index of one layer: one envelope per feature that has a geometry. Large layers
/// are split at the median x into one bulk-loaded R-tree per worker thread (built in parallel;
/// rstar's bulk load is single-threaded) and every query visits all of them.
#[derive(Debug, Clone, Default)]
pub struct SpatialIndex {
    trees: Vec<RTree<Entry, IndexParams>>,
    /// The local origin of the f32 boxes.
    origin: [f64; 2],
    /// The exact envelope of everything indexed.
    extent: Option<[f64; 4]>,
    /// How far (CRS units) a distance measured on the f32 boxes may exceed the true one.
    slack: f64,
}

/// Below this many features one tree is built (splitting would not pay).
const SPLIT_AT: usize = 200_000;

fn bulk_load_parallel(mut entries: Vec<Entry>, parts: usize) -> Vec<RTree<Entry, IndexParams>> {
    if parts <= 1 || entries.len() < SPLIT_AT {
        return vec![RTree::bulk_load_with_params(entries)];
    }
    let mid = entries.len() / 2;
    entries.select_nth_unstable_by(mid, |a, b| {
        let (ea, eb) = (a.envelope(), b.envelope());
        (ea.lower()[0] + ea.upper()[0]).total_cmp(&(eb.lower()[0] + eb.upper()[0]))
    });
    let right = entries.split_off(mid);
    // The left half gives back the room the right half took.
    entries.shrink_to_fit();
    let (mut l, r) = rayon::join(
        || bulk_load_parallel(entries, parts / 2),
        || bulk_load_parallel(right, parts - parts / 2),
    );
    l.extend(r);
    l
}

/// `v` as the nearest f32 at or below it.
fn down(v: f64) -> f32 {
    let f = v as f32;
    if f64::from(f) > v { f.next_down() } else { f }
}

/// `v` as the nearest f32 at or above it.
fn up(v: f64) -> f32 {
    let f = v as f32;
    if f64::from(f) < v { f.next_up() } else { f }
}

/// A query answer: a row of the layer and its distance (0 where the geometry touches the query).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Hit {
    /// Row in the layer.
    pub row: usize,
    /// Exact distance in CRS units (metres in a workspace).
    pub distance: f64,
}

#[derive(PartialEq)]
struct ByDist(f64, usize);
impl Eq for ByDist {}
impl PartialOrd for ByDist {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for ByDist {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0).then(self.1.cmp(&o.1))
    }
}

/// The finite envelope `[xmin, ymin, xmax, ymax]` of a geometry.
fn envelope(g: &Geometry) -> Option<[f64; 4]> {
    let r = g.bounding_rect()?;
    let (a, b) = (r.min(), r.max());
    if !(a.x.is_finite() && a.y.is_finite() && b.x.is_finite() && b.y.is_finite()) {
        return None;
    }
    Some([a.x, a.y, b.x, b.y])
}

fn union(a: Option<[f64; 4]>, b: Option<[f64; 4]>) -> Option<[f64; 4]> {
    match (a, b) {
        (Some(a), Some(e)) => Some([a[0].min(e[0]), a[1].min(e[1]), a[2].max(e[2]), a[3].max(e[3])]),
        (a, b) => a.or(b),
    }
}

impl SpatialIndex {
    /// Bulk-load the index of `geometries` (rows without geometry are left out).
    pub fn build(geometries: &[Option<Geometry>]) -> SpatialIndex {
        let Some(first) = geometries.iter().flatten().find_map(envelope) else {
            return SpatialIndex::default();
        };
        let origin = [(first[0] + first[2]) / 2.0, (first[1] + first[3]) / 2.0];
        // Filled in place at its final size, chunk by chunk in parallel, the exact extent
        // gathered on the way (an unindexed parallel collect would hold every entry twice at
        // the peak); rows without an envelope are marked and then removed in place.
        const NONE: u32 = u32::MAX;
        const CHUNK: usize = 16_384;
        let none = Entry {
            env: AABB::from_point([0.0, 0.0]),
            row: NONE,
        };
        let mut entries: Vec<Entry> = vec![none; geometries.len()];
        let extent = entries
            .par_chunks_mut(CHUNK)
            .zip(geometries.par_chunks(CHUNK))
            .enumerate()
            .map(|(c, (out, geoms))| {
                let mut ext = None;
                for (i, (slot, g)) in out.iter_mut().zip(geoms).enumerate() {
                    if let Some(e) = g.as_ref().and_then(envelope) {
                        let (lo, hi) = (
                            [down(e[0] - origin[0]), down(e[1] - origin[1])],
                            [up(e[2] - origin[0]), up(e[3] - origin[1])],
                        );
                        *slot = Entry {
                            env: AABB::from_corners(lo, hi),
                            row: (c * CHUNK + i) as u32,
                        };
                        ext = union(ext, Some(e));
                    }
                }
                ext
            })
            .reduce(|| None, union);
        entries.retain(|e| e.row != NONE);
        SpatialIndex {
            trees: bulk_load_parallel(entries, rayon::current_num_threads()),
            origin,
            slack: extent.map_or(0.0, |e| Self::slack_for(origin, e)),
            extent,
        }
    }

    /// A bound on how much a distance measured between f32 points and boxes about `origin`
    /// can exceed the true one, for data inside `extent`: a few units in the last place of the
    /// largest local coordinate (the query point's own rounding and the f32 arithmetic).
    fn slack_for(origin: [f64; 2], extent: [f64; 4]) -> f64 {
        let m = [
            extent[0] - origin[0],
            extent[1] - origin[1],
            extent[2] - origin[0],
            extent[3] - origin[1],
        ]
        .iter()
        .fold(1.0f64, |m, v| m.max(v.abs()));
        m * f64::from(f32::EPSILON) * 8.0
    }

    /// How much a distance measured on the f32 boxes (from a query point up to `d` away from
    /// the data) can exceed the true one.
    fn slack(&self, d: f64) -> f64 {
        self.slack + d.abs() * f64::from(f32::EPSILON) * 8.0
    }

    /// A query point in the trees' f32 frame (nearest f32).
    fn local_point(&self, x: f64, y: f64) -> [f32; 2] {
        [(x - self.origin[0]) as f32, (y - self.origin[1]) as f32]
    }

    /// Number of indexed features.
    pub fn len(&self) -> usize {
        self.trees.iter().map(RTree::size).sum()
    }

    /// Envelope `[xmin, ymin, xmax, ymax]` of everything indexed (exact, in f64).
    pub fn extent(&self) -> Option<[f64; 4]> {
        self.extent
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows whose envelope intersects `[xmin, ymin, xmax, ymax]` (candidates only).
    pub fn candidates(&self, bbox: [f64; 4]) -> impl Iterator<Item = usize> + '_ {
        // Rounded outwards: every envelope that meets the box in f64 meets it here too.
        let (o, slack) = (self.origin, self.slack);
        let aabb = AABB::from_corners(
            [down(bbox[0] - o[0] - slack), down(bbox[1] - o[1] - slack)],
            [up(bbox[2] - o[0] + slack), up(bbox[3] - o[1] + slack)],
        );
        self.trees
            .iter()
            .flat_map(move |t| t.locate_in_envelope_intersecting(&aabb).map(|e| e.row as usize).collect::<Vec<_>>())
    }

    /// Rows whose geometry intersects the envelope, sorted by row.
    pub fn in_envelope(&self, geometries: &[Option<Geometry>], bbox: [f64; 4]) -> Vec<usize> {
        let rect = Geometry::Rect(Rect::new(coord! {x: bbox[0], y: bbox[1]}, coord! {x: bbox[2], y: bbox[3]}));
        let mut rows: Vec<usize> = self
            .candidates(bbox)
            .filter(|&r| geometries[r].as_ref().is_some_and(|g| g.intersects(&rect)))
            .collect();
        rows.sort_unstable();
        rows
    }

    /// Rows whose geometry intersects `area` (any geometry, e.g. a query envelope reprojected
    /// from another CRS), sorted by row.
    pub fn intersecting(&self, geometries: &[Option<Geometry>], area: &Geometry) -> Vec<usize> {
        let Some(r) = area.bounding_rect() else { return Vec::new() };
        let mut rows: Vec<usize> = self
            .candidates([r.min().x, r.min().y, r.max().x, r.max().y])
            .filter(|&row| geometries[row].as_ref().is_some_and(|g| g.intersects(area)))
            .collect();
        rows.sort_unstable();
        rows
    }

    /// Rows under the point: polygons that contain it, and lines and points within
    /// `tolerance` of it, nearest first.
    pub fn at_point(&self, geometries: &[Option<Geometry>], x: f64, y: f64, tolerance: f64) -> Vec<Hit> {
        self.within_distance(geometries, x, y, tolerance)
    }

    /// Every row whose geometry lies within `distance` of the point, nearest first.
    pub fn within_distance(&self, geometries: &[Option<Geometry>], x: f64, y: f64, distance: f64) -> Vec<Hit> {
        let p = Point::new(x, y);
        let mut hits: Vec<Hit> = self
            .trees
            .iter()
            .flat_map(|t| {
                let reach = (distance + self.slack(distance)) as f32;
                t.locate_within_distance(self.local_point(x, y), reach * reach)
            })
            .filter_map(|e| {
                let row = e.row as usize;
                let d = Euclidean.distance(&p, geometries[row].as_ref()?);
                (d <= distance).then_some(Hit { row, distance: d })
            })
            .collect();
        hits.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.row.cmp(&b.row)));
        hits
    }

    /// The `k` rows nearest to the point by exact geometry distance (not envelope distance),
    /// nearest first; ties are broken by row.
    pub fn nearest(&self, geometries: &[Option<Geometry>], x: f64, y: f64, k: usize) -> Vec<Hit> {
        if k == 0 {
            return Vec::new();
        }
        let p = Point::new(x, y);
        // No more than the layer holds (a user may ask for "all" with a huge k).
        let k = k.min(geometries.len());
        let mut best: BinaryHeap<ByDist> = BinaryHeap::with_capacity(k.saturating_add(1));
        // Merge the trees' envelope-ordered streams into one, nearest envelope first.
        let mut streams: Vec<_> = self
            .trees
            .iter()
            .map(|t| t.nearest_neighbor_iter_with_distance_2(&self.local_point(x, y)).peekable())
            .collect();
        let merged = std::iter::from_fn(move || {
            let best = streams
                .iter_mut()
                .enumerate()
                .filter_map(|(i, s)| s.peek().map(|(_, d)| (i, *d)))
                .min_by(|a, b| a.1.total_cmp(&b.1))?
                .0;
            streams[best].next()
        });
        for (e, env_d2) in merged {
            if best.len() == k {
                let worst = best.peek().expect("k > 0").0;
                // Envelope distance (less the f32 rounding) is a lower bound of the exact
                // distance, and the stream only grows.
                let env_d = f64::from(env_d2).sqrt();
                if env_d - self.slack(env_d) > worst {
                    break;
                }
            }
            let row = e.row as usize;
            let Some(g) = geometries[row].as_ref() else { continue };
            let d = Euclidean.distance(&p, g);
            best.push(ByDist(d, row));
            if best.len() > k {
                best.pop();
            }
        }
        let mut out: Vec<Hit> = best.into_iter().map(|b| Hit { row: b.1, distance: b.0 }).collect();
        out.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.row.cmp(&b.row)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    /// A repeatable stream of numbers in [0, 1) (a 64-bit LCG).
    fn uniform(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn square(x: f64, y: f64, s: f64) -> Option<Geometry> {
        Some(Geometry::Polygon(Polygon::new(
            LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)]),
            vec![],
        )))
    }

    #[test]
    fn exact_nearest_beats_envelope_order() {
        // A long diagonal line whose envelope covers the query point but whose geometry is far,
        // and a small square just outside: the square must come first.
        let geoms = vec![
            Some(Geometry::LineString(LineString::from(vec![(0.0, 0.0), (100.0, 100.0)]))),
            square(80.0, 10.0, 2.0),
            None,
        ];
        let idx = SpatialIndex::build(&geoms);
        assert_eq!(idx.len(), 2);
        let hits = idx.nearest(&geoms, 85.0, 10.0, 2);
        assert_eq!(hits[0].row, 1);
        assert!((hits[0].distance - 3.0).abs() < 1e-12);
        assert_eq!(hits[1].row, 0);
        assert!((hits[1].distance - 75.0 / 2f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn identify_and_envelope() {
        let geoms = vec![
            square(0.0, 0.0, 10.0),
            square(20.0, 0.0, 10.0),
            Some(Geometry::Point(Point::new(5.0, 30.0))),
        ];
        let idx = SpatialIndex::build(&geoms);
        let under = idx.at_point(&geoms, 5.0, 5.0, 0.0);
        assert_eq!(under.iter().map(|h| h.row).collect::<Vec<_>>(), vec![0]);
        assert_eq!(idx.in_envelope(&geoms, [4.0, 9.0, 21.0, 31.0]), vec![0, 1, 2]);
        assert_eq!(idx.in_envelope(&geoms, [11.0, 11.0, 19.0, 19.0]), Vec::<usize>::new());
        let near = idx.within_distance(&geoms, 15.0, 5.0, 5.0);
        assert_eq!(near.iter().map(|h| h.row).collect::<Vec<_>>(), vec![0, 1]);
    }

    #[test]
    fn split_index_answers_like_a_single_tree() {
        let mut rnd = uniform(7);
        let geoms: Vec<Option<Geometry>> = (0..SPLIT_AT + 1000)
            .map(|_| square(rnd() * 10_000.0, rnd() * 10_000.0, 1.0 + rnd() * 5.0))
            .collect();
        let split = SpatialIndex::build(&geoms);
        let mut single = SpatialIndex::build(&geoms);
        single.trees = bulk_load_parallel(single.trees.iter().flat_map(|t| t.iter().cloned()).collect(), 1);
        assert_eq!(split.len(), single.len());
        assert_eq!(split.extent(), single.extent());
        let mut all = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for r in geoms.iter().flatten().filter_map(|g| g.bounding_rect()) {
            all = [
                all[0].min(r.min().x),
                all[1].min(r.min().y),
                all[2].max(r.max().x),
                all[3].max(r.max().y),
            ];
        }
        assert_eq!(split.extent(), Some(all));
        assert_eq!(SpatialIndex::build(&[None]).extent(), None);
        if rayon::current_num_threads() > 1 {
            assert!(split.trees.len() > 1);
        }
        for _ in 0..30 {
            let (x, y) = (rnd() * 10_000.0, rnd() * 10_000.0);
            assert_eq!(split.nearest(&geoms, x, y, 9), single.nearest(&geoms, x, y, 9));
            assert_eq!(
                split.within_distance(&geoms, x, y, 120.0),
                single.within_distance(&geoms, x, y, 120.0)
            );
            assert_eq!(
                split.in_envelope(&geoms, [x, y, x + 300.0, y + 200.0]),
                single.in_envelope(&geoms, [x, y, x + 300.0, y + 200.0])
            );
        }
    }

    /// Gauss-Krüger-sized coordinates (500 km east, 3,400 km north) over 60 km, features down
    /// to a millimetre apart: the f32 boxes about their origin must not lose one answer.
    #[test]
    fn f32_boxes_lose_nothing_at_gauss_kruger_coordinates() {
        let mut rnd = uniform(99);
        let (x0, y0) = (470_000.0, 3_380_000.0);
        let mut geoms: Vec<Option<Geometry>> = Vec::new();
        for i in 0..6000 {
            let (x, y) = (x0 + rnd() * 60_000.0, y0 + rnd() * 60_000.0);
            geoms.push(if i % 3 == 0 {
                Some(Geometry::Point(Point::new(x, y)))
            } else {
                square(x, y, 0.001 + rnd() * 3.0)
            });
            // A twin a millimetre or less away: near-ties that f32 alone cannot tell apart.
            if i % 50 == 0 {
                geoms.push(Some(Geometry::Point(Point::new(x + 0.0007, y - 0.0004))));
            }
        }
        let idx = SpatialIndex::build(&geoms);
        assert_eq!(idx.len(), geoms.len());
        for q in 0..300 {
            // Queries on features (distance 0 and ties) and between them.
            let (x, y) = if q % 3 == 0 {
                let g = geoms[(q * 37) % geoms.len()].as_ref().unwrap();
                let c = g.bounding_rect().unwrap().min();
                (c.x, c.y)
            } else {
                (x0 + rnd() * 60_000.0, y0 + rnd() * 60_000.0)
            };
            let p = Point::new(x, y);
            let mut all: Vec<(f64, usize)> = geoms
                .iter()
                .enumerate()
                .map(|(i, g)| (Euclidean.distance(&p, g.as_ref().unwrap()), i))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let got: Vec<usize> = idx.nearest(&geoms, x, y, 6).iter().map(|h| h.row).collect();
            assert_eq!(got, all[..6].iter().map(|a| a.1).collect::<Vec<_>>(), "nearest at {x},{y}");
            // Within exactly the distance of the 4th nearest: that one is included.
            let r = all[3].0;
            let within: Vec<usize> = idx.within_distance(&geoms, x, y, r).iter().map(|h| h.row).collect();
            let want: Vec<usize> = all.iter().take_while(|a| a.0 <= r).map(|a| a.1).collect();
            assert_eq!(within, want, "within {r} of {x},{y}");
            // A box whose edge touches a feature's corner exactly.
            let c = geoms[all[0].1].as_ref().unwrap().bounding_rect().unwrap();
            let bbox = [c.max().x, c.max().y, c.max().x + 200.0, c.max().y + 150.0];
            let rect = Geometry::Rect(Rect::new(coord! {x: bbox[0], y: bbox[1]}, coord! {x: bbox[2], y: bbox[3]}));
            let want: Vec<usize> = (0..geoms.len()).filter(|&i| geoms[i].as_ref().unwrap().intersects(&rect)).collect();
            assert_eq!(idx.in_envelope(&geoms, bbox), want);
        }
    }

    #[test]
    fn nearest_agrees_with_brute_force() {
        let mut geoms = Vec::new();
        let mut rnd = uniform(12345);
        for _ in 0..500 {
            geoms.push(square(rnd() * 1000.0, rnd() * 1000.0, 1.0 + rnd() * 20.0));
        }
        let idx = SpatialIndex::build(&geoms);
        for _ in 0..50 {
            let (x, y) = (rnd() * 1000.0, rnd() * 1000.0);
            let got = idx.nearest(&geoms, x, y, 7);
            let mut all: Vec<(f64, usize)> = geoms
                .iter()
                .enumerate()
                .map(|(i, g)| (Euclidean.distance(&Point::new(x, y), g.as_ref().unwrap()), i))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let want: Vec<usize> = all[..7].iter().map(|a| a.1).collect();
            assert_eq!(got.iter().map(|h| h.row).collect::<Vec<_>>(), want);
        }
    }
}
