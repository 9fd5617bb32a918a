//! GeoJSON output of geometries and layers (RFC 7946 shapes; coordinates as given).

use geo::Geometry;
use serde_json::{Value as J, json};

fn pos(c: geo::Coord) -> J {
    json!([c.x, c.y])
}

fn ring(l: &geo::LineString) -> J {
    J::Array(l.0.iter().copied().map(pos).collect())
}

fn poly(p: &geo::Polygon) -> J {
    let mut rings = vec![ring(p.exterior())];
    rings.extend(p.interiors().iter().map(ring));
    J::Array(rings)
}

/// GeoJSON geometry object.
pub fn geometry(g: &Geometry) -> J {
    match g {
        Geometry::Point(p) => json!({"type": "Point", "coordinates": pos(p.0)}),
        Geometry::MultiPoint(m) => json!({"type": "MultiPoint", "coordinates": m.0.iter().map(|p| pos(p.0)).collect::<Vec<_>>()}),
        Geometry::LineString(l) => json!({"type": "LineString", "coordinates": ring(l)}),
        Geometry::MultiLineString(m) => json!({"type": "MultiLineString", "coordinates": m.0.iter().map(ring).collect::<Vec<_>>()}),
        Geometry::Polygon(p) => json!({"type": "Polygon", "coordinates": poly(p)}),
        Geometry::MultiPolygon(m) => json!({"type": "MultiPolygon", "coordinates": m.0.iter().map(poly).collect::<Vec<_>>()}),
        Geometry::GeometryCollection(gc) => {
            json!({"type": "GeometryCollection", "geometries": gc.0.iter().map(geometry).collect::<Vec<_>>()})
        }
        Geometry::Line(l) => json!({"type": "LineString", "coordinates": [pos(l.start), pos(l.end)]}),
        Geometry::Rect(r) => geometry(&Geometry::Polygon(r.to_polygon())),
        Geometry::Triangle(t) => geometry(&Geometry::Polygon(t.to_polygon())),
    }
}

/// A FeatureCollection of the given rows of a layer, geometries transformed by `to` (e.g. to
/// CGCS2000 lon/lat) when given, with every attribute as a property and the fid as the id.
/// `extra` adds per-row properties (such as a distance).
pub fn feature_collection(
    layer: &crate::Layer,
    rows: &[usize],
    to: Option<&crate::Transformer>,
    extra: &dyn Fn(usize) -> Vec<(String, J)>,
) -> crate::Result<J> {
    let mut features = Vec::with_capacity(rows.len());
    for &row in rows {
        let f = layer.feature(row);
        let mut props = serde_json::Map::new();
        for (name, v) in f.attributes() {
            props.insert(name.to_owned(), serde_json::to_value(v).unwrap_or(J::Null));
        }
        for (k, v) in extra(row) {
            props.insert(k, v);
        }
        let geometry = match (f.geo(), to) {
            (Some(mut g), Some(t)) => {
                t.transform_geometry(&mut g)?;
                geometry(&g)
            }
            (Some(g), None) => geometry(&g),
            (None, _) => J::Null,
        };
        features.push(json!({"type": "Feature", "id": f.fid(), "geometry": geometry, "properties": props}));
    }
    Ok(json!({"type": "FeatureCollection", "features": features}))
}
