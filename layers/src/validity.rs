//! Geometry validity: find what is wrong with a geometry, and repair it, set it aside, or keep
//! it, as the caller chooses. Every problem is reported with the feature id.

use geo::{Coord, Geometry, LineString, MultiPolygon, Polygon, Validation};
use serde::Serialize;

use crate::wkb::parse_wkb;

/// What is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// A coordinate is NaN or infinite.
    NonFinite,
    /// A part (ring, line, polygon) has no coordinates.
    EmptyPart,
    /// A polygon ring does not end where it starts.
    UnclosedRing,
    /// A ring with fewer than 4 coordinates (3 distinct), or a line with fewer than 2.
    TooShort,
    /// A ring crosses itself, rings cross each other, a hole is outside its shell, or parts
    /// of a multipolygon overlap.
    SelfIntersection,
    /// The coordinates could not be reprojected into the workspace CRS.
    Untransformable,
}

/// What was done about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The geometry was repaired.
    Repaired,
    /// The geometry was set aside (the feature stays, with no geometry).
    Skipped,
    /// Left as it is.
    Kept,
}

/// How to treat invalid geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairMode {
    /// Repair (close rings, drop empty and degenerate parts, make polygons valid with GEOS).
    #[default]
    Repair,
    /// Set the geometry aside.
    Skip,
    /// Report only.
    Keep,
}

/// One problem of one feature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeometryIssue {
    /// Feature id.
    pub fid: i64,
    /// What was wrong.
    pub problem: Problem,
    /// Details (which ring, which index).
    pub detail: String,
    /// What was done.
    pub action: Action,
}

/// Find the problems of a geometry (without changing it).
pub fn problems(g: &Geometry) -> Vec<(Problem, String)> {
    let mut out = Vec::new();
    scan(g, &mut out, "");
    if out.is_empty() {
        let topo: Vec<String> = match g {
            Geometry::Polygon(p) => p.validation_errors().iter().map(ToString::to_string).collect(),
            Geometry::MultiPolygon(m) => m.validation_errors().iter().map(ToString::to_string).collect(),
            _ => Vec::new(),
        };
        if !topo.is_empty() {
            out.push((Problem::SelfIntersection, topo.join("; ")));
        }
    }
    out
}

fn ring_problems(r: &LineString, what: &str, out: &mut Vec<(Problem, String)>) {
    if r.0.is_empty() {
        out.push((Problem::EmptyPart, format!("{what} is empty")));
        return;
    }
    if let Some(i) = r.0.iter().position(|c| !c.x.is_finite() || !c.y.is_finite()) {
        out.push((Problem::NonFinite, format!("{what} has a non-finite coordinate at index {i}")));
    }
    // Open rings are closed (and reported) by the WKB reader; geo cannot hold them.
    let mut distinct = r.0.clone();
    distinct.dedup();
    if distinct.first() == distinct.last() && distinct.len() > 1 {
        distinct.pop();
    }
    if distinct.len() < 3 {
        out.push((
            Problem::TooShort,
            format!("{what} has {} distinct points (3 needed)", distinct.len()),
        ));
    }
}

fn scan(g: &Geometry, out: &mut Vec<(Problem, String)>, prefix: &str) {
    match g {
        Geometry::Point(p) => {
            if !p.x().is_finite() || !p.y().is_finite() {
                out.push((Problem::NonFinite, format!("{prefix}point is not finite")));
            }
        }
        Geometry::MultiPoint(mp) => {
            for (i, p) in mp.0.iter().enumerate() {
                if !p.x().is_finite() || !p.y().is_finite() {
                    out.push((Problem::NonFinite, format!("{prefix}point {i} is not finite")));
                }
            }
        }
        Geometry::LineString(l) => line_problems(l, &format!("{prefix}line"), out),
        Geometry::MultiLineString(ml) => {
            for (i, l) in ml.0.iter().enumerate() {
                line_problems(l, &format!("{prefix}line {i}"), out);
            }
        }
        Geometry::Polygon(p) => polygon_problems(p, prefix, out),
        Geometry::MultiPolygon(mp) => {
            if mp.0.is_empty() {
                out.push((Problem::EmptyPart, format!("{prefix}multipolygon has no polygons")));
            }
            for (i, p) in mp.0.iter().enumerate() {
                polygon_problems(p, &format!("{prefix}polygon {i}: "), out);
            }
        }
        Geometry::GeometryCollection(gc) => {
            for (i, g) in gc.0.iter().enumerate() {
                scan(g, out, &format!("{prefix}part {i}: "));
            }
        }
        Geometry::Line(_) | Geometry::Rect(_) | Geometry::Triangle(_) => {}
    }
}

fn line_problems(l: &LineString, what: &str, out: &mut Vec<(Problem, String)>) {
    if l.0.is_empty() {
        out.push((Problem::EmptyPart, format!("{what} is empty")));
    } else if l.0.len() < 2 {
        out.push((Problem::TooShort, format!("{what} has 1 point")));
    }
    if let Some(i) = l.0.iter().position(|c| !c.x.is_finite() || !c.y.is_finite()) {
        out.push((Problem::NonFinite, format!("{what} has a non-finite coordinate at index {i}")));
    }
}

fn polygon_problems(p: &Polygon, prefix: &str, out: &mut Vec<(Problem, String)>) {
    ring_problems(p.exterior(), &format!("{prefix}exterior ring"), out);
    for (i, r) in p.interiors().iter().enumerate() {
        ring_problems(r, &format!("{prefix}interior ring {i}"), out);
    }
}

/// Check `g`, record its problems for feature `fid`, and treat them as `mode` says.
pub fn check_and_fix(fid: i64, g: &mut Option<Geometry>, mode: RepairMode) -> Vec<GeometryIssue> {
    let Some(geom) = g.as_ref() else { return Vec::new() };
    let found = problems(geom);
    if found.is_empty() {
        return Vec::new();
    }
    let action = match mode {
        RepairMode::Keep => Action::Kept,
        RepairMode::Skip => {
            *g = None;
            Action::Skipped
        }
        RepairMode::Repair => match repair(geom) {
            Some(fixed) => {
                *g = Some(fixed);
                Action::Repaired
            }
            None => {
                *g = None;
                Action::Skipped
            }
        },
    };
    found
        .into_iter()
        .map(|(problem, detail)| GeometryIssue {
            fid,
            problem,
            detail,
            action,
        })
        .collect()
}

/// The finite coordinates of a line, without consecutive repeats.
fn finite_deduped(l: &LineString) -> Vec<Coord> {
    let mut c: Vec<Coord> = l.0.iter().copied().filter(|c| c.x.is_finite() && c.y.is_finite()).collect();
    c.dedup();
    c
}

fn clean_ring(r: &LineString) -> Option<LineString> {
    let mut c = finite_deduped(r);
    if c.first() != c.last()
        && let Some(&f) = c.first()
    {
        c.push(f);
    }
    (c.len() >= 4).then_some(LineString(c))
}

fn clean_polygon(p: &Polygon) -> Option<Polygon> {
    let ext = clean_ring(p.exterior())?;
    let ints = p.interiors().iter().filter_map(clean_ring).collect();
    Some(Polygon::new(ext, ints))
}

fn clean_line(l: &LineString) -> Option<LineString> {
    let c = finite_deduped(l);
    (c.len() >= 2).then_some(LineString(c))
}

/// Repair a geometry: drop non-finite coordinates and empty/degenerate parts, close rings, and
/// make polygons topologically valid with GEOS (through GDAL's MakeValid). `None` when
/// nothing usable is left.
pub fn repair(g: &Geometry) -> Option<Geometry> {
    let cleaned = match g {
        Geometry::Point(p) => (p.x().is_finite() && p.y().is_finite()).then(|| g.clone()),
        Geometry::MultiPoint(mp) => {
            let pts: Vec<_> = mp.0.iter().copied().filter(|p| p.x().is_finite() && p.y().is_finite()).collect();
            (!pts.is_empty()).then_some(Geometry::MultiPoint(geo::MultiPoint(pts)))
        }
        Geometry::LineString(l) => clean_line(l).map(Geometry::LineString),
        Geometry::MultiLineString(ml) => {
            let ls: Vec<_> = ml.0.iter().filter_map(clean_line).collect();
            (!ls.is_empty()).then_some(Geometry::MultiLineString(geo::MultiLineString(ls)))
        }
        Geometry::Polygon(p) => clean_polygon(p).map(Geometry::Polygon),
        Geometry::MultiPolygon(mp) => {
            let ps: Vec<_> = mp.0.iter().filter_map(clean_polygon).collect();
            (!ps.is_empty()).then_some(Geometry::MultiPolygon(MultiPolygon(ps)))
        }
        Geometry::GeometryCollection(gc) => {
            let parts: Vec<_> = gc.0.iter().filter_map(repair).collect();
            (!parts.is_empty()).then_some(Geometry::GeometryCollection(geo::GeometryCollection(parts)))
        }
        other => Some(other.clone()),
    }?;
    let needs_topology = match &cleaned {
        Geometry::Polygon(p) => !p.is_valid(),
        Geometry::MultiPolygon(m) => !m.is_valid(),
        _ => false,
    };
    if !needs_topology {
        return Some(cleaned);
    }
    make_valid_polygonal(&cleaned)
}

fn make_valid_polygonal(g: &Geometry) -> Option<Geometry> {
    use gdal::vector::ToGdal;
    let gg = g.to_gdal().ok()?;
    let fixed = gg.make_valid(&gdal::cpl::CslStringList::new()).ok()?;
    let wkb = fixed.iso_wkb().ok()?;
    let mut polys = Vec::new();
    collect_polygons(parse_wkb(&wkb).ok()?, &mut polys);
    match polys.len() {
        0 => None,
        1 => polys.pop().map(Geometry::Polygon),
        _ => Some(Geometry::MultiPolygon(MultiPolygon(polys))),
    }
}

fn collect_polygons(g: Geometry, out: &mut Vec<Polygon>) {
    match g {
        Geometry::Polygon(p) => out.push(p),
        Geometry::MultiPolygon(m) => out.extend(m.0),
        Geometry::GeometryCollection(gc) => gc.0.into_iter().for_each(|g| collect_polygons(g, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, coord};

    fn ring(c: &[(f64, f64)]) -> LineString {
        LineString(c.iter().map(|&(x, y)| coord! {x: x, y: y}).collect())
    }

    #[test]
    fn bowtie_is_found_and_repaired() {
        let bowtie = Geometry::Polygon(Polygon::new(ring(&[(0., 0.), (2., 2.), (2., 0.), (0., 2.), (0., 0.)]), vec![]));
        let p = problems(&bowtie);
        assert_eq!(p[0].0, Problem::SelfIntersection);
        let mut g = Some(bowtie);
        let issues = check_and_fix(7, &mut g, RepairMode::Repair);
        assert_eq!(issues[0].fid, 7);
        assert_eq!(issues[0].action, Action::Repaired);
        let fixed = g.unwrap();
        assert!(problems(&fixed).is_empty());
        assert!((fixed.unsigned_area() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn unclosed_short_and_nan() {
        let short = Geometry::Polygon(Polygon::new(ring(&[(0., 0.), (1., 0.), (0., 0.)]), vec![]));
        assert!(problems(&short).iter().any(|p| p.0 == Problem::TooShort));
        assert!(repair(&short).is_none());
        let nan = Geometry::LineString(ring(&[(0., 0.), (f64::NAN, 1.), (2., 2.)]));
        assert_eq!(problems(&nan)[0].0, Problem::NonFinite);
        let mut g = Some(nan);
        let issues = check_and_fix(1, &mut g, RepairMode::Skip);
        assert_eq!(issues[0].action, Action::Skipped);
        assert!(g.is_none());
    }
}
