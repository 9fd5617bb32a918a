//! Opening vector sources through GDAL: GeoPackage, Shapefile (also zipped), GeoJSON,
//! FlatGeobuf, FileGDB, KML, GML, DXF, CSV with WKT or x/y columns, and anything else GDAL reads.

use std::path::{Path, PathBuf};

use gdal::vector::{Layer as GdalLayer, LayerAccess, OGRFieldType};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use serde::Serialize;

use crate::crs::{Crs, Transformer};
use crate::encoding::{self, EncodingReport};
use crate::error::{LayersError, Result};
use crate::ffi;
use crate::layer::Layer;
use crate::value::{Column, FieldDef, FieldKind, Value};
use crate::wkb::parse_wkb_counting;

/// Options for opening a source.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Force a text encoding for shapefiles (`GBK`, `UTF-8`, `Big5`, `CP1252`, ...).
    pub encoding: Option<String>,
}

/// Description of one layer of a source, without reading its features.
#[derive(Debug, Clone, Serialize)]
pub struct LayerInfo {
    /// Layer name.
    pub name: String,
    /// Feature count as the driver reports it.
    pub feature_count: u64,
    /// Geometry type name.
    pub geometry_type: String,
    /// CRS, if the layer declares one.
    pub crs: Option<Crs>,
    /// Extent in the native CRS `[xmin, ymin, xmax, ymax]` (x = east/lon).
    pub extent: Option<[f64; 4]>,
    /// Extent in CGCS2000 lon/lat.
    pub extent_lonlat: Option<[f64; 4]>,
    /// Fields.
    pub fields: Vec<FieldDef>,
    /// Text encoding chosen (shapefiles).
    pub encoding: Option<EncodingReport>,
}

/// An open vector source.
pub struct Source {
    path: PathBuf,
    dataset: Dataset,
    driver: String,
    encoding: Option<EncodingReport>,
    job: Job,
}

use crate::job::Job;
pub use crate::job::Progress;

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Source({}, {})", self.path.display(), self.driver)
    }
}

fn ext_of(p: &Path) -> String {
    p.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()
}

/// Find `stem.ext` next to `p`, in any letter case.
fn sibling(p: &Path, ext: &str) -> Option<PathBuf> {
    [ext.to_ascii_lowercase(), ext.to_ascii_uppercase()]
        .iter()
        .map(|e| p.with_extension(e))
        .find(|c| c.exists())
}

impl Source {
    /// Open a file (or `.gdb` folder). Errors name the file and the problem.
    pub fn open(path: impl AsRef<Path>, opts: &OpenOptions) -> Result<Source> {
        ffi::quiet_gdal();
        let path = path.as_ref().to_path_buf();
        let meta = std::fs::metadata(&path).map_err(|e| LayersError::io(&path, e))?;
        let ext = ext_of(&path);
        if meta.is_dir() && ext != "gdb" {
            return Err(LayersError::IsDirectory { path });
        }
        if meta.is_file() && meta.len() == 0 {
            return Err(LayersError::Corrupt {
                path,
                detail: "the file is empty".into(),
            });
        }
        let mut gdal_path = path.to_string_lossy().into_owned();
        let mut encoding = None;
        let mut open_options: Vec<String> = Vec::new();
        match ext.as_str() {
            "shp" | "dbf" => {
                let shx = sibling(&path, "shx");
                let dbf = if ext == "dbf" { Some(path.clone()) } else { sibling(&path, "dbf") };
                if ext == "shp" && shx.is_none() {
                    return Err(LayersError::ShapefileSidecar {
                        missing: ".shx",
                        expected: path.with_extension("shx"),
                        path,
                    });
                }
                let Some(dbf) = dbf else {
                    return Err(LayersError::ShapefileSidecar {
                        missing: ".dbf",
                        expected: path.with_extension("dbf"),
                        path,
                    });
                };
                let bytes = std::fs::read(&dbf).map_err(|e| LayersError::Io {
                    path: dbf.clone(),
                    source: e,
                })?;
                let cpg = sibling(&path, "cpg").and_then(|c| std::fs::read_to_string(c).ok());
                let sample = encoding::sample_dbf(&dbf, &bytes, 256 * 1024)?;
                let rep = encoding::decide(&path, opts.encoding.as_deref(), cpg.as_deref(), &sample)?;
                open_options.push(format!("ENCODING={}", rep.gdal_name()));
                encoding = Some(rep);
            }
            "zip" => {
                gdal_path = format!("/vsizip/{gdal_path}");
                let entries = gdal::vsi::read_dir(&gdal_path, true).map_err(|e| LayersError::Corrupt {
                    path: path.clone(),
                    detail: format!("not a readable zip archive ({e})"),
                })?;
                let shps: Vec<PathBuf> = entries.into_iter().filter(|e| ext_of(e) == "shp").collect();
                if let Some(first) = shps.first() {
                    if shps.len() == 1 {
                        gdal_path = format!("{gdal_path}/{}", first.display());
                    }
                    let inner = |ext: &str| {
                        let base = first.with_extension(ext);
                        ffi::read_vsi_file(&format!("/vsizip/{}/{}", path.display(), base.display())).or_else(|| {
                            ffi::read_vsi_file(&format!(
                                "/vsizip/{}/{}",
                                path.display(),
                                first.with_extension(ext.to_ascii_uppercase()).display()
                            ))
                        })
                    };
                    if let Some(dbf) = inner("dbf") {
                        let cpg = inner("cpg").map(|b| String::from_utf8_lossy(&b).into_owned());
                        let sample = encoding::sample_dbf(&path, &dbf, 256 * 1024)?;
                        let rep = encoding::decide(&path, opts.encoding.as_deref(), cpg.as_deref(), &sample)?;
                        open_options.push(format!("ENCODING={}", rep.gdal_name()));
                        encoding = Some(rep);
                    }
                }
            }
            // GDAL uses a FlatGeobuf index only for spatial filters: check it before reading.
            "fgb" => {
                crate::fgb::check(&path)?;
            }
            // GDAL's GML reader writes a `.gfs` schema file beside the data unless told not to:
            // opening a file must never write next to it (read-only shares, shared test data).
            "gml" => open_options.push("WRITE_GFS=NO".into()),
            "csv" | "tsv" => {
                open_options.extend(
                    [
                        "GEOM_POSSIBLE_NAMES=wkt,geom,geometry,the_geom,shape",
                        "X_POSSIBLE_NAMES=x,lon,lng,long,longitude,easting,经度",
                        "Y_POSSIBLE_NAMES=y,lat,latitude,northing,纬度",
                        "KEEP_GEOM_COLUMNS=NO",
                        "AUTODETECT_TYPE=YES",
                        "EMPTY_STRING_AS_NULL=YES",
                    ]
                    .map(String::from),
                );
            }
            _ => {}
        }
        let oo: Vec<&str> = open_options.iter().map(String::as_str).collect();
        ffi::reset_error();
        let dataset = Dataset::open_ex(
            &gdal_path,
            DatasetOptions {
                open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
                open_options: if oo.is_empty() { None } else { Some(&oo) },
                ..Default::default()
            },
        )
        .map_err(|_| {
            let detail = ffi::last_failure().filter(|m| !m.trim().is_empty()).unwrap_or_default();
            if detail.is_empty() || detail.contains("not recognized as") || detail.contains("not recognised as") {
                LayersError::UnknownFormat {
                    path: path.clone(),
                    detail: "no GIS driver recognises it".into(),
                }
            } else {
                LayersError::Corrupt {
                    path: path.clone(),
                    detail: tidy(&detail),
                }
            }
        })?;
        let driver = dataset.driver().short_name();
        if dataset.layer_count() == 0 {
            // A driver that took the file but refused its content says why.
            if let Some(why) = ffi::last_failure().filter(|m| !m.trim().is_empty()) {
                return Err(LayersError::Corrupt { path, detail: tidy(&why) });
            }
            return Err(LayersError::UnknownFormat {
                path,
                detail: format!("the {driver} driver found no vector layers"),
            });
        }
        Ok(Source {
            path,
            dataset,
            driver,
            encoding,
            job: Job::new(),
        })
    }

    /// Report reading progress (features read, total) to `progress` (called from reader threads).
    pub fn set_progress(&mut self, progress: Progress) {
        self.job = std::mem::take(&mut self.job).with_progress(progress);
    }

    /// Stop reading as soon as `cancel` is set (between chunks of rows): the read returns
    /// [`LayersError::Cancelled`] and nothing half-read.
    pub fn set_cancel(&mut self, cancel: std::sync::Arc<std::sync::atomic::AtomicBool>) {
        self.job = std::mem::take(&mut self.job).with_cancel(cancel);
    }

    /// Read with `job`'s progress callback and cancel flag.
    pub fn set_job(&mut self, job: Job) {
        self.job = job;
    }

    fn cancelled(&self) -> bool {
        self.job.is_cancelled()
    }

    /// Path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// GDAL driver short name.
    pub fn driver(&self) -> &str {
        &self.driver
    }
    /// Encoding chosen for the text of this source (shapefiles).
    pub fn encoding(&self) -> Option<&EncodingReport> {
        self.encoding.as_ref()
    }

    /// Names of the layers, in source order.
    pub fn layer_names(&self) -> Vec<String> {
        self.dataset.layers().map(|l| l.name()).collect()
    }

    fn gdal_layer(&self, name: Option<&str>) -> Result<GdalLayer<'_>> {
        match name {
            None => self.dataset.layer(0).map_err(|e| LayersError::Corrupt {
                path: self.path.clone(),
                detail: e.to_string(),
            }),
            Some(n) => self.dataset.layer_by_name(n).map_err(|_| LayersError::NoSuchLayer {
                path: self.path.clone(),
                layer: n.to_owned(),
                available: self.layer_names().join(", "),
            }),
        }
    }

    /// Describe every layer.
    pub fn info(&self) -> Result<Vec<LayerInfo>> {
        self.layer_names().iter().map(|n| self.layer_info(Some(n))).collect()
    }

    /// Describe one layer (the first if `name` is `None`).
    pub fn layer_info(&self, name: Option<&str>) -> Result<LayerInfo> {
        let mut layer = self.gdal_layer(name)?;
        let crs = layer.spatial_ref().map(|s| Crs::from_spatial_ref(&s, None));
        let extent = layer
            .try_get_extent()
            .ok()
            .flatten()
            .or_else(|| layer.get_extent().ok())
            .map(|e| [e.MinX, e.MinY, e.MaxX, e.MaxY]);
        let extent_lonlat = match (&crs, extent) {
            (Some(c), Some(e)) => lonlat_extent(c, e),
            _ => None,
        };
        Ok(LayerInfo {
            name: layer.name(),
            feature_count: feature_count(&mut layer),
            geometry_type: geometry_type_name(&layer),
            crs,
            extent,
            extent_lonlat,
            fields: field_defs(&layer),
            encoding: self.encoding.clone(),
        })
    }

    /// Read a whole layer (the first if `name` is `None`) in its native CRS. Geometry problems
    /// are not yet checked: see [`Layer::validate`].
    pub fn read_layer(&self, name: Option<&str>) -> Result<Layer> {
        if self.driver == "GPKG" && ext_of(&self.path) == "gpkg" {
            // Check the name through GDAL first so that errors read the same either way.
            let layer_name = self.gdal_layer(name)?.name();
            let read = crate::gpkg::read_layer_progress(&self.path, Some(&layer_name), None, &self.job);
            if self.cancelled() {
                return Err(LayersError::Cancelled { path: self.path.clone() });
            }
            if let Ok(l) = read {
                return Ok(l);
            }
        }
        self.read_layer_gdal(name)
    }

    /// Read a layer through GDAL's OGR API (used for every format; GeoPackage normally goes
    /// through the faster native reader).
    pub fn read_layer_gdal(&self, name: Option<&str>) -> Result<Layer> {
        let mut layer = self.gdal_layer(name)?;
        let layer_name = layer.name();
        let fields = field_defs(&layer);
        let crs = layer.spatial_ref().map(|s| Crs::from_spatial_ref(&s, None));
        let n_hint = layer.try_feature_count().unwrap_or(0) as usize;
        let mut columns: Vec<Column> = fields.iter().map(|f| Column::for_kind(f.kind, n_hint)).collect();
        let mut fids = Vec::with_capacity(n_hint);
        let mut geometries = Vec::with_capacity(n_hint);
        let mut unreadable = Vec::new();
        let mut closed = Vec::new();
        ffi::reset_error();
        for (row, feature) in layer.features().enumerate() {
            if self.cancelled() {
                return Err(LayersError::Cancelled { path: self.path.clone() });
            }
            if row % 4096 == 0 {
                self.job.report(row as u64, n_hint as u64);
            }
            let fid = feature.fid().map_or(row as i64, |f| f as i64);
            fids.push(fid);
            let geom = match feature.geometry() {
                None => None,
                Some(g) if ffi::geometry_is_null(g) || g.is_empty() => None,
                Some(g) => match ffi::linear_iso_wkb(g).map(|w| parse_wkb_counting(&w)) {
                    Some(Ok((geo, unclosed))) => {
                        if unclosed > 0 {
                            closed.push((fid, unclosed));
                        }
                        Some(geo)
                    }
                    Some(Err(e)) => {
                        unreadable.push((fid, e.to_string()));
                        None
                    }
                    None => {
                        unreadable.push((fid, "geometry could not be exported".into()));
                        None
                    }
                },
            };
            geometries.push(geom);
            for (i, f) in fields.iter().enumerate() {
                columns[i].push(read_value(&feature, i, f.kind));
            }
        }
        if let Some(err) = ffi::last_failure() {
            return Err(LayersError::Corrupt {
                path: self.path.clone(),
                detail: format!("layer '{layer_name}' stops after {} features: {}", fids.len(), tidy(&err)),
            });
        }
        let mut issues: Vec<crate::validity::GeometryIssue> = closed
            .into_iter()
            .map(|(fid, n)| crate::validity::GeometryIssue {
                fid,
                problem: crate::validity::Problem::UnclosedRing,
                detail: format!("{n} ring(s) did not end where they start; closed on read"),
                action: crate::validity::Action::Repaired,
            })
            .collect();
        issues.extend(unreadable.into_iter().map(|(fid, detail)| crate::validity::GeometryIssue {
            fid,
            problem: crate::validity::Problem::EmptyPart,
            detail: format!("unreadable geometry: {detail}"),
            action: crate::validity::Action::Skipped,
        }));
        Ok(Layer {
            name: layer_name,
            source_path: self.path.clone(),
            driver: self.driver.clone(),
            geometry_type: geometry_type_name(&layer),
            crs,
            fields,
            columns,
            fids,
            geometries: geometries.into(),
            encoding: self.encoding.clone(),
            issues,
        })
    }
}

/// The feature count, counted by reading where the driver cannot tell (OSM, some streams).
fn feature_count(layer: &mut GdalLayer<'_>) -> u64 {
    if let Some(n) = layer.try_feature_count() {
        return n;
    }
    let n = layer.feature_count();
    if n != u64::MAX {
        return n;
    }
    layer.reset_feature_reading();
    let n = layer.features().count() as u64;
    layer.reset_feature_reading();
    n
}

fn tidy(msg: &str) -> String {
    msg.lines().next().unwrap_or("").trim().trim_end_matches('.').to_owned()
}

fn lonlat_extent(c: &Crs, e: [f64; 4]) -> Option<[f64; 4]> {
    let to = Crs::cgcs2000().ok()?;
    let t = Transformer::new(c, &to).ok()?;
    // Sample the edges so that curved graticules are enclosed.
    let mut pts = Vec::new();
    for i in 0..=8 {
        let f = f64::from(i) / 8.0;
        let x = e[0] + (e[2] - e[0]) * f;
        let y = e[1] + (e[3] - e[1]) * f;
        pts.extend([(x, e[1]), (x, e[3]), (e[0], y), (e[2], y)]);
    }
    t.transform_in_place(&mut pts).ok()?;
    let mut out = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for (x, y) in pts {
        out = [out[0].min(x), out[1].min(y), out[2].max(x), out[3].max(y)];
    }
    Some(out)
}

fn geometry_type_name(layer: &GdalLayer<'_>) -> String {
    let t = layer
        .defn()
        .geom_fields()
        .next()
        .map(|g| g.field_type())
        .unwrap_or(gdal_sys::OGRwkbGeometryType::wkbNone);
    if t == gdal_sys::OGRwkbGeometryType::wkbNone {
        return "None".into();
    }
    gdal::vector::geometry_type_to_name(t)
}

fn field_defs(layer: &GdalLayer<'_>) -> Vec<FieldDef> {
    layer
        .defn()
        .fields()
        .enumerate()
        .map(|(i, f)| {
            let kind = match f.field_type() {
                OGRFieldType::OFTInteger | OGRFieldType::OFTInteger64 => {
                    if ffi::field_is_boolean(layer, i) {
                        FieldKind::Boolean
                    } else {
                        FieldKind::Integer
                    }
                }
                OGRFieldType::OFTReal => FieldKind::Real,
                OGRFieldType::OFTString | OGRFieldType::OFTWideString => FieldKind::Text,
                OGRFieldType::OFTDate => FieldKind::Date,
                OGRFieldType::OFTTime => FieldKind::Time,
                OGRFieldType::OFTDateTime => FieldKind::DateTime,
                OGRFieldType::OFTBinary => FieldKind::Binary,
                _ => FieldKind::Other,
            };
            FieldDef {
                name: f.name(),
                alias: f.alternative_name(),
                kind,
            }
        })
        .collect()
}

fn read_value(feature: &gdal::vector::Feature<'_>, idx: usize, kind: FieldKind) -> Value {
    use gdal::vector::FieldValue as F;
    if !ffi::field_has_value(feature, idx) {
        return Value::Null;
    }
    match kind {
        FieldKind::Binary => Value::Null,
        FieldKind::Time | FieldKind::Other => match feature.field_as_string(idx) {
            Ok(Some(s)) if kind == FieldKind::Time => Value::Time(s),
            Ok(Some(s)) => Value::Text(s),
            _ => Value::Null,
        },
        // GDAL formats dates as `YYYY/MM/DD[ HH:MM:SS[.sss][+TZ]]`; keep ISO 8601.
        FieldKind::Date | FieldKind::DateTime => match feature.field_as_string(idx) {
            Ok(Some(s)) if kind == FieldKind::Date => Value::Date(s.replacen('/', "-", 2)),
            Ok(Some(s)) => Value::DateTime(s.replacen('/', "-", 2).replacen(' ', "T", 1)),
            _ => Value::Null,
        },
        _ => match feature.field(idx) {
            Ok(Some(F::IntegerValue(v))) => Value::Integer(i64::from(v)),
            Ok(Some(F::Integer64Value(v))) => Value::Integer(v),
            Ok(Some(F::RealValue(v))) => Value::Real(v),
            Ok(Some(F::StringValue(v))) => Value::Text(v),
            Ok(Some(other)) => Value::Text(format!("{other:?}")),
            Ok(None) | Err(_) => Value::Null,
        },
    }
}

/// File extensions of the vector formats [`Source::open`] reads (a `.gdb` is a folder).
pub const READABLE_EXTENSIONS: &[&str] = &[
    "gpkg", "shp", "zip", "geojson", "json", "fgb", "gdb", "kml", "gml", "dxf", "csv", "tif", "tiff", "glb", "gltf",
];

/// One entry of a folder as a file dialog shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct FolderEntry {
    /// File or folder name.
    pub name: String,
    /// Full path.
    pub path: PathBuf,
    /// A folder to open (not a `.gdb`, which is a dataset).
    pub folder: bool,
    /// Size in bytes (0 for folders).
    pub size: u64,
}

/// The sub-folders of `dir` and the datasets in it that [`Source::open`] reads, folders first,
/// then by name; hidden entries (starting with a dot) are left out.
pub fn list_readable(dir: &Path) -> Result<Vec<FolderEntry>> {
    let io = |e: std::io::Error| LayersError::Io {
        path: dir.to_path_buf(),
        source: e,
    };
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io)? {
        let Ok(e) = e else { continue };
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = e.path();
        // Follow links: a linked folder is a folder.
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        let ext = ext_of(&path);
        // An oblique model is opened by its metadata.xml (beside its Data/ folder).
        let dataset = (READABLE_EXTENSIONS.contains(&ext.as_str()) && (meta.is_file() || ext == "gdb"))
            || (meta.is_file() && ext == "xml" && crate::osgb::is_oblique(&path));
        if meta.is_dir() && ext != "gdb" {
            out.push(FolderEntry {
                name,
                path,
                folder: true,
                size: 0,
            });
        } else if dataset {
            out.push(FolderEntry {
                name,
                path,
                folder: false,
                size: if meta.is_file() { meta.len() } else { 0 },
            });
        }
    }
    out.sort_by(|a, b| {
        b.folder
            .cmp(&a.folder)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok(out)
}
