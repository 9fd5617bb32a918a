//! The planner's analyses: 压占分析 and its CSV table. Each calls the session (`jingwei_app`).

use jingwei_analysis::balance::{Balance, Transitions};
use jingwei_app::Result;
use jingwei_app::data::WorkspaceDto;
use jingwei_app::planning::{self, OverlapDto, OverlapRequest, Redline, ReviewDto};
use jingwei_app::print::{PrintRequest, PrintedDto};
use tauri::State;

use crate::state::AppState;

type S<'a> = State<'a, AppState>;

/// Overlay a red line on the workspace's layers; the workspace as it is after (with the
/// pieces layer when asked for).
#[tauri::command]
pub async fn overlap(state: S<'_>, request: OverlapRequest) -> Result<(OverlapDto, WorkspaceDto)> {
    let o = state.session.overlap(&request)?;
    Ok((o, state.session.describe()?))
}

/// The overlap's table as CSV (UTF-8 with BOM) in the user's export folder; its path.
#[tauri::command]
pub async fn overlap_csv(state: S<'_>, request: OverlapRequest) -> Result<String> {
    let request = OverlapRequest {
        add_pieces: false,
        ..request
    };
    let o = state.session.overlap(&request)?;
    Ok(planning::save_overlap_csv(&o)?.display().to_string())
}

/// The overlap's table as an Excel workbook in the user's export folder; its path.
#[tauri::command]
pub async fn overlap_xlsx(state: S<'_>, request: OverlapRequest) -> Result<String> {
    let request = OverlapRequest {
        add_pieces: false,
        ..request
    };
    let o = state.session.overlap(&request)?;
    Ok(planning::save_overlap_xlsx(&o)?.display().to_string())
}

/// 合规性审查 of a red line by a rules file.
#[tauri::command]
pub async fn review(state: S<'_>, rules: String, redline: Redline) -> Result<ReviewDto> {
    state.session.review(std::path::Path::new(&rules), &redline)
}

/// 用地平衡表 of a status-quo layer (and a plan layer).
#[tauri::command]
pub async fn land_use_balance(state: S<'_>, status: String, plan: Option<String>) -> Result<Balance> {
    state.session.land_use_balance(&status, plan.as_deref())
}

/// 多期对比 of two land-use layers; the changed pieces are added as a layer.
#[tauri::command]
pub async fn land_use_change(state: S<'_>, from: String, to: String) -> Result<(Transitions, WorkspaceDto)> {
    let m = state.session.land_use_change(&from, &to, true)?;
    Ok((m, state.session.describe()?))
}

/// A red line drawn on the map, as WKT in the workspace CRS.
#[tauri::command]
pub async fn redline_from_screen(
    state: S<'_>,
    points: Vec<[f32; 2]>,
    width: u32,
    height: u32,
    view: jingwei_scene::view::View,
) -> Result<String> {
    state.session.redline_from_screen(&points, width, height, view)
}

/// Print the map sheet (PDF or PNG); what was written.
#[tauri::command]
pub async fn print_map(state: S<'_>, print: PrintRequest) -> Result<PrintedDto> {
    state.session.print_map(&print)
}

/// Print the 压占分析 report of a red line.
#[tauri::command]
pub async fn print_overlap(state: S<'_>, request: OverlapRequest, print: PrintRequest) -> Result<PrintedDto> {
    state.session.print_overlap(&request, &print)
}

/// Print the 多期对比 matrix.
#[tauri::command]
pub async fn print_change(state: S<'_>, from: String, to: String, print: PrintRequest) -> Result<PrintedDto> {
    state.session.print_change(&from, &to, &print)
}

/// Print the 用地平衡表.
#[tauri::command]
pub async fn print_balance(state: S<'_>, status: String, plan: Option<String>, print: PrintRequest) -> Result<PrintedDto> {
    state.session.print_balance(&status, plan.as_deref(), &print)
}

/// Start, change or end (`null`) a comparison view.
#[tauri::command]
pub async fn set_compare(state: S<'_>, request: Option<jingwei_app::compare::CompareRequest>) -> Result<()> {
    state.session.set_compare(request)
}

/// The time slider's epochs: layers with a period, oldest first.
#[tauri::command]
pub async fn epochs(state: S<'_>) -> Result<Vec<jingwei_app::compare::EpochDto>> {
    state.session.epochs()
}

/// Show one epoch and hide the others; the workspace as it is after.
#[tauri::command]
pub async fn show_epoch(state: S<'_>, layer_id: String) -> Result<WorkspaceDto> {
    state.session.show_epoch(&layer_id)?;
    state.session.describe()
}

/// The years of a layer's date field (the time slider's steps).
#[tauri::command]
pub async fn date_epochs(state: S<'_>, layer: String, field: String) -> Result<Vec<String>> {
    state.session.date_epochs(&layer, &field)
}

/// Show a layer's features dated up to a date (`null`: all of them again).
#[tauri::command]
pub async fn set_time_filter(state: S<'_>, filter: Option<jingwei_app::compare::TimeFilter>) -> Result<()> {
    state.session.set_time_filter(filter)
}
