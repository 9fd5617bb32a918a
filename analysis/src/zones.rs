//! Which control zones each building touches (DE-9IM *intersects*: shared interior or boundary),
//! with zones prepared once: an R-tree over each zone's edges, so that a building is tested
//! against the few edges near it rather than every vertex of a long, thin river zone.

use geo::{Area, BooleanOps, Coord, Geometry, Intersects, Line, Point, Polygon};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

type EdgeEntry = GeomWithData<Rectangle<[f64; 2]>, (Coord, Coord)>;

/// A zone prepared for many intersection tests.
pub struct PreparedZone {
    polygons: Vec<Polygon>,
    edges: RTree<EdgeEntry>,
}

impl PreparedZone {
    /// Prepare a (multi)polygon zone.
    pub fn new(g: &Geometry) -> Option<PreparedZone> {
        let polygons: Vec<Polygon> = crate::polygons(g).into_iter().cloned().collect();
        if polygons.is_empty() {
            return None;
        }
        let mut edges = Vec::new();
        for p in &polygons {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for w in ring.0.windows(2) {
                    let (a, b) = (w[0], w[1]);
                    edges.push(GeomWithData::new(
                        Rectangle::from_corners([a.x.min(b.x), a.y.min(b.y)], [a.x.max(b.x), a.y.max(b.y)]),
                        (a, b),
                    ));
                }
            }
        }
        Some(PreparedZone {
            polygons,
            edges: RTree::bulk_load(edges),
        })
    }

    /// Whether a point that lies on no zone edge is inside the zone: even-odd crossings of a ray
    /// to the east, with only the edges near that ray taken from the edge tree (a point-in-polygon
    /// test over every vertex of a long river zone would cost thousands of steps).
    fn contains_point(&self, c: Coord) -> bool {
        let Some(max_x) = (self.edges.size() > 0).then(|| self.edges.root().envelope().upper()[0]) else {
            return false;
        };
        if c.x > max_x {
            return false;
        }
        let ray = AABB::from_corners([c.x, c.y], [max_x, c.y]);
        let mut inside = false;
        for e in self.edges.locate_in_envelope_intersecting(&ray) {
            let (a, b) = e.data;
            // Half-open in y, so that a vertex on the ray counts once.
            if (a.y > c.y) != (b.y > c.y) {
                let x = a.x + (c.y - a.y) * (b.x - a.x) / (b.y - a.y);
                if x > c.x {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// True when the building polygon and the zone share at least one point.
    pub fn intersects(&self, building: &Polygon) -> bool {
        // 1. Any building edge meets any zone edge near it.
        for ring in std::iter::once(building.exterior()).chain(building.interiors()) {
            for w in ring.0.windows(2) {
                let bl = Line::new(w[0], w[1]);
                let env = AABB::from_corners([w[0].x.min(w[1].x), w[0].y.min(w[1].y)], [w[0].x.max(w[1].x), w[0].y.max(w[1].y)]);
                for e in self.edges.locate_in_envelope_intersecting(&env) {
                    if bl.intersects(&Line::new(e.data.0, e.data.1)) {
                        return true;
                    }
                }
            }
        }
        // 2. No edges cross: one lies wholly inside the other (or they are apart).
        if let Some(c) = building.exterior().0.first()
            && self.contains_point(*c)
        {
            return true;
        }
        self.polygons
            .iter()
            .filter_map(|z| z.exterior().0.first())
            .any(|c| building.intersects(&Point(*c)))
    }
}

/// Zones prepared once and indexed by their boxes, for many buildings.
pub struct ZoneSet {
    prepared: Vec<(usize, PreparedZone)>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>,
}

impl ZoneSet {
    /// Prepare the zones (in the buildings' projected CRS); empty and non-polygonal ones are ignored.
    pub fn new(zones: &[Option<Geometry>]) -> ZoneSet {
        let prepared: Vec<(usize, PreparedZone)> = zones
            .par_iter()
            .enumerate()
            .filter_map(|(i, g)| Some((i, PreparedZone::new(g.as_ref()?)?)))
            .collect();
        let entries: Vec<GeomWithData<Rectangle<[f64; 2]>, u32>> = prepared
            .iter()
            .enumerate()
            .filter(|&(_k, (_, z))| z.edges.size() > 0)
            .map(|(k, (_, z))| GeomWithData::new(Rectangle::from_aabb(z.edges.root().envelope()), k as u32))
            .collect();
        ZoneSet {
            prepared,
            tree: RTree::bulk_load(entries),
        }
    }

    /// The zones (indices into the input slice) that a building touches, sorted.
    pub fn hits(&self, building: &Geometry) -> Vec<u32> {
        let mut hits = Vec::new();
        for b in crate::polygons(building) {
            let Some(env) = crate::aabb(b) else { continue };
            for e in self.tree.locate_in_envelope_intersecting(&env) {
                let (zone_index, z) = &self.prepared[e.data as usize];
                if !hits.contains(&(*zone_index as u32)) && z.intersects(b) {
                    hits.push(*zone_index as u32);
                }
            }
        }
        hits.sort_unstable();
        hits
    }

    /// Area (m²) of a building inside one zone (`zone` is an index into the input slice).
    pub fn overlap_area(&self, zone: u32, building: &Geometry) -> f64 {
        let Some((_, z)) = self.prepared.iter().find(|(i, _)| *i == zone as usize) else {
            return 0.0;
        };
        crate::polygons(building).into_iter().map(|b| z.overlap_area(b)).sum()
    }
}

impl PreparedZone {
    /// Area of the building polygon inside the zone. When no zone edge comes near the
    /// building it is wholly inside or wholly outside; otherwise the exact boolean intersection.
    pub fn overlap_area(&self, building: &Polygon) -> f64 {
        let Some(env) = crate::aabb(building) else { return 0.0 };
        if self.edges.locate_in_envelope_intersecting(&env).next().is_none() {
            let inside = building.exterior().0.first().is_some_and(|c| self.contains_point(*c));
            return if inside { building.unsigned_area() } else { 0.0 };
        }
        self.polygons.iter().map(|z| building.intersection(z).unsigned_area()).sum()
    }
}

/// For each building, the indices of the zones it touches (sorted), in parallel.
pub fn zone_hits(buildings: &[Option<Geometry>], zones: &[Option<Geometry>]) -> Vec<Vec<u32>> {
    let set = ZoneSet::new(zones);
    buildings
        .par_iter()
        .map(|g| g.as_ref().map(|g| set.hits(g)).unwrap_or_default())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::LineString;

    fn sq(x: f64, y: f64, s: f64) -> Option<Geometry> {
        Some(Geometry::Polygon(Polygon::new(
            LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)]),
            vec![],
        )))
    }

    #[test]
    fn inside_crossing_touching_and_apart() {
        // A ring-shaped zone (a hole in the middle) of 0..100 with hole 40..60.
        let zone = Some(Geometry::Polygon(Polygon::new(
            LineString::from(vec![(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0), (0.0, 0.0)]),
            vec![LineString::from(vec![
                (40.0, 40.0),
                (60.0, 40.0),
                (60.0, 60.0),
                (40.0, 60.0),
                (40.0, 40.0),
            ])],
        )));
        let buildings = vec![
            sq(10.0, 10.0, 5.0),     // inside
            sq(95.0, 50.0, 10.0),    // crossing the outer edge
            sq(100.0, 10.0, 5.0),    // touching the outer edge
            sq(45.0, 45.0, 5.0),     // inside the hole: apart
            sq(200.0, 200.0, 5.0),   // far
            sq(-50.0, -50.0, 300.0), // containing the whole zone
        ];
        let hits = zone_hits(&buildings, std::slice::from_ref(&zone));
        let flags: Vec<bool> = hits.iter().map(|h| !h.is_empty()).collect();
        assert_eq!(flags, vec![true, true, true, false, false, true]);
        // Overlap areas: inside 25, half across the edge 50, touching 0, apart 0, far 0, and
        // the building holding the zone overlaps all of it (100² − 20²).
        let set = ZoneSet::new(&[zone]);
        let areas: Vec<f64> = buildings.iter().map(|b| set.overlap_area(0, b.as_ref().unwrap())).collect();
        let want = [25.0, 50.0, 0.0, 0.0, 0.0, 9600.0];
        for (a, w) in areas.iter().zip(want) {
            assert!((a - w).abs() < 1e-6, "{areas:?}");
        }
    }
}
