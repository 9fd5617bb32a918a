//! The smoke test's hooks (built only with the `smoke` feature, which `scripts/test-all.sh`
//! turns on for the app's tests): the app started with `JINGWEI_SMOKE_FILE` drives itself
//! through the page, reports here, and exits.

use std::path::PathBuf;

/// How many interaction frames the page should time after the first one
/// (`JINGWEI_SMOKE_FRAMES`, default 5); `None` when this is not a smoke run.
#[tauri::command]
pub fn smoke_frames() -> Option<u32> {
    std::env::var_os("JINGWEI_SMOKE_FILE")?;
    Some(std::env::var("JINGWEI_SMOKE_FRAMES").ok().and_then(|v| v.parse().ok()).unwrap_or(5))
}

/// What the smoke run is for (`JINGWEI_SMOKE_SCENARIO`): `"bench"` times the frames and
/// identify only, for a city that is not the demo; anything else (or unset) drives every panel
/// of the demo city.
#[tauri::command]
pub fn smoke_scenario() -> Option<String> {
    std::env::var_os("JINGWEI_SMOKE_FILE")?;
    std::env::var("JINGWEI_SMOKE_SCENARIO").ok()
}

/// With `JINGWEI_SMOKE_CANVAS=WxH`: resize the window so that the map canvas, now
/// `css_width × css_height` CSS pixels, becomes W×H device pixels. Returns the size asked for.
#[tauri::command]
pub fn smoke_fit_canvas(window: tauri::WebviewWindow, css_width: f64, css_height: f64) -> Result<Option<[u32; 2]>, String> {
    if std::env::var_os("JINGWEI_SMOKE_FILE").is_none() {
        return Ok(None);
    }
    let Some((w, h)) = std::env::var("JINGWEI_SMOKE_CANVAS").ok().and_then(|v| {
        v.split_once('x')
            .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
    }) else {
        return Ok(None);
    };
    let scale = window.scale_factor().map_err(|e| e.to_string())?;
    let inner = window.inner_size().map_err(|e| e.to_string())?.to_logical::<f64>(scale);
    let size = tauri::LogicalSize::new(
        inner.width + f64::from(w) / scale - css_width,
        inner.height + f64::from(h) / scale - css_height,
    );
    window.set_size(size).map_err(|e| e.to_string())?;
    Ok(Some([w, h]))
}

/// A file to add through the layer tree (the GBK shapefile of the shared test data beside the
/// source tree), when it is there.
#[tauri::command]
pub fn smoke_add_file() -> Option<String> {
    std::env::var_os("JINGWEI_SMOKE_FILE")?;
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/encoding/lujiazui_pois_gbk.shp"
    ));
    p.exists().then(|| p.display().to_string())
}

/// Once the page has driven the demo city it reports here; the report is written to
/// `JINGWEI_SMOKE_FILE` and the app exits (after `JINGWEI_SMOKE_LINGER_MS`, for a screenshot).
#[tauri::command]
pub fn smoke_ready(app: tauri::AppHandle, mut report: serde_json::Value) -> Result<(), String> {
    let Some(path) = std::env::var_os("JINGWEI_SMOKE_FILE") else {
        return Ok(());
    };
    if let (Some(obj), Some(s)) = (report.as_object_mut(), crate::state::first_frame_s()) {
        obj.insert("first_frame_s".into(), serde_json::json!(s));
    }
    // The process's memory now and at its peak (MB), from the kernel's own account.
    if let (Some(obj), Ok(status)) = (report.as_object_mut(), std::fs::read_to_string("/proc/self/status")) {
        for (key, name) in [("VmRSS:", "rss_mb"), ("VmHWM:", "peak_rss_mb")] {
            let kb = status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
            if let Some(kb) = kb {
                obj.insert(name.into(), serde_json::json!((kb / 1024.0).round()));
            }
        }
    }
    std::fs::write(&path, report.to_string()).map_err(|e| e.to_string())?;
    let linger = std::env::var("JINGWEI_SMOKE_LINGER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0u64);
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(linger));
        app.exit(0);
    });
    Ok(())
}
