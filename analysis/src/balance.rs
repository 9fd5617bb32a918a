//! 用地平衡表 (land-use balance) and 多期对比 (change between two epochs) over land-use layers
//! classed by the 2023 用地用海分类 (《国土空间调查、规划、用途管制用地用海分类指南》: two-digit
//! first-level codes, four-digit second-level codes) or any other class field.
//!
//! Balance: per class, the area in 公顷 and its share, for status quo and plan side by side
//! with the change, first-level subtotals, shares rounded by the largest remainder so that
//! they add up to exactly 100.00 %. Change: the from→to matrix in 公顷 — every part of each
//! first-epoch parcel assigned to exactly one second-epoch class (the first parcel's where the
//! second epoch overlaps itself; "no data" where it has none), so that row sums equal the
//! first epoch's class totals, and column sums the second's where the second epoch is a
//! partition covering the first — and the changed pieces as a layer.

use std::collections::BTreeMap;

use geo::{Area, BooleanOps, BoundingRect, Geometry, MultiPolygon};
use serde::Serialize;

use jingwei_layers::{Layer, SpatialIndex};

use crate::area::M2_PER_HA;

/// The first-level classes of the 2023 用地用海分类: code and name.
pub const FIRST_LEVEL: [(&str, &str); 24] = [
    ("01", "耕地"),
    ("02", "园地"),
    ("03", "林地"),
    ("04", "草地"),
    ("05", "湿地"),
    ("06", "农业设施建设用地"),
    ("07", "居住用地"),
    ("08", "公共管理与公共服务用地"),
    ("09", "商业服务业用地"),
    ("10", "工矿用地"),
    ("11", "仓储用地"),
    ("12", "交通运输用地"),
    ("13", "公用设施用地"),
    ("14", "绿地与开敞空间用地"),
    ("15", "特殊用地"),
    ("16", "留白用地"),
    ("17", "陆地水域"),
    ("18", "渔业用海"),
    ("19", "工矿通信用海"),
    ("20", "交通运输用海"),
    ("21", "游憩用海"),
    ("22", "特殊用海"),
    ("23", "其他土地"),
    ("24", "其他海域"),
];

/// The class of the parts of a first-epoch parcel that the second epoch does not cover.
pub const NO_DATA: &str = "(无数据)";

/// The first-level class of a code (`0701` → `07`), when the code is one of the 2023 system.
pub fn first_level(code: &str) -> Option<&'static str> {
    let c = code.trim();
    let two = c.get(..2)?;
    FIRST_LEVEL.iter().find(|(k, _)| *k == two).map(|(k, _)| *k)
}

/// The name of a first-level code.
pub fn first_level_name(code: &str) -> Option<&'static str> {
    FIRST_LEVEL.iter().find(|(k, _)| *k == code).map(|(_, n)| *n)
}

/// Percentages of `values` rounded to `decimals` that add up to exactly 100 (largest
/// remainder: each share rounded down, the units left over given to the largest remainders).
pub fn shares_largest_remainder(values: &[f64], decimals: u32) -> Vec<f64> {
    let total: f64 = values.iter().sum();
    if values.is_empty() || total <= 0.0 {
        return vec![0.0; values.len()];
    }
    let unit = 10f64.powi(decimals as i32);
    let whole = (100.0 * unit).round() as i64;
    let exact: Vec<f64> = values.iter().map(|v| v / total * 100.0 * unit).collect();
    let mut floors: Vec<i64> = exact.iter().map(|e| e.floor() as i64).collect();
    let left = whole - floors.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(left.max(0) as usize) {
        floors[i] += 1;
    }
    floors.iter().map(|&f| f as f64 / unit).collect()
}

/// One class's line of the balance.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct BalanceRow {
    /// The class code (or value).
    pub code: String,
    /// Its name (the data's name field, else the classification's).
    pub name: String,
    /// 1 for a first-level subtotal, 2 for a class under it (0 where the codes are not of
    /// the 2023 system).
    pub level: u8,
    /// Status quo, 公顷.
    pub status_ha: f64,
    /// Status quo share, % (largest remainder, 2 decimals, among rows of its level).
    pub status_share: f64,
    /// Plan, 公顷 (absent without a plan layer).
    pub plan_ha: Option<f64>,
    /// Plan share, %.
    pub plan_share: Option<f64>,
    /// Plan − status, 公顷.
    pub change_ha: Option<f64>,
}

/// The balance table.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct Balance {
    /// First-level subtotals each followed by its classes (or the classes alone).
    pub rows: Vec<BalanceRow>,
    /// Status quo total, 公顷.
    pub status_total_ha: f64,
    /// Plan total, 公顷.
    pub plan_total_ha: Option<f64>,
}

/// Plane areas per class of a layer, m²: (code → (name, area)).
pub fn class_areas(layer: &Layer, code_field: usize, name_field: Option<usize>) -> BTreeMap<String, (String, f64)> {
    let mut out: BTreeMap<String, (String, f64)> = BTreeMap::new();
    for (row, g) in layer.geometries.iter().enumerate() {
        let Some(g) = g else { continue };
        let a = g.area();
        if a <= 0.0 {
            continue;
        }
        let code = layer.feature(row).value(code_field).to_string().trim().to_owned();
        let name = name_field.map(|f| layer.feature(row).value(f).to_string()).unwrap_or_default();
        let e = out.entry(code).or_insert_with(|| (name.clone(), 0.0));
        if e.0.is_empty() {
            e.0 = name;
        }
        e.1 += a;
    }
    out
}

/// The balance of `status` (and `plan`), each a map of class code → (name, m²).
pub fn balance(status: &BTreeMap<String, (String, f64)>, plan: Option<&BTreeMap<String, (String, f64)>>) -> Balance {
    // Every code of either side.
    let mut codes: Vec<String> = status.keys().chain(plan.into_iter().flat_map(|p| p.keys())).cloned().collect();
    codes.sort();
    codes.dedup();
    let hierarchical = !codes.is_empty() && codes.iter().all(|c| first_level(c).is_some());
    let get = |m: &BTreeMap<String, (String, f64)>, c: &str| m.get(c).map_or(0.0, |v| v.1);
    let name_of = |c: &str| -> String {
        status
            .get(c)
            .map(|v| v.0.clone())
            .filter(|n| !n.is_empty())
            .or_else(|| plan.and_then(|p| p.get(c)).map(|v| v.0.clone()).filter(|n| !n.is_empty()))
            .or_else(|| first_level_name(c).map(str::to_owned))
            .unwrap_or_default()
    };
    // Lines: (code, name, level, status m², plan m²).
    let mut lines: Vec<(String, String, u8, f64, f64)> = Vec::new();
    if hierarchical {
        let mut groups: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
        for c in &codes {
            groups.entry(first_level(c).unwrap_or("")).or_default().push(c);
        }
        for (g, members) in groups {
            let s: f64 = members.iter().map(|c| get(status, c)).sum();
            let p: f64 = members.iter().map(|c| plan.map_or(0.0, |m| get(m, c))).sum();
            lines.push((g.to_owned(), first_level_name(g).unwrap_or("").to_owned(), 1, s, p));
            for c in members.into_iter().filter(|c| c.len() > 2) {
                lines.push((c.clone(), name_of(c), 2, get(status, c), plan.map_or(0.0, |m| get(m, c))));
            }
        }
    } else {
        for c in &codes {
            lines.push((c.clone(), name_of(c), 0, get(status, c), plan.map_or(0.0, |m| get(m, c))));
        }
    }
    // Shares by the largest remainder among the lines of each level that add up to the whole
    // (first-level lines, or the flat list); a class under a subtotal gets its own share.
    let top = |l: &(String, String, u8, f64, f64)| l.2 <= 1;
    let share_of = |pick: &dyn Fn(&(String, String, u8, f64, f64)) -> f64| -> Vec<f64> {
        let tops: Vec<usize> = (0..lines.len()).filter(|&i| top(&lines[i])).collect();
        let subs: Vec<usize> = (0..lines.len()).filter(|&i| !top(&lines[i])).collect();
        let mut out = vec![0.0; lines.len()];
        for (i, s) in tops.iter().zip(shares_largest_remainder(
            &tops.iter().map(|&i| pick(&lines[i])).collect::<Vec<_>>(),
            2,
        )) {
            out[*i] = s;
        }
        let total: f64 = tops.iter().map(|&i| pick(&lines[i])).sum();
        for i in subs {
            out[i] = if total > 0.0 {
                (pick(&lines[i]) / total * 10_000.0).round() / 100.0
            } else {
                0.0
            };
        }
        out
    };
    let s_share = share_of(&|l| l.3);
    let p_share = share_of(&|l| l.4);
    // (Folds from +0: an empty float `sum` is −0.)
    let status_total = lines.iter().filter(|l| top(l)).fold(0.0, |s, l| s + l.3);
    let plan_total = lines.iter().filter(|l| top(l)).fold(0.0, |s, l| s + l.4);
    Balance {
        rows: lines
            .iter()
            .enumerate()
            .map(|(i, (code, name, level, s, p))| BalanceRow {
                code: code.clone(),
                name: name.clone(),
                level: *level,
                status_ha: s / M2_PER_HA,
                status_share: s_share[i],
                plan_ha: plan.map(|_| p / M2_PER_HA),
                plan_share: plan.map(|_| p_share[i]),
                change_ha: plan.map(|_| (p - s) / M2_PER_HA),
            })
            .collect(),
        status_total_ha: status_total / M2_PER_HA,
        plan_total_ha: plan.map(|_| plan_total / M2_PER_HA),
    }
}

/// A layer and its class field, for [`transitions`].
pub struct Epoch<'a> {
    /// The features.
    pub layer: &'a Layer,
    /// Its R-tree.
    pub index: &'a SpatialIndex,
    /// The class field.
    pub class_field: usize,
}

/// One changed piece.
#[derive(Debug, Clone)]
pub struct ChangePiece {
    /// 原地类.
    pub from: String,
    /// 现地类.
    pub to: String,
    /// The piece.
    pub geometry: MultiPolygon,
    /// Its plane area, m².
    pub area_m2: f64,
}

/// The from→to matrix.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct Transitions {
    /// The first epoch's classes (rows).
    pub from: Vec<String>,
    /// The second epoch's classes (columns), [`NO_DATA`] last where it occurs.
    pub to: Vec<String>,
    /// `ha[i][j]`: 公顷 of class `from[i]` that became `to[j]`.
    pub ha: Vec<Vec<f64>>,
}

fn multi(g: &Geometry) -> MultiPolygon {
    match g {
        Geometry::Polygon(p) => MultiPolygon(vec![p.clone()]),
        Geometry::MultiPolygon(m) => m.clone(),
        _ => MultiPolygon(Vec::new()),
    }
}

/// The change from epoch `a` to epoch `b`: the matrix, and the pieces whose class changed
/// (over `min_m2`).
pub fn transitions(a: &Epoch<'_>, b: &Epoch<'_>, min_m2: f64) -> (Transitions, Vec<ChangePiece>) {
    let mut cells: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut pieces = Vec::new();
    for (row, g) in a.layer.geometries.iter().enumerate() {
        let Some(g) = g else { continue };
        let pa = multi(&g.to_geo());
        let total = pa.unsigned_area();
        if total <= 0.0 {
            continue;
        }
        let from = a.layer.feature(row).value(a.class_field).to_string().trim().to_owned();
        let Some(r) = pa.bounding_rect() else { continue };
        // Each part of the parcel goes to one second-epoch class: where second-epoch parcels
        // overlap each other (they should not), the first in the layer's order takes it.
        let mut rest = pa.clone();
        let mut candidates: Vec<usize> = b.index.candidates([r.min().x, r.min().y, r.max().x, r.max().y]).collect();
        candidates.sort_unstable();
        for other in candidates {
            let Some(gb) = b.layer.geometries.geometry(other) else {
                continue;
            };
            let gb = multi(&gb);
            let piece = rest.intersection(&gb);
            let area = piece.unsigned_area();
            if area <= 0.0 {
                continue;
            }
            rest = rest.difference(&gb);
            let to = b.layer.feature(other).value(b.class_field).to_string().trim().to_owned();
            *cells.entry((from.clone(), to.clone())).or_default() += area;
            if to != from && area >= min_m2 {
                pieces.push(ChangePiece {
                    from: from.clone(),
                    to,
                    geometry: piece,
                    area_m2: area,
                });
            }
        }
        // What the second epoch does not cover.
        let left = rest.unsigned_area();
        if left > 1e-6 * total.max(1.0) {
            *cells.entry((from.clone(), NO_DATA.to_owned())).or_default() += left;
        }
    }
    let mut from: Vec<String> = cells.keys().map(|k| k.0.clone()).collect();
    from.dedup();
    let mut to: Vec<String> = cells.keys().map(|k| k.1.clone()).filter(|c| c != NO_DATA).collect();
    to.sort();
    to.dedup();
    if cells.keys().any(|k| k.1 == NO_DATA) {
        to.push(NO_DATA.to_owned());
    }
    let ha = from
        .iter()
        .map(|f| {
            to.iter()
                .map(|t| cells.get(&(f.clone(), t.clone())).map_or(0.0, |m| m / M2_PER_HA))
                .collect()
        })
        .collect();
    (Transitions { from, to, ha }, pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_exactly_one_hundred() {
        let s = shares_largest_remainder(&[1.0, 1.0, 1.0], 2);
        assert_eq!(s, vec![33.34, 33.33, 33.33]);
        assert!((s.iter().sum::<f64>() - 100.0).abs() < 1e-9);
        let s = shares_largest_remainder(&[2.0, 1.0, 0.0, 997.0], 2);
        assert_eq!(s, vec![0.2, 0.1, 0.0, 99.7]);
        assert_eq!(shares_largest_remainder(&[], 2), Vec::<f64>::new());
    }

    #[test]
    fn codes_of_the_2023_classification() {
        assert_eq!(first_level("0701"), Some("07"));
        assert_eq!(first_level_name("14"), Some("绿地与开敞空间用地"));
        assert_eq!(first_level("99"), None);
        assert_eq!(first_level("park"), None);
    }
}
