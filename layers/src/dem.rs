//! Terrain: a digital elevation model (a one-band GeoTIFF or any raster GDAL reads) sampled
//! bilinearly, in its own CRS or — through [`Terrain`] — at workspace coordinates.

use std::path::{Path, PathBuf};

use gdal::{Dataset, DatasetOptions, GdalOpenFlags};

use crate::crs::{Crs, Transformer};
use crate::error::{LayersError, Result};

/// An elevation grid.
#[derive(Debug, Clone)]
pub struct Dem {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its CRS.
    pub crs: Crs,
    /// Columns and rows.
    pub size: (usize, usize),
    /// GDAL's affine geotransform (pixel corner → CRS).
    pub geo_transform: [f64; 6],
    /// Heights in metres, row-major from the top row; NaN where there is no data.
    pub heights: Vec<f32>,
}

impl Dem {
    /// Read band 1 of a raster.
    pub fn open(path: &Path) -> Result<Dem> {
        if !path.exists() {
            return Err(LayersError::NotFound { path: path.to_owned() });
        }
        let ds = Dataset::open_ex(
            path,
            DatasetOptions {
                open_flags: GdalOpenFlags::GDAL_OF_RASTER | GdalOpenFlags::GDAL_OF_READONLY,
                ..Default::default()
            },
        )
        .map_err(|e| LayersError::Corrupt {
            path: path.to_owned(),
            detail: format!("not a raster GDAL reads: {e}"),
        })?;
        let corrupt = |detail: String| LayersError::Corrupt {
            path: path.to_owned(),
            detail,
        };
        let gt = ds.geo_transform().map_err(|e| corrupt(format!("no georeferencing: {e}")))?;
        if gt[2] != 0.0 || gt[4] != 0.0 {
            return Err(corrupt("rotated rasters are not supported".into()));
        }
        let srs = ds.spatial_ref().map_err(|_| LayersError::MissingCrs {
            path: path.to_owned(),
            layer: "band 1".into(),
        })?;
        let crs = Crs::from_spatial_ref(&srs, None);
        let band = ds.rasterband(1).map_err(|e| corrupt(format!("no band 1: {e}")))?;
        let nodata = band.no_data_value();
        let buf = band
            .read_band_as::<f32>()
            .map_err(|e| corrupt(format!("cannot read band 1: {e}")))?;
        // gdal's buffer shape is (columns, rows).
        let ((cols, rows), mut heights) = buf.into_shape_and_vec();
        let (scale, offset) = (band.scale().unwrap_or(1.0), band.offset().unwrap_or(0.0));
        for h in &mut heights {
            // No-data compared as stored (f32), before any scale.
            if nodata.is_some_and(|n| *h == n as f32) || !h.is_finite() {
                *h = f32::NAN;
            } else {
                *h = (f64::from(*h) * scale + offset) as f32;
                if *h < -1000.0 {
                    *h = f32::NAN;
                }
            }
        }
        Ok(Dem {
            // Absolute, so that a saved workspace finds it again from anywhere.
            path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()),
            crs,
            size: (cols, rows),
            geo_transform: gt,
            heights,
        })
    }

    /// Height at (x, y) in the DEM's CRS, interpolated between the four nearest samples (which
    /// sit at pixel centres); `None` outside the grid or where it has no data.
    pub fn height_at(&self, x: f64, y: f64) -> Option<f64> {
        let g = &self.geo_transform;
        // Continuous pixel coordinates of the sample centres.
        let c = (x - g[0]) / g[1] - 0.5;
        let r = (y - g[3]) / g[5] - 0.5;
        bilinear(&self.heights, self.size, c, r)
    }

    /// The grid's extent in its CRS: `[min_x, min_y, max_x, max_y]`.
    pub fn extent(&self) -> [f64; 4] {
        let g = &self.geo_transform;
        let (x0, x1) = (g[0], g[0] + g[1] * self.size.0 as f64);
        let (y0, y1) = (g[3], g[3] + g[5] * self.size.1 as f64);
        [x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)]
    }
}

/// Write a one-band Float32 grid as a tiled, compressed GeoTIFF (a DEM, a flood's depths):
/// `values` row-major from the top row, `nodata` marking cells without a value, `metadata`
/// as dataset metadata items (e.g. `SYNTHETIC=YES`).
pub fn write_grid(
    path: &Path,
    crs: &Crs,
    geo_transform: [f64; 6],
    size: (usize, usize),
    values: Vec<f32>,
    nodata: Option<f64>,
    metadata: &[(&str, &str)],
) -> Result<()> {
    use gdal::Metadata;
    let fail = |e: gdal::errors::GdalError| LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("cannot write the grid: {e}"),
    };
    if values.len() != size.0 * size.1 {
        return Err(LayersError::Invalid(format!(
            "{}: {} values for {} × {} cells",
            path.display(),
            values.len(),
            size.0,
            size.1
        )));
    }
    let wkt = crs
        .wkt()
        .ok_or_else(|| LayersError::Invalid(format!("{}: the CRS {} has no WKT", path.display(), crs.label())))?;
    let drv = gdal::DriverManager::get_driver_by_name("GTiff").map_err(fail)?;
    let opts = gdal::raster::RasterCreationOptions::from_iter(["COMPRESS=DEFLATE", "PREDICTOR=3", "TILED=YES"]);
    let mut ds = drv
        .create_with_band_type_with_options::<f32, _>(path, size.0, size.1, 1, &opts)
        .map_err(fail)?;
    ds.set_geo_transform(&geo_transform).map_err(fail)?;
    ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_wkt(&wkt).map_err(fail)?)
        .map_err(fail)?;
    for (k, v) in metadata {
        ds.set_metadata_item(k, v, "").map_err(fail)?;
    }
    let mut band = ds.rasterband(1).map_err(fail)?;
    if let Some(n) = nodata {
        band.set_no_data_value(Some(n)).map_err(fail)?;
    }
    let mut buf = gdal::raster::Buffer::new(size, values);
    band.write((0, 0), size, &mut buf).map_err(fail)?;
    Ok(())
}

/// The bilinear value of a row-major grid of `size` (columns, rows) at continuous pixel
/// coordinates of the sample centres (`c`, `r`; 0 at the first centre); `None` outside the grid
/// (beyond the half pixel past the outermost centres, where the edge value holds) or where a
/// sample with weight is NaN.
pub fn bilinear(heights: &[f32], size: (usize, usize), c: f64, r: f64) -> Option<f64> {
    let (cols, rows) = size;
    // Inside the grid but in the half pixel beyond the outermost centres: the edge value.
    if !(c >= -0.5 && r >= -0.5 && c <= cols as f64 - 0.5 && r <= rows as f64 - 0.5) {
        return None;
    }
    let (c, r) = (c.clamp(0.0, (cols - 1) as f64), r.clamp(0.0, (rows - 1) as f64));
    let (c0, r0) = (c.floor() as usize, r.floor() as usize);
    let (c1, r1) = ((c0 + 1).min(cols - 1), (r0 + 1).min(rows - 1));
    let (fx, fy) = (c - c0 as f64, r - r0 as f64);
    // Samples with no weight do not count (a no-data neighbour of an exact sample).
    let mut v = 0.0;
    for (c, r, w) in [
        (c0, r0, (1.0 - fx) * (1.0 - fy)),
        (c1, r0, fx * (1.0 - fy)),
        (c0, r1, (1.0 - fx) * fy),
        (c1, r1, fx * fy),
    ] {
        if w > 0.0 {
            v += f64::from(heights[r * cols + c]) * w;
        }
    }
    v.is_finite().then_some(v)
}

/// A DEM seen from a workspace: heights at workspace coordinates (through [`Terrain::sampler`]).
#[derive(Debug)]
pub struct Terrain {
    /// The elevation grid.
    pub dem: Dem,
    /// The workspace CRS.
    ws_crs: Crs,
    /// The DEM's extent in workspace coordinates (a grid of its points transformed).
    pub extent: [f64; 4],
}

/// Samples a [`Terrain`] at workspace coordinates (holds a PROJ transformation: one per thread).
pub struct TerrainSampler<'a> {
    terrain: &'a Terrain,
    to_dem: Option<Transformer>,
}

impl Terrain {
    /// Put `dem` into a workspace whose CRS is `ws_crs`.
    pub fn new(dem: Dem, ws_crs: &Crs) -> Result<Terrain> {
        let extent = if &dem.crs == ws_crs {
            dem.extent()
        } else {
            let to_ws = Transformer::new(&dem.crs, ws_crs)?;
            let e = dem.extent();
            let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
            for i in 0..=8 {
                for j in 0..=8 {
                    let x = e[0] + (e[2] - e[0]) * f64::from(i) / 8.0;
                    let y = e[1] + (e[3] - e[1]) * f64::from(j) / 8.0;
                    let (x, y) = to_ws.transform(x, y)?;
                    b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
                }
            }
            b
        };
        Ok(Terrain {
            dem,
            ws_crs: ws_crs.clone(),
            extent,
        })
    }

    /// A sampler for this thread.
    pub fn sampler(&self) -> Result<TerrainSampler<'_>> {
        let to_dem = if self.dem.crs == self.ws_crs {
            None
        } else {
            Some(Transformer::new(&self.ws_crs, &self.dem.crs)?)
        };
        Ok(TerrainSampler { terrain: self, to_dem })
    }
}

impl TerrainSampler<'_> {
    /// Height at workspace coordinates; `None` off the DEM or where it has no data.
    pub fn height_at(&self, x: f64, y: f64) -> Option<f64> {
        match &self.to_dem {
            None => self.terrain.dem.height_at(x, y),
            Some(t) => {
                let (dx, dy) = t.transform(x, y).ok()?;
                self.terrain.dem.height_at(dx, dy)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_between_pixel_centres() {
        let dem = Dem {
            path: "mem".into(),
            crs: Crs::from_epsg(4326).unwrap(),
            size: (2, 2),
            geo_transform: [0.0, 1.0, 0.0, 2.0, 0.0, -1.0],
            heights: vec![10.0, 20.0, 30.0, f32::NAN],
        };
        // Pixel centres: (0.5, 1.5) = 10, (1.5, 1.5) = 20, (0.5, 0.5) = 30.
        assert_eq!(dem.height_at(0.5, 1.5), Some(10.0));
        assert_eq!(dem.height_at(1.0, 1.5), Some(15.0));
        assert_eq!(dem.height_at(0.5, 1.0), Some(20.0));
        assert_eq!(dem.height_at(1.0, 1.0), None, "touches the no-data sample");
        assert_eq!(
            dem.height_at(0.2, 1.5),
            Some(10.0),
            "the half pixel beyond the last centre: the edge value"
        );
        assert_eq!(dem.height_at(-0.1, 1.5), None, "outside the grid");
    }
}
