//! `jingwei-desktop` — the Tauri v2 shell. Commands are thin wrappers over the core crates
//! (see `commands.rs`); the page in `ui/` draws what they return.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod cases_cmd;
mod command_cmd;
mod commands;
mod scene3d;

fn main() {
    commands::mark_start();
    tauri::Builder::default()
        .manage(commands::AppState::default())
        .invoke_handler(tauri::generate_handler![
            commands::open_demo,
            commands::layer_geojson,
            commands::smoke_ready,
            commands::initial_view,
            commands::render_view,
            commands::set_layer_visible,
            commands::identify,
            commands::smoke_frames,
            commands::smoke_add_file,
            commands::smoke_fit_canvas,
            commands::search_features,
            commands::fly_to_feature,
            commands::cursor_position,
            commands::attribute_page,
            commands::select_features,
            commands::measure_height,
            commands::save_png,
            commands::recent_workspaces,
            commands::workspace_save,
            commands::workspace_open,
            commands::set_layer_opacity,
            commands::move_layer,
            commands::remove_layer,
            commands::zoom_to_layer,
            commands::add_file,
            commands::cancel_job,
            commands::browse_folder,
            cases_cmd::run_violations,
            cases_cmd::list_cases,
            cases_cmd::select_case,
            cases_cmd::clear_selection,
            cases_cmd::set_case_status,
            cases_cmd::assign_case,
            cases_cmd::add_case_note,
            cases_cmd::attach_case_file,
            cases_cmd::flag_building,
            cases_cmd::flag_polygon,
            command_cmd::feeds_poll,
            command_cmd::incident_from_event,
            command_cmd::incident_place,
            command_cmd::incidents_list,
            command_cmd::incident_select,
            command_cmd::incident_action,
            command_cmd::incident_rings,
            command_cmd::incident_status,
            command_cmd::drill_start,
            command_cmd::drill_state
        ])
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("jingwei-desktop: {e}");
            std::process::exit(1);
        });
}
