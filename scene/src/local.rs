//! The one conversion between workspace coordinates (f64 metres of a projected CRS, y north)
//! and the local metres every mesh, view, pick and click is in (x east, y up, z south, about a
//! workspace origin). Nothing else in the product writes it out.

/// Workspace metres (f64, x east, y north, Gauss-Krüger or UTM) ⇄ local metres (f32, x east,
/// y up, z **south**) about a workspace origin. Every mesh, view and pick is in local metres;
/// the origin keeps f32 precise at street level (raw Gauss-Krüger metres in f32 would be
/// ~0.25 m apart at y ≈ 3,400,000).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LocalFrame {
    /// The workspace point that is local (0, 0, 0).
    pub origin: [f64; 2],
}

impl LocalFrame {
    /// The frame about `origin` (workspace metres).
    pub fn new(origin: [f64; 2]) -> LocalFrame {
        LocalFrame { origin }
    }

    /// A workspace point as local (x east, z south), f64.
    pub fn to_local(&self, x: f64, y: f64) -> [f64; 2] {
        [x - self.origin[0], -(y - self.origin[1])]
    }

    /// A workspace point as local (x east, z south), f32 for meshes.
    pub fn to_local_f32(&self, x: f64, y: f64) -> [f32; 2] {
        let [lx, lz] = self.to_local(x, y);
        [lx as f32, lz as f32]
    }

    /// A local point (x east, z south) back in workspace metres.
    pub fn to_world(&self, lx: f64, lz: f64) -> (f64, f64) {
        (self.origin[0] + lx, self.origin[1] - lz)
    }

    /// A box of workspace coordinates (`[min_x, min_y, max_x, max_y]`) as a local extent
    /// (`[min_x, min_z, max_x, max_z]`), f32.
    pub fn extent_to_local(&self, b: [f64; 4]) -> [f32; 4] {
        [
            (b[0] - self.origin[0]) as f32,
            -((b[3] - self.origin[1]) as f32),
            (b[2] - self.origin[0]) as f32,
            -((b[1] - self.origin[1]) as f32),
        ]
    }
}
