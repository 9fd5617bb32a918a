//! The planner's 一张图 use cases: 压占分析 (a red line against the workspace's layers, per
//! class with plane and ellipsoidal areas, control-line verdicts, the pieces as a layer) and
//! its CSV table (UTF-8 with BOM, for Excel and WPS).

use std::path::PathBuf;

use geo::{Geometry, MultiPolygon};
use jingwei_analysis::area::{Areas, M2_PER_HA, M2_PER_MU};
use jingwei_analysis::balance::{self, Balance, Epoch, Transitions};
use jingwei_analysis::compliance::{self, RuleResult, Rules};
use jingwei_analysis::overlap::{self, ControlVerdict, LayerOverlap, OverlapLayer};
use jingwei_analysis::violations::find_field;
use jingwei_layers::{Crs, FieldKind, Layer, OpenOptions, RepairMode, Source, Transformer, Value, Workspace};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::session::Session;

/// Fields that name a parcel's class, first match wins: 三调's 地类编码/地类名称 (DLBM/DLMC),
/// the 2023 用地用海分类 (YDYHFLDM/YDYHFLMC), a control zone's type, OpenStreetMap's kind.
pub const CLASS_CODE_FIELDS: [&str; 8] = ["DLBM", "地类编码", "YDYHFLDM", "用地用海代码", "zone_type", "类型", "kind", "class"];
/// The class name beside its code.
pub const CLASS_NAME_FIELDS: [&str; 4] = ["DLMC", "地类名称", "YDYHFLMC", "用地用海名称"];
/// 坐落单位.
pub const PLACE_FIELDS: [&str; 4] = ["ZLDWMC", "坐落单位名称", "坐落单位", "ZLDWDM"];

/// Where the red line comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Redline {
    /// A file's polygons (GeoPackage, Shapefile, DXF, GeoJSON, …; any CRS), all of them
    /// or one layer's; a `.txt` is read as 界址点坐标 (the land-approval exchange format).
    File {
        /// The file.
        path: PathBuf,
        /// Its layer; the first when absent.
        layer: Option<String>,
    },
    /// WKT in the workspace's CRS (a polygon drawn in the app).
    Wkt {
        /// The text.
        wkt: String,
    },
    /// Features of a workspace layer (those selected in the attribute table), by fid.
    Features {
        /// The layer's id.
        layer: String,
        /// The features' ids.
        fids: Vec<i64>,
    },
}

/// What to overlay.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OverlapRequest {
    /// The red line.
    pub redline: Redline,
    /// Layer ids; every polygon layer of the workspace when empty.
    #[serde(default)]
    pub layers: Vec<String>,
    /// Overlaps under this (m²) are left out; 0.01 when absent.
    #[serde(default)]
    pub sliver_m2: Option<f64>,
    /// Add the overlap pieces to the workspace as a layer.
    #[serde(default)]
    pub add_pieces: bool,
}

/// The answer.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct OverlapDto {
    /// The workspace CRS the plane areas are measured in.
    pub plane_crs: String,
    /// The red line's areas.
    pub redline: Areas,
    /// Per layer and class.
    pub layers: Vec<LayerOverlap>,
    /// 永久基本农田, 生态保护红线, 城镇开发边界.
    pub control: Vec<ControlVerdict>,
    /// The id of the pieces layer, when it was added.
    pub pieces_layer: Option<String>,
    /// Each overlaid layer's provenance (数据来源 · version · level), by layer id, where known.
    pub sources: Vec<(String, String)>,
}

/// The red line's polygons in the workspace CRS (parcels that touch or overlap as their union).
pub fn redline_in(ws: &Workspace, r: &Redline) -> Result<MultiPolygon> {
    let mut polys: Vec<geo::Polygon> = Vec::new();
    match r {
        Redline::Wkt { wkt } => {
            let g = jingwei_layers::ops::from_wkt(wkt).map_err(|e| Error::Invalid(format!("the red line's WKT: {e}")))?;
            collect(&g, &mut polys);
        }
        Redline::Features { layer, fids } => {
            let wl = ws
                .layer(layer)
                .ok_or_else(|| Error::Missing(format!("no layer '{layer}' in the workspace")))?;
            for fid in fids {
                let row = wl
                    .layer
                    .row_of_fid(*fid)
                    .ok_or_else(|| Error::Missing(format!("layer '{layer}' has no feature {fid}")))?;
                if let Some(g) = &wl.layer.geometries.geometry(row) {
                    collect(g, &mut polys);
                }
            }
        }
        Redline::File { path, layer } => {
            let txt = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("txt"));
            let l = if txt {
                // 界址点坐标 (the land-approval exchange format).
                jingwei_layers::boundary_txt::read(path)?
            } else {
                Source::open(path, &OpenOptions::default())?.read_layer(layer.as_deref())?
            };
            let from = match l.crs.clone() {
                Some(c) => c,
                // CAD files (DXF) carry no CRS: drawn in the workspace's zone when every point
                // lies within 10 km of its layers, else the user must say.
                None if within_workspace(ws, &l) => ws.crs.clone(),
                None => {
                    return Err(Error::Invalid(format!(
                        "{}: the red line has no CRS and does not lie in the workspace's {} (give a .prj or a GeoPackage)",
                        path.display(),
                        ws.crs.label()
                    )));
                }
            };
            let t = Transformer::new(&from, &ws.crs)?;
            for g in l.geometries.iter().flatten() {
                let mut g = g.to_geo();
                t.transform_geometry(&mut g)?;
                collect(&g, &mut polys);
            }
        }
    }
    if polys.is_empty() {
        return Err(Error::Invalid("the red line holds no polygon".into()));
    }
    // Parcels of one site may touch or overlap: their union.
    Ok(geo::unary_union(polys.iter()))
}

/// Whether every point of `l` lies within 10 km of the workspace's layers (in its CRS).
fn within_workspace(ws: &Workspace, l: &Layer) -> bool {
    let ext = crate::session::union(ws.layers.iter().filter_map(|w| w.index.extent()));
    let Some(e) = ext else { return false };
    let margin = 10_000.0;
    let mut any = false;
    for g in l.geometries.iter().flatten() {
        let Some(r) = g.bounding_rect() else { continue };
        any = true;
        if r.min().x < e[0] - margin || r.min().y < e[1] - margin || r.max().x > e[2] + margin || r.max().y > e[3] + margin {
            return false;
        }
    }
    any
}

fn collect(g: &Geometry, out: &mut Vec<geo::Polygon>) {
    // A closed line is a ring: CAD red lines (DXF) come as closed polylines, not polygons.
    let ring = |l: &geo::LineString, out: &mut Vec<geo::Polygon>| {
        if l.0.len() >= 4 && l.is_closed() {
            out.push(geo::Polygon::new(l.clone(), Vec::new()));
        }
    };
    match g {
        Geometry::Polygon(p) => out.push(p.clone()),
        Geometry::MultiPolygon(m) => out.extend(m.0.iter().cloned()),
        Geometry::LineString(l) => ring(l, out),
        Geometry::MultiLineString(m) => m.0.iter().for_each(|l| ring(l, out)),
        Geometry::GeometryCollection(c) => c.0.iter().for_each(|g| collect(g, out)),
        _ => {}
    }
}

fn is_polygonal(l: &Layer) -> bool {
    l.geometries.iter().flatten().next().is_some_and(|g| {
        matches!(
            g.kind(),
            jingwei_layers::geoms::Kind::Polygon | jingwei_layers::geoms::Kind::MultiPolygon
        )
    })
}

/// The pieces as a layer of the workspace.
fn pieces_layer(o: &overlap::Overlap, ids: &[String], crs: &Crs) -> Layer {
    let (t, r) = (FieldKind::Text, FieldKind::Real);
    let rows = o
        .pieces
        .iter()
        .map(|p| {
            (
                Some(Geometry::MultiPolygon(p.geometry.clone())),
                vec![
                    Value::Text(ids[p.layer].clone()),
                    Value::Text(p.class.clone()),
                    p.place.clone().map_or(Value::Null, Value::Text),
                    Value::Real(p.areas.plane_m2),
                    Value::Real(p.areas.ellipsoid_m2),
                    Value::Real(p.areas.plane_m2 / M2_PER_MU),
                ],
            )
        })
        .collect();
    Layer::from_rows(
        "压占图斑",
        PathBuf::new(),
        "Memory",
        Some(crs.clone()),
        &[
            ("layer", t),
            ("class", t),
            ("place", t),
            ("plane_m2", r),
            ("ellipsoid_m2", r),
            ("mu", r),
        ],
        rows,
    )
}

/// 压占分析 over `ws` (what [`Session::overlap`] and the CLI run): the answer, and the pieces
/// as a layer when asked for.
pub fn overlap_in(ws: &Workspace, req: &OverlapRequest) -> Result<(OverlapDto, Option<Layer>)> {
    // The request is checked before the red line's file is read.
    overlap_sliver(ws, req)?;
    overlap_of(ws, &redline_in(ws, &req.redline)?, req)
}

/// The request's sliver tolerance, checked, and the workspace's CRS checked for plane areas.
fn overlap_sliver(ws: &Workspace, req: &OverlapRequest) -> Result<f64> {
    let sliver = req.sliver_m2.unwrap_or(overlap::DEFAULT_SLIVER_M2);
    if !(0.0..=1e6).contains(&sliver) {
        return Err(Error::Invalid(format!("a sliver tolerance of {sliver} m²: give 0 to 1000000")));
    }
    if ws.crs.is_geographic() {
        return Err(Error::Invalid(format!(
            "the workspace CRS {} is geographic: plane areas need a projected CRS (a Gauss-Krüger zone)",
            ws.crs.label()
        )));
    }
    Ok(sliver)
}

/// [`overlap_in`] with the red line already read (`req.redline` is not read again).
pub fn overlap_of(ws: &Workspace, red: &MultiPolygon, req: &OverlapRequest) -> Result<(OverlapDto, Option<Layer>)> {
    let sliver = overlap_sliver(ws, req)?;
    let red = Geometry::MultiPolygon(red.clone());
    let chosen: Vec<&jingwei_layers::WorkspaceLayer> = if req.layers.is_empty() {
        ws.layers.iter().filter(|l| is_polygonal(&l.layer)).collect()
    } else {
        req.layers
            .iter()
            .map(|id| {
                ws.layer(id)
                    .ok_or_else(|| Error::Missing(format!("no layer '{id}' in the workspace")))
            })
            .collect::<Result<_>>()?
    };
    let mut inputs = Vec::new();
    for l in &chosen {
        let code = find_field(&l.layer, None, &CLASS_CODE_FIELDS)?;
        let name = find_field(&l.layer, None, &CLASS_NAME_FIELDS)?;
        inputs.push(OverlapLayer {
            id: &l.id,
            title: &l.title,
            layer: &l.layer,
            index: &l.index,
            class_fields: code.into_iter().chain(name).collect(),
            place_field: find_field(&l.layer, None, &PLACE_FIELDS)?,
        });
    }
    let to_lonlat = Transformer::new(&ws.crs, &Crs::cgcs2000()?)?;
    let o = overlap::overlap(&red, &inputs, &to_lonlat, sliver).map_err(|e| Error::Invalid(e.to_string()))?;
    let ids: Vec<String> = chosen.iter().map(|l| l.id.clone()).collect();
    let pieces = (req.add_pieces && !o.pieces.is_empty()).then(|| pieces_layer(&o, &ids, &ws.crs));
    Ok((
        OverlapDto {
            plane_crs: ws.crs.label(),
            redline: o.redline,
            layers: o.layers,
            control: o.control,
            pieces_layer: None,
            sources: chosen
                .iter()
                .filter(|l| !l.provenance.is_empty())
                .map(|l| (l.id.clone(), l.provenance.line()))
                .collect(),
        },
        pieces,
    ))
}

impl Session {
    /// A red line drawn on the map: the ground under each corner (pixels of a view), as WKT
    /// in the workspace CRS (for [`Redline::Wkt`]).
    pub fn redline_from_screen(&self, corners: &[[f32; 2]], width: u32, height: u32, view: jingwei_scene::view::View) -> Result<String> {
        if corners.len() < 3 {
            return Err(Error::Invalid("a red line needs at least three corners".into()));
        }
        self.with_workspace(|ws| {
            let ring = self.ground_ring(ws, corners, width, height, view)?;
            let area = geo::Area::unsigned_area(&geo::Polygon::new(geo::LineString::from(ring.clone()), Vec::new()));
            if !(area >= 1.0) {
                return Err(Error::Invalid("the red line has no area: draw at least three corners apart".into()));
            }
            let pts: Vec<String> = ring.iter().map(|(x, y)| format!("{x} {y}")).collect();
            Ok(format!("POLYGON(({}))", pts.join(",")))
        })
    }

    /// 压占分析: the red line against the workspace's layers (see [`OverlapRequest`]); the
    /// pieces are added as a layer when asked for.
    pub fn overlap(&self, req: &OverlapRequest) -> Result<OverlapDto> {
        let (dto, pieces) = self.with_workspace(|ws| overlap_in(ws, req))?;
        let Some(pieces) = pieces else { return Ok(dto) };
        let id = self.with_workspace_mut(|ws| {
            let l = ws.add_layer(pieces, RepairMode::Repair)?;
            let id = l.id.clone();
            self.rebuild(ws)?;
            Ok(id)
        })?;
        Ok(OverlapDto {
            pieces_layer: Some(id),
            ..dto
        })
    }
}

/// A rules file of 合规性审查 (TOML): one line naming the file and the problem when it is not
/// one.
pub fn read_rules(path: &std::path::Path) -> Result<Rules> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        let msg = e.to_string();
        let first = msg.lines().next().unwrap_or("").trim().to_owned();
        let detail = msg
            .lines()
            .last()
            .map(str::trim)
            .filter(|l| *l != first)
            .map(|l| format!(": {l}"))
            .unwrap_or_default();
        Error::Invalid(format!("{}: {first}{detail}", path.display()))
    })
}

/// The verdicts of a review.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct ReviewDto {
    /// The rules file's title.
    pub title: String,
    /// The red line's areas.
    pub redline: Areas,
    /// Per rule, in the file's order.
    pub results: Vec<RuleResult>,
}

/// 合规性审查 of a red line by `rules` over `ws`.
pub fn review_in(ws: &Workspace, rules: &Rules, redline: &Redline) -> Result<ReviewDto> {
    let mut layers: Vec<String> = rules.rules.iter().map(|r| r.layer.clone()).collect();
    layers.sort();
    layers.dedup();
    let req = OverlapRequest {
        redline: redline.clone(),
        layers,
        sliver_m2: Some(0.0),
        add_pieces: false,
    };
    let (o, _) = overlap_in(ws, &req)?;
    let results = compliance::judge(rules, o.redline, &o.layers).map_err(Error::Invalid)?;
    Ok(ReviewDto {
        title: rules.title.clone(),
        redline: o.redline,
        results,
    })
}

/// The class field of a land-use layer (and its name field): the 2023 用地用海分类 or 三调
/// fields, a zone type, OpenStreetMap's kind.
fn class_fields(l: &jingwei_layers::WorkspaceLayer) -> Result<(usize, Option<usize>)> {
    let code = find_field(&l.layer, None, &CLASS_CODE_FIELDS)?.ok_or_else(|| {
        let names: Vec<&str> = l.layer.fields.iter().map(|f| f.name.as_str()).collect();
        Error::Missing(format!(
            "layer '{}' has no class field ({} …; fields: {})",
            l.id,
            CLASS_CODE_FIELDS[..4].join(", "),
            names.join(", ")
        ))
    })?;
    Ok((code, find_field(&l.layer, None, &CLASS_NAME_FIELDS)?))
}

/// A land-use layer of the workspace: one of polygons.
fn layer_of<'w>(ws: &'w Workspace, id: &str) -> Result<&'w jingwei_layers::WorkspaceLayer> {
    let l = ws
        .layer(id)
        .ok_or_else(|| Error::Missing(format!("no layer '{id}' in the workspace")))?;
    if !is_polygonal(&l.layer) {
        return Err(Error::Invalid(format!(
            "layer '{id}' holds no polygons ({}): land-use tables need parcels",
            l.layer.geometry_type
        )));
    }
    Ok(l)
}

/// 用地平衡表 of layer `status` (and `plan`) of `ws`.
pub fn balance_in(ws: &Workspace, status: &str, plan: Option<&str>) -> Result<Balance> {
    let s = layer_of(ws, status)?;
    let (sc, sn) = class_fields(s)?;
    let sa = balance::class_areas(&s.layer, sc, sn);
    let pa = match plan {
        Some(p) => {
            let p = layer_of(ws, p)?;
            let (pc, pn) = class_fields(p)?;
            Some(balance::class_areas(&p.layer, pc, pn))
        }
        None => None,
    };
    Ok(balance::balance(&sa, pa.as_ref()))
}

/// 多期对比 of layers `from` and `to` of `ws`: the matrix, and the changed pieces as a layer
/// (原地类, 现地类, 面积).
pub fn change_in(ws: &Workspace, from: &str, to: &str) -> Result<(Transitions, Layer)> {
    let (a, b) = (layer_of(ws, from)?, layer_of(ws, to)?);
    let (ac, _) = class_fields(a)?;
    let (bc, _) = class_fields(b)?;
    let (m, pieces) = balance::transitions(
        &Epoch {
            layer: &a.layer,
            index: &a.index,
            class_field: ac,
        },
        &Epoch {
            layer: &b.layer,
            index: &b.index,
            class_field: bc,
        },
        overlap::DEFAULT_SLIVER_M2,
    );
    let rows = pieces
        .into_iter()
        .map(|p| {
            (
                Some(Geometry::MultiPolygon(p.geometry)),
                vec![Value::Text(p.from), Value::Text(p.to), Value::Real(p.area_m2)],
            )
        })
        .collect();
    let layer = Layer::from_rows(
        "地类变化",
        PathBuf::new(),
        "Memory",
        Some(ws.crs.clone()),
        &[("原地类", FieldKind::Text), ("现地类", FieldKind::Text), ("面积", FieldKind::Real)],
        rows,
    );
    Ok((m, layer))
}

/// The balance as CSV (UTF-8 with BOM).
pub fn balance_csv(b: &Balance) -> String {
    let mut out = String::from("\u{feff}地类编码,地类名称,级别,现状面积(公顷),现状占比(%),规划面积(公顷),规划占比(%),增减(公顷)\r\n");
    let opt = |v: Option<f64>, d: usize| v.map_or(String::new(), |v| format!("{v:.d$}"));
    for r in &b.rows {
        out.push_str(&format!(
            "{},{},{},{:.4},{:.2},{},{},{}\r\n",
            csv_cell(&r.code),
            csv_cell(&r.name),
            r.level,
            r.status_ha,
            r.status_share,
            opt(r.plan_ha, 4),
            opt(r.plan_share, 2),
            opt(r.change_ha, 4)
        ));
    }
    out.push_str(&format!(
        "合计,,,{:.4},100.00,{},{},{}\r\n",
        b.status_total_ha,
        opt(b.plan_total_ha, 4),
        if b.plan_total_ha.is_some() {
            "100.00".into()
        } else {
            String::new()
        },
        opt(b.plan_total_ha.map(|p| p - b.status_total_ha), 4)
    ));
    out
}

/// The change matrix as CSV (UTF-8 with BOM): rows the first epoch's classes, columns the
/// second's, 公顷, with row and column totals.
pub fn change_csv(m: &Transitions) -> String {
    let mut out = String::from("\u{feff}原地类\\现地类");
    for t in &m.to {
        out.push(',');
        out.push_str(&csv_cell(t));
    }
    out.push_str(",合计\r\n");
    for (i, f) in m.from.iter().enumerate() {
        out.push_str(&csv_cell(f));
        for v in &m.ha[i] {
            out.push_str(&format!(",{v:.4}"));
        }
        out.push_str(&format!(",{:.4}\r\n", m.ha[i].iter().sum::<f64>()));
    }
    out.push_str("合计");
    for j in 0..m.to.len() {
        out.push_str(&format!(",{:.4}", m.ha.iter().map(|r| r[j]).sum::<f64>()));
    }
    out.push_str(&format!(",{:.4}\r\n", m.ha.iter().flatten().sum::<f64>()));
    out
}

impl Session {
    /// 合规性审查 of a red line by the rules file at `rules`.
    pub fn review(&self, rules: &std::path::Path, redline: &Redline) -> Result<ReviewDto> {
        let rules = read_rules(rules)?;
        self.with_workspace(|ws| review_in(ws, &rules, redline))
    }

    /// 用地平衡表 of the workspace's layer `status` (and `plan`).
    pub fn land_use_balance(&self, status: &str, plan: Option<&str>) -> Result<Balance> {
        self.with_workspace(|ws| balance_in(ws, status, plan))
    }

    /// 多期对比 of layers `from` and `to`; the changed pieces are added as a layer when asked.
    pub fn land_use_change(&self, from: &str, to: &str, add_pieces: bool) -> Result<Transitions> {
        let (m, layer) = self.with_workspace(|ws| change_in(ws, from, to))?;
        if add_pieces && !layer.geometries.is_empty() {
            self.with_workspace_mut(|ws| {
                ws.add_layer(layer, RepairMode::Repair)?;
                self.rebuild(ws)
            })?;
        }
        Ok(m)
    }
}

/// A control line's verdict in the reports' words: (压占永久基本农田 …, 是 / 否 / 无数据).
pub fn control_words(v: &ControlVerdict) -> (&'static str, &'static str) {
    let what = match v.line.as_str() {
        "permanent_basic_farmland" => "压占永久基本农田",
        "ecological_red_line" => "压占生态保护红线",
        _ => "超出城镇开发边界",
    };
    let yes = match v.hit {
        Some(true) => "是",
        Some(false) => "否",
        None => "无数据",
    };
    (what, yes)
}

/// Rounded as the land-use reports print: m² to 2 decimals, 公顷 to 4, 亩 to 2.
fn row(out: &mut String, layer: &str, class: &str, place: &str, parcels: usize, a: &Areas, share: f64) {
    out.push_str(&format!(
        "{},{},{},{parcels},{:.2},{:.4},{:.2},{:.2},{:.4},{:.2}\r\n",
        csv_cell(layer),
        csv_cell(class),
        csv_cell(place),
        a.plane_m2,
        a.plane_m2 / M2_PER_HA,
        a.plane_m2 / M2_PER_MU,
        a.ellipsoid_m2,
        a.ellipsoid_m2 / M2_PER_HA,
        share * 100.0
    ));
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The overlap as CSV, UTF-8 with a byte-order mark (Excel and WPS read it as Chinese text).
pub fn overlap_csv(o: &OverlapDto) -> String {
    let mut out = String::from("\u{feff}");
    out.push_str("图层,地类,坐落单位,图斑数,平面面积(m²),平面面积(公顷),平面面积(亩),椭球面积(m²),椭球面积(公顷),占红线比例(%)\r\n");
    row(&mut out, "红线", "用地红线", "", 1, &o.redline, 1.0);
    for l in &o.layers {
        for r in &l.rows {
            row(
                &mut out,
                &l.title,
                &r.class,
                r.place.as_deref().unwrap_or(""),
                r.parcels,
                &r.areas,
                r.share,
            );
        }
        row(&mut out, &l.title, "合计", "", l.total.parcels, &l.total.areas, l.total.share);
    }
    for v in &o.control {
        let (what, yes) = control_words(v);
        row(
            &mut out,
            "管控线",
            &format!("{what}: {yes}"),
            "",
            0,
            &v.areas,
            v.areas.plane_m2 / o.redline.plane_m2.max(f64::MIN_POSITIVE),
        );
    }
    for (id, line) in &o.sources {
        let title = o.layers.iter().find(|l| &l.id == id).map_or(id.as_str(), |l| l.title.as_str());
        out.push_str(&format!("数据来源,{},{},,,,,,,\r\n", csv_cell(title), csv_cell(line)));
    }
    out
}

/// The overlap's CSV in the user's export folder (`压占分析-…csv`), written atomically.
pub fn save_overlap_csv(o: &OverlapDto) -> Result<PathBuf> {
    let path = crate::files::export_dir().join(format!("压占分析-{}.csv", crate::files::stamp()));
    crate::files::write_atomic(&path, overlap_csv(o).as_bytes())?;
    Ok(path)
}

/// The overlap's XLSX in the user's export folder (`压占分析-…xlsx`), written atomically.
pub fn save_overlap_xlsx(o: &OverlapDto) -> Result<PathBuf> {
    let path = crate::files::export_dir().join(format!("压占分析-{}.xlsx", crate::files::stamp()));
    crate::files::write_atomic(&path, &overlap_xlsx(o)?)?;
    Ok(path)
}

/// Areas of the whole site in words, for a report header: `12.3456 公顷 (185.18 亩)`.
pub fn hectares_and_mu(a: &Areas) -> String {
    format!("{:.4} 公顷 ({:.2} 亩)", a.plane_m2 / M2_PER_HA, a.plane_m2 / M2_PER_MU)
}

/// Number formats of the land-use tables.
mod xlsx {
    use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};

    pub fn header() -> Format {
        Format::new()
            .set_bold()
            .set_align(FormatAlign::Center)
            .set_background_color("#E2E8F0")
    }
    pub fn m2() -> Format {
        Format::new().set_num_format("#,##0.00")
    }
    pub fn ha() -> Format {
        Format::new().set_num_format("#,##0.0000")
    }
    pub fn mu() -> Format {
        Format::new().set_num_format("#,##0.00")
    }
    pub fn pct() -> Format {
        Format::new().set_num_format("0.00%")
    }

    /// A sheet with `headers` in bold on row 0, frozen below them, columns `widths` wide.
    pub fn sheet<'a>(wb: &'a mut Workbook, name: &str, headers: &[&str], widths: &[f64]) -> Result<&'a mut Worksheet, XlsxError> {
        let ws = wb.add_worksheet().set_name(name)?;
        let h = header();
        for (c, t) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *t, &h)?;
        }
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(c as u16, *w)?;
        }
        ws.set_freeze_panes(1, 0)?;
        Ok(ws)
    }
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::Invalid(format!("cannot write the XLSX table: {e}"))
}

/// The overlap as an XLSX workbook: sheet 压占分析 (layer, class, place, parcels, areas with
/// their number formats, share as a percentage), then the control lines and the sources.
pub fn overlap_xlsx(o: &OverlapDto) -> Result<Vec<u8>> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let (m2, ha, mu, pct) = (xlsx::m2(), xlsx::ha(), xlsx::mu(), xlsx::pct());
    let ws = xlsx::sheet(
        &mut wb,
        "压占分析",
        &[
            "图层",
            "地类",
            "坐落单位",
            "图斑数",
            "平面面积(m²)",
            "平面面积(公顷)",
            "平面面积(亩)",
            "椭球面积(m²)",
            "椭球面积(公顷)",
            "占红线比例",
        ],
        &[16.0, 28.0, 16.0, 8.0, 16.0, 16.0, 14.0, 16.0, 16.0, 12.0],
    )
    .map_err(xlsx_error)?;
    let mut r = 1u32;
    let mut put = |layer: &str,
                   class: &str,
                   place: &str,
                   parcels: usize,
                   a: &Areas,
                   share: f64|
     -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
        ws.write_string(r, 0, layer)?;
        ws.write_string(r, 1, class)?;
        ws.write_string(r, 2, place)?;
        ws.write_number(r, 3, parcels as f64)?;
        ws.write_number_with_format(r, 4, a.plane_m2, &m2)?;
        ws.write_number_with_format(r, 5, a.plane_m2 / M2_PER_HA, &ha)?;
        ws.write_number_with_format(r, 6, a.plane_m2 / M2_PER_MU, &mu)?;
        ws.write_number_with_format(r, 7, a.ellipsoid_m2, &m2)?;
        ws.write_number_with_format(r, 8, a.ellipsoid_m2 / M2_PER_HA, &ha)?;
        ws.write_number_with_format(r, 9, share, &pct)?;
        r += 1;
        Ok(())
    };
    put("红线", "用地红线", "", 1, &o.redline, 1.0).map_err(xlsx_error)?;
    for l in &o.layers {
        for row in &l.rows {
            put(
                &l.title,
                &row.class,
                row.place.as_deref().unwrap_or(""),
                row.parcels,
                &row.areas,
                row.share,
            )
            .map_err(xlsx_error)?;
        }
        put(&l.title, "合计", "", l.total.parcels, &l.total.areas, l.total.share).map_err(xlsx_error)?;
    }
    let ws = xlsx::sheet(
        &mut wb,
        "管控线",
        &["管控线", "结论", "面积(m²)", "面积(公顷)"],
        &[24.0, 12.0, 16.0, 16.0],
    )
    .map_err(xlsx_error)?;
    for (i, v) in o.control.iter().enumerate() {
        let r = i as u32 + 1;
        let (what, yes) = control_words(v);
        (|| -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
            ws.write_string(r, 0, what)?;
            ws.write_string(r, 1, yes)?;
            ws.write_number_with_format(r, 2, v.areas.plane_m2, &m2)?;
            ws.write_number_with_format(r, 3, v.areas.plane_m2 / M2_PER_HA, &ha)?;
            Ok(())
        })()
        .map_err(xlsx_error)?;
    }
    if !o.sources.is_empty() {
        let ws = xlsx::sheet(&mut wb, "数据来源", &["图层", "数据来源"], &[16.0, 48.0]).map_err(xlsx_error)?;
        for (i, (id, line)) in o.sources.iter().enumerate() {
            let title = o.layers.iter().find(|l| &l.id == id).map_or(id.as_str(), |l| l.title.as_str());
            ws.write_string(i as u32 + 1, 0, title).map_err(xlsx_error)?;
            ws.write_string(i as u32 + 1, 1, line).map_err(xlsx_error)?;
        }
    }
    wb.save_to_buffer().map_err(xlsx_error)
}

/// The balance as an XLSX workbook (公顷 0.0000, shares as percentages).
pub fn balance_xlsx(b: &Balance) -> Result<Vec<u8>> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let (ha, pct) = (xlsx::ha(), xlsx::pct());
    let ws = xlsx::sheet(
        &mut wb,
        "用地平衡表",
        &[
            "地类编码",
            "地类名称",
            "现状面积(公顷)",
            "现状占比",
            "规划面积(公顷)",
            "规划占比",
            "增减(公顷)",
        ],
        &[12.0, 28.0, 16.0, 12.0, 16.0, 12.0, 14.0],
    )
    .map_err(xlsx_error)?;
    let bold_ha = xlsx::ha().set_bold();
    let mut r = 1u32;
    for row in b.rows.iter() {
        let f = if row.level == 1 { &bold_ha } else { &ha };
        (|| -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
            ws.write_string(
                r,
                0,
                if row.level == 2 {
                    format!("  {}", row.code)
                } else {
                    row.code.clone()
                },
            )?;
            ws.write_string(r, 1, &row.name)?;
            ws.write_number_with_format(r, 2, row.status_ha, f)?;
            ws.write_number_with_format(r, 3, row.status_share / 100.0, &pct)?;
            if let (Some(p), Some(s), Some(c)) = (row.plan_ha, row.plan_share, row.change_ha) {
                ws.write_number_with_format(r, 4, p, f)?;
                ws.write_number_with_format(r, 5, s / 100.0, &pct)?;
                ws.write_number_with_format(r, 6, c, f)?;
            }
            Ok(())
        })()
        .map_err(xlsx_error)?;
        r += 1;
    }
    (|| -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
        ws.write_string(r, 0, "合计")?;
        ws.write_number_with_format(r, 2, b.status_total_ha, &bold_ha)?;
        ws.write_number_with_format(r, 3, 1.0, &pct)?;
        if let Some(p) = b.plan_total_ha {
            ws.write_number_with_format(r, 4, p, &bold_ha)?;
            ws.write_number_with_format(r, 5, 1.0, &pct)?;
            ws.write_number_with_format(r, 6, p - b.status_total_ha, &bold_ha)?;
        }
        Ok(())
    })()
    .map_err(xlsx_error)?;
    wb.save_to_buffer().map_err(xlsx_error)
}

/// The change matrix as an XLSX workbook: rows the first epoch's classes, columns the
/// second's, 公顷 0.0000, with row and column totals.
pub fn change_xlsx(m: &Transitions) -> Result<Vec<u8>> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ha = xlsx::ha();
    let bold = xlsx::ha().set_bold();
    let mut headers: Vec<&str> = vec!["原地类＼现地类"];
    headers.extend(m.to.iter().map(String::as_str));
    headers.push("合计");
    let widths = vec![16.0; headers.len()];
    let ws = xlsx::sheet(&mut wb, "多期对比", &headers, &widths).map_err(xlsx_error)?;
    let write = |ws: &mut rust_xlsxwriter::Worksheet| -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
        let last = m.to.len() as u16 + 1;
        for (i, f) in m.from.iter().enumerate() {
            let r = i as u32 + 1;
            ws.write_string(r, 0, f)?;
            for (j, v) in m.ha[i].iter().enumerate() {
                ws.write_number_with_format(r, j as u16 + 1, *v, &ha)?;
            }
            ws.write_number_with_format(r, last, m.ha[i].iter().sum::<f64>(), &bold)?;
        }
        let r = m.from.len() as u32 + 1;
        ws.write_string(r, 0, "合计")?;
        for j in 0..m.to.len() {
            ws.write_number_with_format(r, j as u16 + 1, m.ha.iter().map(|row| row[j]).sum::<f64>(), &bold)?;
        }
        ws.write_number_with_format(r, last, m.ha.iter().flatten().sum::<f64>(), &bold)?;
        Ok(())
    };
    write(ws).map_err(xlsx_error)?;
    wb.save_to_buffer().map_err(xlsx_error)
}
