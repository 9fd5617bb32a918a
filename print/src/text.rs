//! Text in the bundled font (Noto Sans CJK SC, `assets/fonts/`, shared with the scene's labels):
//! one left-to-right line placed glyph by glyph here, so that the PDF and the PNG put every
//! glyph at the same place and layouts can measure text before drawing it.

use std::ops::Range;
use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, GlyphId, OutlineCurve};

static FONT: LazyLock<FontRef<'static>> = LazyLock::new(|| FontRef::try_from_slice(font_bytes()).expect("the bundled font parses"));

/// The font file's bytes.
pub fn font_bytes() -> &'static [u8] {
    jingwei_scene::overlay::font_bytes()
}

fn upem() -> f32 {
    FONT.units_per_em().unwrap_or(1000.0)
}

/// One placed glyph.
#[derive(Debug, Clone)]
pub struct Placed {
    /// Glyph id in the font.
    pub glyph: u16,
    /// Left edge of the glyph from the start of the line, in ems.
    pub x_em: f32,
    /// Advance, in ems.
    pub advance_em: f32,
    /// The bytes of the text it shows.
    pub text_range: Range<usize>,
}

/// The glyphs of one line of text, left to right.
pub fn layout(text: &str) -> Vec<Placed> {
    let u = upem();
    let mut x = 0.0;
    let mut out = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        let id = FONT.glyph_id(c);
        let advance_em = FONT.h_advance_unscaled(id) / u;
        out.push(Placed {
            glyph: id.0,
            x_em: x,
            advance_em,
            text_range: i..i + c.len_utf8(),
        });
        x += advance_em;
    }
    out
}

/// Width of a line of text at an em size, millimetres.
pub fn width_mm(text: &str, size_mm: f32) -> f32 {
    layout(text).iter().map(|g| g.advance_em).sum::<f32>() * size_mm
}

/// Whether the font has every (non-space) character of `text`.
pub fn has_glyphs(text: &str) -> bool {
    text.chars().filter(|c| !c.is_whitespace()).all(|c| FONT.glyph_id(c).0 != 0)
}

/// A glyph's outline as segments in ems, y down, relative to its origin on the baseline.
pub enum Segment {
    /// Start a contour.
    Move([f32; 2]),
    /// A straight segment to.
    Line([f32; 2]),
    /// A quadratic curve (control, to).
    Quad([f32; 2], [f32; 2]),
    /// A cubic curve (control, control, to).
    Cubic([f32; 2], [f32; 2], [f32; 2]),
}

/// The outline of glyph `id`, contours closed by their start (empty for blanks).
pub fn outline(id: u16) -> Vec<Segment> {
    let Some(o) = FONT.outline(GlyphId(id)) else { return Vec::new() };
    let u = upem();
    let p = |q: ab_glyph::Point| [q.x / u, -q.y / u];
    let mut out = Vec::with_capacity(o.curves.len() + 4);
    let mut last: Option<[f32; 2]> = None;
    for c in &o.curves {
        let (start, seg) = match *c {
            OutlineCurve::Line(a, b) => (p(a), Segment::Line(p(b))),
            OutlineCurve::Quad(a, b, c) => (p(a), Segment::Quad(p(b), p(c))),
            OutlineCurve::Cubic(a, b, c, d) => (p(a), Segment::Cubic(p(b), p(c), p(d))),
        };
        if last.is_none_or(|l| (l[0] - start[0]).abs() > 1e-6 || (l[1] - start[1]).abs() > 1e-6) {
            out.push(Segment::Move(start));
        }
        last = Some(match seg {
            Segment::Line(b) | Segment::Quad(_, b) | Segment::Cubic(_, _, b) => b,
            Segment::Move(b) => b,
        });
        out.push(seg);
    }
    out
}

/// Where a line of text starts for an anchor, millimetres.
pub fn start_x(at_x: f32, text: &str, size_mm: f32, anchor: crate::page::Anchor) -> f32 {
    match anchor {
        crate::page::Anchor::Start => at_x,
        crate::page::Anchor::Middle => at_x - width_mm(text, size_mm) / 2.0,
        crate::page::Anchor::End => at_x - width_mm(text, size_mm),
    }
}
