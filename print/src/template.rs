//! The print template: a small TOML file a bureau keeps per kind of map.
//!
//! ```toml
//! title = "某某项目用地压占分析图"
//! paper = "A3"              # A4 or A3
//! orientation = "landscape" # or portrait
//! scale = 2000              # 1:2000
//! unit = "某市自然资源和规划局"  # 制图单位
//! date = "2026-12-05"       # 制图日期; today when left out
//! dpi = 300                 # for PNG
//!
//! [[field]]
//! label = "申请方"
//! text = "某某置业有限公司"
//! ```

use serde::Deserialize;

use crate::{PrintError, Result};

/// Paper sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// 210 × 297 mm.
    A4,
    /// 297 × 420 mm.
    A3,
}

/// Which side of the paper is long across.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    /// Tall.
    Portrait,
    /// Wide.
    Landscape,
}

/// Scales a planning map is usually printed at; any other 1:N from 1:100 to 1:1,000,000 is
/// allowed too.
pub const USUAL_SCALES: [u32; 7] = [500, 1000, 2000, 5000, 10_000, 25_000, 50_000];

/// A layout's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The map's title.
    pub title: String,
    /// Paper.
    pub paper: Paper,
    /// Orientation.
    pub orientation: Orientation,
    /// The denominator of the scale (`2000` for 1:2000); `None`: the caller chooses one that fits.
    pub scale: Option<u32>,
    /// 制图单位.
    pub unit: String,
    /// 制图日期 (`None`: the caller's today).
    pub date: Option<String>,
    /// Text fields in order: (label, text).
    pub fields: Vec<(String, String)>,
    /// Resolution of PNG output.
    pub dpi: u32,
}

impl Default for Template {
    fn default() -> Template {
        Template {
            title: String::new(),
            paper: Paper::A4,
            orientation: Orientation::Landscape,
            scale: None,
            unit: String::new(),
            date: None,
            fields: Vec::new(),
            dpi: 300,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    title: Option<String>,
    paper: Option<String>,
    orientation: Option<String>,
    scale: Option<i64>,
    unit: Option<String>,
    date: Option<String>,
    dpi: Option<i64>,
    #[serde(default)]
    field: Vec<Field>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Field {
    label: String,
    #[serde(default)]
    text: String,
}

/// Check a paper name.
pub fn paper(s: &str) -> std::result::Result<Paper, String> {
    match s.trim().to_ascii_uppercase().as_str() {
        "A4" => Ok(Paper::A4),
        "A3" => Ok(Paper::A3),
        other => Err(format!("paper \"{other}\": give A4 or A3")),
    }
}

/// Check an orientation name (English or 纵向/横向).
pub fn orientation(s: &str) -> std::result::Result<Orientation, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "portrait" | "纵向" => Ok(Orientation::Portrait),
        "landscape" | "横向" => Ok(Orientation::Landscape),
        other => Err(format!("orientation \"{other}\": give portrait or landscape")),
    }
}

/// Check a scale denominator.
pub fn scale(n: i64) -> std::result::Result<u32, String> {
    if (100..=1_000_000).contains(&n) {
        Ok(n as u32)
    } else {
        Err(format!(
            "scale 1:{n}: give a denominator from 100 to 1000000 (e.g. 500, 1000, 2000, 5000, 10000)"
        ))
    }
}

/// Check a resolution.
pub fn dpi(n: i64) -> std::result::Result<u32, String> {
    if (72..=600).contains(&n) {
        Ok(n as u32)
    } else {
        Err(format!("{n} dpi: give 72 to 600"))
    }
}

impl Template {
    /// Parse a template's text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Template> {
        let err = |message: String| PrintError::Template {
            path: path.to_string(),
            message,
        };
        let f: File = toml::from_str(text).map_err(|e| err(e.message().to_string()))?;
        let d = Template::default();
        let fields = f
            .field
            .into_iter()
            .map(|x| {
                if x.label.trim().is_empty() {
                    Err(err("a [[field]] without a label".into()))
                } else {
                    Ok((x.label, x.text))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Template {
            title: f.title.unwrap_or_default(),
            paper: f.paper.as_deref().map(paper).transpose().map_err(err)?.unwrap_or(d.paper),
            orientation: f
                .orientation
                .as_deref()
                .map(orientation)
                .transpose()
                .map_err(err)?
                .unwrap_or(d.orientation),
            scale: f.scale.map(scale).transpose().map_err(err)?,
            unit: f.unit.unwrap_or_default(),
            date: f.date,
            fields,
            dpi: f.dpi.map(dpi).transpose().map_err(err)?.unwrap_or(d.dpi),
        })
    }

    /// Read a template file.
    pub fn read(path: &std::path::Path) -> Result<Template> {
        let text = std::fs::read_to_string(path).map_err(|e| PrintError::Template {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Template::parse(&text, &path.display().to_string())
    }

    /// The page's width and height, millimetres.
    pub fn page_mm(&self) -> (f32, f32) {
        let (short, long) = match self.paper {
            Paper::A4 => (210.0, 297.0),
            Paper::A3 => (297.0, 420.0),
        };
        match self.orientation {
            Orientation::Portrait => (short, long),
            Orientation::Landscape => (long, short),
        }
    }

    /// The paper's name (`A4`).
    pub fn paper_name(&self) -> &'static str {
        match self.paper {
            Paper::A4 => "A4",
            Paper::A3 => "A3",
        }
    }
}
