//! Coordinate reference systems: parsing, naming, and transformation through PROJ.
//!
//! A [`Crs`] is identified by a definition PROJ understands (`EPSG:4547`, WKT or a PROJ string)
//! or by the special name `GCJ02`. Metadata (name, EPSG code, axis order) is read through
//! GDAL's OSR, which is itself backed by PROJ — except for a current geographic or projected
//! EPSG CRS by code, which PROJ's own API describes (the same answer, checked against OSR in
//! the tests) without loading GDAL. Coordinates inside Jingwei are always in
//! "visualisation" order: x = easting or longitude, y = northing or latitude, whatever the
//! authority says (EPSG:4490 and the CGCS2000 Gauss-Krüger CRSs are latitude/north first by
//! authority).

use gdal::spatial_ref::SpatialRef;
use gdal_sys::OGRAxisOrientation;
use serde::Serialize;

use crate::error::{LayersError, Result};
use crate::gcj02;
use crate::tmerc::{Tmerc, TmercParams};

/// Which family a CRS belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrsKind {
    /// Longitude/latitude in degrees.
    Geographic,
    /// Projected metres (or other linear unit).
    Projected,
    /// The GCJ-02 offset lon/lat of Chinese web maps.
    Gcj02,
    /// Anything else PROJ knows (geocentric, compound, engineering).
    Other,
}

/// A coordinate reference system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Crs {
    /// Definition handed to PROJ (`EPSG:4547`, WKT2 or a PROJ string); `GCJ02` for GCJ-02.
    pub definition: String,
    /// EPSG code when the CRS is (or is identified as) an EPSG CRS.
    pub epsg: Option<u32>,
    /// Human-readable name, e.g. "CGCS2000 / 3-degree Gauss-Kruger CM 114E".
    pub name: String,
    /// Geographic, projected, ...
    pub kind: CrsKind,
    /// True when the authority's first axis is north/latitude (EPSG:4490, 4547, ...).
    pub authority_north_first: bool,
    /// A user-given 7-parameter Helmert shift from this CRS's datum to CGCS2000 (dx, dy, dz m;
    /// rx, ry, rz arc-seconds, position-vector convention; ds ppm), as Xi'an 1980 and Beijing
    /// 1954 data need. `definition` is then the CRS without the shift.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_cgcs2000: Option<[f64; 7]>,
}

/// The EPSG code of CGCS2000 geographic 2D.
pub const EPSG_CGCS2000: u32 = 4490;
/// WGS84 geographic 2D.
pub const EPSG_WGS84: u32 = 4326;

impl Crs {
    /// The GCJ-02 pseudo-CRS.
    pub fn gcj02() -> Crs {
        Crs {
            definition: "GCJ02".into(),
            epsg: None,
            name: "GCJ-02 (Chinese web-map offset of WGS 84)".into(),
            kind: CrsKind::Gcj02,
            authority_north_first: false,
            to_cgcs2000: None,
        }
    }

    /// An EPSG CRS by code.
    pub fn from_epsg(code: u32) -> Result<Crs> {
        match Crs::from_epsg_by_proj(code) {
            Some(crs) => Ok(crs),
            None => Crs::parse(&format!("EPSG:{code}")),
        }
    }

    /// A current (not deprecated) geographic or projected EPSG CRS described through PROJ's
    /// API alone, as OSR would describe it (see the test against OSR): a program that reads a
    /// GeoPackage natively and transforms its coordinates then never loads GDAL, whose
    /// libraries take ~30 ms to map and relocate against PROJ's ~5. Answers are kept per code.
    /// `None` for anything else (OSR decides, as before).
    fn from_epsg_by_proj(code: u32) -> Option<Crs> {
        static KNOWN: Memo<Option<Crs>> = Memo::new();
        let definition = format!("EPSG:{code}");
        KNOWN.get_or(&definition, || {
            crate::ffi::proj_epsg_crs(code).map(|d| Crs {
                definition: definition.clone(),
                epsg: Some(code),
                name: d.name,
                kind: if d.projected { CrsKind::Projected } else { CrsKind::Geographic },
                authority_north_first: d.north_first,
                to_cgcs2000: None,
            })
        })
    }

    /// CGCS2000 geographic (EPSG:4490, longitude/latitude): the CRS users type coordinates
    /// in and feeds, exports and the cursor read-out speak.
    pub fn cgcs2000() -> Result<Crs> {
        Crs::from_epsg(EPSG_CGCS2000)
    }

    /// A transformer from CGCS2000 longitude/latitude into this CRS.
    pub fn from_lonlat(&self) -> Result<Transformer> {
        Transformer::new(&Crs::cgcs2000()?, self)
    }

    /// Parse a user-given CRS: `EPSG:4490`, a bare code `4490`, `GCJ02`/`GCJ-02`, a PROJ
    /// string, WKT, or anything else OSR's `SetFromUserInput` accepts.
    pub fn parse(input: &str) -> Result<Crs> {
        crate::ffi::quiet_gdal();
        crate::ffi::quiet_proj();
        let trimmed = input.trim();
        let upper = trimmed.to_ascii_uppercase().replace(['-', '_', ' '], "");
        if upper == "GCJ02" {
            return Ok(Crs::gcj02());
        }
        let definition = if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
            format!("EPSG:{trimmed}")
        } else {
            trimmed.to_owned()
        };
        let srs = SpatialRef::from_definition(&definition).map_err(|e| LayersError::UnknownCrs {
            definition: input.to_owned(),
            detail: first_line(&e.to_string()),
        })?;
        Ok(Crs::from_spatial_ref(&srs, Some(definition)))
    }

    /// Describe a GDAL spatial reference (for example a layer's). The definition kept for PROJ
    /// is `EPSG:n` when the CRS is identified as an EPSG CRS, else its WKT.
    pub fn from_spatial_ref(srs: &SpatialRef, given: Option<String>) -> Crs {
        let mut srs = srs.clone();
        // A CRS that *is* an EPSG CRS is handed to PROJ by its code; one that merely resembles
        // an EPSG CRS (a .prj, a PROJ string with +towgs84) keeps its own definition, so that
        // nothing in it (a 7-parameter shift) is lost, and only borrows the code as a label.
        let authoritative = srs
            .auth_name()
            .filter(|a| a.eq_ignore_ascii_case("EPSG"))
            .and_then(|_| srs.auth_code().ok());
        let mut epsg = authoritative;
        if epsg.is_none() && srs.auto_identify_epsg().is_ok() {
            epsg = srs.auth_code().ok();
        }
        let epsg = epsg.and_then(|c| u32::try_from(c).ok());
        let authoritative = authoritative.and_then(|c| u32::try_from(c).ok());
        let kind = if srs.is_geographic() {
            CrsKind::Geographic
        } else if srs.is_projected() {
            CrsKind::Projected
        } else {
            CrsKind::Other
        };
        let target = if kind == CrsKind::Projected { "PROJCS" } else { "GEOGCS" };
        let authority_north_first = matches!(
            srs.axis_orientation(target, 0),
            Ok(OGRAxisOrientation::OAO_North) | Ok(OGRAxisOrientation::OAO_South)
        );
        let definition = match (authoritative, given) {
            (_, Some(g)) => g,
            (Some(code), None) => format!("EPSG:{code}"),
            (None, None) => srs.to_wkt().unwrap_or_default(),
        };
        Crs {
            definition,
            epsg,
            name: srs.name().unwrap_or_else(|| "unnamed CRS".into()),
            kind,
            authority_north_first,
            to_cgcs2000: None,
        }
    }

    /// This CRS with a user-given 7-parameter shift to CGCS2000 (see [`Crs::to_cgcs2000`]).
    /// Coordinates are then carried to CGCS2000 by an explicit PROJ pipeline: inverse
    /// projection, geocentric on the CRS's own ellipsoid, Helmert, geocentric on GRS 80.
    pub fn with_towgs84(&self, params: [f64; 7]) -> Result<Crs> {
        if self.kind == CrsKind::Gcj02 {
            return Err(LayersError::Invalid("GCJ-02 takes no 7-parameter shift".into()));
        }
        if params.iter().any(|p| !p.is_finite()) {
            return Err(LayersError::Invalid("7-parameter shift: every parameter must be a number".into()));
        }
        let mut crs = self.clone();
        crs.name = format!(
            "{} + 7-parameter shift to CGCS2000 ({})",
            self.name,
            params.map(|v| v.to_string()).join(",")
        );
        crs.to_cgcs2000 = Some(params);
        // Fail now, with the CRS named, if the pipeline cannot be built.
        proj::Proj::new(&crs.pipeline_to_cgcs2000(false)?).map_err(|e| LayersError::UnknownCrs {
            definition: self.definition.clone(),
            detail: e.to_string(),
        })?;
        Ok(crs)
    }

    /// The PROJ pipeline from this CRS (without its shift) to CGCS2000 lon/lat degrees, or the
    /// reverse; applies `to_cgcs2000`.
    fn pipeline_to_cgcs2000(&self, reverse: bool) -> Result<String> {
        let p = self
            .to_cgcs2000
            .ok_or_else(|| LayersError::Invalid("no 7-parameter shift".into()))?;
        let srs = SpatialRef::from_definition(&self.definition).map_err(|e| LayersError::UnknownCrs {
            definition: self.definition.clone(),
            detail: first_line(&e.to_string()),
        })?;
        let proj4 = srs.to_proj4().map_err(|e| LayersError::UnknownCrs {
            definition: self.definition.clone(),
            detail: first_line(&e.to_string()),
        })?;
        let tokens: Vec<&str> = proj4
            .split_whitespace()
            .filter(|t| {
                !t.starts_with("+towgs84")
                    && !t.starts_with("+nadgrids")
                    && !t.starts_with("+datum")
                    && *t != "+no_defs"
                    && *t != "+type=crs"
            })
            .collect();
        let ellps: Vec<&str> = tokens
            .iter()
            .copied()
            .filter(|t| ["+ellps=", "+a=", "+b=", "+rf=", "+f=", "+R="].iter().any(|k| t.starts_with(k)))
            .collect();
        if ellps.is_empty() {
            return Err(LayersError::Invalid(format!(
                "{}: no ellipsoid to attach a 7-parameter shift to",
                self.name
            )));
        }
        let geographic = tokens.first().is_some_and(|t| *t == "+proj=longlat" || *t == "+proj=latlong");
        let ellps = ellps.join(" ");
        let proj_def = tokens.join(" ");
        let helmert = format!(
            "+proj=helmert +x={} +y={} +z={} +rx={} +ry={} +rz={} +s={} +convention=position_vector",
            p[0], p[1], p[2], p[3], p[4], p[5], p[6]
        );
        let first = if geographic {
            "+step +proj=unitconvert +xy_in=deg +xy_out=rad".to_owned()
        } else {
            format!("+step +inv {proj_def}")
        };
        let fwd = [
            first,
            format!("+step +proj=cart {ellps}"),
            format!("+step {helmert}"),
            "+step +inv +proj=cart +ellps=GRS80".into(),
            "+step +proj=unitconvert +xy_in=rad +xy_out=deg".into(),
        ];
        Ok(if reverse {
            let rev = [
                "+step +proj=unitconvert +xy_in=deg +xy_out=rad".to_owned(),
                "+step +proj=cart +ellps=GRS80".into(),
                format!("+step +inv {helmert}"),
                format!("+step +inv +proj=cart {ellps}"),
                if geographic {
                    "+step +proj=unitconvert +xy_in=rad +xy_out=deg".to_owned()
                } else {
                    format!("+step {proj_def}")
                },
            ];
            format!("+proj=pipeline {}", rev.join(" "))
        } else {
            format!("+proj=pipeline {}", fwd.join(" "))
        })
    }

    /// Short label: `EPSG:4547` or the name.
    pub fn label(&self) -> String {
        match self.epsg {
            Some(c) => format!("EPSG:{c}"),
            None if self.kind == CrsKind::Gcj02 => "GCJ02".into(),
            None => self.name.clone(),
        }
    }

    /// The CRS as OGC WKT (as GeoPackage's `gpkg_spatial_ref_sys` wants it); `None` for GCJ-02.
    pub fn wkt(&self) -> Option<String> {
        if self.kind == CrsKind::Gcj02 {
            return None;
        }
        SpatialRef::from_definition(&self.definition).ok()?.to_wkt().ok()
    }

    /// Metres per linear unit of a projected CRS (0.3048… for feet); 1 for others.
    pub fn linear_unit_m(&self) -> f64 {
        if self.kind != CrsKind::Projected {
            return 1.0;
        }
        SpatialRef::from_definition(&self.definition)
            .map(|s| s.linear_units())
            .ok()
            .filter(|u| u.is_finite() && *u > 0.0)
            .unwrap_or(1.0)
    }

    /// True for geographic and GCJ-02 CRSs (degrees).
    pub fn is_geographic(&self) -> bool {
        matches!(self.kind, CrsKind::Geographic | CrsKind::Gcj02)
    }
}

/// `detail` followed by what PROJ logged while failing (e.g. "tmerc: Invalid latitude").
fn with_proj_messages(detail: String) -> String {
    let said = crate::ffi::take_proj_messages();
    if said.is_empty() {
        detail
    } else {
        format!("{detail} (PROJ: {})", said.join("; "))
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_owned()
}

/// Datum identity of a CRS: datum name, semi-major axis and flattening (as text, exact).
type DatumKey = (String, u64, u64);

fn datum_key(srs: &SpatialRef) -> Option<DatumKey> {
    if srs.get_attr_value("TOWGS84", 0).ok().flatten().is_some() {
        return None;
    }
    if srs.get_attr_value("PRIMEM", 1).ok().flatten().and_then(|v| v.parse::<f64>().ok()) != Some(0.0) {
        return None;
    }
    let datum = srs.get_attr_value("DATUM", 0).ok().flatten()?;
    let a = srs.semi_major().ok()?;
    let inv_f: f64 = srs.get_attr_value("SPHEROID", 2).ok().flatten()?.parse().ok()?;
    Some((datum, a.to_bits(), inv_f.to_bits()))
}

/// The datum of a plain geographic lon/lat CRS in degrees, if it is one.
fn geographic_datum(c: &Crs) -> Option<DatumKey> {
    if c.kind != CrsKind::Geographic {
        return None;
    }
    static SEEN: Memo<Option<DatumKey>> = Memo::new();
    SEEN.get_or(&c.definition, || geographic_datum_uncached(c))
}

fn geographic_datum_uncached(c: &Crs) -> Option<DatumKey> {
    use crate::ffi::ProjShape;
    match crate::ffi::proj_crs_shape(&c.definition) {
        Some((ProjShape::LonLatDegrees, g)) => return Some(proj_datum_key(g)),
        Some(_) => return None,
        None => {}
    }
    geographic_datum_osr(c)
}

/// [`geographic_datum`] through GDAL's OSR.
fn geographic_datum_osr(c: &Crs) -> Option<DatumKey> {
    let srs = SpatialRef::from_definition(&c.definition).ok()?;
    if (srs.angular_units() - 1f64.to_radians()).abs() > 1e-15 || srs.axes_count() != 2 {
        return None;
    }
    datum_key(&srs)
}

/// The central meridian of a Transverse Mercator CRS, in degrees.
pub(crate) fn central_meridian(c: &Crs) -> Option<f64> {
    if c.kind != CrsKind::Projected {
        return None;
    }
    let srs = SpatialRef::from_definition(&c.definition).ok()?;
    if srs.get_attr_value("PROJECTION", 0).ok().flatten()? != "Transverse_Mercator" {
        return None;
    }
    srs.get_proj_param("central_meridian").ok().flatten()
}

/// Transverse Mercator parameters (latitude of origin 0, metres) and datum of a projected CRS.
fn tmerc_of(c: &Crs) -> Option<(Tmerc, DatumKey)> {
    if c.kind != CrsKind::Projected {
        return None;
    }
    static SEEN: Memo<Option<(Tmerc, DatumKey)>> = Memo::new();
    SEEN.get_or(&c.definition, || tmerc_of_uncached(c))
}

/// What was learnt of each CRS definition by parsing it through GDAL or PROJ (milliseconds to
/// tens of them each time): a transformer is made per thread, and the second and later ones
/// ask again.
struct Memo<T>(std::sync::Mutex<Option<std::collections::HashMap<String, T>>>);

impl<T: Clone> Memo<T> {
    const fn new() -> Self {
        Memo(std::sync::Mutex::new(None))
    }

    fn get_or(&self, definition: &str, make: impl FnOnce() -> T) -> T {
        let lock = || self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(v) = lock().as_ref().and_then(|m| m.get(definition)) {
            return v.clone();
        }
        // Made outside the lock (two threads may both make it; they agree).
        let v = make();
        lock().get_or_insert_with(Default::default).insert(definition.to_owned(), v.clone());
        v
    }
}

/// A datum key from PROJ's description (see [`crate::ffi::proj_crs_shape`]). Its names are
/// PROJ's, not OSR's WKT1 ones: a CRS PROJ cannot parse (described by OSR) never meets one PROJ
/// describes in closed form, and goes through PROJ's general transformation instead.
fn proj_datum_key(g: crate::ffi::ProjGeodetic) -> DatumKey {
    (g.datum, g.semi_major_m.to_bits(), g.inv_flattening.to_bits())
}

fn tmerc_of_uncached(c: &Crs) -> Option<(Tmerc, DatumKey)> {
    use crate::ffi::ProjShape;
    // Through PROJ alone where it parses the definition (no GDAL to load), else OSR.
    match crate::ffi::proj_crs_shape(&c.definition) {
        Some((
            ProjShape::TmercMetres {
                lat0_deg,
                lon0_deg,
                k0,
                x0_m,
                y0_m,
            },
            g,
        )) => {
            if lat0_deg != 0.0 || g.inv_flattening <= 0.0 {
                return None;
            }
            let params = TmercParams {
                a_m: g.semi_major_m,
                f: 1.0 / g.inv_flattening,
                lon0_deg,
                k0,
                x0_m,
                y0_m,
            };
            return Some((Tmerc::new(params), proj_datum_key(g)));
        }
        Some(_) => return None,
        None => {}
    }
    tmerc_of_osr(c)
}

/// [`tmerc_of`] through GDAL's OSR.
fn tmerc_of_osr(c: &Crs) -> Option<(Tmerc, DatumKey)> {
    let srs = SpatialRef::from_definition(&c.definition).ok()?;
    if srs.get_attr_value("PROJECTION", 0).ok().flatten()? != "Transverse_Mercator" || srs.linear_units() != 1.0 {
        return None;
    }
    let param = |n: &str| srs.get_proj_param(n).ok().flatten();
    if param("latitude_of_origin").unwrap_or(0.0) != 0.0 {
        return None;
    }
    let key = datum_key(&srs)?;
    let params = TmercParams {
        a_m: f64::from_bits(key.1),
        f: 1.0 / f64::from_bits(key.2),
        lon0_deg: param("central_meridian")?,
        k0: param("scale_factor")?,
        x0_m: param("false_easting").unwrap_or(0.0),
        y0_m: param("false_northing").unwrap_or(0.0),
    };
    Some((Tmerc::new(params), key))
}

/// The workspace CRS Jingwei picks for data centred on `lon`, `lat` (degrees): inside China
/// the CGCS2000 3-degree Gauss-Krüger zone (central meridian form, EPSG:4534–4554) that
/// contains the centre; elsewhere the WGS84 UTM zone.
pub fn default_workspace_epsg(lon: f64, lat: f64) -> u32 {
    if in_china_box(lon, lat) {
        let cm = (3.0 * (lon / 3.0).round()).clamp(75.0, 135.0) as u32;
        4534 + (cm - 75) / 3
    } else {
        let zone = (((lon + 180.0) / 6.0).floor() as i64).clamp(0, 59) as u32 + 1;
        if lat >= 0.0 { 32600 + zone } else { 32700 + zone }
    }
}

/// Coarse test for the land area where CGCS2000 Gauss-Krüger zones are the norm.
pub fn in_china_box(lon: f64, lat: f64) -> bool {
    (73.0..=135.5).contains(&lon) && (3.0..=54.0).contains(&lat)
}

enum Step {
    Proj(proj::Proj),
    TmercForward(Tmerc),
    TmercInverse(Tmerc),
    Gcj02ToWgs84,
    Wgs84ToGcj02,
}

/// Transforms coordinates from one CRS to another in visualisation order (x = east/lon).
/// Not `Send` (PROJ objects are per thread): build one per thread.
pub struct Transformer {
    from: Crs,
    to: Crs,
    steps: Vec<Step>,
    /// The CRSs' domains and the source's way to and from lon/lat, made on first use by the
    /// area checks of the `area` module, so that checking each of many points costs no PROJ setup.
    pub(crate) area_cache: std::cell::OnceCell<AreaCache>,
}

/// What the area checks of one [`Transformer`] reuse (filled by the `area` module).
pub(crate) struct AreaCache {
    /// The source CRS's domain, in longitude/latitude degrees.
    pub(crate) from_domain: [f64; 4],
    /// The target CRS's domain.
    pub(crate) to_domain: [f64; 4],
    /// For a source CRS that is not lon/lat: to CGCS2000 lon/lat and back.
    pub(crate) round_trip: Option<Box<(Transformer, Transformer)>>,
}

impl std::fmt::Debug for Transformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Transformer({} -> {})", self.from.label(), self.to.label())
    }
}

fn proj_step(from: &str, to: &str) -> Result<Step> {
    crate::ffi::quiet_proj();
    let p = proj::Proj::new_known_crs(from, to, None).map_err(|e| LayersError::Transform {
        from: from.to_owned(),
        to: to.to_owned(),
        detail: e.to_string(),
    })?;
    Ok(Step::Proj(p))
}

impl Transformer {
    /// A transformer from `from` to `to`. PROJ picks the operation; GCJ-02 goes through WGS84.
    pub fn new(from: &Crs, to: &Crs) -> Result<Transformer> {
        // A CRS with a user-given shift goes through CGCS2000 by an explicit pipeline.
        if from.to_cgcs2000.is_some() || to.to_cgcs2000.is_some() {
            let cgcs = Crs::cgcs2000()?;
            crate::ffi::quiet_proj();
            let pipeline = |c: &Crs, reverse: bool| -> Result<Step> {
                let def = c.pipeline_to_cgcs2000(reverse)?;
                proj::Proj::new(&def).map(Step::Proj).map_err(|e| LayersError::Transform {
                    from: from.label(),
                    to: to.label(),
                    detail: e.to_string(),
                })
            };
            let mut steps = Vec::new();
            let mut mid_from = from.clone();
            if from.to_cgcs2000.is_some() {
                steps.push(pipeline(from, false)?);
                mid_from = cgcs.clone();
            }
            let mut mid_to = to.clone();
            if to.to_cgcs2000.is_some() {
                mid_to = cgcs.clone();
            }
            steps.extend(Transformer::new(&mid_from, &mid_to)?.steps);
            if to.to_cgcs2000.is_some() {
                steps.push(pipeline(to, true)?);
            }
            return Ok(Transformer {
                from: from.clone(),
                to: to.clone(),
                steps,
                area_cache: Default::default(),
            });
        }
        let wgs = "EPSG:4326";
        let mut steps = Vec::new();
        match (from.kind == CrsKind::Gcj02, to.kind == CrsKind::Gcj02) {
            (true, true) => {}
            (true, false) => {
                steps.push(Step::Gcj02ToWgs84);
                if to.epsg != Some(EPSG_WGS84) {
                    steps.push(proj_step(wgs, &to.definition)?);
                }
            }
            (false, true) => {
                if from.epsg != Some(EPSG_WGS84) {
                    steps.push(proj_step(&from.definition, wgs)?);
                }
                steps.push(Step::Wgs84ToGcj02);
            }
            (false, false) => {
                if from.definition != to.definition {
                    steps.push(match (tmerc_of(from), tmerc_of(to)) {
                        (None, Some((tm, datum))) if geographic_datum(from).is_some_and(|d| d == datum) => Step::TmercForward(tm),
                        (Some((tm, datum)), None) if geographic_datum(to).is_some_and(|d| d == datum) => Step::TmercInverse(tm),
                        _ => proj_step(&from.definition, &to.definition)?,
                    });
                }
            }
        }
        Ok(Transformer {
            from: from.clone(),
            to: to.clone(),
            steps,
            area_cache: Default::default(),
        })
    }

    /// A transformer that always asks PROJ (no closed-form shortcut); for cross-checks.
    pub fn new_proj_only(from: &Crs, to: &Crs) -> Result<Transformer> {
        Ok(Transformer {
            from: from.clone(),
            to: to.clone(),
            steps: vec![proj_step(&from.definition, &to.definition)?],
            area_cache: Default::default(),
        })
    }

    /// True when the closed-form Transverse Mercator shortcut is used.
    pub fn uses_closed_form_tmerc(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::TmercForward(_) | Step::TmercInverse(_)))
    }

    /// Source CRS.
    pub fn from(&self) -> &Crs {
        &self.from
    }
    /// Target CRS.
    pub fn to(&self) -> &Crs {
        &self.to
    }
    /// True when the transformation does nothing.
    pub fn is_identity(&self) -> bool {
        self.steps.is_empty()
    }

    /// Transform one coordinate.
    pub fn transform(&self, x: f64, y: f64) -> Result<(f64, f64)> {
        let mut c = [(x, y)];
        self.transform_in_place(&mut c)?;
        Ok(c[0])
    }

    /// Transform coordinates in place. A point PROJ cannot transform becomes an error naming it.
    pub fn transform_in_place(&self, coords: &mut [(f64, f64)]) -> Result<()> {
        for step in &self.steps {
            match step {
                Step::Proj(p) => {
                    crate::ffi::take_proj_messages();
                    p.convert_array(coords).map_err(|e| LayersError::Transform {
                        from: self.from.label(),
                        to: self.to.label(),
                        detail: with_proj_messages(e.to_string()),
                    })?;
                    crate::ffi::take_proj_messages();
                }
                Step::TmercForward(t) => coords.iter_mut().for_each(|c| *c = t.forward(c.0, c.1)),
                Step::TmercInverse(t) => t.inverse_many(coords),
                Step::Gcj02ToWgs84 => coords.iter_mut().for_each(|c| *c = gcj02::gcj02_to_wgs84(c.0, c.1)),
                Step::Wgs84ToGcj02 => coords.iter_mut().for_each(|c| *c = gcj02::wgs84_to_gcj02(c.0, c.1)),
            }
        }
        if coords.iter().any(|c| !c.0.is_finite() || !c.1.is_finite()) {
            return Err(LayersError::Transform {
                from: self.from.label(),
                to: self.to.label(),
                detail: "a coordinate is outside the domain of the transformation".into(),
            });
        }
        Ok(())
    }

    /// Transform every coordinate of a geometry in place.
    pub fn transform_geometry(&self, g: &mut geo::Geometry) -> Result<()> {
        if self.is_identity() {
            return Ok(());
        }
        let mut buf: Vec<(f64, f64)> = Vec::new();
        {
            use geo::CoordsIter;
            buf.extend(g.coords_iter().map(|c| (c.x, c.y)));
        }
        self.transform_in_place(&mut buf)?;
        let next = std::cell::Cell::new(0usize);
        let (buf, next) = (&buf, &next);
        use geo::MapCoordsInPlace;
        g.map_coords_in_place(|_| {
            let i = next.get();
            next.set(i + 1);
            let (x, y) = buf[i];
            geo::Coord { x, y }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed form's parameters as PROJ gives them are OSR's, for every CGCS2000
    /// Gauss-Krüger zone, Xi'an 1980 and Beijing 1954 zones and UTM; a zone and its geographic
    /// CRS share a datum in both; a zone given as WKT (a .prj) is the same as by its code; one
    /// bound to WGS 84 by TOWGS84, or a Mercator, has no closed form.
    #[test]
    fn closed_form_parameters_through_proj_are_osrs() {
        let mut zones: Vec<u32> = (4491..=4554).collect();
        zones.extend([2383, 2436, 32650, 32733]);
        for code in zones {
            let c = Crs::from_epsg(code).unwrap();
            let (by_proj, proj_datum) = tmerc_of_uncached(&c).unwrap_or_else(|| panic!("EPSG:{code}"));
            let (by_osr, osr_datum) = tmerc_of_osr(&c).unwrap();
            let (p, o) = (by_proj.params(), by_osr.params());
            for (what, a, b) in [
                ("a", p.a_m, o.a_m),
                ("f", p.f, o.f),
                ("lon0", p.lon0_deg, o.lon0_deg),
                ("k0", p.k0, o.k0),
                ("x0", p.x0_m, o.x0_m),
                ("y0", p.y0_m, o.y0_m),
            ] {
                assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "EPSG:{code} {what}: {a} against {b}");
            }
            assert_eq!((proj_datum.1, proj_datum.2), (osr_datum.1, osr_datum.2), "EPSG:{code}");
            let wkt = SpatialRef::from_epsg(code).unwrap().to_wkt().unwrap();
            let from_wkt = Crs {
                definition: wkt,
                ..c.clone()
            };
            assert_eq!(
                tmerc_of_uncached(&from_wkt).map(|t| t.1),
                Some(proj_datum.clone()),
                "EPSG:{code} as WKT"
            );
        }
        for (zone, geographic) in [(4547, 4490), (2383, 4610), (2436, 4214), (32650, 4326)] {
            let z = tmerc_of_uncached(&Crs::from_epsg(zone).unwrap()).unwrap().1;
            let g = geographic_datum_uncached(&Crs::from_epsg(geographic).unwrap()).unwrap();
            assert_eq!(z, g, "EPSG:{zone} on EPSG:{geographic}'s datum");
            let (zo, go) = (
                tmerc_of_osr(&Crs::from_epsg(zone).unwrap()).unwrap().1,
                geographic_datum_osr(&Crs::from_epsg(geographic).unwrap()).unwrap(),
            );
            assert_eq!(zo, go, "OSR: EPSG:{zone} on EPSG:{geographic}'s datum");
        }
        let bound = Crs::parse(
            "+proj=tmerc +lat_0=0 +lon_0=114 +k=1 +x_0=500000 +y_0=0 +ellps=krass +towgs84=15.8,-154.4,-82.3,0,0,0,0 +units=m +no_defs",
        )
        .unwrap();
        assert!(tmerc_of_uncached(&bound).is_none() && tmerc_of_osr(&bound).is_none());
        assert!(tmerc_of_uncached(&Crs::from_epsg(3857).unwrap()).is_none());
        // A PROJ string (no `+type=crs`) on the datum of an EPSG zone still meets it in closed form.
        let lonlat = Crs::parse("+proj=longlat +datum=WGS84 +no_defs").unwrap();
        assert!(
            Transformer::new(&lonlat, &Crs::from_epsg(32650).unwrap())
                .unwrap()
                .uses_closed_form_tmerc()
        );
    }

    /// PROJ's own description of an EPSG CRS by code is OSR's, field for field, for the CRSs
    /// users meet (CGCS2000 and all its Gauss-Krüger zones, Xi'an 1980, Beijing 1954, WGS 84 2D
    /// and 3D, UTM north and south, Web Mercator, polar stereographic, national grids); the
    /// kinds it leaves to OSR (geocentric, vertical, compound, a deprecated code) are still
    /// described, by OSR.
    #[test]
    fn epsg_through_proj_is_what_osr_says() {
        let mut codes: Vec<u32> = vec![
            4490, 4326, 4979, 4480, 4610, 4214, 3857, 32650, 32750, 2383, 2436, 3031, 3413, 27700, 2154,
        ];
        codes.extend(4491..=4554);
        let mut described = 0;
        for &code in &codes {
            let osr = Crs::parse(&format!("EPSG:{code}")).unwrap();
            if let Some(by_proj) = Crs::from_epsg_by_proj(code) {
                assert_eq!(by_proj, osr, "EPSG:{code}");
                described += 1;
            }
        }
        assert_eq!(described, codes.len(), "every one of these is geographic or projected and current");
        for code in [4479, 5773, 5498, 3785] {
            assert!(Crs::from_epsg_by_proj(code).is_none(), "EPSG:{code} is left to OSR");
            assert_eq!(Crs::from_epsg(code).unwrap(), Crs::parse(&format!("EPSG:{code}")).unwrap());
        }
        assert!(Crs::from_epsg(999_999).is_err());
    }

    #[test]
    fn zone_choice() {
        assert_eq!(default_workspace_epsg(114.3, 30.59), 4547);
        assert_eq!(default_workspace_epsg(121.5005, 31.24), 4550);
        assert_eq!(default_workspace_epsg(116.39, 39.9), 4548);
        assert_eq!(default_workspace_epsg(9.55, 47.15), 32632);
        assert_eq!(default_workspace_epsg(-43.2, -22.9), 32723);
    }

    #[test]
    fn names_and_axes() {
        let c = Crs::parse("EPSG:4547").unwrap();
        assert_eq!(c.epsg, Some(4547));
        assert!(c.name.contains("CM 114E"), "{}", c.name);
        assert!(c.authority_north_first);
        assert_eq!(c.kind, CrsKind::Projected);
        let g = Crs::parse("4490").unwrap();
        assert_eq!(g.kind, CrsKind::Geographic);
        assert!(g.authority_north_first);
        assert!(!Crs::parse("EPSG:3857").unwrap().authority_north_first);
        assert!(Crs::parse("EPSG:999999").is_err());
        assert_eq!(Crs::parse("gcj-02").unwrap().kind, CrsKind::Gcj02);
    }

    #[test]
    fn closed_form_tmerc_equals_proj() {
        for (geo, proj) in [(4490, 4547), (4490, 4527), (4490, 4498), (4326, 32650), (4326, 32733)] {
            let g = Crs::from_epsg(geo).unwrap();
            let p = Crs::from_epsg(proj).unwrap();
            let fast = Transformer::new(&g, &p).unwrap();
            assert!(fast.uses_closed_form_tmerc(), "{geo}->{proj}");
            let slow = Transformer::new_proj_only(&g, &p).unwrap();
            let back_fast = Transformer::new(&p, &g).unwrap();
            assert!(back_fast.uses_closed_form_tmerc());
            let back_slow = Transformer::new_proj_only(&p, &g).unwrap();
            let cm = fast
                .steps
                .iter()
                .find_map(|s| {
                    if let Step::TmercForward(t) = s {
                        Some(t.params().lon0_deg)
                    } else {
                        None
                    }
                })
                .unwrap();
            let south = proj == 32733;
            for i in 0..200 {
                let lon = cm - 3.0 + 6.0 * f64::from(i % 20) / 19.0;
                let lat = if south {
                    -60.0 + 59.0 * f64::from(i / 20) / 9.0
                } else {
                    1.0 + 59.0 * f64::from(i / 20) / 9.0
                };
                let a = fast.transform(lon, lat).unwrap();
                let b = slow.transform(lon, lat).unwrap();
                assert!(
                    (a.0 - b.0).abs() < 1e-6 && (a.1 - b.1).abs() < 1e-6,
                    "{geo}->{proj} at {lon},{lat}: {a:?} vs {b:?}"
                );
                let ia = back_fast.transform(b.0, b.1).unwrap();
                let ib = back_slow.transform(b.0, b.1).unwrap();
                assert!(
                    (ia.0 - ib.0).abs() < 1e-11 && (ia.1 - ib.1).abs() < 1e-11,
                    "inverse at {lon},{lat}: {ia:?} vs {ib:?}"
                );
            }
        }
        // Different datums never take the shortcut.
        let t = Transformer::new(&Crs::from_epsg(4326).unwrap(), &Crs::from_epsg(4547).unwrap()).unwrap();
        assert!(!t.uses_closed_form_tmerc());
    }

    /// Many neighbouring points at once (a block of building corners, as a layer is
    /// reprojected), the closed form's incremental path against PROJ point by point.
    #[test]
    fn closed_form_inverse_of_many_equals_proj() {
        let (gk, geo) = (Crs::from_epsg(4547).unwrap(), Crs::from_epsg(4490).unwrap());
        let fast = Transformer::new(&gk, &geo).unwrap();
        assert!(fast.uses_closed_form_tmerc());
        let slow = Transformer::new_proj_only(&gk, &geo).unwrap();
        let mut pts: Vec<(f64, f64)> = (0..4000)
            .map(|i| {
                let (b, k) = (f64::from(i / 5), f64::from(i % 5));
                (461_000.0 + (b * 37.0) % 9_000.0 + 12.0 * k, 3_380_000.0 + b * 23.0 + 7.0 * k * k)
            })
            .collect();
        let mut want = pts.clone();
        fast.transform_in_place(&mut pts).unwrap();
        slow.transform_in_place(&mut want).unwrap();
        for (a, b) in pts.iter().zip(&want) {
            assert!((a.0 - b.0).abs() < 1e-11 && (a.1 - b.1).abs() < 1e-11, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn gk_east_north_order() {
        let t = Transformer::new(&Crs::from_epsg(4490).unwrap(), &Crs::from_epsg(4547).unwrap()).unwrap();
        let (e, n) = t.transform(114.0, 30.0).unwrap();
        assert!((e - 500_000.0).abs() < 1e-6, "{e}");
        assert!((3_300_000.0..3_400_000.0).contains(&n), "{n}");
    }
}
