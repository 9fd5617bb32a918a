//! Print layouts: a map sheet at a chosen scale (A4/A3, portrait or landscape) with title,
//! legend, scale bar, north arrow, CRS and the template's fields, and the planner's reports —
//! 压占分析 (the red line and its overlap pieces on the map, then the class tables) and the
//! 用地平衡表 — through the same layout. Written as a vector PDF or as PNG pages at the
//! template's dpi (300 by default). The layout itself is `jingwei-print`'s.

use std::path::{Path, PathBuf};

use jingwei_analysis::area::{Areas, M2_PER_HA, M2_PER_MU};
use jingwei_analysis::balance::Balance;
use jingwei_layers::Workspace;
use jingwei_layers::imagery::Tile;
use jingwei_layers::imagery::warp::Target;
use jingwei_print::map::{self, Extra, MapFrame};
use jingwei_print::page::Stroke;
use jingwei_print::sheet::{self, Column, MapSheet, Printed, Table};
use jingwei_print::template::{self, Orientation, Template};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::imagery::visible_sources;
use crate::planning::{self, OverlapDto, OverlapRequest};
use crate::session::{Session, bbox_of};

/// How to print: a template file and settings over it, where the map is centred, and where the
/// pages go.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PrintRequest {
    /// A template file (TOML; see `assets/demo/print/template.toml`).
    #[serde(default)]
    pub template: Option<PathBuf>,
    /// Title, over the template's.
    #[serde(default)]
    pub title: Option<String>,
    /// `A4` or `A3`, over the template's.
    #[serde(default)]
    pub paper: Option<String>,
    /// `portrait` or `landscape`, over the template's.
    #[serde(default)]
    pub orientation: Option<String>,
    /// The scale's denominator (`2000` for 1:2000), over the template's; when neither gives
    /// one, the smallest usual scale at which the map's subject fits.
    #[serde(default)]
    pub scale: Option<u32>,
    /// 制图单位, over the template's.
    #[serde(default)]
    pub unit: Option<String>,
    /// 制图日期, over the template's (default today).
    #[serde(default)]
    pub date: Option<String>,
    /// Text fields (label, text) after the template's.
    #[serde(default)]
    pub fields: Vec<(String, String)>,
    /// Resolution of PNG pages, over the template's.
    #[serde(default)]
    pub dpi: Option<u32>,
    /// The map's centre in workspace metres (default: the subject's centre).
    #[serde(default)]
    pub centre_xy: Option<[f64; 2]>,
    /// Centre on what this view of the 3D map looks at (the app's current view), unless
    /// `centre_xy` is given.
    #[serde(default)]
    pub view: Option<jingwei_scene::view::View>,
    /// The output: `NAME.pdf` (all pages) or `NAME.png` (page 2 on goes to `NAME-2.png`, …);
    /// empty: a PDF named by the title in the user's export folder.
    #[serde(default)]
    pub out: PathBuf,
}

/// What was printed.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct PrintedDto {
    /// The files written.
    pub files: Vec<String>,
    /// Pages.
    pub pages: usize,
    /// `A4` or `A3`.
    pub paper: String,
    /// `portrait` or `landscape`.
    pub orientation: String,
    /// The map's scale denominator, when there is a map.
    pub scale: Option<u32>,
    /// Resolution of PNG pages.
    pub dpi: Option<u32>,
    /// The map frame on the page, `[x, y, w, h]` mm.
    pub map_mm: Option<[f64; 4]>,
    /// The ground in the frame, workspace metres.
    pub ground_extent: Option<[f64; 4]>,
    /// The graphic scale bar's ground length, metres.
    pub bar_metres: Option<f64>,
    /// The graphic scale bar on the page, `[x, y, w, h]` mm.
    pub bar_mm: Option<[f64; 4]>,
    /// The legend's labels.
    pub legend: Vec<String>,
}

/// The template of a request: its file (or the defaults) with the request's settings over it.
pub fn template_of(req: &PrintRequest) -> Result<Template> {
    let mut t = match &req.template {
        Some(p) => Template::read(p)?,
        None => Template::default(),
    };
    let bad = |e: String| Error::Invalid(e);
    if let Some(v) = &req.title {
        t.title = v.clone();
    }
    if let Some(v) = &req.paper {
        t.paper = template::paper(v).map_err(bad)?;
    }
    if let Some(v) = &req.orientation {
        t.orientation = template::orientation(v).map_err(bad)?;
    }
    if let Some(v) = req.scale {
        t.scale = Some(template::scale(i64::from(v)).map_err(bad)?);
    }
    if let Some(v) = &req.unit {
        t.unit = v.clone();
    }
    if let Some(v) = &req.date {
        t.date = Some(v.clone());
    }
    if let Some(v) = req.dpi {
        t.dpi = template::dpi(i64::from(v)).map_err(bad)?;
    }
    t.fields.extend(req.fields.iter().cloned());
    Ok(t)
}

enum Format {
    Pdf,
    Png,
}

fn format_of(out: &Path) -> Result<Format> {
    match out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("pdf") => Ok(Format::Pdf),
        Some("png") => Ok(Format::Png),
        _ => Err(Error::Invalid(format!("{}: give a .pdf or .png file to print to", out.display()))),
    }
}

/// The extent of the visible vector layers, workspace metres.
fn visible_extent(ws: &Workspace) -> Option<[f64; 4]> {
    crate::session::union(ws.layers.iter().filter(|l| l.visible).filter_map(|l| l.layer.extent()))
}

/// Where the map goes: centred on the request's point or the subject, at the template's scale
/// or the smallest usual one at which the subject fits.
fn frame_for(ws: &Workspace, t: &Template, req: &PrintRequest, subject: Option<[f64; 4]>) -> Result<MapFrame> {
    let ext = subject
        .or_else(|| visible_extent(ws))
        .ok_or_else(|| Error::Missing("nothing to print: no visible layer".into()))?;
    let rect = sheet::map_rect(t);
    let scale = t.scale.unwrap_or_else(|| map::fitting_scale(ext, rect[2], rect[3]));
    let from_view = req.view.map(|v| {
        let (x, y) = jingwei_scene::local::LocalFrame::new(ws.origin_xy).to_world(f64::from(v.target[0]), f64::from(v.target[2]));
        [x, y]
    });
    // A report's subject (the red line) comes before the view: its scale is fitted to it.
    let middle = [(ext[0] + ext[2]) / 2.0, (ext[1] + ext[3]) / 2.0];
    let centre = req.centre_xy.or(subject.map(|_| middle)).or(from_view).unwrap_or(middle);
    if !(centre[0].is_finite() && centre[1].is_finite()) {
        return Err(Error::Invalid("the map's centre is not a point".into()));
    }
    Ok(MapFrame {
        rect_mm: rect,
        centre_xy: centre,
        scale: f64::from(scale),
    })
}

fn today() -> String {
    jingwei_cases::now_utc().chars().take(10).collect()
}

/// Compose and write: an optional map sheet (with `extras` over the layers and the imagery
/// `compose` gives for its frame) and tables.
fn print_in(
    ws: &Workspace,
    req: &PrintRequest,
    default_title: &str,
    map_subject: Option<Option<[f64; 4]>>,
    compose: &dyn Fn(&Target) -> Tile,
    extras: &[Extra],
    tables: &[Table],
) -> Result<PrintedDto> {
    let mut t = template_of(req)?;
    if t.title.is_empty() {
        t.title = default_title.to_string();
    }
    let out = if req.out.as_os_str().is_empty() {
        let name: String = t.title.chars().filter(|c| !"/\\:*?\"<>|".contains(*c)).collect();
        crate::files::export_dir().join(format!("{name}-{}.pdf", crate::files::stamp()))
    } else {
        req.out.clone()
    };
    let format = format_of(&out)?;
    let date = t.date.clone().unwrap_or_else(today);
    let printed = match map_subject {
        Some(subject) => {
            let frame = frame_for(ws, &t, req, subject)?;
            let imagery = ws
                .imagery
                .iter()
                .any(|l| l.visible && l.source.is_some())
                .then(|| compose(&map::imagery_target(&ws.crs, &frame)));
            let s = MapSheet {
                template: &t,
                date: date.clone(),
                ws,
                centre_xy: frame.centre_xy,
                scale: frame.scale as u32,
                extras,
                imagery: imagery.as_ref(),
            };
            sheet::compose(&t, &date, Some(&s), tables)?
        }
        None => sheet::compose(&t, &date, None, tables)?,
    };
    write(&printed, &t, &out, format)
}

fn write(printed: &Printed, t: &Template, out: &Path, format: Format) -> Result<PrintedDto> {
    let mut files = Vec::new();
    match format {
        Format::Pdf => {
            crate::files::write_atomic(out, &printed.pdf(&t.title)?)?;
            files.push(out.display().to_string());
        }
        Format::Png => {
            for i in 0..printed.pages.len() {
                let path = if i == 0 {
                    out.to_path_buf()
                } else {
                    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                    out.with_file_name(format!("{stem}-{}.png", i + 1))
                };
                crate::files::write_atomic(&path, &printed.png(i, t.dpi as f32)?)?;
                files.push(path.display().to_string());
            }
        }
    }
    let f = printed.facts.as_ref();
    Ok(PrintedDto {
        files,
        pages: printed.pages.len(),
        paper: t.paper_name().into(),
        orientation: match t.orientation {
            Orientation::Portrait => "portrait",
            Orientation::Landscape => "landscape",
        }
        .into(),
        scale: f.map(|f| f.scale),
        dpi: out.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")).then_some(t.dpi),
        map_mm: f.map(|f| f.map_rect_mm.map(f64::from)),
        ground_extent: f.map(|f| f.ground_extent),
        bar_metres: f.map(|f| f.bar_metres),
        bar_mm: f.map(|f| f.bar_rect_mm.map(f64::from)),
        legend: f.map(|f| f.legend.clone()).unwrap_or_default(),
    })
}

/// The red line as printed: a red outline.
pub const REDLINE_RGBA: [f32; 4] = [0.86, 0.08, 0.08, 1.0];

fn area_cells(a: &Areas) -> [String; 4] {
    [
        format!("{:.2}", a.plane_m2),
        format!("{:.4}", a.plane_m2 / M2_PER_HA),
        format!("{:.2}", a.plane_m2 / M2_PER_MU),
        format!("{:.2}", a.ellipsoid_m2),
    ]
}

/// The overlap's tables as a report prints them: the red line, control-line verdicts and
/// sources above, one row per layer and class (with 合计 rows) below.
pub fn overlap_tables(o: &OverlapDto) -> Vec<Table> {
    let mut lines = vec![format!(
        "红线面积：{:.2} m²（{:.4} 公顷，{:.2} 亩；平面面积，{}）；椭球面积 {:.2} m²（CGCS2000）",
        o.redline.plane_m2,
        o.redline.plane_m2 / M2_PER_HA,
        o.redline.plane_m2 / M2_PER_MU,
        o.plane_crs,
        o.redline.ellipsoid_m2
    )];
    for v in &o.control {
        let (what, yes) = planning::control_words(v);
        let amount = if v.hit == Some(true) {
            format!("（{:.2} m²）", v.areas.plane_m2)
        } else {
            String::new()
        };
        lines.push(format!("{what}：{yes}{amount}"));
    }
    for (id, line) in &o.sources {
        let title = o.layers.iter().find(|l| &l.id == id).map_or(id.as_str(), |l| l.title.as_str());
        lines.push(format!("数据来源：{title} — {line}"));
    }
    let col = |h: &str, numeric: bool| Column { header: h.into(), numeric };
    let columns = vec![
        col("图层", false),
        col("地类", false),
        col("坐落单位", false),
        col("图斑数", true),
        col("平面面积(m²)", true),
        col("公顷", true),
        col("亩", true),
        col("椭球面积(m²)", true),
        col("占红线(%)", true),
    ];
    let mut rows = Vec::new();
    for l in &o.layers {
        for r in l.rows.iter().chain(std::iter::once(&l.total)) {
            let is_total = std::ptr::eq(r, &l.total);
            let [m2, ha, mu, ell] = area_cells(&r.areas);
            rows.push(vec![
                l.title.clone(),
                if is_total { "合计".into() } else { r.class.clone() },
                r.place.clone().unwrap_or_default(),
                r.parcels.to_string(),
                m2,
                ha,
                mu,
                ell,
                format!("{:.2}", r.share * 100.0),
            ]);
        }
    }
    vec![Table {
        title: "压占分析结果".into(),
        lines,
        columns,
        rows,
    }]
}

/// The 用地平衡表 as a report prints it.
pub fn balance_tables(b: &Balance, status: &str, plan: Option<&str>) -> Vec<Table> {
    let col = |h: &str, numeric: bool| Column { header: h.into(), numeric };
    let mut columns = vec![
        col("地类编码", false),
        col("地类名称", false),
        col("现状面积(公顷)", true),
        col("现状占比(%)", true),
    ];
    if b.plan_total_ha.is_some() {
        columns.extend([col("规划面积(公顷)", true), col("规划占比(%)", true), col("增减(公顷)", true)]);
    }
    let opt = |v: Option<f64>, d: usize| v.map_or(String::new(), |v| format!("{v:.d$}"));
    let mut rows: Vec<Vec<String>> = b
        .rows
        .iter()
        .map(|r| {
            let indent = if r.level == 2 { "　" } else { "" };
            let mut row = vec![
                format!("{indent}{}", r.code),
                format!("{indent}{}", r.name),
                format!("{:.4}", r.status_ha),
                format!("{:.2}", r.status_share),
            ];
            if b.plan_total_ha.is_some() {
                row.extend([opt(r.plan_ha, 4), opt(r.plan_share, 2), opt(r.change_ha, 4)]);
            }
            row
        })
        .collect();
    let mut total = vec!["合计".into(), String::new(), format!("{:.4}", b.status_total_ha), "100.00".into()];
    if let Some(p) = b.plan_total_ha {
        total.extend([format!("{p:.4}"), "100.00".into(), format!("{:.4}", p - b.status_total_ha)]);
    }
    rows.push(total);
    let mut lines = vec![format!("现状：{status}")];
    if let Some(p) = plan {
        lines.push(format!("规划：{p}"));
    }
    lines.push("面积为高斯-克吕格投影平面面积；占比按最大余数法取两位小数，合计为 100.00%。".into());
    vec![Table {
        title: "用地平衡表".into(),
        lines,
        columns,
        rows,
    }]
}

/// The 多期对比 matrix as a report prints it: rows the first epoch's classes, columns the
/// second's, 公顷, with row and column totals.
pub fn change_tables(m: &jingwei_analysis::balance::Transitions, from: &str, to: &str) -> Vec<Table> {
    let col = |h: &str, numeric: bool| Column { header: h.into(), numeric };
    let mut columns = vec![col("原地类＼现地类", false)];
    columns.extend(m.to.iter().map(|t| col(t, true)));
    columns.push(col("合计", true));
    let cell = |v: f64| if v == 0.0 { String::new() } else { format!("{v:.4}") };
    let mut rows: Vec<Vec<String>> = m
        .from
        .iter()
        .zip(&m.ha)
        .map(|(f, r)| {
            let mut row = vec![f.clone()];
            row.extend(r.iter().map(|v| cell(*v)));
            row.push(format!("{:.4}", r.iter().sum::<f64>()));
            row
        })
        .collect();
    let mut total = vec!["合计".to_string()];
    total.extend((0..m.to.len()).map(|j| format!("{:.4}", m.ha.iter().map(|r| r[j]).sum::<f64>())));
    total.push(format!("{:.4}", m.ha.iter().flatten().sum::<f64>()));
    rows.push(total);
    vec![Table {
        title: "多期对比 地类转移矩阵（公顷）".into(),
        lines: vec![
            format!("前期：{from}"),
            format!("后期：{to}"),
            "行合计为前期各地类面积，列合计为后期各地类面积。".into(),
        ],
        columns,
        rows,
    }]
}

/// The 多期对比 report (the transition matrix).
pub fn print_change_in(ws: &Workspace, from: &str, to: &str, req: &PrintRequest) -> Result<PrintedDto> {
    let (m, _) = planning::change_in(ws, from, to)?;
    let tables = change_tables(&m, &layer_title(ws, from), &layer_title(ws, to));
    print_in(ws, req, "多期对比分析", None, &blank, &[], &tables)
}

/// No imagery (reports of tables only).
fn blank(t: &Target) -> Tile {
    Tile {
        width: t.width,
        height: t.height,
        rgba: vec![0; (t.width * t.height * 4) as usize],
    }
}

fn layer_title(ws: &Workspace, id: &str) -> String {
    ws.layer(id).map_or_else(|| id.to_string(), |l| l.title.clone())
}

/// A map sheet of `ws` (what [`Session::print_map`] and the CLI run); `compose` gives the
/// visible imagery for the map frame.
pub fn print_map_in(ws: &Workspace, req: &PrintRequest, compose: &dyn Fn(&Target) -> Tile) -> Result<PrintedDto> {
    print_in(ws, req, "地图", Some(None), compose, &[], &[])
}

/// The 压占分析 report of red line `red` (read from `o.redline`): the overlap run with its
/// pieces, then [`print_overlap_report`].
fn print_overlap_of(
    ws: &Workspace,
    red: &geo::MultiPolygon,
    o: &OverlapRequest,
    req: &PrintRequest,
    compose: &dyn Fn(&Target) -> Tile,
) -> Result<PrintedDto> {
    let with_pieces = OverlapRequest {
        add_pieces: true,
        ..o.clone()
    };
    let (dto, pieces) = planning::overlap_of(ws, red, &with_pieces)?;
    print_overlap_report(ws, red, &dto, pieces.as_ref(), req, compose)
}

/// The 压占分析 report of an overlap already computed (`pieces`: its pieces layer, when asked
/// for): the red line and the pieces on the map sheet, then the tables.
pub fn print_overlap_report(
    ws: &Workspace,
    red: &geo::MultiPolygon,
    dto: &OverlapDto,
    pieces: Option<&jingwei_layers::Layer>,
    req: &PrintRequest,
    compose: &dyn Fn(&Target) -> Tile,
) -> Result<PrintedDto> {
    let subject = bbox_of(red);
    let mut extras = Vec::new();
    if let Some(p) = pieces {
        let pieces: Vec<geo::Polygon> = p
            .geometries
            .iter()
            .flatten()
            .flat_map(|g| match g.to_geo() {
                geo::Geometry::MultiPolygon(m) => m.0,
                geo::Geometry::Polygon(p) => vec![p],
                _ => Vec::new(),
            })
            .collect();
        extras.push(Extra {
            label: "压占图斑".into(),
            geometry: geo::Geometry::MultiPolygon(geo::MultiPolygon(pieces)),
            fill: Some([0.95, 0.35, 0.1, 0.45]),
            stroke: Stroke::solid([0.6, 0.2, 0.05, 1.0], 0.15),
        });
    }
    extras.push(Extra {
        label: "用地红线".into(),
        geometry: geo::Geometry::MultiPolygon(red.clone()),
        fill: None,
        stroke: Stroke::solid(REDLINE_RGBA, 0.6),
    });
    print_in(
        ws,
        req,
        "建设项目用地压占分析",
        Some(subject),
        compose,
        &extras,
        &overlap_tables(dto),
    )
}

/// The 用地平衡表 report (tables only).
pub fn print_balance_in(ws: &Workspace, status: &str, plan: Option<&str>, req: &PrintRequest) -> Result<PrintedDto> {
    let b = planning::balance_in(ws, status, plan)?;
    let tables = balance_tables(&b, &layer_title(ws, status), plan.map(|p| layer_title(ws, p)).as_deref());
    print_in(ws, req, "用地平衡表", None, &blank, &[], &tables)
}

/// The request with its map's centre and scale settled, and the imagery target of that map
/// (when imagery is visible): what the session composes without holding the workspace.
fn settle(ws: &Workspace, req: &PrintRequest, subject: Option<[f64; 4]>) -> Result<(PrintRequest, Option<Target>)> {
    let t = template_of(req)?;
    let frame = frame_for(ws, &t, req, subject)?;
    let settled = PrintRequest {
        centre_xy: Some(frame.centre_xy),
        scale: Some(frame.scale as u32),
        ..req.clone()
    };
    let any = ws.imagery.iter().any(|l| l.visible && l.source.is_some());
    Ok((settled, any.then(|| map::imagery_target(&ws.crs, &frame))))
}

/// A workspace's visible imagery composed for print with a cache of its own (the CLI).
pub fn compose_batch(ws: &Workspace) -> impl Fn(&Target) -> Tile + '_ {
    move |t| crate::imagery::compose_workspace(ws, t)
}

impl Session {
    /// Print the map (the visible layers and imagery) on a sheet at a scale: PDF or PNG.
    pub fn print_map(&self, req: &PrintRequest) -> Result<PrintedDto> {
        let (settled, tile) = self.imagery_for_print(req, |_| Ok(None))?;
        self.with_workspace(|ws| print_map_in(ws, &settled, &|t| self.print_imagery(ws, t, &tile)))
    }

    /// Print the 压占分析 report of a red line.
    pub fn print_overlap(&self, o: &OverlapRequest, req: &PrintRequest) -> Result<PrintedDto> {
        // The red line is read once: for the map's frame, then for the overlap.
        let mut red = None;
        let (settled, tile) = self.imagery_for_print(req, |ws| {
            let r = planning::redline_in(ws, &o.redline)?;
            let subject = bbox_of(&r);
            red = Some(r);
            Ok(subject)
        })?;
        let red = red.ok_or_else(|| Error::Missing("the red line".into()))?;
        self.with_workspace(|ws| print_overlap_of(ws, &red, o, &settled, &|t| self.print_imagery(ws, t, &tile)))
    }

    /// Settle the map's centre and scale under the workspace lock, then compose its imagery
    /// without holding it (a map service may take its time; other commands go on meanwhile).
    fn imagery_for_print(
        &self,
        req: &PrintRequest,
        subject: impl FnOnce(&Workspace) -> Result<Option<[f64; 4]>>,
    ) -> Result<(PrintRequest, Option<(Target, Tile)>)> {
        let cache = self.imagery_state()?;
        let (settled, target, layers) = self.with_workspace(|ws| {
            let (settled, target) = settle(ws, req, subject(ws)?)?;
            Ok((settled, target, visible_sources(ws)))
        })?;
        let tile = target.map(|t| {
            let tile = crate::imagery::compose_layers(&layers, &t, cache.loader.cache());
            (t, tile)
        });
        Ok((settled, tile))
    }

    /// The imagery composed before, for the target it was composed for; composed now when the
    /// workspace changed in between and the map needs another.
    fn print_imagery(&self, ws: &Workspace, t: &Target, ready: &Option<(Target, Tile)>) -> Tile {
        match ready {
            Some((rt, tile)) if rt.extent == t.extent && rt.width == t.width && rt.height == t.height && rt.crs == t.crs => tile.clone(),
            _ => match self.imagery_state() {
                Ok(st) => crate::imagery::compose_layers(&visible_sources(ws), t, st.loader.cache()),
                Err(_) => blank(t),
            },
        }
    }

    /// Print the 多期对比 matrix of two epochs of a land-use layer.
    pub fn print_change(&self, from: &str, to: &str, req: &PrintRequest) -> Result<PrintedDto> {
        self.with_workspace(|ws| print_change_in(ws, from, to, req))
    }

    /// Print the 用地平衡表 of a status-quo layer (and a plan layer).
    pub fn print_balance(&self, status: &str, plan: Option<&str>, req: &PrintRequest) -> Result<PrintedDto> {
        self.with_workspace(|ws| print_balance_in(ws, status, plan, req))
    }
}
