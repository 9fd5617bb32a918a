//! 压占分析 — a red line (用地红线: a project's site) against the layers of the 一张图: per
//! layer and class (地类编码/地类名称, or a control zone's type), and per 坐落单位 where the
//! layer has one, how many parcels (图斑数) it touches and how much of it lies on them — plane
//! and ellipsoidal areas in m², 公顷 and 亩 and as a share of the red line — with a verdict for
//! each control line (永久基本农田 and 生态保护红线 touched, 城镇开发边界 left) and the overlap
//! pieces themselves as a layer.
//!
//! Geometry: candidates from each layer's R-tree, exact intersections by geo's boolean
//! operations in the workspace's projected CRS; areas by [`crate::area`]. A sliver tolerance
//! (m²) keeps touching edges and digitising noise out of the counts and the verdicts.

use geo::{BooleanOps, BoundingRect, Geometry, MultiPolygon};
use serde::Serialize;

use jingwei_layers::{Layer, SpatialIndex, Transformer};

use crate::area::{self, Areas};
use crate::violations::normalise_zone_type;

/// Overlaps smaller than this (m², plane) are slivers by default.
pub const DEFAULT_SLIVER_M2: f64 = 0.01;

/// One layer to overlay.
pub struct OverlapLayer<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its title.
    pub title: &'a str,
    /// The features.
    pub layer: &'a Layer,
    /// Its R-tree.
    pub index: &'a SpatialIndex,
    /// The fields whose values name a class (joined with a space: 地类编码 地类名称); none: one
    /// class, the layer.
    pub class_fields: Vec<usize>,
    /// The 坐落单位 field, where the layer has one.
    pub place_field: Option<usize>,
}

/// The areas of one class of one layer within the red line.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct ClassRow {
    /// The class (the class fields' values), or the layer's title.
    pub class: String,
    /// The 坐落单位, where the layer has one.
    pub place: Option<String>,
    /// Parcels (图斑) the red line overlaps by more than the sliver tolerance.
    pub parcels: usize,
    /// The overlap's areas, m².
    pub areas: Areas,
    /// Share of the red line's plane area, 0–1.
    pub share: f64,
}

/// One layer's overlap.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct LayerOverlap {
    /// The layer's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Per class (and place), largest overlap first.
    pub rows: Vec<ClassRow>,
    /// The sum of the rows.
    pub total: ClassRow,
}

/// Whether the red line meets a control line, and by how much.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct ControlVerdict {
    /// `permanent_basic_farmland`, `ecological_red_line` or `urban_development_boundary`.
    pub line: String,
    /// 是 / 否: touched (farmland, red line) or left (development boundary: some of the red
    /// line lies outside it). `None` when no overlaid layer holds that control line.
    pub hit: Option<bool>,
    /// The area concerned (overlap; for the boundary, the part outside), m².
    pub areas: Areas,
}

/// One overlap piece (for the pieces layer).
#[derive(Debug, Clone)]
pub struct Piece {
    /// The layer (index into the input).
    pub layer: usize,
    /// The row of the parcel in its layer.
    pub row: usize,
    /// Its class.
    pub class: String,
    /// Its place.
    pub place: Option<String>,
    /// The piece, in the workspace CRS.
    pub geometry: MultiPolygon,
    /// Its areas.
    pub areas: Areas,
}

/// The whole answer.
#[derive(Debug, Clone)]
pub struct Overlap {
    /// The red line's own areas.
    pub redline: Areas,
    /// Per layer.
    pub layers: Vec<LayerOverlap>,
    /// The three control lines.
    pub control: Vec<ControlVerdict>,
    /// Every piece above the sliver tolerance.
    pub pieces: Vec<Piece>,
}

/// Why an overlap could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OverlapError {
    /// The red line has no area.
    #[error("the red line has no area (give a polygon)")]
    EmptyRedline,
    /// A point could not be carried to longitude/latitude.
    #[error("a point of {0} cannot be carried to CGCS2000 longitude/latitude")]
    Transform(String),
}

fn as_multi(g: &Geometry) -> MultiPolygon {
    match g {
        Geometry::Polygon(p) => MultiPolygon(vec![p.clone()]),
        Geometry::MultiPolygon(m) => m.clone(),
        Geometry::GeometryCollection(c) => MultiPolygon(c.0.iter().flat_map(|g| as_multi(g).0).collect()),
        _ => MultiPolygon(Vec::new()),
    }
}

fn text(layer: &Layer, row: usize, fields: &[usize]) -> String {
    fields
        .iter()
        .map(|&f| layer.feature(row).value(f).to_string())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Overlay `redline` (polygons in the workspace's projected CRS) on `layers`. `to_lonlat`
/// carries the workspace CRS to CGCS2000 longitude/latitude (for the ellipsoidal areas);
/// overlaps under `sliver_m2` are left out.
pub fn overlap(redline: &Geometry, layers: &[OverlapLayer<'_>], to_lonlat: &Transformer, sliver_m2: f64) -> Result<Overlap, OverlapError> {
    let red = as_multi(redline);
    let red_areas =
        area::areas(&Geometry::MultiPolygon(red.clone()), to_lonlat).ok_or_else(|| OverlapError::Transform("the red line".into()))?;
    if red.0.is_empty() || red_areas.plane_m2 <= 0.0 {
        return Err(OverlapError::EmptyRedline);
    }
    let bbox = red.bounding_rect().ok_or(OverlapError::EmptyRedline)?;
    let env = [bbox.min().x, bbox.min().y, bbox.max().x, bbox.max().y];
    let mut pieces = Vec::new();
    let mut out = Vec::new();
    // Control lines: the overlap with each, and what of the red line the boundary covers.
    let mut control = [Areas::default(); 3];
    const LINES: [&str; 3] = ["permanent_basic_farmland", "ecological_red_line", "urban_development_boundary"];
    for (li, l) in layers.iter().enumerate() {
        let mut rows: Vec<ClassRow> = Vec::new();
        for row in l.index.candidates(env) {
            let Some(g) = l.layer.geometries.geometry(row) else {
                continue;
            };
            let parcel = as_multi(&g);
            if parcel.0.is_empty() {
                continue;
            }
            let piece = red.intersection(&parcel);
            if piece.0.is_empty() {
                continue;
            }
            let a = area::areas(&Geometry::MultiPolygon(piece.clone()), to_lonlat)
                .ok_or_else(|| OverlapError::Transform(format!("layer {}", l.id)))?;
            let class = if l.class_fields.is_empty() {
                l.title.to_owned()
            } else {
                text(l.layer, row, &l.class_fields)
            };
            // Control lines are known by their class (a 三区三线 layer's zone type) or, for a
            // layer of one class, by the layer's title.
            let line = normalise_zone_type(if l.class_fields.is_empty() { l.title } else { &class });
            if let Some(k) = LINES.iter().position(|x| *x == line)
                && a.plane_m2 >= sliver_m2
            {
                control[k] = control[k].plus(a);
            }
            if a.plane_m2 < sliver_m2 {
                continue;
            }
            let place = l.place_field.map(|f| text(l.layer, row, &[f]));
            match rows.iter_mut().find(|r| r.class == class && r.place == place) {
                Some(r) => {
                    r.parcels += 1;
                    r.areas = r.areas.plus(a);
                }
                None => rows.push(ClassRow {
                    class: class.clone(),
                    place: place.clone(),
                    parcels: 1,
                    areas: a,
                    share: 0.0,
                }),
            }
            pieces.push(Piece {
                layer: li,
                row,
                class,
                place,
                geometry: piece,
                areas: a,
            });
        }
        for r in &mut rows {
            r.share = r.areas.plane_m2 / red_areas.plane_m2;
        }
        rows.sort_by(|a, b| b.areas.plane_m2.total_cmp(&a.areas.plane_m2).then(a.class.cmp(&b.class)));
        let total = ClassRow {
            class: l.title.to_owned(),
            place: None,
            parcels: rows.iter().map(|r| r.parcels).sum(),
            areas: rows.iter().fold(Areas::default(), |s, r| s.plus(r.areas)),
            // (A fold from +0: an empty `sum` of floats is −0.)
            share: rows.iter().fold(0.0, |s, r| s + r.areas.plane_m2) / red_areas.plane_m2,
        };
        out.push(LayerOverlap {
            id: l.id.to_owned(),
            title: l.title.to_owned(),
            rows,
            total,
        });
    }
    // Which control lines the layers hold at all (a line none holds gets no verdict).
    let mut present = [false; 3];
    for l in layers {
        let mut classes = std::collections::HashSet::new();
        for r in 0..l.layer.len() {
            classes.insert(if l.class_fields.is_empty() {
                l.title.to_owned()
            } else {
                text(l.layer, r, &l.class_fields)
            });
        }
        for c in classes {
            if let Some(k) = LINES.iter().position(|x| *x == normalise_zone_type(&c)) {
                present[k] = true;
            }
        }
    }
    let control = LINES
        .iter()
        .enumerate()
        .map(|(k, line)| {
            let a = control[k];
            let areas = if k == 2 {
                // The boundary is left: the part of the red line outside it.
                Areas {
                    plane_m2: (red_areas.plane_m2 - a.plane_m2).max(0.0),
                    ellipsoid_m2: (red_areas.ellipsoid_m2 - a.ellipsoid_m2).max(0.0),
                }
            } else {
                a
            };
            ControlVerdict {
                line: (*line).to_owned(),
                hit: present[k].then_some(areas.plane_m2 >= sliver_m2),
                areas,
            }
        })
        .collect();
    Ok(Overlap {
        redline: red_areas,
        layers: out,
        control,
        pieces,
    })
}
