//! Flood inundation on a DEM, on the DEM's own grid (so that an independent tool run on the same
//! raster — GRASS GIS's `r.lake` — gives a cell-by-cell comparison).
//!
//! - **From a water level** ([`from_level`]): the cells below the level that are connected to the
//!   seed cell through such cells, 8-connected (`r.lake`'s 3×3 window). A cell exactly at the
//!   level is dry (depth 0 is not water). Depth = level − ground.
//! - **From rainfall** ([`from_rain`]): the rain falling on an area (depth × runoff coefficient
//!   × cell area) runs downhill and fills the depressions it reaches. Depressions are found by
//!   priority-flood (Barnes, Lehman and Mulla 2014): each depression is the connected set of
//!   cells the filled surface raises, with its spill level; a cell's water follows the
//!   priority-flood's receiving cell (its lowest processed neighbour) until it enters a
//!   depression or leaves the grid. A depression fills to the level that holds its water (the
//!   cells below that level, so nested pits of one depression share its level); what it cannot
//!   hold spills from its outlet to the next depression downstream, or off the grid, where it is
//!   reported as run-off.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use geo::{Contains, Coord, MultiPolygon, Point};
use jingwei_layers::dem::Dem;

use super::{CellGrid, Invalid};

/// A flood's depth grid, aligned with its DEM.
#[derive(Debug, Clone)]
pub struct Flood {
    /// The DEM's grid (geotransform, size, cell areas).
    pub grid: CellGrid,
    /// Water depth (m) per cell, row-major from the top row; 0 where dry.
    pub depth: Vec<f32>,
    /// Rain volume that ran off the grid (m³; rainfall floods only).
    pub runoff_m3: f64,
}

impl Flood {
    /// Flooded cells.
    pub fn cells(&self) -> usize {
        self.depth.iter().filter(|d| **d > 0.0).count()
    }

    /// Flooded area, m² (cell areas on the ellipsoid when the DEM is geographic).
    pub fn area_m2(&self) -> f64 {
        self.sum(|_| 1.0)
    }

    /// Water volume, m³.
    pub fn volume_m3(&self) -> f64 {
        self.sum(f64::from)
    }

    /// Deepest water, m.
    pub fn max_depth(&self) -> f64 {
        self.depth.iter().fold(0.0_f64, |m, d| m.max(f64::from(*d)))
    }

    fn sum(&self, f: impl Fn(f32) -> f64) -> f64 {
        let cols = self.grid.cols;
        self.depth
            .iter()
            .enumerate()
            .filter(|(_, d)| **d > 0.0)
            .map(|(i, d)| f(*d) * self.grid.cell_area(i / cols))
            .sum()
    }

    /// Depth at (x, y) in the DEM's CRS (the cell's value); `None` off the grid.
    pub fn depth_at(&self, x: f64, y: f64) -> Option<f64> {
        let (c, r) = self.grid.cell_of(x, y)?;
        Some(f64::from(self.depth[r * self.grid.cols + c]))
    }
}

/// The 8 neighbours of cell `i` on a `cols` × `rows` grid.
pub(crate) fn neighbours(i: usize, cols: usize, rows: usize) -> impl Iterator<Item = usize> {
    let (c, r) = ((i % cols) as isize, (i / cols) as isize);
    [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)]
        .into_iter()
        .filter_map(move |(dc, dr)| {
            let (nc, nr) = (c + dc, r + dr);
            (nc >= 0 && nr >= 0 && (nc as usize) < cols && (nr as usize) < rows).then(|| nr as usize * cols + nc as usize)
        })
}

/// The water standing at `level` (m, the DEM's heights) connected to the seed at (x, y) in the
/// DEM's CRS.
pub fn from_level(dem: &Dem, x: f64, y: f64, level: f64) -> Result<Flood, Invalid> {
    let grid = CellGrid::of(dem);
    if !level.is_finite() {
        return Err(Invalid(format!("water level {level}: give metres")));
    }
    let (c, r) = grid
        .cell_of(x, y)
        .ok_or_else(|| Invalid(format!("the point ({x:.6}, {y:.6}) is outside the DEM {}", dem.path.display())))?;
    let (cols, rows) = (grid.cols, grid.rows);
    let seed = r * cols + c;
    let ground = dem.heights[seed];
    if ground.is_nan() {
        return Err(Invalid(format!(
            "the DEM {} has no height at the point ({x:.6}, {y:.6})",
            dem.path.display()
        )));
    }
    if f64::from(ground) >= level {
        return Err(Invalid(format!(
            "water level {level} m is not above the ground at the point ({ground} m)"
        )));
    }
    let wet = |i: usize| {
        let h = dem.heights[i];
        !h.is_nan() && f64::from(h) < level
    };
    let mut depth = vec![0.0_f32; cols * rows];
    let mut seen = vec![false; cols * rows];
    let mut queue = VecDeque::from([seed]);
    seen[seed] = true;
    while let Some(i) = queue.pop_front() {
        depth[i] = (level - f64::from(dem.heights[i])) as f32;
        for n in neighbours(i, cols, rows) {
            if !seen[n] && wet(n) {
                seen[n] = true;
                queue.push_back(n);
            }
        }
    }
    Ok(Flood {
        grid,
        depth,
        runoff_m3: 0.0,
    })
}

/// Where the water at a place is: the centre of the lowest cell within `radius_cells` cells of
/// (x, y) (DEM CRS). A gauge stands on the bank or the wall and a commander clicks beside the
/// river; the water level is the river's, whose bed is the lowest ground nearby.
pub fn water_near(dem: &Dem, x: f64, y: f64, radius_cells: usize) -> Option<(f64, f64)> {
    let grid = CellGrid::of(dem);
    let (c0, r0) = grid.cell_of(x, y)?;
    let mut best: Option<(f32, f64, usize, usize)> = None;
    for r in r0.saturating_sub(radius_cells)..=(r0 + radius_cells).min(grid.rows - 1) {
        for c in c0.saturating_sub(radius_cells)..=(c0 + radius_cells).min(grid.cols - 1) {
            let h = dem.heights[r * grid.cols + c];
            let (cx, cy) = grid.centre(c, r);
            let d = (cx - x).hypot(cy - y);
            if h.is_nan() || d > radius_cells as f64 * grid.gt[1].abs() {
                continue;
            }
            // Lowest, then nearest.
            if best.is_none_or(|b| h < b.0 || (h == b.0 && d < b.1)) {
                best = Some((h, d, c, r));
            }
        }
    }
    best.map(|(_, _, c, r)| grid.centre(c, r))
}

#[derive(PartialEq)]
struct Low(f32, u32);
impl Eq for Low {}
impl PartialOrd for Low {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Low {
    // Lowest first (BinaryHeap is a max-heap); ties by cell for a deterministic order.
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
    }
}

/// Priority-flood: the depression-filled surface and each cell's receiving cell (`u32::MAX` for
/// the outlets: grid edges and cells next to no-data).
fn priority_flood(dem: &Dem, cols: usize, rows: usize) -> (Vec<f32>, Vec<u32>) {
    let n = cols * rows;
    let mut filled = dem.heights.clone();
    let mut to = vec![u32::MAX; n];
    let mut done = vec![false; n];
    let mut heap = BinaryHeap::new();
    for i in 0..n {
        if dem.heights[i].is_nan() {
            done[i] = true;
            continue;
        }
        let (c, r) = (i % cols, i / cols);
        let edge = c == 0 || r == 0 || c + 1 == cols || r + 1 == rows || neighbours(i, cols, rows).any(|j| dem.heights[j].is_nan());
        if edge {
            done[i] = true;
            heap.push(Low(filled[i], i as u32));
        }
    }
    while let Some(Low(h, i)) = heap.pop() {
        for j in neighbours(i as usize, cols, rows) {
            if done[j] {
                continue;
            }
            done[j] = true;
            to[j] = i;
            filled[j] = filled[j].max(h);
            heap.push(Low(filled[j], j as u32));
        }
    }
    (filled, to)
}

/// Rain of `depth_m` over `area` (a polygon in the DEM's CRS), of which `runoff` (0–1) runs off,
/// filled into the depressions it reaches.
pub fn from_rain(dem: &Dem, area: &MultiPolygon, depth_m: f64, runoff: f64) -> Result<Flood, Invalid> {
    if !(depth_m.is_finite() && depth_m > 0.0) {
        return Err(Invalid(format!("rainfall depth {depth_m} m: give more than 0")));
    }
    if !(runoff.is_finite() && runoff > 0.0 && runoff <= 1.0) {
        return Err(Invalid(format!("runoff coefficient {runoff}: give more than 0, at most 1")));
    }
    let grid = CellGrid::of(dem);
    let (cols, rows) = (grid.cols, grid.rows);
    let (filled, to) = priority_flood(dem, cols, rows);
    let n = cols * rows;
    // Depressions: connected cells the fill raised.
    let raised = |i: usize| !dem.heights[i].is_nan() && filled[i] > dem.heights[i];
    let mut basin = vec![u32::MAX; n];
    let mut members: Vec<Vec<u32>> = Vec::new();
    for s in 0..n {
        if basin[s] != u32::MAX || !raised(s) {
            continue;
        }
        let id = members.len() as u32;
        let mut cells = vec![s as u32];
        basin[s] = id;
        let mut k = 0;
        while k < cells.len() {
            let i = cells[k] as usize;
            k += 1;
            for j in neighbours(i, cols, rows) {
                if basin[j] == u32::MAX && raised(j) {
                    basin[j] = id;
                    cells.push(j as u32);
                }
            }
        }
        members.push(cells);
    }
    // Where water from cell i ends: a depression, or None when it leaves the grid.
    let sink = |mut i: usize| -> Option<usize> {
        loop {
            if basin[i] != u32::MAX {
                return Some(basin[i] as usize);
            }
            let t = to[i];
            if t == u32::MAX {
                return None;
            }
            i = t as usize;
        }
    };
    let mut water = vec![0.0_f64; members.len()];
    let mut runoff_m3 = 0.0;
    let bb = geo::BoundingRect::bounding_rect(area);
    let mut any = false;
    for i in 0..n {
        if dem.heights[i].is_nan() {
            continue;
        }
        let (x, y) = grid.centre(i % cols, i / cols);
        if let Some(b) = bb
            && (x < b.min().x || x > b.max().x || y < b.min().y || y > b.max().y)
        {
            continue;
        }
        if !area.contains(&Point::from(Coord { x, y })) {
            continue;
        }
        any = true;
        let v = depth_m * runoff * grid.cell_area(i / cols);
        match sink(i) {
            Some(b) => water[b] += v,
            None => runoff_m3 += v,
        }
    }
    if !any {
        return Err(Invalid(format!(
            "the rainfall area does not cover any cell of the DEM {}",
            dem.path.display()
        )));
    }
    // Fill the depressions from the highest spill level down, passing on what overflows.
    let spill = |b: usize| filled[members[b][0] as usize];
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by(|a, b| spill(*b).total_cmp(&spill(*a)).then(a.cmp(b)));
    let mut level = vec![f32::NAN; members.len()];
    let mut queue: VecDeque<usize> = order.into_iter().collect();
    while let Some(b) = queue.pop_front() {
        if water[b] <= 0.0 {
            continue;
        }
        let mut cells: Vec<(f32, f64)> = members[b]
            .iter()
            .map(|&i| (dem.heights[i as usize], grid.cell_area(i as usize / cols)))
            .collect();
        cells.sort_by(|a, b| a.0.total_cmp(&b.0));
        let top = f64::from(spill(b));
        // Volume below level L over the k lowest cells: L·A_k − Σ h·a.
        let (mut a_sum, mut ha_sum) = (0.0, 0.0);
        let mut l = top;
        let mut full = true;
        for k in 0..cells.len() {
            a_sum += cells[k].1;
            ha_sum += f64::from(cells[k].0) * cells[k].1;
            let next = cells.get(k + 1).map_or(top, |c| f64::from(c.0).min(top));
            let cap = next * a_sum - ha_sum;
            if cap >= water[b] {
                l = (water[b] + ha_sum) / a_sum;
                full = false;
                break;
            }
        }
        let held = if full { top * a_sum - ha_sum } else { water[b] };
        let over = water[b] - held;
        water[b] = 0.0;
        level[b] = if level[b].is_nan() { l as f32 } else { level[b].max(l as f32) };
        if over > 1e-9 {
            // The outlet: the depression's cell whose receiving cell lies outside it.
            let out = members[b]
                .iter()
                .map(|&i| i as usize)
                .find(|&i| to[i] != u32::MAX && basin[to[i] as usize] != b as u32)
                .map(|i| to[i] as usize);
            match out.and_then(sink) {
                Some(next) if next != b => {
                    water[next] += over;
                    queue.push_back(next);
                }
                _ => runoff_m3 += over,
            }
        }
    }
    let mut depth = vec![0.0_f32; n];
    for (b, cells) in members.iter().enumerate() {
        let l = level[b];
        if l.is_nan() {
            continue;
        }
        for &i in cells {
            let h = dem.heights[i as usize];
            if h < l {
                depth[i as usize] = l - h;
            }
        }
    }
    Ok(Flood { grid, depth, runoff_m3 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jingwei_layers::Crs;

    fn dem(cols: usize, rows: usize, cell: f64, h: impl Fn(f64, f64) -> f32) -> Dem {
        let mut heights = Vec::with_capacity(cols * rows);
        for r in 0..rows {
            for c in 0..cols {
                heights.push(h((c as f64 + 0.5) * cell, -((r as f64 + 0.5) * cell)));
            }
        }
        Dem {
            path: "synthetic".into(),
            crs: Crs::from_epsg(4547).unwrap(),
            size: (cols, rows),
            geo_transform: [0.0, cell, 0.0, 0.0, 0.0, -cell],
            heights,
        }
    }

    #[test]
    fn a_valley_floods_to_the_width_the_level_gives() {
        // A V-shaped valley, 0.1 m rise per metre across, 0.001 per metre along: at level L the
        // cells whose centre lies within (L − 0.001·|y|)/0.1 of the axis are wet.
        let d = dem(201, 101, 1.0, |x, y| (0.1 * (x - 100.5).abs() + 0.001 * (-y)) as f32);
        let f = from_level(&d, 100.5, -50.5, 2.0).unwrap();
        let mut want = 0;
        for r in 0..101 {
            for c in 0..201 {
                let (x, y) = (c as f64 + 0.5, -(r as f64 + 0.5));
                if 0.1 * (x - 100.5).abs() + 0.001 * (-y) < 2.0 {
                    want += 1;
                }
            }
        }
        assert_eq!(f.cells(), want);
        assert!((f.max_depth() - (2.0 - 0.0005)).abs() < 1e-5, "{}", f.max_depth());
    }

    #[test]
    fn water_does_not_cross_a_dyke_higher_than_the_level() {
        // Two basins at 0 m separated by a 5 m dyke: level 3 from the left stays left.
        let d = dem(30, 10, 1.0, |x, _| if (14.0..16.0).contains(&x) { 5.0 } else { 0.0 });
        let f = from_level(&d, 2.0, -5.0, 3.0).unwrap();
        assert_eq!(f.cells(), 14 * 10);
        assert!(f.depth_at(20.0, -5.0) == Some(0.0));
        let over = from_level(&d, 2.0, -5.0, 5.5).unwrap();
        assert_eq!(over.cells(), 30 * 10);
    }

    #[test]
    fn bad_parameters_are_errors() {
        let d = dem(10, 10, 1.0, |_, _| 1.0);
        assert!(from_level(&d, 50.0, -5.0, 3.0).unwrap_err().0.contains("outside the DEM"));
        assert!(from_level(&d, 5.0, -5.0, 0.5).unwrap_err().0.contains("not above the ground"));
        let all = MultiPolygon::new(vec![geo::Rect::new((0.0, 0.0), (10.0, -10.0)).to_polygon()]);
        assert!(from_rain(&d, &all, -1.0, 1.0).unwrap_err().0.contains("rainfall depth"));
        assert!(from_rain(&d, &all, 0.1, 1.5).unwrap_err().0.contains("runoff"));
    }

    #[test]
    fn rain_fills_a_bowl_to_the_level_its_volume_gives() {
        // A square pit 20 × 20 m, 2 m deep, in a plain sloping away to the edges: 50 mm on a
        // 100 × 100 m area gives 500 m³ in a 400 m² flat pit: 1.25 m of water.
        let d = dem(100, 100, 1.0, |x, y| {
            let (dx, dy) = ((x - 50.0).abs(), (-y - 50.0).abs());
            if dx < 10.0 && dy < 10.0 {
                8.0
            } else {
                10.0 + 0.01 * dx.max(dy) as f32
            }
        });
        // Rain on all but the edge cells (they are outlets: their rain leaves the grid): 98 × 98
        // cells × 50 mm = 480.2 m³, all of which runs into the pit: 1.2005 m of water.
        let inner = MultiPolygon::new(vec![geo::Rect::new((1.0, -1.0), (99.0, -99.0)).to_polygon()]);
        let f = from_rain(&d, &inner, 0.05, 1.0).unwrap();
        let inside = f.depth_at(50.0, -50.0).unwrap();
        assert!((inside - 1.2005).abs() < 1e-4, "{inside}");
        assert_eq!(f.cells(), 400);
        assert!(f.runoff_m3 < 1e-6);
        assert!((f.volume_m3() - 480.2).abs() < 0.01, "{}", f.volume_m3());
        // Rain on the whole grid: the edge cells' share (396 cells) leaves it.
        let all = MultiPolygon::new(vec![geo::Rect::new((0.0, 0.0), (100.0, -100.0)).to_polygon()]);
        let g = from_rain(&d, &all, 0.05, 1.0).unwrap();
        assert!((g.runoff_m3 - 19.8).abs() < 1e-6, "{}", g.runoff_m3);
        // 300 mm: 2881 m³ is more than the pit holds below the plain (2.1 m × 400 m² = 840 m³):
        // the water spreads over the plain and nothing is lost.
        let g = from_rain(&d, &inner, 0.3, 1.0).unwrap();
        let held = g.volume_m3();
        assert!(g.cells() > 400);
        assert!((held + g.runoff_m3 - 2881.2).abs() < 0.01, "{held} + {}", g.runoff_m3);
    }
}
