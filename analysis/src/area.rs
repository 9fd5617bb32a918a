//! Areas as Chinese land surveys report them: the plane area in the map's projected CRS (the
//! Gauss-Krüger zone, 平面面积) and the ellipsoidal area on CGCS2000 (椭球面积), each labelled;
//! in m², 公顷 (hectares) and 亩 (1 亩 = 2000/3 m²).
//!
//! The ellipsoidal area is computed exactly for the ellipsoid by the equal-area cylindrical
//! map of the ellipsoid (Snyder, *Map Projections — A Working Manual*, 1987, eqs. 3-12 and
//! 10-15): x = a·λ, y = a·q(φ)/2 preserves area everywhere, so a ring's area is the shoelace
//! of its vertices there. Edges are the plane's straight lines (how a survey draws a parcel in
//! its zone): each is divided into steps of at most [`STEP_M`] before its vertices are carried
//! to longitude/latitude, so that the curve between two vertices does not matter. Checked
//! against GeographicLib's `Planimeter` (an independent geodesic implementation) in the tests.

use geo::{Area, Coord, Geometry, LineString, Polygon};

use jingwei_layers::Transformer;

/// Square metres in one 亩.
pub const M2_PER_MU: f64 = 2000.0 / 3.0;
/// Square metres in one 公顷.
pub const M2_PER_HA: f64 = 10_000.0;
/// The longest straight step of an edge before its points are carried to the ellipsoid, m.
pub const STEP_M: f64 = 50.0;

/// A reference ellipsoid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ellipsoid {
    /// Semi-major axis, m.
    pub a: f64,
    /// Flattening.
    pub f: f64,
}

impl Ellipsoid {
    /// CGCS2000 (GB/T 18522 and the 2008 national announcement): a = 6 378 137 m,
    /// f = 1/298.257 222 101.
    pub const CGCS2000: Ellipsoid = Ellipsoid {
        a: 6_378_137.0,
        f: 1.0 / 298.257_222_101,
    };

    fn e(&self) -> f64 {
        (self.f * (2.0 - self.f)).sqrt()
    }

    /// Snyder's q(φ) (eq. 3-12), φ in radians.
    fn q(&self, phi: f64) -> f64 {
        let e = self.e();
        let s = phi.sin();
        let es = e * s;
        (1.0 - e * e) * (s / (1.0 - es * es) - (1.0 / (2.0 * e)) * ((1.0 - es) / (1.0 + es)).ln())
    }

    /// The signed area of a ring of (longitude, latitude) degrees, m²: positive when
    /// counter-clockwise. Its edges are straight in the equal-area map (give dense rings).
    pub fn ring_area_signed(&self, ring: &[(f64, f64)]) -> f64 {
        if ring.len() < 3 {
            return 0.0;
        }
        let pts: Vec<(f64, f64)> = ring
            .iter()
            .map(|&(lon, lat)| (self.a * lon.to_radians(), self.a * self.q(lat.to_radians()) / 2.0))
            .collect();
        // Relative to the first point, for precision.
        let (x0, y0) = pts[0];
        let mut twice = 0.0;
        for w in 0..pts.len() {
            let (ax, ay) = (pts[w].0 - x0, pts[w].1 - y0);
            let (bx, by) = (pts[(w + 1) % pts.len()].0 - x0, pts[(w + 1) % pts.len()].1 - y0);
            twice += ax * by - bx * ay;
        }
        twice / 2.0
    }
}

/// A geometry's two areas, m².
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct Areas {
    /// Plane area in the projected CRS (平面面积), m².
    pub plane_m2: f64,
    /// Ellipsoidal area on CGCS2000 (椭球面积), m².
    pub ellipsoid_m2: f64,
}

impl Areas {
    /// The sum of two.
    pub fn plus(self, o: Areas) -> Areas {
        Areas {
            plane_m2: self.plane_m2 + o.plane_m2,
            ellipsoid_m2: self.ellipsoid_m2 + o.ellipsoid_m2,
        }
    }
}

/// A ring's points with every edge cut into steps of at most [`STEP_M`] (plane units).
fn densified(ring: &LineString) -> Vec<Coord> {
    let mut out = Vec::with_capacity(ring.0.len());
    for w in ring.0.windows(2) {
        let (a, b) = (w[0], w[1]);
        let len = (b.x - a.x).hypot(b.y - a.y);
        let n = (len / STEP_M).ceil().max(1.0) as usize;
        for k in 0..n {
            let t = k as f64 / n as f64;
            out.push(Coord {
                x: a.x + (b.x - a.x) * t,
                y: a.y + (b.y - a.y) * t,
            });
        }
    }
    out
}

/// The ellipsoidal area of a ring drawn in the plane of `to_lonlat`'s source CRS, m².
fn ring_ellipsoid_m2(ring: &LineString, to_lonlat: &Transformer, e: &Ellipsoid) -> Option<f64> {
    let mut pts: Vec<(f64, f64)> = densified(ring).iter().map(|c| (c.x, c.y)).collect();
    to_lonlat.transform_in_place(&mut pts).ok()?;
    Some(e.ring_area_signed(&pts).abs())
}

fn polygon_areas(p: &Polygon, to_lonlat: &Transformer, e: &Ellipsoid) -> Option<Areas> {
    let mut ell = ring_ellipsoid_m2(p.exterior(), to_lonlat, e)?;
    for h in p.interiors() {
        ell -= ring_ellipsoid_m2(h, to_lonlat, e)?;
    }
    Some(Areas {
        plane_m2: p.unsigned_area(),
        ellipsoid_m2: ell.max(0.0),
    })
}

/// Both areas of a polygonal geometry in a projected CRS; `to_lonlat` carries that CRS to
/// CGCS2000 longitude/latitude (east, north). `None` when a point cannot be carried.
pub fn areas(g: &Geometry, to_lonlat: &Transformer) -> Option<Areas> {
    let e = Ellipsoid::CGCS2000;
    let mut total = Areas::default();
    let mut ok = true;
    crate::for_each_polygon(g, |p| match polygon_areas(p, to_lonlat, &e) {
        Some(a) => total = total.plus(a),
        None => ok = false,
    });
    ok.then_some(total)
}

/// m² as 公顷.
pub fn hectares(m2: f64) -> f64 {
    m2 / M2_PER_HA
}

/// m² as 亩.
pub fn mu(m2: f64) -> f64 {
    m2 / M2_PER_MU
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_of_the_ellipsoid_between_equator_and_pole() {
        // The area between the equator and the pole over 90° of longitude is a quarter of a
        // hemisphere: 2πa²·q(π/2)/2 / 4 … i.e. the shoelace of the map rectangle.
        let e = Ellipsoid::CGCS2000;
        let ring = [(0.0, 0.0), (90.0, 0.0), (90.0, 90.0), (0.0, 90.0)];
        let got = e.ring_area_signed(&ring);
        // The ellipsoid's whole surface, closed form (WGS 84's 510 065 621.7 km² differs only in f).
        let ee = e.e();
        let whole = 2.0 * std::f64::consts::PI * e.a * e.a * (1.0 + (1.0 - ee * ee) / ee * ee.atanh());
        assert!((got * 8.0 - whole).abs() / whole < 1e-12, "{got} vs {}", whole / 8.0);
        assert!((whole / 1e6 - 510_065_621.7).abs() < 1.0, "{}", whole / 1e6);
        // Clockwise is negative.
        let cw: Vec<_> = ring.iter().rev().copied().collect();
        assert!((e.ring_area_signed(&cw) + got).abs() < 1e-3);
    }

    #[test]
    fn mu_and_hectares() {
        assert!((mu(2000.0) - 3.0).abs() < 1e-12);
        assert!((hectares(15_000.0) - 1.5).abs() < 1e-12);
    }
}
