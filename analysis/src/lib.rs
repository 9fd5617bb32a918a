//! # jingwei-analysis
//!
//! The violation rules (无证、超证、占用管控区、新增/扩建) and their geometry core: how much of
//! each building its permits cover (exactly, as the area of the intersections), and which control
//! zones each building touches and by how much. No UI dependencies.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod coverage;
pub mod grid;
pub mod impact;
pub mod routing;
pub mod violations;
pub mod zones;

use geo::{BoundingRect, Geometry, Polygon};
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

/// A polygon's envelope as an R-tree box.
pub(crate) fn aabb(p: &Polygon) -> Option<AABB<[f64; 2]>> {
    let r = p.bounding_rect()?;
    Some(AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]))
}
