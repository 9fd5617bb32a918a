//! R-tree index of a layer's geometries (bulk-loaded envelopes) and the queries on top of it:
//! features in an envelope, features under a point, k nearest by exact geometry distance, and
//! features within a distance. Candidate envelopes come from the tree; answers are exact.

use geo::{BoundingRect, Distance, Euclidean, Geometry, Intersects, Point, Rect, coord};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// The R-tree of one layer: one envelope per feature that has a geometry.
#[derive(Debug, Clone, Default)]
pub struct SpatialIndex {
    tree: RTree<Entry>,
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

fn envelope(g: &Geometry) -> Option<Rectangle<[f64; 2]>> {
    let r = g.bounding_rect()?;
    let (a, b) = (r.min(), r.max());
    if !(a.x.is_finite() && a.y.is_finite() && b.x.is_finite() && b.y.is_finite()) {
        return None;
    }
    Some(Rectangle::from_corners([a.x, a.y], [b.x, b.y]))
}

impl SpatialIndex {
    /// Bulk-load the index of `geometries` (rows without geometry are left out).
    pub fn build(geometries: &[Option<Geometry>]) -> SpatialIndex {
        let entries: Vec<Entry> = geometries
            .par_iter()
            .enumerate()
            .filter_map(|(row, g)| Some(GeomWithData::new(envelope(g.as_ref()?)?, row as u32)))
            .collect();
        SpatialIndex { tree: RTree::bulk_load(entries) }
    }

    /// Number of indexed features.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Rows whose envelope intersects `[xmin, ymin, xmax, ymax]` (candidates only).
    pub fn candidates(&self, bbox: [f64; 4]) -> impl Iterator<Item = usize> + '_ {
        let aabb = AABB::from_corners([bbox[0], bbox[1]], [bbox[2], bbox[3]]);
        self.tree.locate_in_envelope_intersecting(&aabb).map(|e| e.data as usize)
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
            .tree
            .locate_within_distance([x, y], distance * distance)
            .filter_map(|e| {
                let row = e.data as usize;
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
        let mut best: BinaryHeap<ByDist> = BinaryHeap::with_capacity(k + 1);
        for (e, env_d2) in self.tree.nearest_neighbor_iter_with_distance_2(&[x, y]) {
            if best.len() == k {
                let worst = best.peek().expect("k > 0").0;
                // Envelope distance is a lower bound of the exact distance.
                if env_d2 > worst * worst {
                    break;
                }
            }
            let row = e.data as usize;
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
        let geoms = vec![square(0.0, 0.0, 10.0), square(20.0, 0.0, 10.0), Some(Geometry::Point(Point::new(5.0, 30.0)))];
        let idx = SpatialIndex::build(&geoms);
        let under = idx.at_point(&geoms, 5.0, 5.0, 0.0);
        assert_eq!(under.iter().map(|h| h.row).collect::<Vec<_>>(), vec![0]);
        assert_eq!(idx.in_envelope(&geoms, [4.0, 9.0, 21.0, 31.0]), vec![0, 1, 2]);
        assert_eq!(idx.in_envelope(&geoms, [11.0, 11.0, 19.0, 19.0]), Vec::<usize>::new());
        let near = idx.within_distance(&geoms, 15.0, 5.0, 5.0);
        assert_eq!(near.iter().map(|h| h.row).collect::<Vec<_>>(), vec![0, 1]);
    }

    #[test]
    fn nearest_agrees_with_brute_force() {
        let mut geoms = Vec::new();
        let mut s = 12345u64;
        let mut rnd = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
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
