//! Files the product writes for the user and where they go: atomic writes, the user's data,
//! config and pictures folders, the recent-workspace list, and who the actor is.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Write `bytes` to `path` so that a reader (or a crash) sees the old file or the new one,
/// never half of it: a temporary file beside it, flushed to disk, renamed over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir)
}

/// `$XDG_DATA_HOME/jingwei` (else `~/.local/share/jingwei`): the user's own records.
pub fn data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".local/share"))
        .join("jingwei")
}

/// `$XDG_CACHE_HOME/jingwei` (else `~/.cache/jingwei`): what can be fetched again (map tiles).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache"))
        .join("jingwei")
}

/// `$XDG_CONFIG_HOME/jingwei` (else `~/.config/jingwei`).
pub fn config_dir() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".config"))
        .join("jingwei")
}

/// Where exported maps and reports go: `JINGWEI_EXPORT_DIR`, else ~/Pictures (or the home
/// folder).
pub fn export_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("JINGWEI_EXPORT_DIR") {
        return PathBuf::from(d);
    }
    let pictures = home().join("Pictures");
    if pictures.is_dir() { pictures } else { home() }
}

/// The store of the demo city's cases and incidents: `JINGWEI_CASES`, else the user's data
/// folder.
pub fn demo_store() -> PathBuf {
    std::env::var_os("JINGWEI_CASES")
        .map(PathBuf::from)
        .unwrap_or_else(|| data_dir().join("demo-cases.gpkg"))
}

/// The demo city's catalog: `JINGWEI_DEMO`; else the package's `<prefix>/share/jingwei/demo`
/// (the executable in `<prefix>/bin`); else `assets/demo` beside the executable; else the
/// source tree.
pub fn demo_catalog() -> PathBuf {
    if let Some(p) = std::env::var_os("JINGWEI_DEMO") {
        return PathBuf::from(p);
    }
    let exe_dir = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf));
    demo_catalog_near(exe_dir.as_deref())
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/demo/catalog.json")))
}

/// The demo catalog of an installed package or of a folder of programs, from the folder the
/// executable is in.
fn demo_catalog_near(exe_dir: Option<&Path>) -> Option<PathBuf> {
    let d = exe_dir?;
    [d.join("../share/jingwei/demo/catalog.json"), d.join("assets/demo/catalog.json")]
        .into_iter()
        .find(|p| p.exists())
}

fn recent_file() -> PathBuf {
    config_dir().join("recent.json")
}

/// Recently saved or opened workspace files that still exist, newest first.
pub fn recent_workspaces() -> Vec<String> {
    std::fs::read(recent_file())
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<String>>(&b).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| Path::new(p).exists())
        .collect()
}

/// Put `path` first in the recent list (at most ten). The list is a convenience: failing to
/// write it is not an error of the save or open that called this.
pub fn remember(path: &Path) {
    let p = path.display().to_string();
    let mut list = recent_workspaces();
    list.retain(|x| *x != p);
    list.insert(0, p);
    list.truncate(10);
    if let Ok(bytes) = serde_json::to_vec(&list) {
        let _ = write_atomic(&recent_file(), &bytes);
    }
}

/// Who acts, for the audit trail: the name given, else `$USER` / `$USERNAME`, else `jingwei`.
pub fn actor(given: Option<&str>) -> String {
    given
        .map(str::to_string)
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("USERNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "jingwei".into())
}

/// A timestamp for file names: `YYYYMMDDhhmmss` (UTC).
pub fn stamp() -> String {
    jingwei_cases::now_utc().chars().filter(char::is_ascii_digit).take(14).collect()
}

/// One folder as the add-data dialog shows it.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
pub struct FolderDto {
    /// The folder.
    pub path: String,
    /// Its parent, if any.
    pub parent: Option<String>,
    /// Sub-folders and the datasets the core reads.
    pub entries: Vec<jingwei_layers::source::FolderEntry>,
}

/// The sub-folders and readable datasets of `path` (its folder when it is a file; the home
/// folder when none is given).
pub fn browse(path: Option<&str>) -> Result<FolderDto> {
    let dir = path
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(home);
    let dir = match dir.parent() {
        Some(parent) if dir.is_file() => parent.to_path_buf(),
        _ => dir,
    };
    let entries = jingwei_layers::source::list_readable(&dir)?;
    Ok(FolderDto {
        path: dir.display().to_string(),
        parent: dir.parent().map(|p| p.display().to_string()),
        entries,
    })
}

/// Save a PNG the page composed (the map with title, legend, scale bar and north arrow) into
/// the export folder; returns its path.
pub fn save_png(bytes: &[u8]) -> Result<PathBuf> {
    if bytes.len() < 8 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" {
        return Err(Error::Invalid("not a PNG image".into()));
    }
    let path = export_dir().join(format!("jingwei-map-{}.png", stamp()));
    write_atomic(&path, bytes)?;
    Ok(path)
}

/// Standard base64 (RFC 4648) for data: URIs.
pub(crate) fn base64(bytes: &[u8]) -> String {
    jingwei_layers::encoding::base64_encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_program_finds_the_demo_city_in_its_share_folder() {
        let prefix = tempfile::tempdir().unwrap();
        let bin = prefix.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        assert_eq!(demo_catalog_near(Some(&bin)), None);
        let demo = prefix.path().join("share/jingwei/demo");
        std::fs::create_dir_all(&demo).unwrap();
        std::fs::write(demo.join("catalog.json"), "{}").unwrap();
        let found = demo_catalog_near(Some(&bin)).unwrap();
        assert_eq!(found.canonicalize().unwrap(), demo.join("catalog.json").canonicalize().unwrap());
    }

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/out.html");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // A folder in the way: an error naming the file, and the folder untouched.
        let e = write_atomic(d.path(), b"x").unwrap_err().to_string();
        assert!(e.contains(&d.path().display().to_string()), "{e}");
    }

    #[test]
    fn a_png_must_be_one() {
        assert!(save_png(b"GIF89a....").is_err());
    }
}
