//! Writing layers to GeoPackage through GDAL, each layer in one transaction.

use gdal::vector::{Feature, FieldDefn, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType, ToGdal};
use gdal::{Dataset, DatasetOptions, DriverManager, GdalOpenFlags, Metadata};
use geo::Geometry;
use std::path::Path;

use crate::crs::Crs;
use crate::error::{LayersError, Result};
use crate::value::{FieldDef, FieldKind, Value};

/// What a new layer looks like.
#[derive(Debug, Clone)]
pub struct NewLayer<'a> {
    /// Table name.
    pub name: &'a str,
    /// CRS of the coordinates.
    pub crs: &'a Crs,
    /// Geometry type (`wkbPolygon`, `wkbMultiPolygon`, `wkbPoint`, ...).
    pub geometry_type: OGRwkbGeometryType::Type,
    /// Attribute fields.
    pub fields: &'a [FieldDef],
    /// Human description (GeoPackage `gpkg_contents.description`).
    pub description: &'a str,
    /// Metadata items stored with the layer (e.g. `SYNTHETIC=YES`).
    pub metadata: &'a [(&'a str, &'a str)],
}

fn err(path: &Path, e: impl std::fmt::Display) -> LayersError {
    LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("cannot write: {e}"),
    }
}

/// Add a layer with `features` (geometry and one value per field) to the GeoPackage at
/// `path`, creating the file if needed. A layer of the same name is replaced.
pub fn write_gpkg_layer(path: &Path, spec: &NewLayer<'_>, features: &[(Option<Geometry>, Vec<Value>)]) -> Result<()> {
    crate::ffi::quiet_gdal();
    let mut ds = if path.exists() {
        Dataset::open_ex(
            path,
            DatasetOptions {
                open_flags: GdalOpenFlags::GDAL_OF_UPDATE | GdalOpenFlags::GDAL_OF_VECTOR,
                ..Default::default()
            },
        )
        .map_err(|e| err(path, e))?
    } else {
        DriverManager::get_driver_by_name("GPKG")
            .map_err(|e| err(path, e))?
            .create_vector_only(path)
            .map_err(|e| err(path, e))?
    };
    if let Some(i) = ds.layers().position(|l| l.name() == spec.name) {
        ds.delete_layer(i).map_err(|e| err(path, e))?;
    }
    let srs = gdal::spatial_ref::SpatialRef::from_definition(&spec.crs.definition).map_err(|e| err(path, e))?;
    let desc = format!("DESCRIPTION={}", spec.description);
    let opts = [desc.as_str()];
    let mut tx = ds.start_transaction().map_err(|e| err(path, e))?;
    {
        let mut layer = tx
            .create_layer(LayerOptions {
                name: spec.name,
                srs: Some(&srs),
                ty: spec.geometry_type,
                options: Some(&opts),
            })
            .map_err(|e| err(path, e))?;
        for (k, v) in spec.metadata {
            layer.set_metadata_item(k, v, "").map_err(|e| err(path, e))?;
        }
        for f in spec.fields {
            let t = match f.kind {
                FieldKind::Integer | FieldKind::Boolean => OGRFieldType::OFTInteger64,
                FieldKind::Real => OGRFieldType::OFTReal,
                FieldKind::Date => OGRFieldType::OFTDate,
                FieldKind::DateTime => OGRFieldType::OFTDateTime,
                _ => OGRFieldType::OFTString,
            };
            let d = FieldDefn::new(&f.name, t).map_err(|e| err(path, e))?;
            d.add_to_layer(&layer).map_err(|e| err(path, e))?;
        }
        let defn = gdal::vector::Defn::from_layer(&layer);
        for (geom, values) in features {
            let mut ft = Feature::new(&defn).map_err(|e| err(path, e))?;
            if let Some(g) = geom {
                ft.set_geometry(g.to_gdal().map_err(|e| err(path, e))?).map_err(|e| err(path, e))?;
            }
            for (i, v) in values.iter().enumerate() {
                let r = match v {
                    Value::Null => ft.set_field_null(i),
                    Value::Integer(x) => ft.set_field_integer64(i, *x),
                    Value::Boolean(b) => ft.set_field_integer64(i, i64::from(*b)),
                    Value::Real(x) => ft.set_field_double(i, *x),
                    Value::Text(s) | Value::Date(s) | Value::Time(s) | Value::DateTime(s) => ft.set_field_string(i, s),
                };
                r.map_err(|e| err(path, e))?;
            }
            ft.create(&layer).map_err(|e| err(path, e))?;
        }
    }
    tx.commit().map_err(|e| err(path, e))?;
    Ok(())
}
