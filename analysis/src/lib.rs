//! # jingwei-analysis
//!
//! The violation rules (无证、超证、占用管控区、新增/扩建) and their geometry core: how much of
//! each building its permits cover (exactly, as the area of the intersections), and which control
//! zones each building touches and by how much; the planner's 压占分析 ([`overlap`]) with plane
//! and ellipsoidal areas ([`area`]); impact rings and routing for commanders. No UI dependencies.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod area;
pub mod balance;
pub mod compliance;
pub mod coverage;
pub mod grid;
pub mod impact;
pub mod overlap;
pub mod pipes;
pub mod routing;
pub mod scenario;
pub mod violations;
pub mod zones;

use geo::{Geometry, Polygon};
use std::path::PathBuf;

/// Why an analysis could not run on its inputs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    /// The user named a field the layer does not have.
    #[error("{}: layer '{layer}' has no field '{field}' (fields: {available})", path.display())]
    NoField {
        /// The layer's file.
        path: PathBuf,
        /// The layer.
        layer: String,
        /// The field asked for.
        field: String,
        /// The fields it has, comma-separated.
        available: String,
    },
    /// A layer an analysis was told to use is not in the workspace.
    #[error("the workspace has no layer '{0}'")]
    NoLayer(String),
    /// A roads layer that cannot become a network.
    #[error("{}: layer '{layer}' {problem}", path.display())]
    Roads {
        /// The layer's file.
        path: PathBuf,
        /// The layer.
        layer: String,
        /// What is wrong with it.
        problem: String,
    },
}
use rstar::AABB;

/// The polygons of a polygonal geometry (none for anything else).
pub(crate) fn polygons(g: &Geometry) -> Vec<&Polygon> {
    match g {
        Geometry::Polygon(p) => vec![p],
        Geometry::MultiPolygon(m) => m.0.iter().collect(),
        _ => Vec::new(),
    }
}

/// Call `f` on each polygon of a polygonal geometry (without collecting them).
pub(crate) fn for_each_polygon(g: &Geometry, mut f: impl FnMut(&Polygon)) {
    match g {
        Geometry::Polygon(p) => f(p),
        Geometry::MultiPolygon(m) => m.0.iter().for_each(f),
        _ => {}
    }
}

/// A polygon's envelope (its exterior's) as an R-tree box.
pub(crate) fn part_aabb(p: &jingwei_layers::geoms::PartRef<'_>) -> Option<AABB<[f64; 2]>> {
    let e = p.envelope()?;
    Some(AABB::from_corners([e[0], e[1]], [e[2], e[3]]))
}

/// A fixed pseudo-random sequence in [0, 1) (xorshift64 from `seed`, non-zero), for tests that
/// scatter shapes without a random crate.
#[cfg(test)]
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> f64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A polygon's envelope as an R-tree box.
#[cfg(test)]
pub(crate) fn aabb(p: &Polygon) -> Option<AABB<[f64; 2]>> {
    let r = geo::BoundingRect::bounding_rect(p)?;
    Some(AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]))
}
