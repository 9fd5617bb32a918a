//! The violation panel's commands, each a call into the session's case use cases.

use jingwei_analysis::violations::Thresholds;
use jingwei_app::Result;
use jingwei_app::cases::{CaseDetailDto, CaseRow, FilterDto, SelectedDto};
use jingwei_app::report::ReportsDto;
use jingwei_app::session::Canvas;
use jingwei_app::violations::DetectionDto;
use jingwei_scene::view::View;
use tauri::State;

use crate::commands::{pixel, start_job};
use crate::state::AppState;

type S<'a> = State<'a, AppState>;

/// Run the violation rules on the open workspace and turn the findings into cases.
#[tauri::command]
pub async fn run_violations(app: tauri::AppHandle, state: S<'_>) -> Result<DetectionDto> {
    let job = start_job(&app, &state, "rules")?;
    Ok(state.session.run_violations(&Thresholds::default(), &job)?.1)
}

/// Cases, highest priority first, filtered.
#[tauri::command]
pub async fn list_cases(state: S<'_>, filter: Option<FilterDto>) -> Result<Vec<CaseRow>> {
    state.session.list_cases(&filter.unwrap_or_default())
}

/// Select a case: its detail, the view flown to it, its building, permit and zones highlighted.
#[tauri::command]
pub async fn select_case(state: S<'_>, id: i64, width: u32, height: u32, current: Option<View>) -> Result<SelectedDto> {
    state.session.select_case(&id.to_string(), Canvas { width, height, current })
}

/// Clear the highlight.
#[tauri::command]
pub async fn clear_selection(state: S<'_>) -> Result<()> {
    state.session.clear_selection()
}

/// Move a case to a new status, with an optional comment.
#[tauri::command]
pub async fn set_case_status(state: S<'_>, id: i64, status: String, comment: Option<String>) -> Result<CaseDetailDto> {
    state.session.set_case_status(&id.to_string(), &status, comment.as_deref())
}

/// Assign a case (empty: unassign).
#[tauri::command]
pub async fn assign_case(state: S<'_>, id: i64, assignee: String) -> Result<CaseDetailDto> {
    state.session.assign_case(&id.to_string(), &assignee)
}

/// Add a note.
#[tauri::command]
pub async fn add_case_note(state: S<'_>, id: i64, text: String) -> Result<CaseDetailDto> {
    state.session.add_case_note(&id.to_string(), &text)
}

/// Attach a photo or file the page read.
#[tauri::command]
pub async fn attach_case_file(state: S<'_>, id: i64, name: String, bytes: Vec<u8>) -> Result<CaseDetailDto> {
    state.session.attach_case_file(&id.to_string(), &name, &bytes)
}

/// Flag a new case on the building under a pixel.
#[tauri::command]
pub async fn flag_building(state: S<'_>, x: f32, y: f32, width: u32, height: u32, view: View, title: String) -> Result<CaseRow> {
    state.session.flag_building(&pixel(x, y, width, height, view), &title)
}

/// Flag a new case on a polygon drawn on the view (corners as canvas pixels).
#[tauri::command]
pub async fn flag_polygon(state: S<'_>, points: Vec<[f32; 2]>, width: u32, height: u32, view: View, title: String) -> Result<CaseRow> {
    state.session.flag_polygon(&points, width, height, view, &title)
}

/// Write a case's printable report (with its site map) into the export folder.
#[tauri::command]
pub async fn case_report(state: S<'_>, id: i64) -> Result<ReportsDto> {
    let mut renderer = &state.renderer;
    state
        .session
        .write_case_reports(Some(&id.to_string()), &FilterDto::default(), None, &mut renderer)
}

/// The case's site on every imagery layer (before and after), as PNG chips.
#[tauri::command]
pub async fn case_imagery(state: S<'_>, id: i64) -> Result<Vec<jingwei_app::imagery::ChipDto>> {
    state.session.case_imagery(&id.to_string(), 360)
}
