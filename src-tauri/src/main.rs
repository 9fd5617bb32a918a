//! `jingwei-desktop` — the Tauri v2 shell. Commands convert the page's arguments, call the
//! application API (`jingwei-app`) and hand its typed results back; the page in `ui/` draws
//! them. The 3D view is the viewer's offscreen Bevy renderer on a thread of its own.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod cases_cmd;
mod command_cmd;
mod commands;
mod imagery_cmd;
mod planning_cmd;
mod scene3d;
mod shared_cmd;
#[cfg(feature = "smoke")]
mod smoke;
mod state;

fn main() {
    jingwei_layers::one_allocator_arena_per_core();
    state::mark_start();
    let builder = tauri::Builder::default().manage(state::AppState::new());
    macro_rules! handlers {
        ($($extra:path),*) => {
            tauri::generate_handler![
                commands::open_demo,
                commands::about,
                commands::layer_geojson,
                commands::initial_view,
                commands::render_view,
                commands::set_layer_visible,
                commands::identify,
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
                commands::set_flatten,
                commands::set_clip,
                commands::surface_point,
                commands::zoom_to_layer,
                commands::add_file,
                commands::cancel_job,
                commands::browse_folder,
                imagery_cmd::imagery_list,
                imagery_cmd::imagery_pending,
                imagery_cmd::imagery_legend,
                planning_cmd::overlap,
                planning_cmd::overlap_csv,
                planning_cmd::overlap_xlsx,
                planning_cmd::review,
                planning_cmd::land_use_balance,
                planning_cmd::land_use_change,
                planning_cmd::redline_from_screen,
                planning_cmd::print_map,
                planning_cmd::print_overlap,
                planning_cmd::print_balance,
                planning_cmd::print_change,
                planning_cmd::set_compare,
                planning_cmd::epochs,
                planning_cmd::show_epoch,
                planning_cmd::date_epochs,
                planning_cmd::set_time_filter,
                imagery_cmd::service_layers,
                imagery_cmd::add_service,
                imagery_cmd::set_imagery_bands,
                imagery_cmd::imagery_2d,
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
                cases_cmd::case_report,
                cases_cmd::case_imagery,
                shared_cmd::shared_connect,
                shared_cmd::shared_disconnect,
                shared_cmd::shared_whoami,
                shared_cmd::shared_list,
                shared_cmd::shared_cases,
                shared_cmd::shared_detail,
                shared_cmd::shared_change,
                command_cmd::feeds_poll,
                command_cmd::incident_from_event,
                command_cmd::incident_place,
                command_cmd::incidents_list,
                command_cmd::incident_select,
                command_cmd::incident_action,
                command_cmd::incident_rings,
                command_cmd::incident_status,
                command_cmd::drill_start,
                command_cmd::drill_state,
                command_cmd::scenario_run,
                command_cmd::scenario_replay,
                command_cmd::scenario_step,
                command_cmd::scenario_clear,
                command_cmd::pipe_topology,
                command_cmd::pipe_burst,
                command_cmd::pipe_trace,
                command_cmd::cameras_seeing,
                command_cmd::camera_viewshed,
                command_cmd::camera_coverage,
                command_cmd::pipe_sensors,
                command_cmd::set_ground_opacity,
                command_cmd::show_underground
                $(, $extra)*
            ]
        };
    }
    // The smoke test's hooks exist only in a build with the `smoke` feature.
    #[cfg(feature = "smoke")]
    let builder = builder.invoke_handler(handlers!(
        smoke::smoke_ready,
        smoke::smoke_frames,
        smoke::smoke_scenario,
        smoke::smoke_add_file,
        smoke::smoke_fit_canvas
    ));
    #[cfg(not(feature = "smoke"))]
    let builder = builder.invoke_handler(handlers!());
    builder.run(tauri::generate_context!()).unwrap_or_else(|e| {
        eprintln!("jingwei-desktop: {e}");
        std::process::exit(1);
    });
}
