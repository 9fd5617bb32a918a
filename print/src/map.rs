//! The map of a printed page: the workspace drawn top-down at a scale into a frame on paper —
//! imagery as one picture at the page's resolution, every visible vector layer as vector paths
//! in its style (land-use colours, categories, graduated fills), buildings as footprints, and
//! extra shapes on top (a red line, overlap pieces) — plus the legend of what was drawn.

use geo::{Geometry, LineString, Polygon};
use jingwei_layers::Workspace;
use jingwei_layers::imagery::Tile;
use jingwei_layers::imagery::warp::Target;
use jingwei_scene::scene::{is_building_layer, subset};
use jingwei_scene::style;

use crate::page::{Item, Page, Rgba, Stroke};

/// Millimetres per inch.
const MM_PER_INCH: f64 = 25.4;

/// Where the ground lands on paper: a rectangle of the page showing the ground about a centre
/// at 1:`scale`, north up (grid north of the workspace CRS).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapFrame {
    /// `[x, y, width, height]` on the page, millimetres.
    pub rect_mm: [f32; 4],
    /// The ground at the frame's centre, workspace metres.
    pub centre_xy: [f64; 2],
    /// The scale's denominator.
    pub scale: f64,
}

impl MapFrame {
    /// Ground metres per paper millimetre.
    pub fn metres_per_mm(&self) -> f64 {
        self.scale / 1000.0
    }

    /// The ground shown, `[xmin, ymin, xmax, ymax]` in workspace metres.
    pub fn ground_extent(&self) -> [f64; 4] {
        let k = self.metres_per_mm();
        let (hw, hh) = (f64::from(self.rect_mm[2]) * k / 2.0, f64::from(self.rect_mm[3]) * k / 2.0);
        [
            self.centre_xy[0] - hw,
            self.centre_xy[1] - hh,
            self.centre_xy[0] + hw,
            self.centre_xy[1] + hh,
        ]
    }

    /// A ground point on the page. The offset from the centre is taken in f64 before it
    /// becomes millimetres, so Gauss-Krüger coordinates lose nothing.
    pub fn to_page(&self, x: f64, y: f64) -> [f32; 2] {
        let k = self.metres_per_mm();
        let r = self.rect_mm;
        [
            r[0] + r[2] / 2.0 + ((x - self.centre_xy[0]) / k) as f32,
            r[1] + r[3] / 2.0 - ((y - self.centre_xy[1]) / k) as f32,
        ]
    }
}

/// How a legend entry looks.
#[derive(Debug, Clone, PartialEq)]
pub enum Swatch {
    /// An area: fill and outline.
    Area(Rgba, Rgba),
    /// A line: colour and width in millimetres.
    Line(Rgba, f32),
    /// A point.
    Point(Rgba),
}

/// One legend entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    /// What it stands for.
    pub label: String,
    /// How it looks.
    pub swatch: Swatch,
}

/// A shape drawn over the layers (a red line, overlap pieces, a selection).
#[derive(Debug, Clone)]
pub struct Extra {
    /// Its legend label.
    pub label: String,
    /// Its geometry, workspace metres.
    pub geometry: Geometry,
    /// Fill.
    pub fill: Option<Rgba>,
    /// Outline.
    pub stroke: Stroke,
}

/// The resolution imagery is composed at for print.
pub const IMAGERY_DPI: f64 = 200.0;

/// What the imagery under a frame must be composed for: the frame's ground in the workspace CRS
/// at [`IMAGERY_DPI`] (at most 4096 pixels a side). The front door composes the visible imagery
/// layers for it and hands the picture to [`draw`].
pub fn imagery_target(crs: &jingwei_layers::Crs, frame: &MapFrame) -> Target {
    let k = IMAGERY_DPI / MM_PER_INCH;
    Target {
        crs: crs.clone(),
        extent: frame.ground_extent(),
        width: (f64::from(frame.rect_mm[2]) * k).round().clamp(1.0, 4096.0) as u32,
        height: (f64::from(frame.rect_mm[3]) * k).round().clamp(1.0, 4096.0) as u32,
    }
}

/// Consecutive vertices closer than this on paper are merged (mm).
const MIN_STEP_MM: f32 = 0.05;

fn ring(l: &LineString, f: &MapFrame) -> Vec<[f32; 2]> {
    let mut out: Vec<[f32; 2]> = Vec::with_capacity(l.0.len());
    for c in &l.0 {
        let p = f.to_page(c.x, c.y);
        if out.last().is_none_or(|q| (q[0] - p[0]).abs() + (q[1] - p[1]).abs() >= MIN_STEP_MM) {
            out.push(p);
        }
    }
    out
}

fn polygon_parts(p: &Polygon, f: &MapFrame, out: &mut Vec<Vec<[f32; 2]>>) {
    out.push(ring(p.exterior(), f));
    for h in p.interiors() {
        out.push(ring(h, f));
    }
}

/// Polygon rings, lines and points of a geometry on the page.
#[derive(Default)]
struct Parts {
    areas: Vec<Vec<[f32; 2]>>,
    lines: Vec<Vec<[f32; 2]>>,
    points: Vec<[f32; 2]>,
}

fn parts(g: &Geometry, f: &MapFrame, out: &mut Parts) {
    match g {
        Geometry::Polygon(p) => polygon_parts(p, f, &mut out.areas),
        Geometry::MultiPolygon(mp) => mp.0.iter().for_each(|p| polygon_parts(p, f, &mut out.areas)),
        Geometry::Rect(r) => polygon_parts(&r.to_polygon(), f, &mut out.areas),
        Geometry::Triangle(t) => polygon_parts(&t.to_polygon(), f, &mut out.areas),
        Geometry::LineString(l) => out.lines.push(ring(l, f)),
        Geometry::MultiLineString(ml) => ml.0.iter().for_each(|l| out.lines.push(ring(l, f))),
        Geometry::Line(l) => out.lines.push(vec![f.to_page(l.start.x, l.start.y), f.to_page(l.end.x, l.end.y)]),
        Geometry::Point(p) => out.points.push(f.to_page(p.x(), p.y())),
        Geometry::MultiPoint(mp) => mp.0.iter().for_each(|p| out.points.push(f.to_page(p.x(), p.y()))),
        Geometry::GeometryCollection(gc) => gc.0.iter().for_each(|g| parts(g, f, out)),
    }
}

fn circle(c: [f32; 2], r: f32) -> Vec<[f32; 2]> {
    (0..16)
        .map(|i| {
            let a = i as f32 / 16.0 * std::f32::consts::TAU;
            [c[0] + r * a.cos(), c[1] + r * a.sin()]
        })
        .collect()
}

fn with_alpha(c: Rgba, k: f32) -> Rgba {
    [c[0], c[1], c[2], (c[3] * k).clamp(0.0, 1.0)]
}

fn darker(c: Rgba) -> Rgba {
    [c[0] * 0.55, c[1] * 0.55, c[2] * 0.55, 1.0]
}

/// Draw the map into `page` (clipped to the frame) and return the legend of what it shows.
/// `imagery`: the visible imagery composed for [`imagery_target`], drawn first.
pub fn draw(ws: &Workspace, frame: &MapFrame, imagery: Option<&Tile>, extras: &[Extra], page: &mut Page) -> Vec<LegendEntry> {
    let ext = frame.ground_extent();
    let mut legend = Vec::new();
    page.items.push(Item::Clip(frame.rect_mm));
    if let Some(tile) = imagery.filter(|t| t.rgba.iter().skip(3).step_by(4).any(|a| *a > 0)) {
        page.items.push(Item::Image {
            rect: frame.rect_mm,
            width: tile.width,
            height: tile.height,
            rgba: std::sync::Arc::new(tile.rgba.clone()),
        });
    }
    let mm_per_m = 1000.0 / frame.scale as f32;
    for wl in ws.layers.iter().filter(|l| l.visible && l.opacity > 0.0) {
        let mut rows: Vec<usize> = wl.index.candidates(ext).collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort_unstable();
        let st = style::for_workspace_layer(wl).unwrap_or_else(|_| style::for_layer(&wl.id, &wl.layer));
        let opacity = wl.opacity.clamp(0.0, 1.0);
        let building = is_building_layer(&wl.id, &wl.layer);
        let (mut has_area, mut has_line, mut has_point) = (false, false, false);
        for &row in &rows {
            let Some(g) = &wl.layer.geometries.geometry(row) else { continue };
            let mut p = Parts::default();
            parts(g, frame, &mut p);
            let class = st.class_of(&wl.layer, row);
            if !p.areas.is_empty() {
                has_area = true;
                let fill = with_alpha(st.fill_for(class), opacity);
                let stroke = if building {
                    Stroke::solid(with_alpha(darker(st.fill), opacity), 0.1)
                } else {
                    let w = if st.stroke_width_m > 0.0 {
                        (st.stroke_width_m * mm_per_m).clamp(0.08, 1.0)
                    } else {
                        0.08
                    };
                    Stroke::solid(with_alpha(st.stroke_for(class), opacity), w)
                };
                page.items.push(Item::Path {
                    parts: p.areas,
                    closed: true,
                    fill: Some(fill),
                    stroke: Some(stroke),
                });
            }
            if !p.lines.is_empty() {
                has_line = true;
                let w = st
                    .line_width_px(&wl.layer, row)
                    .map_or(st.line_width_m * mm_per_m, |px| px * 0.2)
                    .clamp(0.12, 2.5);
                page.items.push(Item::Path {
                    parts: p.lines,
                    closed: false,
                    fill: None,
                    stroke: Some(Stroke::solid(with_alpha(st.stroke_for(class), opacity), w)),
                });
            }
            if !p.points.is_empty() {
                has_point = true;
                let (colour, r) = match st.symbol_of(&wl.layer, row) {
                    Some((s, _)) => (
                        [
                            f32::from(s.color[0]) / 255.0,
                            f32::from(s.color[1]) / 255.0,
                            f32::from(s.color[2]) / 255.0,
                            1.0,
                        ],
                        s.size_px * 0.1,
                    ),
                    None => (st.marker, 0.8),
                };
                for c in p.points {
                    page.items.push(Item::Path {
                        parts: vec![circle(c, r.clamp(0.5, 2.0))],
                        closed: true,
                        fill: Some(with_alpha(colour, opacity)),
                        stroke: Some(Stroke::solid(with_alpha([1.0, 1.0, 1.0, 1.0], opacity), 0.15)),
                    });
                }
            }
        }
        // The legend: the classes drawn in the frame, else the layer as one entry.
        let classes = st.legend(&subset(&wl.layer, &rows, &wl.layer.name));
        if has_area && !classes.is_empty() && !building {
            legend.extend(classes.into_iter().map(|(label, fill)| LegendEntry {
                label,
                swatch: Swatch::Area(with_alpha(fill, opacity), st.stroke),
            }));
        } else if has_area {
            let stroke = if building { darker(st.fill) } else { st.stroke };
            legend.push(LegendEntry {
                label: wl.title.clone(),
                swatch: Swatch::Area(with_alpha(st.fill, opacity), stroke),
            });
        }
        if has_line {
            legend.push(LegendEntry {
                label: wl.title.clone(),
                swatch: Swatch::Line(st.stroke, 0.5),
            });
        }
        if has_point {
            let c = st.symbol.map_or(st.marker, |s| {
                [
                    f32::from(s.color[0]) / 255.0,
                    f32::from(s.color[1]) / 255.0,
                    f32::from(s.color[2]) / 255.0,
                    1.0,
                ]
            });
            legend.push(LegendEntry {
                label: wl.title.clone(),
                swatch: Swatch::Point(c),
            });
        }
    }
    for e in extras {
        let mut p = Parts::default();
        parts(&e.geometry, frame, &mut p);
        let area = !p.areas.is_empty();
        if area {
            page.items.push(Item::Path {
                parts: p.areas,
                closed: true,
                fill: e.fill,
                stroke: Some(e.stroke.clone()),
            });
        }
        if !p.lines.is_empty() {
            page.items.push(Item::Path {
                parts: p.lines,
                closed: false,
                fill: None,
                stroke: Some(e.stroke.clone()),
            });
        }
        legend.push(LegendEntry {
            label: e.label.clone(),
            swatch: if area {
                Swatch::Area(e.fill.unwrap_or([1.0, 1.0, 1.0, 0.0]), e.stroke.colour)
            } else {
                Swatch::Line(e.stroke.colour, e.stroke.width_mm)
            },
        });
    }
    page.items.push(Item::Unclip);
    legend.dedup_by(|a, b| a.label == b.label && a.swatch == b.swatch);
    legend
}

/// The smallest usual scale (`template::USUAL_SCALES`) at which `extent` (workspace metres,
/// with a tenth around it) fits a frame of `w_mm × h_mm`; the largest when none does.
pub fn fitting_scale(extent: [f64; 4], w_mm: f32, h_mm: f32) -> u32 {
    let (gw, gh) = ((extent[2] - extent[0]) * 1.1, (extent[3] - extent[1]) * 1.1);
    for s in crate::template::USUAL_SCALES {
        let k = f64::from(s) / 1000.0;
        if gw <= f64::from(w_mm) * k && gh <= f64::from(h_mm) * k {
            return s;
        }
    }
    // Beyond the usual ones: 1:100 000, 1:200 000, 1:500 000, 1:1 000 000 (the largest).
    let need = (gw / f64::from(w_mm)).max(gh / f64::from(h_mm)) * 1000.0;
    [100_000, 200_000, 500_000]
        .into_iter()
        .find(|s| f64::from(*s) >= need)
        .unwrap_or(1_000_000)
}
