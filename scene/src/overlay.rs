//! Screen-space annotations drawn over a rendered frame: point symbols that keep their size at
//! any zoom, and labels in the bundled CJK font (Noto Sans CJK SC, `assets/fonts/`) with a white
//! halo. Placement is greedy by priority: every symbol in the frame is drawn, a label only where
//! it overlaps no symbol and no label placed before it (right of its symbol, else left, above or
//! below). The same code runs for the app's frames and for headless renders.

use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

use crate::view::{Frame, View};

static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/NotoSansCJKsc-Regular-subset.otf");
/// The bundled font (Noto Sans CJK SC, a subset; OFL), for whatever else draws text: printed
/// layouts embed it.
pub fn font_bytes() -> &'static [u8] {
    FONT_BYTES
}

static FONT: LazyLock<FontRef<'static>> = LazyLock::new(|| FontRef::try_from_slice(FONT_BYTES).expect("the bundled font parses"));

/// Label text size in pixels (the em: a CJK character is this wide).
pub const LABEL_PX: f32 = 13.0;

/// ab_glyph scales by ascent − descent; a CJK font's em is smaller than that.
fn scale_for(em_px: f32) -> PxScale {
    let upem = FONT.units_per_em().unwrap_or(1000.0);
    PxScale::from(em_px * FONT.height_unscaled() / upem)
}
/// Halo around label text, pixels.
const HALO_PX: i32 = 2;

/// Symbol outline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A disc.
    Circle,
    /// An upright square.
    Square,
    /// A square on its corner.
    Diamond,
    /// A triangle pointing up.
    Triangle,
}

/// A point symbol: shape, fill and size in pixels, with a white rim.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Symbol {
    /// Outline.
    pub shape: Shape,
    /// Fill, sRGB.
    pub color: [u8; 3],
    /// Width in pixels.
    pub size_px: f32,
}

/// Something to draw at a point of the scene: a symbol, a label, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// Local metres (x east, y up, z south), as the meshes.
    pub anchor: [f32; 3],
    /// Symbol drawn at the anchor.
    pub symbol: Option<Symbol>,
    /// Label text.
    pub text: Option<String>,
    /// Higher first when labels compete for room.
    pub priority: f32,
    /// The layer it belongs to.
    pub layer_id: String,
}

/// Where an annotation went in a frame (pixel boxes `[x0, y0, x1, y1]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// Index into the annotations.
    pub index: usize,
    /// The anchor's pixel.
    pub at: [f32; 2],
    /// The symbol's box, when it has one.
    pub symbol_box: Option<[f32; 4]>,
    /// The label's box, when it was placed.
    pub label_box: Option<[f32; 4]>,
}

/// Whether the bundled font has a glyph for every character of `text` (spaces aside).
pub fn has_glyphs(text: &str) -> bool {
    text.chars().filter(|c| !c.is_whitespace()).all(|c| FONT.glyph_id(c).0 != 0)
}

/// Width of `text` at `px` pixels.
pub fn text_width(text: &str, px: f32) -> f32 {
    let f = FONT.as_scaled(scale_for(px));
    let mut w = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            w += f.kern(p, id);
        }
        w += f.h_advance(id);
        prev = Some(id);
    }
    w
}

fn overlaps(a: &[f32; 4], b: &[f32; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// Place `anns` in a `width × height` frame seen through `view`.
pub fn place(anns: &[Annotation], view: &View, width: u32, height: u32) -> Vec<Placed> {
    let (w, h) = (width as f32, height as f32);
    let mut order: Vec<usize> = (0..anns.len()).collect();
    order.sort_by(|a, b| anns[*b].priority.total_cmp(&anns[*a].priority));
    let mut placed: Vec<Placed> = Vec::new();
    for &i in &order {
        let a = &anns[i];
        let Some(at) = view.project(a.anchor, width, height) else {
            continue;
        };
        if at[0] < -50.0 || at[1] < -50.0 || at[0] > w + 50.0 || at[1] > h + 50.0 {
            continue;
        }
        let symbol_box = a.symbol.map(|s| {
            let r = s.size_px / 2.0 + 1.5;
            [at[0] - r, at[1] - r, at[0] + r, at[1] + r]
        });
        placed.push(Placed {
            index: i,
            at,
            symbol_box,
            label_box: None,
        });
    }
    let symbols: Vec<[f32; 4]> = placed.iter().filter_map(|p| p.symbol_box).collect();
    let mut labels: Vec<[f32; 4]> = Vec::new();
    for p in &mut placed {
        let Some(text) = anns[p.index].text.as_deref().filter(|t| !t.trim().is_empty()) else {
            continue;
        };
        let tw = text_width(text, LABEL_PX) + 2.0 * HALO_PX as f32;
        let th = LABEL_PX * 1.25 + 2.0 * HALO_PX as f32;
        let gap = p.symbol_box.map_or(2.0, |b| (b[2] - b[0]) / 2.0 + 2.0);
        let [x, y] = p.at;
        let candidates = [
            [x + gap, y - th / 2.0, x + gap + tw, y + th / 2.0],
            [x - gap - tw, y - th / 2.0, x - gap, y + th / 2.0],
            [x - tw / 2.0, y - gap - th, x + tw / 2.0, y - gap],
            [x - tw / 2.0, y + gap, x + tw / 2.0, y + gap + th],
        ];
        let own = p.symbol_box;
        let fits = |b: &[f32; 4]| {
            b[0] >= 0.0
                && b[1] >= 0.0
                && b[2] <= w
                && b[3] <= h
                && !labels.iter().any(|l| overlaps(l, b))
                && !symbols.iter().any(|s| Some(*s) != own && overlaps(s, b))
        };
        if let Some(b) = candidates.into_iter().find(|b| fits(b)) {
            labels.push(b);
            p.label_box = Some(b);
        }
    }
    placed
}

/// Draw `anns` over `frame` (seen through `view`); returns where they went.
pub fn draw(frame: &mut Frame, anns: &[Annotation], view: &View) -> Vec<Placed> {
    let placed = place(anns, view, frame.width, frame.height);
    for p in &placed {
        if let Some(s) = anns[p.index].symbol {
            draw_symbol(frame, p.at, &s);
        }
    }
    for p in &placed {
        if let (Some(b), Some(text)) = (p.label_box, anns[p.index].text.as_deref()) {
            draw_text(frame, [b[0] + HALO_PX as f32, b[1] + HALO_PX as f32], text, [30, 41, 59]);
        }
    }
    placed
}

/// Blend `rgb` with coverage `a` (0–1) into pixel (x, y).
fn blend(frame: &mut Frame, x: i32, y: i32, rgb: [u8; 3], a: f32) {
    if a <= 0.0 || x < 0 || y < 0 || x >= frame.width as i32 || y >= frame.height as i32 {
        return;
    }
    let a = a.min(1.0);
    let i = ((y as u32 * frame.width + x as u32) * 4) as usize;
    for k in 0..3 {
        let d = f32::from(frame.rgba[i + k]);
        frame.rgba[i + k] = (d + (f32::from(rgb[k]) - d) * a).round() as u8;
    }
    frame.rgba[i + 3] = 255;
}

/// Signed distance (pixels, negative inside) from (dx, dy) to a shape of half-size `r`.
fn shape_distance(shape: Shape, dx: f32, dy: f32, r: f32) -> f32 {
    match shape {
        Shape::Circle => (dx * dx + dy * dy).sqrt() - r,
        Shape::Square => dx.abs().max(dy.abs()) - r * 0.86,
        Shape::Diamond => (dx.abs() + dy.abs()) / std::f32::consts::SQRT_2 - r * 0.8,
        Shape::Triangle => {
            // Upright equilateral triangle, centred: the three edge half-planes.
            let k = 3f32.sqrt();
            let base = dy - r * 0.6;
            let left = (-k * dx - dy) / 2.0 - r * 0.6;
            let right = (k * dx - dy) / 2.0 - r * 0.6;
            base.max(left).max(right)
        }
    }
}

fn draw_symbol(frame: &mut Frame, at: [f32; 2], s: &Symbol) {
    let r = s.size_px / 2.0;
    let reach = (r + 3.0).ceil() as i32;
    let (cx, cy) = (at[0], at[1]);
    for y in (cy as i32 - reach)..=(cy as i32 + reach) {
        for x in (cx as i32 - reach)..=(cx as i32 + reach) {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let d = shape_distance(s.shape, dx, dy, r);
            // A white rim 1.5 px wide, then the fill, both anti-aliased over one pixel.
            blend(frame, x, y, [255, 255, 255], (1.5 - d + 0.5).clamp(0.0, 1.0));
            blend(frame, x, y, s.color, (0.5 - d).clamp(0.0, 1.0));
        }
    }
}

/// A label rasterised once: text coverage and halo coverage, `w × h`, with its top-left `pad`
/// pixels up and left of the text box.
struct LabelBitmap {
    w: i32,
    h: i32,
    pad: i32,
    cov: Vec<u8>,
    halo: Vec<u8>,
}

/// Labels already rasterised, by text: a camera move only blends them again.
static LABELS: LazyLock<std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<LabelBitmap>>>> = LazyLock::new(Default::default);

fn rasterise(text: &str) -> LabelBitmap {
    let scale = scale_for(LABEL_PX);
    let f = FONT.as_scaled(scale);
    let pad = HALO_PX + 1;
    let bw = (text_width(text, LABEL_PX).ceil() as i32) + 2 * pad;
    let bh = (LABEL_PX * 1.25).ceil() as i32 + 2 * pad;
    let mut cov = vec![0f32; (bw * bh) as usize];
    // The text box is 1.25 em tall; ascent and descent share it as they share the font's height.
    let baseline = pad as f32 + f.ascent() * (LABEL_PX * 1.25) / (f.ascent() - f.descent());
    let mut x = pad as f32;
    let mut prev = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            x += f.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(x, baseline));
        if let Some(og) = FONT.outline_glyph(glyph) {
            let b = og.px_bounds();
            og.draw(|gx, gy, c| {
                let (px, py) = (b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32);
                if px >= 0 && py >= 0 && px < bw && py < bh {
                    let k = (py * bw + px) as usize;
                    cov[k] = (cov[k] + c).min(1.0);
                }
            });
        }
        x += f.h_advance(id);
        prev = Some(id);
    }
    // The halo: coverage grown by HALO_PX (a round brush).
    let mut halo = vec![0u8; cov.len()];
    for y in 0..bh {
        for x in 0..bw {
            let mut m: f32 = 0.0;
            for dy in -HALO_PX..=HALO_PX {
                for dx in -HALO_PX..=HALO_PX {
                    if dx * dx + dy * dy > HALO_PX * HALO_PX + 1 {
                        continue;
                    }
                    let (sx, sy) = (x + dx, y + dy);
                    if sx >= 0 && sy >= 0 && sx < bw && sy < bh {
                        m = m.max(cov[(sy * bw + sx) as usize]);
                    }
                }
            }
            halo[(y * bw + x) as usize] = ((m * 1.6).min(0.92) * 255.0).round() as u8;
        }
    }
    LabelBitmap {
        w: bw,
        h: bh,
        pad,
        cov: cov.iter().map(|c| (c * 255.0).round() as u8).collect(),
        halo,
    }
}

/// Draw `text` with its top-left at `at`, dark on a white halo.
fn draw_text(frame: &mut Frame, at: [f32; 2], text: &str, rgb: [u8; 3]) {
    let bitmap = {
        let mut cache = LABELS.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 8192 {
            cache.clear();
        }
        cache
            .entry(text.to_string())
            .or_insert_with(|| std::sync::Arc::new(rasterise(text)))
            .clone()
    };
    let (ox, oy) = (at[0].round() as i32 - bitmap.pad, at[1].round() as i32 - bitmap.pad);
    for y in 0..bitmap.h {
        for x in 0..bitmap.w {
            let k = (y * bitmap.w + x) as usize;
            if bitmap.halo[k] > 0 {
                blend(frame, ox + x, oy + y, [255, 255, 255], f32::from(bitmap.halo[k]) / 255.0);
            }
            if bitmap.cov[k] > 0 {
                blend(frame, ox + x, oy + y, rgb, f32::from(bitmap.cov[k]) / 255.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_font_draws_chinese_and_latin() {
        assert!(has_glyphs("上海东方医院 应急避难场所 Lujiazui 123"));
        // A character outside the subset has no glyph (it would draw as a box).
        assert!(!has_glyphs("𠀀"));
        let w1 = text_width("医", LABEL_PX);
        assert!((w1 - LABEL_PX).abs() < 1.0, "a CJK glyph is one em wide: {w1}");
        assert!(text_width("ab", LABEL_PX) < text_width("医院", LABEL_PX));
    }

    #[test]
    fn labels_do_not_overlap_and_symbols_are_all_drawn() {
        let view = View {
            target: [0.0, 0.0, 0.0],
            distance_m: 500.0,
            pitch_deg: 90.0,
            yaw_deg: 0.0,
            fov_deg: 40.0,
        };
        // A tight cluster: symbols everywhere, labels only where there is room.
        let anns: Vec<Annotation> = (0..40)
            .map(|i| Annotation {
                anchor: [(i % 8) as f32 * 6.0, 0.0, (i / 8) as f32 * 6.0],
                symbol: Some(Symbol {
                    shape: Shape::Circle,
                    color: [220, 38, 38],
                    size_px: 10.0,
                }),
                text: Some(format!("应急避难场所{i}")),
                priority: i as f32,
                layer_id: "t".into(),
            })
            .collect();
        let mut frame = Frame {
            width: 400,
            height: 300,
            rgba: vec![238; 400 * 300 * 4],
        };
        let placed = draw(&mut frame, &anns, &view);
        assert_eq!(placed.len(), 40);
        let labels: Vec<[f32; 4]> = placed.iter().filter_map(|p| p.label_box).collect();
        assert!(!labels.is_empty() && labels.len() < 40, "{} labels", labels.len());
        for (i, a) in labels.iter().enumerate() {
            for b in &labels[i + 1..] {
                assert!(!overlaps(a, b), "{a:?} {b:?}");
            }
        }
        // The highest priority label is among those placed.
        assert!(placed.iter().any(|p| p.index == 39 && p.label_box.is_some()));
        // Text is dark on a light halo inside a placed label's box.
        let b = labels[0];
        let (mut dark, mut white) = (0, 0);
        for y in b[1] as u32..b[3] as u32 {
            for x in b[0] as u32..b[2] as u32 {
                let p = frame.pixel(x, y);
                dark += usize::from(p[0] < 90 && p[2] < 110);
                white += usize::from(p[0] > 250 && p[1] > 250);
            }
        }
        assert!(dark > 20 && white > 20, "dark {dark}, white {white}");
    }
}
