//! WMTS 1.0.0: capabilities, tile matrix sets made usable, and tiles by KVP or REST.
//!
//! The quirks of real services, each fixed here and named in [`Grid::fixes`]:
//! - `TopLeftCorner` in the CRS's EPSG axis order (EPSG:4490 and 4326 are latitude first, the
//!   CGCS2000 Gauss-Krüger zones northing first),
//!   and services that write longitude first anyway (a "latitude" beyond ±90 gives it away);
//! - scale denominators computed for 96-dpi pixels (天地图's `c` and `w` sets) instead of the
//!   standard 0.28 mm: where a matrix spans the world, its width in tiles says which, and the
//!   resolution is snapped to exactly a world per matrix;
//! - an implausible `TopLeftCorner` at another corner of the world (天地图's `w` set publishes
//!   +20037508 −20037508): a world set starts at the top left;
//! - matrix identifiers that are not level numbers (`1…18`, `00…`, `EPSG:4326:0`): used
//!   verbatim, never counted;
//! - a key (`tk`) carried on GetTile as well as GetCapabilities (see [`crate::http::Client`]);
//! - `urn:ogc:def:crs:EPSG::4490` spelled several ways (see [`crate::crs`]).

use std::sync::Arc;

use jingwei_layers::Crs;
use jingwei_layers::imagery::{Legend, Level, Tile, TileError, TileGrid, TileSource};
use roxmltree::Node;

use crate::http::{self, Client, TileStore, child, redact, text};
use crate::{DiskCache, Opened, Result, ServiceError, ServiceSpec};

/// The standard pixel: 0.28 mm.
const STANDARD_PIXEL_M: f64 = 0.000_28;
/// A 96-dpi pixel.
const DPI96_PIXEL_M: f64 = 0.0254 / 96.0;

/// A service's capabilities, as far as tiles go.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    /// The service's title.
    pub title: String,
    /// The GetTile KVP endpoint, when published.
    pub get_tile_kvp: Option<String>,
    /// Layers.
    pub layers: Vec<LayerInfo>,
    /// Tile matrix sets.
    pub sets: Vec<MatrixSet>,
}

/// One layer.
#[derive(Debug, Clone, Default)]
pub struct LayerInfo {
    /// Identifier (what requests name).
    pub identifier: String,
    /// Title.
    pub title: String,
    /// Image formats.
    pub formats: Vec<String>,
    /// Styles: identifier and whether it is the default.
    pub styles: Vec<(String, bool)>,
    /// Its styles' legend pictures: (style identifier, URL).
    pub legends: Vec<(String, String)>,
    /// Tile matrix sets it is published in.
    pub sets: Vec<String>,
    /// REST templates of tiles: format and template.
    pub templates: Vec<(String, String)>,
    /// `[min_lon, min_lat, max_lon, max_lat]`.
    pub wgs84_bbox: Option<[f64; 4]>,
}

/// One tile matrix set as published.
#[derive(Debug, Clone, Default)]
pub struct MatrixSet {
    /// Identifier.
    pub identifier: String,
    /// The CRS as spelled.
    pub crs_name: String,
    /// Matrices.
    pub matrices: Vec<Matrix>,
}

/// One tile matrix as published.
#[derive(Debug, Clone, Default)]
pub struct Matrix {
    /// Identifier (verbatim in requests).
    pub identifier: String,
    /// Scale denominator.
    pub scale: f64,
    /// `TopLeftCorner` as written (in the CRS's axis order, in principle).
    pub top_left: [f64; 2],
    /// Tile width and height in pixels.
    pub tile: [u32; 2],
    /// Tiles across and down.
    pub size: [u32; 2],
}

fn children<'a, 'i: 'a>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children().filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn pair(s: &str) -> Option<[f64; 2]> {
    let v: Vec<f64> = s.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    (v.len() == 2).then(|| [v[0], v[1]])
}

impl Capabilities {
    /// Parse a capabilities document.
    pub fn parse(xml: &str) -> std::result::Result<Capabilities, String> {
        let doc = http::parse_xml(xml).map_err(|e| format!("not XML: {e}"))?;
        let root = doc.root_element();
        if root.tag_name().name() != "Capabilities" {
            if let Some(why) = http::exception_text(xml) {
                return Err(format!("the service answered an exception: {why}"));
            }
            return Err(format!("not WMTS capabilities (the document is a {})", root.tag_name().name()));
        }
        let mut caps = Capabilities {
            title: text(child(root, "ServiceIdentification").and_then(|s| child(s, "Title"))),
            ..Default::default()
        };
        // The GetTile KVP endpoint.
        for op in root.descendants().filter(|n| n.is_element() && n.tag_name().name() == "Operation") {
            if op.attribute("name") != Some("GetTile") {
                continue;
            }
            for get in op.descendants().filter(|n| n.is_element() && n.tag_name().name() == "Get") {
                let href = get.attributes().find(|a| a.name() == "href").map(|a| a.value().to_owned());
                let encodings: Vec<String> = get
                    .descendants()
                    .filter(|n| n.is_element() && n.tag_name().name() == "Value")
                    .map(|n| text(Some(n)))
                    .collect();
                if encodings.is_empty() || encodings.iter().any(|e| e.eq_ignore_ascii_case("KVP")) {
                    caps.get_tile_kvp = caps.get_tile_kvp.or(href);
                }
            }
        }
        let contents = child(root, "Contents").ok_or("no Contents")?;
        for l in children(contents, "Layer") {
            let bbox = child(l, "WGS84BoundingBox").and_then(|b| {
                let lo = pair(&text(child(b, "LowerCorner")))?;
                let hi = pair(&text(child(b, "UpperCorner")))?;
                Some([lo[0], lo[1], hi[0], hi[1]])
            });
            caps.layers.push(LayerInfo {
                identifier: text(child(l, "Identifier")),
                title: text(child(l, "Title")),
                formats: children(l, "Format").map(|f| text(Some(f))).collect(),
                styles: children(l, "Style")
                    .map(|s| (text(child(s, "Identifier")), s.attribute("isDefault") == Some("true")))
                    .collect(),
                legends: children(l, "Style")
                    .filter_map(|s| Some((text(child(s, "Identifier")), http::legend_url(s)?)))
                    .collect(),
                sets: children(l, "TileMatrixSetLink").map(|s| text(child(s, "TileMatrixSet"))).collect(),
                templates: children(l, "ResourceURL")
                    .filter(|r| r.attribute("resourceType").is_none_or(|t| t == "tile"))
                    .filter_map(|r| Some((r.attribute("format").unwrap_or("").to_owned(), r.attribute("template")?.to_owned())))
                    .collect(),
                wgs84_bbox: bbox,
            });
        }
        for s in children(contents, "TileMatrixSet") {
            let mut set = MatrixSet {
                identifier: text(child(s, "Identifier")),
                crs_name: text(child(s, "SupportedCRS")),
                matrices: Vec::new(),
            };
            for m in children(s, "TileMatrix") {
                let num = |name: &str| text(child(m, name)).parse::<f64>().ok();
                let matrix = Matrix {
                    identifier: text(child(m, "Identifier")),
                    scale: num("ScaleDenominator").ok_or_else(|| format!("set {}: a matrix without ScaleDenominator", set.identifier))?,
                    top_left: pair(&text(child(m, "TopLeftCorner")))
                        .ok_or_else(|| format!("set {}: a matrix without TopLeftCorner", set.identifier))?,
                    tile: [num("TileWidth").unwrap_or(256.0) as u32, num("TileHeight").unwrap_or(256.0) as u32],
                    size: [num("MatrixWidth").unwrap_or(1.0) as u32, num("MatrixHeight").unwrap_or(1.0) as u32],
                };
                set.matrices.push(matrix);
            }
            caps.sets.push(set);
        }
        if caps.layers.is_empty() {
            return Err("the service publishes no layer".into());
        }
        Ok(caps)
    }
}

/// A tile matrix set made usable: its CRS, levels in east/north order, the identifiers to ask
/// for, and what had to be fixed.
#[derive(Debug, Clone)]
pub struct Grid {
    /// The grid (extent: the layer's, else the matrices').
    pub grid: TileGrid,
    /// Per level, the matrix identifier.
    pub ids: Vec<String>,
    /// Quirks that were fixed, in words.
    pub fixes: Vec<String>,
}

/// Make `set` usable for a layer with `bbox` (WGS84, for telling axis orders apart).
pub fn grid_of(set: &MatrixSet, bbox: Option<[f64; 4]>) -> std::result::Result<Grid, String> {
    let crs = crate::crs::crs_of(&set.crs_name).ok_or_else(|| format!("set {}: unknown CRS '{}'", set.identifier, set.crs_name))?;
    let crs84 = crate::crs::is_crs84(&set.crs_name);
    let mpu = crate::crs::metres_per_unit(&crs);
    let half = crate::crs::world_half_span(&crs);
    let mut fixes: Vec<String> = Vec::new();
    let mut note = |s: String| {
        if !fixes.contains(&s) {
            fixes.push(s);
        }
    };
    // The layer's box in the set's CRS, to test corners against.
    let layer_box = bbox.and_then(|b| {
        let b = if crs.epsg == Some(3857) {
            [b[0], b[1].max(-85.05), b[2], b[3].min(85.05)]
        } else {
            b
        };
        jingwei_layers::workspace::extent_in(&Crs::from_epsg(4326).ok()?, b, &crs).ok()
    });
    let mut levels = Vec::new();
    let mut ids = Vec::new();
    for m in &set.matrices {
        let mut res = m.scale * STANDARD_PIXEL_M / mpu;
        // East/north order of the corner.
        let [a, b] = m.top_left;
        let mut corner = if crs.authority_north_first && !crs84 {
            if crs.is_geographic() && a.abs() > 90.0 + 1e-9 {
                note(format!("set {}: TopLeftCorner written longitude first", set.identifier));
                [a, b]
            } else {
                [b, a]
            }
        } else {
            [a, b]
        };
        if let Some(h) = half {
            let at = |v: f64, w: f64| (v.abs() - w).abs() <= w * 1e-6;
            let hy = if crs.is_geographic() { 90.0 } else { h };
            // A world corner that is not the top-left one.
            if at(corner[0], h) && (at(corner[1], hy) || at(corner[1], h)) && !(corner[0] < 0.0 && corner[1] > 0.0) {
                note(format!(
                    "set {}: TopLeftCorner {a} {b} is not the world's top left; taken as {} {}",
                    set.identifier,
                    -h,
                    if crs.is_geographic() { 90.0 } else { h }
                ));
                corner = [-h, if crs.is_geographic() { 90.0 } else { h }];
            }
            // Does a matrix starting at the world's left edge span the world?
            if at(corner[0], h) {
                let world = 2.0 * h;
                let across = f64::from(m.size[0]) * f64::from(m.tile[0]);
                let r = across * res / world;
                let r96 = r * DPI96_PIXEL_M / STANDARD_PIXEL_M;
                if (r96 - 1.0).abs() < 0.01 && (r - 1.0).abs() > 0.01 {
                    note(format!(
                        "set {}: scale denominators are for 96-dpi pixels; resolutions snapped to the matrix widths",
                        set.identifier
                    ));
                    res = world / across;
                } else if (r - 1.0).abs() < 0.01 {
                    res = world / across;
                }
            }
        } else if let Some(lb) = layer_box {
            // A regional set: the corner's order is the one whose matrix covers the layer.
            let covers = |c: [f64; 2]| {
                let (w, h) = (f64::from(m.size[0] * m.tile[0]) * res, f64::from(m.size[1] * m.tile[1]) * res);
                lb[0] >= c[0] - w * 0.01 && lb[2] <= c[0] + w * 1.01 && lb[3] <= c[1] + h * 0.01 && lb[1] >= c[1] - h * 1.01
            };
            if !covers(corner) && covers([corner[1], corner[0]]) {
                note(format!(
                    "set {}: TopLeftCorner read in the other axis order (the layer lies there)",
                    set.identifier
                ));
                corner = [corner[1], corner[0]];
            }
        }
        levels.push(Level {
            res: [res, res],
            origin: corner,
            tile: m.tile,
            matrix: m.size,
        });
        ids.push(m.identifier.clone());
    }
    if levels.is_empty() {
        return Err(format!("set {}: no tile matrix", set.identifier));
    }
    // The extent: the layer's box within the coarsest matrix's coverage.
    let coarse = levels.iter().max_by(|x, y| x.res[0].total_cmp(&y.res[0])).expect("not empty");
    let [sx, sy] = coarse.tile_span();
    let cover = [
        coarse.origin[0],
        coarse.origin[1] - sy * f64::from(coarse.matrix[1]),
        coarse.origin[0] + sx * f64::from(coarse.matrix[0]),
        coarse.origin[1],
    ];
    let extent = match layer_box {
        Some(b) => [b[0].max(cover[0]), b[1].max(cover[1]), b[2].min(cover[2]), b[3].min(cover[3])],
        None => cover,
    };
    let extent = if extent[0] < extent[2] && extent[1] < extent[3] {
        extent
    } else {
        cover
    };
    Ok(Grid {
        grid: TileGrid { crs, levels, extent },
        ids,
        fixes,
    })
}

/// Fetch and parse the capabilities of `spec`'s service.
pub fn fetch_capabilities(spec: &ServiceSpec) -> Result<Capabilities> {
    let client = Client::new(spec)?;
    let url = if spec.url.to_ascii_lowercase().contains("request=getcapabilities") || spec.url.to_ascii_lowercase().ends_with(".xml") {
        spec.url.clone()
    } else {
        http::with_params(
            &spec.url,
            &[
                ("SERVICE".into(), "WMTS".into()),
                ("REQUEST".into(), "GetCapabilities".into()),
                ("VERSION".into(), "1.0.0".into()),
            ],
        )
    };
    let xml = client.text(&url)?;
    Capabilities::parse(&xml).map_err(|detail| ServiceError::Capabilities {
        url: redact(&client.url(&url)),
        detail,
    })
}

enum Request {
    Kvp { base: String },
    Rest { template: String },
}

/// A WMTS layer as a tile source.
pub struct WmtsSource {
    key: String,
    grid: Grid,
    layer: String,
    style: String,
    format: String,
    set: String,
    request: Request,
    client: Client,
    store: Option<TileStore>,
    /// The style's LegendURL, where the capabilities give one.
    legend_url: Option<String>,
}

impl WmtsSource {
    /// The fixes its tile matrix set needed.
    pub fn fixes(&self) -> &[String] {
        &self.grid.fixes
    }

    /// The URL of one tile (the service's parameters are added when it is fetched).
    pub fn tile_url(&self, level: usize, col: u32, row: u32) -> String {
        let id = &self.grid.ids[level];
        match &self.request {
            Request::Kvp { base } => http::with_params(
                base,
                &[
                    ("SERVICE".into(), "WMTS".into()),
                    ("REQUEST".into(), "GetTile".into()),
                    ("VERSION".into(), "1.0.0".into()),
                    ("LAYER".into(), self.layer.clone()),
                    ("STYLE".into(), self.style.clone()),
                    ("FORMAT".into(), self.format.clone()),
                    ("TILEMATRIXSET".into(), self.set.clone()),
                    ("TILEMATRIX".into(), id.clone()),
                    ("TILEROW".into(), row.to_string()),
                    ("TILECOL".into(), col.to_string()),
                ],
            ),
            Request::Rest { template } => {
                let mut u = template.clone();
                for (k, v) in [
                    ("TileMatrixSet", self.set.as_str()),
                    ("TileMatrix", id.as_str()),
                    ("TileRow", &row.to_string()),
                    ("TileCol", &col.to_string()),
                    ("Style", self.style.as_str()),
                    ("Layer", self.layer.as_str()),
                ] {
                    u = replace_ci(&u, &format!("{{{k}}}"), v);
                }
                u
            }
        }
    }
}

/// Replace `pat` in `s` whatever its case.
fn replace_ci(s: &str, pat: &str, with: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let p = pat.to_ascii_lowercase();
    let mut out = String::new();
    let mut i = 0;
    while let Some(j) = lower[i..].find(&p) {
        out.push_str(&s[i..i + j]);
        out.push_str(with);
        i += j + p.len();
    }
    out.push_str(&s[i..]);
    out
}

impl TileSource for WmtsSource {
    fn legend(&self) -> std::result::Result<Legend, TileError> {
        match &self.legend_url {
            Some(u) => http::legend_image(&self.client, u),
            None => Ok(Legend::default()),
        }
    }

    fn key(&self) -> &str {
        &self.key
    }

    fn grid(&self) -> &TileGrid {
        &self.grid.grid
    }

    fn fetch_encoded(&self, level: usize, col: u32, row: u32) -> std::result::Result<Option<Vec<u8>>, TileError> {
        let tile = self.fetch(level, col, row)?;
        http::encoded_through(tile, self.store.as_ref(), &self.grid.ids[level], (col, row))
    }

    fn fetch(&self, level: usize, col: u32, row: u32) -> std::result::Result<Option<Tile>, TileError> {
        let l = self
            .grid
            .grid
            .levels
            .get(level)
            .ok_or_else(|| TileError::Failed(format!("no level {level}")))?;
        if col >= l.matrix[0] || row >= l.matrix[1] {
            return Ok(None);
        }
        let url = self.tile_url(level, col, row);
        http::tile_through(&self.client, self.store.as_ref(), &self.grid.ids[level], (col, row), &url, true)
    }
}

/// Choose the set: the spec's, else one in the workspace's CRS, else CGCS2000, Web Mercator,
/// WGS 84, else the first.
fn choose_set<'a>(caps: &'a Capabilities, layer: &LayerInfo, spec: &ServiceSpec, ws_crs: &Crs) -> Result<&'a MatrixSet> {
    let sets: Vec<&MatrixSet> = caps.sets.iter().filter(|s| layer.sets.contains(&s.identifier)).collect();
    if let Some(want) = &spec.matrix_set {
        return sets.into_iter().find(|s| &s.identifier == want).ok_or_else(|| {
            ServiceError::Invalid(format!(
                "layer {}: no tile matrix set '{want}' (sets: {})",
                layer.identifier,
                layer.sets.join(", ")
            ))
        });
    }
    let code = |s: &&MatrixSet| crate::crs::epsg_of(&s.crs_name);
    for want in [ws_crs.epsg, Some(4490), Some(3857), Some(4326)] {
        if let Some(s) = sets.iter().find(|s| code(s) == want && want.is_some()) {
            return Ok(s);
        }
    }
    sets.first()
        .copied()
        .ok_or_else(|| ServiceError::Invalid(format!("layer {}: in no tile matrix set", layer.identifier)))
}

/// Open a WMTS layer.
pub fn open(spec: &ServiceSpec, ws_crs: &Crs, cache: Option<&DiskCache>) -> Result<Opened> {
    let caps = fetch_capabilities(spec)?;
    from_capabilities(spec, &caps, ws_crs, cache)
}

/// Open a WMTS layer from capabilities already read.
pub fn from_capabilities(spec: &ServiceSpec, caps: &Capabilities, ws_crs: &Crs, cache: Option<&DiskCache>) -> Result<Opened> {
    let layer = match &spec.layer {
        Some(id) => caps.layers.iter().find(|l| &l.identifier == id).ok_or_else(|| {
            let names: Vec<&str> = caps.layers.iter().map(|l| l.identifier.as_str()).collect();
            ServiceError::Invalid(format!("{}: no layer '{id}' (layers: {})", redact(&spec.url), names.join(", ")))
        })?,
        None => &caps.layers[0],
    };
    let set = choose_set(caps, layer, spec, ws_crs)?;
    let mut grid = grid_of(set, layer.wgs84_bbox).map_err(|detail| ServiceError::Capabilities {
        url: redact(&spec.url),
        detail,
    })?;
    if let Some(max) = spec.max_level {
        let keep = (max as usize + 1).min(grid.grid.levels.len());
        grid.grid.levels.truncate(keep);
        grid.ids.truncate(keep);
    }
    let format = match &spec.format {
        Some(f) => f.clone(),
        None => ["image/png", "image/jpeg", "image/jpg"]
            .iter()
            .find(|f| layer.formats.iter().any(|g| g.eq_ignore_ascii_case(f)))
            .map(|f| f.to_string())
            .or_else(|| layer.formats.first().cloned())
            .unwrap_or_else(|| "image/png".into()),
    };
    let style = spec
        .style
        .clone()
        .or_else(|| layer.styles.iter().find(|s| s.1).or(layer.styles.first()).map(|s| s.0.clone()))
        .unwrap_or_else(|| "default".into());
    let template = layer
        .templates
        .iter()
        .find(|t| t.0.eq_ignore_ascii_case(&format))
        .or(layer.templates.first());
    let request = match (template, spec.kvp) {
        (Some((_, t)), false) => Request::Rest { template: t.clone() },
        _ => Request::Kvp {
            base: caps
                .get_tile_kvp
                .clone()
                .unwrap_or_else(|| spec.url.split('?').next().unwrap_or(&spec.url).to_owned() + "?"),
        },
    };
    let identity = format!(
        "wmts|{}|{}|{}|{}|{}",
        spec.url.split('?').next().unwrap_or(""),
        layer.identifier,
        set.identifier,
        style,
        format
    );
    let detail = format!(
        "WMTS {} · {} · {} levels · {}{}",
        match request {
            Request::Kvp { .. } => "KVP",
            Request::Rest { .. } => "REST",
        },
        set.identifier,
        grid.ids.len(),
        format,
        if grid.fixes.is_empty() {
            String::new()
        } else {
            format!(" · fixed: {}", grid.fixes.join("; "))
        }
    );
    let legend_url = layer.legends.iter().find(|(s, _)| *s == style).map(|(_, u)| u.clone());
    let source = WmtsSource {
        key: identity.clone(),
        legend_url,
        store: cache.map(|c| TileStore::new(c, &identity)),
        grid,
        layer: layer.identifier.clone(),
        style,
        format,
        set: set.identifier.clone(),
        request,
        client: Client::new(spec)?,
    };
    Ok(Opened {
        title: if layer.title.is_empty() {
            layer.identifier.clone()
        } else {
            layer.title.clone()
        },
        detail,
        source: Arc::new(source),
    })
}
