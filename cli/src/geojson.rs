//! GeoJSON output of geo geometries and features.

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
        Geometry::GeometryCollection(gc) => json!({"type": "GeometryCollection", "geometries": gc.0.iter().map(geometry).collect::<Vec<_>>()}),
        Geometry::Line(l) => json!({"type": "LineString", "coordinates": [pos(l.start), pos(l.end)]}),
        Geometry::Rect(r) => geometry(&Geometry::Polygon(r.to_polygon())),
        Geometry::Triangle(t) => geometry(&Geometry::Polygon(t.to_polygon())),
    }
}
