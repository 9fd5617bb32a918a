//! A continuous gas or toxic release as a Gaussian plume with ground reflection:
//!
//! C(x, y, z) = Q / (2π u σy σz) · exp(−y² / 2σy²) · [exp(−(z − H)² / 2σz²) + exp(−(z + H)² / 2σz²)]
//!
//! with x downwind, y crosswind, z above ground, Q the release rate, u the wind speed, H the
//! effective release height and σy, σz the Pasquill–Gifford dispersion coefficients in Briggs's
//! (1973) open-country formulas (as tabulated in Hanna, Briggs and Hosker, *Handbook on
//! Atmospheric Diffusion*, 1982), valid from about 100 m to 10 km. Concentrations are at a
//! receptor height (1.5 m, breathing height, by default) in mg/m³ for Q in g/s.
//!
//! The isopleth of a threshold is closed-form: at each x where the centreline value C₀(x) exceeds
//! the threshold T, the plume is T wide at y = ±σy·√(2 ln(C₀/T)). A plume that has been
//! released for t seconds reaches x = u·t (its front, for the time slider).

use geo::{Coord, LineString, Polygon};

use super::{Invalid, check_range};

/// Pasquill–Gifford stability class: A (very unstable) … F (moderately stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Stability {
    /// Very unstable.
    A,
    /// Moderately unstable.
    B,
    /// Slightly unstable.
    C,
    /// Neutral.
    D,
    /// Slightly stable.
    E,
    /// Moderately stable.
    F,
}

impl Stability {
    /// Parse "A"…"F" (either case).
    pub fn parse(s: &str) -> Result<Stability, Invalid> {
        Ok(match s.trim().to_ascii_uppercase().as_str() {
            "A" => Stability::A,
            "B" => Stability::B,
            "C" => Stability::C,
            "D" => Stability::D,
            "E" => Stability::E,
            "F" => Stability::F,
            _ => return Err(Invalid(format!("stability class '{s}': give A, B, C, D, E or F"))),
        })
    }

    /// σy and σz (m) at `x` m downwind (Briggs, open country).
    pub fn sigmas(self, x: f64) -> (f64, f64) {
        let y = |a: f64| a * x / (1.0 + 0.0001 * x).sqrt();
        match self {
            Stability::A => (y(0.22), 0.20 * x),
            Stability::B => (y(0.16), 0.12 * x),
            Stability::C => (y(0.11), 0.08 * x / (1.0 + 0.0002 * x).sqrt()),
            Stability::D => (y(0.08), 0.06 * x / (1.0 + 0.0015 * x).sqrt()),
            Stability::E => (y(0.06), 0.03 * x / (1.0 + 0.0003 * x)),
            Stability::F => (y(0.04), 0.016 * x / (1.0 + 0.0003 * x)),
        }
    }
}

/// A release.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Release {
    /// Where (projected CRS, m).
    pub x: f64,
    /// Where (projected CRS, m).
    pub y: f64,
    /// Release rate, g/s.
    pub rate_g_s: f64,
    /// Wind speed at release height, m/s.
    pub wind_m_s: f64,
    /// The direction the wind blows *from*, degrees clockwise from the grid's north.
    pub wind_from_deg: f64,
    /// Stability class.
    pub stability: Stability,
    /// Effective release height, m.
    pub height_m: f64,
    /// Receptor height, m.
    pub receptor_m: f64,
}

impl Release {
    /// Check the parameters.
    pub fn check(&self) -> Result<(), Invalid> {
        if !(self.x.is_finite() && self.y.is_finite()) {
            return Err(Invalid("the release has no location".into()));
        }
        check_range("release rate", self.rate_g_s, 1e-9, 1e9, " g/s")?;
        if !(self.wind_m_s.is_finite() && self.wind_m_s >= 0.5) {
            return Err(Invalid(format!(
                "wind speed {} m/s: the Gaussian plume needs at least 0.5 m/s (in calm air use the incident's rings)",
                self.wind_m_s
            )));
        }
        check_range("wind speed", self.wind_m_s, 0.5, 60.0, " m/s")?;
        check_range("wind direction", self.wind_from_deg, 0.0, 360.0, "°")?;
        check_range("release height", self.height_m, 0.0, 500.0, " m")?;
        check_range("receptor height", self.receptor_m, 0.0, 100.0, " m")?;
        Ok(())
    }

    /// The unit vector the plume travels along (downwind), grid east/north.
    pub fn downwind(&self) -> (f64, f64) {
        let to = (self.wind_from_deg + 180.0).to_radians();
        (to.sin(), to.cos())
    }

    /// Concentration (mg/m³) at `x` m downwind and `y` m crosswind (0 upwind).
    pub fn at(&self, x: f64, y: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        let (sy, sz) = self.stability.sigmas(x);
        let (z, h) = (self.receptor_m, self.height_m);
        let q_mg = self.rate_g_s * 1000.0;
        q_mg / (2.0 * std::f64::consts::PI * self.wind_m_s * sy * sz)
            * (-y * y / (2.0 * sy * sy)).exp()
            * ((-(z - h).powi(2) / (2.0 * sz * sz)).exp() + (-(z + h).powi(2) / (2.0 * sz * sz)).exp())
    }

    /// Concentration (mg/m³) at a point of the projected CRS.
    pub fn at_point(&self, px: f64, py: f64) -> f64 {
        let (dx, dy) = (px - self.x, py - self.y);
        let (ux, uy) = self.downwind();
        // Along = projection on the downwind axis; across = on its left normal.
        self.at(dx * ux + dy * uy, -dx * uy + dy * ux)
    }

    /// The crosswind half-width (m) of the `threshold` isopleth at `x` m downwind (0 outside).
    pub fn half_width(&self, x: f64, threshold: f64) -> f64 {
        let c0 = self.at(x, 0.0);
        if c0 <= threshold {
            return 0.0;
        }
        self.stability.sigmas(x).0 * (2.0 * (c0 / threshold).ln()).sqrt()
    }

    /// Where along the centreline the value first and last exceeds `threshold` (m downwind),
    /// searched between 1 m and 100 km; `None` when it never does.
    pub fn reach(&self, threshold: f64) -> Option<(f64, f64)> {
        let xs: Vec<f64> = (0..=1000).map(|i| 10f64.powf(f64::from(i) * 5.0 / 1000.0)).collect();
        let above: Vec<bool> = xs.iter().map(|x| self.at(*x, 0.0) > threshold).collect();
        let first = above.iter().position(|a| *a)?;
        let last = above.iter().rposition(|a| *a)?;
        let edge = |lo: f64, hi: f64, rising: bool| {
            let (mut lo, mut hi) = (lo, hi);
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if (self.at(mid, 0.0) > threshold) == rising {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            0.5 * (lo + hi)
        };
        let start = if first == 0 { xs[0] } else { edge(xs[first - 1], xs[first], true) };
        let end = if last == xs.len() - 1 {
            xs[last]
        } else {
            edge(xs[last], xs[last + 1], false)
        };
        Some((start, end))
    }

    /// The area at or above `threshold` mg/m³ as a polygon in the projected CRS, the plume cut at
    /// `front_m` downwind when given (the front after some time); `None` when nothing reaches it.
    pub fn isopleth(&self, threshold: f64, front_m: Option<f64>) -> Option<Polygon> {
        let (x0, mut x1) = self.reach(threshold)?;
        if let Some(f) = front_m {
            if f <= x0 {
                return None;
            }
            x1 = x1.min(f);
        }
        // Dense near the source, where the width changes fastest.
        let n = 160;
        let xs: Vec<f64> = (0..=n).map(|i| x0 * (x1 / x0).powf(f64::from(i) / f64::from(n))).collect();
        let (ux, uy) = self.downwind();
        let place = |x: f64, y: f64| Coord {
            x: self.x + x * ux - y * uy,
            y: self.y + x * uy + y * ux,
        };
        let mut ring: Vec<Coord> = xs.iter().map(|&x| place(x, self.half_width(x, threshold))).collect();
        ring.extend(xs.iter().rev().map(|&x| place(x, -self.half_width(x, threshold))));
        ring.push(ring[0]);
        Some(Polygon::new(LineString::new(ring), Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, Contains, Point};

    fn release() -> Release {
        Release {
            x: 1000.0,
            y: 2000.0,
            rate_g_s: 100.0,
            wind_m_s: 3.0,
            wind_from_deg: 270.0,
            stability: Stability::D,
            height_m: 0.0,
            receptor_m: 0.0,
        }
    }

    #[test]
    fn the_centreline_of_a_ground_release_is_q_over_pi_u_sy_sz() {
        let r = release();
        for x in [100.0, 500.0, 2000.0, 8000.0] {
            let (sy, sz) = Stability::D.sigmas(x);
            let want = 100_000.0 / (std::f64::consts::PI * 3.0 * sy * sz);
            assert!((r.at(x, 0.0) / want - 1.0).abs() < 1e-12);
        }
        // Briggs D at 1 km: σy = 80/√1.1 = 76.28 m, σz = 60/√2.5 = 37.95 m.
        let (sy, sz) = Stability::D.sigmas(1000.0);
        assert!((sy - 76.277).abs() < 0.001 && (sz - 37.947).abs() < 0.001, "{sy} {sz}");
    }

    #[test]
    fn the_plume_carries_the_whole_release_through_every_crosswind_plane() {
        // ∫∫ C dy dz over y ∈ ℝ, z ≥ 0 = Q/u (the reflected image puts the mass back above ground).
        let mut r = release();
        r.height_m = 20.0;
        for x in [300.0, 3000.0] {
            let (sy, sz) = r.stability.sigmas(x);
            let (dy, dz) = (sy / 40.0, sz / 40.0);
            let mut total = 0.0;
            for i in -400..=400 {
                for j in 0..2000 {
                    r.receptor_m = (f64::from(j) + 0.5) * dz;
                    total += r.at(x, f64::from(i) * dy) * dy * dz;
                }
            }
            let want = 100_000.0 / 3.0;
            assert!((total / want - 1.0).abs() < 1e-3, "{x}: {total} vs {want}");
        }
    }

    #[test]
    fn isopleths_lie_downwind_and_shrink_with_the_threshold() {
        let r = release();
        // Wind from the west: the plume goes east.
        let p10 = r.isopleth(10.0, None).unwrap();
        let p100 = r.isopleth(100.0, None).unwrap();
        assert!(p10.unsigned_area() > p100.unsigned_area());
        assert!(p10.contains(&Point::new(1500.0, 2000.0)));
        assert!(!p10.contains(&Point::new(500.0, 2000.0)));
        // The far end is where the centreline value falls to the threshold.
        let (_, end) = r.reach(10.0).unwrap();
        assert!((r.at(end, 0.0) - 10.0).abs() < 1e-6);
        let far = p10.exterior().coords().map(|c| c.x).fold(f64::MIN, f64::max);
        assert!((far - (1000.0 + end)).abs() < 1e-6, "{far} {end}");
        // Every boundary point is on the isopleth.
        for c in p10.exterior().coords().skip(5).step_by(17).take(10) {
            let v = r.at_point(c.x, c.y);
            assert!((v / 10.0 - 1.0).abs() < 1e-6 || v < 1e-3, "{v}");
        }
        // After 100 s at 3 m/s the front is 300 m out.
        let early = r.isopleth(10.0, Some(300.0)).unwrap();
        let far = early.exterior().coords().map(|c| c.x).fold(f64::MIN, f64::max);
        assert!((far - 1300.0).abs() < 1e-6);
    }

    #[test]
    fn calm_air_and_bad_classes_are_refused() {
        let mut r = release();
        r.wind_m_s = 0.0;
        assert!(r.check().unwrap_err().0.contains("wind speed 0 m/s"));
        assert!(Stability::parse("G").is_err());
        assert_eq!(Stability::parse("f").unwrap(), Stability::F);
    }
}
