//! Pages as a PDF: map features and page furniture as vector paths, imagery as pictures, text in
//! the bundled font embedded as a subset (so the file prints the same on any machine).

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, LineCap, LineJoin, Stroke, StrokeDash};
use krilla::text::{Font, GlyphId, KrillaGlyph};

use crate::page::{Item, Page, Rgba};
use crate::{PrintError, Result};

/// Points per millimetre.
pub const PT_PER_MM: f32 = 72.0 / 25.4;

fn colour(c: Rgba) -> (rgb::Color, NormalizedF32) {
    let b = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    (
        rgb::Color::new(b(c[0]), b(c[1]), b(c[2])),
        NormalizedF32::new(c[3].clamp(0.0, 1.0)).unwrap_or(NormalizedF32::ONE),
    )
}

fn path(parts: &[Vec<[f32; 2]>], closed: bool) -> Option<krilla::geom::Path> {
    let mut pb = PathBuilder::new();
    for p in parts.iter().filter(|p| p.len() >= 2) {
        pb.move_to(p[0][0], p[0][1]);
        for q in &p[1..] {
            pb.line_to(q[0], q[1]);
        }
        if closed {
            pb.close();
        }
    }
    pb.finish()
}

/// The pages as one PDF document titled `title`.
pub fn write(pages: &[Page], title: &str) -> Result<Vec<u8>> {
    let font =
        Font::new(crate::text::font_bytes().into(), 0).ok_or_else(|| PrintError::Write("the bundled font cannot be embedded".into()))?;
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(title.to_string())
            .creator(format!("Jingwei {}", env!("CARGO_PKG_VERSION")))
            .producer("krilla".into()),
    );
    for page in pages {
        let size = (page.width_mm * PT_PER_MM, page.height_mm * PT_PER_MM);
        let settings = PageSettings::from_wh(size.0, size.1)
            .ok_or_else(|| PrintError::Write(format!("a page of {} × {} mm", page.width_mm, page.height_mm)))?;
        let mut p = doc.start_page_with(settings);
        let mut s = p.surface();
        s.push_transform(&Transform::from_scale(PT_PER_MM, PT_PER_MM));
        let mut clips = 0;
        for item in &page.items {
            match item {
                Item::Path {
                    parts,
                    closed,
                    fill,
                    stroke,
                } => {
                    let Some(path) = path(parts, *closed) else { continue };
                    s.set_fill(fill.map(|f| {
                        let (c, o) = colour(f);
                        Fill {
                            paint: c.into(),
                            opacity: o,
                            rule: FillRule::EvenOdd,
                        }
                    }));
                    s.set_stroke(stroke.as_ref().map(|st| {
                        let (c, o) = colour(st.colour);
                        Stroke {
                            paint: c.into(),
                            width: st.width_mm,
                            miter_limit: 4.0,
                            line_cap: LineCap::Butt,
                            line_join: LineJoin::Round,
                            opacity: o,
                            dash: (!st.dash_mm.is_empty()).then(|| StrokeDash {
                                array: st.dash_mm.clone(),
                                offset: 0.0,
                            }),
                        }
                    }));
                    s.draw_path(&path);
                }
                Item::Text {
                    at,
                    size_mm,
                    text,
                    colour: c,
                    anchor,
                } => {
                    let glyphs: Vec<KrillaGlyph> = crate::text::layout(text)
                        .into_iter()
                        .map(|g| KrillaGlyph {
                            glyph_id: GlyphId::new(u32::from(g.glyph)),
                            text_range: g.text_range,
                            x_advance: g.advance_em,
                            x_offset: 0.0,
                            y_offset: 0.0,
                            y_advance: 0.0,
                            location: None,
                        })
                        .collect();
                    let (c, o) = colour(*c);
                    s.set_fill(Some(Fill {
                        paint: c.into(),
                        opacity: o,
                        rule: FillRule::NonZero,
                    }));
                    s.set_stroke(None);
                    let x = crate::text::start_x(at[0], text, *size_mm, *anchor);
                    s.draw_glyphs(Point::from_xy(x, at[1]), &glyphs, font.clone(), text, *size_mm, false);
                }
                Item::Image { rect, width, height, rgba } => {
                    let (Some(sz), true) = (
                        Size::from_wh(rect[2], rect[3]),
                        rgba.len() == (*width as usize) * (*height as usize) * 4,
                    ) else {
                        continue;
                    };
                    s.push_transform(&Transform::from_translate(rect[0], rect[1]));
                    s.draw_image(Image::from_rgba8(rgba.to_vec(), *width, *height), sz);
                    s.pop();
                }
                Item::Clip(r) => {
                    let mut pb = PathBuilder::new();
                    if let Some(rect) = Rect::from_xywh(r[0], r[1], r[2], r[3]) {
                        pb.push_rect(rect);
                    }
                    if let Some(clip) = pb.finish() {
                        s.push_clip_path(&clip, &FillRule::NonZero);
                        clips += 1;
                    }
                }
                Item::Unclip => {
                    if clips > 0 {
                        s.pop();
                        clips -= 1;
                    }
                }
            }
        }
        for _ in 0..clips {
            s.pop();
        }
        s.pop();
        s.finish();
        p.finish();
    }
    doc.finish().map_err(|e| PrintError::Write(format!("{e:?}")))
}
