//! Comparison views, without an engine: how one frame is shared among the scenes compared —
//! a swipe (卷帘) that shows scene A on one side of a divider and scene B on the other, both
//! seen through the same camera, or a split screen of two or four panes, each with a camera of
//! its own, linked to the same centre (and scale, unless a pane zooms by a factor).

use serde::{Deserialize, Serialize};

use crate::view::{Frame, View};

/// How the frame is shared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "mode", rename_all = "snake_case")]
#[ts(export_to = "api.gen.ts")]
pub enum Compare {
    /// Scene 0 left of (or above) the divider, scene 1 right of (or below) it.
    Swipe {
        /// A vertical divider (left | right); else horizontal (top / bottom).
        vertical: bool,
        /// Where the divider is, 0–1 across (or down) the frame.
        position: f32,
    },
    /// Two panes side by side, or four in a 2 × 2 grid, pane `i` showing scene `i`.
    Split {
        /// 2 or 4.
        panes: u8,
        /// Per pane, how much closer than the shared view it looks (1: centre and scale linked;
        /// another factor: only the centre). Missing entries are 1.
        #[serde(default)]
        zoom: Vec<f32>,
    },
}

impl Compare {
    /// How many scenes it compares.
    pub fn scenes(&self) -> usize {
        match self {
            Compare::Swipe { .. } => 2,
            Compare::Split { panes, .. } => usize::from(*panes),
        }
    }

    /// Check the numbers.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Compare::Swipe { position, .. } if !(0.0..=1.0).contains(position) => {
                Err(format!("a swipe divider at {position}: give 0 to 1"))
            }
            Compare::Split { panes, .. } if *panes != 2 && *panes != 4 => Err(format!("{panes} panes: give 2 or 4")),
            Compare::Split { zoom, .. } if zoom.iter().any(|z| !(0.01..=100.0).contains(z)) => {
                Err("a pane's zoom: give 0.01 to 100".into())
            }
            _ => Ok(()),
        }
    }
}

/// One part of the frame: which scene, where, seen how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pane {
    /// The scene (0 = A, 1 = B, …).
    pub slot: usize,
    /// `[x, y, width, height]` in frame pixels.
    pub rect: [u32; 4],
    /// For a swipe, the whole frame this pane is a part of (the camera sees that frame and
    /// the pane shows its own rectangle of it); `None` for a pane with a camera of its own.
    pub full: Option<(u32, u32)>,
    /// The camera.
    pub view: View,
}

/// The panes of `compare` in a `width × height` frame seen through `view`. Panes of no size
/// (a divider at an edge) are left out.
pub fn panes(compare: &Compare, view: &View, width: u32, height: u32) -> Vec<Pane> {
    let mut out = Vec::new();
    match compare {
        Compare::Swipe { vertical, position } => {
            let p = position.clamp(0.0, 1.0);
            let (a, b) = if *vertical {
                let d = (p * width as f32).round() as u32;
                ([0, 0, d, height], [d, 0, width - d, height])
            } else {
                let d = (p * height as f32).round() as u32;
                ([0, 0, width, d], [0, d, width, height - d])
            };
            for (slot, rect) in [(0, a), (1, b)] {
                out.push(Pane {
                    slot,
                    rect,
                    full: Some((width, height)),
                    view: *view,
                });
            }
        }
        Compare::Split { panes, zoom } => {
            let (cols, rows) = if *panes == 4 { (2, 2) } else { (2, 1) };
            for i in 0..usize::from(*panes) {
                let (c, r) = ((i % cols) as u32, (i / cols) as u32);
                let (x0, x1) = (width * c / cols as u32, width * (c + 1) / cols as u32);
                let (y0, y1) = (height * r / rows as u32, height * (r + 1) / rows as u32);
                let z = zoom.get(i).copied().unwrap_or(1.0).clamp(0.01, 100.0);
                out.push(Pane {
                    slot: i,
                    rect: [x0, y0, x1 - x0, y1 - y0],
                    full: None,
                    view: View {
                        distance_m: view.distance_m / z,
                        ..*view
                    },
                });
            }
        }
    }
    out.retain(|p| p.rect[2] > 0 && p.rect[3] > 0);
    out
}

/// Draw the dividers between panes: a 2-pixel line, white with dark edges.
pub fn draw_dividers(frame: &mut Frame, panes: &[Pane]) {
    let (w, h) = (frame.width, frame.height);
    let mut put = |x: i64, y: i64, c: [u8; 3]| {
        if x >= 0 && y >= 0 && x < i64::from(w) && y < i64::from(h) {
            let i = ((y as u32 * w + x as u32) * 4) as usize;
            frame.rgba[i..i + 3].copy_from_slice(&c);
            frame.rgba[i + 3] = 255;
        }
    };
    for p in panes {
        let [x, y, pw, ph] = p.rect.map(i64::from);
        // The left and top edges of every pane not at the frame's edge.
        if x > 0 {
            for yy in y..y + ph {
                put(x - 1, yy, [255, 255, 255]);
                put(x, yy, [255, 255, 255]);
                put(x - 2, yy, [51, 65, 85]);
                put(x + 1, yy, [51, 65, 85]);
            }
        }
        if y > 0 {
            for xx in x..x + pw {
                put(xx, y - 1, [255, 255, 255]);
                put(xx, y, [255, 255, 255]);
                put(xx, y - 2, [51, 65, 85]);
                put(xx, y + 1, [51, 65, 85]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> View {
        View {
            target: [0.0, 0.0, 0.0],
            distance_m: 1000.0,
            pitch_deg: 90.0,
            yaw_deg: 0.0,
            fov_deg: 40.0,
        }
    }

    #[test]
    fn dividers_at_any_position_stay_in_the_frame() {
        for (w, h) in [(1u32, 1u32), (2, 3), (60, 40), (641, 479)] {
            for position in [0.0, 0.001, 0.01, 0.02, 0.5, 0.99, 0.999, 1.0] {
                for vertical in [true, false] {
                    let ps = panes(&Compare::Swipe { vertical, position }, &view(), w, h);
                    let area: u32 = ps.iter().map(|p| p.rect[2] * p.rect[3]).sum();
                    assert_eq!(area, w * h, "{w}×{h} at {position}: the panes cover the frame once");
                    let mut f = Frame {
                        width: w,
                        height: h,
                        rgba: vec![0; (w * h * 4) as usize],
                    };
                    draw_dividers(&mut f, &ps);
                }
            }
            for n in [2u8, 4] {
                let ps = panes(&Compare::Split { panes: n, zoom: vec![] }, &view(), w, h);
                let mut f = Frame {
                    width: w,
                    height: h,
                    rgba: vec![0; (w * h * 4) as usize],
                };
                draw_dividers(&mut f, &ps);
            }
        }
    }
}
