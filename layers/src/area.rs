//! Where a CRS is meant to be used, and coordinates a user types checked against it.
//!
//! PROJ transforms a point far outside a projection's area of use into nonsense or an error
//! (Transverse Mercator: "Invalid latitude"), once per point. A query envelope is therefore
//! clipped to where both CRSs are meant to be used before it is transformed (an unbounded
//! envelope means every feature), and a point outside that area is one clear error.

use crate::crs::{AreaCache, Crs, CrsKind, Transformer};
use crate::error::{LayersError, Result};

/// A longitude/latitude box in degrees: west, south, east, north.
pub type LonLatBox = [f64; 4];

/// The whole Earth.
pub const WORLD: LonLatBox = [-180.0, -90.0, 180.0, 90.0];

/// The smallest box holding both.
pub fn union(a: LonLatBox, b: LonLatBox) -> LonLatBox {
    [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]
}

/// The common part of two boxes (in any one CRS), if they meet.
pub fn intersection(a: [f64; 4], b: [f64; 4]) -> Option<[f64; 4]> {
    let c = [a[0].max(b[0]), a[1].max(b[1]), a[2].min(b[2]), a[3].min(b[3])];
    (c[0] <= c[2] && c[1] <= c[3]).then_some(c)
}

fn contains(b: [f64; 4], x: f64, y: f64) -> bool {
    (b[0]..=b[2]).contains(&x) && (b[1]..=b[3]).contains(&y)
}

/// The edges of a box as a closed ring of `4 * per_side` points.
fn ring(b: [f64; 4], per_side: u32) -> Vec<(f64, f64)> {
    let corners = [(b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])];
    let mut ring = Vec::with_capacity(4 * per_side as usize + 1);
    for (k, &(x0, y0)) in corners.iter().enumerate() {
        let (x1, y1) = corners[(k + 1) % 4];
        for i in 0..per_side {
            let f = f64::from(i) / f64::from(per_side);
            ring.push((x0 + (x1 - x0) * f, y0 + (y1 - y0) * f));
        }
    }
    ring.push(ring[0]);
    ring
}

fn bbox(points: &[(f64, f64)]) -> [f64; 4] {
    points.iter().fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, &(x, y)| {
        [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)]
    })
}

fn describe(b: LonLatBox) -> String {
    format!("longitude {:.2}…{:.2}, latitude {:.2}…{:.2}", b[0], b[2], b[1], b[3])
}

impl Crs {
    /// PROJ's area of use of the CRS (for EPSG CRSs, the EPSG database's); `None` when it
    /// names none. An area across the antimeridian is given as all longitudes.
    pub fn area_of_use(&self) -> Option<LonLatBox> {
        if self.kind == CrsKind::Gcj02 {
            return None;
        }
        crate::ffi::quiet_proj();
        let p = proj::Proj::new(&self.definition).ok()?;
        let (area, _) = p.area_of_use().ok()?;
        let a = area?;
        let (west, east) = if a.west <= a.east { (a.west, a.east) } else { (-180.0, 180.0) };
        let b = [west, a.south, east, a.north];
        b.iter().all(|v| v.is_finite()).then_some(b)
    }

    /// Where coordinates in this CRS are accepted: everywhere for longitude/latitude; for a
    /// projection its area of use, or for a Transverse Mercator PROJ knows no area for, 3° either
    /// side of its central meridian; everywhere for anything else.
    pub fn domain(&self) -> LonLatBox {
        if self.is_geographic() {
            return WORLD;
        }
        if let Some(a) = self.area_of_use() {
            return a;
        }
        match crate::crs::central_meridian(self) {
            Some(lon0) => [lon0 - 3.0, -80.0, lon0 + 3.0, 84.0],
            None => WORLD,
        }
    }

    /// The box in this CRS's own coordinates that covers `area` (longitude/latitude).
    fn box_of(&self, area: LonLatBox) -> Result<[f64; 4]> {
        if self.is_geographic() {
            return Ok(area);
        }
        let mut pts = ring(area, 32);
        let mut lonlat = pts.clone();
        // Points PROJ refuses one by one are left out (the area's far corners at high latitude).
        let t = self.from_lonlat()?;
        pts.clear();
        for p in lonlat.drain(..) {
            if let Ok(q) = t.transform(p.0, p.1) {
                pts.push(q);
            }
        }
        if pts.is_empty() {
            return Err(LayersError::Transform {
                from: "EPSG:4490".into(),
                to: self.label(),
                detail: format!("no point of its area of use ({}) transforms", describe(area)),
            });
        }
        Ok(bbox(&pts))
    }
}

impl Transformer {
    fn cached(&self) -> &AreaCache {
        self.area_cache.get_or_init(|| AreaCache {
            from_domain: self.from().domain(),
            to_domain: self.to().domain(),
            round_trip: if self.from().is_geographic() {
                None
            } else {
                Crs::cgcs2000().ok().and_then(|ll| {
                    Some(Box::new((
                        Transformer::new(self.from(), &ll).ok()?,
                        Transformer::new(&ll, self.from()).ok()?,
                    )))
                })
            },
        })
    }

    /// Where the transformation is meant to be used, in longitude/latitude: where the domains
    /// of both CRSs meet, each widened by `also` (where data already lies).
    pub fn area(&self, also: Option<LonLatBox>) -> Option<LonLatBox> {
        let c = self.cached();
        let widen = |d: LonLatBox| also.map_or(d, |a| union(d, a));
        intersection(widen(c.from_domain), widen(c.to_domain))
    }

    fn area_text(&self, area: Option<LonLatBox>) -> String {
        match area {
            Some(a) => format!("the area of use of {} ({})", self.to().label(), describe(a)),
            None => format!("the area of use of {}", self.to().label()),
        }
    }

    /// The part of the envelope `b` (in the source CRS) that lies in [`Transformer::area`], as a
    /// densified ring in the target CRS; `None` when no part does. `[-1e300, -1e300, 1e300,
    /// 1e300]` is the whole area.
    pub fn envelope(&self, b: [f64; 4], also: Option<LonLatBox>) -> Result<Option<geo::Polygon>> {
        let Some(area) = self.area(also) else { return Ok(None) };
        let Some(clipped) = intersection(b, self.from().box_of(area)?) else {
            return Ok(None);
        };
        let mut pts = ring(clipped, 64);
        self.transform_in_place(&mut pts)?;
        Ok(Some(geo::Polygon::new(pts.into(), vec![])))
    }

    /// One point a user gave, transformed; a point outside [`Transformer::area`] is an error
    /// that names the area, never a PROJ failure or a far-away number. A transformation that
    /// changes nothing checks nothing.
    pub fn point(&self, x: f64, y: f64, also: Option<LonLatBox>) -> Result<(f64, f64)> {
        if self.is_identity() {
            return Ok((x, y));
        }
        let area = self.area(also);
        let outside = || LayersError::OutsideArea {
            point: format!("{x},{y}"),
            from: self.from().label(),
            area: self.area_text(area),
        };
        let Some(a) = area else { return Err(outside()) };
        let lonlat = if self.from().is_geographic() {
            if !contains(WORLD, x, y) {
                return Err(LayersError::OutsideArea {
                    point: format!("{x},{y}"),
                    from: self.from().label(),
                    area: "longitude −180…180, latitude −90…90".into(),
                });
            }
            (x, y)
        } else {
            // To lon/lat and back: a point far outside the projection comes back elsewhere
            // (or not at all), whatever the inverse made of it.
            let (to_ll, back) = self.cached().round_trip.as_deref().ok_or_else(outside)?;
            let ll = to_ll.transform(x, y).map_err(|_| outside())?;
            let (bx, by) = back.transform(ll.0, ll.1).map_err(|_| outside())?;
            if (bx - x).hypot(by - y) > 1e-3 * (1.0 + x.abs().max(y.abs()) * 1e-6) {
                return Err(outside());
            }
            ll
        };
        if !contains(a, lonlat.0, lonlat.1) {
            return Err(outside());
        }
        self.transform(x, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_from_proj() {
        let gk = Crs::from_epsg(4550).unwrap();
        let a = gk.area_of_use().unwrap();
        // CM 123°E (the demo city's zone, whose western edge the city straddles).
        assert!((a[0] - 121.5).abs() < 1e-9 && (a[2] - 124.5).abs() < 1e-9, "{a:?}");
        assert_eq!(Crs::from_epsg(4326).unwrap().domain(), WORLD);
        // A Gauss-Krüger zone PROJ knows no area for gets one from its central meridian.
        let bare = Crs::parse("+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs").unwrap();
        assert_eq!(bare.area_of_use(), None);
        assert_eq!(bare.domain(), [114.0, -80.0, 120.0, 84.0]);
    }

    #[test]
    fn everything_is_clipped_not_refused() {
        let t = Transformer::new(&Crs::from_epsg(4326).unwrap(), &Crs::from_epsg(4550).unwrap()).unwrap();
        let all = t.envelope([-1e300, -1e300, 1e300, 1e300], None).unwrap().unwrap();
        use geo::BoundingRect;
        let r = all.bounding_rect().unwrap();
        // The zone is 3° wide: about 300 km of easting around 500 km.
        assert!(r.min().x > 300_000.0 && r.max().x < 700_000.0, "{r:?}");
        assert!(crate::ffi::take_proj_messages().is_empty());
        // Entirely outside the zone: nothing, no error.
        assert!(t.envelope([0.0, 0.0, 1.0, 1.0], None).unwrap().is_none());
        // Widened by where data lies.
        assert!(t.envelope([0.0, 0.0, 1.0, 1.0], Some([0.5, 0.5, 2.0, 2.0])).unwrap().is_some());
    }

    #[test]
    fn points_outside_are_one_error() {
        let t = Transformer::new(&Crs::from_epsg(4326).unwrap(), &Crs::from_epsg(4550).unwrap()).unwrap();
        let e = t.point(0.0, 0.0, None).unwrap_err().to_string();
        assert!(e.contains("0,0 (EPSG:4326) lies outside the area of use of EPSG:4550"), "{e}");
        assert!(e.contains("121.50…124.50"), "{e}");
        let e = t.point(200.0, 0.0, None).unwrap_err().to_string();
        assert!(e.contains("latitude −90…90"), "{e}");
        let (x, _) = t.point(123.0, 31.0, None).unwrap();
        assert!((x - 500_000.0).abs() < 1e-3);
        let back = Transformer::new(&Crs::from_epsg(4550).unwrap(), &Crs::from_epsg(4326).unwrap()).unwrap();
        assert!(back.point(1e9, 1e9, None).is_err());
        assert!(back.point(500_000.0, 3_500_000.0, None).is_ok());
    }
}
