//! 合规性审查: rules a planning office writes in a small file — which layer, which classes,
//! whether the red line must avoid them or lie within them, a sliver tolerance — judged on a
//! [`crate::overlap`] result: 符合, 不符合 or 部分符合, each with its reason and areas.
//!
//! - `avoid` (不得占用): overlap ≤ tolerance → 符合; ≤ `partial_m2` (an overlap small enough
//!   to be adjusted away, where the rule gives one) → 部分符合; else 不符合.
//! - `within` (须位于): the part outside ≤ tolerance → 符合; the part inside ≤ tolerance → 不符合
//!   (entirely outside); else 部分符合.
//!
//! Classes match a row's class exactly, by control-line type (`永久基本农田` matches
//! `permanent_basic_farmland`), or by code prefix (`07*`: every residential class).

use serde::{Deserialize, Serialize};

use crate::area::{Areas, M2_PER_HA};
use crate::overlap::LayerOverlap;
use crate::violations::normalise_zone_type;

/// What a rule asks of the red line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Must {
    /// Stay off these classes (不得占用).
    Avoid,
    /// Lie within these classes (须位于).
    Within,
}

/// One rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A short id.
    pub id: String,
    /// Its name as the report prints it (不占永久基本农田).
    pub name: String,
    /// The layer id.
    pub layer: String,
    /// The classes (values, control-line types, or code prefixes ending in `*`).
    pub classes: Vec<String>,
    /// Avoid or within.
    pub must: Must,
    /// Overlaps (or parts outside) up to this many m² are slivers; the file's default when
    /// absent.
    #[serde(default)]
    pub tolerance_m2: Option<f64>,
    /// `avoid`: overlaps up to this many m² are 部分符合 rather than 不符合.
    #[serde(default)]
    pub partial_m2: Option<f64>,
}

/// A rules file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// The review's title.
    pub title: String,
    /// The default sliver tolerance, m².
    #[serde(default = "default_tolerance")]
    pub tolerance_m2: f64,
    /// The rules, in the order the report lists them.
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
}

fn default_tolerance() -> f64 {
    1.0
}

/// 符合 / 不符合 / 部分符合.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub enum Verdict {
    /// 符合.
    #[serde(rename = "符合")]
    Complies,
    /// 不符合.
    #[serde(rename = "不符合")]
    Fails,
    /// 部分符合.
    #[serde(rename = "部分符合")]
    Partly,
}

/// One rule's judgement.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct RuleResult {
    /// The rule's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in one sentence.
    pub reason: String,
    /// The red line's overlap with the rule's classes.
    pub inside: Areas,
    /// The part of the red line outside them.
    pub outside: Areas,
}

/// Whether `class` is one of `patterns`.
pub fn class_matches(class: &str, patterns: &[String]) -> bool {
    let c = class.trim();
    patterns.iter().any(|p| {
        let p = p.trim();
        match p.strip_suffix('*') {
            Some(prefix) => c.starts_with(prefix),
            None => c == p || normalise_zone_type(c) == normalise_zone_type(p),
        }
    })
}

/// A class as a reason names it: control lines by their Chinese names.
fn zh(class: &str) -> String {
    match normalise_zone_type(class).as_str() {
        "permanent_basic_farmland" => "永久基本农田".into(),
        "ecological_red_line" => "生态保护红线".into(),
        "urban_development_boundary" => "城镇开发边界".into(),
        _ => class.to_owned(),
    }
}

fn words(m2: f64) -> String {
    format!("{m2:.2} m²（{:.4} 公顷）", m2 / M2_PER_HA)
}

/// Judge `rules` on an overlap of a red line of `redline` areas with `layers` (which must
/// hold every rule's layer, overlaid without a sliver tolerance). A rule whose layer is
/// missing is an error naming it.
pub fn judge(rules: &Rules, redline: Areas, layers: &[LayerOverlap]) -> Result<Vec<RuleResult>, String> {
    let mut out = Vec::new();
    for r in &rules.rules {
        let l = layers
            .iter()
            .find(|l| l.id == r.layer)
            .ok_or_else(|| format!("rule '{}': the workspace has no layer '{}'", r.id, r.layer))?;
        let inside = l
            .rows
            .iter()
            .filter(|row| class_matches(&row.class, &r.classes))
            .fold(Areas::default(), |s, row| s.plus(row.areas));
        let outside = Areas {
            plane_m2: (redline.plane_m2 - inside.plane_m2).max(0.0),
            ellipsoid_m2: (redline.ellipsoid_m2 - inside.ellipsoid_m2).max(0.0),
        };
        let tol = r.tolerance_m2.unwrap_or(rules.tolerance_m2);
        let what = r.classes.iter().map(|c| zh(c)).collect::<Vec<_>>().join("、");
        let (verdict, reason) = match r.must {
            Must::Avoid if inside.plane_m2 <= tol => (
                Verdict::Complies,
                format!("未占用{what}（{:.2} m²，容差 {tol} m²）", inside.plane_m2),
            ),
            Must::Avoid if r.partial_m2.is_some_and(|p| inside.plane_m2 <= p) => (
                Verdict::Partly,
                format!(
                    "占用{what} {}，在可调整范围 {} m² 内",
                    words(inside.plane_m2),
                    r.partial_m2.unwrap_or(0.0)
                ),
            ),
            Must::Avoid => (
                Verdict::Fails,
                format!(
                    "占用{what} {}，占红线 {:.2}%",
                    words(inside.plane_m2),
                    inside.plane_m2 / redline.plane_m2 * 100.0
                ),
            ),
            Must::Within if outside.plane_m2 <= tol => (Verdict::Complies, format!("全部位于{what}内")),
            Must::Within if inside.plane_m2 <= tol => (Verdict::Fails, format!("全部位于{what}以外")),
            Must::Within => (
                Verdict::Partly,
                format!(
                    "{} 位于{what}以外，占红线 {:.2}%",
                    words(outside.plane_m2),
                    outside.plane_m2 / redline.plane_m2 * 100.0
                ),
            ),
        };
        out.push(RuleResult {
            id: r.id.clone(),
            name: r.name.clone(),
            verdict,
            reason,
            inside,
            outside,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_match_by_value_type_and_prefix() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(class_matches("0701", &p(&["07*"])));
        assert!(!class_matches("0801", &p(&["07*"])));
        assert!(class_matches("permanent_basic_farmland", &p(&["永久基本农田"])));
        assert!(class_matches("park", &p(&["grass", "park"])));
        assert!(!class_matches("parking", &p(&["park"])));
    }
}
