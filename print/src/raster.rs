//! Pages as pixels: the same items as [`crate::pdf`] drawn by tiny-skia (glyphs from their
//! outlines), written as PNG with the resolution recorded (`pHYs`).

use tiny_skia::{FillRule, LineCap, LineJoin, Mask, Paint, PathBuilder, Pixmap, PixmapPaint, Stroke, StrokeDash, Transform};

use crate::page::{Item, Page, Rgba};
use crate::text::Segment;
use crate::{PrintError, Result};

/// The most pixels a page may have (an A3 page at 600 dpi).
pub const MAX_PIXELS: u64 = 7016 * 9921;

fn paint(c: Rgba) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(
        tiny_skia::Color::from_rgba(
            c[0].clamp(0.0, 1.0),
            c[1].clamp(0.0, 1.0),
            c[2].clamp(0.0, 1.0),
            c[3].clamp(0.0, 1.0),
        )
        .unwrap_or(tiny_skia::Color::BLACK),
    );
    p.anti_alias = true;
    p
}

/// Pixels across and down for a page at `dpi`.
pub fn size_px(page: &Page, dpi: f32) -> (u32, u32) {
    (
        (page.width_mm / 25.4 * dpi).round() as u32,
        (page.height_mm / 25.4 * dpi).round() as u32,
    )
}

/// Draw a page at `dpi` on white.
pub fn draw(page: &Page, dpi: f32) -> Result<Pixmap> {
    let (w, h) = size_px(page, dpi);
    if w == 0 || h == 0 || u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(PrintError::Write(format!("{w} × {h} pixels at {dpi} dpi: too large or empty")));
    }
    let mut pm = Pixmap::new(w, h).ok_or_else(|| PrintError::Write(format!("no memory for {w} × {h} pixels")))?;
    pm.fill(tiny_skia::Color::WHITE);
    let k = dpi / 25.4;
    let ts = Transform::from_scale(k, k);
    let mut clips: Vec<Mask> = Vec::new();
    for item in &page.items {
        let mask = clips.last();
        match item {
            Item::Path {
                parts,
                closed,
                fill,
                stroke,
            } => {
                let mut pb = PathBuilder::new();
                for p in parts.iter().filter(|p| p.len() >= 2) {
                    pb.move_to(p[0][0], p[0][1]);
                    for q in &p[1..] {
                        pb.line_to(q[0], q[1]);
                    }
                    if *closed {
                        pb.close();
                    }
                }
                let Some(path) = pb.finish() else { continue };
                if let Some(f) = fill {
                    pm.fill_path(&path, &paint(*f), FillRule::EvenOdd, ts, mask);
                }
                if let Some(st) = stroke {
                    let s = Stroke {
                        width: st.width_mm,
                        line_cap: LineCap::Butt,
                        line_join: LineJoin::Round,
                        miter_limit: 4.0,
                        dash: (!st.dash_mm.is_empty()).then(|| StrokeDash::new(st.dash_mm.clone(), 0.0)).flatten(),
                    };
                    pm.stroke_path(&path, &paint(st.colour), &s, ts, mask);
                }
            }
            Item::Text {
                at,
                size_mm,
                text,
                colour,
                anchor,
            } => {
                let x0 = crate::text::start_x(at[0], text, *size_mm, *anchor);
                let mut pb = PathBuilder::new();
                for g in crate::text::layout(text) {
                    let gx = x0 + g.x_em * size_mm;
                    let p = |q: [f32; 2]| (gx + q[0] * size_mm, at[1] + q[1] * size_mm);
                    for seg in crate::text::outline(g.glyph) {
                        match seg {
                            Segment::Move(a) => {
                                let (x, y) = p(a);
                                pb.move_to(x, y);
                            }
                            Segment::Line(a) => {
                                let (x, y) = p(a);
                                pb.line_to(x, y);
                            }
                            Segment::Quad(c, a) => {
                                let ((cx, cy), (x, y)) = (p(c), p(a));
                                pb.quad_to(cx, cy, x, y);
                            }
                            Segment::Cubic(c1, c2, a) => {
                                let ((ax, ay), (bx, by), (x, y)) = (p(c1), p(c2), p(a));
                                pb.cubic_to(ax, ay, bx, by, x, y);
                            }
                        }
                    }
                }
                if let Some(path) = pb.finish() {
                    pm.fill_path(&path, &paint(*colour), FillRule::Winding, ts, mask);
                }
            }
            Item::Image { rect, width, height, rgba } => {
                let n = (*width as usize) * (*height as usize) * 4;
                if rgba.len() != n || *width == 0 || *height == 0 {
                    continue;
                }
                // tiny-skia wants premultiplied pixels.
                let mut data = rgba.to_vec();
                for p in data.chunks_exact_mut(4) {
                    let a = u16::from(p[3]);
                    for c in &mut p[..3] {
                        *c = ((u16::from(*c) * a + 127) / 255) as u8;
                    }
                }
                let Some(img) = tiny_skia::IntSize::from_wh(*width, *height).and_then(|s| Pixmap::from_vec(data, s)) else {
                    continue;
                };
                let t = ts
                    .pre_translate(rect[0], rect[1])
                    .pre_scale(rect[2] / *width as f32, rect[3] / *height as f32);
                let pp = PixmapPaint {
                    quality: tiny_skia::FilterQuality::Bilinear,
                    ..PixmapPaint::default()
                };
                pm.draw_pixmap(0, 0, img.as_ref(), &pp, t, mask);
            }
            Item::Clip(r) => {
                let mut m = Mask::new(w, h).ok_or_else(|| PrintError::Write("no memory for a clip".into()))?;
                if let Some(rect) = tiny_skia::Rect::from_xywh(r[0], r[1], r[2], r[3]) {
                    m.fill_path(&PathBuilder::from_rect(rect), FillRule::Winding, false, ts);
                }
                if let Some(outer) = clips.last() {
                    // Inside both.
                    let (a, b) = (m.data_mut(), outer.data());
                    for (x, y) in a.iter_mut().zip(b) {
                        *x = ((u16::from(*x) * u16::from(*y)) / 255) as u8;
                    }
                }
                clips.push(m);
            }
            Item::Unclip => {
                clips.pop();
            }
        }
    }
    Ok(pm)
}

/// A page at `dpi` as PNG (RGB, the resolution in `pHYs`).
pub fn write_png(page: &Page, dpi: f32) -> Result<Vec<u8>> {
    let pm = draw(page, dpi)?;
    let (w, h) = (pm.width(), pm.height());
    // White page: the premultiplied pixels are opaque, so they are the colours.
    let rgb: Vec<u8> = pm.data().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let ppm = (dpi / 0.0254).round() as u32;
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: ppm,
            yppu: ppm,
            unit: png::Unit::Meter,
        }));
        let mut wr = enc.write_header().map_err(|e| PrintError::Write(e.to_string()))?;
        wr.write_image_data(&rgb).map_err(|e| PrintError::Write(e.to_string()))?;
    }
    Ok(out)
}
