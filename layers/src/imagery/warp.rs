//! Draw a [`TileSource`] into a view in another CRS: a control grid of the view's pixel centres
//! is transformed into the source CRS (every 16 pixels; in between, interpolated, as GDAL's
//! approximate transformer does), the level is the coarsest at least as fine as the view, and
//! each pixel is a bilinear sample of that level — or, where its tiles are not at hand yet, of
//! the nearest coarser level that is.

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;

use super::cache::TileCache;
use super::{Tile, TileGrid, TileKey, TileSource};
use crate::crs::{Crs, Transformer};
use crate::error::Result;

/// Control points every this many pixels.
const STEP: u32 = 16;

/// A view to draw into: `extent` `[min_x, min_y, max_x, max_y]` in `crs`, `width × height`
/// pixels, north up.
#[derive(Debug, Clone)]
pub struct Target {
    /// The view's CRS (the workspace's).
    pub crs: Crs,
    /// The view's extent in that CRS.
    pub extent: [f64; 4],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// What one view needs of one source.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The level drawn.
    pub level: usize,
    /// Per level to sample from (the chosen one first, then coarser, nearest first), the tile
    /// columns and rows covering the view: `[col0, row0, col1, row1]` inclusive.
    pub ranges: Vec<(usize, [u32; 4])>,
    width: u32,
    height: u32,
    cols: usize,
    /// Source coordinates of the control points (NaN where the transformation fails).
    ctrl: Vec<[f64; 2]>,
}

/// An image drawn from a source: straight RGBA, and how much of it is at the chosen level.
#[derive(Debug, Clone)]
pub struct Composite {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 4` bytes, row-major from the top.
    pub rgba: Vec<u8>,
    /// Tiles of the chosen level still missing (drawn from a coarser level, or not at all).
    pub missing: usize,
}

impl Plan {
    /// Plan drawing `grid` into `target`; `None` when they do not overlap. At most
    /// `max_tiles` tiles of the chosen level: a view needing more takes a coarser level, and
    /// one that would still need more than four times that (no overviews) is not drawn.
    pub fn new(grid: &TileGrid, target: &Target, max_tiles: usize) -> Result<Option<Plan>> {
        let (w, h) = (target.width.max(1), target.height.max(1));
        let e = target.extent;
        let (px, py) = ((e[2] - e[0]) / f64::from(w), (e[3] - e[1]) / f64::from(h));
        let to_src = if target.crs == grid.crs {
            None
        } else {
            Some(Transformer::new(&target.crs, &grid.crs)?)
        };
        let cols = w.div_ceil(STEP) as usize + 1;
        let rows = h.div_ceil(STEP) as usize + 1;
        let mut ctrl = Vec::with_capacity(cols * rows);
        for j in 0..rows {
            for i in 0..cols {
                let cx = (i as u32 * STEP).min(w) as f64;
                let cy = (j as u32 * STEP).min(h) as f64;
                let (x, y) = (e[0] + (cx + 0.5) * px, e[3] - (cy + 0.5) * py);
                let p = match &to_src {
                    None => Ok((x, y)),
                    Some(t) => t.transform(x, y),
                };
                ctrl.push(p.map_or([f64::NAN; 2], |(x, y)| [x, y]));
            }
        }
        // The finest resolution the view needs: source distance per view pixel, smallest over
        // the control cells.
        let mut need = f64::INFINITY;
        let mut bbox = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for j in 0..rows {
            for i in 0..cols {
                let p = ctrl[j * cols + i];
                if !p[0].is_finite() || !p[1].is_finite() {
                    continue;
                }
                bbox = [bbox[0].min(p[0]), bbox[1].min(p[1]), bbox[2].max(p[0]), bbox[3].max(p[1])];
                let d = |q: [f64; 2], n: f64| ((q[0] - p[0]).hypot(q[1] - p[1])) / n;
                if i + 1 < cols {
                    let n = f64::from((((i + 1) as u32 * STEP).min(w)) - i as u32 * STEP);
                    let q = ctrl[j * cols + i + 1];
                    if q[0].is_finite() && n > 0.0 {
                        need = need.min(d(q, n));
                    }
                }
                if j + 1 < rows {
                    let n = f64::from((((j + 1) as u32 * STEP).min(h)) - j as u32 * STEP);
                    let q = ctrl[(j + 1) * cols + i];
                    if q[0].is_finite() && n > 0.0 {
                        need = need.min(d(q, n));
                    }
                }
            }
        }
        if !bbox[0].is_finite() {
            return Ok(None);
        }
        if !need.is_finite() {
            need = px.max(py);
        }
        // A margin of one source pixel or so for the bilinear neighbours, and the overlap with
        // the data.
        let g = grid.extent;
        let margin = need * 2.0;
        let b = [
            (bbox[0] - margin).max(g[0]),
            (bbox[1] - margin).max(g[1]),
            (bbox[2] + margin).min(g[2]),
            (bbox[3] + margin).min(g[3]),
        ];
        if !(b[0] < b[2] && b[1] < b[3]) {
            return Ok(None);
        }
        let Some(mut level) = grid.level_for(need) else { return Ok(None) };
        let range = |l: usize| -> Option<[u32; 4]> {
            let lv = &grid.levels[l];
            let [sx, sy] = lv.tile_span();
            let c0 = ((b[0] - lv.origin[0]) / sx).floor().max(0.0);
            let c1 = ((b[2] - lv.origin[0]) / sx).floor().min(f64::from(lv.matrix[0]) - 1.0);
            let r0 = ((lv.origin[1] - b[3]) / sy).floor().max(0.0);
            let r1 = ((lv.origin[1] - b[1]) / sy).floor().min(f64::from(lv.matrix[1]) - 1.0);
            (c0 <= c1 && r0 <= r1).then_some([c0 as u32, r0 as u32, c1 as u32, r1 as u32])
        };
        let count = |r: [u32; 4]| (r[2] - r[0] + 1) as usize * (r[3] - r[1] + 1) as usize;
        // Too many tiles (a view far finer than the level's extent allows, or a distorted
        // projection): step to coarser levels.
        let mut coarser = grid.coarser(level).into_iter();
        while range(level).is_some_and(|r| count(r) > max_tiles) {
            match coarser.next() {
                Some(c) => level = c,
                None => break,
            }
        }
        // Still far too many (an image without overviews seen whole): not drawn at this
        // scale rather than read whole; zoomed in, it shows.
        if range(level).is_some_and(|r| count(r) > 4 * max_tiles) {
            return Ok(None);
        }
        let mut ranges = Vec::new();
        for l in std::iter::once(level).chain(grid.coarser(level)) {
            if let Some(r) = range(l) {
                ranges.push((l, r));
            }
        }
        if ranges.is_empty() {
            return Ok(None);
        }
        Ok(Some(Plan {
            level,
            ranges,
            width: w,
            height: h,
            cols,
            ctrl,
        }))
    }

    /// Tiles of the chosen level, nearest the view's centre first.
    pub fn tiles(&self) -> Vec<(usize, u32, u32)> {
        let Some(&(l, r)) = self.ranges.first() else { return Vec::new() };
        let (cc, cr) = (f64::from(r[0] + r[2]) / 2.0, f64::from(r[1] + r[3]) / 2.0);
        let mut out: Vec<(usize, u32, u32)> = (r[1]..=r[3]).flat_map(|row| (r[0]..=r[2]).map(move |col| (l, col, row))).collect();
        out.sort_by(|a, b| {
            let d = |t: &(usize, u32, u32)| (f64::from(t.1) - cc).powi(2) + (f64::from(t.2) - cr).powi(2);
            d(a).total_cmp(&d(b))
        });
        out
    }

    /// The coarsest level's tiles when they are few (at most 4): fetched first, so that a
    /// first frame shows the whole view blurred rather than nothing.
    pub fn preview_tiles(&self) -> Vec<(usize, u32, u32)> {
        match self.ranges.last() {
            Some(&(l, r)) if self.ranges.len() > 1 && (r[2] - r[0] + 1) * (r[3] - r[1] + 1) <= 4 => {
                (r[1]..=r[3]).flat_map(|row| (r[0]..=r[2]).map(move |col| (l, col, row))).collect()
            }
            _ => Vec::new(),
        }
    }

    fn source_at(&self, x: u32, y: u32) -> [f64; 2] {
        let (i, j) = ((x / STEP) as usize, (y / STEP) as usize);
        let (i1, j1) = ((i + 1).min(self.cols - 1), (j + 1).min(self.ctrl.len() / self.cols - 1));
        let x0 = (i as u32 * STEP) as f64;
        let y0 = (j as u32 * STEP) as f64;
        let wx = (((i1 as u32 * STEP).min(self.width) as f64) - x0).max(1.0);
        let wy = (((j1 as u32 * STEP).min(self.height) as f64) - y0).max(1.0);
        let (fx, fy) = ((f64::from(x) - x0) / wx, (f64::from(y) - y0) / wy);
        let c = |i: usize, j: usize| self.ctrl[j * self.cols + i];
        let (a, b, cc, d) = (c(i, j), c(i1, j), c(i, j1), c(i1, j1));
        let mut out = [0.0; 2];
        for k in 0..2 {
            let top = a[k] + (b[k] - a[k]) * fx;
            let bottom = cc[k] + (d[k] - cc[k]) * fx;
            out[k] = top + (bottom - top) * fy;
        }
        out
    }

    /// Draw with the tiles `lookup` has (`None`: not fetched yet; `Some(None)`: no data there).
    pub fn compose(&self, grid: &TileGrid, lookup: &dyn Fn(usize, u32, u32) -> Option<Option<Arc<Tile>>>) -> Composite {
        let mut have: HashMap<(usize, u32, u32), Option<Arc<Tile>>> = HashMap::new();
        let mut missing = 0;
        for (n, &(l, r)) in self.ranges.iter().enumerate() {
            for row in r[1]..=r[3] {
                for col in r[0]..=r[2] {
                    match lookup(l, col, row) {
                        Some(t) => {
                            have.insert((l, col, row), t);
                        }
                        None if n == 0 => missing += 1,
                        None => {}
                    }
                }
            }
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let mut rgba = vec![0u8; w * h * 4];
        rgba.par_chunks_mut(w * 4).enumerate().for_each(|(y, line)| {
            for x in 0..w {
                let s = self.source_at(x as u32, y as u32);
                if !s[0].is_finite() || !s[1].is_finite() {
                    continue;
                }
                for &(l, _) in &self.ranges {
                    if let Some(px) = sample(grid, l, s, &have) {
                        line[x * 4..x * 4 + 4].copy_from_slice(&px);
                        break;
                    }
                }
            }
        });
        Composite {
            width: self.width,
            height: self.height,
            rgba,
            missing,
        }
    }

    /// Draw with what `cache` holds for `source`.
    pub fn compose_cached(&self, source: &dyn TileSource, cache: &TileCache) -> Composite {
        let key: Arc<str> = Arc::from(source.key());
        self.compose(source.grid(), &|l, c, r| cache.get(&(key.clone(), l, c, r)))
    }

    /// Draw, fetching what the cache lacks here and now (for batch renders and tests; the
    /// app goes through [`super::loader::Loader`] instead).
    pub fn compose_now(&self, source: &dyn TileSource, cache: &TileCache) -> std::result::Result<Composite, super::TileError> {
        let key: Arc<str> = Arc::from(source.key());
        let tiles = self.tiles();
        let fetched: Vec<(TileKey, std::result::Result<Option<Tile>, super::TileError>)> = tiles
            .par_iter()
            .filter(|t| !cache.contains(&(key.clone(), t.0, t.1, t.2)))
            .map(|&(l, c, r)| ((key.clone(), l, c, r), source.fetch(l, c, r)))
            .collect();
        for (k, t) in fetched {
            cache.put(k, t?.map(Arc::new));
        }
        Ok(self.compose_cached(source, cache))
    }
}

/// Bilinear sample at source coordinates `s` from level `l`; `None` when a tile it needs is
/// not at hand. Colours are averaged weighted by alpha (no dark fringes at edges).
fn sample(grid: &TileGrid, l: usize, s: [f64; 2], have: &HashMap<(usize, u32, u32), Option<Arc<Tile>>>) -> Option<[u8; 4]> {
    let e = grid.extent;
    if !(s[0] >= e[0] && s[0] <= e[2] && s[1] >= e[1] && s[1] <= e[3]) {
        return Some([0; 4]);
    }
    let lv = &grid.levels[l];
    let fx = (s[0] - lv.origin[0]) / lv.res[0] - 0.5;
    let fy = (lv.origin[1] - s[1]) / lv.res[1] - 0.5;
    let (x0, y0) = (fx.floor(), fy.floor());
    let (tx, ty) = (fx - x0, fy - y0);
    let (tw, th) = (i64::from(lv.tile[0]), i64::from(lv.tile[1]));
    let (mw, mh) = (i64::from(lv.matrix[0]) * tw, i64::from(lv.matrix[1]) * th);
    let mut acc = [0f64; 4];
    for (dx, dy, wgt) in [
        (0, 0, (1.0 - tx) * (1.0 - ty)),
        (1, 0, tx * (1.0 - ty)),
        (0, 1, (1.0 - tx) * ty),
        (1, 1, tx * ty),
    ] {
        if wgt <= 0.0 {
            continue;
        }
        let (px, py) = (x0 as i64 + dx, y0 as i64 + dy);
        // Off the matrix: clamp to its edge (the half pixel beyond the last centre).
        let (px, py) = (px.clamp(0, mw - 1), py.clamp(0, mh - 1));
        let key = (l, (px / tw) as u32, (py / th) as u32);
        let texel = match have.get(&key)? {
            None => [0u8; 4],
            Some(t) => {
                let (ix, iy) = ((px % tw) as usize, (py % th) as usize);
                if ix >= t.width as usize || iy >= t.height as usize {
                    [0; 4]
                } else {
                    let o = (iy * t.width as usize + ix) * 4;
                    [t.rgba[o], t.rgba[o + 1], t.rgba[o + 2], t.rgba[o + 3]]
                }
            }
        };
        let a = f64::from(texel[3]) * wgt;
        acc[0] += f64::from(texel[0]) * a;
        acc[1] += f64::from(texel[1]) * a;
        acc[2] += f64::from(texel[2]) * a;
        acc[3] += a;
    }
    if acc[3] <= 0.0 {
        return Some([0; 4]);
    }
    Some([
        (acc[0] / acc[3]).round() as u8,
        (acc[1] / acc[3]).round() as u8,
        (acc[2] / acc[3]).round() as u8,
        acc[3].round().min(255.0) as u8,
    ])
}
