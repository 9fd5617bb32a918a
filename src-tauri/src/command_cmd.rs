//! The emergency command panel's commands, each a call into the session's emergency use
//! cases: feeds, incidents from events or placed on the map, rings, what they reach, the
//! nearest resources by road, the action log, drill mode.

use jingwei_analysis::pipes::TopologyReport;
use jingwei_app::Result;
use jingwei_app::emergency::IncidentDetailDto;
use jingwei_app::feeds::FeedDto;
use jingwei_app::lifelines::{BurstDto, CameraHit, CoverageDto, SensorDto, TraceDto, ViewshedDto};
use jingwei_app::scenario::{ScenarioDto, ScenarioInput};
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

/// Run a what-if scenario (flood, rain, plume, quake) at an incident; it is drawn and logged.
#[tauri::command]
pub async fn scenario_run(state: S<'_>, input: ScenarioInput, width: u32, height: u32, current: Option<View>) -> Result<ScenarioDto> {
    state.session.run_scenario(&input, Canvas { width, height, current })
}

/// Run again a scenario logged on an incident.
#[tauri::command]
pub async fn scenario_replay(state: S<'_>, id: i64, log_id: i64, width: u32, height: u32, current: Option<View>) -> Result<ScenarioDto> {
    state
        .session
        .replay_scenario(&id.to_string(), log_id, Canvas { width, height, current })
}

/// Show step `k` of the last scenario (the time slider); returns the number of steps.
#[tauri::command]
pub async fn scenario_step(state: S<'_>, k: usize) -> Result<usize> {
    state.session.scenario_step(k)
}

/// Take the last scenario (and any lifeline drawing) off the map.
#[tauri::command]
pub async fn scenario_clear(state: S<'_>) -> Result<()> {
    state.session.clear_scenario()
}

/// The pipe network's topology (gaps marked on the map).
#[tauri::command]
pub async fn pipe_topology(state: S<'_>) -> Result<TopologyReport> {
    state.session.pipe_topology()
}

/// Burst isolation for a break on the pipe under the clicked point.
#[tauri::command]
pub async fn pipe_burst(state: S<'_>, x: f32, y: f32, width: u32, height: u32, view: View) -> Result<BurstDto> {
    let at = state.session.pixel_lonlat(&pixel(x, y, width, height, view))?;
    state.session.pipe_burst(
        Some(at),
        None,
        Canvas {
            width,
            height,
            current: Some(view),
        },
    )
}

/// The pipes downstream (or upstream) of a pipe.
#[tauri::command]
pub async fn pipe_trace(state: S<'_>, pipe: i64, downstream: bool) -> Result<TraceDto> {
    state.session.pipe_trace(pipe, downstream)
}

/// The cameras that see the clicked point.
#[tauri::command]
pub async fn cameras_seeing(state: S<'_>, x: f32, y: f32, width: u32, height: u32, view: View) -> Result<Vec<CameraHit>> {
    let [lon, lat] = state.session.pixel_lonlat(&pixel(x, y, width, height, view))?;
    state.session.cameras_seeing(lon, lat)
}

/// What a camera sees (drawn).
#[tauri::command]
pub async fn camera_viewshed(state: S<'_>, fid: i64, width: u32, height: u32, current: Option<View>) -> Result<ViewshedDto> {
    state.session.camera_viewshed(fid, Canvas { width, height, current })
}

/// The share of an incident's area (or a circle about it) the cameras see.
#[tauri::command]
pub async fn camera_coverage(state: S<'_>, id: i64, radius: f64) -> Result<CoverageDto> {
    state.session.camera_coverage(&id.to_string(), radius)
}

/// The pipe sensors' latest readings on the network, alarms drawn in red.
#[tauri::command]
pub async fn pipe_sensors(state: S<'_>) -> Result<Vec<SensorDto>> {
    state.session.pipe_sensors(&jingwei_app::lifelines::demo_pipe_sensors(), &[])
}

/// Make the ground see-through (0–1) to show the pipes beneath, or opaque again (null).
#[tauri::command]
pub async fn set_ground_opacity(state: S<'_>, opacity: Option<f32>) -> Result<()> {
    state.session.set_ground_opacity(opacity)
}

/// Show the pipe layers in 3D under a see-through ground.
#[tauri::command]
pub async fn show_underground(state: S<'_>, opacity: f32) -> Result<Vec<String>> {
    state.session.show_underground(opacity)
}
