//! GCJ-02, the offset coordinate system that Chinese web maps (Gaode/AMap, Tencent) publish.
//!
//! GCJ-02 is a deterministic, documented-by-reverse-engineering perturbation of WGS84
//! longitude/latitude on the Krasovsky ellipsoid constants. The forward direction is closed
//! form; the inverse is solved by fixed-point iteration to 1e-10° (about 0.01 mm). Outside
//! mainland China the offset is not applied, as the web maps do.

use std::f64::consts::PI;

const A_M: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;

/// True where the web maps leave coordinates unshifted (a coarse box around China).
pub fn out_of_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn offset_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn offset_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

fn delta(lon: f64, lat: f64) -> (f64, f64) {
    let dlat = offset_lat(lon - 105.0, lat - 35.0);
    let dlon = offset_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let dlat_deg = dlat * 180.0 / ((A_M * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let dlon_deg = dlon * 180.0 / (A_M / sqrt_magic * rad_lat.cos() * PI);
    (dlon_deg, dlat_deg)
}

/// WGS84 lon/lat (degrees) to GCJ-02 lon/lat.
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (dlon, dlat) = delta(lon, lat);
    (lon + dlon, lat + dlat)
}

/// GCJ-02 lon/lat (degrees) to WGS84 lon/lat, by iteration (residual below 1e-10°).
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (mut wlon, mut wlat) = (lon, lat);
    for _ in 0..30 {
        let (glon, glat) = wgs84_to_gcj02(wlon, wlat);
        let (elon, elat) = (glon - lon, glat - lat);
        wlon -= elon;
        wlat -= elat;
        if elon.abs() < 1e-10 && elat.abs() < 1e-10 {
            break;
        }
    }
    (wlon, wlat)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published reference pairs (WGS84 lat/lon → GCJ-02 lat/lon) used across the many
    /// independent implementations of the algorithm.
    const REFERENCE: [(f64, f64, f64, f64); 3] = [
        (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
        (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
        (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
    ];

    #[test]
    fn matches_reference_vectors() {
        for (wlat, wlon, glat, glon) in REFERENCE {
            let (lon, lat) = wgs84_to_gcj02(wlon, wlat);
            assert!((lon - glon).abs() < 1e-9 && (lat - glat).abs() < 1e-9, "{lon},{lat}");
            let (lon, lat) = gcj02_to_wgs84(glon, glat);
            assert!((lon - wlon).abs() < 1e-9 && (lat - wlat).abs() < 1e-9, "{lon},{lat}");
        }
    }

    #[test]
    fn roundtrip_is_sub_millimetre() {
        for &(lon, lat) in &[(116.3975, 39.9087), (121.4997, 31.2397), (113.9, 22.5), (87.6, 43.8)] {
            let (glon, glat) = wgs84_to_gcj02(lon, lat);
            let (wlon, wlat) = gcj02_to_wgs84(glon, glat);
            assert!((wlon - lon).abs() < 1e-9 && (wlat - lat).abs() < 1e-9, "{lon},{lat}");
        }
    }

    #[test]
    fn offset_is_hundreds_of_metres_in_china_and_zero_outside() {
        let (glon, glat) = wgs84_to_gcj02(121.4997, 31.2397);
        let dx_m = (glon - 121.4997) * 111_320.0 * 31.2397f64.to_radians().cos();
        let dy_m = (glat - 31.2397) * 110_574.0;
        let d = (dx_m * dx_m + dy_m * dy_m).sqrt();
        assert!((100.0..900.0).contains(&d), "offset {d} m");
        assert_eq!(wgs84_to_gcj02(9.52, 47.14), (9.52, 47.14));
    }
}
