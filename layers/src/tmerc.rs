//! Transverse Mercator (Gauss-Krüger, UTM) in closed form: the Krüger series to sixth order in
//! the third flattening, as in Karney (2011), "Transverse Mercator with an accuracy of a few
//! nanometres", J. Geodesy 85. PROJ's own `tmerc` uses the same series (Poder/Engsager), so the
//! two agree to well under a micrometre inside a zone; the test suite checks this against PROJ.
//!
//! The [`crate::Transformer`] uses it instead of a PROJ call when a conversion is a pure
//! projection between a geographic CRS and a Transverse Mercator CRS on the same datum
//! (CGCS2000 ⇄ its Gauss-Krüger zones, WGS 84 ⇄ UTM): several times faster per vertex.

/// Parameters of one Transverse Mercator projection (latitude of origin 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TmercParams {
    /// Semi-major axis (m).
    pub a_m: f64,
    /// Flattening.
    pub f: f64,
    /// Central meridian (degrees).
    pub lon0_deg: f64,
    /// Scale factor on the central meridian.
    pub k0: f64,
    /// False easting (m), zone prefix included.
    pub x0_m: f64,
    /// False northing (m).
    pub y0_m: f64,
}

/// A prepared projection: series coefficients computed once.
#[derive(Debug, Clone)]
pub struct Tmerc {
    p: TmercParams,
    e: f64,
    ka: f64,
    alpha: [f64; 6],
    beta: [f64; 6],
    /// Conformal → geodetic latitude series.
    delta: [f64; 6],
}

impl Tmerc {
    /// Prepare the series for `p`.
    pub fn new(p: TmercParams) -> Tmerc {
        let n = p.f / (2.0 - p.f);
        let (n2, n3) = (n * n, n * n * n);
        let (n4, n5, n6) = (n2 * n2, n2 * n3, n3 * n3);
        let a_rect = p.a_m / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0 + n6 / 256.0);
        let alpha = [
            n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0 + 41.0 * n4 / 180.0 - 127.0 * n5 / 288.0 + 7891.0 * n6 / 37800.0,
            13.0 * n2 / 48.0 - 3.0 * n3 / 5.0 + 557.0 * n4 / 1440.0 + 281.0 * n5 / 630.0 - 1983433.0 * n6 / 1935360.0,
            61.0 * n3 / 240.0 - 103.0 * n4 / 140.0 + 15061.0 * n5 / 26880.0 + 167603.0 * n6 / 181440.0,
            49561.0 * n4 / 161280.0 - 179.0 * n5 / 168.0 + 6601661.0 * n6 / 7257600.0,
            34729.0 * n5 / 80640.0 - 3418889.0 * n6 / 1995840.0,
            212378941.0 * n6 / 319334400.0,
        ];
        let beta = [
            n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0 - n4 / 360.0 - 81.0 * n5 / 512.0 + 96199.0 * n6 / 604800.0,
            n2 / 48.0 + n3 / 15.0 - 437.0 * n4 / 1440.0 + 46.0 * n5 / 105.0 - 1118711.0 * n6 / 3870720.0,
            17.0 * n3 / 480.0 - 37.0 * n4 / 840.0 - 209.0 * n5 / 4480.0 + 5569.0 * n6 / 90720.0,
            4397.0 * n4 / 161280.0 - 11.0 * n5 / 504.0 - 830251.0 * n6 / 7257600.0,
            4583.0 * n5 / 161280.0 - 108847.0 * n6 / 3991680.0,
            20648693.0 * n6 / 638668800.0,
        ];
        let delta = [
            2.0 * n - 2.0 * n2 / 3.0 - 2.0 * n3 + 116.0 * n4 / 45.0 + 26.0 * n5 / 45.0 - 2854.0 * n6 / 675.0,
            7.0 * n2 / 3.0 - 8.0 * n3 / 5.0 - 227.0 * n4 / 45.0 + 2704.0 * n5 / 315.0 + 2323.0 * n6 / 945.0,
            56.0 * n3 / 15.0 - 136.0 * n4 / 35.0 - 1262.0 * n5 / 105.0 + 73814.0 * n6 / 2835.0,
            4279.0 * n4 / 630.0 - 332.0 * n5 / 35.0 - 399572.0 * n6 / 14175.0,
            4174.0 * n5 / 315.0 - 144838.0 * n6 / 6237.0,
            601676.0 * n6 / 22275.0,
        ];
        let e2 = p.f * (2.0 - p.f);
        Tmerc {
            p,
            e: e2.sqrt(),
            ka: p.k0 * a_rect,
            alpha,
            beta,
            delta,
        }
    }

    /// The parameters.
    pub fn params(&self) -> &TmercParams {
        &self.p
    }

    /// Σ c_j sin(2jξ) cosh(2jη) and Σ c_j cos(2jξ) sinh(2jη), by multiple-angle recurrences.
    #[inline]
    fn series(c: &[f64; 6], xi: f64, eta: f64) -> (f64, f64) {
        let (s1, c1) = (2.0 * xi).sin_cos();
        let ex = (2.0 * eta).exp();
        Self::series_from(c, s1, c1, ex)
    }

    /// [`Self::series`] from sin 2ξ, cos 2ξ and e^(2η), already computed.
    #[inline]
    fn series_from(c: &[f64; 6], s1: f64, c1: f64, ex: f64) -> (f64, f64) {
        let inv = 1.0 / ex;
        let (sh1, ch1) = ((ex - inv) / 2.0, (ex + inv) / 2.0);
        let (mut s, mut co, mut sh, mut ch) = (s1, c1, sh1, ch1);
        let (mut a, mut b) = (0.0, 0.0);
        for (j, cj) in c.iter().enumerate() {
            if j > 0 {
                (s, co) = (s * c1 + co * s1, co * c1 - s * s1);
                (sh, ch) = (sh * ch1 + ch * sh1, ch * ch1 + sh * sh1);
            }
            a += cj * s * ch;
            b += cj * co * sh;
        }
        (a, b)
    }

    /// Longitude/latitude (degrees) to easting/northing (metres).
    #[inline]
    pub fn forward(&self, lon_deg: f64, lat_deg: f64) -> (f64, f64) {
        let lam = (lon_deg - self.p.lon0_deg).to_radians();
        let phi = lat_deg.to_radians();
        // tan of the conformal latitude, in the form that stays accurate near the poles.
        let tau = phi.tan();
        let tau1 = tau.hypot(1.0);
        let sig = (self.e * (self.e * tau / tau1).atanh()).sinh();
        let taup = sig.hypot(1.0) * tau - sig * tau1;
        let (slam, clam) = lam.sin_cos();
        let xi_p = taup.atan2(clam);
        let eta_p = (slam / taup.hypot(clam)).asinh();
        let (ds, dh) = Self::series(&self.alpha, xi_p, eta_p);
        (self.p.x0_m + self.ka * (eta_p + dh), self.p.y0_m + self.ka * (xi_p + ds))
    }

    /// sin ξ', cos ξ' and e^η' of a point: the inverse series applied to its scaled
    /// northing ξ and easting η (ξ' = ξ − ds, η' = η − dh).
    #[inline]
    fn inverse_start(&self, x: f64, y: f64) -> (f64, f64, f64) {
        let xi = (y - self.p.y0_m) / self.ka;
        let eta = (x - self.p.x0_m) / self.ka;
        let (s2, c2) = (2.0 * xi).sin_cos();
        let ex2 = (2.0 * eta).exp();
        let (ds, dh) = Self::series_from(&self.beta, s2, c2, ex2);
        // sin ξ', cos ξ' and e^η' (ξ' = ξ − ds, η' = η − dh) from the values above: half
        // angles by square roots (|ξ| ≤ π/2), then the small corrections (|ds|, |dh| < 10⁻³
        // in a zone) by their Taylor series — one sin_cos and one exp fewer per vertex.
        if ds.abs() < 0.01 && dh.abs() < 0.01 && xi.abs() <= std::f64::consts::FRAC_PI_2 {
            let (sx, cx) = if c2 >= 0.0 {
                let cx = ((1.0 + c2) / 2.0).sqrt();
                (s2 / (2.0 * cx), cx)
            } else {
                let sx = ((1.0 - c2) / 2.0).sqrt().copysign(s2);
                (sx, s2 / (2.0 * sx))
            };
            let (sd, cd) = small_sin_cos(ds);
            (sx * cd - cx * sd, cx * cd + sx * sd, ex2.sqrt() * small_exp(-dh))
        } else {
            let (sxi, cxi) = (xi - ds).sin_cos();
            (sxi, cxi, (eta - dh).exp())
        }
    }

    /// Easting/northing (metres) to longitude/latitude (degrees).
    #[inline]
    pub fn inverse(&self, x_m: f64, y_m: f64) -> (f64, f64) {
        let (sxi, cxi, ex) = self.inverse_start(x_m, y_m);
        let inv_ex = 1.0 / ex;
        let sh_eta = (ex - inv_ex) / 2.0;
        let lam = sh_eta.atan2(cxi);
        // Conformal latitude, then the geodetic latitude by its series in sin(2jχ).
        // sin χ = sin ξ' / cosh η', cos χ = √(sinh² η' + cos² ξ') / cosh η'. (Both terms
        // are at most a few units here: the plain square root needs no hypot's scaling.)
        let inv_ch = 2.0 / (ex + inv_ex);
        let r = (sh_eta * sh_eta + cxi * cxi).sqrt();
        let chi = sxi.atan2(r);
        let (sc, cc) = (sxi * inv_ch, r * inv_ch);
        let (s1, c1) = (2.0 * sc * cc, cc * cc - sc * sc);
        let (mut sj, mut cj) = (s1, c1);
        let mut phi = chi;
        for (j, d) in self.delta.iter().enumerate() {
            if j > 0 {
                (sj, cj) = (sj * c1 + cj * s1, cj * c1 - sj * s1);
            }
            phi += d * sj;
        }
        (self.p.lon0_deg + lam.to_degrees(), phi.to_degrees())
    }
}

/// sin x and cos x for |x| < 0.01 by their Taylor series (the first omitted terms are below
/// 10⁻²⁰).
#[inline]
fn small_sin_cos(x: f64) -> (f64, f64) {
    let x2 = x * x;
    let s = x * (1.0 - x2 / 6.0 * (1.0 - x2 / 20.0 * (1.0 - x2 / 42.0)));
    let c = 1.0 - x2 / 2.0 * (1.0 - x2 / 12.0 * (1.0 - x2 / 30.0 * (1.0 - x2 / 56.0)));
    (s, c)
}

/// eᵡ for |x| < 0.01 by its Taylor series (to x⁸; the rest is below 10⁻²¹).
#[inline]
fn small_exp(x: f64) -> f64 {
    1.0 + x * (1.0 + x / 2.0 * (1.0 + x / 3.0 * (1.0 + x / 4.0 * (1.0 + x / 5.0 * (1.0 + x / 6.0 * (1.0 + x / 7.0 * (1.0 + x / 8.0)))))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cgcs_cm(cm: f64) -> Tmerc {
        Tmerc::new(TmercParams {
            a_m: 6_378_137.0,
            f: 1.0 / 298.257_222_101,
            lon0_deg: cm,
            k0: 1.0,
            x0_m: 500_000.0,
            y0_m: 0.0,
        })
    }

    #[test]
    fn roundtrip_nanometres() {
        let t = cgcs_cm(117.0);
        for &(lon, lat) in &[(116.3975, 39.9087), (118.4, 20.0), (115.6, 53.0), (117.0, 0.0), (117.0, 45.0)] {
            let (x, y) = t.forward(lon, lat);
            let (lo, la) = t.inverse(x, y);
            assert!((lo - lon).abs() < 1e-11 && (la - lat).abs() < 1e-11, "{lon},{lat} -> {lo},{la}");
        }
    }

    /// The shortcut in `inverse` against the plain formulas, over a zone and beyond its edges.
    #[test]
    fn inverse_shortcut_matches_plain_formulas() {
        let t = cgcs_cm(114.0);
        let plain = |x: f64, y: f64| {
            let xi = (y - t.p.y0_m) / t.ka;
            let eta = (x - t.p.x0_m) / t.ka;
            let (ds, dh) = Tmerc::series(&t.beta, xi, eta);
            let (sxi, cxi) = (xi - ds).sin_cos();
            let ex = (eta - dh).exp();
            (sxi, cxi, ex)
        };
        let mut worst = 0.0f64;
        for i in 0..=200 {
            for j in -40..=40 {
                // Northings from the equator to 85°, eastings ±400 km from the central meridian.
                let (x, y) = (500_000.0 + j as f64 * 10_000.0, i as f64 * 47_000.0);
                let (lon, lat) = t.inverse(x, y);
                // Compare through the forward projection: both must land on (x, y).
                let (fx, fy) = t.forward(lon, lat);
                worst = worst.max((fx - x).abs()).max((fy - y).abs());
                let (s, c, e) = plain(x, y);
                let (s2, c2, e2) = t.inverse_start(x, y);
                assert!(
                    (s - s2).abs() < 4e-16 && (c - c2).abs() < 4e-16 && (e - e2).abs() < 4e-16 * e,
                    "{x},{y}: {s} {c} {e} vs {s2} {c2} {e2}"
                );
            }
        }
        assert!(worst < 1e-6, "round trip off by {worst} m");
        // And the shortcut's own values against the library's, near the equator and a pole.
        for &(x, y) in &[
            (500_000.0, 1e-3),
            (500_000.0, -1e-3),
            (380_000.0, 9_300_000.0),
            (620_000.0, 10_000.0),
        ] {
            let (lon, lat) = t.inverse(x, y);
            let (fx, fy) = t.forward(lon, lat);
            assert!(
                (fx - x).abs() < 1e-6 && (fy - y).abs() < 1e-6,
                "{x},{y} -> {lon},{lat} -> {fx},{fy}"
            );
        }
    }

    #[test]
    fn beijing_check_vector() {
        // From ../shared/data/crs (PROJ 9.5): Tiananmen in the CM 117E zone.
        let (x, y) = cgcs_cm(117.0).forward(116.3975, 39.9087);
        assert!((x - 448_481.5746).abs() < 1e-4 && (y - 4_419_565.4353).abs() < 1e-4, "{x} {y}");
    }
}
