//! Where a tileset's files come from: a folder ([`Files`]) or a 3D Tiles archive (`.3tz`, a ZIP
//! whose files are the tileset's — stored or deflated; its `@3dtilesIndex1@` index is not needed
//! to find them). Inside an archive a file's path is the archive's path joined with its name
//! there, so that URIs resolve against their tileset's folder the same way in both.

use crate::{LayersError, Result};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

/// Reads a tileset's files.
pub trait Fetch: Send + Sync + std::fmt::Debug {
    /// The bytes of `path`.
    fn fetch(&self, path: &Path) -> Result<Vec<u8>>;
    /// Its size, where known without reading it.
    fn size(&self, path: &Path) -> Option<u64> {
        let _ = path;
        None
    }
}

/// Files on disk.
#[derive(Debug, Clone, Copy, Default)]
pub struct Files;

impl Fetch for Files {
    fn fetch(&self, path: &Path) -> Result<Vec<u8>> {
        std::fs::read(path).map_err(|e| LayersError::io(path, e))
    }
    fn size(&self, path: &Path) -> Option<u64> {
        std::fs::metadata(path).ok().map(|m| m.len())
    }
}

/// `a/./b/../c` as `a/c`, without asking the file system (paths inside an archive are not on it).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// Opens a tileset named by an `http://` or `https://` URL: the path its files are addressed by
/// (the root `tileset.json` under a folder standing for the URL's own) and what fetches them.
pub type RemoteOpener = fn(&str) -> Result<(PathBuf, std::sync::Arc<dyn Fetch>)>;

static REMOTE: std::sync::OnceLock<RemoteOpener> = std::sync::OnceLock::new();

/// Register the opener of HTTP(S) tilesets (the map-service crate's client: the core makes no
/// network requests of its own). The first registration stays.
pub fn register_remote(opener: RemoteOpener) {
    let _ = REMOTE.set(opener);
}

/// Whether `path` is an `http://` or `https://` URL.
pub fn is_url(path: &Path) -> bool {
    let s = path.to_string_lossy();
    let lower = s.get(..8).unwrap_or(&s).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Open an HTTP(S) tileset through the registered opener.
pub fn open_remote(url: &str) -> Result<(PathBuf, std::sync::Arc<dyn Fetch>)> {
    match REMOTE.get() {
        Some(open) => open(url),
        None => Err(LayersError::Invalid(format!(
            "{url}: HTTP tilesets are read through the map-service client, which this program does not include"
        ))),
    }
}

/// A `.3tz` archive.
pub struct Archive {
    path: PathBuf,
    zip: Mutex<zip::ZipArchive<std::fs::File>>,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive").field("path", &self.path).finish()
    }
}

impl Archive {
    /// Open an archive (its directory is read; the files are read as they are asked for).
    pub fn open(path: &Path) -> Result<Archive> {
        let file = std::fs::File::open(path).map_err(|e| LayersError::io(path, e))?;
        let zip = zip::ZipArchive::new(file).map_err(|e| LayersError::Corrupt {
            path: path.to_owned(),
            detail: format!("3D Tiles archive (.3tz): not a ZIP archive: {e}"),
        })?;
        Ok(Archive {
            path: normalize(path),
            zip: Mutex::new(zip),
        })
    }

    /// The name inside the archive of a path under it.
    fn name(&self, path: &Path) -> Result<String> {
        let rel = normalize(path);
        let rel = rel
            .strip_prefix(&self.path)
            .map_err(|_| LayersError::NotFound { path: path.to_owned() })?;
        Ok(rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"))
    }
}

impl Fetch for Archive {
    fn fetch(&self, path: &Path) -> Result<Vec<u8>> {
        use std::io::Read;
        let name = self.name(path)?;
        let mut zip = self
            .zip
            .lock()
            .map_err(|_| LayersError::Invalid("the archive's reader failed earlier".into()))?;
        let mut f = zip.by_name(&name).map_err(|e| match e {
            zip::result::ZipError::FileNotFound => LayersError::NotFound { path: path.to_owned() },
            e => LayersError::Corrupt {
                path: self.path.clone(),
                detail: format!("3D Tiles archive: {name}: {e}"),
            },
        })?;
        // Sizes are the archive's word: a bomb is refused before it is inflated.
        if f.size() > 2 << 30 {
            return Err(LayersError::Corrupt {
                path: self.path.clone(),
                detail: format!("3D Tiles archive: {name} says it inflates to {} bytes", f.size()),
            });
        }
        let mut out = Vec::with_capacity(f.size() as usize);
        f.read_to_end(&mut out).map_err(|e| LayersError::Corrupt {
            path: self.path.clone(),
            detail: format!("3D Tiles archive: {name}: {e}"),
        })?;
        Ok(out)
    }

    fn size(&self, path: &Path) -> Option<u64> {
        let name = self.name(path).ok()?;
        let mut zip = self.zip.lock().ok()?;
        zip.by_name(&name).ok().map(|f| f.size())
    }
}
