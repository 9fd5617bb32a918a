//! Engine-independent scene building: every visible layer of a workspace becomes one or a few
//! merged meshes (fills, ribbons for lines, markers for points, prisms for buildings) in f32
//! metres relative to the workspace origin, with a style.

use geo::{Geometry, LineString, Polygon};
use jingwei_layers::imagery::warp::{Composite, Target};
use jingwei_layers::{Layer, Workspace};

use crate::extrude::{HeightRule, MeshData, extrude_layer, flat_polygon};
use crate::style::{self, Rgba};

/// What a mesh draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeshKind {
    /// Filled polygons, flat.
    Fill,
    /// Polygon outlines and lines, as flat ribbons.
    Line,
    /// Point markers.
    Marker,
    /// Extruded buildings.
    Building,
    /// The ground from a DEM (lit, so that relief shows).
    Terrain,
    /// Lines a fixed number of pixels wide (vertices carry their segment's other end).
    ScreenLine,
}

/// One merged mesh of one layer.
#[derive(Debug, Clone)]
pub struct LayerMesh {
    /// Layer id in the workspace.
    pub layer_id: String,
    /// What it draws.
    pub kind: MeshKind,
    /// Colour (linear-ish sRGB components 0–1, alpha for opacity).
    pub color: Rgba,
    /// Geometry.
    pub mesh: MeshData,
    /// Drawn only within a range of camera distances from the centre of the mesh's bounding
    /// box: one level of detail of a big layer's tile (see [`crate::lod`]); `None`: at any
    /// distance.
    pub range: Option<crate::lod::LodRange>,
}

/// Everything to draw, plus the extent of the data in local coordinates (x east, z south).
#[derive(Debug, Clone, Default)]
pub struct SceneData {
    /// Meshes in draw order (bottom first).
    pub meshes: Vec<LayerMesh>,
    /// `[min_x, min_z, max_x, max_z]` of all drawn data, local metres; None when empty.
    pub extent_local: Option<[f32; 4]>,
    /// Highest point (metres).
    pub max_height_m: f32,
    /// Point symbols and labels, drawn in screen space over the rendered frame.
    pub annotations: Vec<crate::overlay::Annotation>,
    /// The drawn terrain, for picking and measuring on it; `None` over flat ground (y = 0).
    pub ground: Option<std::sync::Arc<crate::terrain::Ground>>,
    /// Imagery draped on the ground, bottom first (drawn under `meshes`).
    pub images: Vec<crate::imagery::ImageDrape>,
    /// What big building layers draw from afar instead of their buildings: a texture of each
    /// tile's footprints (see [`crate::lod`]), each with its `range`.
    pub stand_ins: Vec<crate::imagery::ImageDrape>,
}

impl SceneData {
    /// Number of triangles.
    pub fn triangles(&self) -> usize {
        self.meshes.iter().map(|m| m.mesh.indices.len() / 3).sum()
    }
}

fn local(x: f64, y: f64, h: f32, origin: [f64; 2]) -> [f32; 3] {
    let [lx, lz] = crate::local::LocalFrame::new(origin).to_local_f32(x, y);
    [lx, h, lz]
}

/// A flat ribbon `width_m` wide along a line at height `h`, facing up.
fn ribbon(l: &LineString, width_m: f32, h: f32, origin: [f64; 2], row: u32, out: &mut MeshData) {
    let half = width_m / 2.0;
    for w in l.0.windows(2) {
        let a = local(w[0].x, w[0].y, h, origin);
        let b = local(w[1].x, w[1].y, h, origin);
        let (dx, dz) = (b[0] - a[0], b[2] - a[2]);
        let len = (dx * dx + dz * dz).sqrt();
        if len < 1e-3 {
            continue;
        }
        let (nx, nz) = (-dz / len * half, dx / len * half);
        let s = out.positions.len() as u32;
        out.positions.extend([
            [a[0] + nx, h, a[2] + nz],
            [a[0] - nx, h, a[2] - nz],
            [b[0] - nx, h, b[2] - nz],
            [b[0] + nx, h, b[2] + nz],
        ]);
        // Counter-clockwise seen from above (+y).
        let q = [s, s + 1, s + 2, s, s + 2, s + 3];
        let (p0, p1, p2) = (
            out.positions[s as usize],
            out.positions[s as usize + 1],
            out.positions[s as usize + 2],
        );
        let ny = (p1[2] - p0[2]) * (p2[0] - p0[0]) - (p1[0] - p0[0]) * (p2[2] - p0[2]);
        out.indices.extend(if ny >= 0.0 { q } else { [s, s + 2, s + 1, s, s + 3, s + 2] });
        out.triangle_rows.extend([row, row]);
    }
}

/// A line `width_px` pixels wide at any distance: per segment four vertices, each carrying the
/// segment's other end and a signed half width for the screen-line shader.
fn screen_line(
    l: &LineString,
    width_px: f32,
    h: f32,
    origin: [f64; 2],
    row: u32,
    ground: Option<&crate::terrain::Ground>,
    out: &mut MeshData,
) {
    let half = width_px / 2.0;
    let lift = |mut p: [f32; 3]| {
        if let Some(g) = ground {
            p[1] += g.y(p[0], p[2]) + 2.0;
        }
        p
    };
    // Over a terrain each segment is cut where it crosses the drawn triangles' edges and every
    // piece lifted at its ends: the line then follows the ground over a ridge instead of
    // cutting through it.
    let mut pieces: Vec<([f32; 3], [f32; 3])> = Vec::new();
    for w in l.0.windows(2) {
        let (a, b) = (local(w[0].x, w[0].y, h, origin), local(w[1].x, w[1].y, h, origin));
        let mut ts = vec![0.0f32];
        if let Some(g) = ground {
            ts.extend(g.crossings([a[0], a[2]], [b[0], b[2]]));
        }
        ts.push(1.0);
        let at = |t: f32| [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
        pieces.extend(ts.windows(2).map(|t| (lift(at(t[0])), lift(at(t[1])))));
    }
    for (a, b) in pieces {
        if (a[0] - b[0]).abs() + (a[2] - b[2]).abs() < 1e-3 {
            continue;
        }
        let s = out.positions.len() as u32;
        out.positions.extend([a, a, b, b]);
        // Seen from b the segment runs the other way: the same side is the opposite sign.
        out.extra.extend([
            [b[0], b[1], b[2], half],
            [b[0], b[1], b[2], -half],
            [a[0], a[1], a[2], -half],
            [a[0], a[1], a[2], half],
        ]);
        out.indices.extend([s, s + 1, s + 2, s + 1, s + 3, s + 2]);
        out.triangle_rows.extend([row, row]);
    }
}

/// A square marker `size_m` wide at a point, raised to height `h`.
fn marker(x: f64, y: f64, size_m: f32, h: f32, origin: [f64; 2], row: u32, out: &mut MeshData) {
    let c = local(x, y, h, origin);
    let r = size_m / 2.0;
    let s = out.positions.len() as u32;
    out.positions.extend([
        [c[0] - r, h, c[2] - r],
        [c[0] - r, h, c[2] + r],
        [c[0] + r, h, c[2] + r],
        [c[0] + r, h, c[2] - r],
    ]);
    out.indices.extend([s, s + 1, s + 2, s, s + 2, s + 3]);
    out.triangle_rows.extend([row, row]);
}

fn polygons(g: &Geometry) -> Vec<&Polygon> {
    match g {
        Geometry::Polygon(p) => vec![p],
        Geometry::MultiPolygon(m) => m.0.iter().collect(),
        Geometry::GeometryCollection(gc) => gc.0.iter().flat_map(polygons).collect(),
        _ => Vec::new(),
    }
}

fn lines(g: &Geometry) -> Vec<&LineString> {
    match g {
        Geometry::LineString(l) => vec![l],
        Geometry::MultiLineString(m) => m.0.iter().collect(),
        Geometry::GeometryCollection(gc) => gc.0.iter().flat_map(lines).collect(),
        _ => Vec::new(),
    }
}

/// True for a layer of building footprints (by id or name).
pub fn is_building_layer(id: &str, layer: &Layer) -> bool {
    let n = format!("{id} {}", layer.name).to_lowercase();
    n.contains("building") || n.contains("建筑")
}

/// Build the meshes of every visible layer, bottom to top.
pub fn build_scene(ws: &Workspace) -> SceneData {
    build_scene_highlighted(ws, &Highlight::default())
}

/// What to pick out of the scene: the building, shape, permit and zones a case (or a selection)
/// is about. Layers are named by their layer name (as case evidence records them) or id.
#[derive(Debug, Clone, Default)]
pub struct Highlight {
    /// A building (layer, fid), drawn extruded in the highlight colour instead of its own.
    pub building: Option<(String, i64)>,
    /// A shape with no building (a drawn polygon, a point), drawn flat in the highlight colour.
    pub shape: Option<Geometry>,
    /// Selected features (layer, fids), drawn in the highlight colour instead of their own.
    pub selection: Option<(String, Vec<i64>)>,
    /// A permit (layer, fid), outlined.
    pub permit: Option<(String, i64)>,
    /// Zones (layer, fid), tinted.
    pub zones: Vec<(String, i64)>,
    /// Further shapes drawn on top, each with a style id (`incident_ring`, `incident_route`,
    /// `incident_point`, `alert_area`, …; see `style::for_layer`).
    pub extra: Vec<(String, Geometry)>,
    /// Rows left out of a layer (layer id, rows): features after the time slider's date.
    pub hidden: Vec<(String, Vec<usize>)>,
    /// The ground's opacity (0–1) when it is made see-through to show what lies beneath
    /// (pipes, tunnels): fills, flat lines, terrain and imagery of the layers take it; the
    /// highlight and overlays keep theirs. `None`: opaque.
    pub ground_opacity: Option<f32>,
}

fn find_row(ws: &Workspace, (layer, fid): &(String, i64)) -> Option<(usize, usize)> {
    let li = ws.layers.iter().position(|l| l.layer.name == *layer || l.id == *layer)?;
    Some((li, ws.layers[li].layer.row_of_fid(*fid)?))
}

/// One row of `layer` as a layer of its own (its fields kept: a building keeps its height).
pub fn single_row(layer: &Layer, row: usize, name: &str) -> Layer {
    subset(layer, &[row], name)
}

/// Some rows of `layer` as a layer of their own, fields kept.
pub fn subset(layer: &Layer, rows: &[usize], name: &str) -> Layer {
    Layer {
        name: name.to_string(),
        source_path: layer.source_path.clone(),
        driver: layer.driver.clone(),
        geometry_type: layer.geometry_type.clone(),
        crs: layer.crs.clone(),
        fields: layer.fields.clone(),
        columns: layer
            .fields
            .iter()
            .zip(&layer.columns)
            .map(|(f, c)| {
                let mut col = jingwei_layers::Column::for_kind(f.kind, rows.len());
                for r in rows {
                    col.push(c.get(*r, f.kind));
                }
                col
            })
            .collect(),
        fids: rows.iter().map(|r| layer.fids[*r]).collect(),
        geometries: rows.iter().map(|r| layer.geometries.geometry(*r)).collect(),
        encoding: None,
        issues: Vec::new(),
    }
}

/// Build the scene with `h` picked out: the highlighted building replaces its own prism, the
/// zones are tinted, the permit outlined, all drawn above the workspace's layers.
pub fn build_scene_highlighted(ws: &Workspace, h: &Highlight) -> SceneData {
    build_scene_with(ws, h, None)
}

/// Draws an imagery layer for a target with what is at hand (see [`crate::imagery`]); `None`
/// leaves the layer out.
pub type ComposeImagery<'a> = &'a dyn Fn(&jingwei_layers::ImageryLayer, &Target) -> Option<Composite>;

/// [`build_scene_highlighted`], with the visible imagery layers drawn by `compose` and draped
/// on the ground under the vector layers.
pub fn build_scene_with(ws: &Workspace, h: &Highlight, compose: Option<ComposeImagery<'_>>) -> SceneData {
    build_scene_shown(ws, h, compose, &|_, visible| visible)
}

/// Whether a layer (vector or imagery, by id) is drawn, given its own visibility: one side of a
/// comparison shows its layers and hides the other side's without touching the workspace.
pub type Shown<'a> = &'a dyn Fn(&str, bool) -> bool;

/// [`build_scene_with`] with the layers' visibility decided by `shown`.
pub fn build_scene_shown(ws: &Workspace, h: &Highlight, compose: Option<ComposeImagery<'_>>, shown: Shown<'_>) -> SceneData {
    let origin = ws.origin_xy;
    // 剖切 cuts the full meshes: a cut city is drawn in full detail, its big layers untiled
    // (far tiles' roofs and textures know nothing of the cut).
    let tile = !ws.clip.is_active();
    let mut scene = SceneData::default();
    let mut ext = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    // The ground: a DEM under the visible data (a fifth wider), or all of it when there is none.
    let data_extent = ws
        .layers
        .iter()
        .filter(|l| shown(&l.id, l.visible))
        .filter_map(|l| l.layer.extent())
        .reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
        .map(|e| {
            // A tenth wider, and at least 500 m around (a single point still gets its hills).
            let (mx, my) = (((e[2] - e[0]) * 0.1).max(500.0), ((e[3] - e[1]) * 0.1).max(500.0));
            [e[0] - mx, e[1] - my, e[2] + mx, e[3] + my]
        });
    let ground = ws
        .terrain
        .as_ref()
        .and_then(|t| crate::terrain::build(t, data_extent, origin))
        .map(|(mesh, g)| {
            grow(&mut ext, &mesh);
            scene.max_height_m = mesh.positions.iter().map(|p| p[1]).fold(scene.max_height_m, f32::max);
            scene.meshes.push(LayerMesh {
                layer_id: "terrain".into(),
                kind: MeshKind::Terrain,
                color: style::TERRAIN,
                mesh,
                range: None,
            });
            g
        });
    scene.ground = ground.clone().map(std::sync::Arc::new);
    let ground = ground.as_ref();
    if let Some(compose) = compose {
        for l in ws.imagery.iter().filter(|l| shown(&l.id, l.visible) && l.opacity > 0.0) {
            let Some(t) = crate::imagery::target(ws, l, data_extent) else {
                continue;
            };
            let Some(c) = compose(l, &t) else { continue };
            let d = crate::imagery::drape(&l.id, l.opacity, &t, &c, origin, ground);
            grow(&mut ext, &d.mesh);
            scene.images.push(d);
        }
    }
    // Over imagery the vector layers start one step up.
    let lift = usize::from(!scene.images.is_empty());
    let hidden = h.building.as_ref().and_then(|b| find_row(ws, b));
    // The selection: its layer and rows.
    let selected: Option<(usize, Vec<usize>)> = h.selection.as_ref().and_then(|(layer, fids)| {
        let li = ws.layers.iter().position(|l| l.layer.name == *layer || l.id == *layer)?;
        let rows: Vec<usize> = fids.iter().filter_map(|f| ws.layers[li].layer.row_of_fid(*f)).collect();
        (!rows.is_empty()).then_some((li, rows))
    });
    for (order, (li, wl)) in ws
        .layers
        .iter()
        .enumerate()
        .enumerate()
        .filter(|(_, (_, l))| shown(&l.id, l.visible))
    {
        let mut skip: Vec<usize> = hidden.filter(|(hl, _)| *hl == li).map(|(_, row)| row).into_iter().collect();
        if let Some((sl, rows)) = &selected
            && *sl == li
        {
            skip.extend(rows);
        }
        for (_, rows) in h.hidden.iter().filter(|(id, _)| *id == wl.id) {
            skip.extend(rows);
        }
        skip.sort_unstable();
        skip.dedup();
        let first = scene.meshes.len();
        let st = style::for_workspace_layer(wl).unwrap_or_else(|_| style::for_layer(&wl.id, &wl.layer));
        match &wl.surfaces {
            Some(surfaces) => {
                // A model's own colours row by row (an IFC file's styles), unless the user
                // styled the layer.
                let colours = wl.style.is_none().then(|| row_colours(&wl.layer)).flatten();
                add_surfaces(
                    &mut scene,
                    &mut ext,
                    &wl.id,
                    surfaces,
                    &st,
                    colours.as_deref(),
                    origin,
                    &skip,
                    ground,
                )
            }
            None => add_layer(
                &mut scene,
                &mut ext,
                &wl.id,
                &wl.layer,
                &st,
                order + lift,
                origin,
                &skip,
                ground,
                tile,
            ),
        }
        if wl.opacity < 1.0 {
            for m in &mut scene.meshes[first..] {
                m.color[3] *= wl.opacity.clamp(0.0, 1.0);
            }
            for d in scene.stand_ins.iter_mut().filter(|d| d.layer_id == wl.id) {
                d.opacity *= wl.opacity.clamp(0.0, 1.0);
            }
        }
    }
    if let Some(a) = h.ground_opacity {
        let a = a.clamp(0.0, 1.0);
        for m in &mut scene.meshes {
            if matches!(m.kind, MeshKind::Fill | MeshKind::Line | MeshKind::Terrain | MeshKind::ScreenLine) {
                m.color[3] *= a;
            }
        }
        for i in &mut scene.images {
            i.opacity *= a;
        }
    }
    let mut extra: Vec<(&str, Layer)> = Vec::new();
    for z in &h.zones {
        if let Some((li, row)) = find_row(ws, z) {
            extra.push(("highlight_zone", single_row(&ws.layers[li].layer, row, "highlight_zone")));
        }
    }
    if let Some((li, row)) = h.permit.as_ref().and_then(|p| find_row(ws, p)) {
        extra.push(("case_permit", single_row(&ws.layers[li].layer, row, "case_permit")));
    }
    if let Some((li, rows)) = &selected {
        let src = &ws.layers[*li];
        // A building selection stays extruded (its id says building), anything else lies flat.
        let id = if is_building_layer(&src.id, &src.layer) {
            "highlight_selection_building"
        } else {
            "highlight_selection"
        };
        extra.push((id, subset(&src.layer, rows, id)));
    }
    if let Some((li, row)) = hidden {
        extra.push(("highlight_building", single_row(&ws.layers[li].layer, row, "highlight_building")));
    } else if let Some(g) = &h.shape {
        extra.push(("highlight_shape", Layer::single("highlight_shape", Some(ws.crs.clone()), g.clone())));
    }
    for (id, g) in &h.extra {
        extra.push((id.as_str(), Layer::single(id, Some(ws.crs.clone()), g.clone())));
    }
    let base = ws.layers.len();
    for (i, (id, layer)) in extra.iter().enumerate() {
        add_layer(
            &mut scene,
            &mut ext,
            id,
            layer,
            &style::for_layer(id, layer),
            base + i,
            origin,
            &[],
            ground,
            tile,
        );
    }
    scene.extent_local = (ext[0] <= ext[2]).then_some(ext);
    // 剖切: what the view cuts away (the extent stays that of the whole data).
    if ws.clip.is_active() {
        for m in &mut scene.meshes {
            if m.kind == MeshKind::Building {
                crate::clip::clip_solid(&mut m.mesh, [0.0; 3], origin, &ws.clip);
            } else {
                crate::clip::clip_mesh(&mut m.mesh, [0.0; 3], origin, &ws.clip);
            }
        }
    }
    scene
}

/// How far a polygon's fill stands above its layer's height: smaller polygons higher (up to
/// 8 cm, below the outlines at 10 cm), so that where polygons of one layer overlap — a park drawn
/// inside a residential area — the smaller one shows, whatever the camera, instead of the
/// depth test deciding between two fills at one height.
fn fill_lift(p: &Polygon) -> f32 {
    let a = geo::Area::unsigned_area(p).max(1.0);
    (0.01 * (1e6 / a).log2()).clamp(0.0, 0.08) as f32
}

/// The meshes of one layer (`skip`: a row left out), `order` setting its height in the stack.
/// `tile`: whether a big building layer may be cut into level-of-detail tiles (see
/// [`crate::lod`]).
#[allow(clippy::too_many_arguments)]
fn add_layer(
    scene: &mut SceneData,
    ext: &mut [f32; 4],
    id: &str,
    layer: &Layer,
    st: &style::Style,
    order: usize,
    origin: [f64; 2],
    skip: &[usize],
    ground: Option<&crate::terrain::Ground>,
    tile: bool,
) {
    // Flat layers are stacked 0.3 m apart so that later layers draw over earlier ones.
    let h = 0.3 * order as f32;
    if let Some(p) = PipeFields::of(layer) {
        add_pipes(scene, ext, id, layer, &p, origin, skip, ground);
        return;
    }
    if is_building_layer(id, layer) {
        if tile && ground.is_none() && layer.len() >= crate::lod::TILED_FROM {
            let tiles = crate::lod::building_tiles(layer, &HeightRule::for_layer(layer), origin, skip, st.fill);
            for t in &tiles {
                scene.max_height_m = t.full.positions.iter().map(|p| p[1]).fold(scene.max_height_m, f32::max);
                grow(ext, &t.full);
            }
            push_tiles(scene, id, st.fill, tiles);
            return;
        }
        let mesh = if skip.is_empty() {
            extrude_layer(layer, &HeightRule::for_layer(layer), origin)
        } else {
            let mut l = layer.clone();
            l.geometries.replace(skip.iter().map(|row| (*row, None)).collect());
            extrude_layer(&l, &HeightRule::for_layer(layer), origin)
        };
        push_standing(scene, ext, id, st.fill, mesh, ground);
        return;
    }
    let mut fills: std::collections::BTreeMap<usize, MeshData> = Default::default();
    let mut outlines: std::collections::BTreeMap<usize, MeshData> = Default::default();
    let mut markers = MeshData::default();
    let mut screen_lines = MeshData::default();
    let label_field = st.label_field.as_ref().and_then(|f| layer.field_index(f));
    for (row, g) in layer.geometries.iter().enumerate() {
        let Some(g) = g else { continue };
        let g = &g.to_geo();
        if skip.binary_search(&row).is_ok() {
            continue;
        }
        let text = label_field
            .and_then(|f| layer.feature(row).value(f).as_str().map(str::to_string))
            .filter(|t| !t.trim().is_empty());
        let symbol = st.symbol_of(layer, row);
        if text.is_some() || (symbol.is_some() && matches!(g, Geometry::Point(_) | Geometry::MultiPoint(_))) {
            let at = match g {
                Geometry::Point(p) => Some(p.0),
                Geometry::MultiPoint(mp) => mp.0.first().map(|p| p.0),
                _ => geo::InteriorPoint::interior_point(g).map(|p| p.0),
            };
            if let Some(c) = at {
                let points = matches!(g, Geometry::Point(_) | Geometry::MultiPoint(_));
                let mut anchor = local(c.x, c.y, h + 0.2, origin);
                if let Some(gr) = ground {
                    anchor[1] += gr.y(anchor[0], anchor[2]);
                }
                scene.annotations.push(crate::overlay::Annotation {
                    anchor,
                    symbol: symbol.filter(|_| points).map(|(s, _)| s),
                    text,
                    // Later layers first; within a layer, earlier symbol categories first.
                    priority: order as f32 * 100.0 - symbol.map_or(0.0, |(_, rank)| rank as f32),
                    layer_id: id.to_string(),
                });
                if points && symbol.is_some() {
                    continue;
                }
            }
        }
        let class = st.class_of(layer, row);
        for p in polygons(g) {
            flat_polygon(p, f64::from(h + fill_lift(p)), origin, row as u32, fills.entry(class).or_default());
            if st.stroke_width_m > 0.0 {
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    ribbon(
                        ring,
                        st.stroke_width_m,
                        h + 0.1,
                        origin,
                        row as u32,
                        outlines.entry(class).or_default(),
                    );
                }
            }
        }
        for l in lines(g) {
            match st.line_width_px(layer, row) {
                Some(px) => screen_line(l, px, h, origin, row as u32, ground, &mut screen_lines),
                None => ribbon(
                    l,
                    st.line_width_m(layer, row),
                    h,
                    origin,
                    row as u32,
                    outlines.entry(class).or_default(),
                ),
            }
        }
        match g {
            Geometry::Point(p) => marker(p.x(), p.y(), st.marker_size_m, h + 0.2, origin, row as u32, &mut markers),
            Geometry::MultiPoint(mp) => {
                mp.0.iter()
                    .for_each(|p| marker(p.x(), p.y(), st.marker_size_m, h + 0.2, origin, row as u32, &mut markers))
            }
            _ => {}
        }
    }
    for (class, mut mesh) in fills {
        if !mesh.indices.is_empty() && st.fill_for(class)[3] > 0.0 {
            if let Some(g) = ground {
                crate::terrain::drape_flat(&mut mesh, g, 0.0);
            }
            grow(ext, &mesh);
            scene.meshes.push(LayerMesh {
                layer_id: id.to_string(),
                kind: MeshKind::Fill,
                color: st.fill_for(class),
                mesh,
                range: None,
            });
        }
    }
    if !screen_lines.indices.is_empty() {
        grow(ext, &screen_lines);
        scene.meshes.push(LayerMesh {
            layer_id: id.to_string(),
            kind: MeshKind::ScreenLine,
            color: st.stroke,
            mesh: screen_lines,
            range: None,
        });
    }
    let lines = outlines.into_iter().map(|(class, m)| (MeshKind::Line, m, st.stroke_for(class)));
    for (kind, mut mesh, color) in lines.chain([(MeshKind::Marker, markers, st.marker)]) {
        if !mesh.indices.is_empty() {
            if let Some(g) = ground {
                crate::terrain::drape_flat(&mut mesh, g, 0.0);
            }
            grow(ext, &mesh);
            scene.meshes.push(LayerMesh {
                layer_id: id.to_string(),
                kind,
                color,
                mesh,
                range: None,
            });
        }
    }
}

/// The fields that make a line layer a pipe network drawn in 3D below the ground.
pub struct PipeFields {
    /// Depth of the pipe's top (or centre line) below the ground, m.
    pub depth: usize,
    /// Diameter, mm.
    pub diameter: Option<usize>,
    /// The network (给水, 排水, 燃气, 热力, …), for its colour.
    pub network: Option<usize>,
}

impl PipeFields {
    /// A line layer with a depth field (`depth_m`, `depth`, `埋深`, `ms`).
    pub fn of(layer: &Layer) -> Option<PipeFields> {
        if layer.geometry_kind() != "line" {
            return None;
        }
        let find = |names: &[&str]| {
            layer
                .fields
                .iter()
                .position(|f| names.iter().any(|n| f.name.eq_ignore_ascii_case(n)))
        };
        Some(PipeFields {
            depth: find(&["depth_m", "depth", "埋深", "ms"])?,
            diameter: find(&["diameter_mm", "diameter", "dn", "管径", "gj"]),
            network: find(&["network", "管网类型", "管线类型", "type"]),
        })
    }
}

/// The colour of a pipe network by the national colour code of underground pipelines (给水 blue,
/// 排水 brown, 燃气 yellow, 热力 orange-red, 电力 red, 通信 green).
pub fn pipe_colour(network: &str) -> Rgba {
    let n = network.to_lowercase();
    let c = |r: u8, g: u8, b: u8| [f32::from(r) / 255.0, f32::from(g) / 255.0, f32::from(b) / 255.0, 1.0];
    if n.contains("排水") || n.contains("雨水") || n.contains("污水") || n.contains("drain") || n.contains("sewer") {
        c(146, 64, 14)
    } else if n.contains("燃气") || n.contains("gas") {
        c(234, 179, 8)
    } else if n.contains("热") || n.contains("heat") {
        c(234, 88, 12)
    } else if n.contains("电") || n.contains("power") {
        c(220, 38, 38)
    } else if n.contains("通信") || n.contains("telecom") {
        c(22, 163, 74)
    } else {
        c(37, 99, 235)
    }
}

/// Sides of a pipe's tube.
const TUBE_SIDES: usize = 8;

/// A tube of `radius` m along a line whose centre lies `depth` m below the ground.
fn tube(l: &LineString, radius: f32, depth: f32, origin: [f64; 2], row: u32, ground: Option<&crate::terrain::Ground>, out: &mut MeshData) {
    for w in l.0.windows(2) {
        let mut a = local(w[0].x, w[0].y, -depth, origin);
        let mut b = local(w[1].x, w[1].y, -depth, origin);
        if let Some(g) = ground {
            a[1] += g.y(a[0], a[2]);
            b[1] += g.y(b[0], b[2]);
        }
        let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let len = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        if len < 1e-3 {
            continue;
        }
        let u = [d[0] / len, d[1] / len, d[2] / len];
        // Two unit vectors across the axis: horizontal (n) and the cross product (m).
        let h = (u[0] * u[0] + u[2] * u[2]).sqrt().max(1e-6);
        let n = [-u[2] / h, 0.0, u[0] / h];
        let m = [u[1] * n[2] - u[2] * n[1], u[2] * n[0] - u[0] * n[2], u[0] * n[1] - u[1] * n[0]];
        let s = out.positions.len() as u32;
        for end in [a, b] {
            for k in 0..TUBE_SIDES {
                let t = k as f32 * std::f32::consts::TAU / TUBE_SIDES as f32;
                let (c, si) = (t.cos() * radius, t.sin() * radius);
                out.positions.push([
                    end[0] + n[0] * c + m[0] * si,
                    end[1] + n[1] * c + m[1] * si,
                    end[2] + n[2] * c + m[2] * si,
                ]);
            }
        }
        let k = TUBE_SIDES as u32;
        for i in 0..k {
            let j = (i + 1) % k;
            // Outward: a side quad (a_i, a_j, b_j, b_i) wound one way; the shader lights both
            // sides the same, the winding only has to be consistent.
            out.indices.extend([s + i, s + k + i, s + k + j, s + i, s + k + j, s + j]);
            out.triangle_rows.extend([row, row]);
        }
    }
}

/// A pipe layer as lit tubes below the ground, one mesh per network colour.
#[allow(clippy::too_many_arguments)]
fn add_pipes(
    scene: &mut SceneData,
    ext: &mut [f32; 4],
    id: &str,
    layer: &Layer,
    f: &PipeFields,
    origin: [f64; 2],
    skip: &[usize],
    ground: Option<&crate::terrain::Ground>,
) {
    let mut by_colour: Vec<(Rgba, MeshData)> = Vec::new();
    for (row, g) in layer.geometries.iter().enumerate() {
        let Some(g) = g else { continue };
        let g = &g.to_geo();
        if skip.binary_search(&row).is_ok() {
            continue;
        }
        let feat = layer.feature(row);
        let depth = feat.value(f.depth).as_f64().filter(|d| d.is_finite() && *d >= 0.0).unwrap_or(1.0);
        let dia_m = f
            .diameter
            .and_then(|i| feat.value(i).as_f64())
            .filter(|d| d.is_finite() && *d > 0.0)
            .map_or(0.3, |mm| mm / 1000.0);
        let colour = pipe_colour(
            &f.network
                .and_then(|i| feat.value(i).as_str().map(str::to_string))
                .unwrap_or_default(),
        );
        let mesh = match by_colour.iter_mut().find(|(c, _)| *c == colour) {
            Some((_, m)) => m,
            None => {
                by_colour.push((colour, MeshData::default()));
                &mut by_colour.last_mut().expect("just pushed").1
            }
        };
        let r = (dia_m / 2.0) as f32;
        for l in lines(g) {
            // The depth is to the pipe's top (覆土深度): its centre lies a radius lower.
            tube(l, r, depth as f32 + r, origin, row as u32, ground, mesh);
        }
    }
    for (color, mesh) in by_colour.into_iter().filter(|(_, m)| !m.indices.is_empty()) {
        // Already on the terrain: no draping again.
        push_standing(scene, ext, id, color, mesh, None);
    }
}

/// The 3D surfaces of a city model as one lit mesh, standing on the ground (its lowest point at
/// y = 0), each face wound counter-clockwise seen from the side its ring order faces.
#[allow(clippy::too_many_arguments)]
fn add_surfaces(
    scene: &mut SceneData,
    ext: &mut [f32; 4],
    id: &str,
    surfaces: &jingwei_layers::cityjson::Surfaces,
    st: &style::Style,
    colours: Option<&[Option<Rgba>]>,
    origin: [f64; 2],
    skip: &[usize],
    ground: Option<&crate::terrain::Ground>,
) {
    let z0 = surfaces.ground_z().unwrap_or(0.0);
    // One mesh per colour, in the order first met.
    let mut meshes: Vec<(Rgba, MeshData)> = Vec::new();
    for (row, faces) in surfaces.rows.iter().enumerate() {
        if skip.binary_search(&row).is_ok() {
            continue;
        }
        let colour = colours.and_then(|c| c.get(row).copied().flatten()).unwrap_or(st.fill);
        let k = match meshes.iter().position(|(c, _)| *c == colour) {
            Some(k) => k,
            None => {
                meshes.push((colour, MeshData::default()));
                meshes.len() - 1
            }
        };
        for face in faces {
            triangulate_face(face, z0, origin, row as u32, &mut meshes[k].1);
        }
    }
    for (colour, mesh) in meshes {
        if !mesh.indices.is_empty() {
            push_standing(scene, ext, id, colour, mesh, ground);
        }
    }
}

/// A layer's colours row by row, from a `colour` column of `#rrggbb` or `#rrggbbaa` (an IFC
/// model's styles); `None` without one.
fn row_colours(layer: &jingwei_layers::Layer) -> Option<Vec<Option<Rgba>>> {
    let col = layer.fields.iter().position(|f| f.name == "colour")?;
    let jingwei_layers::Column::Text(values) = &layer.columns[col] else {
        return None;
    };
    let parse = |s: &str| -> Option<Rgba> {
        let h = s.strip_prefix('#')?;
        let byte = |i: usize| u8::from_str_radix(h.get(i..i + 2)?, 16).ok().map(|v| f32::from(v) / 255.0);
        match h.len() {
            6 => Some([byte(0)?, byte(2)?, byte(4)?, 1.0]),
            8 => Some([byte(0)?, byte(2)?, byte(4)?, byte(6)?]),
            _ => None,
        }
    };
    Some(values.iter().map(|v| v.and_then(parse)).collect())
}

/// Add a lit mesh of standing objects (extruded buildings, city models): on a DEM each object
/// (a row) stands on the lowest ground under it; the scene's extent and height grow with it.
fn push_standing(
    scene: &mut SceneData,
    ext: &mut [f32; 4],
    id: &str,
    color: Rgba,
    mut mesh: MeshData,
    ground: Option<&crate::terrain::Ground>,
) {
    if let Some(g) = ground {
        crate::terrain::drape_buildings(&mut mesh, g);
    }
    scene.max_height_m = mesh.positions.iter().map(|p| p[1]).fold(scene.max_height_m, f32::max);
    grow(ext, &mesh);
    scene.meshes.push(LayerMesh {
        layer_id: id.to_string(),
        kind: MeshKind::Building,
        color,
        mesh,
        range: None,
    });
}

/// A big layer's tiles (see [`crate::lod`]) as the scene's meshes and stand-ins, each level
/// with the camera distances it is drawn at; the levels hand over where the next begins.
fn push_tiles(scene: &mut SceneData, layer_id: &str, color: Rgba, tiles: Vec<crate::lod::LodTile>) {
    for t in tiles {
        let [a, b] = t.switch_m;
        let range = |near_m: f32, far_m: f32| {
            Some(crate::lod::LodRange {
                near_m,
                far_m,
                pad_m: t.pad_m,
                bounds: t.bounds,
            })
        };
        for (mesh, near_m, far_m) in [(t.full, 0.0, a), (t.roofs, a, b)] {
            scene.meshes.push(LayerMesh {
                layer_id: layer_id.to_string(),
                kind: MeshKind::Building,
                color,
                mesh,
                range: range(near_m, far_m),
            });
        }
        scene.stand_ins.push(crate::imagery::ImageDrape {
            layer_id: layer_id.to_string(),
            opacity: 1.0,
            mesh: t.far.mesh,
            uvs: t.far.uvs,
            width: t.far.texels,
            height: t.far.texels,
            rgba: std::sync::Arc::new(t.far.rgba),
            missing: 0,
            range: range(b, f32::INFINITY),
        });
    }
}

/// A ring's (Newell) normal, and the axis it is most nearly along (the one a face is projected
/// away from to work in 2D).
pub(crate) fn plane_of(ring: &[[f64; 3]]) -> ([f64; 3], usize) {
    let mut n = [0.0f64; 3];
    for (i, a) in ring.iter().enumerate() {
        let b = ring[(i + 1) % ring.len()];
        n[0] += (a[1] - b[1]) * (a[2] + b[2]);
        n[1] += (a[2] - b[2]) * (a[0] + b[0]);
        n[2] += (a[0] - b[0]) * (a[1] + b[1]);
    }
    let drop = (0..3).max_by(|&i, &j| n[i].abs().total_cmp(&n[j].abs())).unwrap_or(2);
    (n, drop)
}

/// Triangulate one planar face (outer ring, holes) in 3D: earcut in the plane its normal is most
/// perpendicular to, triangles turned to face the way the ring's (Newell) normal does.
fn triangulate_face(face: &[Vec<[f64; 3]>], z0: f64, origin: [f64; 2], row: u32, out: &mut MeshData) {
    use geo::TriangulateEarcut;
    let Some(outer) = face.first().filter(|r| r.len() >= 3) else {
        return;
    };
    let (n, drop) = plane_of(outer);
    if n[drop].abs() < 1e-12 {
        return;
    }
    let (u, v) = match drop {
        0 => (1, 2),
        1 => (2, 0),
        _ => (0, 1),
    };
    let ring2d = |r: &Vec<[f64; 3]>| LineString::from(r.iter().map(|p| (p[u], p[v])).collect::<Vec<_>>());
    let poly = Polygon::new(ring2d(outer), face[1..].iter().filter(|r| r.len() >= 3).map(ring2d).collect());
    let tris = poly.earcut_triangles_raw();
    let pts: Vec<[f64; 3]> = std::iter::once(outer)
        .chain(face[1..].iter().filter(|r| r.len() >= 3))
        .flat_map(|r| r.iter().copied())
        .collect();
    if pts.len() != tris.vertices.len() {
        return;
    }
    let start = out.positions.len() as u32;
    out.positions
        .extend(pts.iter().map(|p| local(p[0], p[1], (p[2] - z0) as f32, origin)));
    for t in tris.triangle_indices.chunks_exact(3) {
        let (a, b, c) = (pts[t[0]], pts[t[1]], pts[t[2]]);
        let e1 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let e2 = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
        let tn = [
            e1[1] * e2[2] - e1[2] * e2[1],
            e1[2] * e2[0] - e1[0] * e2[2],
            e1[0] * e2[1] - e1[1] * e2[0],
        ];
        // (x, y, z) → (x, z, −y) is a rotation: the winding carries over to the local frame.
        let same = tn[0] * n[0] + tn[1] * n[1] + tn[2] * n[2] >= 0.0;
        let (i, j, k) = (start + t[0] as u32, start + t[1] as u32, start + t[2] as u32);
        out.indices.extend(if same { [i, j, k] } else { [i, k, j] });
        out.triangle_rows.push(row);
    }
}

fn grow(ext: &mut [f32; 4], m: &MeshData) {
    for p in &m.positions {
        ext[0] = ext[0].min(p[0]);
        ext[1] = ext[1].min(p[2]);
        ext[2] = ext[2].max(p[0]);
        ext[3] = ext[3].max(p[2]);
    }
}
