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

    /// Where a ray (origin `o`, unit direction `d`, local metres) first meets the drawn ground:
    /// marched at half the grid spacing between the highest ground and y = 0 (nothing lies
    /// lower), then bisected. `None` when the ray never comes down to the ground.
    pub fn ray_hit(&self, o: [f32; 3], d: [f32; 3]) -> Option<[f32; 3]> {
        if d[1] >= -1e-6 {
            return None;
        }
        let at = |t: f32| [o[0] + d[0] * t, o[1] + d[1] * t, o[2] + d[2] * t];
        let above = |t: f32| {
            let p = at(t);
            p[1] - self.y(p[0], p[2])
        };
        let t_top = ((o[1] - self.max_y()) / -d[1]).max(0.0);
        let t_floor = o[1] / -d[1];
        if t_floor <= 0.0 {
            return None;
        }
        // Steps of half a cell along the ground track (the ray's horizontal speed sets it).
        let horizontal = (d[0] * d[0] + d[2] * d[2]).sqrt().max(1e-6);
        let step = (self.step_m / 2.0 / horizontal).max(0.01);
        let (mut t0, mut t) = (t_top, t_top);
        if above(t0) <= 0.0 {
            return Some(at(t0));
        }
        while t < t_floor {
            t = (t + step).min(t_floor);
            if above(t) <= 0.0 {
                // The crossing lies in (t0, t]: halve it down to a millimetre or so.
                let mut hi = t;
                for _ in 0..40 {
                    let mid = (t0 + hi) / 2.0;
                    if above(mid) > 0.0 {
                        t0 = mid
                    } else {
                        hi = mid
                    }
                    if hi - t0 < 1e-3 {
                        break;
                    }
                }
                return Some(at(hi));
            }
            t0 = t;
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
            mesh.positions.push([
                (x - origin[0]) as f32,
                if v.is_finite() { (v - h_ref) as f32 } else { 0.0 },
                -((y - origin[1]) as f32),
            ]);
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
