//! The city twin's 3D Tiles in a session: what the render thread streams for each frame. The
//! tilesets themselves are workspace layers (`Workspace::add_tileset`, through
//! [`crate::session::Session::add_file`] for a `tileset.json`); their streams are shared with
//! the renderer, which updates them with every frame's camera.

use crate::session::Session;
use jingwei_scene::tiles::Sources;
use serde::Serialize;

/// A point on what is drawn under a pixel, for measuring on the model's surface.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct SurfacePointDto {
    /// Workspace x (east, metres).
    pub x: f64,
    /// Workspace y (north).
    pub y: f64,
    /// Height as drawn (metres).
    pub z: f64,
    /// What it lies on: `tile`, `model` (a city model's or BIM storey's face), `building` (an
    /// extruded footprint) or `ground`.
    pub on: String,
    /// The layer's title (none for the ground).
    pub layer: Option<String>,
}

pub use crate::data::ClipRequest;

impl Session {
    /// Press the city twin's tilesets down to `height_m` inside the polygons of layer `id` (压平:
    /// a planned building shown in the photographed city), or nowhere (`None`). Returns the
    /// polygons taken; the next frame meshes the tiles again.
    pub fn set_flatten(&self, id: Option<&str>, height_m: f64) -> crate::Result<usize> {
        let mut guard = self.workspace.lock()?;
        let ws = guard.as_mut().ok_or(crate::Error::NoWorkspace)?;
        Ok(ws.set_flatten(id, height_m)?)
    }

    /// Cut the 3D view (剖切) as `req` says; an empty request cuts nothing. The scene is built
    /// again and the tiles meshed again on the next frame. Returns the request as applied.
    pub fn set_clip(&self, req: &ClipRequest) -> crate::Result<ClipRequest> {
        let mut guard = self.workspace.lock()?;
        let ws = guard.as_mut().ok_or(crate::Error::NoWorkspace)?;
        if let Some(h) = req.top_m.filter(|h| !h.is_finite()) {
            return Err(crate::Error::Invalid(format!("cut height {h}: a number of metres")));
        }
        if let Some(s) = req.section
            && (s.iter().flatten().any(|v| !v.is_finite()) || s[0] == s[1])
        {
            return Err(crate::Error::Invalid("a section needs two different points".into()));
        }
        let area = match &req.area_layer {
            Some(id) => Some((ws.polygons_of(id)?, req.keep_inside)),
            None => None,
        };
        ws.clip = jingwei_layers::workspace::Clip {
            top_m: req.top_m,
            section: req.section,
            area,
            area_layer: req.area_layer.clone(),
        };
        self.rebuild(ws)?;
        Ok(req.clone())
    }

    /// The point under a pixel on whatever is drawn there first — a tile of the twin, a city
    /// model's or BIM storey's face, an extruded building, else the ground — for measuring on the
    /// model's surface. Heights are as drawn.
    pub fn surface_point(&self, p: &crate::session::Pixel) -> crate::Result<Option<SurfacePointDto>> {
        if !p.is_valid() {
            return Ok(None);
        }
        let p = self.in_pane(p);
        let mut best: Option<(f64, SurfacePointDto)> = None;
        let mut consider = |t: f64, at: [f64; 3], on: &str, layer: Option<String>| {
            if t.is_finite() && best.as_ref().is_none_or(|(b, _)| t < *b) {
                best = Some((
                    t,
                    SurfacePointDto {
                        x: at[0],
                        y: at[1],
                        z: at[2],
                        on: on.into(),
                        layer,
                    },
                ));
            }
        };
        let ground = self.ground();
        self.with_workspace(|ws| {
            for wl in ws.layers.iter().filter(|l| l.visible) {
                if let Some(s) = &wl.surfaces {
                    if let Some(h) =
                        jingwei_scene::pick::pick_surfaces(s, &[], &ws.clip, ws.origin_xy, &p.view, p.x, p.y, p.width, p.height)
                    {
                        consider(h.t, h.point, "model", Some(wl.title.clone()));
                    }
                } else if jingwei_scene::scene::is_building_layer(&wl.id, &wl.layer)
                    && let Some(h) = crate::session::pick_building(ws, wl, &p, ground.as_deref())
                {
                    consider(h.t, h.point, "building", Some(wl.title.clone()));
                }
            }
            // The ground: where the ray meets it, found along the ray.
            let (o, d) = p.view.ray(p.x, p.y, p.width, p.height);
            if let Some([lx, lz]) = p.view.terrain_point(p.x, p.y, p.width, p.height, ground.as_deref()) {
                let horiz = (d.x * d.x + d.z * d.z).sqrt();
                if horiz > 1e-9 {
                    let t = f64::from(((lx - o.x).powi(2) + (lz - o.z).powi(2)).sqrt() / horiz);
                    let (x, y) = jingwei_scene::view::LocalFrame::new(ws.origin_xy).to_world(f64::from(lx), f64::from(lz));
                    consider(t, [x, y, f64::from(o.y) + f64::from(d.y) * t], "ground", None);
                }
            }
            Ok(())
        })?;
        // The twin's tiles (their heights are their own, in metres).
        let tiles = {
            let guard = self.workspace.lock()?;
            guard.as_ref().and_then(|ws| {
                let titles: std::collections::BTreeMap<String, String> =
                    ws.tilesets.iter().map(|t| (t.id.clone(), t.title.clone())).collect();
                Sources::of(ws).map(|s| (s, titles))
            })
        };
        if let Some((src, titles)) = tiles
            && let Some(hit) = jingwei_scene::tiles::pick(&src, &p.view, p.x, p.y, p.width, p.height)
        {
            consider(hit.distance, hit.at, "tile", titles.get(&hit.layer_id).cloned());
        }
        Ok(best.map(|b| b.1))
    }

    /// The visible tilesets' streams, for the renderer: `Some(None)` when there are none;
    /// `None` when the workspace is busy elsewhere (a rules run) — the frame then keeps the
    /// tiles it has.
    pub fn twin_sources(&self) -> Option<Option<Sources>> {
        let guard = self.workspace.try_lock().ok()?;
        Some(guard.as_ref().and_then(Sources::of))
    }
}
