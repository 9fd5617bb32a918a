//! # jingwei-viewer
//!
//! Turns workspace layers into renderable scene data. Workspace coordinates are f64 metres of a
//! Gauss-Krüger zone (x ≈ 500,000, y ≈ 3,400,000); everything here is made relative to the
//! workspace origin *before* it becomes f32, so nothing jitters or tears at street level.
//!
//! This crate will host the Bevy plugins (scene, camera, picking, headless rendering) of the
//! scene issue; today it holds the engine-independent part: building extrusion into compact
//! local-origin meshes.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod extrude;
