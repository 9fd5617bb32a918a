//! `jingwei-desktop` — the Tauri v2 shell. Commands are thin wrappers over the core crates
//! (see `commands.rs`); the page in `ui/` draws what they return.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

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
            commands::smoke_frames
        ])
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("jingwei-desktop: {e}");
            std::process::exit(1);
        });
}
