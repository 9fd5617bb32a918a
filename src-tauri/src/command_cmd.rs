//! The emergency command panel's commands, each a call into the session's emergency use
//! cases: feeds, incidents from events or placed on the map, rings, what they reach, the
//! nearest resources by road, the action log, drill mode.

use jingwei_app::Result;
use jingwei_app::emergency::IncidentDetailDto;
use jingwei_app::feeds::FeedDto;
use jingwei_app::session::{Canvas, DrillDto};
use jingwei_cases::incidents::{Incident, LogEntry};
use jingwei_scene::view::View;
use tauri::State;

use crate::commands::pixel;
use crate::state::AppState;

type S<'a> = State<'a, AppState>;

/// Poll every feed once (the local replay server and the feeds start on the first call).
#[tauri::command]
pub async fn feeds_poll(state: S<'_>) -> Result<Vec<FeedDto>> {
    state.session.poll_feeds().await
}

/// Open an incident from a feed event.
#[tauri::command]
pub async fn incident_from_event(state: S<'_>, feed: usize, event_id: String) -> Result<Incident> {
    state.session.incident_from_event(feed, &event_id).await
}

/// Place an incident by hand where the map was clicked.
#[tauri::command]
pub async fn incident_place(state: S<'_>, kind: String, x: f32, y: f32, width: u32, height: u32, view: View) -> Result<Incident> {
    state.session.place_incident(&kind, &pixel(x, y, width, height, view))
}

/// Open incidents, newest first (marked on the map).
#[tauri::command]
pub async fn incidents_list(state: S<'_>) -> Result<Vec<Incident>> {
    state.session.incidents()
}

/// Select an incident: rings, what they reach, nearest resources by road, log, view.
#[tauri::command]
pub async fn incident_select(state: S<'_>, id: i64, width: u32, height: u32, current: Option<View>) -> Result<IncidentDetailDto> {
    state.session.select_incident(&id.to_string(), Canvas { width, height, current })
}

/// Change an incident's impact rings (metres).
#[tauri::command]
pub async fn incident_rings(state: S<'_>, id: i64, rings: Vec<f64>) -> Result<Incident> {
    state.session.set_incident_rings(&id.to_string(), &rings)
}

/// Record an action on an incident; returns its log.
#[tauri::command]
pub async fn incident_action(state: S<'_>, id: i64, text: String) -> Result<Vec<LogEntry>> {
    state.session.log_incident_action(&id.to_string(), &text)
}

/// Set an incident's status.
#[tauri::command]
pub async fn incident_status(state: S<'_>, id: i64, status: String) -> Result<Incident> {
    state.session.set_incident_status(&id.to_string(), &status)
}

/// Start a drill: from now on the panel works on a marked copy of the workspace.
#[tauri::command]
pub async fn drill_start(state: S<'_>) -> Result<DrillDto> {
    state.session.drill_start()
}

/// Whether a drill is on.
#[tauri::command]
pub async fn drill_state(state: S<'_>) -> Result<DrillDto> {
    state.session.drill_state()
}
