//! The camera and the frame it gives. No engine here: the Bevy renderer (`jingwei-viewer`)
//! turns a [`View`] into its camera, and picking, framing and the app's measurements use the
//! same [`View`] without it. (`LocalFrame`, the workspace ⇄ local conversion, is re-exported
//! from [`crate::local`].)

use glam::{Mat3, Quat, Vec3};

pub use crate::local::LocalFrame;

/// The camera pose: where it is and which way it looks (local metres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    /// The eye.
    pub translation: Vec3,
    /// Camera to local: −z forward, +y up, +x right.
    pub rotation: Quat,
}

/// Where the camera is: orbiting `target` (local metres, y up) at `distance_m`, `pitch_deg`
/// above the horizon, looking from `yaw_deg` (0 = from the south, 90 = from the east).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct View {
    /// Point looked at.
    pub target: [f32; 3],
    /// Distance from the target.
    pub distance_m: f32,
    /// Elevation angle; 90 looks straight down.
    pub pitch_deg: f32,
    /// Azimuth of the camera around the target.
    pub yaw_deg: f32,
    /// Vertical field of view.
    pub fov_deg: f32,
}

impl View {
    /// An oblique view that frames `extent` (`[min_x, min_z, max_x, max_z]`, local metres)
    /// with buildings up to `max_height_m`, for an image of `aspect` = width / height.
    pub fn frame(extent: [f32; 4], max_height_m: f32, aspect: f32, pitch_deg: f32, yaw_deg: f32) -> View {
        let target = [(extent[0] + extent[2]) / 2.0, 0.0, (extent[1] + extent[3]) / 2.0];
        let mut v = View {
            target,
            distance_m: 1.0,
            pitch_deg,
            yaw_deg,
            fov_deg: 40.0,
        };
        // Fit exactly: every corner of the data's box must project inside the frame. In camera
        // axes (right, up, forward) a corner at (xr, yu, zf) from the target projects inside
        // when d + zf ≥ |xr| / tan(h/2) and d + zf ≥ |yu| / tan(v/2).
        let rot = v.pose().rotation;
        let (right, up, fwd) = (rot * Vec3::X, rot * Vec3::Y, rot * Vec3::NEG_Z);
        let tan_v = (v.fov_deg.to_radians() / 2.0).tan();
        let tan_h = tan_v * aspect;
        let t = Vec3::from(target);
        let mut d = 10.0f32;
        for x in [extent[0], extent[2]] {
            for z in [extent[1], extent[3]] {
                for y in [0.0, max_height_m] {
                    let c = Vec3::new(x, y, z) - t;
                    let need = (c.dot(right).abs() / tan_h).max(c.dot(up).abs() / tan_v) - c.dot(fwd);
                    d = d.max(need);
                }
            }
        }
        v.distance_m = d * 1.04;
        v
    }

    /// Straight down, north up.
    pub fn top_down(extent: [f32; 4], aspect: f32) -> View {
        let mut v = View::frame(extent, 0.0, aspect, 90.0, 0.0);
        let (w, d) = (extent[2] - extent[0], extent[3] - extent[1]);
        let half_v = (v.fov_deg.to_radians() / 2.0).tan();
        v.distance_m = ((d / 2.0) / half_v).max((w / 2.0) / (half_v * aspect)) * 1.02;
        v
    }

    /// The ray through pixel (`px`, `py`) of a `width × height` frame: origin and unit
    /// direction in local metres.
    pub fn ray(&self, px: f32, py: f32, width: u32, height: u32) -> (Vec3, Vec3) {
        let t = self.pose();
        let tan_v = (self.fov_deg.to_radians() / 2.0).tan();
        let aspect = width as f32 / height as f32;
        let ndc_x = (px + 0.5) / width as f32 * 2.0 - 1.0;
        let ndc_y = 1.0 - (py + 0.5) / height as f32 * 2.0;
        let dir = t.rotation * Vec3::new(ndc_x * tan_v * aspect, ndc_y * tan_v, -1.0);
        (t.translation, dir.normalize())
    }

    /// Where the ray through a pixel meets the ground (y = 0), as local (x east, z south).
    pub fn ground_point(&self, px: f32, py: f32, width: u32, height: u32) -> Option<[f32; 2]> {
        let (o, d) = self.ray(px, py, width, height);
        if d.y >= -1e-6 {
            return None;
        }
        let s = -o.y / d.y;
        let p = o + d * s;
        Some([p.x, p.z])
    }

    /// Where the ray through a pixel meets the drawn ground — the terrain when there is one
    /// (the first crossing along the ray, so a ridge hides what lies behind it), else y = 0 —
    /// as local (x east, z south).
    pub fn terrain_point(&self, px: f32, py: f32, width: u32, height: u32, ground: Option<&crate::terrain::Ground>) -> Option<[f32; 2]> {
        let Some(g) = ground else {
            return self.ground_point(px, py, width, height);
        };
        let (o, d) = self.ray(px, py, width, height);
        g.ray_hit(o.to_array(), d.to_array()).map(|p| [p[0], p[2]])
    }

    /// An oblique view framing a box of workspace coordinates (`[min_x, min_y, max_x, max_y]`,
    /// f64 metres, y north) grown by `margin_m` on every side; `origin` is the workspace origin.
    pub fn frame_world(
        origin: [f64; 2],
        bbox: [f64; 4],
        margin_m: f64,
        max_height_m: f32,
        aspect: f32,
        pitch_deg: f32,
        yaw_deg: f32,
    ) -> View {
        let grown = [bbox[0] - margin_m, bbox[1] - margin_m, bbox[2] + margin_m, bbox[3] + margin_m];
        let extent = LocalFrame::new(origin).extent_to_local(grown);
        View::frame(extent, max_height_m, aspect, pitch_deg, yaw_deg)
    }

    /// The pixel where a local point (x east, y up, z south) appears in a `width × height`
    /// frame; `None` behind the camera. The inverse of [`View::ray`].
    pub fn project(&self, p: [f32; 3], width: u32, height: u32) -> Option<[f32; 2]> {
        let t = self.pose();
        let c = t.rotation.inverse() * (Vec3::from(p) - t.translation);
        if c.z >= -1e-3 {
            return None;
        }
        let tan_v = (self.fov_deg.to_radians() / 2.0).tan();
        let aspect = width as f32 / height as f32;
        let (ndc_x, ndc_y) = (c.x / (-c.z * tan_v * aspect), c.y / (-c.z * tan_v));
        Some([(ndc_x + 1.0) / 2.0 * width as f32 - 0.5, (1.0 - ndc_y) / 2.0 * height as f32 - 0.5])
    }

    /// Metres covered by one pixel at the target, for pick tolerances and scale bars.
    pub fn metres_per_pixel(&self, height: u32) -> f32 {
        2.0 * self.distance_m * (self.fov_deg.to_radians() / 2.0).tan() / height as f32
    }

    /// The camera pose.
    pub fn pose(&self) -> Pose {
        let (p, y) = (self.pitch_deg.clamp(1.0, 89.99).to_radians(), self.yaw_deg.to_radians());
        let t = Vec3::from(self.target);
        // Yaw 0: camera south of the target (+z is south), looking north.
        let offset = Vec3::new(y.sin() * p.cos(), p.sin(), y.cos() * p.cos()) * self.distance_m;
        let up = if self.pitch_deg >= 89.99 { Vec3::NEG_Z } else { Vec3::Y };
        let eye = t + offset;
        Pose {
            translation: eye,
            rotation: look_to(t - eye, up),
        }
    }
}

/// The rotation of a camera looking along `dir` with `up` as near up as it can be (right-handed,
/// −z forward); `up` falls back to +z when it is parallel to `dir`.
fn look_to(dir: Vec3, up: Vec3) -> Quat {
    let back = -dir.normalize();
    let mut right = up.cross(back);
    if right.length_squared() < 1e-12 {
        right = Vec3::Z.cross(back);
    }
    let right = right.normalize();
    let up = back.cross(right);
    Quat::from_mat3(&Mat3::from_cols(right, up, back))
}

/// Why a frame could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The buffer does not hold `width × height` RGBA pixels.
    #[error("a {0}×{1} frame needs {2} bytes, the buffer has {3}")]
    Size(u32, u32, usize, usize),
    /// The PNG encoder failed.
    #[error("cannot encode the frame as PNG: {0}")]
    Png(String),
}

/// An RGBA8 frame, row-major, top row first.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 4` bytes.
    pub rgba: Vec<u8>,
}

impl Frame {
    /// Pixel at (x, y) as `[r, g, b, a]`.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        [self.rgba[i], self.rgba[i + 1], self.rgba[i + 2], self.rgba[i + 3]]
    }

    /// Encode as PNG.
    pub fn to_png(&self) -> Result<Vec<u8>, FrameError> {
        let need = self.width as usize * self.height as usize * 4;
        let img = image::RgbaImage::from_raw(self.width, self.height, self.rgba.clone()).ok_or(FrameError::Size(
            self.width,
            self.height,
            need,
            self.rgba.len(),
        ))?;
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)
            .map_err(|e| FrameError::Png(e.to_string()))?;
        Ok(out.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_inverts_the_pixel_ray() {
        let v = View {
            target: [120.0, 0.0, -340.0],
            distance_m: 800.0,
            pitch_deg: 35.0,
            yaw_deg: 70.0,
            fov_deg: 40.0,
        };
        for (px, py) in [(10.0, 20.0), (400.0, 300.0), (790.0, 590.0)] {
            let g = v.ground_point(px, py, 800, 600).unwrap();
            let back = v.project([g[0], 0.0, g[1]], 800, 600).unwrap();
            assert!((back[0] - px).abs() < 0.05 && (back[1] - py).abs() < 0.05, "{px},{py} → {back:?}");
        }
        // Behind the camera: nothing.
        let eye = v.pose().translation;
        let behind = eye + (eye - Vec3::from(v.target));
        assert!(v.project(behind.into(), 800, 600).is_none());
    }

    #[test]
    fn the_centre_pixel_looks_at_the_target() {
        let v = View {
            target: [120.0, 0.0, -340.0],
            distance_m: 800.0,
            pitch_deg: 40.0,
            yaw_deg: 30.0,
            fov_deg: 40.0,
        };
        let g = v.ground_point(399.5, 299.5, 800, 600).unwrap();
        assert!((g[0] - 120.0).abs() < 0.5 && (g[1] + 340.0).abs() < 0.5, "{g:?}");
        // Straight down, north up: a pixel above the centre is north (−z) of the target.
        let top = View {
            target: [0.0, 0.0, 0.0],
            distance_m: 1000.0,
            pitch_deg: 90.0,
            yaw_deg: 0.0,
            fov_deg: 40.0,
        };
        let n = top.ground_point(400.0, 100.0, 800, 600).unwrap();
        assert!(n[1] < -100.0 && n[0].abs() < 5.0, "{n:?}");
        let e = top.ground_point(700.0, 300.0, 800, 600).unwrap();
        assert!(e[0] > 100.0, "{e:?}");
    }

    #[test]
    fn local_frame_round_trips_and_puts_north_at_minus_z() {
        let f = LocalFrame::new([500_000.0, 3_400_000.0]);
        let [lx, lz] = f.to_local(500_012.5, 3_400_100.0);
        assert_eq!((lx, lz), (12.5, -100.0));
        assert_eq!(f.to_world(lx, lz), (500_012.5, 3_400_100.0));
        let e = f.extent_to_local([499_990.0, 3_399_980.0, 500_010.0, 3_400_050.0]);
        assert_eq!(e, [-10.0, -50.0, 10.0, 20.0]);
    }
}
