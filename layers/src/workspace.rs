//! A workspace: one projected CRS, a local origin, and the layers loaded into it.
//!
//! Coordinates in a workspace are f64 metres of its CRS (e.g. Gauss-Krüger x ≈ 500,000,
//! y ≈ 3,400,000). Renderers take `xy - origin` before going to f32, so nothing jitters.

use std::path::Path;

use crate::catalog::{Catalog, Group};
use crate::crs::{self, Crs, CrsKind, Transformer};
use crate::error::{LayersError, Result};
use crate::index::SpatialIndex;
use crate::layer::Layer;
use crate::source::{OpenOptions, Source};
use crate::validity::RepairMode;

/// A layer in a workspace: reprojected, validated and indexed.
#[derive(Debug, Clone)]
pub struct WorkspaceLayer {
    /// Stable id (catalog id, or the layer name).
    pub id: String,
    /// Display title (Chinese where known).
    pub title: String,
    /// Catalog group.
    pub group: Group,
    /// True for generated layers.
    pub synthetic: bool,
    /// Where it comes from (数据来源, version, level).
    pub provenance: crate::catalog::Provenance,
    /// Shown or hidden.
    pub visible: bool,
    /// Opacity, 0 (invisible) to 1.
    pub opacity: f32,
    /// A style from a style file (see the viewer's `style::StyleFile`), kept as JSON: the core
    /// stores and saves it, the viewer reads it. `None`: the default style.
    pub style: Option<serde_json::Value>,
    /// 3D surfaces of the features (city models), in the workspace CRS; `None` for 2D data.
    pub surfaces: Option<std::sync::Arc<crate::cityjson::Surfaces>>,
    /// The data.
    pub layer: Layer,
    /// Its R-tree.
    pub index: SpatialIndex,
}

/// A workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The one projected CRS every layer is reprojected into.
    pub crs: Crs,
    /// Local origin (workspace CRS) that renderers subtract before going to f32.
    pub origin_xy: [f64; 2],
    /// Layers, bottom to top.
    pub layers: Vec<WorkspaceLayer>,
    /// Attribution lines of the data.
    pub attribution: Vec<String>,
    /// The ground the layers are draped on, when a DEM was added.
    pub terrain: Option<std::sync::Arc<crate::dem::Terrain>>,
    /// A DEM for the what-if models (flood, viewshed) that is not drawn: a catalog's `dem`.
    /// The models use the drawn terrain's DEM when there is one.
    pub hazard_dem: Option<std::sync::Arc<crate::dem::Terrain>>,
    /// Imagery (orthophotos, tile packages, map services), drawn under the layers, bottom first.
    pub imagery: Vec<ImageryLayer>,
    /// 3D Tiles tilesets, streamed for the view.
    pub tilesets: Vec<TilesetLayer>,
    /// Areas where the tilesets are pressed down to a height (压平): a planned building shown in
    /// the photographed city, a site cleared. Polygons in the workspace CRS, heights in metres.
    pub flatten: Vec<(geo::Polygon, f64)>,
    /// What the 3D view cuts away (剖切): above a height, one side of a vertical section, inside
    /// or outside an area.
    pub clip: Clip,
}

/// What the 3D view cuts away, for seeing into buildings, under the ground and through a
/// photographed city. Heights are as drawn (a city model stands on its lowest point; tiles and
/// point clouds at their own heights).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Clip {
    /// Everything above this height is cut away (a storey plan of a building, metres).
    pub top_m: Option<f64>,
    /// A vertical section through two points (workspace CRS): what lies to the right of the
    /// line from the first to the second is cut away.
    pub section: Option<[[f64; 2]; 2]>,
    /// Areas (workspace CRS) and whether what lies inside them is kept (`true`: only inside is
    /// drawn) or cut away (`false`: a hole, through the ground to pipes and tunnels below).
    pub area: Option<(geo::MultiPolygon, bool)>,
    /// The layer `area` was taken from (for the tree; the polygons stay if it goes).
    pub area_layer: Option<String>,
}

impl Clip {
    /// Whether it cuts anything.
    pub fn is_active(&self) -> bool {
        self.top_m.is_some() || self.section.is_some() || self.area.is_some()
    }

    /// A number that changes when the clip does.
    pub fn key(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.top_m.map(f64::to_bits).hash(&mut h);
        if let Some(s) = self.section {
            s.iter().flatten().for_each(|v| v.to_bits().hash(&mut h));
        }
        if let Some((m, keep)) = &self.area {
            keep.hash(&mut h);
            for p in &m.0 {
                for c in p.exterior().0.iter() {
                    c.x.to_bits().hash(&mut h);
                    c.y.to_bits().hash(&mut h);
                }
            }
        }
        h.finish()
    }
}

/// A 3D Tiles tileset in the workspace: streamed into its CRS (see [`crate::tiles3d::stream`]).
#[derive(Clone)]
pub struct TilesetLayer {
    /// Stable id, unique among the workspace's layers.
    pub id: String,
    /// Display title (the folder's name).
    pub title: String,
    /// The root `tileset.json`.
    pub path: std::path::PathBuf,
    /// Shown or hidden.
    pub visible: bool,
    /// The root's volume in the workspace CRS: `[min_x, min_y, max_x, max_y]` and the lowest and
    /// highest heights.
    pub extent: [f64; 4],
    /// Lowest and highest height of the root's volume (metres).
    pub heights: [f64; 2],
    /// The stream (shared by the copies of the workspace; one view drives it).
    pub stream: std::sync::Arc<std::sync::Mutex<crate::tiles3d::stream::Streamer>>,
}

impl std::fmt::Debug for TilesetLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TilesetLayer")
            .field("id", &self.id)
            .field("path", &self.path)
            .field("visible", &self.visible)
            .field("extent", &self.extent)
            .finish()
    }
}

/// An imagery layer: how to open it again, and the open source when it could be opened.
#[derive(Clone)]
pub struct ImageryLayer {
    /// Stable id, unique among the workspace's layers and imagery.
    pub id: String,
    /// Display title.
    pub title: String,
    /// Shown or hidden.
    pub visible: bool,
    /// Opacity, 0 (invisible) to 1.
    pub opacity: f32,
    /// What opens it again, saved with the workspace: `{"kind": "file", "path": …, "display": …}`
    /// for files (opened here); other kinds (map services) are opened by the application.
    pub spec: serde_json::Value,
    /// The tiles; `None` while it is not open (a moved file, a service not reached yet).
    pub source: Option<std::sync::Arc<dyn crate::imagery::TileSource>>,
    /// Its extent in the workspace CRS, when open.
    pub extent: Option<[f64; 4]>,
    /// One line on what it is (driver, size, bands, overviews) or why it is not open.
    pub detail: String,
    /// Advice for the user (build overviews), if any.
    pub hint: Option<String>,
}

impl std::fmt::Debug for ImageryLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageryLayer")
            .field("id", &self.id)
            .field("title", &self.title)
            .field("visible", &self.visible)
            .field("opacity", &self.opacity)
            .field("extent", &self.extent)
            .field("detail", &self.detail)
            .finish()
    }
}

impl ImageryLayer {
    /// An imagery layer over an open `source`; its extent is the source's, carried into `ws_crs`
    /// through a 9 × 9 grid of points.
    pub fn new(
        id: &str,
        title: &str,
        spec: serde_json::Value,
        source: std::sync::Arc<dyn crate::imagery::TileSource>,
        ws_crs: &Crs,
        detail: String,
        hint: Option<String>,
    ) -> Result<ImageryLayer> {
        let g = source.grid();
        let extent = extent_in(&g.crs, g.extent, ws_crs)?;
        Ok(ImageryLayer {
            id: id.to_owned(),
            title: title.to_owned(),
            visible: true,
            opacity: 1.0,
            spec,
            source: Some(source),
            extent: Some(extent),
            detail,
            hint,
        })
    }

    /// The spec of an image file.
    pub fn file_spec(path: &Path, display: Option<&crate::imagery::raster::Display>) -> serde_json::Value {
        serde_json::json!({"kind": "file", "path": path, "display": display})
    }

    /// Open an image file as a layer of a workspace in `ws_crs`.
    pub fn open_file(id: &str, path: &Path, display: Option<crate::imagery::raster::Display>, ws_crs: &Crs) -> Result<ImageryLayer> {
        let path = std::fs::canonicalize(path).map_err(|e| LayersError::io(path, e))?;
        let spec = ImageryLayer::file_spec(&path, display.as_ref());
        // The cache key names the file and how its bands are shown.
        let key = format!("file:{}", spec);
        let img = crate::imagery::raster::RasterImage::open(&path, &key, display)?;
        let i = img.info().clone();
        let detail = format!(
            "{} {}×{}, {} band(s) {}, {}, overviews: {}",
            i.driver,
            i.size[0],
            i.size[1],
            i.bands,
            i.band_type,
            i.crs,
            if i.overviews.is_empty() {
                "none".to_owned()
            } else {
                i.overviews.len().to_string()
            }
        );
        let title = path.file_stem().and_then(|s| s.to_str()).unwrap_or(id).to_owned();
        ImageryLayer::new(id, &title, spec, std::sync::Arc::new(img), ws_crs, detail, i.hint)
    }

    /// Open what `spec` names when it is a file; `Ok(None)` for other kinds.
    pub fn open_spec(id: &str, spec: &serde_json::Value, ws_crs: &Crs) -> Result<Option<ImageryLayer>> {
        if spec.get("kind").and_then(|k| k.as_str()) != Some("file") {
            return Ok(None);
        }
        let path = spec
            .get("path")
            .and_then(|p| p.as_str())
            .ok_or_else(|| LayersError::Invalid(format!("imagery layer {id}: a file without a path")))?;
        let display = match spec.get("display") {
            None | Some(serde_json::Value::Null) => None,
            Some(d) => Some(
                serde_json::from_value(d.clone())
                    .map_err(|e| LayersError::Invalid(format!("imagery layer {id}: unreadable display settings: {e}")))?,
            ),
        };
        ImageryLayer::open_file(id, Path::new(path), display, ws_crs).map(Some)
    }
}

/// `e` (in `from`) as a box in `to`, through a 9 × 9 grid of its points.
pub fn extent_in(from: &Crs, e: [f64; 4], to: &Crs) -> Result<[f64; 4]> {
    if from == to {
        return Ok(e);
    }
    let t = Transformer::new(from, to)?;
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for i in 0..=8 {
        for j in 0..=8 {
            let x = e[0] + (e[2] - e[0]) * f64::from(i) / 8.0;
            let y = e[1] + (e[3] - e[1]) * f64::from(j) / 8.0;
            if let Ok((x, y)) = t.transform(x, y) {
                b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            }
        }
    }
    if b[0] > b[2] {
        return Err(LayersError::Transform {
            from: from.label(),
            to: to.label(),
            detail: "no point of the extent transforms".into(),
        });
    }
    Ok(b)
}

impl Workspace {
    /// An empty workspace in `crs`; the origin is set by the first layer.
    pub fn new(crs: Crs) -> Result<Workspace> {
        if crs.kind != CrsKind::Projected {
            return Err(LayersError::Invalid(format!(
                "a workspace CRS must be projected; {} is not",
                crs.label()
            )));
        }
        Ok(Workspace {
            crs,
            origin_xy: [f64::NAN, f64::NAN],
            layers: Vec::new(),
            attribution: Vec::new(),
            terrain: None,
            hazard_dem: None,
            imagery: Vec::new(),
            tilesets: Vec::new(),
            flatten: Vec::new(),
            clip: Clip::default(),
        })
    }

    /// The default workspace for data centred on `lon`, `lat` (see [`crs::default_workspace_epsg`]).
    pub fn for_lonlat(lon: f64, lat: f64) -> Result<Workspace> {
        Workspace::new(Crs::from_epsg(crs::default_workspace_epsg(lon, lat))?)
    }

    /// The default workspace for a layer: the zone of the centre of its extent.
    pub fn for_layer(layer: &Layer) -> Result<Workspace> {
        let crs = layer.crs.clone().ok_or_else(|| LayersError::MissingCrs {
            path: layer.source_path.clone(),
            layer: layer.name.clone(),
        })?;
        let e = layer.extent().ok_or_else(|| {
            LayersError::Invalid(format!(
                "{}: layer '{}' has no geometry to place a workspace on",
                layer.source_path.display(),
                layer.name
            ))
        })?;
        let t = Transformer::new(&crs, &Crs::cgcs2000()?)?;
        let (lon, lat) = t.transform((e[0] + e[2]) / 2.0, (e[1] + e[3]) / 2.0)?;
        Workspace::for_lonlat(lon, lat)
    }

    /// Validate `layer` (as `mode` says), reproject it into the workspace CRS and index it.
    pub fn add_layer(&mut self, mut layer: Layer, mode: RepairMode) -> Result<&WorkspaceLayer> {
        if layer.crs.is_none() {
            return Err(LayersError::MissingCrs {
                path: layer.source_path.clone(),
                layer: layer.name.clone(),
            });
        }
        layer.validate(mode);
        layer.reproject(&self.crs)?;
        if self.origin_xy[0].is_nan()
            && let Some(e) = layer.extent()
        {
            // Round to 100 m so that origins are readable and stable.
            self.origin_xy = [((e[0] + e[2]) / 200.0).round() * 100.0, ((e[1] + e[3]) / 200.0).round() * 100.0];
        }
        let index = SpatialIndex::build(&layer.geometries);
        let id = unique_id(&self.layers, &layer.name);
        self.layers.push(WorkspaceLayer {
            title: layer.name.clone(),
            group: Group::guess(&layer.name),
            synthetic: false,
            provenance: Default::default(),
            visible: true,
            opacity: 1.0,
            style: None,
            surfaces: None,
            id,
            index,
            layer,
        });
        Ok(self.layers.last().expect("just pushed"))
    }

    /// Load every layer of a file into `ws` (made for the first layer when `None`): GDAL's
    /// formats through [`Source`], CityJSON through [`crate::cityjson`]. Layers without geometry
    /// are left out. Returns how many were added.
    pub fn load_file(ws: &mut Option<Workspace>, path: &std::path::Path, job: Option<crate::job::Job>) -> Result<usize> {
        let mut added = 0;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        if ext == "3tz"
            || ext == "las"
            || ext == "laz"
            || crate::tiles3d::archive::is_url(path)
            || (ext == "json" && crate::tiles3d::is_tileset(path))
            || crate::osgb::is_oblique(path)
        {
            Workspace::add_tileset(ws, path, crate::tiles3d::stream::StreamOptions::default())?;
            return Ok(1);
        }
        if ext == "ifc" {
            return Workspace::add_ifc(ws, path, None);
        }
        if matches!(ext.as_str(), "glb" | "gltf" | "b3dm") {
            // A model with no placement of its own stands at the workspace's origin; alone, at
            // 0° E 0° N (in the UTM zone there), which only shows the model itself.
            let (lon, lat) = match ws.as_ref().filter(|w| !w.origin_xy[0].is_nan()) {
                Some(w) => Transformer::new(&w.crs, &Crs::cgcs2000()?)?.transform(w.origin_xy[0], w.origin_xy[1])?,
                None => (0.0, 0.0),
            };
            let at = crate::gltf::Placement {
                lon,
                lat,
                height_m: 0.0,
                heading_deg: 0.0,
                scale: 1.0,
            };
            Workspace::add_model(ws, path, &at)?;
            return Ok(1);
        }
        if ext == "mbtiles" || (matches!(ext.as_str(), "tif" | "tiff" | "jp2" | "img" | "vrt") && crate::imagery::raster::is_imagery(path))
        {
            Workspace::add_imagery_file(ws, path, None)?;
            return Ok(1);
        }
        if matches!(ext.as_str(), "tif" | "tiff" | "asc" | "dem" | "hgt" | "img") {
            Workspace::set_terrain_file(ws, path)?;
            return Ok(1);
        }
        if ext == "gpkg" && crate::gpkg::has_tiles(path) {
            Workspace::add_imagery_file(ws, path, None)?;
            added += 1;
            if !crate::gpkg::has_features(path) {
                return Ok(added);
            }
        }
        if crate::cityjson::is_cityjson(path) {
            for city in crate::cityjson::read(path)? {
                let w = match ws.as_mut() {
                    Some(w) => w,
                    None => ws.insert(Workspace::for_layer(&city.layer)?),
                };
                w.add_city_layer(city)?;
                added += 1;
            }
            return Ok(added);
        }
        let mut src = crate::source::Source::open(path, &crate::source::OpenOptions::default())?;
        if let Some(job) = job {
            src.set_job(job);
        }
        let mut layers = Vec::new();
        for name in src.layer_names() {
            let layer = src.read_layer(Some(&name))?;
            if layer.geometries.iter().any(|g| g.is_some()) {
                layers.push(layer);
            }
        }
        for layer in layers {
            let w = match ws.as_mut() {
                Some(w) => w,
                None => ws.insert(Workspace::for_layer(&layer)?),
            };
            w.add_layer(layer, RepairMode::Repair)?;
            added += 1;
        }
        Ok(added)
    }

    /// Move the layers of `other` (loaded in this workspace's CRS, e.g. by [`Workspace::load_file`]
    /// into `Workspace::like(self)`) to the top of this one, with ids made unique here.
    pub fn append(&mut self, other: Workspace) -> Result<()> {
        if other.crs != self.crs {
            return Err(LayersError::Invalid(format!(
                "cannot append layers in {} to a workspace in {}",
                other.crs.label(),
                self.crs.label()
            )));
        }
        for mut wl in other.layers {
            wl.id = unique_id(&self.layers, &wl.id);
            self.layers.push(wl);
        }
        for mut il in other.imagery {
            il.id = self.unique_imagery_id(&il.id);
            self.imagery.push(il);
        }
        for mut t in other.tilesets {
            t.id = self.unique_imagery_id(&t.id);
            self.tilesets.push(t);
        }
        if other.terrain.is_some() {
            self.terrain = other.terrain;
        }
        if other.hazard_dem.is_some() {
            self.hazard_dem = other.hazard_dem;
        }
        Ok(())
    }

    /// An empty workspace with this one's CRS and origin (to load into without holding this one).
    pub fn like(&self) -> Workspace {
        Workspace {
            crs: self.crs.clone(),
            origin_xy: self.origin_xy,
            layers: Vec::new(),
            attribution: Vec::new(),
            terrain: self.terrain.clone(),
            hazard_dem: self.hazard_dem.clone(),
            imagery: Vec::new(),
            tilesets: Vec::new(),
            flatten: self.flatten.clone(),
            clip: self.clip.clone(),
        }
    }

    /// Add a 3D Tiles tileset (its external tilesets read now, implicit subtrees as the view
    /// reaches them) to `ws` — made for the tileset's place when `None`, the origin set by it
    /// when the workspace has none —, streamed with `opts`.
    pub fn add_tileset<'a>(
        ws: &'a mut Option<Workspace>,
        path: &std::path::Path,
        opts: crate::tiles3d::stream::StreamOptions,
    ) -> Result<&'a TilesetLayer> {
        let ts = if crate::pointcloud::is_pointcloud(path) {
            // A point cloud is placed through the workspace CRS (see `pointcloud::open_in`): the
            // workspace is made for its centre first when there is none.
            if ws.is_none() {
                let info = crate::pointcloud::info(path)?;
                let b = info.bounds;
                let (lon, lat) = Transformer::new(&info.crs, &Crs::cgcs2000()?)?.transform((b[0] + b[3]) / 2.0, (b[1] + b[4]) / 2.0)?;
                *ws = Some(Workspace::for_lonlat(lon, lat)?);
            }
            let crs = ws.as_ref().map(|w| w.crs.clone());
            crate::pointcloud::open_in(path, crate::pointcloud::CloudOptions::default(), crs.as_ref())?
        } else if crate::osgb::is_oblique(path) {
            // Oblique photography too goes through the workspace CRS (see `osgb`).
            if ws.is_none() {
                let (lon, lat) = crate::osgb::lonlat(&crate::osgb::metadata(path)?)?;
                *ws = Some(Workspace::for_lonlat(lon, lat)?);
            }
            let crs = ws.as_ref().map(|w| w.crs.clone());
            crate::osgb::open_in(path, crs.as_ref())?
        } else {
            crate::tiles3d::open(path)?
        };
        let (lon, lat, _) = crate::tiles3d::ecef_to_geodetic(ts.tiles[0].bounds.center());
        if !(lon.is_finite() && lat.is_finite()) || ts.tiles[0].bounds.center().iter().map(|v| v * v).sum::<f64>().sqrt() < 6.0e6 {
            return Err(LayersError::Invalid(format!(
                "{}: the tileset is not placed on the Earth (its root volume is not near the surface in ECEF): nothing to put it on the map by",
                path.display()
            )));
        }
        if ws.is_none() {
            *ws = Some(Workspace::for_lonlat(lon.to_degrees(), lat.to_degrees())?);
        }
        let w = ws.as_mut().expect("set above");
        let (lon_d, lat_d) = (lon.to_degrees(), lat.to_degrees());
        let d = w.crs.domain();
        if !(d[0] - 0.5..=d[2] + 0.5).contains(&lon_d) || !(d[1] - 0.5..=d[3] + 0.5).contains(&lat_d) {
            return Err(LayersError::Invalid(format!(
                "{}: the tileset stands at {lon_d:.4}° E {lat_d:.4}° N, outside the workspace CRS {} (longitude {:.1}…{:.1}, latitude {:.1}…{:.1}); open it in a workspace of its own",
                path.display(),
                w.crs.label(),
                d[0],
                d[2],
                d[1],
                d[3]
            )));
        }
        let placer = crate::tiles3d::decode::Placer::new(&w.crs)?;
        let (extent, heights) = crate::tiles3d::footprint(&ts.tiles[0].bounds, &placer)?;
        if w.origin_xy[0].is_nan() {
            let e = extent;
            w.origin_xy = [((e[0] + e[2]) / 200.0).round() * 100.0, ((e[1] + e[3]) / 200.0).round() * 100.0];
        }
        let named = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("3tz")) || crate::pointcloud::is_pointcloud(path) {
            path.file_stem()
        } else if path.is_dir() {
            path.file_name()
        } else {
            path.parent().and_then(|p| p.file_name())
        };
        let title = named.map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "tileset".into());
        let id = w.unique_imagery_id(&format!("3dtiles_{title}"));
        let stream = crate::tiles3d::stream::Streamer::new(ts, &w.crs, opts)?;
        w.tilesets.push(TilesetLayer {
            id,
            title,
            path: path.to_owned(),
            visible: true,
            extent,
            heights,
            stream: std::sync::Arc::new(std::sync::Mutex::new(stream)),
        });
        Ok(w.tilesets.last().expect("pushed"))
    }

    /// Press the tilesets down to `height_m` inside every polygon of layer `id` (压平: a planned
    /// building's footprint, a cleared site), or — `None` — nowhere. Returns the polygons taken.
    pub fn set_flatten(&mut self, id: Option<&str>, height_m: f64) -> Result<usize> {
        let Some(id) = id else {
            self.flatten.clear();
            return Ok(0);
        };
        if !height_m.is_finite() {
            return Err(LayersError::Invalid(format!("flattening height {height_m}: a number of metres")));
        }
        let polys: Vec<(geo::Polygon, f64)> = self
            .polygons_of(id)
            .map_err(|e| LayersError::Invalid(format!("{e}: nothing to flatten by")))?
            .0
            .into_iter()
            .map(|p| (p, height_m))
            .collect();
        self.flatten = polys;
        Ok(self.flatten.len())
    }

    /// The polygons of a layer (by id or name), for flattening and clipping.
    pub fn polygons_of(&self, id: &str) -> Result<geo::MultiPolygon> {
        let wl = self
            .layers
            .iter()
            .find(|l| l.id == id || l.layer.name == id)
            .ok_or_else(|| LayersError::Invalid(format!("no layer '{id}'")))?;
        let polys: Vec<geo::Polygon> = wl
            .layer
            .geometries
            .iter()
            .flatten()
            .flat_map(|g| match g.to_geo() {
                geo::Geometry::Polygon(p) => vec![p],
                geo::Geometry::MultiPolygon(m) => m.0,
                _ => Vec::new(),
            })
            .collect();
        if polys.is_empty() {
            return Err(LayersError::Invalid(format!("layer '{id}' has no polygons")));
        }
        Ok(geo::MultiPolygon(polys))
    }

    /// Place a glTF/GLB/b3dm model (see [`crate::gltf`]) in `ws` (made for its place when `None`).
    pub fn add_model(ws: &mut Option<Workspace>, path: &std::path::Path, at: &crate::gltf::Placement) -> Result<()> {
        let tris = crate::gltf::read(path)?;
        if ws.is_none() {
            *ws = Some(Workspace::for_lonlat(at.lon, at.lat)?);
        }
        let w = ws.as_mut().expect("set above");
        let city = crate::gltf::place(path, &tris, at, &w.crs)?;
        w.add_city_layer(city)?;
        Ok(())
    }

    /// Add an IFC model (see [`crate::ifc`]) to `ws` (made for its place when `None`): a layer per
    /// storey and one per storey's spaces (hidden), in the order of its spatial tree. It stands
    /// where its georeference says, unless `at` places it. Returns how many layers were added.
    pub fn add_ifc(ws: &mut Option<Workspace>, path: &std::path::Path, at: Option<&crate::gltf::Placement>) -> Result<usize> {
        let model = crate::ifc::read(path)?;
        // Without a georeference, a model stands at the workspace's origin (as a glTF does).
        let origin_at;
        let at = match (at, &model.georef, ws.as_ref().filter(|w| !w.origin_xy[0].is_nan())) {
            (None, crate::ifc::Georef::None, Some(w)) => {
                let (lon, lat) = Transformer::new(&w.crs, &Crs::cgcs2000()?)?.transform(w.origin_xy[0], w.origin_xy[1])?;
                origin_at = crate::gltf::Placement {
                    lon,
                    lat,
                    height_m: 0.0,
                    heading_deg: 0.0,
                    scale: 1.0,
                };
                Some(&origin_at)
            }
            (at, _, _) => at,
        };
        if ws.is_none() {
            let probe = model.placement(at, &Crs::cgcs2000()?)?;
            *ws = Some(Workspace::for_lonlat(probe.lonlat.0, probe.lonlat.1)?);
        }
        let w = ws.as_mut().expect("set above");
        let placed = model.placement(at, &w.crs)?;
        let layers = model.layers(path, &placed, &w.crs)?;
        let n = layers.len();
        for city in layers {
            let spaces = city.layer.name.ends_with("› IfcSpace");
            let wl = w.add_city_layer(city)?;
            if spaces {
                let id = wl.id.clone();
                if let Some(l) = w.layers.iter_mut().find(|l| l.id == id) {
                    l.visible = false;
                }
            }
        }
        Ok(n)
    }

    /// An id not yet taken by a layer or an imagery layer.
    pub fn unique_imagery_id(&self, want: &str) -> String {
        let taken = |id: &str| {
            self.layers.iter().any(|l| l.id == id) || self.imagery.iter().any(|l| l.id == id) || self.tilesets.iter().any(|l| l.id == id)
        };
        if !taken(want) {
            return want.to_owned();
        }
        (2..)
            .map(|n| format!("{want}_{n}"))
            .find(|c| !taken(c))
            .expect("some number is free")
    }

    /// Add an image file (orthophoto, GeoPackage tiles, MBTiles) as the top imagery layer of
    /// `ws` (made for the image's centre when `None`).
    pub fn add_imagery_file<'a>(
        ws: &'a mut Option<Workspace>,
        path: &std::path::Path,
        display: Option<crate::imagery::raster::Display>,
    ) -> Result<&'a ImageryLayer> {
        if ws.is_none() {
            let i = crate::imagery::raster::info(path)?;
            let from = Crs::parse(&i.crs).or_else(|_| {
                crate::imagery::raster::RasterImage::open(path, "probe", display.clone()).map(|r| {
                    use crate::imagery::TileSource;
                    r.grid().crs.clone()
                })
            })?;
            let e = i.extent;
            let (lon, lat) = Transformer::new(&from, &Crs::cgcs2000()?)?.transform((e[0] + e[2]) / 2.0, (e[1] + e[3]) / 2.0)?;
            *ws = Some(Workspace::for_lonlat(lon, lat)?);
        }
        let w = ws.as_mut().expect("set above");
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("imagery");
        let id = w.unique_imagery_id(stem);
        let layer = ImageryLayer::open_file(&id, path, display, &w.crs)?;
        if w.origin_xy[0].is_nan() {
            let e = layer.extent.expect("open");
            w.origin_xy = [((e[0] + e[2]) / 200.0).round() * 100.0, ((e[1] + e[3]) / 200.0).round() * 100.0];
        }
        w.imagery.push(layer);
        Ok(w.imagery.last().expect("just pushed"))
    }

    /// Drape the workspace (made for the DEM's centre when `None`) on a DEM file.
    pub fn set_terrain_file<'a>(ws: &'a mut Option<Workspace>, path: &std::path::Path) -> Result<&'a mut Workspace> {
        let dem = crate::dem::Dem::open(path)?;
        if ws.is_none() {
            let e = dem.extent();
            let t = Transformer::new(&dem.crs, &Crs::cgcs2000()?)?;
            let (lon, lat) = t.transform((e[0] + e[2]) / 2.0, (e[1] + e[3]) / 2.0)?;
            *ws = Some(Workspace::for_lonlat(lon, lat)?);
        }
        let w = ws.as_mut().expect("set above");
        let terrain = crate::dem::Terrain::new(dem, &w.crs)?;
        if w.origin_xy[0].is_nan() {
            let e = terrain.extent;
            w.origin_xy = [((e[0] + e[2]) / 200.0).round() * 100.0, ((e[1] + e[3]) / 200.0).round() * 100.0];
        }
        w.terrain = Some(std::sync::Arc::new(terrain));
        Ok(w)
    }

    /// Add a layer of a city model: its footprints as [`Workspace::add_layer`] does, its 3D
    /// surfaces reprojected into the workspace CRS (heights kept).
    pub fn add_city_layer(&mut self, city: crate::cityjson::CityLayer) -> Result<&WorkspaceLayer> {
        let from = city.layer.crs.clone().ok_or_else(|| LayersError::MissingCrs {
            path: city.layer.source_path.clone(),
            layer: city.layer.name.clone(),
        })?;
        let mut surfaces = std::sync::Arc::unwrap_or_clone(city.surfaces);
        if from != self.crs {
            surfaces.reproject(&Transformer::new(&from, &self.crs)?)?;
        }
        self.add_layer(city.layer, RepairMode::Repair)?;
        let wl = self.layers.last_mut().expect("just added");
        wl.surfaces = Some(std::sync::Arc::new(surfaces));
        Ok(wl)
    }

    /// Open a catalog and load all of its layers into a workspace in the default CRS of the
    /// first layer (or `crs` if given).
    pub fn open_catalog(path: &Path, crs: Option<Crs>, mode: RepairMode) -> Result<Workspace> {
        let catalog = Catalog::load(path)?;
        let mut ws: Option<Workspace> = crs.map(Workspace::new).transpose()?;
        for entry in &catalog.layers {
            let file = catalog.resolve(entry);
            if crate::ifc::is_ifc(&file) {
                // A BIM model: where its file says, or at its place.
                Workspace::add_ifc(&mut ws, &file, entry.place.as_ref())?;
            } else if let Some(at) = &entry.place {
                // A 3D model (glTF, GLB, b3dm) at its place.
                Workspace::add_model(&mut ws, &file, at)?;
            } else {
                let src = Source::open(&file, &OpenOptions::default())?;
                let layer = src.read_layer(entry.layer.as_deref())?;
                let w = match ws.as_mut() {
                    Some(w) => w,
                    None => ws.insert(Workspace::for_layer(&layer)?),
                };
                w.add_layer(layer, mode)?;
            }
            let w = ws.as_mut().expect("a layer was just added");
            let wl = w.layers.last_mut().expect("just added");
            wl.id = entry.id.clone();
            wl.title = entry.title_zh.clone();
            wl.group = entry.group;
            wl.synthetic = entry.synthetic;
            wl.provenance = entry.provenance.clone();
            wl.visible = entry.visible;
            wl.style = entry.style.clone();
        }
        let mut ws = ws.ok_or_else(|| LayersError::Corrupt {
            path: path.to_owned(),
            detail: "catalog lists no layers".into(),
        })?;
        ws.attribution = catalog.attribution;
        if let Some(rel) = &catalog.dem {
            let dem = crate::dem::Dem::open(&catalog.base_dir.join(rel))?;
            ws.hazard_dem = Some(std::sync::Arc::new(crate::dem::Terrain::new(dem, &ws.crs)?));
        }
        Ok(ws)
    }

    /// The DEM the what-if models run on, seen from the workspace: the drawn terrain, else the
    /// hazard DEM.
    pub fn analysis_terrain(&self) -> Option<&crate::dem::Terrain> {
        self.terrain.as_deref().or(self.hazard_dem.as_deref())
    }

    /// The DEM the what-if models run on (see [`Workspace::analysis_terrain`]).
    pub fn analysis_dem(&self) -> Option<&crate::dem::Dem> {
        self.analysis_terrain().map(|t| &t.dem)
    }

    /// Layer by id.
    pub fn layer(&self, id: &str) -> Option<&WorkspaceLayer> {
        self.layers.iter().find(|l| l.id == id)
    }

    /// Where the workspace's layers lie, in CGCS2000 longitude/latitude, with a margin (2% of
    /// its size, at least 0.01°) so that a densified envelope's chords still hold its corners.
    pub fn lonlat_extent(&self) -> Option<crate::area::LonLatBox> {
        let e = self.layers.iter().filter_map(|l| l.index.extent()).reduce(crate::area::union)?;
        let b = extent_in(&self.crs, e, &Crs::cgcs2000().ok()?).ok()?;
        let (mx, my) = ((0.02 * (b[2] - b[0])).max(0.01), (0.02 * (b[3] - b[1])).max(0.01));
        Some([
            (b[0] - mx).max(-180.0),
            (b[1] - my).max(-90.0),
            (b[2] + mx).min(180.0),
            (b[3] + my).min(90.0),
        ])
    }

    /// A transformer for points and envelopes a user gives in `from`: [`Transformer::point`] and
    /// [`Transformer::envelope`] with [`Workspace::lonlat_extent`] accept what the CRS's area of
    /// use or the data covers.
    pub fn user_input(&self, from: &Crs) -> Result<(Transformer, Option<crate::area::LonLatBox>)> {
        Ok((Transformer::new(from, &self.crs)?, self.lonlat_extent()))
    }

    /// Transformer from the workspace CRS to CGCS2000 lon/lat.
    pub fn to_lonlat(&self) -> Result<Transformer> {
        Transformer::new(&self.crs, &Crs::cgcs2000()?)
    }
}

fn unique_id(layers: &[WorkspaceLayer], name: &str) -> String {
    let mut id = name.to_owned();
    let mut n = 2;
    while layers.iter().any(|l| l.id == id) {
        id = format!("{name}_{n}");
        n += 1;
    }
    id
}
