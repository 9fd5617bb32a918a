//! The violation panel's commands: run the rules on the open workspace, list and filter cases,
//! select one (the 3D view flies to it and highlights its building, permit and zone), move it
//! along the loop, add notes and photos, flag new cases on a building or a drawn polygon.
//! Every change goes through `jingwei_cases` (one transaction each, audited).

use geo::{Centroid, Geometry, LineString, Polygon};
use jingwei_analysis::violations::{Thresholds, detect_job, workspace_inputs, workspace_roles};
use jingwei_cases::{Case, CaseDetail, CaseStore, Filter, Status, rules_zh};
use jingwei_layers::Workspace;
use jingwei_viewer::render::View;
use jingwei_viewer::scene::Highlight;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::commands::{AppState, push_scene_highlighted};

/// Where the cases of the demo workspace live: `JINGWEI_CASES`, else the user's data folder.
pub(crate) fn cases_path() -> PathBuf {
    if let Some(p) = std::env::var_os("JINGWEI_CASES") {
        return PathBuf::from(p);
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("jingwei").join("demo-cases.gpkg")
}

fn actor() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "inspector".into())
}

pub(crate) fn with_store<T>(state: &AppState, ws: &Workspace, f: impl FnOnce(&mut CaseStore) -> Result<T, String>) -> Result<T, String> {
    let mut guard = state.cases.lock().map_err(|e| e.to_string())?;
    if guard.is_none() {
        let path = state
            .workspace_file
            .lock()
            .map_err(|e| e.to_string())?
            .clone()
            .unwrap_or_else(cases_path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        *guard = Some(CaseStore::open_or_create(&path, &ws.crs).map_err(|e| e.to_string())?);
    }
    f(guard.as_mut().expect("opened above"))
}

/// A case as the list shows it.
#[derive(Serialize)]
pub struct CaseRow {
    id: i64,
    case_no: String,
    status: Status,
    status_zh: &'static str,
    priority: f64,
    rules: Vec<String>,
    rules_zh: String,
    assignee: Option<String>,
    building_fid: Option<i64>,
    zone_types: Vec<String>,
}

fn row(c: &Case) -> CaseRow {
    CaseRow {
        id: c.id,
        case_no: c.case_no.clone(),
        status: c.status,
        status_zh: c.status.name_zh(),
        priority: c.priority,
        rules: c.rules.clone(),
        rules_zh: rules_zh(c),
        assignee: c.assignee.clone(),
        building_fid: c.building_fid,
        zone_types: c.evidence["zones"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|z| z["zone_type"].as_str().map(str::to_string))
            .collect(),
    }
}

/// What a detection run did.
#[derive(Serialize)]
pub struct DetectionDto {
    buildings: usize,
    findings: usize,
    created: usize,
    updated: usize,
    unchanged: usize,
    per_rule: Vec<(String, usize)>,
    store: String,
    ms: f64,
}

/// Run the violation rules on the open workspace and turn the findings into cases.
#[tauri::command]
pub async fn run_violations(app: tauri::AppHandle, state: tauri::State<'_, AppState>) -> Result<DetectionDto, String> {
    let t0 = std::time::Instant::now();
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let roles = workspace_roles(ws)?;
    let inputs = workspace_inputs(ws, &roles);
    // A long job on a big city: progress to the page, cancellable; no case is touched unless
    // the rules ran to the end.
    let job = crate::commands::start_job(&app, &state, "rules")?;
    let report = detect_job(&inputs, &Thresholds::default(), &job).map_err(|_| "running the rules: cancelled".to_string())?;
    let b = inputs.buildings.layer;
    let summary = with_store(&state, ws, |s| {
        s.import_findings(&report.findings, &b.name, |f| b.geometries[f.row].clone(), &actor())
            .map_err(|e| e.to_string())
    })?;
    Ok(DetectionDto {
        buildings: report.buildings,
        findings: report.findings.len(),
        created: summary.created,
        updated: summary.updated,
        unchanged: summary.unchanged,
        per_rule: report.per_rule.iter().map(|(r, n)| (r.id().to_string(), *n)).collect(),
        store: state
            .workspace_file
            .lock()
            .map_err(|e| e.to_string())?
            .clone()
            .unwrap_or_else(cases_path)
            .display()
            .to_string(),
        ms: t0.elapsed().as_secs_f64() * 1000.0,
    })
}

/// The list filters of the panel.
#[derive(Deserialize, Default)]
pub struct FilterDto {
    status: Option<String>,
    rule: Option<String>,
    zone_type: Option<String>,
}

/// Cases, highest priority first, filtered by status, rule and zone type.
#[tauri::command]
pub async fn list_cases(state: tauri::State<'_, AppState>, filter: Option<FilterDto>) -> Result<Vec<CaseRow>, String> {
    let f = filter.unwrap_or_default();
    let nonempty = |s: Option<String>| s.filter(|v| !v.is_empty());
    let filter = Filter {
        statuses: nonempty(f.status).and_then(|s| Status::parse(&s)).into_iter().collect(),
        rule: nonempty(f.rule),
        zone_type: nonempty(f.zone_type),
        ..Filter::default()
    };
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    with_store(&state, ws, |s| {
        Ok(s.list(&filter).map_err(|e| e.to_string())?.iter().map(row).collect())
    })
}

/// A case with its evidence, notes, attachments, audit trail and the statuses it may move to.
#[derive(Serialize)]
pub struct CaseDetailDto {
    #[serde(flatten)]
    detail: CaseDetail,
    status_zh: &'static str,
    rules_zh: String,
    next: Vec<(Status, &'static str)>,
}

fn detail_dto(d: CaseDetail) -> CaseDetailDto {
    CaseDetailDto {
        status_zh: d.case.status.name_zh(),
        rules_zh: rules_zh(&d.case),
        next: d.case.status.next().iter().map(|s| (*s, s.name_zh())).collect(),
        detail: d,
    }
}

/// Select a case: its detail, and the 3D view flown to it with its building, permit and zones
/// highlighted.
#[derive(Serialize)]
pub struct SelectedDto {
    detail: CaseDetailDto,
    view: Option<View>,
}

/// Select a case (see [`SelectedDto`]); `width`/`height` are the canvas pixels.
#[tauri::command]
pub async fn select_case(
    state: tauri::State<'_, AppState>,
    id: i64,
    width: u32,
    height: u32,
    current: Option<View>,
) -> Result<SelectedDto, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let detail = with_store(&state, ws, |s| s.detail(&id.to_string()).map_err(|e| e.to_string()))?;
    let case = &detail.case;
    let refs = case.refs();
    let h = Highlight {
        building: refs.building,
        shape: case.geometry.clone(),
        permit: refs.permit,
        zones: refs.zones,
        ..Highlight::default()
    };
    push_scene_highlighted(&state, ws, &h)?;
    let view = case
        .geometry
        .as_ref()
        .and_then(|g| crate::commands::fly_to(ws, g, width, height, current));
    Ok(SelectedDto {
        detail: detail_dto(detail),
        view,
    })
}

/// Clear the highlight.
#[tauri::command]
pub async fn clear_selection(state: tauri::State<'_, AppState>) -> Result<(), String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    push_scene_highlighted(&state, ws, &Highlight::default())
}

/// Move a case to a new status (checked against the loop), with an optional comment.
#[tauri::command]
pub async fn set_case_status(
    state: tauri::State<'_, AppState>,
    id: i64,
    status: String,
    comment: Option<String>,
) -> Result<CaseDetailDto, String> {
    let to = Status::parse(&status).ok_or_else(|| format!("unknown status '{status}'"))?;
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    with_store(&state, ws, |s| {
        let comment = comment.as_deref().filter(|c| !c.trim().is_empty());
        s.set_status(&id.to_string(), to, comment, &actor()).map_err(|e| e.to_string())?;
        s.detail(&id.to_string()).map(detail_dto).map_err(|e| e.to_string())
    })
}

/// Assign a case to an inspector (empty: unassign).
#[tauri::command]
pub async fn assign_case(state: tauri::State<'_, AppState>, id: i64, assignee: String) -> Result<CaseDetailDto, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    with_store(&state, ws, |s| {
        let name = Some(assignee.trim()).filter(|a| !a.is_empty());
        s.assign(&id.to_string(), name, &actor()).map_err(|e| e.to_string())?;
        s.detail(&id.to_string()).map(detail_dto).map_err(|e| e.to_string())
    })
}

/// Add a note.
#[tauri::command]
pub async fn add_case_note(state: tauri::State<'_, AppState>, id: i64, text: String) -> Result<CaseDetailDto, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    with_store(&state, ws, |s| {
        s.add_note(&id.to_string(), &text, &actor()).map_err(|e| e.to_string())?;
        s.detail(&id.to_string()).map(detail_dto).map_err(|e| e.to_string())
    })
}

/// Attach a photo or file the page read (bytes as sent by the file input).
#[tauri::command]
pub async fn attach_case_file(state: tauri::State<'_, AppState>, id: i64, name: String, bytes: Vec<u8>) -> Result<CaseDetailDto, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    with_store(&state, ws, |s| {
        s.attach_bytes(&id.to_string(), &name, &bytes, &actor())
            .map_err(|e| e.to_string())?;
        s.detail(&id.to_string()).map(detail_dto).map_err(|e| e.to_string())
    })
}

/// Flag a new case on the building under a pixel of the 3D view.
#[tauri::command]
pub async fn flag_building(
    state: tauri::State<'_, AppState>,
    x: f32,
    y: f32,
    width: u32,
    height: u32,
    view: View,
    title: String,
) -> Result<CaseRow, String> {
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let roles = workspace_roles(ws)?;
    let wl = ws.layer(&roles.buildings).ok_or("no buildings layer")?;
    let (wx, wy) = crate::commands::ground_xy(&state, ws, &view, x, y, width, height).ok_or("that point is not on the ground")?;
    let hit = wl
        .index
        .at_point(&wl.layer.geometries, wx, wy, 0.5)
        .into_iter()
        .next()
        .ok_or("no building there: click on a building, or draw a polygon")?;
    let g = wl.layer.geometries[hit.row].clone().ok_or("the building has no geometry")?;
    let fid = wl.layer.fids[hit.row];
    let name = wl.layer.name.clone();
    with_store(&state, ws, |s| {
        s.flag(&g, Some((&name, fid)), &title, None, &actor())
            .map(|c| row(&c))
            .map_err(|e| e.to_string())
    })
}

/// Flag a new case on a polygon drawn on the 3D view (its corners as canvas pixels).
#[tauri::command]
pub async fn flag_polygon(
    state: tauri::State<'_, AppState>,
    points: Vec<[f32; 2]>,
    width: u32,
    height: u32,
    view: View,
    title: String,
) -> Result<CaseRow, String> {
    if points.len() < 3 {
        return Err("a polygon needs at least three corners".into());
    }
    let guard = state.workspace.lock().map_err(|e| e.to_string())?;
    let ws = guard.as_ref().ok_or("no workspace is open")?;
    let mut ring: Vec<(f64, f64)> = Vec::with_capacity(points.len() + 1);
    for [x, y] in &points {
        ring.push(
            crate::commands::ground_xy(&state, ws, &view, *x, *y, width, height)
                .ok_or("a corner is not on the ground (below the horizon?)")?,
        );
    }
    ring.push(ring[0]);
    let g = Geometry::Polygon(Polygon::new(LineString::from(ring), vec![]));
    if g.centroid().is_none() {
        return Err("the polygon has no area".into());
    }
    with_store(&state, ws, |s| {
        s.flag(&g, None, &title, None, &actor()).map(|c| row(&c)).map_err(|e| e.to_string())
    })
}
