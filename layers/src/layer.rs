//! A layer held in memory: geometries, typed attribute columns, CRS, encoding and the
//! validity report. Coordinates are f64 in the layer's CRS (after loading into a workspace,
//! the workspace CRS); renderers subtract the workspace origin before going to f32.

use geo::Geometry;
use serde::Serialize;
use std::path::PathBuf;

use crate::crs::{Crs, Transformer};
use crate::encoding::EncodingReport;
use crate::error::{LayersError, Result};
use crate::geoms::{GeomRef, Geometries};
use crate::validity::{self, GeometryIssue, RepairMode};
use crate::value::{Column, FieldDef, Value};

/// One vector layer.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Layer name (as in the source, unique within a source).
    pub name: String,
    /// File (or folder) it was read from.
    pub source_path: PathBuf,
    /// GDAL driver short name, e.g. `GPKG`, `ESRI Shapefile`.
    pub driver: String,
    /// Declared geometry type, e.g. `Polygon`, `Multi Line String`.
    pub geometry_type: String,
    /// CRS of the stored coordinates.
    pub crs: Option<Crs>,
    /// Attribute fields.
    pub fields: Vec<FieldDef>,
    /// One column per field, each `len()` long.
    pub columns: Vec<Column>,
    /// Feature ids from the source.
    pub fids: Vec<i64>,
    /// Geometries, column by column; `None` for features without (or with skipped) geometry.
    pub geometries: Geometries,
    /// Text encoding used, for sources where one was chosen (shapefiles).
    pub encoding: Option<EncodingReport>,
    /// Geometry problems found when the layer was read, with what was done about them.
    pub issues: Vec<GeometryIssue>,
}

/// A borrowed view of one feature.
#[derive(Debug, Clone, Copy)]
pub struct FeatureRef<'a> {
    /// The layer.
    pub layer: &'a Layer,
    /// Row index in the layer.
    pub row: usize,
}

impl<'a> FeatureRef<'a> {
    /// Feature id from the source.
    pub fn fid(&self) -> i64 {
        self.layer.fids[self.row]
    }
    /// Geometry, if any, borrowed from the layer's buffers.
    pub fn geometry(&self) -> Option<GeomRef<'a>> {
        self.layer.geometries.get(self.row)
    }
    /// Geometry, if any, as an owned `geo` geometry (made now).
    pub fn geo(&self) -> Option<Geometry> {
        self.layer.geometries.geometry(self.row)
    }
    /// Value of field `field`.
    pub fn value(&self, field: usize) -> Value {
        self.layer.columns[field].get(self.row, self.layer.fields[field].kind)
    }
    /// Value of the field named `name`.
    pub fn value_by_name(&self, name: &str) -> Option<Value> {
        self.layer.field_index(name).map(|i| self.value(i))
    }
    /// All (field name, value) pairs.
    pub fn attributes(&self) -> Vec<(&'a str, Value)> {
        self.layer
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.as_str(), self.value(i)))
            .collect()
    }
}

/// Summary of the geometry problems of a layer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ValiditySummary {
    /// Features with at least one problem.
    pub invalid_features: usize,
    /// Of those, repaired.
    pub repaired: usize,
    /// Of those, whose geometry was set aside (feature kept, geometry `None`).
    pub skipped: usize,
    /// Problems kept as they are (`RepairMode::Keep`).
    pub kept: usize,
}

impl Layer {
    /// A layer made in memory (an analysis's result): `fields` named and typed, one row of
    /// values per feature in the fields' order.
    pub fn from_rows(
        name: &str,
        source_path: PathBuf,
        driver: &str,
        crs: Option<Crs>,
        fields: &[(&str, crate::value::FieldKind)],
        rows: Vec<(Option<Geometry>, Vec<Value>)>,
    ) -> Layer {
        let mut columns: Vec<Column> = fields.iter().map(|(_, k)| Column::for_kind(*k, rows.len())).collect();
        let mut geometries = Vec::with_capacity(rows.len());
        for (g, values) in rows {
            for (c, v) in columns.iter_mut().zip(values.into_iter().chain(std::iter::repeat(Value::Null))) {
                c.push(v);
            }
            geometries.push(g);
        }
        let geometry_type = match geometries.iter().flatten().next() {
            Some(Geometry::Polygon(_)) => "Polygon",
            Some(Geometry::MultiPolygon(_)) => "Multi Polygon",
            Some(Geometry::LineString(_) | Geometry::MultiLineString(_)) => "Line String",
            Some(Geometry::Point(_) | Geometry::MultiPoint(_)) => "Point",
            _ => "Unknown (any)",
        };
        Layer {
            name: name.to_owned(),
            source_path,
            driver: driver.to_owned(),
            geometry_type: geometry_type.into(),
            crs,
            fields: fields
                .iter()
                .map(|(n, kind)| FieldDef {
                    name: (*n).to_owned(),
                    alias: String::new(),
                    kind: *kind,
                })
                .collect(),
            columns,
            fids: (1..=geometries.len() as i64).collect(),
            geometries: geometries.into(),
            encoding: None,
            issues: Vec::new(),
        }
    }

    /// What the layer's features are: `point`, `line` or `polygon`, from its declared geometry
    /// type, else (a layer saved as "any geometry") from its first geometry; `""` when unknown.
    pub fn geometry_kind(&self) -> &'static str {
        let gt = self.geometry_type.to_lowercase();
        let from_type = if gt.contains("point") {
            "point"
        } else if gt.contains("line") || gt.contains("curve") {
            "line"
        } else if gt.contains("polygon") || gt.contains("surface") {
            "polygon"
        } else {
            ""
        };
        if !from_type.is_empty() {
            return from_type;
        }
        use crate::geoms::Kind;
        match self.geometries.iter().flatten().next() {
            Some(g) => match g.kind() {
                Kind::Point | Kind::MultiPoint => "point",
                Kind::LineString | Kind::MultiLineString => "line",
                Kind::Polygon | Kind::MultiPolygon => "polygon",
                _ => match g.other() {
                    Some(geo::Geometry::Line(_)) => "line",
                    Some(geo::Geometry::Rect(_) | geo::Geometry::Triangle(_)) => "polygon",
                    _ => "",
                },
            },
            None => "",
        }
    }

    /// A layer of one geometry and no fields (a drawn shape, a highlight, a query area).
    pub fn single(name: &str, crs: Option<Crs>, geometry: Geometry) -> Layer {
        Layer {
            name: name.to_string(),
            source_path: PathBuf::new(),
            driver: String::new(),
            geometry_type: String::new(),
            crs,
            fields: Vec::new(),
            columns: Vec::new(),
            fids: vec![0],
            geometries: vec![Some(geometry)].into(),
            encoding: None,
            issues: Vec::new(),
        }
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.fids.len()
    }
    /// True when the layer has no features.
    pub fn is_empty(&self) -> bool {
        self.fids.is_empty()
    }
    /// Feature at `row`.
    pub fn feature(&self, row: usize) -> FeatureRef<'_> {
        FeatureRef { layer: self, row }
    }
    /// Iterate all features.
    pub fn features(&self) -> impl Iterator<Item = FeatureRef<'_>> {
        (0..self.len()).map(move |row| FeatureRef { layer: self, row })
    }
    /// Index of a field by name (exact, then case-insensitive).
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.name == name)
            .or_else(|| self.fields.iter().position(|f| f.name.eq_ignore_ascii_case(name)))
    }
    /// Row of the feature with id `fid`.
    pub fn row_of_fid(&self, fid: i64) -> Option<usize> {
        self.fids.iter().position(|&f| f == fid)
    }

    /// Envelope `[xmin, ymin, xmax, ymax]` of all geometries.
    pub fn extent(&self) -> Option<[f64; 4]> {
        let mut acc: Option<[f64; 4]> = None;
        for g in self.geometries.iter().flatten() {
            if let Some(e) = g.envelope() {
                acc = Some(match acc {
                    None => e,
                    Some(a) => [a[0].min(e[0]), a[1].min(e[1]), a[2].max(e[2]), a[3].max(e[3])],
                });
            }
        }
        acc
    }

    /// Reproject every geometry into `to`, in parallel. The layer must have a CRS.
    pub fn reproject(&mut self, to: &Crs) -> Result<()> {
        let from = self.crs.clone().ok_or_else(|| LayersError::MissingCrs {
            path: self.source_path.clone(),
            layer: self.name.clone(),
        })?;
        if from.definition == to.definition {
            self.crs = Some(to.clone());
            return Ok(());
        }
        // Fail early (and once) if PROJ cannot build the operation.
        Transformer::new(&from, to)?;
        let failures = self.geometries.map_rows(
            || (Transformer::new(&from, to).expect("checked above"), Vec::new()),
            |(t, buf): &mut (Transformer, Vec<(f64, f64)>), _, coords| {
                buf.clear();
                buf.extend(coords.iter().map(|c| (c.x, c.y)));
                t.transform_in_place(buf).map_err(|e| e.to_string())?;
                for (c, &(x, y)) in coords.iter_mut().zip(buf.iter()) {
                    *c = geo::Coord { x, y };
                }
                Ok(())
            },
            |(t, _), _, g| t.transform_geometry(g).map_err(|e| e.to_string()),
        );
        let failures: Vec<(i64, String)> = failures.into_iter().map(|(row, e)| (self.fids[row], e)).collect();
        for (fid, detail) in failures {
            self.issues.push(GeometryIssue {
                fid,
                problem: validity::Problem::Untransformable,
                detail,
                action: validity::Action::Skipped,
            });
        }
        self.crs = Some(to.clone());
        Ok(())
    }

    /// Check every geometry and repair, skip or keep the invalid ones. The issues are appended
    /// to [`Layer::issues`]; nothing is dropped silently.
    pub fn validate(&mut self, mode: RepairMode) {
        let fids = &self.fids;
        let found: Vec<(Vec<GeometryIssue>, Option<(usize, Option<Geometry>)>)> = self.geometries.par_map(|row, g| {
            let Some(g) = g else { return (Vec::new(), None) };
            let mut g = Some(g.to_geo());
            let issues = validity::check_and_fix(fids[row], &mut g, mode);
            // A geometry without problems, or with problems kept, is left as it was.
            let changed = !issues.is_empty() && mode != RepairMode::Keep;
            (issues, changed.then_some((row, g)))
        });
        let mut changes = Vec::new();
        for (issues, change) in found {
            self.issues.extend(issues);
            changes.extend(change);
        }
        self.geometries.replace(changes);
    }

    /// Counts of invalid features and what was done.
    pub fn validity_summary(&self) -> ValiditySummary {
        use std::collections::BTreeMap;
        let mut per: BTreeMap<i64, validity::Action> = BTreeMap::new();
        for i in &self.issues {
            let e = per.entry(i.fid).or_insert(i.action);
            if i.action == validity::Action::Skipped {
                *e = validity::Action::Skipped;
            }
        }
        let mut s = ValiditySummary {
            invalid_features: per.len(),
            ..Default::default()
        };
        for a in per.values() {
            match a {
                validity::Action::Repaired => s.repaired += 1,
                validity::Action::Skipped => s.skipped += 1,
                validity::Action::Kept => s.kept += 1,
            }
        }
        s
    }
}
