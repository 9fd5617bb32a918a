//! Earthquake intensity (烈度, China seismic intensity scale GB/T 17742) by epicentral distance
//! and magnitude, with the elliptical intensity attenuation relations for China of
//!
//! 汪素云, 俞言祥, 高阿甲, 严小平 (Wang Suyun, Yu Yanxiang, Gao Ajia, Yan Xiaoping), 2000,
//! 中国分区地震动衰减关系的确定 (Development of attenuation relations for ground motion in
//! China), 中国地震 *Earthquake Research in China* 16(2): 99–106,
//!
//! the relations the national seismic zoning map (GB 18306) and the provincial rapid-assessment
//! systems use where no local relation exists:
//!
//! | region | axis | I = a + b·M − c·ln(R + R₀) |
//! |---|---|---|
//! | eastern China | long | 6.046 + 1.480 M − 2.081 ln(Rₐ + 25) |
//! | eastern China | short | 2.617 + 1.435 M − 1.441 ln(R_b + 7) |
//! | western China | long | 5.643 + 1.538 M − 2.109 ln(Rₐ + 25) |
//! | western China | short | 2.941 + 1.363 M − 1.494 ln(R_b + 7) |
//!
//! with M the surface-wave magnitude and R in km. The isoseismal of intensity I is the ellipse
//! with semi-axes Rₐ(I) and R_b(I), its long axis along the fault's strike; a point's intensity is
//! that of the ellipse through it. Intensities are reported as numbers and as bands of whole
//! degrees (VI = 6 ≤ I < 7, …); below VI nothing is listed (the scale's "felt" range).

use geo::{Coord, LineString, Polygon};

use super::{Invalid, check_range};

/// Which regional relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Region {
    /// Eastern China (east of about 105° E; Shanghai, Jiangsu, North China, …).
    East,
    /// Western China.
    West,
}

impl Region {
    /// The region of a longitude (the relations' split at 105° E).
    pub fn of_longitude(lon: f64) -> Region {
        if lon >= 105.0 { Region::East } else { Region::West }
    }

    /// (a, b, c, R₀) of the long and the short axis.
    fn coefficients(self) -> [(f64, f64, f64, f64); 2] {
        match self {
            Region::East => [(6.046, 1.480, 2.081, 25.0), (2.617, 1.435, 1.441, 7.0)],
            Region::West => [(5.643, 1.538, 2.109, 25.0), (2.941, 1.363, 1.494, 7.0)],
        }
    }
}

/// An earthquake.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Quake {
    /// Epicentre (projected CRS, m).
    pub x: f64,
    /// Epicentre (projected CRS, m).
    pub y: f64,
    /// Surface-wave magnitude.
    pub magnitude: f64,
    /// The long axis's direction (the fault's strike), degrees clockwise from grid north.
    pub strike_deg: f64,
    /// Which relation.
    pub region: Region,
}

impl Quake {
    /// Check the parameters.
    pub fn check(&self) -> Result<(), Invalid> {
        if !(self.x.is_finite() && self.y.is_finite()) {
            return Err(Invalid("the earthquake has no epicentre".into()));
        }
        check_range("magnitude", self.magnitude, 3.0, 9.5, "")?;
        check_range("strike", self.strike_deg, 0.0, 360.0, "°")?;
        Ok(())
    }

    /// The semi-axes (km) of the isoseismal of intensity `i` (long, short); `None` when the
    /// earthquake does not reach it.
    pub fn axes_km(&self, i: f64) -> Option<(f64, f64)> {
        let [(a1, b1, c1, r1), (a2, b2, c2, r2)] = self.region.coefficients();
        let m = self.magnitude;
        let ra = ((a1 + b1 * m - i) / c1).exp() - r1;
        let rb = ((a2 + b2 * m - i) / c2).exp() - r2;
        (ra > 0.0 && rb > 0.0).then_some((ra, rb))
    }

    /// The intensity at the epicentre (both axes at R = 0; their smaller value, so that every
    /// isoseismal up to it is a closed ellipse).
    pub fn epicentral(&self) -> f64 {
        let [(a1, b1, c1, r1), (a2, b2, c2, r2)] = self.region.coefficients();
        let m = self.magnitude;
        (a1 + b1 * m - c1 * r1.ln()).min(a2 + b2 * m - c2 * r2.ln())
    }

    /// The intensity at a point of the projected CRS: that of the isoseismal ellipse through it.
    pub fn intensity_at(&self, px: f64, py: f64) -> f64 {
        let (dx, dy) = ((px - self.x) / 1000.0, (py - self.y) / 1000.0);
        let s = self.strike_deg.to_radians();
        // Along and across the strike.
        let (u, v) = (dx * s.sin() + dy * s.cos(), dx * s.cos() - dy * s.sin());
        let top = self.epicentral();
        let inside = |i: f64| self.axes_km(i).is_some_and(|(a, b)| (u / a).powi(2) + (v / b).powi(2) <= 1.0);
        if inside(top) || (u == 0.0 && v == 0.0) {
            return top;
        }
        // Intensity falls monotonically outwards: bisect between a level that holds the point
        // and the epicentral value.
        let (mut lo, mut hi) = (0.0, top);
        if !inside(lo) {
            return lo;
        }
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if inside(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The isoseismal of intensity `i` as a 144-gon in the projected CRS.
    pub fn isoseismal(&self, i: f64) -> Option<Polygon> {
        let (a, b) = self.axes_km(i)?;
        let s = self.strike_deg.to_radians();
        let ring: Vec<Coord> = (0..=144)
            .map(|k| {
                let t = f64::from(k % 144) * std::f64::consts::TAU / 144.0;
                let (u, v) = (a * 1000.0 * t.cos(), b * 1000.0 * t.sin());
                Coord {
                    x: self.x + u * s.sin() + v * s.cos(),
                    y: self.y + u * s.cos() - v * s.sin(),
                }
            })
            .collect();
        Some(Polygon::new(LineString::new(ring), Vec::new()))
    }
}

/// The roman numeral of a whole intensity degree (1–12).
pub fn roman(i: u32) -> &'static str {
    ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
        .get(i as usize)
        .copied()
        .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quake(m: f64) -> Quake {
        Quake {
            x: 500_000.0,
            y: 3_000_000.0,
            magnitude: m,
            strike_deg: 30.0,
            region: Region::East,
        }
    }

    #[test]
    fn the_relation_gives_its_published_values() {
        let q = quake(6.0);
        // Long axis at Rₐ = 20 km: 6.046 + 8.88 − 2.081·ln 45 = 7.0043.
        let (a, _) = q.axes_km(6.046 + 1.480 * 6.0 - 2.081 * 45f64.ln()).unwrap();
        assert!((a - 20.0).abs() < 1e-9, "{a}");
        // Short axis of intensity VII: exp((2.617 + 8.61 − 7)/1.441) − 7.
        let (_, b) = q.axes_km(7.0).unwrap();
        assert!((b - (((2.617 + 1.435 * 6.0 - 7.0) / 1.441f64).exp() - 7.0)).abs() < 1e-9);
        assert!(q.axes_km(12.0).is_none());
    }

    #[test]
    fn a_point_on_an_isoseismal_has_its_intensity() {
        let q = quake(6.5);
        for i in [6.0, 7.0, 8.0] {
            let p = q.isoseismal(i).unwrap();
            for c in p.exterior().coords().step_by(13) {
                let got = q.intensity_at(c.x, c.y);
                assert!((got - i).abs() < 1e-6, "{i}: {got}");
            }
        }
        // Farther along the strike than across it for the same intensity.
        let (a, b) = q.axes_km(7.0).unwrap();
        assert!(a > b);
        // Bigger earthquakes shake harder at the same place.
        assert!(quake(7.0).intensity_at(520_000.0, 3_010_000.0) > q.intensity_at(520_000.0, 3_010_000.0));
    }

    #[test]
    fn magnitudes_out_of_range_are_refused() {
        assert!(quake(12.0).check().unwrap_err().0.contains("magnitude 12"));
        assert_eq!(roman(8), "VIII");
        assert_eq!(Region::of_longitude(121.5), Region::East);
    }
}
