//! The city twin's 3D Tiles in a session: what the render thread streams for each frame. The
//! tilesets themselves are workspace layers (`Workspace::add_tileset`, through
//! [`crate::session::Session::add_file`] for a `tileset.json`); their streams are shared with
//! the renderer, which updates them with every frame's camera.

use crate::session::Session;
use jingwei_scene::tiles::Sources;
use serde::{Deserialize, Serialize};

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
        };
        self.rebuild(ws)?;
        Ok(req.clone())
    }

    /// The visible tilesets' streams, for the renderer: `Some(None)` when there are none;
    /// `None` when the workspace is busy elsewhere (a rules run) — the frame then keeps the
    /// tiles it has.
    pub fn twin_sources(&self) -> Option<Option<Sources>> {
        let guard = self.workspace.try_lock().ok()?;
        Some(guard.as_ref().and_then(Sources::of))
    }
}
