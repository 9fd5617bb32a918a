//! Polygon set operations and buffers through GEOS (via GDAL), for the few places that need
//! exact, robust overlay: generating planning layers, repairing geometry, impact zones.

use gdal::vector::{Geometry as GdalGeometry, ToGdal};
use geo::Geometry;

use crate::error::{LayersError, Result};
use crate::wkb::parse_wkb;

fn to_gdal(g: &Geometry) -> Result<GdalGeometry> {
    g.to_gdal().map_err(|e| LayersError::Invalid(format!("geometry conversion: {e}")))
}

fn from_gdal(g: &GdalGeometry) -> Result<Geometry> {
    let wkb = g.iso_wkb().map_err(|e| LayersError::Invalid(format!("geometry conversion: {e}")))?;
    parse_wkb(&wkb).map_err(|e| LayersError::Invalid(format!("geometry conversion: {e}")))
}

/// The geometry grown by `distance` (shrunk when negative); `quadrant_segments` per quarter circle.
pub fn buffer(g: &Geometry, distance: f64, quadrant_segments: u32) -> Result<Geometry> {
    let b = to_gdal(g)?
        .buffer(distance, quadrant_segments)
        .map_err(|e| LayersError::Invalid(format!("buffer: {e}")))?;
    from_gdal(&b)
}

/// `a` minus `b`.
pub fn difference(a: &Geometry, b: &Geometry) -> Result<Option<Geometry>> {
    to_gdal(a)?.difference(&to_gdal(b)?).map(|g| from_gdal(&g)).transpose()
}

/// Union of `a` and `b`.
pub fn union(a: &Geometry, b: &Geometry) -> Result<Option<Geometry>> {
    to_gdal(a)?.union(&to_gdal(b)?).map(|g| from_gdal(&g)).transpose()
}

/// Intersection of `a` and `b`.
pub fn intersection(a: &Geometry, b: &Geometry) -> Result<Option<Geometry>> {
    to_gdal(a)?.intersection(&to_gdal(b)?).map(|g| from_gdal(&g)).transpose()
}

/// Parse OGC WKT (e.g. a polygon an inspector drew or typed).
pub fn from_wkt(wkt: &str) -> Result<Geometry> {
    let g = GdalGeometry::from_wkt(wkt).map_err(|e| LayersError::Invalid(format!("not valid WKT ({e}): {wkt}")))?;
    from_gdal(&g)
}
