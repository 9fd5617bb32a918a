//! Printable case reports: one self-contained HTML page per case (the site map, evidence
//! numbers, notes, photos, audit trail) and an index page. The site map is drawn by whoever
//! can render ([`SiteMapRenderer`]: the Bevy renderer in the app and `jingwei-render`); the
//! page is the same whichever front door found the case or writes the report.

use geo::BoundingRect;
use jingwei_cases::{CaseDetail, CaseStore, Filter, rules_zh};
use jingwei_layers::{RepairMode, Workspace};
use jingwei_scene::scene::{SceneData, build_scene_highlighted};
use jingwei_scene::view::View;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::cases::case_highlight;
use crate::data::open_layer_spec;
use crate::error::{Error, Result};
use crate::files::write_atomic;

/// Site-map size in pixels.
pub const MAP_W: u32 = 960;
/// Site-map height.
pub const MAP_H: u32 = 600;

/// Draws a scene from a view as a PNG of `MAP_W × MAP_H` pixels.
pub trait SiteMapRenderer {
    /// Render `scene` seen from `view`, encoded as PNG.
    fn render_png(&mut self, scene: &SceneData, view: &View) -> Result<Vec<u8>>;
}

/// The base map of a store's reports: the layers its findings came from (the `sources` a
/// rules run records), else none.
pub fn base_workspace(store: &CaseStore) -> Result<Option<Workspace>> {
    let Some(crs) = store.crs().cloned() else { return Ok(None) };
    let Some(sources) = store.metadata("sources")? else {
        return Ok(None);
    };
    let sources: serde_json::Value = serde_json::from_str(&sources).unwrap_or_default();
    let mut ws = match sources["catalog"].as_str() {
        Some(c) if Path::new(c).exists() => Workspace::open_catalog(Path::new(c), Some(crs), RepairMode::Repair)?,
        _ => Workspace::new(crs)?,
    };
    let mut specs: Vec<&str> = Vec::new();
    for key in ["buildings", "permits"] {
        specs.extend(sources[key].as_str());
    }
    specs.extend(sources["zones"].as_array().into_iter().flatten().filter_map(|v| v.as_str()));
    for spec in specs {
        // A source moved away since the detection only costs the report its base map.
        if let Ok(layer) = open_layer_spec(spec) {
            ws.add_layer(layer, RepairMode::Repair)?;
        }
    }
    Ok((!ws.layers.is_empty()).then_some(ws))
}

/// The scene and view of a case's site map: its building in the highlight colour, its permit
/// outlined and zones tinted, seen obliquely with a margin around it.
pub fn site_map(ws: &Workspace, d: &CaseDetail) -> Option<(SceneData, View)> {
    let g = d.case.geometry.as_ref()?;
    let r = g.bounding_rect()?;
    let scene = build_scene_highlighted(ws, &case_highlight(&d.case));
    let margin = 60.0f64.max((r.width().max(r.height())) * 1.5);
    let view = View::frame_world(
        ws.origin_xy,
        [r.min().x, r.min().y, r.max().x, r.max().y],
        margin,
        scene.max_height_m.min(120.0),
        MAP_W as f32 / MAP_H as f32,
        50.0,
        20.0,
    );
    Some((scene, view))
}

/// Text for HTML.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One case's page (`png`: its site map; `chips`: the site on each imagery epoch).
pub fn page(store: &CaseStore, d: &CaseDetail, png: Option<&[u8]>, chips: &[crate::imagery::ChipDto]) -> Result<String> {
    let k = &d.case;
    let e = &k.evidence;
    let mut h = String::new();
    let num = |v: &serde_json::Value, unit: &str| v.as_f64().map(|x| format!("{x:.2} {unit}")).unwrap_or_else(|| "—".into());
    write!(
        h,
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{no} 违法建设线索报告</title>\
         <style>body{{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;max-width:980px;margin:2em auto;color:#111}}\
         table{{border-collapse:collapse;width:100%;margin:.5em 0}}td,th{{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}}\
         th{{background:#eee;width:12em}}h1{{font-size:1.5em}}h2{{font-size:1.15em;border-bottom:2px solid #b91c1c;margin-top:1.5em}}\
         img.map{{width:100%;border:1px solid #999}}.chips{{display:flex;gap:8px}}figure{{margin:0;flex:1}}img.chip{{width:100%;border:1px solid #999}}img.photo{{max-width:45%;margin:4px;border:1px solid #999}}\
         .synthetic{{color:#b91c1c}}@media print{{body{{margin:0}}h2{{page-break-after:avoid}}}}</style></head><body>\
         <h1>违法建设线索报告 · {no}</h1>",
        no = esc(&k.case_no)
    )?;
    write!(
        h,
        "<h2>案件信息 Case</h2><table><tr><th>编号</th><td>{}</td></tr><tr><th>状态</th><td>{} ({})</td></tr>\
         <tr><th>优先级</th><td>{:.1} / 100</td></tr><tr><th>违法类型</th><td>{}</td></tr><tr><th>标题</th><td>{}</td></tr>\
         <tr><th>建筑</th><td>{}</td></tr><tr><th>责任人</th><td>{}</td></tr><tr><th>来源</th><td>{}</td></tr>\
         <tr><th>创建</th><td>{} · {}</td></tr><tr><th>最后更新</th><td>{}</td></tr></table>",
        esc(&k.case_no),
        k.status.name_zh(),
        k.status.id(),
        k.priority,
        esc(&rules_zh(k)),
        esc(&k.title),
        esc(&match (&k.building_layer, k.building_fid) {
            (Some(l), Some(f)) => format!("{l} #{f}"),
            _ => "—".into(),
        }),
        esc(k.assignee.as_deref().unwrap_or("未指派")),
        if k.source == "manual" { "人工标记" } else { "规则研判" },
        esc(&k.created_at),
        esc(&k.created_by),
        esc(&k.updated_at)
    )?;
    if let Some(png) = png {
        write!(
            h,
            "<h2>现场位置 Site</h2><img class=\"map\" alt=\"map of the site\" src=\"data:image/png;base64,{}\">\
             <p>红色：涉案建筑；蓝色：对应规划许可；管控区按三区三线样式。坐标系 {}。</p>",
            crate::files::base64(png),
            esc(&store.crs().map(|c| c.label()).unwrap_or_default())
        )?;
    }
    if !chips.is_empty() {
        write!(h, "<h2>影像对比 Imagery</h2><div class=\"chips\">")?;
        for c in chips {
            write!(
                h,
                "<figure><img class=\"chip\" alt=\"{t}\" src=\"data:image/png;base64,{}\"><figcaption>{t}{}</figcaption></figure>",
                crate::files::base64(&c.png),
                c.epoch.as_deref().map(|e| format!(" · {}", esc(e))).unwrap_or_default(),
                t = esc(&c.title)
            )?;
        }
        write!(h, "</div><p>同一范围、同一比例尺的各期影像，由早到晚排列。</p>")?;
    }
    write!(h, "<h2>证据 Evidence</h2><table>")?;
    write!(h, "<tr><th>占地面积</th><td>{}</td></tr>", num(&e["area_m2"], "m²"))?;
    if let Some(c) = e["permit_coverage"].as_f64() {
        write!(
            h,
            "<tr><th>许可覆盖率</th><td>{:.1}% ({})</td></tr>",
            100.0 * c,
            num(&e["permit_covered_m2"], "m²")
        )?;
    }
    if let Some(p) = e["permit"].as_object() {
        write!(
            h,
            "<tr><th>对应许可证</th><td>{} (重叠 {})</td></tr><tr><th>核定高度 / 层数 / 建筑面积</th><td>{} / {} / {}</td></tr>",
            esc(p.get("number").and_then(|v| v.as_str()).unwrap_or("—")),
            num(p.get("overlap_m2").unwrap_or(&serde_json::Value::Null), "m²"),
            num(p.get("approved_height_m").unwrap_or(&serde_json::Value::Null), "m"),
            p.get("approved_floors")
                .and_then(|v| v.as_i64())
                .map_or("—".into(), |v| v.to_string()),
            num(p.get("approved_area_m2").unwrap_or(&serde_json::Value::Null), "m²")
        )?;
    }
    for (key, label, unit) in [
        ("height_m", "实测高度", "m"),
        ("height_excess_m", "超出核定高度", "m"),
        ("footprint_excess_m2", "超出许可范围面积", "m²"),
        ("floor_area_excess_m2", "超出核定建筑面积（估算）", "m²"),
    ] {
        if !e[key].is_null() {
            write!(h, "<tr><th>{label}</th><td>{}</td></tr>", num(&e[key], unit))?;
        }
    }
    for z in e["zones"].as_array().into_iter().flatten() {
        write!(
            h,
            "<tr><th>占用管控区</th><td>{} {} — 重叠 {}</td></tr>",
            esc(z["zone_type"].as_str().unwrap_or("")),
            esc(z["name"].as_str().unwrap_or("")),
            num(&z["overlap_m2"], "m²")
        )?;
    }
    if let Some(p) = e["previous"].as_object() {
        write!(
            h,
            "<tr><th>与上期调查重叠</th><td>{:.0}%</td></tr>",
            100.0 * p.get("overlap_ratio").and_then(|v| v.as_f64()).unwrap_or(0.0)
        )?;
    }
    write!(h, "</table>")?;
    if !d.notes.is_empty() {
        write!(h, "<h2>核查记录 Notes</h2><table>")?;
        for n in &d.notes {
            write!(h, "<tr><th>{} · {}</th><td>{}</td></tr>", esc(&n.at), esc(&n.actor), esc(&n.text))?;
        }
        write!(h, "</table>")?;
    }
    if !d.attachments.is_empty() {
        write!(h, "<h2>附件 Attachments</h2><p>")?;
        for a in &d.attachments {
            if a.mime.starts_with("image/") && a.size < 8 << 20 {
                let (_, bytes) = store.attachment_data(a.id)?;
                write!(
                    h,
                    "<img class=\"photo\" alt=\"{}\" src=\"data:{};base64,{}\">",
                    esc(&a.name),
                    a.mime,
                    crate::files::base64(&bytes)
                )?;
            } else {
                write!(h, "{} ({} bytes)<br>", esc(&a.name), a.size)?;
            }
        }
        write!(h, "</p>")?;
    }
    write!(
        h,
        "<h2>审计记录 Audit trail</h2><table><tr><th>时间</th><th>人员</th><th>操作</th><th>字段</th><th>原值</th><th>新值</th></tr>"
    )?;
    for a in &d.audit {
        let short = |s: &Option<String>| {
            let s = s.as_deref().unwrap_or("");
            if a.field.as_deref() == Some("status")
                && let Some(st) = jingwei_cases::Status::parse(s)
            {
                return format!("{} {}", st.name_zh(), st.id());
            }
            if s.chars().count() > 80 {
                format!("{}…", s.chars().take(80).collect::<String>())
            } else {
                s.to_string()
            }
        };
        write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.at),
            esc(&a.actor),
            esc(&a.action),
            esc(a.field.as_deref().unwrap_or("")),
            esc(&short(&a.old_value)),
            esc(&short(&a.new_value))
        )?;
    }
    write!(
        h,
        "</table><p><small>Jingwei 经纬 · {}</small></p></body></html>",
        esc(&jingwei_cases::now_utc())
    )?;
    Ok(h)
}

/// What a report run wrote.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
pub struct ReportsDto {
    /// The folder.
    #[ts(type = "string")]
    pub dir: PathBuf,
    /// Cases written.
    pub cases: usize,
    /// Of them, with a site map.
    pub with_map: usize,
}

/// Write `DIR/<case_no>.html` for every case matching `filter`, and `DIR/index.html`. Each
/// file is written atomically.
pub fn write_reports(store: &CaseStore, filter: &Filter, dir: &Path, renderer: &mut dyn SiteMapRenderer) -> Result<ReportsDto> {
    write_reports_of(store, &store.list(filter)?, dir, renderer, None)
}

/// [`write_reports`] for the cases given; with `imagery`, each page also shows the case's site
/// on every imagery layer of that workspace.
pub fn write_reports_of(
    store: &CaseStore,
    cases: &[jingwei_cases::Case],
    dir: &Path,
    renderer: &mut dyn SiteMapRenderer,
    imagery: Option<&Workspace>,
) -> Result<ReportsDto> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut ws = base_workspace(store)?;
    let mut with_map = 0;
    let mut index = String::from(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>违法建设线索</title></head><body><h1>违法建设线索</h1><table border=1><tr><th>编号</th><th>状态</th><th>优先级</th><th>违法类型</th></tr>",
    );
    for c in cases {
        let d = store.detail(&c.case_no)?;
        let png = match c.geometry.as_ref() {
            Some(g) => {
                let ws = match ws.as_ref() {
                    Some(w) => w,
                    None => {
                        // No sources recorded: the case alone, on an empty workspace about it.
                        let crs = store
                            .crs()
                            .cloned()
                            .ok_or_else(|| Error::Missing("the store's CRS is unknown".into()))?;
                        let mut w = Workspace::new(crs)?;
                        w.origin_xy = g
                            .bounding_rect()
                            .map(|r| [r.center().x.round(), r.center().y.round()])
                            .unwrap_or([0.0, 0.0]);
                        &*ws.insert(w)
                    }
                };
                match site_map(ws, &d) {
                    Some((scene, view)) => Some(renderer.render_png(&scene, &view)?),
                    None => None,
                }
            }
            None => None,
        };
        with_map += usize::from(png.is_some());
        // The site on each imagery epoch of the open workspace (the app's reports).
        let chips = match (imagery, c.geometry.as_ref().and_then(crate::session::bbox_of)) {
            (Some(w), Some(b)) if !w.imagery.is_empty() => crate::imagery::chips(w, b, 480),
            _ => Vec::new(),
        };
        let html = page(store, &d, png.as_deref(), &chips)?;
        write_atomic(&dir.join(format!("{}.html", c.case_no)), html.as_bytes())?;
        write!(
            index,
            "<tr><td><a href=\"{no}.html\">{no}</a></td><td>{}</td><td>{:.1}</td><td>{}</td></tr>",
            c.status.name_zh(),
            c.priority,
            esc(&rules_zh(c)),
            no = esc(&c.case_no)
        )?;
    }
    index.push_str("</table></body></html>");
    write_atomic(&dir.join("index.html"), index.as_bytes())?;
    Ok(ReportsDto {
        dir: dir.to_path_buf(),
        cases: cases.len(),
        with_map,
    })
}

impl crate::Session {
    /// Write the printable report of one case (or of all cases matching `filter` when `key`
    /// is `None`) into `dir` (default: a folder in the export folder); returns what it wrote.
    pub fn write_case_reports(
        &self,
        key: Option<&str>,
        filter: &crate::cases::FilterDto,
        dir: Option<&Path>,
        renderer: &mut dyn SiteMapRenderer,
    ) -> Result<ReportsDto> {
        let dir = dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| crate::files::export_dir().join(format!("jingwei-cases-{}", crate::files::stamp())));
        let f = filter.to_filter()?;
        self.with_workspace(|ws| {
            self.with_store_in(ws, |s| {
                let cases = match key {
                    Some(k) => vec![s.case(k)?],
                    None => s.list(&f)?,
                };
                write_reports_of(s, &cases, &dir, renderer, Some(ws))
            })
        })
    }
}
