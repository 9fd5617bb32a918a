//! The libraries are absent from the program until their first call, and every kind of call
//! (strings, doubles in XMM registers, a structure returned through memory, C varargs) reaches
//! the real function through the trampolines.

use std::ffi::{CStr, CString};

fn mapped(lib: &str) -> bool {
    std::fs::read_to_string("/proc/self/maps").unwrap().lines().any(|l| l.contains(lib))
}

fn needed() -> String {
    let exe = std::env::current_exe().unwrap();
    let o = std::process::Command::new("readelf").arg("-d").arg(&exe).output().unwrap();
    assert!(o.status.success(), "readelf -d {}", exe.display());
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn loaded_at_first_call_and_called_right() {
    if !jingwei_lazylink::LAZY {
        // Linked as usual (another platform, or JINGWEI_EAGER_LINK): the calls below still
        // must work; only the laziness is not there to check.
        assert!(!cfg!(all(target_os = "linux", target_arch = "x86_64")) || std::env::var_os("JINGWEI_EAGER_LINK").is_some());
    } else {
        let n = needed();
        assert!(!n.contains("libgdal") && !n.contains("libproj"), "still linked eagerly:\n{n}");
        assert!(!mapped("libgdal.so") && !mapped("libproj.so"), "loaded before any call");
    }
    // PROJ: a structure of four doubles built from four XMM arguments and returned in memory.
    let c = unsafe { proj_sys::proj_coord(1.5, -2.25, 1e300, f64::MIN_POSITIVE) };
    assert_eq!(unsafe { c.v }, [1.5, -2.25, 1e300, f64::MIN_POSITIVE]);
    let deg = unsafe { proj_sys::proj_torad(180.0) };
    assert_eq!(deg, std::f64::consts::PI);
    if jingwei_lazylink::LAZY {
        assert!(mapped("libproj.so"), "PROJ answered without being loaded?");
    }
    // GDAL: strings in and out.
    let key = CString::new("RELEASE_NAME").unwrap();
    let version = unsafe { CStr::from_ptr(gdal_sys::GDALVersionInfo(key.as_ptr())) };
    assert!(version.to_str().unwrap().starts_with('3'), "{version:?}");
    // C varargs (the number of vector registers in AL is kept across the first call): CPLError
    // formats its message, which CPLGetLastErrorMsg gives back.
    unsafe {
        gdal_sys::CPLPushErrorHandler(Some(gdal_sys::CPLQuietErrorHandler));
        let fmt = CString::new("%s %d %.3f %.1e").unwrap();
        let s = CString::new("trampoline").unwrap();
        gdal_sys::CPLErrorReset();
        gdal_sys::CPLError(gdal_sys::CPLErr::CE_Failure, 1, fmt.as_ptr(), s.as_ptr(), 42i32, 2.5f64, 6.02e23f64);
        let msg = CStr::from_ptr(gdal_sys::CPLGetLastErrorMsg()).to_str().unwrap().to_owned();
        gdal_sys::CPLPopErrorHandler();
        assert_eq!(msg, "trampoline 42 2.500 6.0e+23");
    }
    // Many threads making their first calls of another function at once.
    let sums: Vec<f64> = std::thread::scope(|s| {
        let h: Vec<_> = (0..8).map(|i| s.spawn(move || unsafe { proj_sys::proj_todeg(i as f64) })).collect();
        h.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, d) in sums.iter().enumerate() {
        assert_eq!(*d, (i as f64).to_degrees());
    }
}
