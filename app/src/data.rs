//! Opening data: a catalog, files, `FILE:LAYER` specs, into one workspace; and the workspace
//! as the layer tree shows it.

use jingwei_layers::catalog::Group;
use jingwei_layers::{Crs, Layer, OpenOptions, RepairMode, Source, Workspace};
use jingwei_scene::style::{self, Rgba};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Open `FILE` or `FILE:LAYER` (the suffix counts as a layer only when FILE exists and the
/// whole string does not).
pub fn open_layer_spec(spec: &str) -> Result<Layer> {
    let (file, layer) = match spec.rsplit_once(':') {
        Some((f, l)) if !Path::new(spec).exists() && Path::new(f).exists() && !l.contains(['/', '\\']) => (f, Some(l)),
        _ => (spec, None),
    };
    let src = Source::open(file, &OpenOptions::default())?;
    Ok(src.read_layer(layer)?)
}

/// The `FILE:LAYER` spec a layer was read from (what [`open_layer_spec`] opens again).
pub fn spec_of(layer: &Layer) -> String {
    format!("{}:{}", layer.source_path.display(), layer.name)
}

/// A workspace made of a catalog and/or `FILE[:LAYER]` specs.
#[derive(Debug, Clone, Default)]
pub struct DataRequest {
    /// A workspace catalog (its layers, groups and styles).
    pub catalog: Option<PathBuf>,
    /// Files or `FILE:LAYER` specs, each added as one layer with the id given.
    pub specs: Vec<(String, String)>,
    /// The workspace CRS (default: the catalog's, else the CGCS2000 3° zone of the first file).
    pub crs: Option<String>,
}

/// The workspace a [`DataRequest`] made, with the CRS each spec came in (the CRS a user
/// typing coordinates "like the file" means).
pub struct Opened {
    /// The workspace.
    pub workspace: Workspace,
    /// The native CRS of each spec, in order.
    pub natives: Vec<Option<Crs>>,
}

/// Open a catalog and/or files into one workspace (invalid geometry repaired and reported).
pub fn open(req: &DataRequest) -> Result<Opened> {
    let crs = req.crs.as_deref().map(Crs::parse).transpose()?;
    let mut ws = match &req.catalog {
        Some(c) => Some(Workspace::open_catalog(c, crs.clone(), RepairMode::Repair)?),
        None => crs.map(Workspace::new).transpose()?,
    };
    let mut natives = Vec::new();
    for (spec, id) in &req.specs {
        let layer = open_layer_spec(spec)?;
        natives.push(layer.crs.clone());
        let w = match ws.as_mut() {
            Some(w) => w,
            None => ws.insert(Workspace::for_layer(&layer)?),
        };
        w.add_layer(layer, RepairMode::Repair)?;
        if let Some(wl) = w.layers.last_mut() {
            wl.id = id.clone();
        }
    }
    let workspace = ws.ok_or_else(|| Error::Invalid("give files or a catalog".into()))?;
    Ok(Opened { workspace, natives })
}

/// Longitude and latitude a user typed: within ±180° and ±90° (a hint when they look swapped).
pub fn check_lonlat(lon: f64, lat: f64) -> Result<()> {
    if lon.is_finite() && lat.is_finite() && (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) {
        return Ok(());
    }
    let hint = if (-90.0..=90.0).contains(&lon) && (-180.0..=180.0).contains(&lat) {
        " (longitude first: are the two swapped?)"
    } else {
        ""
    };
    Err(Error::Invalid(format!(
        "{lon},{lat} is not a longitude,latitude: longitude within ±180°, latitude within ±90°{hint}"
    )))
}

/// A point typed by the user, in the workspace CRS: from `in_crs` when given, else from the
/// CRS of the data the user named, else from CGCS2000 longitude/latitude (checked to be one).
pub fn user_point(ws: &Workspace, xy: (f64, f64), in_crs: Option<&str>, native: Option<&Crs>) -> Result<(f64, f64)> {
    let from = match (in_crs, native) {
        (Some(c), _) => Crs::parse(c)?,
        (None, Some(n)) => n.clone(),
        (None, None) => Crs::cgcs2000()?,
    };
    if from.is_geographic() {
        check_lonlat(xy.0, xy.1)?;
    }
    let (t, data) = ws.user_input(&from)?;
    Ok(t.point(xy.0, xy.1, data)?)
}

/// A point typed by the user in `from`, in `to`; longitude/latitude checked to be one.
pub fn typed_point(xy: (f64, f64), from: &Crs, to: &Crs) -> Result<(f64, f64)> {
    if from.is_geographic() {
        check_lonlat(xy.0, xy.1)?;
    }
    Ok(jingwei_layers::Transformer::new(from, to)?.point(xy.0, xy.1, None)?)
}

/// Parse `X,Y`.
pub fn parse_xy(s: &str) -> Result<(f64, f64)> {
    let bad = || Error::Invalid(format!("'{s}': write X,Y (two numbers)"));
    let (x, y) = s.split_once(',').ok_or_else(bad)?;
    let x: f64 = x.trim().parse().map_err(|_| bad())?;
    let y: f64 = y.trim().parse().map_err(|_| bad())?;
    if !(x.is_finite() && y.is_finite()) {
        return Err(bad());
    }
    Ok((x, y))
}

/// A layer as the layer tree shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct LayerDto {
    /// Layer id.
    pub id: String,
    /// Title (Chinese where the catalog gives one).
    pub title: String,
    /// The 一张图 group.
    pub group: Group,
    /// Features.
    pub features: usize,
    /// Geometry type.
    pub geometry_type: String,
    /// Whether its features are polygons (by their geometries, whatever the file declares):
    /// the layers area analyses take.
    pub polygonal: bool,
    /// Shown.
    pub visible: bool,
    /// Synthetic demo data (marked in the tree).
    pub synthetic: bool,
    /// Where it comes from (数据来源, version, level).
    pub provenance: jingwei_layers::catalog::Provenance,
    /// Features with invalid geometry.
    pub invalid: usize,
    /// Opacity 0–1.
    pub opacity: f32,
    /// Legend colours as CSS `rgba()`: fill and outline.
    pub fill: String,
    /// Outline colour.
    pub stroke: String,
    /// The classes present in the layer (land-use classes, categories): label and fill.
    pub legend: Vec<(String, String)>,
    /// Fields of dates (the time slider can step through them).
    pub date_fields: Vec<String>,
}

/// An imagery layer as the layer tree shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct ImageryDto {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Shown.
    pub visible: bool,
    /// Opacity 0–1.
    pub opacity: f32,
    /// `file` or the kind of service.
    pub kind: String,
    /// What it is, or why it is not open.
    pub detail: String,
    /// Advice (build overviews), if any.
    pub hint: Option<String>,
    /// Whether it is open.
    pub open: bool,
    /// Tiles had, empty and failed so far, and the last failure.
    pub health: jingwei_layers::imagery::loader::TileHealth,
}

/// Describe the workspace's imagery for the tree.
pub fn describe_imagery(ws: &Workspace, loader: Option<&jingwei_layers::imagery::loader::Loader>) -> Vec<ImageryDto> {
    ws.imagery
        .iter()
        .map(|l| ImageryDto {
            id: l.id.clone(),
            title: l.title.clone(),
            visible: l.visible,
            opacity: l.opacity,
            kind: l.spec.get("kind").and_then(|k| k.as_str()).unwrap_or("file").to_owned(),
            detail: l.detail.clone(),
            hint: l.hint.clone(),
            open: l.source.is_some(),
            health: match (loader, &l.source) {
                (Some(ld), Some(s)) => ld.health(s.key()),
                _ => jingwei_layers::imagery::loader::TileHealth::default(),
            },
        })
        .collect()
}

/// The workspace as the page shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct WorkspaceDto {
    /// The workspace CRS, e.g. `EPSG:4549`.
    pub crs: String,
    /// Its name.
    pub crs_name: String,
    /// The local origin (workspace metres).
    pub origin_xy: [f64; 2],
    /// Layers, in drawing order.
    pub layers: Vec<LayerDto>,
    /// Data attributions.
    pub attribution: Vec<String>,
    /// Imagery layers, bottom first, drawn under the layers.
    pub imagery: Vec<ImageryDto>,
    /// 3D Tiles tilesets (the city twin), streamed for the view.
    pub tilesets: Vec<TilesetDto>,
    /// What the 3D view cuts away (剖切), as set (kept in saved workspaces).
    pub clip: ClipRequest,
}

/// A 3D Tiles tileset as the layer tree shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct TilesetDto {
    /// Id.
    pub id: String,
    /// Title (its folder's name).
    pub title: String,
    /// The root `tileset.json`.
    pub path: String,
    /// Shown.
    pub visible: bool,
    /// Tiles known so far (implicit subtrees are read as the view reaches them).
    pub tiles: usize,
    /// Tiles resident, and their bytes.
    pub resident: usize,
    /// Bytes of geometry resident.
    pub resident_bytes: usize,
    /// The memory budget (bytes).
    pub budget_bytes: usize,
    /// Contents that could not be loaded, one line each (file and problem), at most 20.
    pub broken: Vec<String>,
}

/// Describe the workspace's tilesets for the tree.
pub fn describe_tilesets(ws: &Workspace) -> Vec<TilesetDto> {
    ws.tilesets
        .iter()
        .map(|t| {
            let (tiles, resident, resident_bytes, budget_bytes, broken) = match t.stream.lock() {
                Ok(s) => {
                    let mut broken: Vec<String> = s
                        .broken()
                        .map(|(_, b)| b.to_owned())
                        .chain(s.tileset().broken.iter().cloned())
                        .collect();
                    broken.sort();
                    broken.truncate(20);
                    (
                        s.tileset().tiles.len(),
                        s.resident_tiles().count(),
                        s.resident_bytes(),
                        s.options().budget_bytes,
                        broken,
                    )
                }
                Err(_) => (0, 0, 0, 0, Vec::new()),
            };
            TilesetDto {
                id: t.id.clone(),
                title: t.title.clone(),
                path: t.path.display().to_string(),
                visible: t.visible,
                tiles,
                resident,
                resident_bytes,
                budget_bytes,
                broken,
            }
        })
        .collect()
}

fn css(c: Rgba) -> String {
    // A transparent fill shows in the legend as a light tint of itself.
    let a = if c[3] <= 0.0 { 0.15 } else { c[3] };
    format!("rgba({:.0},{:.0},{:.0},{a:.2})", c[0] * 255.0, c[1] * 255.0, c[2] * 255.0)
}

/// Describe a workspace for the layer tree.
pub fn describe(ws: &Workspace) -> WorkspaceDto {
    WorkspaceDto {
        crs: ws.crs.label(),
        crs_name: ws.crs.name.clone(),
        origin_xy: ws.origin_xy,
        attribution: ws.attribution.clone(),
        imagery: describe_imagery(ws, None),
        tilesets: describe_tilesets(ws),
        clip: ClipRequest::of(&ws.clip),
        layers: ws
            .layers
            .iter()
            .map(|l| {
                let s = style::for_workspace_layer(l).unwrap_or_else(|_| style::for_layer(&l.id, &l.layer));
                LayerDto {
                    id: l.id.clone(),
                    title: l.title.clone(),
                    group: l.group,
                    features: l.layer.len(),
                    geometry_type: l.layer.geometry_type.clone(),
                    polygonal: l.layer.geometries.iter().flatten().next().is_some_and(|g| {
                        matches!(
                            g.kind(),
                            jingwei_layers::geoms::Kind::Polygon | jingwei_layers::geoms::Kind::MultiPolygon
                        )
                    }),
                    visible: l.visible,
                    synthetic: l.synthetic,
                    provenance: l.provenance.clone(),
                    invalid: l.layer.validity_summary().invalid_features,
                    opacity: l.opacity,
                    fill: css(s.fill),
                    stroke: css(s.stroke),
                    legend: s.legend(&l.layer).into_iter().map(|(label, c)| (label, css(c))).collect(),
                    date_fields: l
                        .layer
                        .fields
                        .iter()
                        .filter(|f| {
                            matches!(
                                f.kind,
                                jingwei_layers::value::FieldKind::Date | jingwei_layers::value::FieldKind::DateTime
                            )
                        })
                        .map(|f| f.name.clone())
                        .collect(),
                }
            })
            .collect(),
    }
}

/// A layer of a workspace as a GeoJSON FeatureCollection in CGCS2000 lon/lat.
pub fn layer_geojson(ws: &Workspace, id: &str) -> Result<String> {
    let wl = ws.layer(id).ok_or_else(|| Error::NoLayer(id.into()))?;
    let to = ws.to_lonlat()?;
    let rows: Vec<usize> = (0..wl.layer.len()).collect();
    let fc = jingwei_layers::geojson::feature_collection(&wl.layer, &rows, Some(&to), &|_| Vec::new())?;
    Ok(fc.to_string())
}

/// What the 3D view cuts away (剖切): above a height, beyond a vertical section, inside or
/// outside a polygon layer's areas. It cuts the city models, BIM storeys, tilesets, point clouds
/// and the ground alike.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct ClipRequest {
    /// Cut away everything above this height (metres, as drawn).
    #[serde(default)]
    pub top_m: Option<f64>,
    /// A vertical section through two points (workspace CRS): the right of the line from the
    /// first to the second is cut away.
    #[serde(default)]
    pub section: Option<[[f64; 2]; 2]>,
    /// A polygon layer's id: its areas keep (`keep_inside`) or cut away what they hold.
    #[serde(default)]
    pub area_layer: Option<String>,
    /// With `area_layer`: draw only inside (`true`) or cut a hole (`false`, the default: to see
    /// pipes and tunnels under the ground).
    #[serde(default)]
    pub keep_inside: bool,
}

impl ClipRequest {
    /// The request a workspace's clip answers to (what the tree shows).
    pub fn of(clip: &jingwei_layers::workspace::Clip) -> ClipRequest {
        ClipRequest {
            top_m: clip.top_m,
            section: clip.section,
            area_layer: clip.area.as_ref().and(clip.area_layer.clone()),
            keep_inside: clip.area.as_ref().is_some_and(|(_, k)| *k),
        }
    }
}
