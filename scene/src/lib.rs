//! # jingwei-scene
//!
//! Turns workspace layers into scene data that any renderer can draw, with no engine linked.
//! Workspace coordinates are f64 metres of a Gauss-Krüger zone (x ≈ 500,000, y ≈ 3,400,000);
//! everything here is made relative to the workspace origin through one [`local::LocalFrame`]
//! *before* it becomes f32, so nothing jitters or tears at street level.
//!
//! - [`scene`]: layers → merged meshes per layer (fills, ribbons, markers, extruded buildings)
//!   with styles from [`style`], and the highlight of a selection or a case.
//! - [`view`]: the camera ([`view::View`]: framing, pixel rays, projection) and the RGBA
//!   [`view::Frame`]; [`local`]: the workspace ⇄ local conversion; [`colour`]: `Rgba`;
//!   [`frame_png`]: a frame as a PNG quick to make and to open (the app's frames to its page).
//! - [`pick`]: the building a view ray hits first (roof or wall), in f64 workspace metres.
//! - [`landuse`]: the national land-use classification (2023) and its planning colours (TD/T 1065-2021).
//! - [`terrain`]: the ground from a DEM, and the map draped on it.
//! - [`tiles`]: 3D Tiles streamed for a view, as meshes about each tile's own origin.
//! - [`overlay`]: point symbols and labels (bundled CJK font) drawn in screen space over a frame.
//!
//! The Bevy renderer of these scenes is `jingwei-viewer`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod clip;
pub mod colour;
pub mod compare;
pub mod extrude;
pub mod frame_png;
pub mod imagery;
pub mod landuse;
pub mod local;
pub mod lod;
pub mod overlay;
pub mod pick;
pub mod scene;
pub mod style;
pub mod terrain;
pub mod tiles;
pub mod view;
