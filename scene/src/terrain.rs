//! Terrain from a DEM, and draping the map on it: a lit height grid over the data, flat layers'
//! triangles cut down to the grid's spacing and lifted onto the ground, buildings standing on
//! the lowest ground under their corners. Heights are metres above the lowest point of the grid.

use jingwei_layers::dem::Terrain;

use crate::extrude::MeshData;

/// Samples per side of the terrain grid.
const GRID: usize = 256;
/// Flat layers float this far above the ground (a draped triangle is flat where the ground
/// under it may bend: a little room keeps it from sinking in).
const LIFT_M: f32 = 2.0;

/// The terrain mesh's surface, for draping and picking: heights are read off the very
/// triangles that are drawn, so that what lies on the ground lies on what is seen, and a click
/// finds the ground where it shows.
#[derive(Debug, Clone)]
pub struct Ground {
    /// Local x and z of the grid's north-west sample.
    x0: f32,
    z0: f32,
    /// Sample spacing east and south, metres.
    dx: f32,
    dz: f32,
    /// y of each sample, row-major from the north.
    y: Vec<f32>,
    /// The height that became y = 0.
    pub h_ref: f64,
    /// Spacing of the terrain grid in metres: draped triangles are cut to this size.
    pub step_m: f32,
}

impl Ground {
    /// The highest ground (y) of the grid.
    pub fn max_y(&self) -> f32 {
        self.y.iter().copied().fold(0.0, f32::max)
    }

    /// The fractions (0, 1 exclusive, ascending) along the ground track from `a` to `b` (local
    /// x, z) where it crosses a grid line or a cell's diagonal: between two of them the track
    /// stays on one drawn triangle, so a line lifted at those points lies on the ground.
    pub fn crossings(&self, a: [f32; 2], b: [f32; 2]) -> Vec<f32> {
        let (ua, va) = ((a[0] - self.x0) / self.dx, (a[1] - self.z0) / self.dz);
        let (ub, vb) = ((b[0] - self.x0) / self.dx, (b[1] - self.z0) / self.dz);
        let last = (GRID - 1) as f32;
        let mut ts = Vec::new();
        // Where f(t) = f0 + (f1 - f0) t passes an integer k in the grid's range.
        let mut cut = |f0: f32, f1: f32, lo: f32, hi: f32| {
            if (f1 - f0).abs() < 1e-9 {
                return;
            }
            let (from, to) = (f0.min(f1).max(lo).ceil(), f0.max(f1).min(hi).floor());
            let mut k = from;
            while k <= to && ts.len() < 65_536 {
                let t = (k - f0) / (f1 - f0);
                if t > 0.0 && t < 1.0 {
                    ts.push(t);
                }
                k += 1.0;
            }
        };
        cut(ua, ub, 0.0, last);
        cut(va, vb, 0.0, last);
        // The diagonals: u − v is a whole number along each.
        cut(ua - va, ub - vb, -last, last);
        ts.sort_by(f32::total_cmp);
        ts.dedup_by(|x, y| (*x - *y).abs() < 1e-6);
        ts
    }

    /// Where a ray (origin `o`, unit direction `d`, local metres) first meets the drawn ground.
    /// Over the grid the ray is cut where its ground track crosses the triangles' edges (the
    /// ground is flat within a triangle, so a crossing found there is exact and none is stepped
    /// over); off the grid the ground is y = 0. `None` when the ray never comes down.
    pub fn ray_hit(&self, o: [f32; 3], d: [f32; 3]) -> Option<[f32; 3]> {
        if d[1] >= -1e-6 {
            return None;
        }
        let (o64, d64) = (o.map(f64::from), d.map(f64::from));
        let at = |t: f64| {
            [
                (o64[0] + d64[0] * t) as f32,
                (o64[1] + d64[1] * t) as f32,
                (o64[2] + d64[2] * t) as f32,
            ]
        };
        let above = |t: f64| {
            let p = at(t);
            f64::from(p[1]) - f64::from(self.y(p[0], p[2]))
        };
        // Where the ray comes down to y = 0 (no ground lies lower) and to the highest ground.
        let t_floor = o64[1] / -d64[1];
        if t_floor <= 0.0 {
            return None;
        }
        let t_top = ((o64[1] - f64::from(self.max_y())) / -d64[1]).max(0.0);
        // The stretch where the ground track is over the grid (slabs in x and z).
        let last = (GRID - 1) as f64;
        let (mut lo, mut hi) = (t_top, t_floor);
        for (k, start, cell) in [(0, self.x0, self.dx), (2, self.z0, self.dz)] {
            let (e0, e1) = (f64::from(start), f64::from(start) + f64::from(cell) * last);
            let (min, max) = (e0.min(e1), e0.max(e1));
            if d64[k].abs() < 1e-12 {
                if o64[k] < min || o64[k] > max {
                    lo = f64::INFINITY;
                }
            } else {
                let (ta, tb) = ((min - o64[k]) / d64[k], (max - o64[k]) / d64[k]);
                lo = lo.max(ta.min(tb));
                hi = hi.min(ta.max(tb));
            }
        }
        if lo < hi {
            let (a, b) = (at(lo), at(hi));
            let mut ts = vec![0.0f64];
            ts.extend(self.crossings([a[0], a[2]], [b[0], b[2]]).into_iter().map(f64::from));
            ts.push(1.0);
            let mut prev = (lo, above(lo));
            if prev.1 <= 0.0 {
                return Some(at(lo));
            }
            for f in &ts[1..] {
                let t = lo + (hi - lo) * f;
                let h = above(t);
                if h <= 0.0 {
                    // Flat ground within the triangle: the crossing is where the height gap
                    // closes linearly.
                    let s = prev.1 / (prev.1 - h);
                    return Some(at(prev.0 + (t - prev.0) * s));
                }
                prev = (t, h);
            }
        }
        Some(at(t_floor))
    }

    /// Height (y) of the drawn ground at a local point (x east, z south); 0 off the grid.
    pub fn y(&self, x: f32, z: f32) -> f32 {
        let (fi, fj) = ((x - self.x0) / self.dx, (z - self.z0) / self.dz);
        if !(fi >= 0.0 && fj >= 0.0 && fi <= (GRID - 1) as f32 && fj <= (GRID - 1) as f32) {
            return 0.0;
        }
        let (i, j) = ((fi as usize).min(GRID - 2), (fj as usize).min(GRID - 2));
        let (fx, fy) = (fi - i as f32, fj - j as f32);
        let at = |i: usize, j: usize| self.y[j * GRID + i];
        // The cell is drawn as triangles (a, d, c) and (a, c, b), split along a–c.
        let (a, b, c, d) = (at(i, j), at(i + 1, j), at(i + 1, j + 1), at(i, j + 1));
        if fy >= fx {
            a + fx * (c - d) + fy * (d - a)
        } else {
            a + fx * (b - a) + fy * (c - b)
        }
    }
}

/// The terrain mesh over `extent` (workspace coordinates, clipped to the DEM), and the ground to
/// drape on it. `None` when the DEM does not cover the extent.
pub fn build(terrain: &Terrain, extent: Option<[f64; 4]>, origin: [f64; 2]) -> Option<(MeshData, Ground)> {
    let t = terrain.extent;
    let e = match extent {
        Some(e) => [e[0].max(t[0]), e[1].max(t[1]), e[2].min(t[2]), e[3].min(t[3])],
        None => t,
    };
    if !(e[0] < e[2] && e[1] < e[3]) {
        return None;
    }
    let sampler = terrain.sampler().ok()?;
    let frame = crate::local::LocalFrame::new(origin);
    let (w, h) = (e[2] - e[0], e[3] - e[1]);
    let mut heights = vec![f64::NAN; GRID * GRID];
    for j in 0..GRID {
        for i in 0..GRID {
            let x = e[0] + w * i as f64 / (GRID - 1) as f64;
            let y = e[3] - h * j as f64 / (GRID - 1) as f64;
            heights[j * GRID + i] = sampler.height_at(x, y).unwrap_or(f64::NAN);
        }
    }
    let h_ref = heights.iter().copied().filter(|h| h.is_finite()).fold(f64::MAX, f64::min);
    if h_ref == f64::MAX {
        return None;
    }
    // No-data holes and samples off the DEM take the mean of their known neighbours, pass by
    // pass, instead of falling to the lowest point.
    for _ in 0..GRID {
        let holes: Vec<usize> = (0..heights.len()).filter(|&k| !heights[k].is_finite()).collect();
        if holes.is_empty() {
            break;
        }
        let mut filled = Vec::new();
        for k in holes {
            let (i, j) = (k % GRID, k / GRID);
            let mut n = Vec::new();
            if i > 0 {
                n.push(k - 1)
            }
            if i + 1 < GRID {
                n.push(k + 1)
            }
            if j > 0 {
                n.push(k - GRID)
            }
            if j + 1 < GRID {
                n.push(k + GRID)
            }
            let known: Vec<f64> = n.into_iter().map(|m| heights[m]).filter(|h| h.is_finite()).collect();
            if !known.is_empty() {
                filled.push((k, known.iter().sum::<f64>() / known.len() as f64));
            }
        }
        if filled.is_empty() {
            break;
        }
        for (k, h) in filled {
            heights[k] = h;
        }
    }
    let mut mesh = MeshData::default();
    for j in 0..GRID {
        for i in 0..GRID {
            let x = e[0] + w * i as f64 / (GRID - 1) as f64;
            let y = e[3] - h * j as f64 / (GRID - 1) as f64;
            let v = heights[j * GRID + i];
            let [lx, lz] = frame.to_local_f32(x, y);
            mesh.positions.push([lx, if v.is_finite() { (v - h_ref) as f32 } else { 0.0 }, lz]);
        }
    }
    for j in 0..GRID - 1 {
        for i in 0..GRID - 1 {
            let a = (j * GRID + i) as u32;
            let (b, c, d) = (a + 1, a + GRID as u32 + 1, a + GRID as u32);
            // Rows run south (+z), columns east (+x): (a, d, c) is counter-clockwise from above.
            mesh.indices.extend([a, d, c, a, c, b]);
            mesh.triangle_rows.extend([0, 0]);
        }
    }
    let (dx, dz) = ((w / (GRID - 1) as f64) as f32, (h / (GRID - 1) as f64) as f32);
    let ground = Ground {
        x0: mesh.positions[0][0],
        z0: mesh.positions[0][2],
        dx,
        dz,
        y: mesh.positions.iter().map(|p| p[1]).collect(),
        h_ref,
        step_m: dx.max(dz),
    };
    Some((mesh, ground))
}

/// Cut every triangle of a flat mesh until no edge is longer than the ground's step (halving the
/// longest edge each time, so long thin ribbons grow linearly, not fourfold), then put each
/// vertex on the ground, `offset_m` above it.
pub fn drape_flat(mesh: &mut MeshData, ground: &Ground, offset_m: f32) {
    let max2 = ground.step_m.powi(2);
    let mut out = MeshData::default();
    let mut stack: Vec<([[f32; 3]; 3], u32, u8)> = Vec::new();
    let d2 = |a: [f32; 3], b: [f32; 3]| (a[0] - b[0]).powi(2) + (a[2] - b[2]).powi(2);
    let mid = |a: [f32; 3], b: [f32; 3]| [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0, (a[2] + b[2]) / 2.0];
    for (t, row) in mesh.indices.chunks_exact(3).zip(&mesh.triangle_rows) {
        stack.push((
            [
                mesh.positions[t[0] as usize],
                mesh.positions[t[1] as usize],
                mesh.positions[t[2] as usize],
            ],
            *row,
            0,
        ));
        while let Some((tri, row, depth)) = stack.pop() {
            let e = [d2(tri[0], tri[1]), d2(tri[1], tri[2]), d2(tri[2], tri[0])];
            let k = (0..3).max_by(|&a, &b| e[a].total_cmp(&e[b])).unwrap_or(0);
            if e[k] > max2 && depth < 24 {
                // Split edge (k, k+1) at its middle: two triangles, wound as the original.
                let (a, b, c) = (tri[k], tri[(k + 1) % 3], tri[(k + 2) % 3]);
                let m = mid(a, b);
                stack.push(([a, m, c], row, depth + 1));
                stack.push(([m, b, c], row, depth + 1));
                continue;
            }
            let s = out.positions.len() as u32;
            for p in tri {
                out.positions.push([p[0], ground.y(p[0], p[2]) + p[1] + LIFT_M + offset_m, p[2]]);
            }
            out.indices.extend([s, s + 1, s + 2]);
            out.triangle_rows.push(row);
        }
    }
    *mesh = out;
}

/// Stand each building (the vertices of one row) on the lowest ground under its corners.
pub fn drape_buildings(mesh: &mut MeshData, ground: &Ground) {
    let mut row_of = vec![u32::MAX; mesh.positions.len()];
    for (t, row) in mesh.indices.chunks_exact(3).zip(&mesh.triangle_rows) {
        for &v in t {
            row_of[v as usize] = *row;
        }
    }
    let mut base: std::collections::HashMap<u32, f32> = std::collections::HashMap::new();
    for (p, row) in mesh.positions.iter().zip(&row_of) {
        let g = ground.y(p[0], p[2]);
        base.entry(*row).and_modify(|b| *b = b.min(g)).or_insert(g);
    }
    for (p, row) in mesh.positions.iter_mut().zip(&row_of) {
        p[1] += base.get(row).copied().unwrap_or(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 10 m grid from (0, 0) with heights from `f(i, j)`.
    fn ground(f: impl Fn(usize, usize) -> f32) -> Ground {
        Ground {
            x0: 0.0,
            z0: 0.0,
            dx: 10.0,
            dz: 10.0,
            y: (0..GRID * GRID).map(|k| f(k % GRID, k / GRID)).collect(),
            h_ref: 0.0,
            step_m: 10.0,
        }
    }

    #[test]
    fn a_ray_stops_at_a_thin_ridge_it_would_step_over() {
        // A ridge one sample wide (100 m high at x = 1280 m) in flat ground.
        let g = ground(|i, _| if i == 128 { 100.0 } else { 0.0 });
        // From the west at 60 m, going east and gently down: it meets the ridge's west slope.
        let d = [1.0f32, -0.001, 0.0];
        let n = (d[0] * d[0] + d[1] * d[1]).sqrt();
        let hit = g.ray_hit([100.0, 60.0, 500.0], [d[0] / n, d[1] / n, 0.0]).unwrap();
        assert!(hit[0] > 1270.0 && hit[0] < 1280.0, "{hit:?}");
        assert!((hit[1] - g.y(hit[0], hit[2])).abs() < 0.05, "{hit:?}");
    }

    #[test]
    fn rays_near_the_horizon_end_promptly_on_the_flat_ground_beyond() {
        let g = ground(|i, j| ((i as f32 * 0.3).sin() + (j as f32 * 0.2).cos()) * 20.0 + 45.0);
        // 1 km up, a hair below the horizon: the ray lands some 80,000 km away on y = 0.
        let d = [0.6f32, -1.2e-5, 0.8];
        let hit = g.ray_hit([1280.0, 1000.0, 1280.0], d).unwrap();
        assert!(hit[1].abs() < 1.0 && (hit[0] - 1280.0).abs() > 1e6, "{hit:?}");
        // Over the grid from above: on the ground, and nothing earlier along the ray under it.
        let mut s = 5u64;
        let mut rnd = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 40) as f32 / (1u64 << 24) as f32
        };
        for _ in 0..200 {
            let o = [rnd() * 2550.0, 90.0 + rnd() * 400.0, rnd() * 2550.0];
            let (a, b) = (rnd() * std::f32::consts::TAU, 0.05 + rnd() * 1.4);
            let d = [a.cos() * b.cos(), -b.sin(), a.sin() * b.cos()];
            let hit = g.ray_hit(o, d).unwrap();
            assert!((hit[1] - g.y(hit[0], hit[2])).abs() < 0.05, "{o:?} {d:?} -> {hit:?}");
            let t_hit = ((hit[0] - o[0]).powi(2) + (hit[1] - o[1]).powi(2) + (hit[2] - o[2]).powi(2)).sqrt();
            for k in 1..400 {
                let t = t_hit * k as f32 / 400.0;
                let p = [o[0] + d[0] * t, o[1] + d[1] * t, o[2] + d[2] * t];
                assert!(p[1] > g.y(p[0], p[2]) - 0.05, "the ray went under the ground before {hit:?}");
            }
        }
    }
}
