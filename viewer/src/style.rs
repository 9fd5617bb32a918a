//! Layer styles: a default per kind of layer, with fills categorised by a field, point symbols
//! by category and labels from a field.

use jingwei_layers::Layer;

use crate::landuse;

pub use crate::overlay::{Shape, Symbol};

const fn sym(shape: Shape, r: u8, g: u8, b: u8, size_px: f32) -> Symbol {
    Symbol {
        shape,
        color: [r, g, b],
        size_px,
    }
}

/// RGBA, sRGB components in 0–1.
pub type Rgba = [f32; 4];

const fn rgb(r: u8, g: u8, b: u8, a: f32) -> Rgba {
    [r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0, a]
}

/// How a layer looks.
#[derive(Debug, Clone)]
pub struct Style {
    /// Fill colour (buildings: wall and roof colour).
    pub fill: Rgba,
    /// Outline or line colour.
    pub stroke: Rgba,
    /// Outline width of polygons (0: none).
    pub stroke_width_m: f32,
    /// Width of line features.
    pub line_width_m: f32,
    /// Marker colour and size.
    pub marker: Rgba,
    /// Marker size in metres.
    pub marker_size_m: f32,
    /// Field whose values pick a fill from `categories`.
    pub category_field: Option<String>,
    /// (value, fill) pairs.
    pub categories: Vec<(String, Rgba)>,
    /// Points as screen-space symbols of this kind (they keep their size at any zoom) instead of
    /// markers in metres; per category of `category_field` from `symbol_categories`.
    pub symbol: Option<Symbol>,
    /// (value, symbol) pairs for points.
    pub symbol_categories: Vec<(String, Symbol)>,
    /// Field whose text labels each feature.
    pub label_field: Option<String>,
    /// Fills from the national land-use classification's planning colours (`landuse`), by a
    /// code field, a name field or OSM land-use kinds; before `categories`.
    pub landuse: Option<(String, LandUseKey)>,
}

/// What a land-use field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandUseKey {
    /// Class codes (`0701`).
    Code,
    /// Class names (`城镇住宅用地`).
    Name,
    /// OpenStreetMap land-use kinds, through `landuse::code_for_osm_kind`.
    OsmKind,
}

/// Classes above this are land-use palette entries.
const LANDUSE_CLASS: usize = 1_000;

impl Style {
    fn base(fill: Rgba, stroke: Rgba) -> Style {
        Style {
            fill,
            stroke,
            stroke_width_m: 0.0,
            line_width_m: 3.0,
            marker: stroke,
            marker_size_m: 12.0,
            category_field: None,
            categories: Vec::new(),
            symbol: None,
            symbol_categories: Vec::new(),
            label_field: None,
            landuse: None,
        }
    }

    /// The symbol of a point row, and its rank among the categories (earlier ranks first).
    pub fn symbol_of(&self, layer: &Layer, row: usize) -> Option<(Symbol, usize)> {
        let default = self.symbol?;
        let value = self
            .category_field
            .as_ref()
            .and_then(|f| layer.feature(row).value_by_name(f))
            .map(|v| v.to_string());
        Some(
            value
                .and_then(|v| self.symbol_categories.iter().position(|(k, _)| *k == v))
                .map_or((default, self.symbol_categories.len()), |i| (self.symbol_categories[i].1, i)),
        )
    }

    /// Index of the category of a row (0 = default fill).
    pub fn class_of(&self, layer: &Layer, row: usize) -> usize {
        if let Some((f, key)) = &self.landuse
            && let Some(v) = layer.feature(row).value_by_name(f)
        {
            let v = v.to_string();
            let code = match key {
                LandUseKey::Code => Some(v.as_str()),
                LandUseKey::Name => landuse::code_of(&v),
                LandUseKey::OsmKind => landuse::code_for_osm_kind(&v),
            };
            if let Some(i) = code.and_then(landuse::entry_of) {
                return LANDUSE_CLASS + i;
            }
        }
        let Some(f) = &self.category_field else { return 0 };
        let Some(v) = layer.feature(row).value_by_name(f) else { return 0 };
        let v = v.to_string();
        self.categories.iter().position(|(k, _)| *k == v).map_or(0, |i| i + 1)
    }

    /// Fill of a category index from [`Style::class_of`].
    pub fn fill_for(&self, class: usize) -> Rgba {
        match class {
            0 => self.fill,
            c if c >= LANDUSE_CLASS => landuse::fill(landuse::entry(c - LANDUSE_CLASS).2),
            c => self.categories[c - 1].1,
        }
    }

    /// Legend entries of the classes present in `layer`: (label, fill), in class order.
    pub fn legend(&self, layer: &Layer) -> Vec<(String, Rgba)> {
        let mut seen: Vec<usize> = (0..layer.len()).map(|r| self.class_of(layer, r)).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.into_iter()
            .filter(|c| *c != 0)
            .map(|c| {
                let label = if c >= LANDUSE_CLASS {
                    let (code, name, _) = landuse::entry(c - LANDUSE_CLASS);
                    format!("{code} {name}")
                } else {
                    self.categories[c - 1].0.clone()
                };
                (label, self.fill_for(c))
            })
            .collect()
    }

    /// Line width for a row: roads by OSM/Tilezen class.
    pub fn line_width_m(&self, layer: &Layer, row: usize) -> f32 {
        match layer.feature(row).value_by_name("kind").map(|v| v.to_string()).as_deref() {
            Some("highway") => 14.0,
            Some("major_road") => 10.0,
            Some("minor_road") => 6.0,
            Some("path") => 2.0,
            Some("rail") => 3.0,
            Some("ferry") => 2.0,
            _ => self.line_width_m,
        }
    }
}

/// The default style of a layer, from its id, name and content.
pub fn for_layer(id: &str, layer: &Layer) -> Style {
    let n = format!("{id} {}", layer.name).to_lowercase();
    // Any polygon layer with a land-use class field: the national classification's colours.
    let field = |names: &[&str]| {
        layer
            .fields
            .iter()
            .find(|f| names.iter().any(|n| f.name.eq_ignore_ascii_case(n)))
            .map(|f| f.name.clone())
    };
    let landuse = field(landuse::CODE_FIELDS)
        .map(|f| (f, LandUseKey::Code))
        .or_else(|| field(landuse::NAME_FIELDS).map(|f| (f, LandUseKey::Name)));
    if let Some(lu) = landuse {
        let mut s = Style::base(rgb(236, 232, 224, 1.0), rgb(120, 120, 120, 1.0));
        s.stroke_width_m = 0.5;
        s.landuse = Some(lu);
        return s;
    }
    if n.contains("incident_ring") {
        // Impact rings: an amber outline over a faint tint.
        let mut s = Style::base(rgb(245, 158, 11, 0.10), rgb(217, 119, 6, 1.0));
        s.stroke_width_m = 4.0;
        return s;
    }
    if n.contains("incident_route") {
        let mut s = Style::base(rgb(29, 78, 216, 1.0), rgb(29, 78, 216, 1.0));
        s.line_width_m = 6.0;
        return s;
    }
    if n.contains("incident_point") {
        let mut s = Style::base(rgb(220, 38, 38, 1.0), rgb(127, 29, 29, 1.0));
        s.marker = rgb(220, 38, 38, 1.0);
        s.marker_size_m = 30.0;
        return s;
    }
    if n.contains("event_point") {
        let mut s = Style::base(rgb(126, 34, 206, 1.0), rgb(88, 28, 135, 1.0));
        s.marker = rgb(126, 34, 206, 1.0);
        s.marker_size_m = 24.0;
        return s;
    }
    if n.contains("alert_area") {
        let mut s = Style::base(rgb(147, 51, 234, 0.08), rgb(126, 34, 206, 1.0));
        s.stroke_width_m = 5.0;
        return s;
    }
    if n.contains("highlight_zone") {
        // The control zone a case breaks: a red tint with a strong outline.
        let mut s = Style::base(rgb(220, 38, 38, 0.22), rgb(185, 28, 28, 1.0));
        s.stroke_width_m = 3.0;
        return s;
    }
    if n.contains("case_permit") {
        // The permit a building is compared with.
        let mut s = Style::base(rgb(37, 99, 235, 0.0), rgb(29, 78, 216, 1.0));
        s.stroke_width_m = 2.0;
        return s;
    }
    if n.contains("highlight") {
        // The feature a case or a selection is about.
        let mut s = Style::base(rgb(220, 38, 38, 1.0), rgb(127, 29, 29, 1.0));
        s.stroke_width_m = 1.5;
        return s;
    }
    if n.contains("building") {
        return Style::base(rgb(222, 214, 204, 1.0), rgb(150, 140, 130, 1.0));
    }
    if n.contains("water") || n.contains("river") && !n.contains("protection") {
        let mut s = Style::base(rgb(150, 196, 232, 1.0), rgb(110, 160, 210, 1.0));
        s.stroke_width_m = 0.0;
        return s;
    }
    if n.contains("landuse") {
        let mut s = Style::base(rgb(236, 232, 224, 1.0), rgb(200, 200, 200, 1.0));
        // OSM kinds read in the national planning colours where they have a counterpart.
        s.landuse = Some(("kind".into(), LandUseKey::OsmKind));
        s.category_field = Some("kind".into());
        let green = rgb(190, 222, 170, 1.0);
        s.categories = vec![
            ("park".into(), green),
            ("grass".into(), green),
            ("garden".into(), green),
            ("forest".into(), rgb(160, 205, 140, 1.0)),
            ("natural_wood".into(), rgb(160, 205, 140, 1.0)),
            ("recreation_ground".into(), green),
            ("residential".into(), rgb(240, 226, 214, 1.0)),
            ("commercial".into(), rgb(244, 200, 200, 1.0)),
            ("retail".into(), rgb(244, 200, 200, 1.0)),
            ("hospital".into(), rgb(250, 210, 230, 1.0)),
            ("school".into(), rgb(250, 236, 190, 1.0)),
            ("parking".into(), rgb(225, 225, 225, 1.0)),
            ("pedestrian".into(), rgb(230, 228, 236, 1.0)),
        ];
        return s;
    }
    if n.contains("road") {
        return Style::base(rgb(255, 255, 255, 1.0), rgb(120, 124, 132, 1.0));
    }
    if n.contains("control") || n.contains("zone") || n.contains("protection") {
        // Control lines: a translucent tint and a strong outline.
        let mut s = Style::base(rgb(220, 38, 38, 0.0), rgb(220, 38, 38, 1.0));
        s.stroke_width_m = 4.0;
        s.category_field = Some("zone_type".into());
        s.categories = vec![
            ("ecological_red_line".into(), rgb(34, 139, 34, 0.0)),
            ("permanent_basic_farmland".into(), rgb(234, 179, 8, 0.0)),
            ("urban_development_boundary".into(), rgb(147, 51, 234, 0.0)),
            ("river_protection_zone".into(), rgb(37, 99, 235, 0.0)),
        ];
        return s;
    }
    if n.contains("resource") || n.contains("shelter") || n.contains("应急") {
        // Emergency resources by category, readable at any zoom, named.
        let mut s = Style::base(rgb(22, 163, 74, 1.0), rgb(21, 128, 61, 1.0));
        s.category_field = Some("category".into());
        s.symbol = Some(sym(Shape::Circle, 100, 116, 139, 12.0));
        s.symbol_categories = vec![
            ("hospital".into(), sym(Shape::Square, 220, 38, 38, 14.0)),
            ("fire_station".into(), sym(Shape::Triangle, 234, 88, 12, 16.0)),
            ("shelter".into(), sym(Shape::Circle, 22, 163, 74, 13.0)),
            ("warehouse".into(), sym(Shape::Diamond, 37, 99, 235, 14.0)),
        ];
        s.marker = rgb(22, 163, 74, 1.0);
        s.label_field = Some("name".into());
        return s;
    }
    if n.contains("poi") || n.contains("place") {
        let mut s = Style::base(rgb(180, 180, 190, 1.0), rgb(109, 40, 217, 1.0));
        s.symbol = Some(sym(Shape::Circle, 124, 58, 237, 8.0));
        s.marker = rgb(124, 58, 237, 1.0);
        s.label_field = Some("name".into());
        return s;
    }
    if n.contains("permit") {
        let mut s = Style::base(rgb(37, 99, 235, 0.0), rgb(37, 99, 235, 1.0));
        s.stroke_width_m = 1.0;
        return s;
    }
    let mut s = Style::base(rgb(180, 180, 190, 1.0), rgb(234, 88, 12, 1.0));
    s.marker_size_m = 14.0;
    s
}
