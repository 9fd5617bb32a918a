//! Imagery in the 3D scene: each visible imagery layer is drawn into one texture over the
//! scene's ground (at most [`MAX_TEXTURE`] pixels across, never finer than the imagery) and
//! draped on the terrain, or on flat ground, under the vector layers.

use std::sync::Arc;

use jingwei_layers::imagery::warp::{Composite, Target};
use jingwei_layers::{ImageryLayer, Workspace};

use crate::extrude::MeshData;
use crate::terrain::Ground;

/// The longest side of an imagery texture.
pub const MAX_TEXTURE: u32 = 2048;
/// How far above the ground imagery lies (the vector layers start at twice that).
pub const LIFT_M: f32 = 0.15;
/// Grid cells of a drape over flat ground, along its longer side.
const FLAT_CELLS: usize = 32;

/// One imagery layer as a textured mesh.
#[derive(Debug, Clone)]
pub struct ImageDrape {
    /// The imagery layer's id.
    pub layer_id: String,
    /// Opacity, 0–1.
    pub opacity: f32,
    /// Positions (local metres) and triangles.
    pub mesh: MeshData,
    /// Per vertex, the texture coordinate (0–1 from the texture's top-left).
    pub uvs: Vec<[f32; 2]>,
    /// Texture width in pixels.
    pub width: u32,
    /// Texture height in pixels.
    pub height: u32,
    /// Straight RGBA, row-major from the top.
    pub rgba: Arc<Vec<u8>>,
    /// Tiles of the texture's level not drawn yet (a coarser level shows there meanwhile).
    pub missing: usize,
    /// Drawn only within a range of camera distances from the centre of the mesh's bounding
    /// box (a big layer's stand-in, see [`crate::lod`]); `None`: at any distance.
    pub range: Option<crate::lod::LodRange>,
}

/// Where and how large to draw `layer` for a scene over `ground_extent` (workspace
/// coordinates; `None`: the layer's whole extent). `None` when it does not show there.
pub fn target(ws: &Workspace, layer: &ImageryLayer, ground_extent: Option<[f64; 4]>) -> Option<Target> {
    let src = layer.source.as_ref()?;
    let le = layer.extent?;
    let e = match ground_extent {
        Some(g) => [le[0].max(g[0]), le[1].max(g[1]), le[2].min(g[2]), le[3].min(g[3])],
        None => le,
    };
    if !(e[0] < e[2] && e[1] < e[3]) {
        return None;
    }
    // Not finer than the imagery itself: its finest pixel, measured in the workspace.
    let g = src.grid();
    let finest = g.finest().map(|l| &g.levels[l])?;
    let span_src = (g.extent[2] - g.extent[0]).max(g.extent[3] - g.extent[1]);
    let span_ws = (le[2] - le[0]).max(le[3] - le[1]);
    let res_ws = finest.res[0].min(finest.res[1]) * span_ws / span_src;
    let (w, h) = (e[2] - e[0], e[3] - e[1]);
    let longest = (w.max(h) / res_ws).ceil().clamp(1.0, f64::from(MAX_TEXTURE));
    let s = longest / w.max(h);
    Some(Target {
        crs: ws.crs.clone(),
        extent: e,
        width: ((w * s).round() as u32).max(1),
        height: ((h * s).round() as u32).max(1),
    })
}

/// The drape of a composite drawn for `t`: a grid on the ground (or flat at height 0).
pub fn drape(layer_id: &str, opacity: f32, t: &Target, c: &Composite, origin: [f64; 2], ground: Option<&Ground>) -> ImageDrape {
    let e = t.extent;
    let frame = crate::local::LocalFrame::new(origin);
    let [x0, z0] = frame.to_local_f32(e[0], e[3]);
    let [x1, z1] = frame.to_local_f32(e[2], e[1]);
    // Cells no larger than the ground's own, so that the drape follows every fold of it.
    let (nx, nz) = match ground {
        Some(g) => (
            (((x1 - x0) / g.step_m.max(1e-3)).ceil() as usize).clamp(1, 256),
            (((z1 - z0) / g.step_m.max(1e-3)).ceil() as usize).clamp(1, 256),
        ),
        None => {
            let a = (x1 - x0) / (z1 - z0).max(1e-3);
            if a >= 1.0 {
                (FLAT_CELLS, ((FLAT_CELLS as f32 / a).ceil() as usize).max(1))
            } else {
                (((FLAT_CELLS as f32 * a).ceil() as usize).max(1), FLAT_CELLS)
            }
        }
    };
    let mut mesh = MeshData::default();
    let mut uvs = Vec::with_capacity((nx + 1) * (nz + 1));
    for j in 0..=nz {
        for i in 0..=nx {
            let (u, v) = (i as f32 / nx as f32, j as f32 / nz as f32);
            let (x, z) = (x0 + (x1 - x0) * u, z0 + (z1 - z0) * v);
            let y = ground.map_or(0.0, |g| g.y(x, z)) + LIFT_M;
            mesh.positions.push([x, y, z]);
            uvs.push([u, v]);
        }
    }
    for j in 0..nz {
        for i in 0..nx {
            let a = (j * (nx + 1) + i) as u32;
            let (b, cc, d) = (a + 1, a + nx as u32 + 2, a + nx as u32 + 1);
            // Rows run south (+z), columns east (+x): (a, d, c) is counter-clockwise from above.
            mesh.indices.extend([a, d, cc, a, cc, b]);
            mesh.triangle_rows.extend([0, 0]);
        }
    }
    ImageDrape {
        layer_id: layer_id.to_owned(),
        opacity: opacity.clamp(0.0, 1.0),
        mesh,
        uvs,
        width: c.width,
        height: c.height,
        rgba: Arc::new(c.rgba.clone()),
        missing: c.missing,
        range: None,
    }
}
