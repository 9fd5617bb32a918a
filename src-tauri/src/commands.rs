//! The map's commands: open and add data, the layer tree, the 3D view, identify, search, the
//! attribute table, measuring, saving. Each converts the page's arguments, calls the session
//! (`jingwei_app`) and returns its typed result; errors reach the page as `{kind, message}`.

use jingwei_app::data::WorkspaceDto;
use jingwei_app::files::FolderDto;
use jingwei_app::session::{Canvas, CursorDto, HeightDto, Identified, OpenedDto, Pixel, SearchHit};
use jingwei_app::{Error, Result};
use jingwei_layers::table::{Page, TableQuery};
use jingwei_scene::view::View;
use std::path::PathBuf;
use tauri::State;

use crate::state::AppState;

type S<'a> = State<'a, AppState>;

/// A pixel of the canvas as the page sends it.
pub(crate) fn pixel(x: f32, y: f32, width: u32, height: u32, view: View) -> Pixel {
    Pixel { x, y, width, height, view }
}

/// Start a long job of `kind` ("load", "rules"): its progress goes to the page as
/// `job-progress` events `[kind, done, total]`; `cancel_job` stops it.
pub(crate) fn start_job(app: &tauri::AppHandle, state: &AppState, kind: &'static str) -> Result<jingwei_layers::Job> {
    use tauri::Emitter;
    let a = app.clone();
    state.session.start_job(Some(std::sync::Arc::new(move |done, total| {
        let _ = a.emit("job-progress", (kind, done, total));
    })))
}

/// Open the demo city (once) and describe it.
#[tauri::command]
pub async fn open_demo(state: S<'_>) -> Result<WorkspaceDto> {
    state.session.open_demo()
}

/// A layer of the open workspace as GeoJSON in CGCS2000 lon/lat.
#[tauri::command]
pub async fn layer_geojson(state: S<'_>, id: String) -> Result<String> {
    state.session.layer_geojson(&id)
}

/// The About box: version, commit, GDAL/PROJ versions, data licences.
#[tauri::command]
pub async fn about(state: S<'_>) -> Result<jingwei_app::about::AboutDto> {
    state.session.about()
}

/// The view that frames the whole workspace obliquely in a `width × height` canvas.
#[tauri::command]
pub async fn initial_view(state: S<'_>, width: u32, height: u32) -> Result<View> {
    state.session.initial_view(width, height)
}

/// Render the 3D view: a 24-byte header (width u32, height u32, render+readback ms f32,
/// readback ms f32, what is still coming u32 — bit 0 3D tiles, bit 1 imagery —, the command's
/// ms with the frame's encoding f32), then the frame as a PNG, as binary (no JSON on the way).
#[tauri::command]
pub async fn render_view(state: S<'_>, width: u32, height: u32, view: View, motion: Option<bool>) -> Result<tauri::ipc::Response> {
    let started = std::time::Instant::now();
    // Imagery sharper where the view looks closer than the scene's drape shows (tiles come
    // meanwhile; the page draws again while they do). Not for the smaller frames of a moving
    // view (`motion`): their coarser pixels would ask for a coarser drape, and the full frame at
    // rest for the finer one again — a new scene each time.
    let motion = motion == Some(true);
    if !motion {
        state.session.refine_imagery(&view, width, height)?;
    }
    let twin = state.session.twin_sources();
    let (frame, ms, timing, pending) = state.renderer.render(width, height, view, twin, motion).map_err(Error::Render)?;
    // Sharper imagery on its way (a detail drape just asked for, or the scene's): the page
    // draws again while it comes.
    let imagery = state.session.imagery_pending();
    crate::state::frame_shown();
    // A PNG rather than the raw rows: the frame's way to the page costs about 10 ms a megabyte,
    // and this one is quick for the page's engine to open (`frame_png`: ≈ 4 ms at 1280×720
    // where an adaptively filtered PNG took 9–11).
    let png = jingwei_scene::frame_png::encode(&frame);
    let mut out = Vec::with_capacity(24 + png.len());
    out.extend(frame.width.to_le_bytes());
    out.extend(frame.height.to_le_bytes());
    out.extend((ms as f32).to_le_bytes());
    out.extend((timing.readback_ms as f32).to_le_bytes());
    out.extend((u32::from(pending) | u32::from(imagery) << 1).to_le_bytes());
    out.extend(((started.elapsed().as_secs_f64() * 1e3) as f32).to_le_bytes());
    out.extend(png);
    Ok(tauri::ipc::Response::new(out))
}

/// Show or hide a layer.
#[tauri::command]
pub async fn set_layer_visible(state: S<'_>, id: String, visible: bool) -> Result<()> {
    state.session.set_layer_visible(&id, visible)
}

/// The features under a pixel of the 3D view.
#[tauri::command]
pub async fn identify(state: S<'_>, x: f32, y: f32, width: u32, height: u32, view: View) -> Result<Vec<Identified>> {
    state.session.identify(&pixel(x, y, width, height, view))
}

/// Features whose text attributes contain `query`.
#[tauri::command]
pub async fn search_features(state: S<'_>, query: String, limit: Option<usize>) -> Result<Vec<SearchHit>> {
    state.session.search(&query, limit)
}

/// Fly to a feature and highlight it; returns the view.
#[tauri::command]
pub async fn fly_to_feature(state: S<'_>, layer_id: String, fid: i64, width: u32, height: u32, current: Option<View>) -> Result<View> {
    state.session.fly_to_feature(&layer_id, fid, Canvas { width, height, current })
}

/// The ground position under a pixel of the 3D view.
#[tauri::command]
pub async fn cursor_position(state: S<'_>, x: f32, y: f32, width: u32, height: u32, view: View) -> Result<Option<CursorDto>> {
    state.session.cursor_position(&pixel(x, y, width, height, view))
}

/// One page of a layer's attribute table.
#[tauri::command]
pub async fn attribute_page(
    state: S<'_>,
    layer_id: String,
    offset: usize,
    limit: usize,
    sort: Option<String>,
    desc: bool,
    filter: Option<String>,
) -> Result<Page> {
    state
        .session
        .attribute_page(&layer_id, TableQuery { sort, desc, filter }, offset, limit)
}

/// Highlight selected features; with `zoom`, return a view that frames them.
#[tauri::command]
pub async fn select_features(
    state: S<'_>,
    layer_id: String,
    fids: Vec<i64>,
    zoom: bool,
    width: u32,
    height: u32,
    current: Option<View>,
) -> Result<Option<View>> {
    let canvas = zoom.then_some(Canvas { width, height, current });
    state.session.select_features(&layer_id, &fids, canvas)
}

/// Measure the height of the building under a pixel.
#[tauri::command]
pub async fn measure_height(state: S<'_>, x: f32, y: f32, width: u32, height: u32, view: View) -> Result<Option<HeightDto>> {
    state.session.measure_height(&pixel(x, y, width, height, view))
}

/// The point under a pixel on the first thing drawn there (tile, model, building, ground).
#[tauri::command]
pub async fn surface_point(
    state: S<'_>,
    x: f32,
    y: f32,
    width: u32,
    height: u32,
    view: View,
) -> Result<Option<jingwei_app::twin::SurfacePointDto>> {
    state.session.surface_point(&pixel(x, y, width, height, view))
}

/// Save a PNG the page composed; returns its path.
#[tauri::command]
pub async fn save_png(bytes: Vec<u8>) -> Result<String> {
    Ok(jingwei_app::files::save_png(&bytes)?.display().to_string())
}

/// Recently saved or opened workspace files, newest first.
#[tauri::command]
pub fn recent_workspaces() -> Vec<String> {
    jingwei_app::files::recent_workspaces()
}

/// Save the workspace into its file (or `path`, which becomes its file).
#[tauri::command]
pub async fn workspace_save(state: S<'_>, path: Option<String>, view: Option<View>) -> Result<String> {
    let path = path.filter(|p| !p.trim().is_empty()).map(PathBuf::from);
    Ok(state.session.save(path.as_deref(), view)?.display().to_string())
}

/// Open a saved workspace file.
#[tauri::command]
pub async fn workspace_open(state: S<'_>, path: String) -> Result<OpenedDto> {
    state.session.open_saved(&PathBuf::from(path.trim()))
}

/// Set a layer's opacity (0–1).
#[tauri::command]
pub async fn set_layer_opacity(state: S<'_>, id: String, opacity: f32) -> Result<()> {
    state.session.set_layer_opacity(&id, opacity)
}

/// Move a layer up (+1) or down (−1); returns the new tree.
#[tauri::command]
pub async fn move_layer(state: S<'_>, id: String, delta: i32) -> Result<WorkspaceDto> {
    state.session.move_layer(&id, delta)
}

/// Remove a layer; returns the new tree.
#[tauri::command]
pub async fn remove_layer(state: S<'_>, id: String) -> Result<WorkspaceDto> {
    state.session.remove_layer(&id)
}

/// Press the city twin down to `height_m` inside a layer's polygons (压平), or nowhere (no
/// layer); returns the polygons taken.
#[tauri::command]
pub async fn set_flatten(state: S<'_>, layer_id: Option<String>, height_m: f64) -> Result<usize> {
    state.session.set_flatten(layer_id.as_deref(), height_m)
}

/// Cut the 3D view (剖切): above a height, beyond a section, inside or outside an area.
#[tauri::command]
pub async fn set_clip(state: S<'_>, req: jingwei_app::twin::ClipRequest) -> Result<jingwei_app::twin::ClipRequest> {
    state.session.set_clip(&req)
}

/// A view framing a layer.
#[tauri::command]
pub async fn zoom_to_layer(state: S<'_>, id: String, width: u32, height: u32, current: Option<View>) -> Result<View> {
    state.session.zoom_to_layer(&id, Canvas { width, height, current })
}

/// Add every layer of a file; a long job while it reads. Returns the new tree.
#[tauri::command]
pub async fn add_file(app: tauri::AppHandle, state: S<'_>, path: String) -> Result<WorkspaceDto> {
    let job = start_job(&app, &state, "load")?;
    state.session.add_file(&PathBuf::from(path.trim()), &job)
}

/// Cancel the long job under way.
#[tauri::command]
pub fn cancel_job(state: S<'_>) -> Result<()> {
    state.session.cancel_job()
}

/// The add-data dialog: the sub-folders and readable datasets of `path`.
#[tauri::command]
pub fn browse_folder(path: Option<String>) -> Result<FolderDto> {
    jingwei_app::files::browse(path.as_deref())
}
