//! Vector services as layers: WFS 2.0 (GetFeature with STARTINDEX/COUNT paging, GeoJSON where
//! offered, else GML 3.2 — or GML when the spec's format asks for it) and OGC API Features
//! (`/collections/{id}/items`, following `next` links, paging by offset where a server's next
//! links are broken, with a bbox). The features are gathered into one GeoJSON file (or one GML
//! file of every page's members) that the layer core reads like any file, so a service layer
//! is validated, reprojected, indexed and queryable exactly as a file layer is. A service that
//! matched more features than it gave is an error, never a quietly short layer.
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
    let asks_gml = spec
        .format
        .as_deref()
        .is_some_and(|f| f.to_ascii_lowercase().contains("gml") || f.to_ascii_lowercase().contains("xml"));
    if spec.kind == "wfs" && (json_format.is_none() || asks_gml) {
        return fetch_gml(&client, spec, &ft, bbox, &dir.join(format!("{stem}.gml")));
    }
    let items = |offset: Option<usize>| {
        let mut p = vec![("f".into(), "json".into()), ("limit".into(), PAGE.to_string())];
        if let Some(o) = offset {
            p.push(("offset".into(), o.to_string()));
        }
        if let Some(b) = bbox {
            p.push(("bbox".into(), format!("{},{},{},{}", b[0], b[1], b[2], b[3])));
        }
        http::with_params(&format!("{}/collections/{}/items", spec.url.trim_end_matches('/'), ft.name), &p)
    };
    let mut features: Vec<Value> = Vec::new();
    let mut pages = 0;
    let mut next: Option<String> = None;
    let mut by_offset = false;
    let mut matched: Option<usize> = None;
    let mut fixes = Vec::new();
    loop {
        let following = next.is_some();
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
                None => items(by_offset.then_some(features.len())),
            },
        };
        let page = client.text(&url).and_then(|text| {
            let v: Value = serde_json::from_str(&text).map_err(|e| ServiceError::Request {
                url: redact(&client.url(&url)),
                detail: format!("not GeoJSON: {e}"),
            })?;
            if v["features"].is_array() {
                Ok(v)
            } else {
                // An error document (OGC API's code and description), often with HTTP 200.
                let said = [&v["code"], &v["description"], &v["detail"], &v["title"]]
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(": ");
                Err(ServiceError::Request {
                    url: redact(&client.url(&url)),
                    detail: if said.is_empty() {
                        "not a feature collection".into()
                    } else {
                        format!("not a feature collection ({said})")
                    },
                })
            }
        });
        let page = match page {
            Ok(p) => p,
            Err(e) if following && !by_offset => {
                // A broken `next` link (MapServer 8.0 without its online resource writes the
                // path twice): page by offset from here on.
                fixes.push(format!("{}: the server's next link failed ({e}); paged by offset", ft.name));
                by_offset = true;
                continue;
            }
            Err(e) => return Err(e),
        };
        pages += 1;
        let got = page["features"].as_array().cloned().unwrap_or_default();
        let n = got.len();
        features.extend(got);
        if features.len() >= MAX_FEATURES {
            return Err(ServiceError::Invalid(format!(
                "{}: more than {MAX_FEATURES} features; give an area",
                redact(&spec.url)
            )));
        }
        let m = page["numberMatched"].as_u64().map(|m| m as usize);
        matched = matched.or(m);
        if spec.kind == "wfs" || by_offset {
            if n < PAGE || n == 0 || m.is_some_and(|m| features.len() >= m) {
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
    if let Some(m) = matched.filter(|&m| features.len() < m) {
        return Err(ServiceError::Invalid(format!(
            "{}: the service matched {m} features but gave {}; the layer was not added",
            redact(&spec.url),
            features.len()
        )));
    }
    // Axis order: latitude-first answers put the points outside the advertised box.
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

/// WFS GetFeature as GML, paged: every page's members gathered into the first page's
/// document (the schema location dropped, so that GDAL reads the file offline, taking the
/// axis order from each geometry's `srsName`).
fn fetch_gml(client: &Client, spec: &ServiceSpec, ft: &FeatureType, bbox: Option<[f64; 4]>, path: &Path) -> Result<Fetched> {
    let format = spec.format.clone().filter(|f| ft.formats.iter().any(|g| g == f)).or_else(|| {
        ft.formats
            .iter()
            .find(|f| {
                let f = f.to_ascii_lowercase();
                f.contains("gml") && f.contains("3.2")
            })
            .cloned()
    });
    let mut first: Option<String> = None;
    let mut more = String::new();
    let (mut count, mut pages) = (0usize, 0usize);
    let mut matched: Option<usize> = None;
    loop {
        let mut p = vec![
            ("SERVICE".into(), "WFS".into()),
            ("REQUEST".into(), "GetFeature".into()),
            ("VERSION".into(), "2.0.0".into()),
            ("TYPENAMES".into(), ft.name.clone()),
            ("COUNT".into(), PAGE.to_string()),
            ("STARTINDEX".into(), count.to_string()),
        ];
        if let Some(f) = &format {
            p.push(("OUTPUTFORMAT".into(), f.clone()));
        }
        if let Some(b) = bbox {
            p.push((
                "BBOX".into(),
                format!("{},{},{},{},urn:ogc:def:crs:OGC:1.3:CRS84", b[0], b[1], b[2], b[3]),
            ));
        }
        let url = http::with_params(&spec.url, &p);
        let text = client.text(&url)?;
        // MapServer writes a field named `name:en` as an element of an undeclared prefix.
        let text = if http::parse_xml(&text).is_ok() {
            text
        } else {
            http::undeclared_prefixes_renamed(&text)
        };
        pages += 1;
        let bad = |detail: String| ServiceError::Request {
            url: redact(&client.url(&url)),
            detail,
        };
        let doc = http::parse_xml(&text).map_err(|e| bad(format!("not GML: {e}")))?;
        let root = doc.root_element();
        if root.tag_name().name() != "FeatureCollection" {
            return Err(bad(http::exception_text(&text).map_or_else(
                || format!("not a feature collection (a {})", root.tag_name().name()),
                |w| format!("the service answered an exception: {w}"),
            )));
        }
        let members: Vec<roxmltree::Node<'_, '_>> = root
            .children()
            .filter(|n| n.is_element() && matches!(n.tag_name().name(), "member" | "featureMember" | "featureMembers"))
            .collect();
        let n: usize = members
            .iter()
            .map(|m| {
                if m.tag_name().name() == "featureMembers" {
                    m.children().filter(roxmltree::Node::is_element).count()
                } else {
                    1
                }
            })
            .sum();
        count += n;
        matched = matched.or_else(|| root.attribute("numberMatched").and_then(|v| v.parse().ok()));
        if first.is_none() {
            first = Some(text.clone());
        } else {
            for m in &members {
                more.push_str(&text[m.range()]);
                more.push('\n');
            }
        }
        if count >= MAX_FEATURES {
            return Err(ServiceError::Invalid(format!(
                "{}: more than {MAX_FEATURES} features; give an area",
                redact(&spec.url)
            )));
        }
        if n < PAGE || matched.is_some_and(|m| count >= m) {
            break;
        }
    }
    if let Some(m) = matched.filter(|&m| count < m) {
        return Err(ServiceError::Invalid(format!(
            "{}: the service matched {m} features but gave {count}; the layer was not added",
            redact(&spec.url)
        )));
    }
    let first = first.unwrap_or_default();
    let close = first.rfind("</").unwrap_or(first.len());
    let mut out = String::with_capacity(first.len() + more.len());
    out.push_str(&first[..close]);
    out.push_str(&more);
    out.push_str(&first[close..]);
    let out = without_schema_location(&out);
    std::fs::write(path, out).map_err(|e| ServiceError::Invalid(format!("{}: {e}", path.display())))?;
    // GDAL keeps what it learnt of a GML file's schema beside it; a new download starts afresh.
    let _ = std::fs::remove_file(path.with_extension("gfs"));
    Ok(Fetched {
        path: path.to_owned(),
        title: if ft.title.is_empty() { ft.name.clone() } else { ft.title.clone() },
        features: count,
        pages,
        fixes: Vec::new(),
    })
}

/// The document without its root's `xsi:schemaLocation` (whose URLs GDAL would fetch).
fn without_schema_location(xml: &str) -> String {
    let Some(at) = xml.find("schemaLocation=") else {
        return xml.to_owned();
    };
    // Only within the root's start tag: the first start tag that is not `<?` or `<!`.
    let root_end = xml
        .match_indices('<')
        .find(|(i, _)| !matches!(xml.as_bytes().get(i + 1), Some(b'?' | b'!')))
        .and_then(|(i, _)| xml[i..].find('>').map(|j| i + j))
        .unwrap_or(0);
    if at > root_end {
        return xml.to_owned();
    }
    let start = xml[..at].rfind(char::is_whitespace).unwrap_or(at);
    let value = at + "schemaLocation=".len();
    let Some(quote) = xml[value..].chars().next().filter(|c| *c == '"' || *c == '\'') else {
        return xml.to_owned();
    };
    match xml[value + 1..].find(quote) {
        Some(end) => format!("{}{}", &xml[..start], &xml[value + 1 + end + 1..]),
        None => xml.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_schema_location_goes_from_the_root_only() {
        let x = "<?xml version=\"1.0\"?>\n<wfs:FeatureCollection xmlns:xsi=\"x\" xsi:schemaLocation=\"http://a?b=1&amp;c=2 http://d\" numberMatched=\"2\"><a schemaLocation=\"keep\"/></wfs:FeatureCollection>";
        let y = super::without_schema_location(x);
        assert_eq!(
            y,
            "<?xml version=\"1.0\"?>\n<wfs:FeatureCollection xmlns:xsi=\"x\" numberMatched=\"2\"><a schemaLocation=\"keep\"/></wfs:FeatureCollection>"
        );
        let z = "<r><a schemaLocation=\"keep\"/></r>";
        assert_eq!(super::without_schema_location(z), z);
    }
}
