//! # jingwei-viewer
//!
//! Turns workspace layers into renderable scene data. Workspace coordinates are f64 metres of a
//! Gauss-Krüger zone (x ≈ 500,000, y ≈ 3,400,000); everything here is made relative to the
//! workspace origin *before* it becomes f32, so nothing jitters or tears at street level.
//!
//! - [`scene`] (engine-independent): layers → merged meshes per layer (fills, ribbons, markers,
//!   extruded buildings) with styles from [`style`].
//! - [`pick`]: the building a view ray hits first (roof or wall), in f64 workspace metres.
//! - [`render`] (Bevy): an offscreen renderer — no window, no display, software Vulkan where
//!   there is no GPU — used by `jingwei render`, the tests and the desktop app alike.
//! - [`landuse`]: the national land-use classification (2023) and its planning colours (TD/T 1065-2021).
//! - [`terrain`]: the ground from a DEM, and the map draped on it.
//! - [`material`]: the one light material every scene mesh uses.
//! - [`overlay`]: point symbols and labels (bundled CJK font) drawn in screen space over a frame.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod extrude;
pub mod landuse;
pub mod material;
pub mod overlay;
pub mod pick;
pub mod render;
pub mod scene;
pub mod style;
pub mod terrain;
