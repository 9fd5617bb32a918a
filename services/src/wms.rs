//! WMS 1.1.1 and 1.3.0: capabilities, and GetMap cut into 256-pixel tiles of a pyramid in the
//! chosen CRS (so that WMS layers cache, fall back and package like tiles). In 1.3.0 the BBOX
//! follows the CRS's axis order: latitude first for EPSG:4490 and 4326 (never for `CRS:84`),
//! northing first for the CGCS2000 Gauss-Krüger zones.

use std::sync::Arc;

use jingwei_layers::Crs;
use jingwei_layers::imagery::{Legend, Level, Tile, TileError, TileGrid, TileSource};
use roxmltree::Node;

use crate::http::{self, Client, TileStore, child, redact, text};
use crate::{DiskCache, Opened, Result, ServiceError, ServiceSpec};

/// Tile size of the pyramid.
const TILE: u32 = 256;
/// Levels of the pyramid.
const LEVELS: u32 = 22;

/// A WMS's capabilities, as far as maps go.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    /// `1.1.1` or `1.3.0`.
    pub version: String,
    /// The GetMap endpoint.
    pub get_map: Option<String>,
    /// GetMap formats.
    pub formats: Vec<String>,
    /// GetFeatureInfo formats.
    pub info_formats: Vec<String>,
    /// Named layers (inheriting their parents' CRSs and boxes).
    pub layers: Vec<LayerInfo>,
}

/// One named layer.
#[derive(Debug, Clone, Default)]
pub struct LayerInfo {
    /// Name (what requests name).
    pub name: String,
    /// Title.
    pub title: String,
    /// CRSs offered.
    pub crs: Vec<String>,
    /// `[min_lon, min_lat, max_lon, max_lat]`.
    pub wgs84_bbox: Option<[f64; 4]>,
    /// Whether GetFeatureInfo answers for it.
    pub queryable: bool,
    /// Its styles' legend pictures: (style name, URL).
    pub legends: Vec<(String, String)>,
}

impl Capabilities {
    /// Parse a capabilities document (1.1.1 or 1.3.0).
    pub fn parse(xml: &str) -> std::result::Result<Capabilities, String> {
        let doc = http::parse_xml(xml).map_err(|e| format!("not XML: {e}"))?;
        let root = doc.root_element();
        let tag = root.tag_name().name();
        if tag != "WMS_Capabilities" && tag != "WMT_MS_Capabilities" {
            if let Some(why) = http::exception_text(xml) {
                return Err(format!("the service answered an exception: {why}"));
            }
            return Err(format!("not WMS capabilities (the document is a {tag})"));
        }
        let mut caps = Capabilities {
            version: root.attribute("version").unwrap_or("1.3.0").to_owned(),
            ..Default::default()
        };
        if let Some(fi) = root
            .descendants()
            .find(|n| n.is_element() && n.tag_name().name() == "GetFeatureInfo")
        {
            caps.info_formats = fi
                .children()
                .filter(|c| c.is_element() && c.tag_name().name() == "Format")
                .map(|f| text(Some(f)))
                .collect();
        }
        if let Some(gm) = root.descendants().find(|n| n.is_element() && n.tag_name().name() == "GetMap") {
            caps.formats = gm
                .children()
                .filter(|c| c.is_element() && c.tag_name().name() == "Format")
                .map(|f| text(Some(f)))
                .collect();
            caps.get_map = gm
                .descendants()
                .find(|n| n.is_element() && n.tag_name().name() == "Get")
                .and_then(|g| g.descendants().find(|n| n.is_element() && n.tag_name().name() == "OnlineResource"))
                .and_then(|o| o.attributes().find(|a| a.name() == "href").map(|a| a.value().to_owned()));
        }
        fn walk(n: Node<'_, '_>, crs: &[String], bbox: Option<[f64; 4]>, out: &mut Vec<LayerInfo>, depth: usize) {
            // Layer trees a few levels deep are usual; 64 is plenty and keeps the stack bounded.
            if depth > 64 {
                return;
            }
            let mut crs = crs.to_vec();
            for c in n
                .children()
                .filter(|c| c.is_element() && matches!(c.tag_name().name(), "CRS" | "SRS"))
            {
                for s in text(Some(c)).split_whitespace() {
                    if !crs.iter().any(|x| x == s) {
                        crs.push(s.to_owned());
                    }
                }
            }
            let own = child(n, "EX_GeographicBoundingBox")
                .map(|b| {
                    let v = |k: &str| text(child(b, k)).parse::<f64>().ok();
                    (|| {
                        Some([
                            v("westBoundLongitude")?,
                            v("southBoundLatitude")?,
                            v("eastBoundLongitude")?,
                            v("northBoundLatitude")?,
                        ])
                    })()
                })
                .or_else(|| {
                    child(n, "LatLonBoundingBox").map(|b| {
                        let v = |k: &str| b.attribute(k).and_then(|x| x.parse::<f64>().ok());
                        (|| Some([v("minx")?, v("miny")?, v("maxx")?, v("maxy")?]))()
                    })
                })
                .flatten();
            let bbox = own.or(bbox);
            let name = text(child(n, "Name"));
            if !name.is_empty() {
                out.push(LayerInfo {
                    name,
                    title: text(child(n, "Title")),
                    crs: crs.clone(),
                    wgs84_bbox: bbox,
                    queryable: n.attribute("queryable") == Some("1"),
                    legends: n
                        .children()
                        .filter(|c| c.is_element() && c.tag_name().name() == "Style")
                        .filter_map(|st| Some((text(child(st, "Name")), http::legend_url(st)?)))
                        .collect(),
                });
            }
            for c in n.children().filter(|c| c.is_element() && c.tag_name().name() == "Layer") {
                walk(c, &crs, bbox, out, depth + 1);
            }
        }
        if let Some(cap) = child(root, "Capability") {
            for l in cap.children().filter(|c| c.is_element() && c.tag_name().name() == "Layer") {
                walk(l, &[], None, &mut caps.layers, 0);
            }
        }
        if caps.layers.is_empty() {
            return Err("the service publishes no named layer".into());
        }
        Ok(caps)
    }
}

/// Fetch and parse the capabilities of `spec`'s service.
pub fn fetch_capabilities(spec: &ServiceSpec) -> Result<Capabilities> {
    let client = Client::new(spec)?;
    let url = if spec.url.to_ascii_lowercase().contains("request=getcapabilities") {
        spec.url.clone()
    } else {
        http::with_params(
            &spec.url,
            &[("SERVICE".into(), "WMS".into()), ("REQUEST".into(), "GetCapabilities".into())],
        )
    };
    let xml = client.text(&url)?;
    Capabilities::parse(&xml).map_err(|detail| ServiceError::Capabilities {
        url: redact(&client.url(&url)),
        detail,
    })
}

/// A WMS layer as tiles.
pub struct WmsSource {
    key: String,
    base: String,
    version: String,
    layer: String,
    style: String,
    format: String,
    crs_name: String,
    /// 1.3.0 with a latitude-first CRS: the BBOX is written north first.
    lat_first: bool,
    grid: TileGrid,
    client: Client,
    store: Option<TileStore>,
    /// The GetFeatureInfo format asked for, when the layer is queryable.
    info_format: Option<String>,
    /// The legend picture: the style's LegendURL, else GetLegendGraphic.
    legend_url: String,
}

impl WmsSource {
    /// The GetMap URL of one tile.
    pub fn tile_url(&self, level: usize, col: u32, row: u32) -> String {
        let l = &self.grid.levels[level];
        let [sx, sy] = l.tile_span();
        let x0 = l.origin[0] + sx * f64::from(col);
        let y1 = l.origin[1] - sy * f64::from(row);
        let (x1, y0) = (x0 + sx, y1 - sy);
        let bbox = if self.lat_first {
            format!("{y0},{x0},{y1},{x1}")
        } else {
            format!("{x0},{y0},{x1},{y1}")
        };
        let crs_key = if self.version.starts_with("1.3") { "CRS" } else { "SRS" };
        http::with_params(
            &self.base,
            &[
                ("SERVICE".into(), "WMS".into()),
                ("REQUEST".into(), "GetMap".into()),
                ("VERSION".into(), self.version.clone()),
                ("LAYERS".into(), self.layer.clone()),
                ("STYLES".into(), self.style.clone()),
                (crs_key.into(), self.crs_name.clone()),
                ("BBOX".into(), bbox),
                ("WIDTH".into(), TILE.to_string()),
                ("HEIGHT".into(), TILE.to_string()),
                ("FORMAT".into(), self.format.clone()),
                ("TRANSPARENT".into(), "TRUE".into()),
            ],
        )
    }
}

/// Attribute maps from a GetFeatureInfo answer: GeoJSON's `properties`, or each GML feature's
/// simple child elements.
pub fn parse_feature_info(body: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        return v["features"]
            .as_array()
            .map(|a| a.iter().filter_map(|f| f["properties"].as_object().cloned()).collect())
            .unwrap_or_default();
    }
    // MapServer writes a field named `name:en` as an element of an undeclared prefix: invalid
    // XML, made readable by renaming such elements.
    let fixed;
    let doc = match http::parse_xml(body) {
        Ok(d) => d,
        Err(_) => {
            fixed = http::undeclared_prefixes_renamed(body);
            match http::parse_xml(&fixed) {
                Ok(d) => d,
                Err(_) => return Vec::new(),
            }
        }
    };
    let mut out = Vec::new();
    // MapServer's GML (`<x_layer><x_feature>…`) and WFS-style members alike: an element whose
    // children are all leaves with text is a feature.
    let gml = |n: &roxmltree::Node<'_, '_>| n.tag_name().namespace().is_some_and(|ns| ns.contains("opengis.net/gml"));
    for n in doc.descendants().filter(|n| n.is_element() && !gml(n)) {
        let kids: Vec<_> = n.children().filter(|c| c.is_element() && !gml(c)).collect();
        if kids.is_empty() || kids.iter().any(|k| k.children().any(|c| c.is_element())) {
            continue;
        }
        let mut m = serde_json::Map::new();
        for k in &kids {
            m.insert(
                k.tag_name().name().to_owned(),
                serde_json::Value::String(k.text().unwrap_or("").trim().to_owned()),
            );
        }
        if !m.is_empty() {
            out.push(m);
        }
    }
    out
}

impl TileSource for WmsSource {
    fn legend(&self) -> std::result::Result<Legend, TileError> {
        http::legend_image(&self.client, &self.legend_url)
    }

    fn feature_info(&self, x: f64, y: f64, res: f64) -> std::result::Result<Vec<serde_json::Map<String, serde_json::Value>>, TileError> {
        let Some(format) = &self.info_format else { return Ok(Vec::new()) };
        let Some(level) = self.grid.level_for(res) else {
            return Ok(Vec::new());
        };
        let l = &self.grid.levels[level];
        let [sx, sy] = l.tile_span();
        let (fc, fr) = ((x - l.origin[0]) / sx, (l.origin[1] - y) / sy);
        if fc < 0.0 || fr < 0.0 || fc >= f64::from(l.matrix[0]) || fr >= f64::from(l.matrix[1]) {
            return Ok(Vec::new());
        }
        let (col, row) = (fc.floor() as u32, fr.floor() as u32);
        let i = ((fc - f64::from(col)) * f64::from(TILE)).floor() as u32;
        let j = ((fr - f64::from(row)) * f64::from(TILE)).floor() as u32;
        let new13 = self.version.starts_with("1.3");
        let url = http::with_params(
            &self.tile_url(level, col, row).replace("REQUEST=GetMap", "REQUEST=GetFeatureInfo"),
            &[
                ("QUERY_LAYERS".into(), self.layer.clone()),
                ("INFO_FORMAT".into(), format.clone()),
                ("FEATURE_COUNT".into(), "5".into()),
                ((if new13 { "I" } else { "X" }).into(), i.to_string()),
                ((if new13 { "J" } else { "Y" }).into(), j.to_string()),
            ],
        );
        let body = self.client.text(&url).map_err(|e| TileError::Failed(e.to_string()))?;
        Ok(parse_feature_info(&body))
    }

    fn key(&self) -> &str {
        &self.key
    }

    fn grid(&self) -> &TileGrid {
        &self.grid
    }

    fn fetch_encoded(&self, level: usize, col: u32, row: u32) -> std::result::Result<Option<Vec<u8>>, TileError> {
        let tile = self.fetch(level, col, row)?;
        http::encoded_through(tile, self.store.as_ref(), &level.to_string(), (col, row))
    }

    fn fetch(&self, level: usize, col: u32, row: u32) -> std::result::Result<Option<Tile>, TileError> {
        let url = self.tile_url(level, col, row);
        http::tile_through(&self.client, self.store.as_ref(), &level.to_string(), (col, row), &url, false)
    }
}

/// Open a WMS layer.
pub fn open(spec: &ServiceSpec, ws_crs: &Crs, cache: Option<&DiskCache>) -> Result<Opened> {
    let caps = fetch_capabilities(spec)?;
    from_capabilities(spec, &caps, ws_crs, cache)
}

/// Open a WMS layer from capabilities already read.
pub fn from_capabilities(spec: &ServiceSpec, caps: &Capabilities, ws_crs: &Crs, cache: Option<&DiskCache>) -> Result<Opened> {
    let layer = match &spec.layer {
        Some(n) => caps.layers.iter().find(|l| &l.name == n).ok_or_else(|| {
            let names: Vec<&str> = caps.layers.iter().map(|l| l.name.as_str()).collect();
            ServiceError::Invalid(format!("{}: no layer '{n}' (layers: {})", redact(&spec.url), names.join(", ")))
        })?,
        None => &caps.layers[0],
    };
    let code = |n: &String| crate::crs::epsg_of(n);
    let crs_name = match &spec.crs {
        Some(c) => c.clone(),
        None => [ws_crs.epsg, Some(4490), Some(3857), Some(4326)]
            .iter()
            .flatten()
            .find_map(|want| layer.crs.iter().find(|c| code(c) == Some(*want) && !crate::crs::is_crs84(c)))
            .or_else(|| layer.crs.first())
            .cloned()
            .ok_or_else(|| ServiceError::Invalid(format!("layer {}: the service names no CRS for it", layer.name)))?,
    };
    let crs =
        crate::crs::crs_of(&crs_name).ok_or_else(|| ServiceError::Invalid(format!("layer {}: unknown CRS '{crs_name}'", layer.name)))?;
    // 1.3.0 writes the BBOX in the CRS's own axis order: north first for EPSG:4490 and 4326
    // and for the CGCS2000 Gauss-Krüger zones.
    let lat_first = caps.version.starts_with("1.3") && crs.authority_north_first && !crate::crs::is_crs84(&crs_name);
    let bbox = layer
        .wgs84_bbox
        .ok_or_else(|| ServiceError::Invalid(format!("layer {}: no geographic bounding box", layer.name)))?;
    let b = if crs.epsg == Some(3857) {
        [bbox[0], bbox[1].max(-85.05), bbox[2], bbox[3].min(85.05)]
    } else {
        bbox
    };
    let e = jingwei_layers::workspace::extent_in(&Crs::from_epsg(4326)?, b, &crs)?;
    let span = (e[2] - e[0]).max(e[3] - e[1]);
    let levels = (0..LEVELS)
        .map(|k| {
            let res = span / f64::from(TILE) / f64::from(1u32 << k);
            Level {
                res: [res, res],
                origin: [e[0], e[3]],
                tile: [TILE, TILE],
                matrix: [
                    ((e[2] - e[0]) / (res * f64::from(TILE))).ceil().max(1.0) as u32,
                    ((e[3] - e[1]) / (res * f64::from(TILE))).ceil().max(1.0) as u32,
                ],
            }
        })
        .take(spec.max_level.map_or(LEVELS as usize, |m| m as usize + 1))
        .collect();
    let format = match &spec.format {
        Some(f) => f.clone(),
        None => ["image/png", "image/jpeg"]
            .iter()
            .find(|f| caps.formats.iter().any(|g| g.eq_ignore_ascii_case(f)))
            .map(|f| f.to_string())
            .or_else(|| caps.formats.first().cloned())
            .unwrap_or_else(|| "image/png".into()),
    };
    let base = caps
        .get_map
        .clone()
        .unwrap_or_else(|| spec.url.split('?').next().unwrap_or(&spec.url).to_owned() + "?");
    let identity = format!(
        "wms|{}|{}|{}|{}",
        spec.url.split('?').next().unwrap_or(""),
        layer.name,
        crs_name,
        format
    );
    let style = spec.style.clone().unwrap_or_default();
    let legend_url = layer
        .legends
        .iter()
        .find(|(s, _)| *s == style)
        .or(layer.legends.first())
        .map(|(_, u)| u.clone())
        .unwrap_or_else(|| {
            // The SLD extension's request, which MapServer, GeoServer and MapProxy answer.
            let mut p = vec![
                ("SERVICE".into(), "WMS".into()),
                ("REQUEST".into(), "GetLegendGraphic".into()),
                ("VERSION".into(), caps.version.clone()),
                ("LAYER".into(), layer.name.clone()),
                ("FORMAT".into(), "image/png".into()),
                ("SLD_VERSION".into(), "1.1.0".into()),
            ];
            if !style.is_empty() {
                p.push(("STYLE".into(), style.clone()));
            }
            http::with_params(&base, &p)
        });
    let source = WmsSource {
        key: identity.clone(),
        legend_url,
        base,
        version: caps.version.clone(),
        layer: layer.name.clone(),
        style,
        format: format.clone(),
        crs_name: crs_name.clone(),
        lat_first,
        grid: TileGrid { crs, levels, extent: e },
        client: Client::new(spec)?,
        store: cache.map(|c| TileStore::new(c, &identity)),
        info_format: if layer.queryable {
            ["application/json", "application/geo+json", "application/vnd.ogc.gml", "text/xml"]
                .iter()
                .find_map(|f| caps.info_formats.iter().find(|g| g.to_ascii_lowercase().starts_with(f)))
                .or(caps.info_formats.first())
                .cloned()
        } else {
            None
        },
    };
    Ok(Opened {
        title: if layer.title.is_empty() {
            layer.name.clone()
        } else {
            layer.title.clone()
        },
        detail: format!("WMS {} · {crs_name} · {format}", caps.version),
        source: Arc::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_info_with_undeclared_prefixes_is_read() {
        let gml = "<msGMLOutput xmlns:gml=\"http://www.opengis.net/gml\"><b_layer><b_feature><gml:boundedBy><gml:Box/></gml:boundedBy><id>7</id><name:en>Tower</name:en></b_feature></b_layer></msGMLOutput>";
        let f = parse_feature_info(gml);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0]["id"], "7");
        assert_eq!(f[0]["name_en"], "Tower");
        let json = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":3}}]}"#;
        assert_eq!(parse_feature_info(json)[0]["id"], 3);
    }
}
