//! A page as a list of drawing items in millimetres from its top-left corner (y down), the one
//! description that both writers ([`crate::pdf`], [`crate::raster`]) draw.

use std::sync::Arc;

/// RGBA, sRGB components in 0–1 (as the scene's styles give them).
pub type Rgba = [f32; 4];

/// Black.
pub const BLACK: Rgba = [0.0, 0.0, 0.0, 1.0];
/// White.
pub const WHITE: Rgba = [1.0, 1.0, 1.0, 1.0];

/// A line's colour and width.
#[derive(Debug, Clone, PartialEq)]
pub struct Stroke {
    /// Colour.
    pub colour: Rgba,
    /// Width on paper, millimetres.
    pub width_mm: f32,
    /// Dash and gap lengths, millimetres (none: solid).
    pub dash_mm: Vec<f32>,
}

impl Stroke {
    /// A solid line.
    pub fn solid(colour: Rgba, width_mm: f32) -> Stroke {
        Stroke {
            colour,
            width_mm,
            dash_mm: Vec::new(),
        }
    }
}

/// Where a text's anchor point lies on its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The anchor is the text's left end.
    Start,
    /// The anchor is its middle.
    Middle,
    /// The anchor is its right end.
    End,
}

/// One thing drawn on a page.
#[derive(Debug, Clone)]
pub enum Item {
    /// Polylines or rings (page millimetres); filled by the even-odd rule when `fill` is given,
    /// so holes stay open.
    Path {
        /// The parts.
        parts: Vec<Vec<[f32; 2]>>,
        /// Whether each part is a closed ring.
        closed: bool,
        /// Fill colour.
        fill: Option<Rgba>,
        /// Outline.
        stroke: Option<Stroke>,
    },
    /// One line of text in the bundled font.
    Text {
        /// The anchor on the baseline, millimetres.
        at: [f32; 2],
        /// The em size, millimetres.
        size_mm: f32,
        /// The text.
        text: String,
        /// Colour.
        colour: Rgba,
        /// Where `at` lies on the text.
        anchor: Anchor,
    },
    /// A picture filling a rectangle.
    Image {
        /// `[x, y, width, height]`, millimetres.
        rect: [f32; 4],
        /// Pixels across.
        width: u32,
        /// Pixels down.
        height: u32,
        /// `width × height × 4` bytes, straight alpha, rows from the top.
        rgba: Arc<Vec<u8>>,
    },
    /// From here on, draw only inside `[x, y, width, height]` (millimetres)…
    Clip([f32; 4]),
    /// …until here.
    Unclip,
}

/// One page.
#[derive(Debug, Clone)]
pub struct Page {
    /// Width, millimetres.
    pub width_mm: f32,
    /// Height, millimetres.
    pub height_mm: f32,
    /// Items, bottom first.
    pub items: Vec<Item>,
}

impl Page {
    /// An empty page.
    pub fn new(width_mm: f32, height_mm: f32) -> Page {
        Page {
            width_mm,
            height_mm,
            items: Vec::new(),
        }
    }

    /// A rectangle `[x, y, width, height]`.
    pub fn rect(&mut self, r: [f32; 4], fill: Option<Rgba>, stroke: Option<Stroke>) {
        let [x, y, w, h] = r;
        self.items.push(Item::Path {
            parts: vec![vec![[x, y], [x + w, y], [x + w, y + h], [x, y + h]]],
            closed: true,
            fill,
            stroke,
        });
    }

    /// A straight line.
    pub fn line(&mut self, a: [f32; 2], b: [f32; 2], stroke: Stroke) {
        self.items.push(Item::Path {
            parts: vec![vec![a, b]],
            closed: false,
            fill: None,
            stroke: Some(stroke),
        });
    }

    /// A line of black text.
    pub fn text(&mut self, at: [f32; 2], size_mm: f32, text: impl Into<String>, anchor: Anchor) {
        self.text_in(at, size_mm, text, BLACK, anchor);
    }

    /// A line of text in a colour.
    pub fn text_in(&mut self, at: [f32; 2], size_mm: f32, text: impl Into<String>, colour: Rgba, anchor: Anchor) {
        let text = text.into();
        if !text.trim().is_empty() {
            self.items.push(Item::Text {
                at,
                size_mm,
                text,
                colour,
                anchor,
            });
        }
    }
}
