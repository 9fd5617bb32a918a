//! Pages composed from a template: the map sheet (map at scale, title, legend, scale bar, north
//! arrow, CRS, fields) and table pages that flow over as many pages as their rows need, all with
//! the same frame, title band and footer (制图单位, 制图日期, page numbers).

use jingwei_layers::Workspace;

use jingwei_layers::imagery::Tile;

use crate::map::{self, Extra, LegendEntry, MapFrame, Swatch};
use crate::page::{Anchor, BLACK, Item, Page, Stroke, WHITE};
use crate::template::{Orientation, Template};
use crate::text::width_mm;
use crate::{PrintError, Result};

const MARGIN: f32 = 10.0;
const TITLE_BAND: f32 = 14.0;
const FOOTER: f32 = 7.0;
const GAP: f32 = 2.5;
const PANEL_W: f32 = 72.0;
const PANEL_H: f32 = 64.0;
const GREY: [f32; 4] = [0.92, 0.92, 0.92, 1.0];

/// What the map sheet measured out, for reports and for checking a print.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The scale's denominator.
    pub scale: u32,
    /// The map frame on the page, `[x, y, w, h]` mm.
    pub map_rect_mm: [f32; 4],
    /// The ground in the frame, workspace metres.
    pub ground_extent: [f64; 4],
    /// The graphic scale bar's length on the ground, metres.
    pub bar_metres: f64,
    /// The graphic scale bar on the page, `[x, y, w, h]` mm.
    pub bar_rect_mm: [f32; 4],
    /// The legend's labels, as printed.
    pub legend: Vec<String>,
}

/// Pages, and the map sheet's facts when there is a map.
#[derive(Debug, Clone)]
pub struct Printed {
    /// Pages in order.
    pub pages: Vec<Page>,
    /// The map sheet's facts.
    pub facts: Option<Facts>,
}

impl Printed {
    /// All pages as one PDF.
    pub fn pdf(&self, title: &str) -> Result<Vec<u8>> {
        crate::pdf::write(&self.pages, title)
    }

    /// Page `i` as PNG at `dpi`.
    pub fn png(&self, i: usize, dpi: f32) -> Result<Vec<u8>> {
        let page = self.pages.get(i).ok_or_else(|| PrintError::Layout(format!("no page {}", i + 1)))?;
        crate::raster::write_png(page, dpi)
    }
}

/// A map sheet to compose.
pub struct MapSheet<'a> {
    /// The layout.
    pub template: &'a Template,
    /// 制图日期 as printed.
    pub date: String,
    /// What to draw.
    pub ws: &'a Workspace,
    /// The ground at the map's centre, workspace metres.
    pub centre_xy: [f64; 2],
    /// The scale's denominator.
    pub scale: u32,
    /// Shapes over the layers.
    pub extras: &'a [Extra],
    /// The workspace's visible imagery composed for [`map::imagery_target`] of [`MapSheet::frame`].
    pub imagery: Option<&'a Tile>,
}

impl MapSheet<'_> {
    /// Where the map lands on the page.
    pub fn frame(&self) -> MapFrame {
        MapFrame {
            rect_mm: map_rect(self.template),
            centre_xy: self.centre_xy,
            scale: f64::from(self.scale),
        }
    }
}

fn content(t: &Template) -> [f32; 4] {
    let (w, h) = t.page_mm();
    [
        MARGIN + GAP,
        MARGIN + TITLE_BAND + GAP,
        w - 2.0 * (MARGIN + GAP),
        h - 2.0 * MARGIN - TITLE_BAND - FOOTER - 2.0 * GAP,
    ]
}

/// The map frame of a template's sheet, `[x, y, w, h]` mm (for choosing a scale that fits).
pub fn map_rect(t: &Template) -> [f32; 4] {
    let c = content(t);
    match t.orientation {
        Orientation::Landscape => [c[0], c[1], c[2] - PANEL_W - GAP, c[3]],
        Orientation::Portrait => [c[0], c[1], c[2], c[3] - PANEL_H - GAP],
    }
}

fn frame_page(t: &Template, title: &str) -> Page {
    let (w, h) = t.page_mm();
    let mut p = Page::new(w, h);
    p.rect(
        [MARGIN, MARGIN, w - 2.0 * MARGIN, h - 2.0 * MARGIN],
        None,
        Some(Stroke::solid(BLACK, 0.5)),
    );
    p.line(
        [MARGIN, MARGIN + TITLE_BAND],
        [w - MARGIN, MARGIN + TITLE_BAND],
        Stroke::solid(BLACK, 0.25),
    );
    p.line(
        [MARGIN, h - MARGIN - FOOTER],
        [w - MARGIN, h - MARGIN - FOOTER],
        Stroke::solid(BLACK, 0.25),
    );
    let size = 6.0_f32.min((w - 2.0 * MARGIN - 10.0) / width_mm(title, 1.0).max(1.0));
    p.text([w / 2.0, MARGIN + TITLE_BAND / 2.0 + size * 0.36], size, title, Anchor::Middle);
    p
}

/// Footers: 制图单位 and 制图日期 on the left, the page number on the right.
fn footers(pages: &mut [Page], t: &Template, date: &str) {
    let n = pages.len();
    for (i, p) in pages.iter_mut().enumerate() {
        let y = p.height_mm - MARGIN - FOOTER / 2.0 + 1.0;
        let mut left = Vec::new();
        if !t.unit.is_empty() {
            left.push(format!("制图单位：{}", t.unit));
        }
        left.push(format!("制图日期：{date}"));
        p.text([MARGIN + GAP, y], 2.8, left.join("    "), Anchor::Start);
        let w = p.width_mm;
        p.text([w - MARGIN - GAP, y], 2.8, format!("第 {} 页  共 {n} 页", i + 1), Anchor::End);
    }
}

/// Lines of at most `width` mm: broken after a space or punctuation in the line's second half
/// (so `EPSG:4550` stays whole), else between any two characters (CJK text has no spaces).
pub fn wrap(text: &str, size_mm: f32, width: f32) -> Vec<String> {
    if text.contains('\n') {
        return text.lines().flat_map(|l| wrap(l, size_mm, width)).collect();
    }
    let mut lines = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        let mut next = cur.clone();
        next.push(c);
        if !cur.is_empty() && width_mm(&next, size_mm) > width {
            // Before an opening bracket, after a space or a separator.
            let cut = cur
                .char_indices()
                .filter_map(|(i, ch)| match ch {
                    '（' | '(' => Some(i),
                    ' ' | '/' | ',' | '，' | '、' | '：' | ';' | '；' => Some(i + ch.len_utf8()),
                    _ => None,
                })
                .rfind(|i| *i * 2 >= cur.len() && *i < cur.len());
            match cut {
                Some(i) => {
                    let rest = cur.split_off(i);
                    lines.push(std::mem::take(&mut cur).trim_end().to_string());
                    cur = rest.trim_start().to_string();
                    cur.push(c);
                }
                None => {
                    lines.push(std::mem::take(&mut cur));
                    cur.push(c);
                }
            }
        } else {
            cur = next;
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// `text` cut (with an ellipsis) to at most `width` mm.
pub fn fit(text: &str, size_mm: f32, width: f32) -> String {
    if width_mm(text, size_mm) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        let mut next = out.clone();
        next.push(c);
        next.push('…');
        if width_mm(&next, size_mm) > width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// A round length (1, 2 or 5 × 10ⁿ metres) at most `max_mm` long on paper at 1:`scale`.
pub fn bar_length_m(scale: u32, max_mm: f32) -> f64 {
    let max_m = f64::from(max_mm) * f64::from(scale) / 1000.0;
    let mut best = 1.0;
    let mut p = 0.01;
    while p <= max_m {
        for k in [1.0, 2.0, 5.0] {
            if k * p <= max_m {
                best = k * p;
            }
        }
        p *= 10.0;
    }
    best
}

fn metres_text(m: f64) -> String {
    if m >= 1000.0 {
        format!("{} 千米", m / 1000.0)
    } else {
        format!("{m} 米")
    }
}

/// The north arrow and scale block; returns its height and the bar's rectangle.
fn north_and_scale(p: &mut Page, x: f32, y: f32, w: f32, scale: u32) -> (f32, f64, [f32; 4]) {
    // North arrow: a split arrowhead, grid north up.
    let (cx, top) = (x + 7.0, y + 7.0);
    p.text([cx, y + 4.5], 3.5, "北", Anchor::Middle);
    p.items.push(Item::Path {
        parts: vec![vec![[cx, top], [cx - 4.0, top + 14.0], [cx, top + 10.5]]],
        closed: true,
        fill: Some(BLACK),
        stroke: Some(Stroke::solid(BLACK, 0.2)),
    });
    p.items.push(Item::Path {
        parts: vec![vec![[cx, top], [cx + 4.0, top + 14.0], [cx, top + 10.5]]],
        closed: true,
        fill: Some(WHITE),
        stroke: Some(Stroke::solid(BLACK, 0.2)),
    });
    // Scale: numeric, then the graphic bar of four segments.
    let bx = x + 17.0;
    p.text([bx, y + 8.0], 3.2, format!("比例尺  1:{scale}"), Anchor::Start);
    let max_mm = (w - 21.0).clamp(10.0, 60.0);
    let metres = bar_length_m(scale, max_mm);
    let len = (metres * 1000.0 / f64::from(scale)) as f32;
    let (by, bh) = (y + 12.0, 1.6);
    for i in 0..4 {
        let sx = bx + len * i as f32 / 4.0;
        p.rect(
            [sx, by, len / 4.0, bh],
            Some(if i % 2 == 0 { BLACK } else { WHITE }),
            Some(Stroke::solid(BLACK, 0.15)),
        );
    }
    // The middle label in the end label's unit (千米 from 1 km on).
    let half = if metres >= 1000.0 { metres / 2000.0 } else { metres / 2.0 };
    for (k, label) in [(0.0, "0".to_string()), (0.5, format!("{half}")), (1.0, metres_text(metres))] {
        let anchor = if k == 1.0 && width_mm(&label, 2.5) > 6.0 {
            Anchor::Start
        } else {
            Anchor::Middle
        };
        let lx = bx + len * k as f32 - if anchor == Anchor::Start { 1.5 } else { 0.0 };
        p.text([lx, by + bh + 3.2], 2.5, label, anchor);
    }
    (24.0, metres, [bx, by, len, bh])
}

const LEGEND_ROW: f32 = 5.0;

/// The legend in at most `h` mm; entries that do not fit are counted on a last line.
fn legend_block(p: &mut Page, x: f32, y: f32, w: f32, h: f32, entries: &[LegendEntry]) -> Vec<String> {
    p.text([x + w / 2.0, y + 4.0], 3.5, "图  例", Anchor::Middle);
    let fits = (((h - 7.0) / LEGEND_ROW).floor().max(0.0)) as usize;
    let shown = if entries.len() > fits {
        fits.saturating_sub(1)
    } else {
        entries.len()
    };
    let mut printed = Vec::new();
    for (i, e) in entries.iter().take(shown).enumerate() {
        let ry = y + 7.0 + i as f32 * LEGEND_ROW;
        let sw = [x + 1.0, ry + 0.6, 8.0, 3.6];
        match &e.swatch {
            Swatch::Area(fill, stroke) => p.rect(sw, Some(*fill), Some(Stroke::solid(*stroke, 0.2))),
            Swatch::Line(c, width) => p.line(
                [sw[0], sw[1] + sw[3] / 2.0],
                [sw[0] + sw[2], sw[1] + sw[3] / 2.0],
                Stroke::solid(*c, width.clamp(0.2, 1.2)),
            ),
            Swatch::Point(c) => p.items.push(Item::Path {
                parts: vec![
                    (0..16)
                        .map(|k| {
                            let a = k as f32 / 16.0 * std::f32::consts::TAU;
                            [sw[0] + sw[2] / 2.0 + 1.3 * a.cos(), sw[1] + sw[3] / 2.0 + 1.3 * a.sin()]
                        })
                        .collect(),
                ],
                closed: true,
                fill: Some(*c),
                stroke: Some(Stroke::solid(BLACK, 0.15)),
            }),
        }
        let label = fit(&e.label, 2.6, w - 12.0);
        p.text([x + 11.0, ry + 3.5], 2.6, label.clone(), Anchor::Start);
        printed.push(label);
    }
    if shown < entries.len() {
        let ry = y + 7.0 + shown as f32 * LEGEND_ROW;
        p.text(
            [x + 1.0, ry + 3.5],
            2.6,
            format!("…… 另有 {} 项", entries.len() - shown),
            Anchor::Start,
        );
    }
    printed
}

fn info_lines(t: &Template, crs_name: &str, crs_label: &str) -> Vec<String> {
    let mut lines = vec![
        format!("坐标系：{crs_name}（{crs_label}）"),
        "高程基准：1985国家高程基准".to_string(),
    ];
    lines.extend(t.fields.iter().map(|(k, v)| format!("{k}：{v}")));
    lines
}

const INFO_SIZE: f32 = 2.6;
const INFO_ROW: f32 = 4.0;

/// The info block's lines, wrapped, at most `max_h` mm of them (the last one says how many
/// more there were).
fn info_rows(lines: &[String], w: f32, max_h: f32) -> Vec<String> {
    let mut rows: Vec<String> = lines.iter().flat_map(|l| wrap(l, INFO_SIZE, w)).collect();
    let fits = (((max_h - 2.0) / INFO_ROW).floor().max(1.0)) as usize;
    if rows.len() > fits {
        let more = rows.len() - fits + 1;
        rows.truncate(fits - 1);
        rows.push(format!("…… 另有 {more} 行"));
    }
    rows
}

fn info_height(rows: &[String]) -> f32 {
    rows.len() as f32 * INFO_ROW + 2.0
}

fn info_block(p: &mut Page, x: f32, y: f32, rows: &[String]) {
    for (i, r) in rows.iter().enumerate() {
        p.text([x, y + 3.0 + i as f32 * INFO_ROW], INFO_SIZE, r.clone(), Anchor::Start);
    }
}

/// The map sheet: one page.
pub fn map_page(s: &MapSheet<'_>) -> Result<(Page, Facts)> {
    let t = s.template;
    let title = if t.title.is_empty() { "地图" } else { t.title.as_str() };
    let mut p = frame_page(t, title);
    let rect = map_rect(t);
    if rect[2] < 20.0 || rect[3] < 20.0 {
        return Err(PrintError::Layout("the paper leaves no room for a map".into()));
    }
    let frame = s.frame();
    let legend = map::draw(s.ws, &frame, s.imagery, s.extras, &mut p);
    p.rect(rect, None, Some(Stroke::solid(BLACK, 0.3)));
    let lines = info_lines(t, &s.ws.crs.name, &s.ws.crs.label());
    let c = content(t);
    let (bar_metres, bar_rect, printed) = match t.orientation {
        Orientation::Landscape => {
            let (x, w) = (rect[0] + rect[2] + GAP + 1.0, PANEL_W - 2.0);
            let (nh, m, bar) = north_and_scale(&mut p, x, c[1], w, s.scale);
            // The info block takes what the legend leaves (at least four legend rows stay).
            let rows = info_rows(&lines, w, c[3] - nh - 2.0 - 7.0 - 4.0 * LEGEND_ROW - 2.0);
            let iy = c[1] + c[3] - info_height(&rows);
            info_block(&mut p, x, iy, &rows);
            let printed = legend_block(&mut p, x, c[1] + nh + 2.0, w, iy - (c[1] + nh + 2.0) - 2.0, &legend);
            (m, bar, printed)
        }
        Orientation::Portrait => {
            let (y, h) = (rect[1] + rect[3] + GAP, PANEL_H);
            let ws = [c[2] * 0.3, c[2] * 0.4, c[2] * 0.3];
            let x0 = c[0];
            let (_, m, bar) = north_and_scale(&mut p, x0, y, ws[0] - 2.0, s.scale);
            let printed = legend_block(&mut p, x0 + ws[0], y, ws[1] - 3.0, h, &legend);
            let rows = info_rows(&lines, ws[2], h);
            info_block(&mut p, x0 + ws[0] + ws[1], y, &rows);
            (m, bar, printed)
        }
    };
    Ok((
        p,
        Facts {
            scale: s.scale,
            map_rect_mm: rect,
            ground_extent: frame.ground_extent(),
            bar_metres,
            bar_rect_mm: bar_rect,
            legend: printed,
        },
    ))
}

/// A table column.
#[derive(Debug, Clone)]
pub struct Column {
    /// Header text.
    pub header: String,
    /// Right-aligned (numbers).
    pub numeric: bool,
}

/// A table with a title and lines of text above it.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Its title.
    pub title: String,
    /// Lines above the table (the red line's area, verdicts, …).
    pub lines: Vec<String>,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows of cells (as many as columns).
    pub rows: Vec<Vec<String>>,
}

const CELL: f32 = 2.7;
const ROW: f32 = 5.6;
const PAD: f32 = 1.4;

/// Pages of tables, each table starting on a new page, its header repeated on every page.
pub fn table_pages(t: &Template, tables: &[Table]) -> Vec<Page> {
    let title = if t.title.is_empty() { "报告" } else { t.title.as_str() };
    let c = content(t);
    let bottom = c[1] + c[3];
    let mut pages = Vec::new();
    for tb in tables {
        let n = tb.columns.len().max(1);
        // Column widths: the widest cell of each, scaled to the content width.
        let mut widths: Vec<f32> = (0..n)
            .map(|k| {
                let head = tb.columns.get(k).map_or(0.0, |c| width_mm(&c.header, CELL));
                tb.rows
                    .iter()
                    .filter_map(|r| r.get(k))
                    .map(|v| width_mm(v, CELL))
                    .fold(head, f32::max)
                    + 2.0 * PAD
            })
            .collect();
        let total: f32 = widths.iter().sum();
        widths.iter_mut().for_each(|w| *w *= c[2] / total.max(1.0));
        let mut page = frame_page(t, title);
        let mut y = c[1] + 5.0;
        page.text([c[0], y], 4.0, tb.title.clone(), Anchor::Start);
        y += 3.0;
        for l in &tb.lines {
            for part in wrap(l, 3.0, c[2]) {
                y += 5.0;
                page.text([c[0], y], 3.0, part, Anchor::Start);
            }
        }
        y += 3.0;
        let header = |page: &mut Page, y: f32| {
            let mut x = c[0];
            for (k, w) in widths.iter().enumerate() {
                page.rect([x, y, *w, ROW], Some(GREY), Some(Stroke::solid(BLACK, 0.15)));
                let h = tb.columns.get(k).map_or(String::new(), |c| fit(&c.header, CELL, w - 2.0 * PAD));
                page.text([x + w / 2.0, y + ROW / 2.0 + CELL * 0.36], CELL, h, Anchor::Middle);
                x += w;
            }
        };
        header(&mut page, y);
        y += ROW;
        for row in &tb.rows {
            if y + ROW > bottom {
                pages.push(std::mem::replace(&mut page, frame_page(t, title)));
                y = c[1] + 5.0;
                page.text([c[0], y], 4.0, format!("{}（续）", tb.title), Anchor::Start);
                y += 3.0;
                header(&mut page, y);
                y += ROW;
            }
            let mut x = c[0];
            for (k, w) in widths.iter().enumerate() {
                page.rect([x, y, *w, ROW], None, Some(Stroke::solid(BLACK, 0.15)));
                let v = fit(row.get(k).map_or("", String::as_str), CELL, w - 2.0 * PAD);
                let numeric = tb.columns.get(k).is_some_and(|c| c.numeric);
                let (tx, a) = if numeric {
                    (x + w - PAD, Anchor::End)
                } else {
                    (x + PAD, Anchor::Start)
                };
                page.text([tx, y + ROW / 2.0 + CELL * 0.36], CELL, v, a);
                x += w;
            }
            y += ROW;
        }
        pages.push(page);
    }
    pages
}

/// A map sheet and then table pages, with footers numbered through all of them.
pub fn compose(template: &Template, date: &str, map: Option<&MapSheet<'_>>, tables: &[Table]) -> Result<Printed> {
    let mut pages = Vec::new();
    let mut facts = None;
    if let Some(m) = map {
        let (p, f) = map_page(m)?;
        pages.push(p);
        facts = Some(f);
    }
    pages.extend(table_pages(template, tables));
    if pages.is_empty() {
        return Err(PrintError::Layout("nothing to print: no map and no table".into()));
    }
    footers(&mut pages, template, date);
    Ok(Printed { pages, facts })
}
