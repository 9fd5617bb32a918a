//! The few GDAL calls the safe `gdal` crate does not wrap, and one of the C library. Each unsafe
//! block is small and documents why it is sound.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};

use gdal::vector::{Geometry, LayerAccess};

/// Read a whole file through GDAL's virtual file system (works inside `/vsizip/`).
pub fn read_vsi_file(path: &str) -> Option<Vec<u8>> {
    let c_path = CString::new(path).ok()?;
    let mode = CString::new("rb").expect("static");
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call; the
    // handle is checked for NULL and closed exactly once below.
    unsafe {
        let fp = gdal_sys::VSIFOpenL(c_path.as_ptr(), mode.as_ptr());
        if fp.is_null() {
            return None;
        }
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = gdal_sys::VSIFReadL(buf.as_mut_ptr().cast(), 1, buf.len(), fp);
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        gdal_sys::VSIFCloseL(fp);
        Some(out)
    }
}

/// True when field `idx` of the layer is an integer with the Boolean subtype.
pub fn field_is_boolean<L: LayerAccess>(layer: &L, idx: usize) -> bool {
    // SAFETY: the layer handle is valid while `layer` is borrowed; the definition and field
    // pointers are owned by the layer and only read.
    unsafe {
        let defn = gdal_sys::OGR_L_GetLayerDefn(layer.c_layer());
        if defn.is_null() {
            return false;
        }
        let fd = gdal_sys::OGR_FD_GetFieldDefn(defn, idx as i32);
        !fd.is_null() && gdal_sys::OGR_Fld_GetSubType(fd) == gdal_sys::OGRFieldSubType::OFSTBoolean
    }
}

/// ISO WKB of a geometry, with curves (arcs, curve polygons) approximated by line segments.
pub fn linear_iso_wkb(geom: &Geometry) -> Option<Vec<u8>> {
    // SAFETY: `c_geometry` stays owned by `geom`; OGR_G_GetLinearGeometry returns a new
    // geometry that we own and destroy after exporting it.
    unsafe {
        let c = geom.c_geometry();
        if c.is_null() {
            return None;
        }
        if gdal_sys::OGR_G_HasCurveGeometry(c, 1) == 0 {
            return geom.iso_wkb().ok();
        }
        let lin = gdal_sys::OGR_G_GetLinearGeometry(c, 0.0, std::ptr::null_mut());
        if lin.is_null() {
            return None;
        }
        let size = gdal_sys::OGR_G_WkbSize(lin);
        let mut out = vec![0u8; size.max(0) as usize];
        let err = gdal_sys::OGR_G_ExportToIsoWkb(lin, gdal_sys::OGRwkbByteOrder::wkbNDR, out.as_mut_ptr());
        gdal_sys::OGR_G_DestroyGeometry(lin);
        (err == gdal_sys::OGRErr::OGRERR_NONE).then_some(out)
    }
}

/// Clear GDAL's last error of this thread.
pub fn reset_error() {
    // SAFETY: no arguments; thread-local state in GDAL.
    unsafe { gdal_sys::CPLErrorReset() }
}

/// GDAL's last failure on this thread, if any.
pub fn last_failure() -> Option<String> {
    // SAFETY: CPLGetLastErrorMsg returns a pointer to thread-local storage valid until the next
    // GDAL call on this thread; we copy it at once.
    unsafe {
        let t = gdal_sys::CPLGetLastErrorType();
        if t < gdal_sys::CPLErr::CE_Failure {
            return None;
        }
        let msg = gdal_sys::CPLGetLastErrorMsg();
        Some(if msg.is_null() {
            "unknown GDAL error".into()
        } else {
            CStr::from_ptr(msg).to_string_lossy().into_owned()
        })
    }
}

/// Route GDAL's own messages away from stderr: errors reach the user once, as typed errors.
pub fn quiet_gdal() {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        gdal::config::set_error_handler(|_, _, _| {});
    });
}

/// True when a feature's geometry handle is NULL (a feature without geometry).
pub fn geometry_is_null(geom: &Geometry) -> bool {
    // SAFETY: only the pointer value is inspected.
    unsafe { geom.c_geometry().is_null() }
}

/// True when field `idx` of the feature holds a value (OGR distinguishes "unset" from NULL;
/// both are missing values to Jingwei).
pub fn field_has_value(feature: &gdal::vector::Feature<'_>, idx: usize) -> bool {
    // SAFETY: the feature handle is valid while borrowed; idx is checked by OGR.
    unsafe { gdal_sys::OGR_F_IsFieldSetAndNotNull(feature.c_feature(), idx as i32) != 0 }
}

/// `GDALBuildOverviews` with a progress callback (the `gdal` crate passes none). `progress`
/// gets the fraction done and returns false to cancel.
pub fn build_overviews(ds: &gdal::Dataset, resampling: &str, factors: &[i32], progress: &mut dyn FnMut(f64) -> bool) -> Result<(), String> {
    unsafe extern "C" fn trampoline(done: f64, _msg: *const std::ffi::c_char, arg: *mut std::ffi::c_void) -> i32 {
        // SAFETY: `arg` is the `&mut &mut dyn FnMut` passed below, alive for the whole call.
        let f = unsafe { &mut *(arg as *mut &mut dyn FnMut(f64) -> bool) };
        i32::from(f(done))
    }
    let c_resampling = CString::new(resampling).map_err(|e| e.to_string())?;
    let mut factors = factors.to_vec();
    let mut cb: &mut dyn FnMut(f64) -> bool = progress;
    // SAFETY: the dataset handle is valid while `ds` is borrowed; the strings and the factor
    // list outlive the call; the callback's argument points at `cb`, which outlives it too.
    let rv = unsafe {
        gdal_sys::GDALBuildOverviews(
            ds.c_dataset(),
            c_resampling.as_ptr(),
            factors.len() as i32,
            factors.as_mut_ptr(),
            0,
            std::ptr::null_mut(),
            Some(trampoline),
            (&mut cb as *mut &mut dyn FnMut(f64) -> bool).cast(),
        )
    };
    if rv == gdal_sys::CPLErr::CE_None {
        Ok(())
    } else {
        // SAFETY: CPLGetLastErrorMsg returns a valid NUL-terminated string owned by GDAL.
        let msg = unsafe { CStr::from_ptr(gdal_sys::CPLGetLastErrorMsg()) };
        Err(msg.to_string_lossy().into_owned())
    }
}

/// A band's category names (`GDALGetRasterCategoryNames`): the class of each value, by value.
pub fn category_names(band: &gdal::raster::RasterBand<'_>) -> Vec<String> {
    let mut out = Vec::new();
    // SAFETY: the band handle is valid while `band` lives; GDAL returns a NULL-terminated list
    // of strings it owns (or NULL), which are only read here.
    unsafe {
        let list = gdal_sys::GDALGetRasterCategoryNames(band.c_rasterband());
        if list.is_null() {
            return out;
        }
        let mut i = 0;
        loop {
            let p = *list.add(i);
            if p.is_null() {
                break;
            }
            out.push(CStr::from_ptr(p).to_string_lossy().into_owned());
            i += 1;
        }
    }
    out
}

thread_local! {
    /// PROJ's messages on this thread since they were last taken (at most a few).
    static PROJ_MESSAGES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// PROJ's logger: messages are kept for the error they explain instead of going to stderr.
unsafe extern "C" fn proj_logger(_app: *mut std::ffi::c_void, _level: std::ffi::c_int, msg: *const std::ffi::c_char) {
    if msg.is_null() {
        return;
    }
    // SAFETY: PROJ hands a valid NUL-terminated string that lives for the duration of the call.
    let text = unsafe { CStr::from_ptr(msg) }.to_string_lossy().trim().to_owned();
    // A message logged while the list is borrowed (never, as nothing calls PROJ while taking
    // it) or beyond the first eight is dropped: one failure can log once per point.
    let _ = PROJ_MESSAGES.try_with(|m| {
        if let Ok(mut m) = m.try_borrow_mut()
            && m.len() < 8
            && !m.contains(&text)
        {
            m.push(text);
        }
    });
}

/// Route PROJ's log into [`take_proj_messages`] instead of stderr. PROJ contexts copy the
/// default context's logger when created, so this runs before the first one is.
pub fn quiet_proj() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a NULL context names PROJ's default context; the callback is a plain
        // function valid for the life of the program and ignores its (NULL) user data.
        unsafe { proj_sys::proj_log_func(std::ptr::null_mut(), std::ptr::null_mut(), Some(proj_logger)) };
    });
}

/// A PROJ object, destroyed when dropped; made in a context of one call's own, which outlives it.
struct Owned(*mut proj_sys::PJ);

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: a PJ (or NULL) made in the call's context, which is destroyed after it.
        if !self.0.is_null() {
            unsafe { proj_sys::proj_destroy(self.0) };
        }
    }
}

/// Whether a PROJ CRS is projected (`Some(true)`) or geographic 2D/3D (`Some(false)`).
///
/// # Safety
/// `pj` is a valid PROJ object.
unsafe fn projected_or_geographic(pj: *const proj_sys::PJ) -> Option<bool> {
    // SAFETY: the caller's.
    match unsafe { proj_sys::proj_get_type(pj) } {
        proj_sys::PJ_TYPE_PJ_TYPE_GEOGRAPHIC_2D_CRS | proj_sys::PJ_TYPE_PJ_TYPE_GEOGRAPHIC_3D_CRS => Some(false),
        proj_sys::PJ_TYPE_PJ_TYPE_PROJECTED_CRS => Some(true),
        _ => None,
    }
}

/// A geographic or projected CRS as PROJ's database describes it (see [`proj_epsg_crs`]).
pub struct ProjCrs {
    pub name: String,
    /// Projected (else geographic, 2D or 3D).
    pub projected: bool,
    /// The authority's first axis points north or south.
    pub north_first: bool,
}

/// The current (not deprecated) geographic or projected CRS EPSG:`code` in PROJ's database;
/// `None` for an unknown code, a deprecated one or any other kind of CRS.
pub fn proj_epsg_crs(code: u32) -> Option<ProjCrs> {
    quiet_proj();
    let digits = CString::new(code.to_string()).ok()?;
    // SAFETY: a context of this call's own (PROJ's default one is not for concurrent use),
    // destroyed at the end, after every object made in it (Owned, dropped in the closure); the strings PROJ returns are copied
    // before their object is destroyed; the NULL out-pointers are ones PROJ skips.
    unsafe {
        let ctx = proj_sys::proj_context_create();
        if ctx.is_null() {
            return None;
        }
        let described = (|| {
            let crs = Owned(proj_sys::proj_create_from_database(
                ctx,
                c"EPSG".as_ptr(),
                digits.as_ptr(),
                proj_sys::PJ_CATEGORY_PJ_CATEGORY_CRS,
                0,
                std::ptr::null(),
            ));
            if crs.0.is_null() || proj_sys::proj_is_deprecated(crs.0) != 0 {
                return None;
            }
            let projected = projected_or_geographic(crs.0)?;
            let name = proj_sys::proj_get_name(crs.0);
            if name.is_null() {
                return None;
            }
            let name = CStr::from_ptr(name).to_string_lossy().into_owned();
            let cs = Owned(proj_sys::proj_crs_get_coordinate_system(ctx, crs.0));
            if cs.0.is_null() {
                return None;
            }
            let mut direction: *const std::ffi::c_char = std::ptr::null();
            let ok = proj_sys::proj_cs_get_axis_info(
                ctx,
                cs.0,
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut direction,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            ) != 0
                && !direction.is_null();
            let first = ok.then(|| CStr::from_ptr(direction).to_string_lossy().to_ascii_lowercase());
            Some(ProjCrs {
                name,
                projected,
                north_first: matches!(first?.as_str(), "north" | "south"),
            })
        })();
        proj_sys::proj_context_destroy(ctx);
        described
    }
}

/// The geodetic basis of a CRS as PROJ describes it (see [`proj_crs_shape`]).
pub struct ProjGeodetic {
    /// The datum's name (a datum ensemble's, for one that is).
    pub datum: String,
    pub semi_major_m: f64,
    pub inv_flattening: f64,
}

/// What a CRS is, where it can be computed in closed form (see [`proj_crs_shape`]).
pub enum ProjShape {
    /// Longitude and latitude in degrees, two axes.
    LonLatDegrees,
    /// Transverse Mercator in metres: latitude of origin and central meridian in degrees,
    /// scale factor, false easting and northing in metres.
    TmercMetres {
        lat0_deg: f64,
        lon0_deg: f64,
        k0: f64,
        x0_m: f64,
        y0_m: f64,
    },
    /// Any other geographic or projected CRS.
    Other,
}

/// Shape and geodetic basis of the geographic or projected CRS `definition` (anything
/// `proj_create` takes) on the Greenwich meridian, through PROJ alone; `None` where PROJ does
/// not parse it, it is of another kind (a CRS bound to WGS 84 by a TOWGS84 shift among
/// them) or its prime meridian is not Greenwich.
pub fn proj_crs_shape(definition: &str) -> Option<(ProjShape, ProjGeodetic)> {
    quiet_proj();
    // A PROJ string without `+type=crs` is an operation to PROJ, not a CRS: ask for the CRS.
    let trimmed = definition.trim_start();
    let definition = if (trimmed.starts_with("+proj=") || trimmed.starts_with("proj=")) && !trimmed.contains("type=crs") {
        CString::new(format!("{trimmed} +type=crs")).ok()?
    } else {
        CString::new(definition).ok()?
    };
    // SAFETY: as in proj_epsg_crs: a context of this call's own, every object made in it
    // destroyed (Owned) before the context; strings copied before their object goes.
    unsafe {
        let ctx = proj_sys::proj_context_create();
        if ctx.is_null() {
            return None;
        }
        let shape = (|| {
            let crs = Owned(proj_sys::proj_create(ctx, definition.as_ptr()));
            if crs.0.is_null() {
                return None;
            }
            let projected = projected_or_geographic(crs.0)?;
            let base = Owned(if projected {
                proj_sys::proj_crs_get_geodetic_crs(ctx, crs.0)
            } else {
                proj_sys::proj_clone(ctx, crs.0)
            });
            let datum = Owned(proj_sys::proj_crs_get_datum_forced(ctx, base.0));
            let ellipsoid = Owned(proj_sys::proj_get_ellipsoid(ctx, base.0));
            let meridian = Owned(proj_sys::proj_get_prime_meridian(ctx, base.0));
            if datum.0.is_null() || ellipsoid.0.is_null() || meridian.0.is_null() {
                return None;
            }
            let name = proj_sys::proj_get_name(datum.0);
            if name.is_null() {
                return None;
            }
            let (mut a, mut b, mut computed, mut inv_f) = (0.0, 0.0, 0, 0.0);
            let (mut lon, mut factor) = (f64::NAN, 0.0);
            if proj_sys::proj_ellipsoid_get_parameters(ctx, ellipsoid.0, &mut a, &mut b, &mut computed, &mut inv_f) == 0
                || proj_sys::proj_prime_meridian_get_parameters(ctx, meridian.0, &mut lon, &mut factor, std::ptr::null_mut()) == 0
                || lon != 0.0
            {
                return None;
            }
            let geodetic = ProjGeodetic {
                datum: CStr::from_ptr(name).to_string_lossy().into_owned(),
                semi_major_m: a,
                inv_flattening: inv_f,
            };
            let cs = Owned(proj_sys::proj_crs_get_coordinate_system(ctx, crs.0));
            if cs.0.is_null() {
                return None;
            }
            let axes = proj_sys::proj_cs_get_axis_count(ctx, cs.0);
            let mut unit = 0.0;
            let null = std::ptr::null_mut();
            if proj_sys::proj_cs_get_axis_info(ctx, cs.0, 0, null, null, null, &mut unit, null, null, null) == 0 {
                return None;
            }
            if !projected {
                let degrees = axes == 2 && (unit - 1f64.to_radians()).abs() <= 1e-15;
                return Some((if degrees { ProjShape::LonLatDegrees } else { ProjShape::Other }, geodetic));
            }
            let op = Owned(proj_sys::proj_crs_get_coordoperation(ctx, crs.0));
            if op.0.is_null() {
                return None;
            }
            let text = |p: *const std::ffi::c_char| (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned());
            let (mut auth, mut code) = (std::ptr::null(), std::ptr::null());
            if proj_sys::proj_coordoperation_get_method_info(ctx, op.0, null, &mut auth, &mut code) == 0 {
                return None;
            }
            if text(auth).as_deref() != Some("EPSG") || text(code).as_deref() != Some("9807") || unit != 1.0 {
                return Some((ProjShape::Other, geodetic));
            }
            // The parameters by their EPSG codes, in degrees (angles) or metres and unity.
            let mut by_code = std::collections::HashMap::new();
            for i in 0..proj_sys::proj_coordoperation_get_param_count(ctx, op.0) {
                let (mut pauth, mut pcode, mut value, mut conv) = (std::ptr::null(), std::ptr::null(), f64::NAN, 0.0);
                let mut category = std::ptr::null();
                if proj_sys::proj_coordoperation_get_param(
                    ctx,
                    op.0,
                    i,
                    null,
                    &mut pauth,
                    &mut pcode,
                    &mut value,
                    null,
                    &mut conv,
                    null,
                    null,
                    null,
                    &mut category,
                ) == 0
                {
                    return None;
                }
                if text(pauth).as_deref() == Some("EPSG")
                    && let Some(c) = text(pcode)
                {
                    // Degrees as given (the database's degree factor is not exactly π/180).
                    let degree = (conv - 1f64.to_radians()).abs() <= 1e-15;
                    let v = match text(category).as_deref() {
                        Some("angular") if degree => value,
                        Some("angular") => (value * conv).to_degrees(),
                        _ => value * conv,
                    };
                    by_code.insert(c, v);
                }
            }
            let p = |c: &str| by_code.get(c).copied();
            Some((
                ProjShape::TmercMetres {
                    lat0_deg: p("8801").unwrap_or(0.0),
                    lon0_deg: p("8802")?,
                    k0: p("8805")?,
                    x0_m: p("8806").unwrap_or(0.0),
                    y0_m: p("8807").unwrap_or(0.0),
                },
                geodetic,
            ))
        })();
        proj_sys::proj_context_destroy(ctx);
        shape
    }
}

/// PROJ's messages on this thread since the last call (duplicates dropped).
pub fn take_proj_messages() -> Vec<String> {
    PROJ_MESSAGES.with(|m| std::mem::take(&mut *m.borrow_mut()))
}

/// Versions of the C libraries this build runs on (read at run time: a package links whatever
/// the distribution ships).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LibraryVersions {
    /// GDAL's release name, e.g. "3.6.2".
    pub gdal: String,
    /// PROJ's release, e.g. "9.1.1".
    pub proj: String,
    /// The GEOS that GDAL was built with, when it was.
    pub geos: Option<String>,
    /// SQLite (GeoPackage stores).
    pub sqlite: String,
}

/// The versions of GDAL, PROJ, GEOS (through GDAL) and SQLite in this process.
pub fn library_versions() -> LibraryVersions {
    // SAFETY: proj_info returns a struct by value whose `version` points to a static string of
    // PROJ, copied at once; OGRGetGEOSVersion writes three ints through valid pointers.
    let (proj, geos) = unsafe {
        let info = proj_sys::proj_info();
        let proj = if info.version.is_null() {
            format!("{}.{}.{}", info.major, info.minor, info.patch)
        } else {
            CStr::from_ptr(info.version).to_string_lossy().into_owned()
        };
        let (mut a, mut b, mut c) = (0, 0, 0);
        let geos = gdal_sys::OGRGetGEOSVersion(&mut a, &mut b, &mut c).then(|| format!("{a}.{b}.{c}"));
        (proj, geos)
    };
    LibraryVersions {
        gdal: gdal::version::version_info("RELEASE_NAME"),
        proj,
        geos,
        sqlite: rusqlite::version().to_owned(),
    }
}

/// One C-allocator arena per core instead of glibc's eight: call first thing in `main`, before
/// any thread starts. The renderer's and the tile decoders' many threads otherwise each take an
/// arena of their own, and the memory a removed tileset's tiles leave free in each stays
/// resident, fragmented, even after [`give_back_freed_memory`] (measured on the oblique model:
/// 12.2 % above the memory before it was opened against 10.7 % with one arena per core; the
/// frame times did not change). A no-op where the C library is not glibc.
pub fn one_allocator_arena_per_core() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        /// glibc's `M_ARENA_MAX`.
        const M_ARENA_MAX: std::ffi::c_int = -8;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 64);
        // SAFETY: mallopt takes no pointers; it only changes how many arenas glibc may create
        // from now on.
        unsafe {
            mallopt(M_ARENA_MAX, cores as std::ffi::c_int);
        }
    }
}

/// Give the memory the C allocator holds free back to the system (glibc's `malloc_trim`; a no-op
/// elsewhere). Worth it after much was freed at once — a tileset removed: the freed pages of the
/// threads that decoded its tiles otherwise stay resident until they are reused.
pub fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim takes no pointers; it only releases free memory of glibc's heaps
        // and arenas.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// A value with PROJ objects inside (a transformer) kept in a pool that threads share, used
/// only by the thread it is kept for: its user takes the entry of its own thread's id out of
/// the pool, uses it and puts it back under that id (`osgb::Oblique::with_ecef`). Any other
/// thread may only drop it.
pub(crate) struct ThreadsOwn<T>(pub(crate) T);

// SAFETY: PROJ's objects and contexts must not be used by two threads at once; moving one to
// another thread that then only destroys it, with no use under way, is allowed. The pool's
// contract above keeps to that: a `ThreadsOwn` is used by the one thread it was made by, and
// another thread only ever drops it — when the model owning the pool is dropped (no thread can
// be using it then) or when the pool is full and its oldest entry, out of use while it is in
// the pool, goes.
unsafe impl<T> Send for ThreadsOwn<T> {}
