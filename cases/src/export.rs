//! Case-list exports: GeoJSON (CGCS2000 lon/lat) and CSV (UTF-8 with a BOM, so that Excel opens
//! Chinese text right). The GeoPackage export is [`crate::CaseStore::export_gpkg`].

use crate::{Case, rules_zh};
use geo::{Centroid, Geometry};
use jingwei_layers::{Transformer, geojson};
use serde_json::{Value as J, json};

/// CSV options.
#[derive(Debug, Clone, Copy)]
pub struct CsvOptions {
    /// Start with the UTF-8 byte-order mark (Excel needs it to read UTF-8).
    pub bom: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { bom: true }
    }
}

fn lonlat_of(c: &Case, to_lonlat: Option<&Transformer>) -> Option<(f64, f64)> {
    let p = c.geometry.as_ref()?.centroid()?;
    match to_lonlat {
        Some(t) => t.transform(p.x(), p.y()).ok(),
        None => Some((p.x(), p.y())),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The cases as CSV: one row per case with its number, status, priority, rules (ids and
/// Chinese), building, assignee, area, zones, permit, centroid (lon/lat when a transformer is
/// given, else store coordinates) and times.
pub fn csv_string(cases: &[Case], to_lonlat: Option<&Transformer>, opts: CsvOptions) -> String {
    let mut out = String::new();
    if opts.bom {
        out.push('\u{feff}');
    }
    let (xn, yn) = if to_lonlat.is_some() { ("lon", "lat") } else { ("x", "y") };
    out.push_str(&format!(
        "case_no,status,status_zh,priority,rules,rules_zh,building_layer,building_fid,assignee,area_m2,zones,permit_no,{xn},{yn},created_at,updated_at\r\n"
    ));
    for c in cases {
        let zones: Vec<String> = c.evidence["zones"]
            .as_array()
            .map(|zs| {
                zs.iter()
                    .map(|z| match z["name"].as_str() {
                        Some(n) => format!("{}:{n}", z["zone_type"].as_str().unwrap_or("")),
                        None => z["zone_type"].as_str().unwrap_or("").to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (x, y) = lonlat_of(c, to_lonlat).map_or((String::new(), String::new()), |(x, y)| {
            if to_lonlat.is_some() {
                (format!("{x:.7}"), format!("{y:.7}"))
            } else {
                (format!("{x:.3}"), format!("{y:.3}"))
            }
        });
        let row = [
            c.case_no.clone(),
            c.status.id().to_string(),
            c.status.name_zh().to_string(),
            format!("{:.1}", c.priority),
            c.rules.join(";"),
            rules_zh(c),
            c.building_layer.clone().unwrap_or_default(),
            c.building_fid.map(|f| f.to_string()).unwrap_or_default(),
            c.assignee.clone().unwrap_or_default(),
            c.evidence["area_m2"].as_f64().map(|a| format!("{a:.2}")).unwrap_or_default(),
            zones.join(";"),
            c.evidence["permit"]["number"].as_str().unwrap_or("").to_string(),
            x,
            y,
            c.created_at.clone(),
            c.updated_at.clone(),
        ];
        out.push_str(&row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// The cases as a GeoJSON FeatureCollection. RFC 7946 wants lon/lat: pass the transformer from
/// the store's CRS to CGCS2000 (EPSG:4490, equal to WGS 84 within a metre).
pub fn geojson_value(cases: &[Case], to_lonlat: Option<&Transformer>) -> J {
    let features: Vec<J> = cases
        .iter()
        .map(|c| {
            let geometry = c.geometry.as_ref().and_then(|g| {
                let mut g: Geometry = g.clone();
                if let Some(t) = to_lonlat {
                    t.transform_geometry(&mut g).ok()?;
                }
                Some(geojson::geometry(&g))
            });
            json!({
                "type": "Feature",
                "id": c.id,
                "geometry": geometry,
                "properties": {
                    "case_no": c.case_no,
                    "status": c.status.id(),
                    "status_zh": c.status.name_zh(),
                    "priority": c.priority,
                    "rules": c.rules,
                    "rules_zh": rules_zh(c),
                    "title": c.title,
                    "source": c.source,
                    "building_layer": c.building_layer,
                    "building_fid": c.building_fid,
                    "assignee": c.assignee,
                    "evidence": c.evidence,
                    "created_at": c.created_at,
                    "created_by": c.created_by,
                    "updated_at": c.updated_at,
                }
            })
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}
