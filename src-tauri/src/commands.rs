//! The commands the page may call. Each is a thin wrapper: load through `jingwei_layers`,
//! convert to a DTO at this boundary, return readable errors as strings.

use jingwei_layers::catalog::Group;
use jingwei_layers::{RepairMode, Workspace};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Mutex;

/// The open workspace.
#[derive(Default)]
pub struct AppState {
    workspace: Mutex<Option<Workspace>>,
}

/// A layer as the layer tree shows it.
#[derive(Serialize)]
pub struct LayerDto {
    id: String,
    title: String,
    group: Group,
    features: usize,
    geometry_type: String,
    visible: bool,
    synthetic: bool,
    invalid: usize,
}

/// The workspace as the page shows it.
#[derive(Serialize)]
pub struct WorkspaceDto {
    crs: String,
    crs_name: String,
    origin_xy: [f64; 2],
    layers: Vec<LayerDto>,
    attribution: Vec<String>,
}

/// Where the demo city's catalog is: `JINGWEI_DEMO`, next to the executable, or the source tree.
fn demo_catalog() -> PathBuf {
    if let Some(p) = std::env::var_os("JINGWEI_DEMO") {
        return PathBuf::from(p);
    }
    let beside = std::env::current_exe().ok().and_then(|e| e.parent().map(|d| d.join("assets/demo/catalog.json")));
    match beside {
        Some(p) if p.exists() => p,
        _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/demo/catalog.json")),
    }
}

/// Open the demo city (once) and describe it.
#[tauri::command]
pub async fn open_demo(state: tauri::State<'_, AppState>) -> Result<WorkspaceDto, String> {
    let mut guard = state.workspace.lock().map_err(|e| e.to_string())?;
    if guard.is_none() {
        let ws = Workspace::open_catalog(&demo_catalog(), None, RepairMode::Repair).map_err(|e| e.to_string())?;
        *guard = Some(ws);
    }
    let ws = guard.as_ref().expect("just opened");
    Ok(WorkspaceDto {
        crs: ws.crs.label(),
        crs_name: ws.crs.name.clone(),
        origin_xy: ws.origin_xy,
        attribution: ws.attribution.clone(),
        layers: ws
            .layers
            .iter()
            .map(|l| LayerDto {
                id: l.id.clone(),
                title: l.title.clone(),
                group: l.group,
                features: l.layer.len(),
                geometry_type: l.layer.geometry_type.clone(),
                visible: l.visible,
                synthetic: l.synthetic,
                invalid: l.layer.validity_summary().invalid_features,
            })
            .collect(),
    })
}

/// A layer of the open workspace as GeoJSON in CGCS2000 lon/lat.
#[tauri::command]
pub async fn layer_geojson(state: tauri::State<'_, AppState>, id: String) -> Result<String, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let wl = ws.layer(&id).ok_or_else(|| format!("no layer '{id}'"))?;
    let to = ws.to_lonlat().map_err(|e| e.to_string())?;
    let rows: Vec<usize> = (0..wl.layer.len()).collect();
    let fc = jingwei_layers::geojson::feature_collection(&wl.layer, &rows, Some(&to), &|_| Vec::new()).map_err(|e| e.to_string())?;
    Ok(fc.to_string())
}

/// Smoke tests start the app with `JINGWEI_SMOKE_FILE`: once the page has drawn the demo city
/// it reports here, the report is written there and the app exits.
#[tauri::command]
pub fn smoke_ready(app: tauri::AppHandle, report: serde_json::Value) -> Result<(), String> {
    if let Some(path) = std::env::var_os("JINGWEI_SMOKE_FILE") {
        std::fs::write(&path, report.to_string()).map_err(|e| e.to_string())?;
        app.exit(0);
    }
    Ok(())
}
