//! Comparison views (对比分析): a swipe (卷帘) between two layers or layer groups — two imagery
//! epochs, plan against status quo —, split screens of two or four linked panes, and a time
//! slider over the layers that carry a period. The session builds one scene per side (the
//! side's layers shown, the other sides' hidden, everything else as it is) and hands them to
//! the renderer, which shares the frame among them (`jingwei_scene::compare`). The session's
//! use cases are in `comparing`; here the types and what they decide over a workspace.

use jingwei_layers::Workspace;
use jingwei_scene::compare::Compare;
use jingwei_scene::scene::SceneData;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A comparison: how the frame is shared, and the layers (vector or imagery ids) of each side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct CompareRequest {
    /// Swipe or split.
    pub compare: Compare,
    /// Per scene (2 for a swipe, 2 or 4 for a split), the layers it shows; a layer of no side
    /// shows in every pane as the layer tree says.
    pub sides: Vec<Vec<String>>,
}

/// What the renderer is told: the comparison (or none), and the scenes of sides 1, 2, 3 when
/// they changed (side 0 is the session's main scene).
#[derive(Debug, Clone)]
pub struct CompareUpdate {
    /// The comparison; `None`: one scene again.
    pub compare: Option<Compare>,
    /// New scenes of the other sides, when rebuilt.
    pub scenes: Option<Vec<SceneData>>,
}

/// Receives the comparison's updates (the app's renderer thread).
pub type CompareSink = Box<dyn Fn(CompareUpdate) + Send + Sync>;

/// Whether layer `id` shows in side `side` of `req`, given its own visibility.
pub fn shown_in(req: &CompareRequest, side: usize, id: &str, visible: bool) -> bool {
    if req.sides.get(side).is_some_and(|s| s.iter().any(|x| x == id)) {
        true
    } else if req.sides.iter().any(|s| s.iter().any(|x| x == id)) {
        false
    } else {
        visible
    }
}

/// Check a request against the workspace: the numbers, the sides' count, every layer there.
pub fn check(ws: &Workspace, req: &CompareRequest) -> Result<()> {
    req.compare.check().map_err(Error::Invalid)?;
    if req.sides.len() != req.compare.scenes() {
        return Err(Error::Invalid(format!(
            "{} sides for a comparison of {} scenes",
            req.sides.len(),
            req.compare.scenes()
        )));
    }
    for id in req.sides.iter().flatten() {
        if ws.layer(id).is_none() && !ws.imagery.iter().any(|l| &l.id == id) {
            return Err(Error::NoLayer(id.clone()));
        }
    }
    if req.sides.iter().all(Vec::is_empty) {
        return Err(Error::Invalid("a comparison needs layers on at least one side".into()));
    }
    Ok(())
}

/// One epoch of the time slider: a layer with a period (its provenance's version or date).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct EpochDto {
    /// The layer (vector or imagery).
    pub layer_id: String,
    /// Its title.
    pub title: String,
    /// Its period as the catalog writes it (`2023`, `2024年度变更调查`, `2023-12-31`).
    pub period: String,
}

/// The layers that carry a period, oldest first (periods compared as text, which orders years
/// and ISO dates).
pub fn epochs_of(ws: &Workspace) -> Vec<EpochDto> {
    let mut out: Vec<EpochDto> = ws
        .layers
        .iter()
        .filter_map(|l| {
            Some(EpochDto {
                layer_id: l.id.clone(),
                title: l.title.clone(),
                period: l.provenance.version.clone().filter(|v| !v.trim().is_empty())?,
            })
        })
        .collect();
    out.sort_by(|a, b| a.period.cmp(&b.period).then(a.title.cmp(&b.title)));
    out
}

/// The time slider over a date field: a layer's features dated up to `until` (or, not
/// cumulative, within the same year), the rest left out of the scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct TimeFilter {
    /// The layer.
    pub layer: String,
    /// Its date field.
    pub field: String,
    /// The last date shown, ISO 8601 (`2015`, `2015-12-31`; compared as text, so a year stands
    /// for its whole year).
    pub until: String,
    /// Everything up to `until` (approvals so far); else only `until`'s year.
    #[serde(default = "yes")]
    pub cumulative: bool,
}

fn yes() -> bool {
    true
}

/// A layer's date (or text) field by name.
pub fn date_column<'w>(ws: &'w Workspace, layer: &str, field: &str) -> Result<(&'w jingwei_layers::WorkspaceLayer, usize)> {
    let wl = ws.layer(layer).ok_or_else(|| Error::NoLayer(layer.into()))?;
    let f = wl
        .layer
        .field_index(field)
        .filter(|i| {
            matches!(
                wl.layer.fields[*i].kind,
                jingwei_layers::FieldKind::Date | jingwei_layers::FieldKind::DateTime | jingwei_layers::FieldKind::Text
            )
        })
        .ok_or_else(|| Error::Missing(format!("{} has no date field '{field}'", wl.title)))?;
    Ok((wl, f))
}

/// The years a date field holds, oldest first.
pub fn date_epochs_of(ws: &Workspace, layer: &str, field: &str) -> Result<Vec<String>> {
    let (wl, f) = date_column(ws, layer, field)?;
    let mut years: Vec<String> = (0..wl.layer.len())
        .filter_map(|r| {
            let v = wl.layer.feature(r).value(f).to_string();
            let y: String = v.chars().take(4).collect();
            (y.len() == 4 && y.chars().all(|c| c.is_ascii_digit())).then_some(y)
        })
        .collect();
    years.sort_unstable();
    years.dedup();
    Ok(years)
}

/// The rows a time filter leaves out: dated after `until` (or outside its year), or undated.
pub fn hidden_rows(ws: &Workspace, t: &TimeFilter) -> Result<Vec<usize>> {
    let (wl, f) = date_column(ws, &t.layer, &t.field)?;
    let until = t.until.trim();
    // A bare year or month stands for all of it.
    let last = format!("{until}\u{10FFFF}");
    Ok((0..wl.layer.len())
        .filter(|&r| {
            let v = wl.layer.feature(r).value(f).to_string();
            if v.is_empty() {
                return true;
            }
            if t.cumulative {
                v.as_str() > last.as_str()
            } else {
                !v.starts_with(&until.chars().take(4).collect::<String>())
            }
        })
        .collect())
}
