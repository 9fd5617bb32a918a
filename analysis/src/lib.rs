//! # jingwei-analysis
//!
//! The geometry core of the violation rules: how much of each building its permits cover
//! (exactly, as the area of the intersections), and which control zones each building touches.
//! No UI dependencies.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod coverage;
pub mod zones;
