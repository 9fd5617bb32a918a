//! What-if scenarios for commanders (模拟推演): flood inundation on the DEM ([`flood`]), a gas or
//! toxic release as a Gaussian plume ([`plume`]), earthquake intensity by an attenuation relation
//! for China ([`quake`]) and what a camera sees ([`viewshed`]). Each is a typed model with its
//! parameters checked (a bad one is an [`Invalid`] naming it); the application API runs them on
//! a workspace, counts the buildings and people they reach and logs them on the incident.

pub mod flood;
pub mod plume;
pub mod quake;
pub mod viewshed;

use jingwei_layers::dem::Dem;

use crate::area::Ellipsoid;

/// A parameter a model cannot run with, and why (one line for the user).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// A raster's grid: where its cells lie and how large they are.
#[derive(Debug, Clone, PartialEq)]
pub struct CellGrid {
    /// GDAL's geotransform (not rotated).
    pub gt: [f64; 6],
    /// Columns.
    pub cols: usize,
    /// Rows.
    pub rows: usize,
    /// The area (m²) of one cell in each row: on the CGCS2000/WGS 84 ellipsoid when the grid is
    /// in longitude/latitude, else the plane area.
    pub row_area_m2: Vec<f64>,
}

impl CellGrid {
    /// The grid of a DEM.
    pub fn of(dem: &Dem) -> CellGrid {
        let (cols, rows) = dem.size;
        let gt = dem.geo_transform;
        let row_area_m2 = if dem.crs.is_geographic() {
            let e = Ellipsoid::CGCS2000;
            (0..rows)
                .map(|r| {
                    let (x0, x1) = (gt[0], gt[0] + gt[1]);
                    let (y0, y1) = (gt[3] + gt[5] * r as f64, gt[3] + gt[5] * (r + 1) as f64);
                    e.ring_area_signed(&[(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]).abs()
                })
                .collect()
        } else {
            vec![(gt[1] * gt[5]).abs(); rows]
        };
        CellGrid {
            gt,
            cols,
            rows,
            row_area_m2,
        }
    }

    /// The area (m²) of a cell in row `r`.
    pub fn cell_area(&self, r: usize) -> f64 {
        self.row_area_m2[r]
    }

    /// The cell holding (x, y), or `None` off the grid.
    pub fn cell_of(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let c = ((x - self.gt[0]) / self.gt[1]).floor();
        let r = ((y - self.gt[3]) / self.gt[5]).floor();
        (c >= 0.0 && r >= 0.0 && c < self.cols as f64 && r < self.rows as f64).then_some((c as usize, r as usize))
    }

    /// The centre of cell (c, r).
    pub fn centre(&self, c: usize, r: usize) -> (f64, f64) {
        (
            self.gt[0] + (c as f64 + 0.5) * self.gt[1],
            self.gt[3] + (r as f64 + 0.5) * self.gt[5],
        )
    }

    /// The corners of cell (c, r) as a closed ring.
    pub fn cell_ring(&self, c: usize, r: usize) -> [(f64, f64); 5] {
        let (x0, y0) = (self.gt[0] + c as f64 * self.gt[1], self.gt[3] + r as f64 * self.gt[5]);
        let (x1, y1) = (x0 + self.gt[1], y0 + self.gt[5]);
        [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    }
}

/// The runs of consecutive cells of each row of a `cols` × `rows` grid for which `inside(i)`
/// holds (`i` the row-major index): `(row, first column, end column)`, end exclusive. A grid's
/// cells drawn as one rectangle per run instead of one per cell.
pub fn row_runs(cols: usize, rows: usize, inside: impl Fn(usize) -> bool) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for r in 0..rows {
        let mut c = 0;
        while c < cols {
            if !inside(r * cols + c) {
                c += 1;
                continue;
            }
            let start = c;
            while c < cols && inside(r * cols + c) {
                c += 1;
            }
            out.push((r, start, c));
        }
    }
    out
}

/// Check that `v` is a finite number in `lo..=hi` (a parameter named `what`, in `unit`).
pub fn check_range(what: &str, v: f64, lo: f64, hi: f64, unit: &str) -> Result<f64, Invalid> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(v)
    } else {
        Err(Invalid(format!("{what} {v}{unit}: give {lo}–{hi}{unit}")))
    }
}
