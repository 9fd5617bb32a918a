//! What this build is and what it carries: version and commit, the libraries it runs on, and
//! the licences of the bundled data and of the open workspace's layers — the About box of the
//! app and `jingwei --version` / `jingwei about` give the same answer.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// The version of the product (the workspace's version, as in `Cargo.toml` and CHANGELOG.md).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit the build was made from (12 hex digits), or "unknown".
pub const COMMIT: &str = env!("JINGWEI_COMMIT");
/// That commit's date (YYYY-MM-DD), or "unknown".
pub const COMMIT_DATE: &str = env!("JINGWEI_COMMIT_DATE");

/// One line: `0.1.0 (b7a2785c1d2e 2026-12-05)`.
pub fn version_line() -> String {
    format!("{VERSION} ({COMMIT} {COMMIT_DATE})")
}

/// A library or framework the product is built with or runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ComponentDto {
    /// Its name.
    pub name: String,
    /// The version in this process (run-time for the C libraries, compile-time for crates).
    pub version: String,
    /// Its licence (SPDX).
    pub licence: String,
}

/// Data or a font, its licence and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct NoticeDto {
    /// What it is (a file, or the layers of the open workspace that share a source).
    pub what: String,
    /// The licence or terms.
    pub licence: String,
    /// The source or copyright line.
    pub source: String,
}

/// The About box.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AboutDto {
    /// 经纬 Jingwei.
    pub product: String,
    /// The product version.
    pub version: String,
    /// The commit of the build.
    pub commit: String,
    /// The commit's date.
    pub commit_date: String,
    /// The target it was compiled for (`x86_64-unknown-linux-gnu`, `aarch64-unknown-linux-gnu`).
    pub target: String,
    /// GDAL, PROJ, GEOS, SQLite, Bevy, Tauri, geo, rstar.
    pub components: Vec<ComponentDto>,
    /// The bundled data and fonts, then the open workspace's layer sources.
    pub data: Vec<NoticeDto>,
    /// The folder holding the full licence texts and attributions (the package's
    /// `/usr/share/doc/jingwei`, or the source tree).
    pub licence_dir: String,
}

fn component(name: &str, version: &str, licence: &str) -> ComponentDto {
    ComponentDto {
        name: name.into(),
        version: version.into(),
        licence: licence.into(),
    }
}

fn notice(what: &str, licence: &str, source: &str) -> NoticeDto {
    NoticeDto {
        what: what.into(),
        licence: licence.into(),
        source: source.into(),
    }
}

/// The data and fonts every build and package carries (`assets/ATTRIBUTION.md` says the same at
/// length; a test holds the two together). Test data that is not shipped is not listed.
pub fn bundled_notices() -> Vec<NoticeDto> {
    vec![
        notice(
            "demo/lujiazui_osm.gpkg",
            "ODbL-1.0",
            "© OpenStreetMap contributors (https://www.openstreetmap.org/copyright); tiles: Nextzen/Tilezen",
        ),
        notice(
            "demo/planning_synthetic.gpkg",
            "ODbL-1.0",
            "SYNTHETIC: made by jingwei-tools generate-demo from the OpenStreetMap geometry",
        ),
        notice("demo/feeds/", "MIT OR Apache-2.0", "SYNTHETIC: demo feeds written for Jingwei"),
        notice(
            "NotoSansCJKsc-Regular-subset.otf (map labels)",
            "OFL-1.1",
            "Noto Sans CJK SC, © 2014-2021 Adobe (OFL.txt)",
        ),
        notice(
            "@fontsource/noto-sans-sc (the interface)",
            "OFL-1.1",
            "Noto Sans SC, © Google / Adobe (NotoSansSC-OFL.txt)",
        ),
    ]
}

/// The folder with the full licence texts: the package's doc folder beside the executable
/// (`<prefix>/share/doc/jingwei`), else the source tree.
pub fn licence_dir() -> PathBuf {
    let installed = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().and_then(|bin| bin.parent()).map(|p| p.join("share/doc/jingwei")));
    match installed {
        Some(d) if d.join("ATTRIBUTION.md").exists() => d,
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    }
}

/// Everything the About box shows; `workspace` adds the open workspace's layer sources.
pub fn about(workspace: Option<&jingwei_layers::Workspace>) -> AboutDto {
    let libs = jingwei_layers::library_versions();
    let mut components = vec![component("GDAL", &libs.gdal, "MIT"), component("PROJ", &libs.proj, "MIT")];
    if let Some(geos) = &libs.geos {
        components.push(component("GEOS", geos, "LGPL-2.1-or-later"));
    }
    components.extend([
        component("SQLite", &libs.sqlite, "blessing (public domain)"),
        component("Bevy", env!("JINGWEI_BEVY_VERSION"), "MIT OR Apache-2.0"),
        component("Tauri", env!("JINGWEI_TAURI_VERSION"), "MIT OR Apache-2.0"),
        component("geo", env!("JINGWEI_GEO_VERSION"), "MIT OR Apache-2.0"),
        component("rstar", env!("JINGWEI_RSTAR_VERSION"), "MIT OR Apache-2.0"),
    ]);
    let mut data = bundled_notices();
    if let Some(ws) = workspace {
        data.extend(layer_sources(ws));
    }
    AboutDto {
        product: "经纬 Jingwei".into(),
        version: VERSION.into(),
        commit: COMMIT.into(),
        commit_date: COMMIT_DATE.into(),
        target: env!("JINGWEI_TARGET").into(),
        components,
        data,
        licence_dir: licence_dir().display().to_string(),
    }
}

/// The open workspace's layers grouped by their 数据来源 (in layer order), with the
/// workspace's attribution lines as the terms where the catalog gives no source.
fn layer_sources(ws: &jingwei_layers::Workspace) -> Vec<NoticeDto> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for l in &ws.layers {
        let source = l.provenance.source.clone().unwrap_or_default();
        match groups.iter_mut().find(|(s, _)| *s == source) {
            Some((_, titles)) => titles.push(l.title.clone()),
            None => groups.push((source, vec![l.title.clone()])),
        }
    }
    let attribution = ws.attribution.join(" ");
    groups
        .into_iter()
        .map(|(source, titles)| NoticeDto {
            what: titles.join("、"),
            licence: licence_in(&source).unwrap_or_else(|| "—".into()),
            source: if source.is_empty() { attribution.clone() } else { source },
        })
        .collect()
}

/// A licence named in a source line: `OpenStreetMap 贡献者 (ODbL)` → `ODbL-1.0`.
fn licence_in(source: &str) -> Option<String> {
    const KNOWN: [(&str, &str); 6] = [
        ("ODbL", "ODbL-1.0"),
        ("CC-BY-4.0", "CC-BY-4.0"),
        ("CC BY 4.0", "CC-BY-4.0"),
        ("CC0", "CC0-1.0"),
        ("合成", "SYNTHETIC"),
        ("SYNTHETIC", "SYNTHETIC"),
    ];
    KNOWN.iter().find(|(k, _)| source.contains(k)).map(|(_, v)| (*v).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_line_names_its_licence() {
        assert_eq!(licence_in("OpenStreetMap 贡献者 (ODbL)").as_deref(), Some("ODbL-1.0"));
        assert_eq!(licence_in("jingwei generate-demo（合成示意数据）").as_deref(), Some("SYNTHETIC"));
        assert_eq!(licence_in("自然资源局"), None);
    }

    #[test]
    fn every_bundled_notice_is_in_the_attribution_file() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/ATTRIBUTION.md")).unwrap();
        for n in bundled_notices() {
            let file = n.what.split(' ').next().unwrap();
            assert!(text.contains(file), "{} is not in assets/ATTRIBUTION.md", n.what);
            assert!(!n.licence.is_empty() && !n.source.is_empty(), "{n:?}");
        }
    }

    #[test]
    fn the_build_knows_its_commit_and_the_libraries_it_runs_on() {
        let a = about(None);
        // The test runs from the source tree, a git checkout: the commit is known.
        assert!(
            a.commit.len() == 12 && a.commit.chars().all(|c| c.is_ascii_hexdigit()),
            "{}",
            a.commit
        );
        let gdal = a.components.iter().find(|c| c.name == "GDAL").unwrap();
        assert!(gdal.version.starts_with("3."), "{gdal:?}");
        let proj = a.components.iter().find(|c| c.name == "PROJ").unwrap();
        assert!(proj.version.split('.').count() == 3, "{proj:?}");
        assert!(
            a.components.iter().all(|c| c.version != "?" && !c.version.is_empty()),
            "{:?}",
            a.components
        );
    }
}
