//! Imagery and map services: the imagery layers, adding a service, a file's bands, whether a
//! scene's tiles are still coming. Each calls the session (`jingwei_app`).

use jingwei_app::Result;
use jingwei_app::data::{ImageryDto, WorkspaceDto};
use jingwei_app::imagery::{LegendDto, ServiceSpec};
use tauri::State;

use crate::state::AppState;

type S<'a> = State<'a, AppState>;

/// The imagery layers with their health.
#[tauri::command]
pub fn imagery_list(state: S<'_>) -> Result<Vec<ImageryDto>> {
    state.session.imagery()
}

/// True while a scene's imagery tiles are still coming (the page draws again meanwhile).
#[tauri::command]
pub fn imagery_pending(state: S<'_>) -> bool {
    state.session.imagery_pending()
}

/// What an imagery layer's colours mean (a service's legend is asked off the main thread).
#[tauri::command]
pub async fn imagery_legend(state: S<'_>, id: String) -> Result<LegendDto> {
    state.session.imagery_legend(&id)
}

/// The layers a service offers: `[id, title]`.
#[tauri::command]
pub async fn service_layers(state: S<'_>, spec: ServiceSpec) -> Result<Vec<(String, String)>> {
    state.session.service_layers(&spec)
}

/// Add a service layer.
#[tauri::command]
pub async fn add_service(state: S<'_>, spec: ServiceSpec) -> Result<WorkspaceDto> {
    state.session.add_service(&spec)
}

/// Show other bands of an image file (`3,2,1`), stretched or not.
#[tauri::command]
pub async fn set_imagery_bands(state: S<'_>, id: String, bands: String, stretch: bool) -> Result<Vec<ImageryDto>> {
    state.session.set_imagery_bands(&id, &bands, stretch)
}

/// The visible imagery over a longitude/latitude box as PNG bytes (the 2D preview).
#[tauri::command]
pub async fn imagery_2d(
    state: S<'_>,
    west: f64,
    south: f64,
    east: f64,
    north: f64,
    width: u32,
    height: u32,
) -> Result<tauri::ipc::Response> {
    let png = state.session.imagery_2d([west, south, east, north], width, height)?;
    Ok(tauri::ipc::Response::new(png))
}
