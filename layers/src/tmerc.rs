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
    fn series_from<L: Lane>(c: &[f64; 6], s1: L, c1: L, ex: L) -> (L, L) {
        let half = L::splat(0.5);
        let inv = L::splat(1.0) / ex;
        let (sh1, ch1) = ((ex - inv) * half, (ex + inv) * half);
        let (mut s, mut co, mut sh, mut ch) = (s1, c1, sh1, ch1);
        let (mut a, mut b) = (L::splat(0.0), L::splat(0.0));
        for (j, &cj) in c.iter().enumerate() {
            if j > 0 {
                (s, co) = (s * c1 + co * s1, co * c1 - s * s1);
                (sh, ch) = (sh * ch1 + ch * sh1, ch * ch1 + sh * sh1);
            }
            a = a + L::splat(cj) * s * ch;
            b = b + L::splat(cj) * co * sh;
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
        let (xi, eta) = self.scaled(x, y);
        let (s2, c2) = (2.0 * xi).sin_cos();
        let ex2 = (2.0 * eta).exp();
        self.inverse_start_from(xi, eta, s2, c2, ex2, Self::series_from(&self.beta, s2, c2, ex2))
    }

    /// Scaled northing ξ and easting η of a point.
    #[inline]
    fn scaled(&self, x: f64, y: f64) -> (f64, f64) {
        ((y - self.p.y0_m) / self.ka, (x - self.p.x0_m) / self.ka)
    }

    /// [`Self::inverse_start`] from ξ, η, sin 2ξ, cos 2ξ, e^(2η) and the inverse series'
    /// (ds, dh) of them.
    #[inline]
    fn inverse_start_from(&self, xi: f64, eta: f64, s2: f64, c2: f64, ex2: f64, (ds, dh): (f64, f64)) -> (f64, f64, f64) {
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
        let (lam_yx, chi_yx, sc_cc) = Self::angles(sxi, cxi, ex);
        let lam = lam_yx.0.atan2(lam_yx.1);
        let chi = chi_yx.0.atan2(chi_yx.1);
        self.finish(lam, chi, sc_cc)
    }

    /// The two angles of the inverse as (y, x) pairs — λ = atan2(sinh η', cos ξ') and the
    /// conformal latitude χ = atan2(sin ξ', √(sinh² η' + cos² ξ')) — and (sin χ, cos χ).
    #[inline]
    fn angles<L: Lane>(sxi: L, cxi: L, ex: L) -> ((L, L), (L, L), (L, L)) {
        let inv_ex = L::splat(1.0) / ex;
        let half = L::splat(0.5);
        Self::angles_hyperbolic(sxi, cxi, (ex - inv_ex) * half, (ex + inv_ex) * half)
    }

    /// [`Self::angles`] from sinh η' and cosh η'.
    #[inline]
    fn angles_hyperbolic<L: Lane>(sxi: L, cxi: L, sh_eta: L, ch_eta: L) -> ((L, L), (L, L), (L, L)) {
        // sin χ = sin ξ' / cosh η', cos χ = √(sinh² η' + cos² ξ') / cosh η'. (Both terms
        // are at most a few units here: the plain square root needs no hypot's scaling.)
        let inv_ch = L::splat(1.0) / ch_eta;
        let r = (sh_eta * sh_eta + cxi * cxi).sqrt();
        ((sh_eta, cxi), (sxi, r), (sxi * inv_ch, r * inv_ch))
    }

    /// Longitude/latitude (degrees) from λ, χ and (sin χ, cos χ): the geodetic latitude by its
    /// series in sin(2jχ).
    #[inline]
    fn finish<L: Lane>(&self, lam: L, chi: L, (sc, cc): (L, L)) -> (L, L) {
        let (s1, c1) = (L::splat(2.0) * sc * cc, cc * cc - sc * sc);
        let (mut sj, mut cj) = (s1, c1);
        let mut phi = chi;
        for (j, &d) in self.delta.iter().enumerate() {
            if j > 0 {
                (sj, cj) = (sj * c1 + cj * s1, cj * c1 - sj * s1);
            }
            phi = phi + L::splat(d) * sj;
        }
        let deg = L::splat(180.0 / std::f64::consts::PI);
        (L::splat(self.p.lon0_deg) + lam * deg, phi * deg)
    }

    /// [`Self::inverse`] of many points in place, with the same results to a few
    /// nanometres (a few units in the last place of the angles).
    ///
    /// Neighbouring points — a building's corners, the next building — differ in ξ and η by
    /// far less than 10⁻³. Such a point's sines, cosines, exponentials and arctangents are
    /// taken from those of a reference point (the last one computed in full, by the library)
    /// by the addition theorems — sin(a + d) = sin a cos d + cos a sin d, e^(a + d) = e^a e^d,
    /// the angle of a turned vector = the reference's angle + atan of the turn — with the small
    /// d's functions by Taylor series whose first omitted terms are below 10⁻²⁰. Nothing is
    /// interpolated: each point is still computed, without a library call, and two at a time
    /// (in the two lanes of a vector register).
    pub fn inverse_many(&self, coords: &mut [(f64, f64)]) {
        /// How far (in ξ and η, radians of the rectifying sphere: about 6 km) a point may lie
        /// from the reference and still be taken from it.
        const NEAR: f64 = 1e-3;
        let mut reference: Option<Reference> = None;
        // A point near the reference waits here for a second one to go with it.
        let mut waiting: Option<(usize, f64, f64)> = None;
        for i in 0..coords.len() {
            let (xi, eta) = self.scaled(coords[i].0, coords[i].1);
            if let Some(r) = &reference
                && (xi - r.xi).abs() < NEAR
                && (eta - r.eta).abs() < NEAR
            {
                match waiting.take() {
                    None => waiting = Some((i, xi, eta)),
                    Some((j, xj, ej)) => {
                        let ((lon, lat), ok) = self.near_reference(r, F2([xj, xi]), F2([ej, eta]));
                        for (lane, k) in [j, i].into_iter().enumerate() {
                            coords[k] = if ok[lane] {
                                (lon.0[lane], lat.0[lane])
                            } else {
                                self.inverse(coords[k].0, coords[k].1)
                            };
                        }
                    }
                }
                continue;
            }
            // In full, and the reference for the points after it (one still waiting goes
            // first, from the reference it was near).
            if let (Some((j, xj, ej)), Some(r)) = (waiting.take(), &reference) {
                coords[j] = self.one_near_reference(r, xj, ej, coords[j]);
            }
            let (s2, c2) = (2.0 * xi).sin_cos();
            let ex2 = (2.0 * eta).exp();
            let (ds, dh) = Self::series_from(&self.beta, s2, c2, ex2);
            let (sxi, cxi, ex) = self.inverse_start_from(xi, eta, s2, c2, ex2, (ds, dh));
            let (lam_yx, chi_yx, sc_cc) = Self::angles(sxi, cxi, ex);
            let lam = lam_yx.0.atan2(lam_yx.1);
            let chi = chi_yx.0.atan2(chi_yx.1);
            coords[i] = self.finish(lam, chi, sc_cc);
            reference = (xi.is_finite() && eta.is_finite() && ds.abs() < 0.01 && dh.abs() < 0.01).then_some(Reference {
                xi,
                eta,
                s2,
                c2,
                ex2,
                xi_p: xi - ds,
                eta_p: eta - dh,
                sxi,
                cxi,
                sh: (eta - dh).sinh(),
                ch: (eta - dh).cosh(),
                lam: (lam_yx.0, lam_yx.1, lam),
                chi: (chi_yx.0, chi_yx.1, chi),
            });
        }
        if let (Some((j, xj, ej)), Some(r)) = (waiting, &reference) {
            coords[j] = self.one_near_reference(r, xj, ej, coords[j]);
        }
    }

    /// One point from the reference (as a lane of its own), or in full where the reference
    /// does not serve.
    fn one_near_reference(&self, r: &Reference, xi: f64, eta: f64, at: (f64, f64)) -> (f64, f64) {
        match self.near_reference(r, xi, eta) {
            (lonlat, [true]) => lonlat,
            _ => self.inverse(at.0, at.1),
        }
    }

    /// Longitude and latitude of points near the reference `r` (ξ and η in the lanes of
    /// `xi` and `eta`), and for each lane whether its turns from the reference were small
    /// enough for the series (else it is to be computed in full).
    #[inline]
    fn near_reference<L: Lane>(&self, r: &Reference, xi: L, eta: L) -> ((L, L), L::Mask) {
        let two = L::splat(2.0);
        // sin 2ξ, cos 2ξ and e^(2η) from the reference's.
        let (sd, cd) = small_sin_cos(two * (xi - L::splat(r.xi)));
        let (rs2, rc2) = (L::splat(r.s2), L::splat(r.c2));
        let (s2, c2) = (rs2 * cd + rc2 * sd, rc2 * cd - rs2 * sd);
        let ex2 = L::splat(r.ex2) * small_exp(two * (eta - L::splat(r.eta)));
        let (ds, dh) = Self::series_from(&self.beta, s2, c2, ex2);
        // sin ξ', cos ξ' and e^η' from the reference's.
        let (sd, cd) = small_sin_cos(xi - ds - L::splat(r.xi_p));
        let (rs, rc) = (L::splat(r.sxi), L::splat(r.cxi));
        let (sxi, cxi) = (rs * cd + rc * sd, rc * cd - rs * sd);
        // sinh η' and cosh η' by the addition theorems too: from e^η' they would lose their
        // last digits to the cancellation in (e^η' − e^−η') / 2.
        let (shd, chd) = small_sinh_cosh(eta - dh - L::splat(r.eta_p));
        let (rsh, rch) = (L::splat(r.sh), L::splat(r.ch));
        let (sh, ch) = (rsh * chd + rch * shd, rch * chd + rsh * shd);
        let (lam_yx, chi_yx, sc_cc) = Self::angles_hyperbolic(sxi, cxi, sh, ch);
        let (lam, ok_lam) = turned(r.lam, lam_yx);
        let (chi, ok_chi) = turned(r.chi, chi_yx);
        (self.finish(lam, chi, sc_cc), L::both(ok_lam, ok_chi))
    }
}

/// What [`Tmerc::inverse_many`] keeps of the last point computed in full.
struct Reference {
    /// ξ and η, sin 2ξ, cos 2ξ and e^(2η).
    xi: f64,
    eta: f64,
    s2: f64,
    c2: f64,
    ex2: f64,
    /// ξ' and η', sin ξ', cos ξ', sinh η' and cosh η'.
    xi_p: f64,
    eta_p: f64,
    sxi: f64,
    cxi: f64,
    sh: f64,
    ch: f64,
    /// The (y, x) and angle of λ and of χ.
    lam: (f64, f64, f64),
    chi: (f64, f64, f64),
}

/// atan2(y, x) from a reference (y₀, x₀, atan2(y₀, x₀)): the reference's angle plus atan of
/// the turn's tangent (cross ÷ dot) by its series, and whether the turn was small enough for
/// it (below 0.01 rad, where the first omitted term is below 10⁻²³).
#[inline]
fn turned<L: Lane>((y0, x0, a0): (f64, f64, f64), (y, x): (L, L)) -> (L, L::Mask) {
    const A: [f64; 4] = [-1.0 / 3.0, 1.0 / 5.0, -1.0 / 7.0, 1.0 / 9.0];
    let (x0, y0) = (L::splat(x0), L::splat(y0));
    let dot = x0 * x + y0 * y;
    let t = (x0 * y - y0 * x) / dot;
    let t2 = t * t;
    let poly = L::splat(A[0]) + t2 * (L::splat(A[1]) + t2 * (L::splat(A[2]) + t2 * L::splat(A[3])));
    (L::splat(a0) + (t + t * t2 * poly), L::small_turn(t, dot))
}

/// Arithmetic on one value or on a pair of values at once (what the series need), so the
/// same code computes one point or two.
trait Lane:
    Copy + std::ops::Add<Output = Self> + std::ops::Sub<Output = Self> + std::ops::Mul<Output = Self> + std::ops::Div<Output = Self>
{
    /// One flag a lane.
    type Mask: Copy;
    fn splat(v: f64) -> Self;
    fn sqrt(self) -> Self;
    /// Whether a turn of tangent `t` (with a positive `dot`) is small enough for [`turned`].
    fn small_turn(t: Self, dot: Self) -> Self::Mask;
    fn both(a: Self::Mask, b: Self::Mask) -> Self::Mask;
}

impl Lane for f64 {
    type Mask = [bool; 1];
    fn splat(v: f64) -> f64 {
        v
    }
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    fn small_turn(t: f64, dot: f64) -> [bool; 1] {
        [t.abs() < 0.01 && dot > 0.0]
    }
    fn both(a: [bool; 1], b: [bool; 1]) -> [bool; 1] {
        [a[0] && b[0]]
    }
}

/// Two values, operated on lane by lane (the compiler keeps them in one vector register).
#[derive(Clone, Copy)]
struct F2([f64; 2]);

macro_rules! f2_op {
    ($tr:ident, $f:ident, $op:tt) => {
        impl std::ops::$tr for F2 {
            type Output = F2;
            #[inline]
            fn $f(self, o: F2) -> F2 {
                F2([self.0[0] $op o.0[0], self.0[1] $op o.0[1]])
            }
        }
    };
}
f2_op!(Add, add, +);
f2_op!(Sub, sub, -);
f2_op!(Mul, mul, *);
f2_op!(Div, div, /);

impl Lane for F2 {
    type Mask = [bool; 2];
    #[inline]
    fn splat(v: f64) -> F2 {
        F2([v, v])
    }
    #[inline]
    fn sqrt(self) -> F2 {
        F2([self.0[0].sqrt(), self.0[1].sqrt()])
    }
    #[inline]
    fn small_turn(t: F2, dot: F2) -> [bool; 2] {
        [0, 1].map(|i| t.0[i].abs() < 0.01 && dot.0[i] > 0.0)
    }
    #[inline]
    fn both(a: [bool; 2], b: [bool; 2]) -> [bool; 2] {
        [a[0] && b[0], a[1] && b[1]]
    }
}

/// sin x and cos x for |x| < 0.01 by their Taylor series (the first omitted terms are below
/// 10⁻²⁰).
#[inline]
fn small_sin_cos<L: Lane>(x: L) -> (L, L) {
    odd_even(x, L::splat(0.0) - x * x)
}

/// sinh x and cosh x for |x| < 0.01 by their Taylor series, as [`small_sin_cos`].
#[inline]
fn small_sinh_cosh<L: Lane>(x: L) -> (L, L) {
    odd_even(x, x * x)
}

/// x (1 + u/3! + u²/5! + u³/7!) and 1 + u/2! + u²/4! + u³/6! + u⁴/8!: with u = −x² the series
/// of sin x and cos x, with u = x² those of sinh x and cosh x. Horner's rule with the
/// coefficients as constants: multiplications only, no division (a division costs as much as
/// several multiplications, in a chain).
#[inline]
fn odd_even<L: Lane>(x: L, u: L) -> (L, L) {
    const S: [f64; 3] = [1.0 / 6.0, 1.0 / 120.0, 1.0 / 5040.0];
    const C: [f64; 4] = [1.0 / 2.0, 1.0 / 24.0, 1.0 / 720.0, 1.0 / 40320.0];
    let k = L::splat;
    let odd = x + x * u * (k(S[0]) + u * (k(S[1]) + u * k(S[2])));
    let even = k(1.0) + u * (k(C[0]) + u * (k(C[1]) + u * (k(C[2]) + u * k(C[3]))));
    (odd, even)
}

/// eᵡ for |x| < 0.01 by its Taylor series (to x⁸; the rest is below 10⁻²¹), multiplications
/// only.
#[inline]
fn small_exp<L: Lane>(x: L) -> L {
    const E: [f64; 7] = [
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
    ];
    let k = L::splat;
    let inner = k(E[3]) + x * (k(E[4]) + x * (k(E[5]) + x * k(E[6])));
    k(1.0) + x * (k(1.0) + x * (k(E[0]) + x * (k(E[1]) + x * (k(E[2]) + x * inner))))
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

    /// Many points at once against one by one: a city's corners metres apart, jumps of
    /// kilometres and of a whole zone, a point on the equator, one far out of the zone and a
    /// NaN among them.
    #[test]
    fn inverse_many_matches_one_by_one() {
        let t = cgcs_cm(114.0);
        let mut pts = Vec::new();
        let mut s = 7u64;
        let mut r = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        for b in 0..20_000 {
            // A building every few metres to kilometres, now and then far away.
            let (x, y) = if b % 997 == 0 {
                (500_000.0 + (r() - 0.5) * 700_000.0, r() * 9_000_000.0)
            } else {
                (420_000.0 + r() * 160_000.0, 3_380_000.0 + r() * 60_000.0)
            };
            for k in 0..5 {
                let a = k as f64 * 1.3;
                pts.push((x + 20.0 * a.cos(), y + 20.0 * a.sin()));
            }
            pts.push((x + 20.0, y));
        }
        pts.extend([
            (500_000.0, 0.0),
            (500_001.0, 1e-3),
            (2_900_000.0, 4_000_000.0),
            (f64::NAN, 3_400_000.0),
            (500_000.0, 3_400_000.0),
        ]);
        let mut many = pts.clone();
        t.inverse_many(&mut many);
        let mut worst = 0.0f64;
        for (p, m) in pts.iter().zip(&many) {
            let one = t.inverse(p.0, p.1);
            if one.0.is_nan() {
                assert!(m.0.is_nan(), "{p:?}");
                continue;
            }
            // On the ground, metres (a degree of latitude is about 111 km).
            let d = ((one.0 - m.0) * one.1.to_radians().cos()).hypot(one.1 - m.1) * 111_320.0;
            worst = worst.max(d);
        }
        // A few units in the last place: one of a longitude near 114° is 1.6 nm (1.4 nm on the
        // ground at 30°N).
        assert!(worst < 1e-8, "many and one apart by {worst} m");
    }

    #[test]
    fn beijing_check_vector() {
        // From ../shared/data/crs (PROJ 9.5): Tiananmen in the CM 117E zone.
        let (x, y) = cgcs_cm(117.0).forward(116.3975, 39.9087);
        assert!((x - 448_481.5746).abs() < 1e-4 && (y - 4_419_565.4353).abs() < 1e-4, "{x} {y}");
    }
}
