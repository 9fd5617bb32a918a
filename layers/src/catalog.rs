//! The 一张图 ("one map") catalog: which layers a workspace shows, grouped the way Chinese
//! planning and emergency departments group them.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::error::{LayersError, Result};

/// Catalog groups, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// 现状 — status quo (survey, OSM, buildings as built).
    StatusQuo,
    /// 规划 — plans and permits.
    Plan,
    /// 管控 — control lines (三区三线, river protection).
    Control,
    /// 专题 — thematic layers.
    Thematic,
    /// 应急 — emergency resources and incidents.
    Emergency,
}

impl Group {
    /// All groups in display order.
    pub const ALL: [Group; 5] = [Group::StatusQuo, Group::Plan, Group::Control, Group::Thematic, Group::Emergency];

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Group::StatusQuo => "现状",
            Group::Plan => "规划",
            Group::Control => "管控",
            Group::Thematic => "专题",
            Group::Emergency => "应急",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Group::StatusQuo => "Status quo",
            Group::Plan => "Plan",
            Group::Control => "Control lines",
            Group::Thematic => "Thematic",
            Group::Emergency => "Emergency",
        }
    }

    /// A guess for a layer added by hand, from its name.
    pub fn guess(layer_name: &str) -> Group {
        let n = layer_name.to_lowercase();
        let has = |keys: &[&str]| keys.iter().any(|k| n.contains(k));
        if has(&[
            "zone",
            "redline",
            "red_line",
            "farmland",
            "boundary_ud",
            "control",
            "管控",
            "红线",
            "农田",
            "开发边界",
            "蓝线",
        ]) {
            Group::Control
        } else if has(&["permit", "plan", "规划", "许可"]) {
            Group::Plan
        } else if has(&[
            "shelter",
            "hospital",
            "fire",
            "resource",
            "emergency",
            "incident",
            "应急",
            "避难",
            "消防",
        ]) {
            Group::Emergency
        } else if has(&["building", "road", "landuse", "water", "poi", "建筑", "道路", "用地"]) {
            Group::StatusQuo
        } else {
            Group::Thematic
        }
    }
}

/// Where a layer of the 一张图 comes from: its authority (数据来源), version or date, and
/// level (国家/省/市/县). Shown in the tree and in reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct Provenance {
    /// The authority or source (数据来源).
    #[serde(default)]
    pub source: Option<String>,
    /// Version or date (`2024年度变更调查`, `2023-12-31`).
    #[serde(default)]
    pub version: Option<String>,
    /// Level: 国家, 省, 市, 县 (or anything the office writes).
    #[serde(default)]
    pub level: Option<String>,
}

impl Provenance {
    /// True when nothing is known.
    pub fn is_empty(&self) -> bool {
        self.source.is_none() && self.version.is_none() && self.level.is_none()
    }

    /// One line: `自然资源局 · 2024年度 · 市级`.
    pub fn line(&self) -> String {
        [&self.source, &self.version, &self.level]
            .iter()
            .filter_map(|v| v.as_deref())
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// One layer of a catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// Stable id, unique in the catalog.
    pub id: String,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// Group.
    pub group: Group,
    /// File, relative to the catalog file.
    pub file: PathBuf,
    /// Layer within the file (first layer if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// True for layers made by a generator, not surveyed or approved data.
    #[serde(default)]
    pub synthetic: bool,
    /// Shown when the workspace opens.
    #[serde(default = "yes")]
    pub visible: bool,
    /// The layer's style: a style object, or the path of a style file (JSON, relative to the
    /// catalog), read when the catalog is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<serde_json::Value>,
    /// For a 3D model (glTF, GLB, b3dm): where it stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<crate::gltf::Placement>,
    /// Where the layer comes from (`source`, `version`, `level` beside the other keys).
    #[serde(flatten)]
    pub provenance: Provenance,
}

fn yes() -> bool {
    true
}

/// A catalog file (`catalog.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Title of the workspace in Chinese.
    pub title_zh: String,
    /// Title in English.
    pub title_en: String,
    /// Attribution lines to show with the map.
    #[serde(default)]
    pub attribution: Vec<String>,
    /// Layers, bottom to top.
    pub layers: Vec<CatalogEntry>,
    /// A DEM for the what-if models (flood, viewshed), relative to the catalog; not drawn as
    /// terrain.
    #[serde(default)]
    pub dem: Option<String>,
    /// Where the catalog was read from (entries' files are relative to its folder).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

impl Catalog {
    /// Read a catalog file.
    pub fn load(path: &Path) -> Result<Catalog> {
        let text = std::fs::read_to_string(path).map_err(|e| LayersError::io(path, e))?;
        let mut c: Catalog = serde_json::from_str(&text).map_err(|e| LayersError::Corrupt {
            path: path.to_owned(),
            detail: format!("catalog: {e}"),
        })?;
        c.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        // Style files named by path are read now: a missing or broken one names itself.
        for e in &mut c.layers {
            if let Some(serde_json::Value::String(rel)) = &e.style {
                let file = c.base_dir.join(rel);
                let text = std::fs::read_to_string(&file).map_err(|err| LayersError::io(&file, err))?;
                e.style = Some(serde_json::from_str(&text).map_err(|err| LayersError::Corrupt {
                    path: file.clone(),
                    detail: format!("style file: {err}"),
                })?);
            }
        }
        let mut seen = std::collections::HashSet::new();
        for e in &c.layers {
            if !seen.insert(e.id.as_str()) {
                return Err(LayersError::Corrupt {
                    path: path.to_owned(),
                    detail: format!("catalog: layer id '{}' appears twice", e.id),
                });
            }
        }
        Ok(c)
    }

    /// Absolute path of an entry's file.
    pub fn resolve(&self, entry: &CatalogEntry) -> PathBuf {
        self.base_dir.join(&entry.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn guesses() {
        assert_eq!(Group::guess("buildings_polygon"), Group::StatusQuo);
        assert_eq!(Group::guess("permits"), Group::Plan);
        assert_eq!(Group::guess("ecological_red_line"), Group::Control);
        assert_eq!(Group::guess("shelters"), Group::Emergency);
        assert_eq!(Group::guess("noise_survey"), Group::Thematic);
    }
}
