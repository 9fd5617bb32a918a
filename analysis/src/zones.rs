//! Which control zones each building touches (DE-9IM *intersects*: shared interior or boundary),
//! with zones prepared once: an R-tree over each zone's edges, so that a building is tested
//! against the few edges near it rather than every vertex of a long, thin river zone, and a grid
//! over the zone's box whose cells no edge reaches are known to lie wholly inside or wholly
//! outside, so that most buildings in the box of a long river zone — far from its banks — are
//! decided by a look-up, without a ray cast across the zone.

use geo::{Area, BooleanOps, Coord, Geometry, Intersects, Line, Point, Polygon};
use jingwei_layers::geoms::{GeomRef, Geometries, PartRef};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use crate::grid::{Bbox, BoxGrid};

type EdgeEntry = GeomWithData<Rectangle<[f64; 2]>, (Coord, Coord)>;

/// A zone prepared for many intersection tests.
pub struct PreparedZone {
    polygons: Vec<Polygon>,
    edges: RTree<EdgeEntry>,
    cells: Cells,
}

/// A cell no zone edge reaches, outside the zone.
const OUT: u8 = 1;
/// A cell no zone edge reaches, inside the zone.
const IN: u8 = 2;
/// A cell a zone edge reaches (or may: edges are marked by the boxes of short pieces).
const EDGE: u8 = 4;

/// About this many cells per zone (16 KiB): a river zone 50 km long gets cells of a few hundred
/// metres, larger than its buildings and much smaller than the zone.
const CELLS: f64 = 16_384.0;

/// A grid over a zone's box: each cell is outside, inside or on an edge.
struct Cells {
    origin: [f64; 2],
    size: [f64; 2],
    n: [usize; 2],
    state: Vec<u8>,
}

impl Cells {
    /// The range of cells (inclusive, clamped) that `lo..=hi` along axis `k` reaches, widened by a
    /// millionth of a cell so that a value on a cell border counts in both cells; and whether the
    /// range went past the grid.
    fn span(&self, k: usize, lo: f64, hi: f64) -> (usize, usize, bool) {
        let eps = 1e-6;
        let a = ((lo - self.origin[k]) / self.size[k] - eps).floor();
        let b = ((hi - self.origin[k]) / self.size[k] + eps).floor();
        let last = (self.n[k] - 1) as f64;
        let beyond = a < 0.0 || b > last;
        (a.clamp(0.0, last) as usize, b.clamp(0.0, last) as usize, beyond)
    }

    /// Mark the cells the segment `a`–`b` may pass through, piece by piece (each piece shorter
    /// than a cell, its box marked).
    fn mark(&mut self, a: Coord, b: Coord) {
        let steps = (((b.x - a.x) / self.size[0]).abs().max(((b.y - a.y) / self.size[1]).abs()).ceil() as usize).max(1);
        for s in 0..steps {
            let (t0, t1) = (s as f64 / steps as f64, (s + 1) as f64 / steps as f64);
            let p = Coord {
                x: a.x + (b.x - a.x) * t0,
                y: a.y + (b.y - a.y) * t0,
            };
            let q = Coord {
                x: a.x + (b.x - a.x) * t1,
                y: a.y + (b.y - a.y) * t1,
            };
            let (x0, x1, _) = self.span(0, p.x.min(q.x), p.x.max(q.x));
            let (y0, y1, _) = self.span(1, p.y.min(q.y), p.y.max(q.y));
            for y in y0..=y1 {
                self.state[y * self.n[0] + x0..=y * self.n[0] + x1].fill(EDGE);
            }
        }
    }

    /// The first cell east of `c` in its row that no edge reaches: the x of its middle (a point
    /// of it on `c`'s line, on no edge) and its side. `None` without one (or without a grid).
    fn east_of(&self, c: Coord) -> Option<(f64, u8)> {
        let fy = (c.y - self.origin[1]) / self.size[1];
        let fx = ((c.x - self.origin[0]) / self.size[0]).floor().max(0.0);
        if !(0.0..self.n[1] as f64).contains(&fy) || fx >= self.n[0] as f64 {
            return None;
        }
        let row = &self.state[fy as usize * self.n[0]..(fy as usize + 1) * self.n[0]];
        // The point's own cell only when the point is west of its middle.
        let first = fx as usize;
        (first..self.n[0])
            .filter(|&k| self.origin[0] + (k as f64 + 0.5) * self.size[0] > c.x)
            .find(|&k| row[k] != EDGE && row[k] != 0)
            .map(|k| (self.origin[0] + (k as f64 + 0.5) * self.size[0], row[k]))
    }

    /// The boxes of the runs of cells along each row that are not outside the zone (widened by
    /// a millionth of a cell).
    fn runs(&self) -> impl Iterator<Item = AABB<[f64; 2]>> + '_ {
        let [nx, ny] = self.n;
        let (ex, ey) = (self.size[0] * 1e-6, self.size[1] * 1e-6);
        (0..ny).flat_map(move |y| {
            let row = &self.state[y * nx..(y + 1) * nx];
            let mut out = Vec::new();
            let mut x = 0;
            while x < nx {
                if row[x] == OUT {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < nx && row[x] != OUT {
                    x += 1;
                }
                let lo = [
                    self.origin[0] + start as f64 * self.size[0] - ex,
                    self.origin[1] + y as f64 * self.size[1] - ey,
                ];
                let hi = [
                    self.origin[0] + x as f64 * self.size[0] + ex,
                    self.origin[1] + (y + 1) as f64 * self.size[1] + ey,
                ];
                out.push(AABB::from_corners(lo, hi));
            }
            out
        })
    }

    /// What the cells under the box `lo`–`hi` hold, as a set of `OUT | IN | EDGE` (the part of
    /// the box past the grid is outside the zone's box, so outside the zone).
    fn under(&self, lo: [f64; 2], hi: [f64; 2]) -> u8 {
        let (x0, x1, bx) = self.span(0, lo[0], hi[0]);
        let (y0, y1, by) = self.span(1, lo[1], hi[1]);
        let mut seen = if bx || by { OUT } else { 0 };
        for y in y0..=y1 {
            for &c in &self.state[y * self.n[0] + x0..=y * self.n[0] + x1] {
                seen |= c;
            }
            if seen & EDGE != 0 || seen == OUT | IN {
                break;
            }
        }
        seen
    }
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
        let mut zone = PreparedZone {
            polygons,
            edges: RTree::bulk_load(edges),
            cells: Cells {
                origin: [0.0; 2],
                size: [1.0; 2],
                n: [1, 1],
                state: vec![EDGE],
            },
        };
        if zone.edges.size() > 0 {
            zone.cells = zone.grid();
        }
        Some(zone)
    }

    /// The zone's cells: those its edges reach marked, then each run of unmarked cells along a
    /// row — no edge between them, so all on one side — classified by one point in polygon test.
    fn grid(&self) -> Cells {
        let env = self.edges.root().envelope();
        let (lo, hi) = (env.lower(), env.upper());
        let (w, h) = ((hi[0] - lo[0]).max(1e-9), (hi[1] - lo[1]).max(1e-9));
        let nx = (CELLS * w / h).sqrt().round().clamp(1.0, 1024.0) as usize;
        let ny = (CELLS / nx as f64).round().clamp(1.0, 1024.0) as usize;
        let mut cells = Cells {
            origin: lo,
            size: [w / nx as f64, h / ny as f64],
            n: [nx, ny],
            state: vec![0; nx * ny],
        };
        for e in self.edges.iter() {
            cells.mark(e.data.0, e.data.1);
        }
        for y in 0..ny {
            let mut run = 0;
            for x in 0..nx {
                if cells.state[y * nx + x] == EDGE {
                    run = 0;
                    continue;
                }
                if run == 0 {
                    let centre = Coord {
                        x: lo[0] + (x as f64 + 0.5) * cells.size[0],
                        y: lo[1] + (y as f64 + 0.5) * cells.size[1],
                    };
                    run = if self.contains_point(centre) { IN } else { OUT };
                }
                cells.state[y * nx + x] = run;
            }
        }
        cells
    }

    /// What the zone's cells say of a building's box: `Some(false)` wholly outside the zone,
    /// `Some(true)` wholly inside, `None` near an edge (an exact test is needed).
    fn by_cells(&self, env: &AABB<[f64; 2]>) -> Option<bool> {
        match self.cells.under(env.lower(), env.upper()) {
            OUT => Some(false),
            IN => Some(true),
            _ => None,
        }
    }

    /// Whether a point that lies on no zone edge is inside the zone: even-odd crossings of a ray
    /// to the east, with only the edges near that ray taken from the edge tree (a point-in-polygon
    /// test over every vertex of a long river zone would cost thousands of steps).
    ///
    /// With the zone's cells, the ray stops in the first cell east of the point that no edge
    /// reaches: that cell's side, flipped by each crossing on the way.
    fn contains_point(&self, c: Coord) -> bool {
        let Some(max_x) = (self.edges.size() > 0).then(|| self.edges.root().envelope().upper()[0]) else {
            return false;
        };
        if c.x > max_x {
            return false;
        }
        // Crossings strictly before the cell's middle (which lies on no edge), or all of them.
        let (end, mut inside, stop) = match self.cells.east_of(c) {
            Some((x, side)) => (x, side == IN, x),
            None => (max_x, false, f64::INFINITY),
        };
        let ray = AABB::from_corners([c.x, c.y], [end, c.y]);
        for e in self.edges.locate_in_envelope_intersecting(&ray) {
            let (a, b) = e.data;
            // Half-open in y, so that a vertex on the ray counts once.
            if (a.y > c.y) != (b.y > c.y) {
                let x = a.x + (c.y - a.y) * (b.x - a.x) / (b.y - a.y);
                if x > c.x && x < stop {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// True when the building polygon and the zone share at least one point.
    pub fn intersects(&self, building: &PartRef<'_>) -> bool {
        if let Some(env) = crate::part_aabb(building)
            && let Some(decided) = self.by_cells(&env)
        {
            return decided;
        }
        self.intersects_exactly(building)
    }

    /// [`PreparedZone::intersects`] from the edges alone.
    fn intersects_exactly(&self, building: &PartRef<'_>) -> bool {
        // 1. Any building edge meets any zone edge near it.
        for ring in building.rings() {
            for w in ring.windows(2) {
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
        if let Some(c) = building.exterior().first()
            && self.contains_point(*c)
        {
            return true;
        }
        let firsts: Vec<Coord> = self.polygons.iter().filter_map(|z| z.exterior().0.first().copied()).collect();
        if firsts.is_empty() {
            return false;
        }
        let building = building.to_polygon();
        firsts.into_iter().any(|c| building.intersects(&Point(c)))
    }
}

/// Zones prepared once and indexed, for many buildings.
pub struct ZoneSet {
    prepared: Vec<(usize, PreparedZone)>,
    /// The boxes of the runs of zone cells not outside their zone, on a grid of cells of their
    /// own: most buildings lie in grid cells no run reaches and are done with by a look-up.
    runs: BoxGrid,
    /// The prepared zone (index into `prepared`) of each run.
    run_zone: Vec<u32>,
}

/// About this many cells in the look-up grid over the zones' runs (4 MiB of cell starts).
const LOOKUP_CELLS: usize = 1 << 20;

impl ZoneSet {
    /// Prepare the zones (in the buildings' projected CRS); empty and non-polygonal ones are ignored.
    pub fn new(zones: &Geometries) -> ZoneSet {
        let prepared: Vec<(usize, PreparedZone)> = (0..zones.len())
            .into_par_iter()
            .filter_map(|i| Some((i, PreparedZone::new(&zones.geometry(i)?)?)))
            .collect();
        // Each zone by the runs of its cells along a row that are not wholly outside it, rather
        // than by its box: a building in the box of a long diagonal river zone but far from it
        // meets none (the boxes of such zones cover far more of a city than the zones do).
        let (boxes, run_zone): (Vec<Bbox>, Vec<u32>) = prepared
            .iter()
            .enumerate()
            .filter(|&(_k, (_, z))| z.edges.size() > 0)
            .flat_map(|(k, (_, z))| {
                z.cells.runs().map(move |r| {
                    let (lo, hi) = (r.lower(), r.upper());
                    ([lo[0], lo[1], hi[0], hi[1]], k as u32)
                })
            })
            .unzip();
        ZoneSet {
            prepared,
            runs: BoxGrid::covering(boxes, LOOKUP_CELLS),
            run_zone,
        }
    }

    /// The zones (indices into the input slice) that a building touches, sorted.
    pub fn hits(&self, building: GeomRef<'_>) -> Vec<u32> {
        let mut hits = Vec::new();
        // Zones already tested for this part (a zone has many runs).
        let mut tested: Vec<u32> = Vec::new();
        for b in building.polygons() {
            let Some(env) = b.envelope() else { continue };
            tested.clear();
            self.runs.query(&env, |r| {
                let k = self.run_zone[r as usize];
                if tested.contains(&k) {
                    return;
                }
                tested.push(k);
                let (zone_index, z) = &self.prepared[k as usize];
                if !hits.contains(&(*zone_index as u32)) && z.intersects(&b) {
                    hits.push(*zone_index as u32);
                }
            });
        }
        hits.sort_unstable();
        hits
    }

    /// Area (m²) of a building inside one zone (`zone` is an index into the input slice).
    pub fn overlap_area(&self, zone: u32, building: GeomRef<'_>) -> f64 {
        let Some((_, z)) = self.prepared.iter().find(|(i, _)| *i == zone as usize) else {
            return 0.0;
        };
        building.polygons().map(|b| z.overlap_area(&b)).sum()
    }
}

impl PreparedZone {
    /// Area of the building polygon inside the zone. When no zone edge comes near the
    /// building it is wholly inside or wholly outside; otherwise the exact boolean intersection.
    pub fn overlap_area(&self, building: &PartRef<'_>) -> f64 {
        let Some(env) = crate::part_aabb(building) else { return 0.0 };
        match self.by_cells(&env) {
            Some(true) => return building.area(),
            Some(false) => return 0.0,
            None => {}
        }
        if self.edges.locate_in_envelope_intersecting(&env).next().is_none() {
            let inside = building.exterior().first().is_some_and(|c| self.contains_point(*c));
            return if inside { building.area() } else { 0.0 };
        }
        let building = building.to_polygon();
        self.polygons.iter().map(|z| building.intersection(z).unsigned_area()).sum()
    }
}

/// For each building, the indices of the zones it touches (sorted), in parallel.
pub fn zone_hits(buildings: &Geometries, zones: &Geometries) -> Vec<Vec<u32>> {
    let set = ZoneSet::new(zones);
    buildings.par_map(|_, g| g.map(|g| set.hits(g)).unwrap_or_default())
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

    /// Two zones — a long meandering band (a river zone) with an island, and a broad star-shaped
    /// blob with a hole — and squares strewn over their boxes and a little beyond, of sizes from
    /// under a cell to several: the zones each square touches are those geo's own `Intersects`
    /// finds, and where the cells alone decide, the area inside is all or nothing as the boolean
    /// intersection says.
    #[test]
    fn the_cells_decide_as_geo_does() {
        let (n, len, half) = (400, 50_000.0, 120.0);
        let centre: Vec<(f64, f64)> = (0..=n)
            .map(|i| {
                let t = i as f64 / n as f64;
                (t * len, 0.6 * t * len + 900.0 * (t * 37.0).sin())
            })
            .collect();
        let left: Vec<(f64, f64)> = centre.iter().map(|&(x, y)| (x - half * 0.5, y + half)).collect();
        let mut ring: Vec<(f64, f64)> = centre.iter().map(|&(x, y)| (x + half * 0.5, y - half)).collect();
        ring.extend(left.iter().rev());
        ring.push(ring[0]);
        let square = |cx: f64, cy: f64, s: f64| {
            LineString::from(vec![
                (cx - s, cy - s),
                (cx + s, cy - s),
                (cx + s, cy + s),
                (cx - s, cy + s),
                (cx - s, cy - s),
            ])
        };
        let (ix, iy) = centre[n / 2];
        let river = Polygon::new(LineString::from(ring), vec![square(ix, iy, 30.0)]);
        let (bx, by) = (20_000.0, 8_000.0);
        let star: Vec<(f64, f64)> = (0..=360)
            .map(|i| {
                let a = (i % 360) as f64 * std::f64::consts::PI / 180.0;
                let r = 6_000.0 + 1_500.0 * (a * 7.0).sin();
                (bx + r * a.cos(), by + r * a.sin())
            })
            .collect();
        let blob = Polygon::new(LineString::from(star), vec![square(bx, by, 1_000.0)]);
        let zones = vec![Some(Geometry::Polygon(river.clone())), Some(Geometry::Polygon(blob.clone()))];
        let set = ZoneSet::new(&zones.into());
        // A fixed pseudo-random walk (no dependency on a random crate).
        let mut next = crate::xorshift(0x2545_f491_4f6c_dd1du64);
        let (mut inside, mut outside, mut hits) = (0, 0, 0);
        for k in 0..12_000 {
            // Near the band, near the blob's rim or hole, or anywhere in the boxes.
            let (cx, cy) = match k % 3 {
                0 => {
                    let (x, y) = centre[(next() * n as f64) as usize];
                    (x + (next() - 0.5) * 600.0, y + (next() - 0.5) * 600.0)
                }
                1 => (bx + (next() - 0.5) * 16_000.0, by + (next() - 0.5) * 16_000.0),
                _ => (next() * len * 1.02 - 500.0, next() * (0.6 * len + 2_000.0) - 1_000.0),
            };
            let b = Polygon::new(square(cx, cy, [2.5, 20.0, 150.0, 1_000.0][k % 4]), vec![]);
            let want: Vec<u32> = [&river, &blob]
                .iter()
                .enumerate()
                .filter(|(_, z)| geo::Intersects::intersects(**z, &b))
                .map(|(i, _)| i as u32)
                .collect();
            let one = Geometries::from(vec![Some(Geometry::Polygon(b.clone()))]);
            assert_eq!(set.hits(one.get(0).unwrap()), want, "square {k} at {cx}, {cy}");
            hits += want.len();
            for (i, (_, z)) in set.prepared.iter().enumerate() {
                if let Some(d) = z.by_cells(&crate::aabb(&b).unwrap()) {
                    let area = b.intersection(&z.polygons[0]).unsigned_area();
                    let all = if d { b.unsigned_area() } else { 0.0 };
                    assert!(
                        (area - all).abs() < 1e-6 * b.unsigned_area(),
                        "square {k}, zone {i}: {area} vs {all}"
                    );
                    if d { inside += 1 } else { outside += 1 }
                }
            }
        }
        // The cells decide often, both ways, and the zones are hit often enough to matter.
        assert!(
            inside > 1_000 && outside > 10_000,
            "{inside} inside and {outside} outside decided by the cells"
        );
        assert!(hits > 3_000, "{hits} hits");
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
        let hits = zone_hits(&buildings.clone().into(), &vec![zone.clone()].into());
        let flags: Vec<bool> = hits.iter().map(|h| !h.is_empty()).collect();
        assert_eq!(flags, vec![true, true, true, false, false, true]);
        // Overlap areas: inside 25, half across the edge 50, touching 0, apart 0, far 0, and
        // the building holding the zone overlaps all of it (100² − 20²).
        let set = ZoneSet::new(&vec![zone].into());
        let store = Geometries::from(buildings);
        let areas: Vec<f64> = (0..store.len()).map(|i| set.overlap_area(0, store.get(i).unwrap())).collect();
        let want = [25.0, 50.0, 0.0, 0.0, 0.0, 9600.0];
        for (a, w) in areas.iter().zip(want) {
            assert!((a - w).abs() < 1e-6, "{areas:?}");
        }
    }
}
