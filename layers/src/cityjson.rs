//! CityJSON city models (1.0–2.0; GDAL does not read them): every city object with geometry
//! becomes a feature of a layer per object type (Building, Road, …) with its attributes, a 2D
//! footprint for the R-tree (identify, search, zoom) and its 3D surfaces, of the highest level of
//! detail it has, for the scene. Vertices are decoded with the file's transform; the CRS is the
//! file's `referenceSystem` (the horizontal part of a compound such as EPSG:7415).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use geo::{ConvexHull, Geometry, MultiPoint, Point};
use serde_json::Value as J;

use crate::crs::{Crs, Transformer};
use crate::error::{LayersError, Result};
use crate::layer::Layer;
use crate::value::{Column, FieldDef, FieldKind};

/// A city object while reading: its id, attributes and surfaces.
type Row<'a> = (&'a str, Option<&'a serde_json::Map<String, J>>, Vec<Surface>);

/// One planar surface: its outer ring, then its holes; points (x, y, z) without a closing repeat.
pub type Surface = Vec<Vec<[f64; 3]>>;

/// The 3D surfaces of a layer's features, row by row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Surfaces {
    /// For each row, its surfaces.
    pub rows: Vec<Vec<Surface>>,
    /// The height that stands on the ground when drawn; `None`: the lowest vertex. Layers of
    /// one model (an IFC file's storeys) share their model's, so that each keeps its height.
    pub base_z: Option<f64>,
}

impl Surfaces {
    /// Reproject every vertex's x and y (z is kept).
    pub fn reproject(&mut self, t: &Transformer) -> Result<()> {
        for row in &mut self.rows {
            for s in row {
                for ring in s {
                    for p in ring {
                        let (x, y) = t.transform(p[0], p[1])?;
                        p[0] = x;
                        p[1] = y;
                    }
                }
            }
        }
        Ok(())
    }

    /// The height drawn at ground level: [`Surfaces::base_z`], else the lowest vertex.
    pub fn ground_z(&self) -> Option<f64> {
        self.base_z.or_else(|| self.min_z())
    }

    /// Lowest z of all vertices.
    pub fn min_z(&self) -> Option<f64> {
        self.rows
            .iter()
            .flatten()
            .flatten()
            .flatten()
            .map(|p| p[2])
            .fold(None, |m: Option<f64>, z| Some(m.map_or(z, |m| m.min(z))))
    }
}

/// A layer of city objects of one type, with their surfaces.
#[derive(Debug, Clone)]
pub struct CityLayer {
    /// Attributes and footprints (geometry: the convex hull of each object's vertices).
    pub layer: Layer,
    /// The 3D surfaces, row by row.
    pub surfaces: Arc<Surfaces>,
}

/// Whether a file is a CityJSON document (by its first bytes: the type, or the city objects,
/// which some writers put first).
pub fn is_cityjson(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 512];
    let Ok(mut f) = std::fs::File::open(path) else { return false };
    let n = f.read(&mut head).unwrap_or(0);
    let s = String::from_utf8_lossy(&head[..n]);
    s.contains("\"CityJSON\"") || s.contains("\"CityObjects\"")
}

fn corrupt(path: &Path, detail: impl Into<String>) -> LayersError {
    LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("CityJSON: {}", detail.into()),
    }
}

/// The EPSG code of a CityJSON `referenceSystem` (`https://www.opengis.net/def/crs/EPSG/0/7415`
/// or `urn:ogc:def:crs:EPSG::7415`), horizontal part for the usual Dutch compound.
fn epsg_of(rs: &str) -> Option<u32> {
    let code: u32 = rs.rsplit(['/', ':']).find(|s| !s.is_empty())?.parse().ok()?;
    // EPSG:7415 = Amersfoort / RD New + NAP height: the horizontal CRS is EPSG:28992.
    Some(if code == 7415 { 28992 } else { code })
}

/// Read a CityJSON file into one layer per city object type (buildings first).
pub fn read(path: &Path) -> Result<Vec<CityLayer>> {
    let bytes = std::fs::read(path).map_err(|e| LayersError::io(path, e))?;
    parse(path, &bytes)
}

/// [`read`] on the file's bytes (`path` names it in errors).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<CityLayer>> {
    let doc: J = serde_json::from_slice(bytes).map_err(|e| corrupt(path, e.to_string()))?;
    if doc["type"] != "CityJSON" {
        return Err(corrupt(path, "not a CityJSON document (no \"type\": \"CityJSON\")"));
    }
    let rs = doc["metadata"]["referenceSystem"]
        .as_str()
        .ok_or_else(|| corrupt(path, "no metadata.referenceSystem: the CRS is unknown"))?;
    let epsg = epsg_of(rs).ok_or_else(|| corrupt(path, format!("referenceSystem '{rs}' is not an EPSG code")))?;
    let crs = Crs::from_epsg(epsg)?;
    let (scale, translate) = match doc.get("transform") {
        Some(t) => {
            let v3 = |k: &str| -> Option<[f64; 3]> {
                let a = t[k].as_array()?;
                Some([a.first()?.as_f64()?, a.get(1)?.as_f64()?, a.get(2)?.as_f64()?])
            };
            (
                v3("scale").ok_or_else(|| corrupt(path, "transform.scale"))?,
                v3("translate").ok_or_else(|| corrupt(path, "transform.translate"))?,
            )
        }
        None => ([1.0; 3], [0.0; 3]),
    };
    let vertices: Vec<[f64; 3]> = doc["vertices"]
        .as_array()
        .ok_or_else(|| corrupt(path, "no vertices"))?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let a = v
                .as_array()
                .filter(|a| a.len() == 3)
                .ok_or_else(|| corrupt(path, format!("vertex {i} is not [x, y, z]")))?;
            let mut p = [0.0; 3];
            for k in 0..3 {
                p[k] = a[k].as_f64().ok_or_else(|| corrupt(path, format!("vertex {i}")))? * scale[k] + translate[k];
            }
            Ok(p)
        })
        .collect::<Result<_>>()?;
    let objects = doc["CityObjects"].as_object().ok_or_else(|| corrupt(path, "no CityObjects"))?;

    // Per type: (id, attributes, surfaces) in file order.
    let mut by_type: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for (id, o) in objects {
        let Some(geoms) = o["geometry"].as_array() else { continue };
        // The highest level of detail the object has.
        let lod = |g: &J| match &g["lod"] {
            J::String(s) => s.parse::<f64>().unwrap_or(0.0),
            J::Number(n) => n.as_f64().unwrap_or(0.0),
            _ => 0.0,
        };
        // The highest LoD among the geometries that have surfaces (points and lines have none).
        let surfaced = |g: &&J| {
            matches!(
                g["type"].as_str(),
                Some("MultiSurface" | "CompositeSurface" | "Solid" | "MultiSolid" | "CompositeSolid")
            )
        };
        let Some(g) = geoms.iter().filter(surfaced).max_by(|a, b| lod(a).total_cmp(&lod(b))) else {
            continue;
        };
        let mut surfaces = Vec::new();
        collect_surfaces(&g["boundaries"], g["type"].as_str().unwrap_or(""), &vertices, &mut surfaces)
            .map_err(|e| corrupt(path, format!("object {id}: {e}")))?;
        if surfaces.is_empty() {
            continue;
        }
        let ty = o["type"].as_str().unwrap_or("CityObject").to_string();
        by_type
            .entry(ty)
            .or_default()
            .push((id.as_str(), o["attributes"].as_object(), surfaces));
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut out: Vec<CityLayer> = by_type
        .into_iter()
        .map(|(ty, rows)| city_layer(path, &stem, &ty, &crs, rows))
        .collect();
    // Buildings first: they are what a city model is opened for.
    out.sort_by_key(|l| !l.layer.name.ends_with("Building"));
    Ok(out)
}

/// Walk a boundaries array down to its surfaces (MultiSurface/CompositeSurface: surfaces;
/// Solid: shells of surfaces; MultiSolid/CompositeSolid: solids).
fn collect_surfaces(b: &J, ty: &str, v: &[[f64; 3]], out: &mut Vec<Surface>) -> std::result::Result<(), String> {
    let depth = match ty {
        "MultiSurface" | "CompositeSurface" => 1,
        "Solid" => 2,
        "MultiSolid" | "CompositeSolid" => 3,
        // Points and lines have no surfaces to draw.
        "MultiPoint" | "MultiLineString" => return Ok(()),
        other => return Err(format!("geometry type '{other}' is not supported")),
    };
    fn walk(b: &J, depth: usize, v: &[[f64; 3]], out: &mut Vec<Surface>) -> std::result::Result<(), String> {
        let arr = b.as_array().ok_or("boundaries are not arrays")?;
        if depth == 0 {
            // A surface: rings of vertex indices.
            let mut s = Surface::new();
            for ring in arr {
                let idx = ring.as_array().ok_or("a ring is not an array")?;
                let pts = idx
                    .iter()
                    .map(|i| {
                        i.as_u64()
                            .and_then(|i| v.get(i as usize).copied())
                            .ok_or("a vertex index is out of range")
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                if pts.len() >= 3 {
                    s.push(pts);
                }
            }
            if !s.is_empty() {
                out.push(s);
            }
            return Ok(());
        }
        for x in arr {
            walk(x, depth - 1, v, out)?;
        }
        Ok(())
    }
    walk(b, depth, v, out)
}

fn city_layer(
    path: &Path,
    stem: &str,
    ty: &str,
    crs: &Crs,
    rows: Vec<(&str, Option<&serde_json::Map<String, J>>, Vec<Surface>)>,
) -> CityLayer {
    // Fields: id, then the union of attribute names; numbers stay numbers where every value is.
    let mut names: Vec<String> = Vec::new();
    for (_, attrs, _) in &rows {
        for k in attrs.iter().flat_map(|a| a.keys()) {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    let numeric: Vec<bool> = names
        .iter()
        .map(|k| {
            rows.iter()
                .filter_map(|(_, a, _)| a.and_then(|a| a.get(k)))
                .all(|v| v.is_number() || v.is_null())
        })
        .collect();
    let mut fields = vec![FieldDef {
        name: "cityobject_id".into(),
        alias: String::new(),
        kind: FieldKind::Text,
    }];
    let mut columns = vec![Column::Text(rows.iter().map(|(id, _, _)| Some(*id)).collect())];
    for (k, num) in names.iter().zip(&numeric) {
        let values = rows.iter().map(|(_, a, _)| a.and_then(|a| a.get(k)).filter(|v| !v.is_null()));
        if *num {
            fields.push(FieldDef {
                name: k.clone(),
                alias: String::new(),
                kind: FieldKind::Real,
            });
            columns.push(Column::Real(values.map(|v| v.and_then(J::as_f64)).collect()));
        } else {
            fields.push(FieldDef {
                name: k.clone(),
                alias: String::new(),
                kind: FieldKind::Text,
            });
            columns.push(Column::Text(
                values
                    .map(|v| {
                        v.map(|v| match v {
                            J::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                    })
                    .collect(),
            ));
        }
    }
    let geometries = rows
        .iter()
        .map(|(_, _, surfaces)| {
            let pts: MultiPoint = surfaces.iter().flatten().flatten().map(|p| Point::new(p[0], p[1])).collect();
            Some(Geometry::Polygon(pts.convex_hull()))
        })
        .collect();
    let n = rows.len();
    let surfaces = Surfaces {
        rows: rows.into_iter().map(|(_, _, s)| s).collect(),
        base_z: None,
    };
    CityLayer {
        layer: Layer {
            name: format!("{stem} {ty}"),
            source_path: PathBuf::from(path),
            driver: "CityJSON".into(),
            geometry_type: "Polygon".into(),
            crs: Some(crs.clone()),
            fields,
            columns,
            fids: (1..=n as i64).collect(),
            geometries,
            encoding: None,
            issues: Vec::new(),
        },
        surfaces: Arc::new(surfaces),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_systems() {
        assert_eq!(epsg_of("https://www.opengis.net/def/crs/EPSG/0/7415"), Some(28992));
        assert_eq!(epsg_of("urn:ogc:def:crs:EPSG::4547"), Some(4547));
        assert_eq!(epsg_of("urn:ogc:def:crs:EPSG:2.0:32631"), Some(32631));
        assert_eq!(epsg_of("nonsense"), None);
    }
}
