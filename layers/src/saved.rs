//! Saving a workspace into one GeoPackage and opening it again: every layer (as loaded:
//! repaired, in the workspace CRS) becomes a table `layer_<id>`, and a `jingwei_workspace` row in
//! `jingwei_metadata` records the CRS, origin, layer tree (titles, groups, visibility, order)
//! and the view. Whatever else the file holds (cases, incidents) is kept.
//!
//! A city model's 3D surfaces (CityJSON, glTF) go into an attribute table
//! `jingwei_surfaces_<table>` beside its footprints: per feature, its surfaces in parts of about
//! 8 MB, each packed as little-endian counts and x, y, z triples (see [`pack_surfaces`]).
//!
//! A save writes a copy next to the file and renames it over the original only when complete,
//! so a crash while saving leaves the last saved workspace intact.

use crate::catalog::Group;
use crate::crs::Crs;
use crate::error::{LayersError, Result};
use crate::gpkg::quote_ident;
use crate::source::{OpenOptions, Source};
use crate::validity::RepairMode;
use crate::workspace::Workspace;
use crate::write::{NewLayer, write_gpkg_layer};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One layer of a saved workspace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedLayer {
    /// Layer id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Group.
    pub group: Group,
    /// Shown.
    pub visible: bool,
    /// Synthetic.
    pub synthetic: bool,
    /// Where it comes from.
    #[serde(default)]
    pub provenance: crate::catalog::Provenance,
    /// Opacity.
    #[serde(default = "one")]
    pub opacity: f32,
    /// The table holding it.
    pub table: String,
    /// Its style, when it has one of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<serde_json::Value>,
}

fn one() -> f32 {
    1.0
}

/// The saved state of a workspace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedWorkspace {
    /// Format version.
    pub version: u32,
    /// CRS definition.
    pub crs: String,
    /// Local origin.
    pub origin_xy: [f64; 2],
    /// Attribution lines.
    pub attribution: Vec<String>,
    /// Layers, bottom to top.
    pub layers: Vec<SavedLayer>,
    /// The view (as the application stores it), if any.
    pub view: Option<serde_json::Value>,
    /// The DEM the workspace is draped on (its file, read again on opening).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terrain: Option<std::path::PathBuf>,
    /// The DEM of the what-if models that is not drawn (its file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hazard_dem: Option<std::path::PathBuf>,
    /// Imagery layers, bottom first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imagery: Vec<SavedImagery>,
    /// 3D Tiles tilesets (opened again from their files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tilesets: Vec<SavedTileset>,
    /// Where the tilesets are pressed down (压平): each polygon's rings (workspace CRS) and height.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flatten: Vec<(Vec<Vec<[f64; 2]>>, f64)>,
    /// What the 3D view cuts away (剖切).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<SavedClip>,
}

/// A saved clip: its height, section and area (the polygons themselves, so that the cut stays
/// if the layer goes), with the layer the area came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SavedClip {
    /// Cut above (metres, as drawn).
    #[serde(default)]
    pub top_m: Option<f64>,
    /// A vertical section through two points.
    #[serde(default)]
    pub section: Option<[[f64; 2]; 2]>,
    /// The area's polygons, each its rings (workspace CRS).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub area: Vec<Vec<Vec<[f64; 2]>>>,
    /// Keep only inside the area (else a hole).
    #[serde(default)]
    pub keep_inside: bool,
    /// The layer the area came from.
    #[serde(default)]
    pub area_layer: Option<String>,
}

/// A saved tileset: its place in the tree and its file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedTileset {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The `tileset.json` or `.3tz`.
    pub path: std::path::PathBuf,
    /// Shown.
    pub visible: bool,
    /// Its memory budget (bytes).
    pub budget_bytes: usize,
}

/// A saved imagery layer: its place in the tree and what opens it again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedImagery {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Shown.
    pub visible: bool,
    /// Opacity.
    #[serde(default = "one")]
    pub opacity: f32,
    /// What opens it (see [`crate::workspace::ImageryLayer::spec`]).
    pub spec: serde_json::Value,
}

fn corrupt(path: &Path, detail: impl std::fmt::Display) -> LayersError {
    LayersError::Corrupt {
        path: path.to_owned(),
        detail: detail.to_string(),
    }
}

fn table_name(id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    format!("layer_{clean}")
}

/// Save `ws` (and `view`) into the GeoPackage at `path`, keeping whatever else it holds.
pub fn save_workspace(ws: &Workspace, path: &Path, view: Option<serde_json::Value>) -> Result<()> {
    let tmp: PathBuf = {
        let mut s = path.as_os_str().to_owned();
        s.push(".saving");
        PathBuf::from(s)
    };
    let _ = std::fs::remove_file(&tmp);
    if path.exists() {
        // A consistent copy of the current file (cases and incidents included).
        let conn = Connection::open(path).map_err(|e| corrupt(path, e))?;
        conn.execute("VACUUM INTO ?1", [tmp.to_string_lossy()])
            .map_err(|e| corrupt(path, e))?;
    }
    let mut layers = Vec::new();
    for wl in &ws.layers {
        let table = table_name(&wl.id);
        let features: Vec<_> = (0..wl.layer.len())
            .map(|r| {
                let f = wl.layer.feature(r);
                (
                    wl.layer.geometries.geometry(r),
                    (0..wl.layer.fields.len()).map(|i| f.value(i)).collect(),
                )
            })
            .collect();
        write_gpkg_layer(
            &tmp,
            &NewLayer {
                name: &table,
                crs: &ws.crs,
                geometry_type: gdal_sys::OGRwkbGeometryType::wkbUnknown,
                fields: &wl.layer.fields,
                description: &wl.title,
                metadata: &[],
            },
            &features,
        )?;
        layers.push(SavedLayer {
            id: wl.id.clone(),
            title: wl.title.clone(),
            group: wl.group,
            visible: wl.visible,
            synthetic: wl.synthetic,
            provenance: wl.provenance.clone(),
            opacity: wl.opacity,
            table,
            style: wl.style.clone(),
        });
    }
    if !tmp.exists() {
        // Nothing written yet (imagery alone): an empty GeoPackage to hold the workspace.
        gdal::DriverManager::get_driver_by_name("GPKG")
            .and_then(|d| d.create_vector_only(&tmp))
            .map_err(|e| corrupt(&tmp, e))?;
    }
    let saved = SavedWorkspace {
        version: 1,
        crs: ws.crs.epsg.map_or_else(|| ws.crs.definition.clone(), |e| format!("EPSG:{e}")),
        origin_xy: ws.origin_xy,
        attribution: ws.attribution.clone(),
        layers,
        view,
        terrain: ws.terrain.as_ref().map(|t| t.dem.path.clone()),
        hazard_dem: ws.hazard_dem.as_ref().map(|t| t.dem.path.clone()),
        imagery: ws
            .imagery
            .iter()
            .map(|l| SavedImagery {
                id: l.id.clone(),
                title: l.title.clone(),
                visible: l.visible,
                opacity: l.opacity,
                spec: l.spec.clone(),
            })
            .collect(),
        tilesets: ws
            .tilesets
            .iter()
            .map(|t| SavedTileset {
                id: t.id.clone(),
                title: t.title.clone(),
                path: t.path.clone(),
                visible: t.visible,
                budget_bytes: t.stream.lock().map_or(512 << 20, |s| s.options().budget_bytes),
            })
            .collect(),
        clip: ws.clip.is_active().then(|| SavedClip {
            top_m: ws.clip.top_m,
            section: ws.clip.section,
            area: ws.clip.area.as_ref().map_or_else(Vec::new, |(m, _)| {
                let ring = |l: &geo::LineString| l.0.iter().map(|c| [c.x, c.y]).collect::<Vec<_>>();
                m.0.iter()
                    .map(|p| std::iter::once(ring(p.exterior())).chain(p.interiors().iter().map(ring)).collect())
                    .collect()
            }),
            keep_inside: ws.clip.area.as_ref().is_some_and(|(_, k)| *k),
            area_layer: ws.clip.area_layer.clone(),
        }),
        flatten: ws
            .flatten
            .iter()
            .map(|(p, h)| {
                let ring = |l: &geo::LineString| l.0.iter().map(|c| [c.x, c.y]).collect::<Vec<_>>();
                (
                    std::iter::once(ring(p.exterior())).chain(p.interiors().iter().map(ring)).collect(),
                    *h,
                )
            })
            .collect(),
    };
    {
        let conn = Connection::open(&tmp).map_err(|e| corrupt(&tmp, e))?;
        // Tables of layers no longer in the workspace go (GLOB: case-sensitive, so a user's own
        // LAYER_… table stays).
        let old: Vec<String> = conn
            .prepare("SELECT table_name FROM gpkg_contents WHERE table_name GLOB 'layer_*'")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| corrupt(&tmp, e))?;
        let keep: Vec<&str> = saved.layers.iter().map(|l| l.table.as_str()).collect();
        let json = serde_json::to_string(&saved).map_err(|e| corrupt(&tmp, e))?;
        let tx = conn.unchecked_transaction().map_err(|e| corrupt(&tmp, e))?;
        // Surface tables are written afresh each time.
        // GLOB: case-sensitive, so a user's own JINGWEI_SURFACES_… table is left alone.
        let old_surfaces: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'jingwei_surfaces_*'")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| corrupt(&tmp, e))?;
        for t in &old_surfaces {
            tx.execute("DELETE FROM gpkg_contents WHERE table_name = ?1", [t])
                .map_err(|e| corrupt(&tmp, e))?;
            tx.execute_batch(&format!("DROP TABLE {};", quote_ident(t)))
                .map_err(|e| corrupt(&tmp, e))?;
        }
        for (wl, sl) in ws.layers.iter().zip(&saved.layers) {
            let Some(surfaces) = &wl.surfaces else { continue };
            let t = surfaces_table(&sl.table);
            tx.execute_batch(&format!(
                "CREATE TABLE {} (row INTEGER NOT NULL, part INTEGER NOT NULL, surfaces BLOB NOT NULL, PRIMARY KEY (row, part));",
                quote_ident(&t)
            ))
            .map_err(|e| corrupt(&tmp, e))?;
            tx.execute(
                "INSERT INTO gpkg_contents(table_name, data_type, identifier, description, srs_id) VALUES (?1, 'attributes', ?1, ?2, NULL)",
                params![t, format!("Jingwei: 3D surfaces of {}", sl.table)],
            )
            .map_err(|e| corrupt(&tmp, e))?;
            let mut insert = tx
                .prepare(&format!("INSERT INTO {}(row, part, surfaces) VALUES (?1, ?2, ?3)", quote_ident(&t)))
                .map_err(|e| corrupt(&tmp, e))?;
            if let Some(z) = surfaces.base_z {
                // Row −1 holds the height drawn at ground level (an IFC model's storeys share it).
                insert
                    .execute(params![-1i64, 0i64, z.to_le_bytes().to_vec()])
                    .map_err(|e| corrupt(&tmp, e))?;
            }
            for (row, faces) in surfaces.rows.iter().enumerate().filter(|(_, f)| !f.is_empty()) {
                // A big model (one glTF is one feature) goes in parts of about 8 MB: SQLite's
                // blobs stop at 1 GB.
                for (part, group) in surface_groups(faces, 8 << 20).into_iter().enumerate() {
                    insert
                        .execute(params![row as i64, part as i64, pack_surfaces(group)])
                        .map_err(|e| corrupt(&tmp, e))?;
                }
            }
        }
        for t in old.iter().filter(|t| !keep.contains(&t.as_str())) {
            for sql in [
                "DELETE FROM gpkg_geometry_columns WHERE table_name = ?1",
                "DELETE FROM gpkg_contents WHERE table_name = ?1",
            ] {
                tx.execute(sql, [t]).map_err(|e| corrupt(&tmp, e))?;
            }
            tx.execute_batch(&format!(
                "DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {};",
                quote_ident(t),
                quote_ident(&format!("rtree_{t}_geom"))
            ))
            .map_err(|e| corrupt(&tmp, e))?;
        }
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS jingwei_metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT OR IGNORE INTO gpkg_contents(table_name, data_type, identifier, description, srs_id)
                VALUES ('jingwei_metadata', 'attributes', 'jingwei_metadata', 'Jingwei: store metadata', NULL);",
        )
        .map_err(|e| corrupt(&tmp, e))?;
        tx.execute(
            "INSERT INTO jingwei_metadata(key, value) VALUES ('jingwei_workspace', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![json],
        )
        .map_err(|e| corrupt(&tmp, e))?;
        tx.commit().map_err(|e| corrupt(&tmp, e))?;
    }
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| corrupt(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| corrupt(path, e))?;
    Ok(())
}

/// Whether a GeoPackage holds a saved workspace.
pub fn is_saved_workspace(path: &Path) -> bool {
    read_saved(path).is_ok_and(|s| s.is_some())
}

fn read_saved(path: &Path) -> Result<Option<SavedWorkspace>> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| corrupt(path, e))?;
    let json: Option<String> = conn
        .query_row("SELECT value FROM jingwei_metadata WHERE key = 'jingwei_workspace'", [], |r| {
            r.get(0)
        })
        .optional()
        .unwrap_or(None);
    json.map(|j| serde_json::from_str(&j).map_err(|e| corrupt(path, format!("the saved workspace is unreadable: {e}"))))
        .transpose()
}

/// Open a saved workspace: its layers, tree and view.
pub fn open_workspace(path: &Path) -> Result<(Workspace, Option<serde_json::Value>)> {
    if !path.exists() {
        return Err(LayersError::NotFound { path: path.to_owned() });
    }
    let saved = read_saved(path)?.ok_or_else(|| corrupt(path, "no saved workspace in this GeoPackage"))?;
    let mut ws = Workspace::new(Crs::parse(&saved.crs)?)?;
    ws.origin_xy = saved.origin_xy;
    // The DEM is read again from its file; a workspace whose DEM has moved still opens, flat.
    if let Some(dem) = &saved.terrain {
        let mut some = Some(ws);
        let _ = Workspace::set_terrain_file(&mut some, dem);
        ws = some.expect("kept");
    }
    if let Some(dem) = &saved.hazard_dem {
        ws.hazard_dem = crate::dem::Dem::open(dem)
            .ok()
            .and_then(|d| crate::dem::Terrain::new(d, &ws.crs).ok())
            .map(std::sync::Arc::new);
    }
    let src = Source::open(path, &OpenOptions::default())?;
    // One connection for every layer's surfaces.
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| corrupt(path, e))?;
    for l in &saved.layers {
        let layer = src.read_layer(Some(&l.table))?;
        ws.add_layer(layer, RepairMode::Keep)?;
        let wl = ws.layers.last_mut().expect("just added");
        wl.id = l.id.clone();
        wl.title = l.title.clone();
        wl.group = l.group;
        wl.visible = l.visible;
        wl.synthetic = l.synthetic;
        wl.provenance = l.provenance.clone();
        wl.opacity = l.opacity;
        wl.style = l.style.clone();
        if let Some(surfaces) = read_surfaces(&conn, path, &l.table, wl.layer.len())? {
            wl.surfaces = Some(std::sync::Arc::new(surfaces));
        }
    }
    // Imagery files are opened again; one that moved stays in the tree, closed, saying why.
    // Other kinds (map services) are left closed for the application to open.
    for l in &saved.imagery {
        let mut layer = match crate::workspace::ImageryLayer::open_spec(&l.id, &l.spec, &ws.crs) {
            Ok(Some(layer)) => layer,
            Ok(None) => closed_imagery(l, String::new()),
            Err(e) => closed_imagery(l, e.to_string()),
        };
        layer.title = l.title.clone();
        layer.visible = l.visible;
        layer.opacity = l.opacity;
        ws.imagery.push(layer);
    }
    // Tilesets are opened again from their files; one that cannot be (moved, unreadable) is
    // left out of the tree — its file is not touched.
    for t in &saved.tilesets {
        let opts = crate::tiles3d::stream::StreamOptions {
            budget_bytes: t.budget_bytes,
            ..Default::default()
        };
        let mut some = Some(ws);
        if Workspace::add_tileset(&mut some, &t.path, opts).is_ok() {
            let w = some.as_mut().expect("kept");
            if let Some(l) = w.tilesets.last_mut() {
                l.id = t.id.clone();
                l.title = t.title.clone();
                l.visible = t.visible;
            }
        }
        ws = some.expect("kept");
    }
    let line = |r: &Vec<[f64; 2]>| geo::LineString::from(r.iter().map(|c| (c[0], c[1])).collect::<Vec<_>>());
    ws.flatten = saved
        .flatten
        .iter()
        .filter(|(rings, h)| !rings.is_empty() && h.is_finite())
        .map(|(rings, h)| (geo::Polygon::new(line(&rings[0]), rings[1..].iter().map(line).collect()), *h))
        .collect();
    if let Some(c) = &saved.clip {
        let polygons: Vec<geo::Polygon> = c
            .area
            .iter()
            .filter(|rings| !rings.is_empty())
            .map(|rings| geo::Polygon::new(line(&rings[0]), rings[1..].iter().map(line).collect()))
            .collect();
        ws.clip = crate::workspace::Clip {
            top_m: c.top_m.filter(|h| h.is_finite()),
            section: c.section.filter(|s| s.iter().flatten().all(|v| v.is_finite()) && s[0] != s[1]),
            area: (!polygons.is_empty()).then_some((geo::MultiPolygon(polygons), c.keep_inside)),
            area_layer: c.area_layer.clone(),
        };
    }
    ws.attribution = saved.attribution;
    Ok((ws, saved.view))
}

fn closed_imagery(l: &SavedImagery, why: String) -> crate::workspace::ImageryLayer {
    crate::workspace::ImageryLayer {
        id: l.id.clone(),
        title: l.title.clone(),
        visible: l.visible,
        opacity: l.opacity,
        spec: l.spec.clone(),
        source: None,
        extent: None,
        detail: why,
        hint: None,
    }
}

fn surfaces_table(table: &str) -> String {
    format!("jingwei_surfaces_{table}")
}

/// Consecutive runs of `faces` whose packing stays near `max_bytes` (a face larger than that
/// goes alone).
fn surface_groups(faces: &[crate::cityjson::Surface], max_bytes: usize) -> Vec<&[crate::cityjson::Surface]> {
    let size = |f: &crate::cityjson::Surface| 4 + f.iter().map(|r| 4 + 24 * r.len()).sum::<usize>();
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 4);
    for (i, f) in faces.iter().enumerate() {
        if i > start && bytes + size(f) > max_bytes {
            out.push(&faces[start..i]);
            (start, bytes) = (i, 4);
        }
        bytes += size(f);
    }
    out.push(&faces[start..]);
    out
}

/// One feature's surfaces as bytes: the number of surfaces, then for each its number of rings,
/// for each ring its number of points and the points' x, y, z (u32 and f64, little-endian).
pub fn pack_surfaces(faces: &[crate::cityjson::Surface]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend((faces.len() as u32).to_le_bytes());
    for face in faces {
        out.extend((face.len() as u32).to_le_bytes());
        for ring in face {
            out.extend((ring.len() as u32).to_le_bytes());
            for p in ring {
                for v in p {
                    out.extend(v.to_le_bytes());
                }
            }
        }
    }
    out
}

/// The inverse of [`pack_surfaces`]; `None` when the bytes are not such a packing.
pub fn unpack_surfaces(bytes: &[u8]) -> Option<Vec<crate::cityjson::Surface>> {
    struct Cursor<'a>(&'a [u8]);
    impl Cursor<'_> {
        fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
            let (head, rest) = self.0.split_at_checked(N)?;
            self.0 = rest;
            head.try_into().ok()
        }
        /// A count, refused when even `min_bytes` per item would not fit in what is left.
        fn count(&mut self, min_bytes: usize) -> Option<usize> {
            let n = u32::from_le_bytes(self.take()?) as usize;
            (n.saturating_mul(min_bytes) <= self.0.len()).then_some(n)
        }
    }
    let mut c = Cursor(bytes);
    let n_faces = c.count(4)?;
    let mut faces = Vec::with_capacity(n_faces);
    for _ in 0..n_faces {
        let n_rings = c.count(4)?;
        let mut face = Vec::with_capacity(n_rings);
        for _ in 0..n_rings {
            let n = c.count(24)?;
            let mut ring = Vec::with_capacity(n);
            for _ in 0..n {
                let mut p = [0.0f64; 3];
                for v in &mut p {
                    *v = f64::from_le_bytes(c.take()?);
                }
                ring.push(p);
            }
            face.push(ring);
        }
        faces.push(face);
    }
    c.0.is_empty().then_some(faces)
}

/// The surfaces saved with layer table `table` of `rows` rows, if it has any.
/// (`conn` is the saved workspace at `path`, which error messages name.)
fn read_surfaces(conn: &Connection, path: &Path, table: &str, rows: usize) -> Result<Option<crate::cityjson::Surfaces>> {
    let t = surfaces_table(table);
    let exists: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [&t],
            |r| r.get(0),
        )
        .map_err(|e| corrupt(path, e))?;
    if !exists {
        return Ok(None);
    }
    let mut out = crate::cityjson::Surfaces {
        rows: vec![Vec::new(); rows],
        base_z: None,
    };
    let mut st = conn
        .prepare(&format!("SELECT row, surfaces FROM {} ORDER BY row, part", quote_ident(&t)))
        .map_err(|e| corrupt(path, e))?;
    let mut q = st.query([]).map_err(|e| corrupt(path, e))?;
    while let Some(r) = q.next().map_err(|e| corrupt(path, e))? {
        let row: i64 = r.get(0).map_err(|e| corrupt(path, e))?;
        let bytes: Vec<u8> = r.get(1).map_err(|e| corrupt(path, e))?;
        if row == -1 {
            let z: [u8; 8] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| corrupt(path, format!("{t}: the ground height is damaged")))?;
            out.base_z = Some(f64::from_le_bytes(z));
            continue;
        }
        let slot = usize::try_from(row)
            .ok()
            .and_then(|i| out.rows.get_mut(i))
            .ok_or_else(|| corrupt(path, format!("{t}: row {row} is not a feature of {table}")))?;
        slot.extend(unpack_surfaces(&bytes).ok_or_else(|| corrupt(path, format!("{t}: the surfaces of row {row} are damaged")))?);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_surfaces_go_in_parts_that_read_back_whole() {
        // Faces of 3 to 40 points; parts of at most 2 KB (a face bigger than that alone).
        let faces: Vec<crate::cityjson::Surface> = (0..300)
            .map(|i| vec![(0..3 + i % 38).map(|k| [i as f64, k as f64, 0.5]).collect()])
            .collect();
        let groups = surface_groups(&faces, 2048);
        assert!(groups.len() > 10);
        let mut back = Vec::new();
        for g in &groups {
            let packed = pack_surfaces(g);
            assert!(packed.len() <= 2048 || g.len() == 1, "{} bytes in {} faces", packed.len(), g.len());
            back.extend(unpack_surfaces(&packed).unwrap());
        }
        assert_eq!(back, faces);
        assert_eq!(surface_groups(&[], 2048).len(), 1);
    }
}
