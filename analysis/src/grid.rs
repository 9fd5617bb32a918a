//! A uniform grid over many small boxes, for spatial joins of two large layers (buildings ×
//! permits): a box is found from the cells a query box covers, by array indexing rather than
//! by walking a tree. Boxes much larger than a cell are kept aside and tested for every query.

use rayon::prelude::*;

/// `[min_x, min_y, max_x, max_y]`.
pub type Bbox = [f64; 4];

/// The grid (cells in compressed rows: `starts[c]..starts[c + 1]` index `items`).
pub struct BoxGrid {
    origin: [f64; 2],
    cell: f64,
    nx: usize,
    ny: usize,
    starts: Vec<u32>,
    items: Vec<u32>,
    boxes: Vec<Bbox>,
    large: Vec<u32>,
}

/// `f(cell, box)` for each cell (row-major, `nx` a row) of each box that `cells_of` lists in
/// cells (by its inclusive cell range `(x0, y0, x1, y1)`), boxes in id order.
fn each_cell(boxes: &[Bbox], nx: usize, cells_of: impl Fn(&Bbox) -> Option<(usize, usize, usize, usize)>, mut f: impl FnMut(usize, u32)) {
    for (i, b) in boxes.iter().enumerate() {
        let Some((x0, y0, x1, y1)) = cells_of(b) else { continue };
        for y in y0..=y1 {
            for c in y * nx + x0..=y * nx + x1 {
                f(c, i as u32);
            }
        }
    }
}

/// A box with finite corners, min ≤ max.
fn valid(b: &Bbox) -> bool {
    b.iter().all(|v| v.is_finite()) && b[0] <= b[2] && b[1] <= b[3]
}

/// A box spanning more cells than this is kept aside.
const LARGE_CELLS: usize = 64;

impl BoxGrid {
    /// Build over `boxes` (index = id); invalid boxes are left out. Cells about twice the mean
    /// box size, at most ~2 cells per box overall; boxes much larger than a cell kept aside.
    pub fn new(boxes: Vec<Bbox>) -> BoxGrid {
        BoxGrid::build(boxes, |_, ext, w, h, n| {
            let (span_x, span_y) = ((ext[2] - ext[0]).max(1e-9), (ext[3] - ext[1]).max(1e-9));
            let mut cell = (2.0 * (w + h) / (2 * n) as f64).max(1e-9);
            while (span_x / cell).ceil() * (span_y / cell).ceil() > (2 * n + 16) as f64 {
                cell *= 1.5;
            }
            (cell, LARGE_CELLS)
        })
    }

    /// Build over few large `boxes` (index = id; invalid ones left out) on about `cells` square
    /// cells over their extent, none kept aside: each box is listed in every cell it reaches
    /// (the cells grow while that would list more than `4 × cells` pairs).
    pub fn covering(boxes: Vec<Bbox>, cells: usize) -> BoxGrid {
        BoxGrid::build(boxes, |boxes, ext, _, _, _| {
            let (span_x, span_y) = ((ext[2] - ext[0]).max(1e-9), (ext[3] - ext[1]).max(1e-9));
            let mut cell = (span_x * span_y / cells.max(1) as f64).sqrt().max(1e-9);
            let pairs = |cell: f64| -> f64 {
                boxes
                    .iter()
                    .filter(|b| valid(b))
                    .map(|b| (((b[2] - b[0]) / cell).ceil() + 1.0) * (((b[3] - b[1]) / cell).ceil() + 1.0))
                    .sum()
            };
            while pairs(cell) > 4.0 * cells.max(1) as f64 {
                cell *= 1.5;
            }
            (cell, usize::MAX)
        })
    }

    /// Build with the cell size and large-box threshold (in cells) that `size` picks from the
    /// valid boxes' extent, their summed widths and heights, and their number.
    fn build(boxes: Vec<Bbox>, size: impl Fn(&[Bbox], Bbox, f64, f64, usize) -> (f64, usize)) -> BoxGrid {
        let (mut ext, mut w, mut h, mut n) = ([f64::MAX, f64::MAX, f64::MIN, f64::MIN], 0.0, 0.0, 0usize);
        for b in boxes.iter().filter(|b| valid(b)) {
            ext = [ext[0].min(b[0]), ext[1].min(b[1]), ext[2].max(b[2]), ext[3].max(b[3])];
            w += b[2] - b[0];
            h += b[3] - b[1];
            n += 1;
        }
        if n == 0 {
            return BoxGrid {
                origin: [0.0, 0.0],
                cell: 1.0,
                nx: 0,
                ny: 0,
                starts: vec![0],
                items: Vec::new(),
                boxes,
                large: Vec::new(),
            };
        }
        let (cell, large_cells) = size(&boxes, ext, w, h, n);
        let (span_x, span_y) = ((ext[2] - ext[0]).max(1e-9), (ext[3] - ext[1]).max(1e-9));
        let (nx, ny) = ((span_x / cell).floor() as usize + 1, (span_y / cell).floor() as usize + 1);
        let origin = [ext[0], ext[1]];
        let range = |b: &Bbox| {
            let cx = |x: f64| (((x - origin[0]) / cell) as usize).min(nx - 1);
            let cy = |y: f64| (((y - origin[1]) / cell) as usize).min(ny - 1);
            (cx(b[0]), cy(b[1]), cx(b[2]), cy(b[3]))
        };
        let is_large = |(x0, y0, x1, y1): (usize, usize, usize, usize)| (x1 - x0 + 1).saturating_mul(y1 - y0 + 1) > large_cells;
        let large: Vec<u32> = (0..boxes.len())
            .into_par_iter()
            .filter(|&i| valid(&boxes[i]) && is_large(range(&boxes[i])))
            .map(|i| i as u32)
            .collect();
        // Each cell's boxes, in id order: counted, then filled in place. Both callers hand their
        // boxes in space order (permits along a Hilbert curve, a zone's runs row by row), so
        // each pass writes near where it last wrote (with boxes in random order the writes would
        // scatter over millions of cells). On one core this takes what making every (cell, box)
        // pair a key and sorting the keys took on two at a million permits (≈ 48 ms), and a
        // third of it for the zones' runs, without the keys' 17 MB.
        let cells = nx * ny;
        // The box's cells, for the boxes listed in cells.
        let small = |b: &Bbox| valid(b).then(|| range(b)).filter(|&r| !is_large(r));
        // `starts[c]` counts cell c's boxes, then (summed) is where they begin, then (advanced
        // while filling) where they end, which is where cell c + 1's begin: shifted by one.
        let mut starts = vec![0u32; cells + 1];
        each_cell(&boxes, nx, small, |c, _| starts[c] += 1);
        let mut sum = 0u32;
        for s in starts.iter_mut() {
            (*s, sum) = (sum, sum + *s);
        }
        let mut items = vec![0u32; starts[cells] as usize];
        each_cell(&boxes, nx, small, |c, i| {
            items[starts[c] as usize] = i;
            starts[c] += 1;
        });
        starts.rotate_right(1);
        starts[0] = 0;
        BoxGrid {
            origin,
            cell,
            nx,
            ny,
            starts,
            items,
            boxes,
            large,
        }
    }

    /// Call `f` once with each box id whose box intersects `q` (closed boxes: touching counts).
    pub fn query(&self, q: &Bbox, mut f: impl FnMut(u32)) {
        let meets = |b: &Bbox| b[0] <= q[2] && q[0] <= b[2] && b[1] <= q[3] && q[1] <= b[3];
        for &i in &self.large {
            if meets(&self.boxes[i as usize]) {
                f(i);
            }
        }
        if self.nx == 0 || q[2] < self.origin[0] || q[3] < self.origin[1] {
            return;
        }
        let cell = |v: f64, o: f64, n: usize| (((v - o) / self.cell).max(0.0) as usize).min(n - 1);
        let (x0, y0) = (cell(q[0], self.origin[0], self.nx), cell(q[1], self.origin[1], self.ny));
        let (x1, y1) = (cell(q[2], self.origin[0], self.nx), cell(q[3], self.origin[1], self.ny));
        for y in y0..=y1 {
            for x in x0..=x1 {
                let c = y * self.nx + x;
                for &i in &self.items[self.starts[c] as usize..self.starts[c + 1] as usize] {
                    let b = &self.boxes[i as usize];
                    if !meets(b) {
                        continue;
                    }
                    // Report each pair once: in the cell that holds the lower-left corner of the
                    // two boxes' intersection. `cell` rises with its argument, so that cell's
                    // column is max(cell(b[0]), x0): this column when it is the query's first,
                    // else only when the box starts in it (the same for rows).
                    if (x == x0 || cell(b[0], self.origin[0], self.nx) == x) && (y == y0 || cell(b[1], self.origin[1], self.ny) == y) {
                        f(i);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_answers_as_brute_force() {
        // A deterministic scatter of small and a few large boxes.
        let mut s = 12345u64;
        let mut r = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut boxes = Vec::new();
        for i in 0..5000 {
            let (x, y) = (r() * 1000.0, r() * 1000.0);
            let s = if i % 500 == 0 { 300.0 } else { r() * 12.0 };
            boxes.push([x, y, x + s, y + r() * 12.0]);
        }
        boxes.push([f64::NAN, 0.0, 1.0, 1.0]);
        let g = BoxGrid::new(boxes.clone());
        for _ in 0..2000 {
            let (x, y) = (r() * 1100.0 - 50.0, r() * 1100.0 - 50.0);
            let q = [x, y, x + r() * 30.0, y + r() * 30.0];
            let mut got = Vec::new();
            g.query(&q, |i| got.push(i));
            got.sort_unstable();
            let want: Vec<u32> = boxes
                .iter()
                .enumerate()
                .filter(|(_, b)| b[0] <= q[2] && q[0] <= b[2] && b[1] <= q[3] && q[1] <= b[3])
                .map(|(i, _)| i as u32)
                .collect();
            assert_eq!(got, want, "query {q:?}");
        }
        // The same boxes on a covering grid (none kept aside), the large ones included.
        let c = BoxGrid::covering(boxes.clone(), 4096);
        for _ in 0..500 {
            let (x, y) = (r() * 1100.0 - 50.0, r() * 1100.0 - 50.0);
            let q = [x, y, x + r() * 30.0, y + r() * 30.0];
            let (mut a, mut b) = (Vec::new(), Vec::new());
            g.query(&q, |i| a.push(i));
            c.query(&q, |i| b.push(i));
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b, "query {q:?}");
        }
        // Touching counts.
        let mut got = Vec::new();
        let b = boxes[1];
        g.query(&[b[2], b[3], b[2] + 1.0, b[3] + 1.0], |i| got.push(i));
        assert!(got.contains(&1));
    }
}
