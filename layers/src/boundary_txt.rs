//! 界址点坐标 text files: the exchange format of land-use approval (建设用地报批, 勘测定界)
//! that Chinese land offices pass around — an `[属性描述]` block (坐标系, 几度分带, 带号, …)
//! then `[地块坐标]`: per parcel a header line `点数,面积(公顷),地块编号,地块名称,面,图幅号,
//! 地块用途,地类编码,@` and its boundary points `点号,圈号,X,Y` — X northing, Y easting
//! (the surveyors' order), Y often with the zone number in front (`40496108.533`). Ring 1 is
//! the outline, further rings are holes. Files come in GBK as often as in UTF-8.
//!
//! Read into a [`Layer`] of polygons in the CGCS2000 Gauss-Krüger zone the file names (EPSG:4513–
//! 4533 / 4491–4501 with the zone number, 4534–4554 / 4502–4512 without), with the parcel's
//! stated fields. Anything else — another datum (西安80, 北京54: they need parameters this file
//! does not carry), a missing zone, a point line that does not parse — is one line naming the
//! file and the line.

use std::path::Path;

use geo::{Coord, Geometry, LineString, MultiPolygon, Polygon};

use crate::crs::Crs;
use crate::error::{LayersError, Result};
use crate::layer::Layer;
use crate::value::{Column, FieldDef, FieldKind, Value};

/// Whether `bytes` look like a 界址点 file (an `[地块坐标]` section).
pub fn sniff(bytes: &[u8]) -> bool {
    decode(bytes).contains("[地块坐标]")
}

fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

/// The EPSG code of a CGCS2000 Gauss-Krüger zone: `width` 3 or 6 degrees, zone `n`, with the
/// zone number in front of the easting or not.
pub fn zone_epsg(width: u32, n: u32, prefixed: bool) -> Option<u32> {
    match (width, prefixed) {
        (3, true) if (25..=45).contains(&n) => Some(4488 + n),
        (3, false) if (25..=45).contains(&n) => Some(4534 + (n - 25)),
        (6, true) if (13..=23).contains(&n) => Some(4478 + n),
        (6, false) if (13..=23).contains(&n) => Some(4502 + (n - 13)),
        _ => None,
    }
}

struct Parcel {
    line: usize,
    code: String,
    name: String,
    usage: String,
    class: String,
    stated_ha: Option<f64>,
    rings: Vec<(u32, Vec<Coord>)>,
}

/// Read a 界址点 file.
pub fn read(path: &Path) -> Result<Layer> {
    let bytes = std::fs::read(path).map_err(|e| LayersError::io(path, e))?;
    let text = decode(&bytes);
    let bad = |line: usize, what: String| LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("line {line}: {what}"),
    };
    let mut attrs: Vec<(String, String)> = Vec::new();
    let mut section = "";
    let mut parcels: Vec<Parcel> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let no = i + 1;
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            section = if line.contains("属性描述") {
                "attrs"
            } else if line.contains("地块坐标") {
                "parcels"
            } else {
                ""
            };
            continue;
        }
        match section {
            "attrs" => {
                if let Some((k, v)) = line.split_once(['=', '＝']) {
                    attrs.push((k.trim().to_owned(), v.trim().to_owned()));
                }
            }
            "parcels" => {
                let f: Vec<&str> = line.split([',', '，']).map(str::trim).collect();
                let point = !line.ends_with('@')
                    && f.len() >= 4
                    && f[1].parse::<u32>().is_ok()
                    && f[2].parse::<f64>().is_ok()
                    && f[3].parse::<f64>().is_ok();
                if !point && (line.ends_with('@') || f.len() >= 5) {
                    // A parcel's header.
                    let get = |k: usize| f.get(k).map(|s| s.trim_end_matches('@').to_owned()).unwrap_or_default();
                    parcels.push(Parcel {
                        line: no,
                        stated_ha: get(1).parse().ok(),
                        code: get(2),
                        name: get(3),
                        usage: get(6),
                        class: get(7),
                        rings: Vec::new(),
                    });
                } else {
                    let p = parcels
                        .last_mut()
                        .ok_or_else(|| bad(no, "a boundary point before any parcel header".into()))?;
                    if f.len() < 4 {
                        return Err(bad(no, format!("a boundary point needs 点号,圈号,X,Y: '{line}'")));
                    }
                    let ring: u32 = f[1].parse().map_err(|_| bad(no, format!("圈号 '{}' is not a number", f[1])))?;
                    let x: f64 = f[2].parse().map_err(|_| bad(no, format!("X '{}' is not a number", f[2])))?;
                    let y: f64 = f[3].parse().map_err(|_| bad(no, format!("Y '{}' is not a number", f[3])))?;
                    // X is the northing, Y the easting.
                    let c = Coord { x: y, y: x };
                    match p.rings.last_mut() {
                        Some((r, pts)) if *r == ring => pts.push(c),
                        _ => p.rings.push((ring, vec![c])),
                    }
                }
            }
            _ => {}
        }
    }
    if parcels.is_empty() {
        return Err(LayersError::Corrupt {
            path: path.to_owned(),
            detail: "no [地块坐标] section with a parcel: not a 界址点 file".into(),
        });
    }
    let attr = |names: &[&str]| {
        attrs
            .iter()
            .find(|(k, _)| names.iter().any(|n| k.contains(n)))
            .map(|(_, v)| v.clone())
    };
    let datum = attr(&["坐标系"]).unwrap_or_default();
    if datum.contains("80") || datum.contains("西安") || datum.contains("54") || datum.contains("北京") {
        return Err(LayersError::Corrupt {
            path: path.to_owned(),
            detail: format!(
                "坐标系 '{datum}': only CGCS2000 (2000国家大地坐标系) is read; convert the file with the province's parameters first"
            ),
        });
    }
    let width: u32 = attr(&["几度分带", "分带"])
        .and_then(|v| v.trim_end_matches('度').parse().ok())
        .unwrap_or(3);
    let first_y = parcels
        .iter()
        .flat_map(|p| p.rings.iter())
        .flat_map(|r| r.1.iter())
        .map(|c| c.x)
        .next()
        .unwrap_or(0.0);
    let prefixed = first_y >= 1.0e7;
    let zone: u32 = match attr(&["带号"]).and_then(|v| v.parse().ok()) {
        Some(z) => z,
        None if prefixed => (first_y / 1.0e6).floor() as u32,
        None => {
            return Err(LayersError::Corrupt {
                path: path.to_owned(),
                detail: "no 带号 in [属性描述] and no zone number in front of the eastings: which zone?".into(),
            });
        }
    };
    let epsg = zone_epsg(width, zone, prefixed).ok_or_else(|| LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("{width}-degree zone {zone} is not a zone of China's CGCS2000 Gauss-Krüger grid"),
    })?;
    let names = ["地块编号", "地块名称", "地块用途", "地类编码", "面积公顷"];
    let kinds = [FieldKind::Text, FieldKind::Text, FieldKind::Text, FieldKind::Text, FieldKind::Real];
    let mut columns: Vec<Column> = kinds.iter().map(|k| Column::for_kind(*k, parcels.len())).collect();
    let mut geometries = Vec::with_capacity(parcels.len());
    for p in &parcels {
        let mut outer: Vec<Polygon> = Vec::new();
        let mut holes: Vec<LineString> = Vec::new();
        for (ring, pts) in &p.rings {
            if pts.len() < 3 {
                return Err(bad(p.line, format!("parcel '{}' ring {ring} has {} points", p.code, pts.len())));
            }
            let mut ls = LineString(pts.clone());
            ls.close();
            if *ring == 1 {
                outer.push(Polygon::new(ls, Vec::new()));
            } else {
                holes.push(ls);
            }
        }
        let Some(first) = outer.first_mut() else {
            return Err(bad(p.line, format!("parcel '{}' has no ring 1 (its outline)", p.code)));
        };
        for h in holes {
            first.interiors_push(h);
        }
        geometries.push(Some(if outer.len() == 1 {
            Geometry::Polygon(outer.remove(0))
        } else {
            Geometry::MultiPolygon(MultiPolygon(outer))
        }));
        columns[0].push(Value::Text(p.code.clone()));
        columns[1].push(Value::Text(p.name.clone()));
        columns[2].push(Value::Text(p.usage.clone()));
        columns[3].push(Value::Text(p.class.clone()));
        columns[4].push(p.stated_ha.map_or(Value::Null, Value::Real));
    }
    Ok(Layer {
        name: path
            .file_stem()
            .map_or_else(|| "界址点".into(), |s| s.to_string_lossy().into_owned()),
        source_path: path.to_owned(),
        driver: "界址点 TXT".into(),
        geometry_type: "Polygon".into(),
        crs: Some(Crs::from_epsg(epsg)?),
        fields: names
            .iter()
            .zip(kinds)
            .map(|(n, kind)| FieldDef {
                name: (*n).to_owned(),
                alias: String::new(),
                kind,
            })
            .collect(),
        columns,
        fids: (1..=parcels.len() as i64).collect(),
        geometries: geometries.into(),
        encoding: None,
        issues: Vec::new(),
    })
}
