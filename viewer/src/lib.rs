//! # jingwei-viewer
//!
//! The Bevy renderer of Jingwei's scenes. The scenes themselves — meshes relative to a local
//! origin, styles, terrain, labels, the [`View`](jingwei_scene::view::View) — are built without
//! any engine by `jingwei-scene`; this crate only draws them.
//!
//! - [`render`]: [`render::MapRenderPlugin`] (the materials and shaders a scene needs in any
//!   Bevy app) and an offscreen [`render::Renderer`] — no window, no display, software Vulkan
//!   where there is no GPU — used by `jingwei-render`, the tests and the desktop app alike.
//! - [`material`]: the one light material every scene mesh uses, and the screen-space lines.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod material;
pub mod render;
