//! The city twin's 3D Tiles in a session: what the render thread streams for each frame. The
//! tilesets themselves are workspace layers (`Workspace::add_tileset`, through
//! [`crate::session::Session::add_file`] for a `tileset.json`); their streams are shared with
//! the renderer, which updates them with every frame's camera.

use crate::session::Session;
use jingwei_scene::tiles::Sources;

impl Session {
    /// Press the city twin's tilesets down to `height_m` inside the polygons of layer `id` (压平:
    /// a planned building shown in the photographed city), or nowhere (`None`). Returns the
    /// polygons taken; the next frame meshes the tiles again.
    pub fn set_flatten(&self, id: Option<&str>, height_m: f64) -> crate::Result<usize> {
        let mut guard = self.workspace.lock()?;
        let ws = guard.as_mut().ok_or(crate::Error::NoWorkspace)?;
        Ok(ws.set_flatten(id, height_m)?)
    }

    /// The visible tilesets' streams, for the renderer: `Some(None)` when there are none;
    /// `None` when the workspace is busy elsewhere (a rules run) — the frame then keeps the
    /// tiles it has.
    pub fn twin_sources(&self) -> Option<Option<Sources>> {
        let guard = self.workspace.try_lock().ok()?;
        Some(guard.as_ref().and_then(Sources::of))
    }
}
