//! Vector services as layers: WFS 2.0 (GetFeature with STARTINDEX/COUNT paging, GeoJSON where
//! offered, else GML 3.2 in one page) and OGC API Features (`/collections/{id}/items`, following
//! `next` links, with a bbox). The features are gathered into one GeoJSON file (or GML for a
//! service without JSON) that the layer core reads like any file, so a service layer is
//! validated, reprojected, indexed and queryable exactly as a file layer is.
//!
//! Axis order: GeoJSON is longitude first by definition, yet some servers write EPSG:4490 or
//! 4326 answers latitude first; when the coordinates fall inside the layer's advertised
//! longitude/latitude box only once swapped, they are swapped (and the fix is reported).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::http::{self, Client, child, redact, text};
use crate::{Result, ServiceError, ServiceSpec};

/// Features a page at most.
pub const PAGE: usize = 1000;
/// Features a layer at most (a guard against a service without paging limits).
pub const MAX_FEATURES: usize = 2_000_000;

/// A vector service layer fetched into a file.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The file holding the features (GeoJSON, or GML).
    pub path: PathBuf,
    /// The layer's title.
    pub title: String,
    /// Features fetched.
    pub features: usize,
    /// Pages requested.
    pub pages: usize,
    /// What had to be fixed (axis order), in words.
    pub fixes: Vec<String>,
}

/// A feature type or collection a service offers.
#[derive(Debug, Clone, Default)]
pub struct FeatureType {
    /// Name (WFS typename, OGC API collection id).
    pub name: String,
    /// Title.
    pub title: String,
    /// `[min_lon, min_lat, max_lon, max_lat]`.
    pub wgs84_bbox: Option<[f64; 4]>,
    /// WFS output formats.
    pub formats: Vec<String>,
}

fn wfs_capabilities(client: &Client, spec: &ServiceSpec) -> Result<(Vec<FeatureType>, Vec<String>)> {
    let url = http::with_params(
        &spec.url,
        &[
            ("SERVICE".into(), "WFS".into()),
            ("REQUEST".into(), "GetCapabilities".into()),
            ("VERSION".into(), "2.0.0".into()),
        ],
    );
    let xml = client.text(&url)?;
    let bad = |detail: String| ServiceError::Capabilities {
        url: redact(&client.url(&url)),
        detail,
    };
    let doc = http::parse_xml(&xml).map_err(|e| bad(format!("not XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "WFS_Capabilities" {
        return Err(bad(http::exception_text(&xml).map_or_else(
            || format!("not WFS capabilities (a {})", root.tag_name().name()),
            |w| format!("the service answered an exception: {w}"),
        )));
    }
    // GetFeature's output formats.
    let mut formats = Vec::new();
    for op in root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "Operation" && n.attribute("name") == Some("GetFeature"))
    {
        for p in op.descendants().filter(|n| {
            n.is_element()
                && n.tag_name().name() == "Parameter"
                && n.attribute("name").is_some_and(|a| a.eq_ignore_ascii_case("outputFormat"))
        }) {
            formats.extend(
                p.descendants()
                    .filter(|n| n.is_element() && n.tag_name().name() == "Value")
                    .map(|v| text(Some(v))),
            );
        }
    }
    let types = root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "FeatureType")
        .map(|f| {
            let bbox = child(f, "WGS84BoundingBox").and_then(|b| {
                let p = |s: String| -> Option<[f64; 2]> {
                    let v: Vec<f64> = s.split_whitespace().filter_map(|x| x.parse().ok()).collect();
                    (v.len() == 2).then(|| [v[0], v[1]])
                };
                let lo = p(text(child(b, "LowerCorner")))?;
                let hi = p(text(child(b, "UpperCorner")))?;
                Some([lo[0], lo[1], hi[0], hi[1]])
            });
            FeatureType {
                name: text(child(f, "Name")),
                title: text(child(f, "Title")),
                wgs84_bbox: bbox,
                formats: formats.clone(),
            }
        })
        .collect();
    Ok((types, formats))
}

fn ogcapi_collections(client: &Client, spec: &ServiceSpec) -> Result<Vec<FeatureType>> {
    let base = spec.url.trim_end_matches('/');
    let url = http::with_params(&format!("{base}/collections"), &[("f".into(), "json".into())]);
    let text = client.text(&url)?;
    let v: Value = serde_json::from_str(&text).map_err(|e| ServiceError::Capabilities {
        url: redact(&client.url(&url)),
        detail: format!("not JSON: {e}"),
    })?;
    Ok(v["collections"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| FeatureType {
                    name: c["id"].as_str().unwrap_or("").to_owned(),
                    title: c["title"].as_str().unwrap_or("").to_owned(),
                    wgs84_bbox: c["extent"]["spatial"]["bbox"][0].as_array().and_then(|b| {
                        let n: Vec<f64> = b.iter().filter_map(Value::as_f64).collect();
                        (n.len() >= 4).then(|| [n[0], n[1], n[2], n[3]])
                    }),
                    formats: vec!["application/geo+json".into()],
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The feature types (WFS) or collections (OGC API Features) a service offers.
pub fn list(spec: &ServiceSpec) -> Result<Vec<FeatureType>> {
    let client = Client::new(spec)?;
    match spec.kind.as_str() {
        "wfs" => Ok(wfs_capabilities(&client, spec)?.0),
        "ogcapi" => ogcapi_collections(&client, spec),
        other => Err(ServiceError::Invalid(format!(
            "'{other}' is not a vector service: use wfs or ogcapi"
        ))),
    }
}

/// Swap x and y of every coordinate of a GeoJSON geometry.
fn swap(v: &mut Value) {
    match v {
        Value::Array(a) if a.len() >= 2 && a[0].is_number() && a[1].is_number() => a.swap(0, 1),
        Value::Array(a) => a.iter_mut().for_each(swap),
        _ => {}
    }
}

fn first_point(v: &Value) -> Option<[f64; 2]> {
    match v {
        Value::Array(a) if a.len() >= 2 && a[0].is_number() => Some([a[0].as_f64()?, a[1].as_f64()?]),
        Value::Array(a) => a.iter().find_map(first_point),
        _ => None,
    }
}

/// Fetch every feature of `spec`'s layer (within `bbox`, lon/lat, when given) into a file in
/// `dir`.
pub fn fetch(spec: &ServiceSpec, bbox: Option<[f64; 4]>, dir: &Path) -> Result<Fetched> {
    let client = Client::new(spec)?;
    let types = list(spec)?;
    let ft = match &spec.layer {
        Some(n) => types
            .iter()
            .find(|t| &t.name == n || t.name.ends_with(&format!(":{n}")))
            .cloned()
            .ok_or_else(|| {
                let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
                ServiceError::Invalid(format!("{}: no layer '{n}' (layers: {})", redact(&spec.url), names.join(", ")))
            })?,
        None => types
            .first()
            .cloned()
            .ok_or_else(|| ServiceError::Invalid(format!("{}: the service offers no layer", redact(&spec.url))))?,
    };
    std::fs::create_dir_all(dir).map_err(|e| ServiceError::Invalid(format!("{}: {e}", dir.display())))?;
    let stem: String = ft.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let json_format = ft.formats.iter().find(|f| f.to_ascii_lowercase().contains("json")).cloned();
    if spec.kind == "wfs" && json_format.is_none() {
        // GML, one page (GDAL reads it, axis order included).
        let url = http::with_params(
            &spec.url,
            &[
                ("SERVICE".into(), "WFS".into()),
                ("REQUEST".into(), "GetFeature".into()),
                ("VERSION".into(), "2.0.0".into()),
                ("TYPENAMES".into(), ft.name.clone()),
                ("COUNT".into(), MAX_FEATURES.to_string()),
            ],
        );
        let gml = client.text(&url)?;
        let path = dir.join(format!("{stem}.gml"));
        std::fs::write(&path, gml).map_err(|e| ServiceError::Invalid(format!("{}: {e}", path.display())))?;
        return Ok(Fetched {
            path,
            title: ft.title,
            features: 0,
            pages: 1,
            fixes: Vec::new(),
        });
    }
    let mut features: Vec<Value> = Vec::new();
    let mut pages = 0;
    let mut next: Option<String> = None;
    loop {
        let url = match spec.kind.as_str() {
            "wfs" => {
                let mut p = vec![
                    ("SERVICE".into(), "WFS".into()),
                    ("REQUEST".into(), "GetFeature".into()),
                    ("VERSION".into(), "2.0.0".into()),
                    ("TYPENAMES".into(), ft.name.clone()),
                    ("OUTPUTFORMAT".into(), json_format.clone().unwrap_or_default()),
                    ("COUNT".into(), PAGE.to_string()),
                    ("STARTINDEX".into(), features.len().to_string()),
                ];
                if let Some(b) = bbox {
                    // CRS84 names longitude first whatever EPSG says.
                    p.push((
                        "BBOX".into(),
                        format!("{},{},{},{},urn:ogc:def:crs:OGC:1.3:CRS84", b[0], b[1], b[2], b[3]),
                    ));
                }
                http::with_params(&spec.url, &p)
            }
            _ => match next.take() {
                Some(n) => n,
                None => {
                    let mut p = vec![("f".into(), "json".into()), ("limit".into(), PAGE.to_string())];
                    if let Some(b) = bbox {
                        p.push(("bbox".into(), format!("{},{},{},{}", b[0], b[1], b[2], b[3])));
                    }
                    http::with_params(&format!("{}/collections/{}/items", spec.url.trim_end_matches('/'), ft.name), &p)
                }
            },
        };
        let text = client.text(&url)?;
        pages += 1;
        let page: Value = serde_json::from_str(&text).map_err(|e| ServiceError::Request {
            url: redact(&client.url(&url)),
            detail: format!("not GeoJSON: {e}"),
        })?;
        let got = page["features"].as_array().cloned().unwrap_or_default();
        let n = got.len();
        features.extend(got);
        if features.len() >= MAX_FEATURES {
            return Err(ServiceError::Invalid(format!(
                "{}: more than {MAX_FEATURES} features; give an area",
                redact(&spec.url)
            )));
        }
        let matched = page["numberMatched"].as_u64().map(|m| m as usize);
        if spec.kind == "wfs" {
            if n < PAGE || matched.is_some_and(|m| features.len() >= m) {
                break;
            }
        } else {
            next = page["links"]
                .as_array()
                .and_then(|l| l.iter().find(|l| l["rel"] == "next"))
                .and_then(|l| l["href"].as_str())
                .map(str::to_owned);
            if next.is_none() || n == 0 {
                break;
            }
        }
    }
    // Axis order: latitude-first answers put the points outside the advertised box.
    let mut fixes = Vec::new();
    if let Some(b) = ft.wgs84_bbox {
        let inside = |p: [f64; 2]| p[0] >= b[0] - 0.01 && p[0] <= b[2] + 0.01 && p[1] >= b[1] - 0.01 && p[1] <= b[3] + 0.01;
        let sample: Vec<[f64; 2]> = features
            .iter()
            .take(50)
            .filter_map(|f| first_point(&f["geometry"]["coordinates"]))
            .collect();
        if !sample.is_empty() && sample.iter().all(|p| !inside(*p)) && sample.iter().all(|p| inside([p[1], p[0]])) {
            fixes.push(format!("{}: coordinates came latitude first; swapped", ft.name));
            for f in &mut features {
                swap(&mut f["geometry"]["coordinates"]);
            }
        }
    }
    let count = features.len();
    let mut fc = Map::new();
    fc.insert("type".into(), "FeatureCollection".into());
    fc.insert("name".into(), Value::String(ft.name.clone()));
    fc.insert("features".into(), Value::Array(features));
    let path = dir.join(format!("{stem}.geojson"));
    std::fs::write(&path, serde_json::to_vec(&Value::Object(fc)).unwrap_or_default())
        .map_err(|e| ServiceError::Invalid(format!("{}: {e}", path.display())))?;
    Ok(Fetched {
        path,
        title: if ft.title.is_empty() { ft.name } else { ft.title },
        features: count,
        pages,
        fixes,
    })
}
