//! CRS names as services spell them: `EPSG:4490`, `urn:ogc:def:crs:EPSG::4490`,
//! `urn:ogc:def:crs:EPSG:6.18:3:3857`, `urn:x-ogc:def:crs:EPSG:4326`,
//! `http://www.opengis.net/def/crs/EPSG/0/4490`, `CRS:84`, and Google's `900913`.

use jingwei_layers::Crs;

/// The EPSG code a service's CRS name means (`CRS:84` is 4326 in longitude/latitude order,
/// 900913 and 102100 are 3857).
pub fn epsg_of(name: &str) -> Option<u32> {
    let n = name.trim();
    if is_crs84(n) {
        return Some(4326);
    }
    // The code is the last run of digits after the last separator that names it.
    let upper = n.to_ascii_uppercase();
    if !(upper.contains("EPSG") || upper.contains("ESRI") || n.chars().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let digits: String = n
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let code: u32 = digits.parse().ok()?;
    Some(match code {
        900913 | 102100 | 102113 | 3785 => 3857,
        c => c,
    })
}

/// True when a service's CRS name is `CRS:84` (longitude first, whatever EPSG says).
pub fn is_crs84(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    n == "crs:84" || n.ends_with("crs84")
}

/// The CRS of a service's CRS name.
pub fn crs_of(name: &str) -> Option<Crs> {
    Crs::from_epsg(epsg_of(name)?).ok()
}

/// Metres per CRS unit as OGC's WMTS standard counts them (a degree is 2π·6378137/360 m).
pub fn metres_per_unit(crs: &Crs) -> f64 {
    if crs.is_geographic() {
        2.0 * std::f64::consts::PI * 6_378_137.0 / 360.0
    } else {
        1.0
    }
}

/// Half the width of the world in the CRS, for the sets that cover it: 180° or Web Mercator's
/// 20 037 508.34 m; `None` for other CRSs.
pub fn world_half_span(crs: &Crs) -> Option<f64> {
    if crs.is_geographic() {
        Some(180.0)
    } else if crs.epsg == Some(3857) {
        Some(20_037_508.342_789_244)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_an_epsg_code() {
        for n in [
            "EPSG:4490",
            "urn:ogc:def:crs:EPSG::4490",
            "urn:ogc:def:crs:EPSG:6.18:3:4490",
            "urn:x-ogc:def:crs:EPSG:4490",
            "http://www.opengis.net/def/crs/EPSG/0/4490",
            " epsg:4490 ",
        ] {
            assert_eq!(epsg_of(n), Some(4490), "{n}");
        }
        assert_eq!(epsg_of("urn:ogc:def:crs:EPSG::900913"), Some(3857));
        assert_eq!(epsg_of("EPSG:102100"), Some(3857));
        assert_eq!(epsg_of("CRS:84"), Some(4326));
        assert!(is_crs84("http://www.opengis.net/def/crs/OGC/1.3/CRS84"));
        assert_eq!(epsg_of("urn:ogc:def:crs:OGC:1.3:CRS84"), Some(4326));
        assert_eq!(epsg_of("somethingelse"), None);
    }
}
