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
pub use crate::colour::Rgba;

const fn rgb(r: u8, g: u8, b: u8, a: f32) -> Rgba {
    [r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0, a]
}

/// The ground of a DEM.
pub const TERRAIN: Rgba = rgb(226, 222, 206, 1.0);

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
    /// Width of line features in pixels, whatever the distance, instead of metres (roads scale
    /// it by class).
    pub line_width_px: Option<f32>,
    /// Marker colour and size.
    pub marker: Rgba,
    /// Marker size in metres.
    pub marker_size_m: f32,
    /// Field whose values pick a fill from `categories`.
    pub category_field: Option<String>,
    /// (value, fill) pairs.
    pub categories: Vec<(String, Rgba)>,
    /// (value, outline) pairs: lines of a category in a colour of their own.
    pub category_strokes: Vec<(String, Rgba)>,
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
    /// Fills graduated by a number: (field, ascending breaks, one more fill than breaks).
    pub graduated: Option<(String, Vec<f64>, Vec<Rgba>)>,
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

/// Classes from this on are land-use palette entries.
const LANDUSE_CLASS: usize = 1_000;
/// Classes from this on are bins of a graduated style.
const GRADUATED_CLASS: usize = 100_000;

impl Style {
    fn base(fill: Rgba, stroke: Rgba) -> Style {
        Style {
            fill,
            stroke,
            stroke_width_m: 0.0,
            line_width_m: 3.0,
            line_width_px: None,
            marker: stroke,
            marker_size_m: 12.0,
            category_field: None,
            categories: Vec::new(),
            category_strokes: Vec::new(),
            symbol: None,
            symbol_categories: Vec::new(),
            label_field: None,
            landuse: None,
            graduated: None,
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
        if let Some((f, breaks, _)) = &self.graduated
            && let Some(v) = layer.feature(row).value_by_name(f).and_then(|v| v.as_f64())
            && v.is_finite()
        {
            return GRADUATED_CLASS + breaks.iter().take_while(|b| v >= **b).count();
        }
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
            c if c >= GRADUATED_CLASS => self.graduated.as_ref().map_or(self.fill, |g| g.2[c - GRADUATED_CLASS]),
            c if c >= LANDUSE_CLASS => landuse::fill(landuse::entry(c - LANDUSE_CLASS).2),
            c => self.categories[c - 1].1,
        }
    }

    /// Outline colour of a class: the category's own, else the layer's.
    pub fn stroke_for(&self, class: usize) -> Rgba {
        match class {
            c if c >= 1 && c <= self.categories.len() => {
                let key = &self.categories[c - 1].0;
                self.category_strokes
                    .iter()
                    .find(|(k, _)| k == key)
                    .map_or(self.stroke, |(_, c)| *c)
            }
            _ => self.stroke,
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
                let label = if c >= GRADUATED_CLASS {
                    let (_, b, _) = self.graduated.as_ref().expect("graduated classes come from a graduated style");
                    let k = c - GRADUATED_CLASS;
                    match (k.checked_sub(1).map(|i| b[i]), b.get(k)) {
                        (None, Some(hi)) => format!("< {hi}"),
                        (Some(lo), Some(hi)) => format!("{lo} – {hi}"),
                        (Some(lo), None) => format!("≥ {lo}"),
                        (None, None) => String::new(),
                    }
                } else if c >= LANDUSE_CLASS {
                    let (code, name, _) = landuse::entry(c - LANDUSE_CLASS);
                    format!("{code} {name}")
                } else {
                    self.categories[c - 1].0.clone()
                };
                (label, self.fill_for(c))
            })
            .collect()
    }

    /// Width in pixels for a row, when the style draws lines in pixels: roads by class.
    pub fn line_width_px(&self, layer: &Layer, row: usize) -> Option<f32> {
        let base = self.line_width_px?;
        let k = match layer.feature(row).value_by_name("kind").map(|v| v.to_string()).as_deref() {
            Some("highway") => 2.0,
            Some("major_road") => 1.6,
            Some("path") | Some("ferry") => 0.6,
            Some("rail") => 0.8,
            _ => 1.0,
        };
        Some(base * k)
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
    // What-if scenarios and lifelines (drawn by the command panel).
    if let Some(k) = n.split("scenario_flood_").nth(1).and_then(|r| r.chars().next()) {
        // Flood depth bands: light to dark blue, translucent over the city.
        let (c, a) = match k {
            '1' => (rgb(125, 211, 252, 1.0), 0.55),
            '2' => (rgb(59, 130, 246, 1.0), 0.6),
            _ => (rgb(30, 58, 138, 1.0), 0.65),
        };
        let mut s = Style::base([c[0], c[1], c[2], a], c);
        s.stroke_width_m = 0.0;
        return s;
    }
    if let Some(k) = n.split("scenario_band_").nth(1).and_then(|r| r.chars().next()) {
        // Threshold or intensity bands, strongest first: red, orange, amber, yellow.
        let c = match k {
            '0' => rgb(220, 38, 38, 1.0),
            '1' => rgb(234, 88, 12, 1.0),
            '2' => rgb(245, 158, 11, 1.0),
            _ => rgb(250, 204, 21, 1.0),
        };
        let mut s = Style::base([c[0], c[1], c[2], 0.28], c);
        s.stroke_width_m = 3.0;
        return s;
    }
    if n.contains("scenario_road_closed") {
        let mut s = Style::base(rgb(185, 28, 28, 1.0), rgb(185, 28, 28, 1.0));
        s.line_width_m = 8.0;
        return s;
    }
    if n.contains("pipe_isolated") {
        let mut s = Style::base(rgb(220, 38, 38, 1.0), rgb(220, 38, 38, 1.0));
        s.line_width_m = 7.0;
        return s;
    }
    if n.contains("pipe_cut_off") {
        let mut s = Style::base(rgb(249, 115, 22, 1.0), rgb(249, 115, 22, 1.0));
        s.line_width_m = 5.0;
        return s;
    }
    if n.contains("valve_close") {
        let mut s = Style::base(rgb(22, 163, 74, 1.0), rgb(20, 83, 45, 1.0));
        s.marker = rgb(22, 163, 74, 1.0);
        s.marker_size_m = 18.0;
        return s;
    }
    if n.contains("viewshed") {
        let mut s = Style::base(rgb(34, 197, 94, 0.35), rgb(34, 197, 94, 1.0));
        s.stroke_width_m = 0.0;
        return s;
    }
    if n.contains("sensor_alarm") || n.contains("sensor_ok") {
        let c = if n.contains("alarm") {
            rgb(220, 38, 38, 1.0)
        } else {
            rgb(22, 163, 74, 1.0)
        };
        let mut s = Style::base(c, c);
        s.marker = c;
        s.marker_size_m = 20.0;
        return s;
    }
    if n.contains("camera_point") {
        let mut s = Style::base(rgb(37, 99, 235, 1.0), rgb(30, 64, 175, 1.0));
        s.marker = rgb(37, 99, 235, 1.0);
        s.marker_size_m = 16.0;
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
        // 三区三线 and other control lines, as planning drawings draw them: the ecological
        // protection red line in red over a green tint, permanent basic farmland in ochre over a
        // yellow tint, the urban development boundary as a purple line around the city, river
        // (blue line) protection in blue.
        let mut s = Style::base(rgb(220, 38, 38, 0.0), rgb(220, 38, 38, 1.0));
        s.stroke_width_m = 4.0;
        s.category_field = Some("zone_type".into());
        s.categories = vec![
            ("ecological_red_line".into(), rgb(34, 139, 34, 0.22)),
            ("permanent_basic_farmland".into(), rgb(250, 204, 21, 0.30)),
            ("urban_development_boundary".into(), rgb(147, 51, 234, 0.0)),
            ("river_protection_zone".into(), rgb(37, 99, 235, 0.15)),
        ];
        s.category_strokes = vec![
            ("ecological_red_line".into(), rgb(220, 38, 38, 1.0)),
            ("permanent_basic_farmland".into(), rgb(202, 138, 4, 1.0)),
            ("urban_development_boundary".into(), rgb(147, 51, 234, 1.0)),
            ("river_protection_zone".into(), rgb(37, 99, 235, 1.0)),
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

/// A style file: JSON, every key optional; what it leaves out keeps the layer's default.
///
/// ```json
/// { "fill": "#f4c7a1", "stroke": "#7c3aed", "stroke_width_m": 2, "line_width_m": 6, "opacity": 0.8,
///   "line_width_px": 3,
///   "label": "name",
///   "categorized": { "field": "zone_type", "classes": { "ecological_red_line": "#22c55e" } },
///   "graduated": { "field": "height", "breaks": [24, 100], "colors": ["#fde68a", "#f59e0b", "#b45309"] },
///   "symbol": { "shape": "circle", "color": "#dc2626", "size_px": 12 } }
/// ```
/// Colours are `#rgb`, `#rrggbb`, `#rrggbbaa` or `[r, g, b]` / `[r, g, b, a]` (0–255).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleFile {
    /// Fill of polygons (buildings: walls and roofs).
    pub fill: Option<serde_json::Value>,
    /// Outlines and lines.
    pub stroke: Option<serde_json::Value>,
    /// Polygon outline width in metres (0: none).
    pub stroke_width_m: Option<f32>,
    /// Line width in metres.
    pub line_width_m: Option<f32>,
    /// Line width in pixels at any distance (instead of metres; roads scale it by class).
    pub line_width_px: Option<f32>,
    /// Multiplies the alpha of fill and stroke (0–1).
    pub opacity: Option<f32>,
    /// Field to label features with.
    pub label: Option<String>,
    /// Point markers' size in metres.
    pub marker_size_m: Option<f32>,
    /// Points as screen-space symbols.
    pub symbol: Option<SymbolSpec>,
    /// Fills by the values of a field.
    pub categorized: Option<Categorized>,
    /// Fills by ranges of a number.
    pub graduated: Option<Graduated>,
}

/// A point symbol in a style file.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolSpec {
    /// `circle`, `square`, `diamond` or `triangle`.
    pub shape: String,
    /// Fill colour.
    pub color: serde_json::Value,
    /// Width in pixels.
    pub size_px: f32,
}

/// Fills by value.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Categorized {
    /// The field.
    pub field: String,
    /// Value → colour.
    pub classes: std::collections::BTreeMap<String, serde_json::Value>,
}

/// Fills by ranges.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Graduated {
    /// A numeric field.
    pub field: String,
    /// Ascending class breaks.
    pub breaks: Vec<f64>,
    /// One colour more than breaks: below the first break, …, from the last break on.
    pub colors: Vec<serde_json::Value>,
}

/// What is wrong with a style file, and the layer it belongs to when known.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{problem}", layer.as_ref().map(|l| format!("layer '{l}': style: ")).unwrap_or_default())]
pub struct StyleError {
    /// The layer whose style it is.
    pub layer: Option<String>,
    /// The problem, in one line.
    pub problem: String,
}

impl From<String> for StyleError {
    fn from(problem: String) -> StyleError {
        StyleError { layer: None, problem }
    }
}

impl From<&str> for StyleError {
    fn from(problem: &str) -> StyleError {
        StyleError::from(problem.to_string())
    }
}

/// A colour from a style file.
pub fn parse_colour(v: &serde_json::Value) -> Result<Rgba, StyleError> {
    let bad = || format!("colour {v}: use #rrggbb, #rrggbbaa or [r, g, b(, a)] with 0–255");
    match v {
        serde_json::Value::String(s) => {
            let h = s.strip_prefix('#').ok_or_else(bad)?;
            let h: String = if h.len() == 3 {
                h.chars().flat_map(|c| [c, c]).collect()
            } else {
                h.to_string()
            };
            if !(h.len() == 6 || h.len() == 8) || !h.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad().into());
            }
            let byte = |i: usize| {
                u8::from_str_radix(&h[i..i + 2], 16)
                    .map(|b| f32::from(b) / 255.0)
                    .map_err(|_| bad())
            };
            Ok([byte(0)?, byte(2)?, byte(4)?, if h.len() == 8 { byte(6)? } else { 1.0 }])
        }
        serde_json::Value::Array(a) if a.len() == 3 || a.len() == 4 => {
            let mut c = [0.0, 0.0, 0.0, 1.0];
            for (i, x) in a.iter().enumerate() {
                let x = x.as_f64().filter(|x| (0.0..=255.0).contains(x)).ok_or_else(bad)?;
                c[i] = x as f32 / 255.0;
            }
            Ok(c)
        }
        _ => Err(bad().into()),
    }
}

impl StyleFile {
    /// Read a style from JSON, checking every value.
    pub fn parse(v: &serde_json::Value) -> Result<StyleFile, StyleError> {
        let f: StyleFile = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
        f.apply(Style::base([0.0; 4], [0.0; 4]))?;
        Ok(f)
    }

    /// `base` with this file's settings on top.
    pub fn apply(&self, mut s: Style) -> Result<Style, StyleError> {
        if let Some(c) = &self.fill {
            s.fill = parse_colour(c)?;
        }
        if let Some(c) = &self.stroke {
            s.stroke = parse_colour(c)?;
            s.marker = s.stroke;
        }
        for (name, w) in [
            ("stroke_width_m", self.stroke_width_m),
            ("line_width_m", self.line_width_m),
            ("marker_size_m", self.marker_size_m),
        ] {
            if w.is_some_and(|w| !(0.0..=10_000.0).contains(&w)) {
                return Err(format!("{name} must be between 0 and 10000 metres").into());
            }
        }
        if let Some(px) = self.line_width_px {
            if !(0.5..=64.0).contains(&px) {
                return Err("line_width_px must be between 0.5 and 64".into());
            }
            s.line_width_px = Some(px);
        }
        s.stroke_width_m = self.stroke_width_m.unwrap_or(s.stroke_width_m);
        s.line_width_m = self.line_width_m.unwrap_or(s.line_width_m);
        s.marker_size_m = self.marker_size_m.unwrap_or(s.marker_size_m);
        if let Some(l) = &self.label {
            s.label_field = Some(l.clone());
        }
        if let Some(sym) = &self.symbol {
            let shape = match sym.shape.as_str() {
                "circle" => Shape::Circle,
                "square" => Shape::Square,
                "diamond" => Shape::Diamond,
                "triangle" => Shape::Triangle,
                other => return Err(format!("symbol shape '{other}': use circle, square, diamond or triangle").into()),
            };
            if !(2.0..=64.0).contains(&sym.size_px) {
                return Err("symbol size_px must be between 2 and 64".into());
            }
            let c = parse_colour(&sym.color)?;
            s.symbol = Some(Symbol {
                shape,
                color: [
                    (c[0] * 255.0).round() as u8,
                    (c[1] * 255.0).round() as u8,
                    (c[2] * 255.0).round() as u8,
                ],
                size_px: sym.size_px,
            });
            s.symbol_categories.clear();
        }
        if let Some(c) = &self.categorized {
            s.landuse = None;
            s.category_field = Some(c.field.clone());
            s.categories = c
                .classes
                .iter()
                .map(|(k, v)| parse_colour(v).map(|c| (k.clone(), c)))
                .collect::<Result<_, _>>()?;
        }
        if let Some(g) = &self.graduated {
            if g.colors.len() != g.breaks.len() + 1 {
                return Err(format!(
                    "graduated: {} breaks need {} colors, not {}",
                    g.breaks.len(),
                    g.breaks.len() + 1,
                    g.colors.len()
                )
                .into());
            }
            if g.breaks
                .windows(2)
                .any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
                || g.breaks.iter().any(|b| !b.is_finite())
            {
                return Err("graduated: breaks must be finite and ascending".into());
            }
            let colors = g.colors.iter().map(parse_colour).collect::<Result<_, _>>()?;
            s.landuse = None;
            s.graduated = Some((g.field.clone(), g.breaks.clone(), colors));
        }
        if let Some(o) = self.opacity {
            if !(0.0..=1.0).contains(&o) {
                return Err("opacity must be between 0 and 1".into());
            }
            s.fill[3] *= o;
            s.stroke[3] *= o;
            for (_, c) in &mut s.categories {
                c[3] *= o;
            }
            if let Some((_, _, cs)) = &mut s.graduated {
                for c in cs {
                    c[3] *= o;
                }
            }
        }
        Ok(s)
    }
}

/// The style of a workspace layer: its default, with its style file on top.
pub fn for_workspace_layer(wl: &jingwei_layers::WorkspaceLayer) -> Result<Style, StyleError> {
    let base = for_layer(&wl.id, &wl.layer);
    match &wl.style {
        None => Ok(base),
        Some(v) => StyleFile::parse(v).and_then(|f| f.apply(base)).map_err(|e| StyleError {
            layer: Some(wl.id.clone()),
            problem: e.problem,
        }),
    }
}

/// Check every layer's style file: the first problem, naming the layer.
pub fn check_workspace(ws: &jingwei_layers::Workspace) -> Result<(), StyleError> {
    ws.layers.iter().try_for_each(|wl| for_workspace_layer(wl).map(|_| ()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn heights(values: &[Option<f64>]) -> Layer {
        Layer {
            name: "blocks".into(),
            source_path: "test".into(),
            driver: "test".into(),
            geometry_type: "Polygon".into(),
            crs: None,
            fields: vec![jingwei_layers::FieldDef {
                name: "height".into(),
                alias: String::new(),
                kind: jingwei_layers::FieldKind::Real,
            }],
            columns: vec![jingwei_layers::Column::Real(values.to_vec().into())],
            fids: (1..=values.len() as i64).collect(),
            geometries: vec![None; values.len()].into(),
            encoding: None,
            issues: vec![],
        }
    }

    #[test]
    fn colours_parse_in_every_spelling_and_bad_ones_say_why() {
        assert_eq!(parse_colour(&json!("#ff0000")).unwrap(), [1.0, 0.0, 0.0, 1.0]);
        assert_eq!(parse_colour(&json!("#f00")).unwrap(), [1.0, 0.0, 0.0, 1.0]);
        assert_eq!(parse_colour(&json!("#00000080")).unwrap()[3], 128.0 / 255.0);
        assert_eq!(parse_colour(&json!([0, 255, 0])).unwrap(), [0.0, 1.0, 0.0, 1.0]);
        for bad in [json!("red"), json!("#ff00"), json!([0, 300, 0]), json!(5)] {
            assert!(parse_colour(&bad).unwrap_err().to_string().contains("#rrggbb"), "{bad}");
        }
    }

    #[test]
    fn graduated_styles_bin_numbers_and_name_their_ranges() {
        let f = StyleFile::parse(&json!({
            "graduated": { "field": "height", "breaks": [24, 100], "colors": ["#fde68a", "#f59e0b", "#b45309"] },
            "opacity": 0.5
        }))
        .unwrap();
        let layer = heights(&[Some(10.0), Some(24.0), Some(99.9), Some(300.0), None]);
        let s = f.apply(for_layer("blocks", &layer)).unwrap();
        let fills: Vec<Rgba> = (0..5).map(|r| s.fill_for(s.class_of(&layer, r))).collect();
        assert_eq!(fills[0], [253.0 / 255.0, 230.0 / 255.0, 138.0 / 255.0, 0.5]);
        assert_eq!(fills[1], fills[2], "24 and 99.9 are in one bin");
        assert_ne!(fills[1], fills[3]);
        assert_eq!(fills[4], s.fill, "no value: the default fill");
        let legend: Vec<String> = s.legend(&layer).into_iter().map(|(l, _)| l).collect();
        assert_eq!(legend, ["< 24", "24 – 100", "≥ 100"]);
    }

    #[test]
    fn style_files_refuse_what_they_cannot_draw() {
        for (v, why) in [
            (
                json!({"graduated": {"field": "h", "breaks": [2, 1], "colors": ["#fff", "#000", "#888"]}}),
                "ascending",
            ),
            (json!({"symbol": {"shape": "star", "color": "#fff", "size_px": 10}}), "star"),
            (json!({"opacity": 2}), "opacity"),
            (json!({"stroke": "blue"}), "#rrggbb"),
            (json!({"colour": "#fff"}), "unknown field"),
        ] {
            let e = StyleFile::parse(&v).unwrap_err();
            assert!(e.to_string().contains(why), "{v}: {e}");
        }
    }
}
