//! # jingwei-app — the application API
//!
//! Every use case of Jingwei, written once: the desktop app (`src-tauri/`), the `jingwei` CLI
//! and the tests call these functions and get the same answers. A [`Session`] holds what a
//! user has open (workspace, case and incident store, road graph, table order, selection,
//! feeds, the long job under way); the functions take typed inputs and return typed outputs
//! (serialisable, so the front doors hand them on as they are) or one [`Error`].
//!
//! No screen here: no Bevy, Tauri or wgpu. Scenes are built with `jingwei-scene`; whoever
//! draws them (the app's renderer thread, `jingwei-render`) receives them through
//! [`Session::set_scene_sink`] or a [`report::SiteMapRenderer`].
//!
//! - [`roles`]: the one table of layer roles and field-name candidates.
//! - [`data`]: opening catalogs, files and `FILE:LAYER` specs; describing a workspace.
//! - [`session`]: the session and its workspace, layer-tree, explore and save/open use cases.
//! - [`violations`]: the rules run and its findings turned into cases (with the sources that
//!   let reports draw a site map).
//! - [`cases`]: case operations and DTOs; [`report`]: printable case reports.
//! - [`emergency`]: impact, nearest resources (straight or by road), shelters, incidents from
//!   feed events, rings; [`feeds`]: the command panel's live feeds.
//! - [`imagery`]: image files and tile packages as layers, overviews, imagery in the scene
//!   without a frame waiting for it.
//! - [`feature_services`]: WFS and OGC API Features layers, fetched and added like files.
//! - [`planning`]: the planner's 压占分析 (red line against the layers, plane and ellipsoidal
//!   areas, control-line verdicts) and its CSV table.
//! - [`compare`]: comparison views — swipe, split screens, the time slider's epochs.
//! - [`print`](mod@print): print layouts (map sheets at a scale, overlap and balance reports) as PDF or
//!   PNG at 300 dpi.
//! - [`files`]: atomic writes, the user's folders, the recent-workspace list, the actor.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod about;
pub mod cases;
pub mod compare;
pub mod comparing;
pub mod data;
pub mod emergency;
pub mod error;
pub mod feature_services;
pub mod feeds;
pub mod files;
pub mod gateway;
pub mod imagery;
pub mod lifelines;
pub mod planning;
pub mod print;
pub mod report;
pub mod roles;
pub mod scenario;
pub mod session;
pub mod shared;
pub mod shared_link;
mod tiles;
pub mod tileset;
pub mod twin;
pub mod violations;

pub use error::{Error, Result};
pub use session::Session;
