//! The commands the page may call. Each is a thin wrapper: load through `jingwei_layers`,
//! convert to a DTO at this boundary, return readable errors as strings.

use jingwei_layers::catalog::Group;
use jingwei_layers::{RepairMode, Workspace};
use jingwei_viewer::render::View;
use jingwei_viewer::scene::{Highlight, SceneData, build_scene_highlighted};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();
static FIRST_FRAME_S: OnceLock<f64> = OnceLock::new();

/// Remember when the process started (for the cold-start figure).
pub fn mark_start() {
    STARTED.get_or_init(Instant::now);
}

use crate::scene3d::RenderService;

/// The open workspace and the 3D view of it.
pub struct AppState {
    pub(crate) workspace: Mutex<Option<Workspace>>,
    extent: Mutex<Option<([f32; 4], f32)>>,
    renderer: RenderService,
    /// The case store of the workspace, opened on first use.
    pub(crate) cases: Mutex<Option<jingwei_cases::CaseStore>>,
    /// What the scene highlights (kept when layers are shown or hidden).
    highlight: Mutex<Highlight>,
    /// The live feeds of the command panel (started on first use).
    pub(crate) feeds: tokio::sync::Mutex<Option<crate::command_cmd::FeedsState>>,
    /// The road network of the workspace (built on first use).
    pub(crate) graph: Mutex<Option<std::sync::Arc<jingwei_analysis::routing::RoadGraph>>>,
    /// Feed events and open incidents (by source), always drawn on top.
    pub(crate) overlay: Mutex<std::collections::BTreeMap<&'static str, Vec<(String, geo::Geometry)>>>,
    /// The attribute table's current row order (layer, query, rows), computed once per query.
    table: Mutex<Option<(String, jingwei_layers::table::TableQuery, std::sync::Arc<Vec<u32>>)>>,
    /// The workspace file (layers, view, cases, incidents); the demo's default when `None`.
    pub(crate) workspace_file: Mutex<Option<PathBuf>>,
    /// The long job under way (a file loading, the rules running): its cancel flag is what
    /// `cancel_job` sets.
    job: Mutex<jingwei_layers::Job>,
    /// Whether the panels work on a drill copy.
    pub(crate) drill: std::sync::atomic::AtomicBool,
    /// The terrain of the scene last drawn: clicks and measurements find the ground on it.
    ground: Mutex<Option<std::sync::Arc<jingwei_viewer::terrain::Ground>>>,
}

impl Default for AppState {
    fn default() -> Self {
        AppState {
            workspace: Mutex::new(None),
            extent: Mutex::new(None),
            renderer: RenderService::start(),
            cases: Mutex::new(None),
            highlight: Mutex::new(Highlight::default()),
            feeds: tokio::sync::Mutex::new(None),
            graph: Mutex::new(None),
            overlay: Mutex::new(Default::default()),
            table: Mutex::new(None),
            workspace_file: Mutex::new(None),
            job: Mutex::new(jingwei_layers::Job::new()),
            drill: std::sync::atomic::AtomicBool::new(false),
            ground: Mutex::new(None),
        }
    }
}

fn push_scene(state: &AppState, ws: &Workspace) -> Result<(), String> {
    let mut h = state.highlight.lock().map_err(|e| e.to_string())?.clone();
    h.extra
        .extend(state.overlay.lock().map_err(|e| e.to_string())?.values().flatten().cloned());
    let scene: SceneData = build_scene_highlighted(ws, &h);
    let mut extent = state.extent.lock().map_err(|e| e.to_string())?;
    if extent.is_none() {
        // The first scene (the workspace, nothing highlighted) frames the initial view.
        *extent = scene.extent_local.map(|e| (e, scene.max_height_m));
    }
    drop(extent);
    *state.ground.lock().map_err(|e| e.to_string())? = scene.ground.clone();
    state.renderer.set_scene(scene);
    Ok(())
}

/// Replace one source's part of the overlay (feed events, open incidents) and redraw.
pub(crate) fn set_overlay(
    state: &AppState,
    ws: &Workspace,
    source: &'static str,
    items: Vec<(String, geo::Geometry)>,
) -> Result<(), String> {
    state.overlay.lock().map_err(|e| e.to_string())?.insert(source, items);
    push_scene(state, ws)
}

/// Replace what the scene highlights and redraw it.
pub(crate) fn push_scene_highlighted(state: &AppState, ws: &Workspace, h: &Highlight) -> Result<(), String> {
    *state.highlight.lock().map_err(|e| e.to_string())? = h.clone();
    push_scene(state, ws)
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
    /// Opacity 0–1.
    opacity: f32,
    /// Legend colours as CSS `rgba()`: fill and outline.
    fill: String,
    stroke: String,
    /// The classes present in the layer (land-use classes, categories): label and fill.
    legend: Vec<(String, String)>,
}

fn css(c: jingwei_viewer::style::Rgba) -> String {
    // A transparent fill shows in the legend as a light tint of itself.
    let a = if c[3] <= 0.0 { 0.15 } else { c[3] };
    format!("rgba({:.0},{:.0},{:.0},{a:.2})", c[0] * 255.0, c[1] * 255.0, c[2] * 255.0)
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
pub(crate) fn demo_catalog() -> PathBuf {
    if let Some(p) = std::env::var_os("JINGWEI_DEMO") {
        return PathBuf::from(p);
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("assets/demo/catalog.json")));
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
        jingwei_viewer::style::check_workspace(&ws)?;
        push_scene(&state, &ws)?;
        *guard = Some(ws);
    }
    Ok(describe(guard.as_ref().expect("just opened")))
}

fn describe(ws: &Workspace) -> WorkspaceDto {
    WorkspaceDto {
        crs: ws.crs.label(),
        crs_name: ws.crs.name.clone(),
        origin_xy: ws.origin_xy,
        attribution: ws.attribution.clone(),
        layers: ws
            .layers
            .iter()
            .map(|l| {
                (
                    l,
                    jingwei_viewer::style::for_workspace_layer(l).unwrap_or_else(|_| jingwei_viewer::style::for_layer(&l.id, &l.layer)),
                )
            })
            .map(|(l, style)| LayerDto {
                id: l.id.clone(),
                title: l.title.clone(),
                group: l.group,
                features: l.layer.len(),
                geometry_type: l.layer.geometry_type.clone(),
                visible: l.visible,
                synthetic: l.synthetic,
                invalid: l.layer.validity_summary().invalid_features,
                opacity: l.opacity,
                fill: css(style.fill),
                stroke: css(style.stroke),
                legend: style.legend(&l.layer).into_iter().map(|(label, c)| (label, css(c))).collect(),
            })
            .collect(),
    }
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

/// In a smoke test (`JINGWEI_SMOKE_FILE` set): how many interaction frames the page should time
/// after the first one (`JINGWEI_SMOKE_FRAMES`, default 5); `None` in normal use.
#[tauri::command]
pub fn smoke_frames() -> Option<u32> {
    std::env::var_os("JINGWEI_SMOKE_FILE")?;
    Some(std::env::var("JINGWEI_SMOKE_FRAMES").ok().and_then(|v| v.parse().ok()).unwrap_or(5))
}

/// In a smoke test with `JINGWEI_SMOKE_CANVAS=WxH`: resize the window so that the map canvas,
/// now `css_width × css_height` CSS pixels, becomes W×H device pixels (latency is reported at a
/// fixed frame size whatever the panels take). Returns the size asked for, if any.
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

/// In a smoke test: a file to add through the layer tree (the GBK shapefile of the shared test
/// data beside the source tree), when it is there.
#[tauri::command]
pub fn smoke_add_file() -> Option<String> {
    std::env::var_os("JINGWEI_SMOKE_FILE")?;
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/encoding/lujiazui_pois_gbk.shp"
    ));
    p.exists().then(|| p.display().to_string())
}

/// Smoke tests start the app with `JINGWEI_SMOKE_FILE`: once the page has drawn the demo city
/// it reports here, the report is written there and the app exits.
#[tauri::command]
pub fn smoke_ready(app: tauri::AppHandle, mut report: serde_json::Value) -> Result<(), String> {
    if let Some(path) = std::env::var_os("JINGWEI_SMOKE_FILE") {
        // Process start to the first 3D frame of the demo city handed to the page.
        if let (Some(obj), Some(s)) = (report.as_object_mut(), FIRST_FRAME_S.get()) {
            obj.insert("first_frame_s".into(), serde_json::json!(s));
        }
        std::fs::write(&path, report.to_string()).map_err(|e| e.to_string())?;
        // `JINGWEI_SMOKE_LINGER_MS` keeps the window up a moment for a screenshot.
        let linger = std::env::var("JINGWEI_SMOKE_LINGER_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0u64);
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(linger));
            app.exit(0);
        });
    }
    Ok(())
}

/// The view that frames the whole workspace obliquely in a `width × height` canvas.
#[tauri::command]
pub async fn initial_view(state: tauri::State<'_, AppState>, width: u32, height: u32) -> Result<View, String> {
    let (extent, max_h) = state.extent.lock().map_err(|e| e.to_string())?.ok_or("no workspace is open")?;
    Ok(View::frame(extent, max_h, width.max(1) as f32 / height.max(1) as f32, 45.0, 20.0))
}

/// Render the 3D view: a 16-byte header (width u32, height u32, render+readback ms f32,
/// readback ms f32) and the RGBA pixels, as binary (no JSON on the way).
#[tauri::command]
pub async fn render_view(state: tauri::State<'_, AppState>, width: u32, height: u32, view: View) -> Result<tauri::ipc::Response, String> {
    let (frame, ms, timing) = state.renderer.render(width, height, view)?;
    if let Some(t0) = STARTED.get() {
        FIRST_FRAME_S.get_or_init(|| t0.elapsed().as_secs_f64());
    }
    let mut out = Vec::with_capacity(16 + frame.rgba.len());
    out.extend(frame.width.to_le_bytes());
    out.extend(frame.height.to_le_bytes());
    out.extend((ms as f32).to_le_bytes());
    out.extend((timing.readback_ms as f32).to_le_bytes());
    out.extend(frame.rgba);
    Ok(tauri::ipc::Response::new(out))
}

/// Show or hide a layer; the 3D scene is rebuilt.
#[tauri::command]
pub async fn set_layer_visible(state: tauri::State<'_, AppState>, id: String, visible: bool) -> Result<(), String> {
    let mut guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_mut().ok_or("no workspace is open")?;
    let wl = ws
        .layers
        .iter_mut()
        .find(|l| l.id == id)
        .ok_or_else(|| format!("no layer '{id}'"))?;
    wl.visible = visible;
    push_scene(&state, ws)
}

/// The top of the tallest building standing in a workspace box (visible building layers), at
/// least 60 m: what a view of the box must keep in frame.
fn tallest_in(ws: &Workspace, bbox: [f64; 4]) -> f32 {
    let mut top: f64 = 60.0;
    for wl in ws
        .layers
        .iter()
        .filter(|l| l.visible && jingwei_viewer::scene::is_building_layer(&l.id, &l.layer))
    {
        let rule = jingwei_viewer::extrude::HeightRule::for_layer(&wl.layer);
        for row in wl.index.candidates(bbox) {
            top = top.max(rule.heights(&wl.layer, row).1);
        }
    }
    top as f32
}

/// A view framing a workspace box (grown by `margin_m`) for a `width × height` canvas, keeping
/// the current view's azimuth and its pitch (at least `min_pitch`), tall buildings in it whole.
pub(crate) fn frame_box(
    ws: &Workspace,
    bbox: [f64; 4],
    margin_m: f64,
    width: u32,
    height: u32,
    current: Option<View>,
    min_pitch: f32,
) -> View {
    let (pitch, yaw) = current.map_or((min_pitch.max(50.0), 20.0), |v| (v.pitch_deg.max(min_pitch), v.yaw_deg));
    View::frame_world(
        ws.origin_xy,
        bbox,
        margin_m,
        tallest_in(ws, bbox),
        width.max(1) as f32 / height.max(1) as f32,
        pitch,
        yaw,
    )
}

/// A view centred on `g`, close enough to read a building, keeping the current angles.
pub(crate) fn fly_to(ws: &Workspace, g: &geo::Geometry, width: u32, height: u32, current: Option<View>) -> Option<View> {
    let b = bbox_of(g)?;
    Some(frame_box(
        ws,
        b,
        80.0f64.max((b[2] - b[0]).max(b[3] - b[1])),
        width,
        height,
        current,
        30.0,
    ))
}

/// The box of a geometry.
pub(crate) fn bbox_of(g: &geo::Geometry) -> Option<[f64; 4]> {
    let r = geo::BoundingRect::bounding_rect(g)?;
    Some([r.min().x, r.min().y, r.max().x, r.max().y])
}

/// The terrain of the scene on screen, if it has one.
pub(crate) fn ground(state: &AppState) -> Option<std::sync::Arc<jingwei_viewer::terrain::Ground>> {
    state.ground.lock().ok()?.clone()
}

/// The workspace point (CRS metres) under a pixel of the 3D view: on the terrain where the
/// scene has one, else on flat ground.
pub(crate) fn ground_xy(state: &AppState, ws: &Workspace, view: &View, x: f32, y: f32, width: u32, height: u32) -> Option<(f64, f64)> {
    let [lx, lz] = view.terrain_point(x, y, width, height, ground(state).as_deref())?;
    Some((ws.origin_xy[0] + f64::from(lx), ws.origin_xy[1] - f64::from(lz)))
}

/// What was clicked.
#[derive(Serialize)]
pub struct Identified {
    layer: String,
    fid: i64,
    attributes: serde_json::Map<String, serde_json::Value>,
}

/// Identify the features under a pixel of the 3D view: the pixel's ray meets the ground, and
/// the visible layers' R-trees answer (topmost layer first), not the GPU.
#[tauri::command]
pub async fn identify(
    state: tauri::State<'_, AppState>,
    x: f32,
    y: f32,
    width: u32,
    height: u32,
    view: View,
) -> Result<Vec<Identified>, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let Some((wx, wy)) = ground_xy(&state, ws, &view, x, y, width, height) else {
        return Ok(Vec::new());
    };
    let tolerance_m = f64::from(view.metres_per_pixel(height)) * 4.0;
    let mut out = Vec::new();
    for wl in ws.layers.iter().rev().filter(|l| l.visible) {
        for hit in wl.index.at_point(&wl.layer.geometries, wx, wy, tolerance_m).into_iter().take(3) {
            let f = wl.layer.feature(hit.row);
            // Field aliases (e.g. Chinese labels the source gives) name the attributes where there are any.
            let attributes = wl
                .layer
                .fields
                .iter()
                .enumerate()
                .map(|(i, fd)| {
                    let label = if fd.alias.trim().is_empty() {
                        fd.name.clone()
                    } else {
                        format!("{}（{}）", fd.alias, fd.name)
                    };
                    (label, serde_json::to_value(f.value(i)).unwrap_or_default())
                })
                .collect();
            out.push(Identified {
                layer: wl.title.clone(),
                fid: f.fid(),
                attributes,
            });
        }
        if out.len() >= 5 {
            break;
        }
    }
    Ok(out)
}

/// A search hit.
#[derive(Serialize)]
pub struct SearchHit {
    layer_id: String,
    layer: String,
    fid: i64,
    field: String,
    value: String,
}

/// Features whose text attributes contain `query` (case-insensitive): a building name, a permit
/// number, an address. At most `limit`, layers in tree order.
#[tauri::command]
pub async fn search_features(state: tauri::State<'_, AppState>, query: String, limit: Option<usize>) -> Result<Vec<SearchHit>, String> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let limit = limit.unwrap_or(20).min(200);
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let mut out = Vec::new();
    for wl in ws.layers.iter().rev() {
        let text: Vec<usize> = (0..wl.layer.fields.len())
            .filter(|i| wl.layer.fields[*i].kind == jingwei_layers::FieldKind::Text)
            .collect();
        for row in 0..wl.layer.len() {
            let f = wl.layer.feature(row);
            if let Some((i, v)) = text.iter().find_map(|i| {
                f.value(*i)
                    .as_str()
                    .filter(|v| v.to_lowercase().contains(&q))
                    .map(|v| (*i, v.to_string()))
            }) {
                out.push(SearchHit {
                    layer_id: wl.id.clone(),
                    layer: wl.title.clone(),
                    fid: f.fid(),
                    field: wl.layer.fields[i].name.clone(),
                    value: v,
                });
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

/// Fly to a feature and highlight it; returns the view.
#[tauri::command]
pub async fn fly_to_feature(
    state: tauri::State<'_, AppState>,
    layer_id: String,
    fid: i64,
    width: u32,
    height: u32,
    current: Option<View>,
) -> Result<View, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let wl = ws.layer(&layer_id).ok_or_else(|| format!("no layer '{layer_id}'"))?;
    let row = wl
        .layer
        .row_of_fid(fid)
        .ok_or_else(|| format!("no feature {fid} in {}", wl.title))?;
    let g = wl.layer.geometries[row].clone().ok_or("the feature has no geometry")?;
    let view = fly_to(ws, &g, width, height, current).ok_or("the feature has no geometry")?;
    let building = jingwei_viewer::scene::is_building_layer(&wl.id, &wl.layer);
    push_scene_highlighted(
        &state,
        ws,
        &Highlight {
            building: building.then(|| (wl.layer.name.clone(), fid)),
            shape: (!building).then_some(g),
            ..Highlight::default()
        },
    )?;
    Ok(view)
}

/// Where the cursor is: CGCS2000 lon/lat and workspace x/y (Gauss-Krüger metres).
#[derive(Serialize)]
pub struct CursorDto {
    lon: f64,
    lat: f64,
    x: f64,
    y: f64,
    crs: String,
}

/// The ground position under a pixel of the 3D view.
#[tauri::command]
pub async fn cursor_position(
    state: tauri::State<'_, AppState>,
    x: f32,
    y: f32,
    width: u32,
    height: u32,
    view: View,
) -> Result<Option<CursorDto>, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let Some((wx, wy)) = ground_xy(&state, ws, &view, x, y, width, height) else {
        return Ok(None);
    };
    let (lon, lat) = ws.to_lonlat().and_then(|t| t.transform(wx, wy)).map_err(|e| e.to_string())?;
    Ok(Some(CursorDto {
        lon,
        lat,
        x: wx,
        y: wy,
        crs: ws.crs.label(),
    }))
}

/// One page of a layer's attribute table, in the order and with the filter asked for (the order
/// is computed once per query and kept, so scrolling a million rows only fetches what shows).
#[tauri::command]
pub async fn attribute_page(
    state: tauri::State<'_, AppState>,
    layer_id: String,
    offset: usize,
    limit: usize,
    sort: Option<String>,
    desc: bool,
    filter: Option<String>,
) -> Result<jingwei_layers::table::Page, String> {
    use jingwei_layers::table::{TableQuery, order, page};
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let wl = ws.layer(&layer_id).ok_or_else(|| format!("no layer '{layer_id}'"))?;
    let q = TableQuery {
        sort: sort.filter(|s| !s.is_empty()),
        desc,
        filter: filter.filter(|f| !f.trim().is_empty()),
    };
    let mut cache = state.table.lock().map_err(|e| e.to_string())?;
    let rows = match cache.as_ref() {
        Some((id, cq, rows)) if *id == layer_id && *cq == q => rows.clone(),
        _ => {
            let rows = std::sync::Arc::new(order(&wl.layer, &q)?);
            *cache = Some((layer_id.clone(), q, rows.clone()));
            rows
        }
    };
    Ok(page(&wl.layer, &rows, offset, limit.min(1000)))
}

/// Highlight selected features (table rows) in 3D; with `zoom`, return a view that frames them.
#[tauri::command]
pub async fn select_features(
    state: tauri::State<'_, AppState>,
    layer_id: String,
    fids: Vec<i64>,
    zoom: bool,
    width: u32,
    height: u32,
    current: Option<View>,
) -> Result<Option<View>, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let wl = ws.layer(&layer_id).ok_or_else(|| format!("no layer '{layer_id}'"))?;
    push_scene_highlighted(
        &state,
        ws,
        &Highlight {
            selection: (!fids.is_empty()).then(|| (wl.layer.name.clone(), fids.clone())),
            ..Highlight::default()
        },
    )?;
    if !zoom {
        return Ok(None);
    }
    let mut ext = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for fid in &fids {
        let Some(r) = wl
            .layer
            .row_of_fid(*fid)
            .and_then(|row| wl.layer.geometries[row].as_ref())
            .and_then(geo::BoundingRect::bounding_rect)
        else {
            continue;
        };
        ext = [
            ext[0].min(r.min().x),
            ext[1].min(r.min().y),
            ext[2].max(r.max().x),
            ext[3].max(r.max().y),
        ];
    }
    if ext[0] > ext[2] {
        return Ok(None);
    }
    let m = 60.0f64.max((ext[2] - ext[0]).max(ext[3] - ext[1]) * 0.2);
    Ok(Some(frame_box(ws, ext, m, width, height, current, 30.0)))
}

/// A building's height, measured where the view ray hits it.
#[derive(Serialize)]
pub struct HeightDto {
    layer: String,
    fid: i64,
    name: Option<String>,
    height_m: f64,
    base_m: f64,
    top_m: f64,
    hit_z_m: f64,
}

/// Measure the height of the building under a pixel (the first prism the ray enters).
#[tauri::command]
pub async fn measure_height(
    state: tauri::State<'_, AppState>,
    x: f32,
    y: f32,
    width: u32,
    height: u32,
    view: View,
) -> Result<Option<HeightDto>, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let mut best: Option<(f64, HeightDto)> = None;
    let ground = ground(&state);
    for wl in ws
        .layers
        .iter()
        .filter(|l| l.visible && jingwei_viewer::scene::is_building_layer(&l.id, &l.layer))
    {
        let rule = jingwei_viewer::extrude::HeightRule::for_layer(&wl.layer);
        if let Some(hit) = jingwei_viewer::pick::pick_prism(
            &wl.layer,
            &wl.index,
            &rule,
            ws.origin_xy,
            &view,
            x,
            y,
            width,
            height,
            ground.as_deref(),
        ) && best.as_ref().is_none_or(|(t, _)| hit.t < *t)
        {
            let f = wl.layer.feature(hit.row);
            best = Some((
                hit.t,
                HeightDto {
                    layer: wl.title.clone(),
                    fid: f.fid(),
                    name: f.value_by_name("name").and_then(|v| v.as_str().map(str::to_string)),
                    height_m: hit.top_m - hit.base_m,
                    base_m: hit.base_m,
                    top_m: hit.top_m,
                    hit_z_m: hit.point[2],
                },
            ));
        }
    }
    Ok(best.map(|b| b.1))
}

/// Where exported maps go: `JINGWEI_EXPORT_DIR`, else ~/Pictures (or the home folder).
fn export_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("JINGWEI_EXPORT_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let pictures = home.join("Pictures");
    if pictures.is_dir() { pictures } else { home }
}

/// Save a PNG the page composed (the map with title, legend, scale bar and north arrow);
/// returns its path. Written through a temporary file and a rename.
#[tauri::command]
pub async fn save_png(bytes: Vec<u8>) -> Result<String, String> {
    if bytes.len() < 8 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" {
        return Err("not a PNG image".into());
    }
    let dir = export_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stamp: String = jingwei_cases::now_utc().chars().filter(char::is_ascii_digit).take(14).collect();
    let path = dir.join(format!("jingwei-map-{stamp}.png"));
    let tmp = path.with_extension("png.tmp");
    std::fs::write(&tmp, &bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path.display().to_string())
}

fn recent_file() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("jingwei").join("recent.json")
}

/// Recently saved or opened workspace files, newest first.
#[tauri::command]
pub fn recent_workspaces() -> Vec<String> {
    std::fs::read(recent_file())
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<String>>(&b).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| std::path::Path::new(p).exists())
        .collect()
}

fn remember(path: &std::path::Path) {
    let p = path.display().to_string();
    let mut list = recent_workspaces();
    list.retain(|x| *x != p);
    list.insert(0, p);
    list.truncate(10);
    let f = recent_file();
    if let Some(d) = f.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    let _ = std::fs::write(f, serde_json::to_vec(&list).unwrap_or_default());
}

/// Save the workspace (layers, tree, the view given) into its workspace file, with its cases and
/// incidents; `path` saves to another file, which becomes the workspace file.
#[tauri::command]
pub async fn workspace_save(state: tauri::State<'_, AppState>, path: Option<String>, view: Option<View>) -> Result<String, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    // The file this session works on: the open store's (a drill copy during a drill), else the
    // workspace file.
    let open_store = state
        .cases
        .lock()
        .map_err(|e| e.to_string())?
        .as_ref()
        .map(|c| c.path().to_path_buf());
    let current = open_store
        .or(state.workspace_file.lock().map_err(|e| e.to_string())?.clone())
        .unwrap_or_else(crate::cases_cmd::cases_path);
    let target = path
        .filter(|p| !p.trim().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| current.clone());
    if target != current && current.exists() && !target.exists() {
        // Saving as: the cases and incidents come along.
        std::fs::copy(&current, &target).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    // The save renames a finished copy over the file: close the store's connection first.
    *state.cases.lock().map_err(|e| e.to_string())? = None;
    let view = view.map(|v| serde_json::to_value(v).unwrap_or_default());
    jingwei_layers::saved::save_workspace(ws, &target, view).map_err(|e| e.to_string())?;
    *state.workspace_file.lock().map_err(|e| e.to_string())? = Some(target.clone());
    remember(&target);
    Ok(target.display().to_string())
}

/// An opened workspace: its description and saved view.
#[derive(Serialize)]
pub struct OpenedDto {
    workspace: WorkspaceDto,
    view: Option<View>,
    path: String,
}

/// Open a saved workspace file (layers, tree, view, cases, incidents).
#[tauri::command]
pub async fn workspace_open(state: tauri::State<'_, AppState>, path: String) -> Result<OpenedDto, String> {
    let p = PathBuf::from(path.trim());
    let (ws, view) = jingwei_layers::saved::open_workspace(&p).map_err(|e| e.to_string())?;
    let view: Option<View> = view.and_then(|v| serde_json::from_value(v).ok());
    *state.cases.lock().map_err(|e| e.to_string())? = None;
    *state.graph.lock().map_err(|e| e.to_string())? = None;
    *state.table.lock().map_err(|e| e.to_string())? = None;
    *state.extent.lock().map_err(|e| e.to_string())? = None;
    state.overlay.lock().map_err(|e| e.to_string())?.clear();
    *state.highlight.lock().map_err(|e| e.to_string())? = Highlight::default();
    *state.workspace_file.lock().map_err(|e| e.to_string())? = Some(p.clone());
    push_scene(&state, &ws)?;
    let dto = describe(&ws);
    *state.workspace.lock().map_err(|e| e.to_string())? = Some(ws);
    remember(&p);
    Ok(OpenedDto {
        workspace: dto,
        view,
        path: p.display().to_string(),
    })
}

fn layer_mut<'a>(ws: &'a mut Workspace, id: &str) -> Result<&'a mut jingwei_layers::WorkspaceLayer, String> {
    ws.layers.iter_mut().find(|l| l.id == id).ok_or_else(|| format!("no layer '{id}'"))
}

/// Set a layer's opacity (0–1); the scene is rebuilt.
#[tauri::command]
pub async fn set_layer_opacity(state: tauri::State<'_, AppState>, id: String, opacity: f32) -> Result<(), String> {
    let mut guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_mut().ok_or("no workspace is open")?;
    layer_mut(ws, &id)?.opacity = opacity.clamp(0.0, 1.0);
    push_scene(&state, ws)
}

/// Move a layer up (+1, drawn later, higher in the tree) or down (−1); returns the new tree.
#[tauri::command]
pub async fn move_layer(state: tauri::State<'_, AppState>, id: String, delta: i32) -> Result<WorkspaceDto, String> {
    let mut guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_mut().ok_or("no workspace is open")?;
    let i = ws
        .layers
        .iter()
        .position(|l| l.id == id)
        .ok_or_else(|| format!("no layer '{id}'"))?;
    let j = (i as i64 + i64::from(delta)).clamp(0, ws.layers.len() as i64 - 1) as usize;
    let l = ws.layers.remove(i);
    ws.layers.insert(j, l);
    push_scene(&state, ws)?;
    Ok(describe(ws))
}

/// Remove a layer from the workspace (its file is not touched); returns the new tree.
#[tauri::command]
pub async fn remove_layer(state: tauri::State<'_, AppState>, id: String) -> Result<WorkspaceDto, String> {
    let mut guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_mut().ok_or("no workspace is open")?;
    let i = ws
        .layers
        .iter()
        .position(|l| l.id == id)
        .ok_or_else(|| format!("no layer '{id}'"))?;
    ws.layers.remove(i);
    *state.table.lock().map_err(|e| e.to_string())? = None;
    *state.graph.lock().map_err(|e| e.to_string())? = None;
    push_scene(&state, ws)?;
    Ok(describe(ws))
}

/// A view framing a layer.
#[tauri::command]
pub async fn zoom_to_layer(
    state: tauri::State<'_, AppState>,
    id: String,
    width: u32,
    height: u32,
    current: Option<View>,
) -> Result<View, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let wl = ws.layer(&id).ok_or_else(|| format!("no layer '{id}'"))?;
    let e = wl.layer.extent().ok_or("the layer has no geometry")?;
    Ok(frame_box(ws, e, 20.0, width, height, current, 5.0))
}

/// Add every layer of a file (any format the core reads) to the workspace; a long job (see
/// [`start_job`]) while it reads. Returns the new tree.
#[tauri::command]
pub async fn add_file(app: tauri::AppHandle, state: tauri::State<'_, AppState>, path: String) -> Result<WorkspaceDto, String> {
    let path = PathBuf::from(path.trim());
    let job = start_job(&app, &state, "load")?;
    // Read without holding the workspace (identify, rendering go on meanwhile), into an empty
    // one in its CRS: a failed or cancelled load leaves the workspace as it was.
    let mut next = state.workspace.lock().map_err(|e| e.to_string())?.as_ref().map(Workspace::like);
    let added = Workspace::load_file(&mut next, &path, Some(job.clone())).map_err(|e| e.to_string())?;
    let next = next
        .filter(|_| added > 0)
        .ok_or_else(|| format!("{}: no layer with geometry", path.display()))?;
    let mut guard = state.workspace.lock().map_err(|e| e.to_string())?;
    match guard.as_mut() {
        Some(ws) => ws.append(next).map_err(|e| e.to_string())?,
        None => *guard = Some(next),
    }
    let ws = guard.as_mut().expect("set above");
    job.report(1, 1);
    push_scene(&state, ws)?;
    Ok(describe(ws))
}

/// One folder as the add-data file dialog shows it.
#[derive(serde::Serialize)]
pub struct FolderDto {
    path: String,
    parent: Option<String>,
    entries: Vec<jingwei_layers::source::FolderEntry>,
}

/// The add-data file dialog: the sub-folders and readable datasets of `path` (its folder when
/// it is a file; the home folder when none is given).
#[tauri::command]
pub fn browse_folder(path: Option<String>) -> Result<FolderDto, String> {
    let dir = path
        .filter(|p| !p.trim().is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/"));
    let dir = match dir.parent() {
        Some(parent) if dir.is_file() => parent.to_path_buf(),
        _ => dir,
    };
    let entries = jingwei_layers::source::list_readable(&dir).map_err(|e| e.to_string())?;
    Ok(FolderDto {
        path: dir.display().to_string(),
        parent: dir.parent().map(|p| p.display().to_string()),
        entries,
    })
}

/// Start a long job of `kind` ("load", "rules"): it replaces the previous one as the job that
/// `cancel_job` stops, and its progress goes to the page as `job-progress` events
/// `[kind, done, total]`.
pub(crate) fn start_job(app: &tauri::AppHandle, state: &AppState, kind: &'static str) -> Result<jingwei_layers::Job, String> {
    use tauri::Emitter;
    let a = app.clone();
    let job = jingwei_layers::Job::new().with_progress(std::sync::Arc::new(move |done, total| {
        let _ = a.emit("job-progress", (kind, done, total));
    }));
    *state.job.lock().map_err(|e| e.to_string())? = job.clone();
    Ok(job)
}

/// Cancel the long job under way (its command then answers that it was cancelled; nothing it
/// was making is kept).
#[tauri::command]
pub fn cancel_job(state: tauri::State<'_, AppState>) -> Result<(), String> {
    state.job.lock().map_err(|e| e.to_string())?.cancel();
    Ok(())
}
