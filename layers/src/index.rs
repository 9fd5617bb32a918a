//! R-tree index of a layer's geometries (bulk-loaded envelopes) and the queries on top of it:
//! features in an envelope, features under a point, k nearest by exact geometry distance, and
//! features within a distance. Candidate envelopes come from the tree; answers are exact.
//!
//! The tree is static and packed (`Packed`): the envelopes sorted along a Hilbert curve are its
//! leaves, and each level above holds the boxes of runs of 16 of the level below — no pointers,
//! no per-node allocation: 24 bytes a feature (rstar's bulk-loaded tree took 64), built by one
//! parallel sort. The envelopes are stored as f32 about a local origin (the first feature's
//! centre), rounded outwards so that each contains its feature. Only candidates come from them;
//! every answer is decided on the f64 geometry, and distance bounds allow for the rounding (see
//! `SpatialIndex::slack`).

use crate::geoms::{GeomRef, Geometries};
use geo::{BoundingRect, Distance, Euclidean, Geometry, Intersects, Point, Rect, coord};
use rayon::prelude::*;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One indexed feature, a leaf of the tree: its envelope `[xmin, ymin, xmax, ymax]` (f32 about
/// the local origin), its row, and its place on the Hilbert curve (the order of the leaves).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Leaf {
    b: [f32; 4],
    row: u32,
    key: u32,
}

/// Children per node.
const NODE: usize = 16;

/// A static R-tree packed along a Hilbert curve.
#[derive(Debug, Clone, Default)]
struct Packed {
    /// The leaves, in Hilbert order.
    leaves: Vec<Leaf>,
    /// The boxes of the levels above the leaves, lowest level first; node `i` of a level covers
    /// nodes `16 i .. 16 i + 16` of the level below.
    nodes: Vec<[f32; 4]>,
    /// Where each level above the leaves starts in `nodes`, and where the last ends.
    levels: Vec<usize>,
}

/// Squared distance from a point to a box (0 inside), in f64 from the f32 values.
#[inline]
fn box_d2(b: &[f32; 4], p: [f32; 2]) -> f64 {
    let d = |lo: f32, hi: f32, v: f32| {
        let (lo, hi, v) = (f64::from(lo), f64::from(hi), f64::from(v));
        if v < lo {
            lo - v
        } else if v > hi {
            v - hi
        } else {
            0.0
        }
    };
    let (dx, dy) = (d(b[0], b[2], p[0]), d(b[1], b[3], p[1]));
    dx * dx + dy * dy
}

#[inline]
fn meets(a: &[f32; 4], b: &[f32; 4]) -> bool {
    a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
}

fn cover<'a>(boxes: impl IntoIterator<Item = &'a [f32; 4]>) -> [f32; 4] {
    boxes.into_iter().fold([f32::MAX, f32::MAX, f32::MIN, f32::MIN], |a, b| {
        [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]
    })
}

/// The position of `(x, y)` (16 bits each) along the Hilbert curve of order 16: four steps of
/// four levels each through a table (`HILBERT_STEPS`), without a branch (the level-by-level
/// definition, whose turns a processor cannot predict, took a tenth of an index build).
pub fn hilbert(x: u32, y: u32) -> u32 {
    let mut d = 0u32;
    let mut state = 0usize;
    for shift in [12, 8, 4, 0] {
        let e = HILBERT_STEPS[state << 8 | ((x >> shift & 15) << 4 | (y >> shift & 15)) as usize];
        d = d << 8 | u32::from(e & 0xff);
        state = usize::from(e >> 8);
    }
    d
}

/// Four levels of the Hilbert curve at a time: for the orientation reached so far (bit 0: both
/// coordinates complemented, bit 1: swapped) and four bits of x and of y, the curve's eight bits
/// (low byte) and the orientation after them (the byte above).
static HILBERT_STEPS: [u16; 1024] = hilbert_steps();

const fn hilbert_steps() -> [u16; 1024] {
    let mut t = [0u16; 1024];
    let mut i = 0;
    while i < 1024 {
        let (mut flipped, mut swapped) = ((i >> 8) & 1, i >> 9);
        let (xs, ys) = ((i >> 4) & 15, i & 15);
        let mut d = 0;
        let mut level = 4;
        while level > 0 {
            level -= 1;
            let (ox, oy) = ((xs >> level) & 1, (ys >> level) & 1);
            let (mut rx, mut ry) = if swapped == 1 { (oy, ox) } else { (ox, oy) };
            rx ^= flipped;
            ry ^= flipped;
            d = d << 2 | ((3 * rx) ^ ry);
            // The quadrant's turn: reflected across the anti-diagonal in the lower right one,
            // across the diagonal in the lower left (the upper two keep the orientation).
            if ry == 0 {
                flipped ^= rx;
                swapped ^= 1;
            }
        }
        t[i] = (d | (flipped | swapped << 1) << 8) as u16;
        i += 1;
    }
    t
}

impl Packed {
    /// Pack `leaves` (their keys not yet set): keys from the box centres on a 65,536² grid over
    /// their extent, one parallel sort, then the levels above.
    fn build(mut leaves: Vec<Leaf>) -> Packed {
        if leaves.is_empty() {
            return Packed::default();
        }
        let all = leaves.par_chunks(16_384).map(|c| cover(c.iter().map(|l| &l.b))).reduce(
            || [f32::MAX, f32::MAX, f32::MIN, f32::MIN],
            |a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])],
        );
        let (w, h) = (f64::from(all[2] - all[0]).max(1e-30), f64::from(all[3] - all[1]).max(1e-30));
        leaves.par_iter_mut().for_each(|l| {
            let cx = (f64::from(l.b[0]) + f64::from(l.b[2])) / 2.0 - f64::from(all[0]);
            let cy = (f64::from(l.b[1]) + f64::from(l.b[3])) / 2.0 - f64::from(all[1]);
            l.key = hilbert((cx / w * 65_535.0) as u32, (cy / h * 65_535.0) as u32);
        });
        leaves.par_sort_unstable_by_key(|l| (l.key, l.row));
        let mut nodes: Vec<[f32; 4]> = leaves.par_chunks(NODE).map(|c| cover(c.iter().map(|l| &l.b))).collect();
        let mut levels = vec![0];
        let mut below = 0..nodes.len();
        while below.len() > 1 {
            let up: Vec<[f32; 4]> = nodes[below.clone()].chunks(NODE).map(cover).collect();
            let start = nodes.len();
            nodes.extend(up);
            levels.push(start);
            below = start..nodes.len();
        }
        levels.push(nodes.len());
        Packed { leaves, nodes, levels }
    }

    fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Number of levels above the leaves.
    fn height(&self) -> usize {
        self.levels.len().saturating_sub(1)
    }

    /// The box of node `i` of `level` (0: the leaves).
    #[inline]
    fn bx(&self, level: usize, i: usize) -> &[f32; 4] {
        if level == 0 {
            &self.leaves[i].b
        } else {
            &self.nodes[self.levels[level - 1] + i]
        }
    }

    /// The children of node `i` of `level` ≥ 1: indices in `level - 1`.
    #[inline]
    fn children(&self, level: usize, i: usize) -> std::ops::Range<usize> {
        let count = if level == 1 {
            self.leaves.len()
        } else {
            self.levels[level - 1] - self.levels[level - 2]
        };
        NODE * i..(NODE * i + NODE).min(count)
    }

    /// The top level's nodes (the root, or the leaves of a tree of one node).
    fn top(&self) -> (usize, std::ops::Range<usize>) {
        match self.height() {
            0 => (0, 0..self.leaves.len()),
            h => (h, 0..self.levels[h] - self.levels[h - 1]),
        }
    }

    /// Rows of the leaves whose box meets `q`.
    fn search(&self, q: &[f32; 4], hit: impl FnMut(u32)) {
        self.walk(|b| meets(b, q), hit);
    }

    /// Rows of the leaves whose box lies within `d2` (squared) of `p`.
    fn within(&self, p: [f32; 2], d2: f64, hit: impl FnMut(u32)) {
        self.walk(|b| box_d2(b, p) <= d2, hit);
    }

    /// Rows of the leaves whose box, and every box above it, `keep` accepts.
    fn walk(&self, keep: impl Fn(&[f32; 4]) -> bool, mut hit: impl FnMut(u32)) {
        let (top, range) = self.top();
        let mut stack: Vec<(usize, usize)> = range.map(|i| (top, i)).collect();
        while let Some((level, i)) = stack.pop() {
            if !keep(self.bx(level, i)) {
                continue;
            }
            if level == 0 {
                hit(self.leaves[i].row);
            } else {
                stack.extend(self.children(level, i).map(|c| (level - 1, c)));
            }
        }
    }
}

/// The index of one layer: one envelope per feature that has a geometry, in one packed tree.
#[derive(Debug, Clone, Default)]
pub struct SpatialIndex {
    tree: Packed,
    /// The local origin of the f32 boxes.
    origin: [f64; 2],
    /// The exact envelope of everything indexed.
    extent: Option<[f64; 4]>,
    /// How far (CRS units) a distance measured on the f32 boxes may exceed the true one.
    slack: f64,
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
fn envelope(g: GeomRef<'_>) -> Option<[f64; 4]> {
    let e = g.envelope()?;
    e.iter().all(|v| v.is_finite()).then_some(e)
}

fn union(a: Option<[f64; 4]>, b: Option<[f64; 4]>) -> Option<[f64; 4]> {
    match (a, b) {
        (Some(a), Some(e)) => Some([a[0].min(e[0]), a[1].min(e[1]), a[2].max(e[2]), a[3].max(e[3])]),
        (a, b) => a.or(b),
    }
}

impl SpatialIndex {
    /// Bulk-load the index of `geometries` (rows without geometry are left out).
    pub fn build(geometries: &Geometries) -> SpatialIndex {
        let Some(first) = geometries.iter().flatten().find_map(envelope) else {
            return SpatialIndex::default();
        };
        let origin = [(first[0] + first[2]) / 2.0, (first[1] + first[3]) / 2.0];
        // Filled in place at its final size, chunk by chunk in parallel, the exact extent
        // gathered on the way (an unindexed parallel collect would hold every leaf twice at
        // the peak); rows without an envelope are marked and then removed in place; then
        // sorted in place into the tree.
        const NONE: u32 = u32::MAX;
        const CHUNK: usize = 16_384;
        let none = Leaf {
            b: [0.0; 4],
            row: NONE,
            key: 0,
        };
        // (Marked by both cores: one writing 24 MB alone took 8 ms at a million rows.)
        let mut leaves: Vec<Leaf> = Vec::with_capacity(geometries.len());
        leaves.par_extend(rayon::iter::repeat_n(none, geometries.len()));
        let extent = leaves
            .par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(c, out)| {
                let mut ext = None;
                let rows = geometries.rows(c * CHUNK..(c + 1) * CHUNK);
                for ((i, slot), g) in out.iter_mut().enumerate().zip(rows) {
                    if let Some(e) = g.and_then(envelope) {
                        *slot = Leaf {
                            b: [
                                down(e[0] - origin[0]),
                                down(e[1] - origin[1]),
                                up(e[2] - origin[0]),
                                up(e[3] - origin[1]),
                            ],
                            row: (c * CHUNK + i) as u32,
                            key: 0,
                        };
                        ext = union(ext, Some(e));
                    }
                }
                ext
            })
            .reduce(|| None, union);
        leaves.retain(|e| e.row != NONE);
        SpatialIndex {
            tree: Packed::build(leaves),
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
        self.tree.len()
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
        let q = [
            down(bbox[0] - o[0] - slack),
            down(bbox[1] - o[1] - slack),
            up(bbox[2] - o[0] + slack),
            up(bbox[3] - o[1] + slack),
        ];
        let mut rows = Vec::new();
        self.tree.search(&q, |r| rows.push(r as usize));
        rows.into_iter()
    }

    /// Rows whose geometry intersects the envelope, sorted by row.
    pub fn in_envelope(&self, geometries: &Geometries, bbox: [f64; 4]) -> Vec<usize> {
        let rect = Geometry::Rect(Rect::new(coord! {x: bbox[0], y: bbox[1]}, coord! {x: bbox[2], y: bbox[3]}));
        let mut rows: Vec<usize> = self
            .candidates(bbox)
            .filter(|&r| {
                geometries.get(r).is_some_and(|g| {
                    // Wholly inside the box: it meets the box, no geo geometry needed.
                    g.envelope()
                        .is_some_and(|e| e[0] >= bbox[0] && e[1] >= bbox[1] && e[2] <= bbox[2] && e[3] <= bbox[3])
                        || g.to_geo().intersects(&rect)
                })
            })
            .collect();
        rows.sort_unstable();
        rows
    }

    /// Rows whose geometry intersects `area` (any geometry, e.g. a query envelope reprojected
    /// from another CRS), sorted by row.
    pub fn intersecting(&self, geometries: &Geometries, area: &Geometry) -> Vec<usize> {
        let Some(r) = area.bounding_rect() else { return Vec::new() };
        let mut rows: Vec<usize> = self
            .candidates([r.min().x, r.min().y, r.max().x, r.max().y])
            .filter(|&row| geometries.geometry(row).is_some_and(|g| g.intersects(area)))
            .collect();
        rows.sort_unstable();
        rows
    }

    /// Rows under the point: polygons that contain it, and lines and points within
    /// `tolerance` of it, nearest first.
    pub fn at_point(&self, geometries: &Geometries, x: f64, y: f64, tolerance: f64) -> Vec<Hit> {
        self.within_distance(geometries, x, y, tolerance)
    }

    /// Every row whose geometry lies within `distance` of the point, nearest first.
    pub fn within_distance(&self, geometries: &Geometries, x: f64, y: f64, distance: f64) -> Vec<Hit> {
        let p = Point::new(x, y);
        let reach = distance + self.slack(distance);
        let mut hits: Vec<Hit> = Vec::new();
        self.tree.within(self.local_point(x, y), reach * reach, |r| {
            let row = r as usize;
            if let Some(g) = geometries.get(row) {
                let d = exact_distance(&p, g);
                if d <= distance {
                    hits.push(Hit { row, distance: d });
                }
            }
        });
        hits.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.row.cmp(&b.row)));
        hits
    }

    /// The `k` rows nearest to the point by exact geometry distance (not envelope distance),
    /// nearest first; ties are broken by row.
    pub fn nearest(&self, geometries: &Geometries, x: f64, y: f64, k: usize) -> Vec<Hit> {
        self.nearest_in(geometries, x, y, k, &[], &mut NearScratch::default())
    }

    /// [`nearest`](Self::nearest) for each of many points, answers in the order of `points`.
    ///
    /// The points are searched along a Hilbert curve over their own extent, in parallel: points
    /// close in that order meet the same nodes, leaves and geometries, which are then still in
    /// the cache (in a random order nearly every one is a miss), and each thread reuses one set
    /// of search queues.
    pub fn nearest_each(&self, geometries: &Geometries, points: &[[f64; 2]], k: usize) -> Vec<Vec<Hit>> {
        let ext = points
            .iter()
            .filter(|p| p[0].is_finite() && p[1].is_finite())
            .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |a, p| {
                [a[0].min(p[0]), a[1].min(p[1]), a[2].max(p[0]), a[3].max(p[1])]
            });
        let (w, h) = ((ext[2] - ext[0]).max(1e-30), (ext[3] - ext[1]).max(1e-30));
        // (Non-finite points get some key: `as` saturates, and their answer is still exact.)
        let mut order: Vec<(u32, u32)> = points
            .par_iter()
            .enumerate()
            .map(|(i, p)| {
                let gx = ((p[0] - ext[0]) / w * 65_535.0) as u32;
                let gy = ((p[1] - ext[1]) / h * 65_535.0) as u32;
                (hilbert(gx.min(65_535), gy.min(65_535)), i as u32)
            })
            .collect();
        order.par_sort_unstable();
        let found: Vec<Vec<Hit>> = order
            .par_chunks(1_024)
            .flat_map_iter(|run| {
                let mut scratch = NearScratch::default();
                // Each search starts from the answer of the point before it on the curve,
                // which is nearly always close to its own: the bound it gives prunes from the
                // first node on.
                let mut seed: Vec<usize> = Vec::new();
                run.iter()
                    .map(|&(_, i)| {
                        let p = points[i as usize];
                        let hits = self.nearest_in(geometries, p[0], p[1], k, &seed, &mut scratch);
                        seed.clear();
                        seed.extend(hits.iter().map(|h| h.row));
                        hits
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut out = vec![Vec::new(); points.len()];
        for (&(_, i), hits) in order.iter().zip(found) {
            out[i as usize] = hits;
        }
        out
    }

    /// The k nearest to (x, y); `seed` holds rows to measure first (any rows: they only set the
    /// first bound, and the answer is the same without them).
    fn nearest_in(&self, geometries: &Geometries, x: f64, y: f64, k: usize, seed: &[usize], s: &mut NearScratch) -> Vec<Hit> {
        if k == 0 {
            return Vec::new();
        }
        let p = Point::new(x, y);
        // No more than the layer holds (a user may ask for "all" with a huge k).
        let k = k.min(geometries.len());
        let best = &mut s.best;
        best.clear();
        best.reserve(k.saturating_add(1));
        // Depth first, the children of a node in the order of their boxes' distance: the first
        // descent reaches the leaves nearest the point, and what it finds bounds the rest, which
        // is cut off as soon as a box lies beyond the k-th best. No queue: the children of a
        // node are ordered on the stack.
        let q = self.local_point(x, y);
        let t = &self.tree;
        let mut search = Knn {
            t,
            geometries,
            p,
            q,
            k,
            slack: self.slack,
            best,
            limit: f64::INFINITY,
            // A seed row met again in the tree must not be counted twice. (A few seeds at most:
            // a search for many gets none; nor does a point with no place, whose distances
            // are all undefined.)
            seeded: !seed.is_empty() && k <= 64 && x.is_finite() && y.is_finite(),
        };
        if search.seeded {
            for &row in seed {
                if let Some(g) = geometries.get(row)
                    && !search.best.iter().any(|b| b.1 == row)
                {
                    search.offer(exact_distance(&search.p, g), row);
                }
            }
        }
        let (top, range) = t.top();
        if top == 0 {
            search.leaves(range);
        } else {
            search.nodes(top, range);
        }
        let mut out: Vec<Hit> = best.drain().map(|b| Hit { row: b.1, distance: b.0 }).collect();
        out.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.row.cmp(&b.row)));
        out
    }
}

/// The k best of a nearest search, kept between searches of one thread.
#[derive(Default)]
struct NearScratch {
    best: BinaryHeap<ByDist>,
}

/// One k-nearest search under way.
struct Knn<'a> {
    t: &'a Packed,
    geometries: &'a Geometries,
    p: Point,
    q: [f32; 2],
    k: usize,
    slack: f64,
    /// The best found so far, the worst on top.
    best: &'a mut BinaryHeap<ByDist>,
    /// The squared box distance beyond which nothing can beat (or tie) the k-th best.
    limit: f64,
    /// Whether `best` started with seed rows (which the tree then holds a second time).
    seeded: bool,
}

impl Knn<'_> {
    /// Measure the leaves `range` exactly where their box is within the limit.
    fn leaves(&mut self, range: std::ops::Range<usize>) {
        for c in range {
            let leaf = &self.t.leaves[c];
            if box_d2(&leaf.b, self.q) > self.limit {
                continue;
            }
            let row = leaf.row as usize;
            let Some(g) = self.geometries.get(row) else { continue };
            // A point clearly farther than the k-th best (its squared distance a relative 10⁻⁹
            // over, far beyond any rounding) is passed over without its exact distance.
            if let (Some(q), Some(worst)) = (g.point(), self.full_worst()) {
                let (dx, dy) = (self.p.x() - q.x, self.p.y() - q.y);
                if dx * dx + dy * dy > worst * worst * (1.0 + 1e-9) {
                    continue;
                }
            }
            if self.seeded && self.best.iter().any(|b| b.1 == row) {
                continue;
            }
            self.offer(exact_distance(&self.p, g), row);
        }
    }

    /// The k-th best distance once k are found.
    fn full_worst(&self) -> Option<f64> {
        (self.best.len() == self.k).then(|| self.best.peek().expect("k > 0").0)
    }

    /// Keep `row` at distance `d` if it is among the k best so far, and tighten the bound.
    fn offer(&mut self, d: f64, row: usize) {
        let new = ByDist(d, row);
        if self.best.len() < self.k {
            self.best.push(new);
        } else if let Some(mut top) = self.best.peek_mut() {
            if new >= *top {
                return;
            }
            *top = new;
        }
        if let Some(worst) = self.full_worst() {
            // A box farther (squared) than this from the point holds nothing better than the k
            // found: its distance less the f32 rounding — d − (slack + 8 ε d) — is a lower
            // bound of the exact one, so beyond (worst + slack) / (1 − 8 ε) nothing can tie; a
            // hair over, for the rounding of this very bound.
            let r = (worst + self.slack) / (1.0 - 8.0 * f64::from(f32::EPSILON));
            self.limit = r * r * (1.0 + 1e-12);
        }
    }

    /// Search the nodes `range` of `level` ≥ 1, nearest box first.
    fn nodes(&mut self, level: usize, range: std::ops::Range<usize>) {
        let mut order = [(0.0f64, 0usize); NODE];
        let mut n = 0;
        for c in range {
            let d2 = box_d2(self.t.bx(level, c), self.q);
            if d2 <= self.limit {
                // Insertion into the sorted run (at most 16).
                let mut j = n;
                while j > 0 && order[j - 1].0 > d2 {
                    order[j] = order[j - 1];
                    j -= 1;
                }
                order[j] = (d2, c);
                n += 1;
            }
        }
        for &(d2, c) in &order[..n] {
            if d2 > self.limit {
                break;
            }
            let children = self.t.children(level, c);
            if level == 1 {
                self.leaves(children);
            } else {
                self.nodes(level - 1, children);
            }
        }
    }
}

/// The exact distance from `p` to `g`, as geo's Euclidean distance (the same `hypot` between
/// two points, without its dispatch on the geometry's kind).
#[inline]
fn exact_distance(p: &Point, g: GeomRef<'_>) -> f64 {
    match g.point() {
        Some(q) => (p.x() - q.x).hypot(p.y() - q.y),
        None => Euclidean.distance(p, &g.to_geo()),
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
        let store = Geometries::from(geoms.clone());
        let idx = SpatialIndex::build(&store);
        assert_eq!(idx.len(), 2);
        let hits = idx.nearest(&store, 85.0, 10.0, 2);
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
        let store = Geometries::from(geoms.clone());
        let idx = SpatialIndex::build(&store);
        let under = idx.at_point(&store, 5.0, 5.0, 0.0);
        assert_eq!(under.iter().map(|h| h.row).collect::<Vec<_>>(), vec![0]);
        assert_eq!(idx.in_envelope(&store, [4.0, 9.0, 21.0, 31.0]), vec![0, 1, 2]);
        assert_eq!(idx.in_envelope(&store, [11.0, 11.0, 19.0, 19.0]), Vec::<usize>::new());
        let near = idx.within_distance(&store, 15.0, 5.0, 5.0);
        assert_eq!(near.iter().map(|h| h.row).collect::<Vec<_>>(), vec![0, 1]);
    }

    /// A tree of four levels (70,000 features, lines and points among the squares, some rows
    /// without geometry) answers every kind of query as a scan of all the features does.
    #[test]
    fn packed_tree_answers_like_a_scan() {
        let mut rnd = uniform(7);
        let geoms: Vec<Option<Geometry>> = (0..70_000)
            .map(|i| match i % 7 {
                0 => None,
                1 => Some(Geometry::Point(Point::new(rnd() * 10_000.0, rnd() * 10_000.0))),
                2 => {
                    let (x, y) = (rnd() * 10_000.0, rnd() * 10_000.0);
                    Some(Geometry::LineString(LineString::from(vec![
                        (x, y),
                        (x + rnd() * 400.0, y - rnd() * 300.0),
                    ])))
                }
                _ => square(rnd() * 10_000.0, rnd() * 10_000.0, 1.0 + rnd() * 5.0),
            })
            .collect();
        let store = Geometries::from(geoms.clone());
        let idx = SpatialIndex::build(&store);
        assert_eq!(idx.len(), geoms.iter().flatten().count());
        assert!(idx.tree.height() >= 3, "{} levels", idx.tree.height());
        let mut all = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for r in geoms.iter().flatten().filter_map(|g| g.bounding_rect()) {
            all = [
                all[0].min(r.min().x),
                all[1].min(r.min().y),
                all[2].max(r.max().x),
                all[3].max(r.max().y),
            ];
        }
        assert_eq!(idx.extent(), Some(all));
        assert_eq!(SpatialIndex::build(&vec![None::<Geometry>].into()).extent(), None);
        assert!(
            SpatialIndex::build(&vec![None::<Geometry>].into())
                .nearest(&vec![None::<Geometry>].into(), 0.0, 0.0, 3)
                .is_empty()
        );
        for _ in 0..30 {
            let (x, y) = (rnd() * 10_000.0, rnd() * 10_000.0);
            let p = Point::new(x, y);
            let mut scan: Vec<(f64, usize)> = geoms
                .iter()
                .enumerate()
                .filter_map(|(i, g)| Some((Euclidean.distance(&p, g.as_ref()?), i)))
                .collect();
            scan.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let near: Vec<usize> = idx.nearest(&store, x, y, 9).iter().map(|h| h.row).collect();
            assert_eq!(near, scan[..9].iter().map(|a| a.1).collect::<Vec<_>>());
            let within: Vec<usize> = idx.within_distance(&store, x, y, 120.0).iter().map(|h| h.row).collect();
            assert_eq!(within, scan.iter().take_while(|a| a.0 <= 120.0).map(|a| a.1).collect::<Vec<_>>());
            let bbox = [x, y, x + 300.0, y + 200.0];
            let rect = Geometry::Rect(Rect::new(coord! {x: bbox[0], y: bbox[1]}, coord! {x: bbox[2], y: bbox[3]}));
            let want: Vec<usize> = (0..geoms.len())
                .filter(|&i| geoms[i].as_ref().is_some_and(|g| g.intersects(&rect)))
                .collect();
            assert_eq!(idx.in_envelope(&store, bbox), want);
        }
    }

    /// Many points at once answer as one at a time, in the order given, whatever the order
    /// they are searched in (a point with no coordinates included).
    #[test]
    fn nearest_each_answers_as_nearest_in_input_order() {
        let mut rnd = uniform(21);
        let geoms: Vec<Option<Geometry>> = (0..5_000)
            .map(|i| match i % 4 {
                0 => square(rnd() * 5_000.0, rnd() * 5_000.0, 1.0 + rnd() * 30.0),
                1 => None,
                _ => Some(Geometry::Point(Point::new(rnd() * 5_000.0, rnd() * 5_000.0))),
            })
            .collect();
        let store = Geometries::from(geoms.clone());
        let idx = SpatialIndex::build(&store);
        let mut points: Vec<[f64; 2]> = (0..3_000).map(|_| [rnd() * 6_000.0 - 500.0, rnd() * 6_000.0 - 500.0]).collect();
        points.push([f64::NAN, 1.0]);
        for k in [1, 5, 40] {
            let each = idx.nearest_each(&store, &points, k);
            assert_eq!(each.len(), points.len());
            for (p, hits) in points.iter().zip(&each) {
                assert_eq!(hits, &idx.nearest(&store, p[0], p[1], k), "k {k} at {p:?}");
            }
            assert_eq!(each[0].len(), k);
        }
        assert!(idx.nearest_each(&store, &[], 3).is_empty());
    }

    /// The Hilbert position level by level, as the curve is defined (rotating the rest of
    /// the coordinates in each quadrant): what the table-driven [`hilbert`] must give.
    fn hilbert_by_levels(mut x: u32, mut y: u32) -> u32 {
        let n: u32 = 1 << 16;
        let mut d: u64 = 0;
        let mut s = n / 2;
        while s > 0 {
            let rx = u32::from(x & s > 0);
            let ry = u32::from(y & s > 0);
            d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
            if ry == 0 {
                if rx == 1 {
                    x = n - 1 - (x & (n - 1));
                    y = n - 1 - (y & (n - 1));
                }
                std::mem::swap(&mut x, &mut y);
            }
            s /= 2;
        }
        d as u32
    }

    #[test]
    fn hilbert_by_table_is_hilbert_by_levels() {
        let mut r = uniform(7);
        let mut pts: Vec<(u32, u32)> = (0..200_000).map(|_| ((r() * 65_536.0) as u32, (r() * 65_536.0) as u32)).collect();
        pts.extend((0..256).flat_map(|x| (0..256).map(move |y| (x, y))));
        pts.extend([(65_535, 65_535), (0, 65_535), (65_535, 0), (32_768, 32_767)]);
        for (x, y) in pts {
            assert_eq!(hilbert(x, y), hilbert_by_levels(x, y), "({x}, {y})");
        }
    }

    #[test]
    fn hilbert_visits_every_cell_once_in_adjacent_steps() {
        // Order 16 restricted to its first 4 × 4 block is the order-2 curve: 16 cells, each
        // step to a neighbouring cell.
        let mut at: Vec<(u32, u32, u32)> = (0..4).flat_map(|x| (0..4).map(move |y| (hilbert(x, y), x, y))).collect();
        at.sort_unstable();
        assert_eq!(at.iter().map(|a| a.0).collect::<Vec<_>>(), (0..16).collect::<Vec<_>>());
        for w in at.windows(2) {
            assert_eq!(w[0].1.abs_diff(w[1].1) + w[0].2.abs_diff(w[1].2), 1, "{w:?}");
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
        let store = Geometries::from(geoms.clone());
        let idx = SpatialIndex::build(&store);
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
            let got: Vec<usize> = idx.nearest(&store, x, y, 6).iter().map(|h| h.row).collect();
            assert_eq!(got, all[..6].iter().map(|a| a.1).collect::<Vec<_>>(), "nearest at {x},{y}");
            // Within exactly the distance of the 4th nearest: that one is included.
            let r = all[3].0;
            let within: Vec<usize> = idx.within_distance(&store, x, y, r).iter().map(|h| h.row).collect();
            let want: Vec<usize> = all.iter().take_while(|a| a.0 <= r).map(|a| a.1).collect();
            assert_eq!(within, want, "within {r} of {x},{y}");
            // A box whose edge touches a feature's corner exactly.
            let c = geoms[all[0].1].as_ref().unwrap().bounding_rect().unwrap();
            let bbox = [c.max().x, c.max().y, c.max().x + 200.0, c.max().y + 150.0];
            let rect = Geometry::Rect(Rect::new(coord! {x: bbox[0], y: bbox[1]}, coord! {x: bbox[2], y: bbox[3]}));
            let want: Vec<usize> = (0..geoms.len()).filter(|&i| geoms[i].as_ref().unwrap().intersects(&rect)).collect();
            assert_eq!(idx.in_envelope(&store, bbox), want);
        }
    }

    #[test]
    fn nearest_agrees_with_brute_force() {
        let mut geoms = Vec::new();
        let mut rnd = uniform(12345);
        for _ in 0..500 {
            geoms.push(square(rnd() * 1000.0, rnd() * 1000.0, 1.0 + rnd() * 20.0));
        }
        let store = Geometries::from(geoms.clone());
        let idx = SpatialIndex::build(&store);
        for _ in 0..50 {
            let (x, y) = (rnd() * 1000.0, rnd() * 1000.0);
            let got = idx.nearest(&store, x, y, 7);
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
