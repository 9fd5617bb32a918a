//! 3D Tiles over HTTP(S): a tileset on a server the user names is read through
//! [`jingwei_layers::tiles3d::archive::Fetch`], as a folder would be.
//!
//! Only files under the tileset's own folder on that server are fetched: a content or external
//! tileset whose URI leaves it (another host, an absolute path, `..` above the folder) is an
//! error naming the URI, and no request is made for it. So the server the user configured is the
//! only one the twin talks to.

use jingwei_layers::tiles3d::archive::{Fetch, normalize};
use jingwei_layers::{LayersError, Result};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The folder standing for the tileset's URL folder in the paths the tileset addresses.
const ROOT: &str = "/jingwei-http";

/// Files fetched from one folder on one server.
pub struct Http {
    /// The folder's URL, ending in `/`.
    base: String,
    root: PathBuf,
    client: reqwest::blocking::Client,
    /// Sizes of files fetched, by path, and their sum and count (the size of one not yet
    /// fetched is taken as the mean, so that the streamer's budget can plan).
    sizes: Mutex<(HashMap<PathBuf, u64>, u64, u64)>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("base", &crate::http::redact(&self.base)).finish()
    }
}

/// Register [`open`] as the opener of HTTP(S) tilesets (once; later calls change nothing).
pub fn register() {
    jingwei_layers::tiles3d::archive::register_remote(open);
}

/// Open `url` (a `tileset.json` on a server): the path to open it by and its fetcher.
pub fn open(url: &str) -> Result<(PathBuf, std::sync::Arc<dyn Fetch>)> {
    let bad = |detail: &str| LayersError::Invalid(format!("{}: {detail}", crate::http::redact(url)));
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad("a tileset URL starts with http:// or https:// and names a server"));
    }
    let path = parsed.path();
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    if file.is_empty() {
        return Err(bad("name the tileset's JSON file (…/tileset.json)"));
    }
    let mut base = parsed.clone();
    base.set_path(&format!("{dir}/"));
    base.set_fragment(None);
    let client = reqwest::blocking::Client::builder()
        .user_agent(concat!("Jingwei/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| bad(&format!("cannot make an HTTP client: {e}")))?;
    let root = PathBuf::from(ROOT);
    let http = Http {
        base: base.to_string(),
        root: root.clone(),
        client,
        sizes: Mutex::new((HashMap::new(), 0, 0)),
    };
    let file = percent_decode(file);
    Ok((root.join(file), std::sync::Arc::new(http)))
}

impl Http {
    /// The URL of a path under the root, or why it may not be fetched.
    fn url(&self, path: &Path) -> Result<String> {
        let rel = normalize(path);
        let outside = || {
            LayersError::Invalid(format!(
                "{}: outside the tileset's folder on {}; not fetched",
                path.display(),
                crate::http::redact(&self.base)
            ))
        };
        let rel = rel.strip_prefix(&self.root).map_err(|_| outside())?;
        let mut parts = Vec::new();
        for c in rel.components() {
            match c {
                Component::Normal(p) => {
                    let p = p.to_string_lossy();
                    // `https:` as a folder: an absolute URI joined onto the folder.
                    if p.ends_with(':') {
                        return Err(outside());
                    }
                    parts.push(percent_encode(&p));
                }
                _ => return Err(outside()),
            }
        }
        Ok(format!("{}{}", self.base, parts.join("/")))
    }
}

impl Fetch for Http {
    fn fetch(&self, path: &Path) -> Result<Vec<u8>> {
        let url = self.url(path)?;
        let shown = crate::http::redact(&url);
        let fail = |detail: String| LayersError::Corrupt {
            path: PathBuf::from(&shown),
            detail,
        };
        let resp = self.client.get(&url).send().map_err(|e| fail(format!("cannot fetch: {e}")))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(fail(format!("the server answered HTTP {status}")));
        }
        let bytes = resp.bytes().map_err(|e| fail(format!("the answer broke off: {e}")))?.to_vec();
        if let Ok(mut s) = self.sizes.lock()
            && s.0.insert(normalize(path), bytes.len() as u64).is_none()
        {
            s.1 += bytes.len() as u64;
            s.2 += 1;
        }
        Ok(bytes)
    }

    fn size(&self, path: &Path) -> Option<u64> {
        let s = self.sizes.lock().ok()?;
        s.0.get(&normalize(path)).copied().or_else(|| (s.2 > 0).then(|| s.1 / s.2))
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            // `%` passes: URIs in a tileset may be percent-encoded already.
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'%' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_urls_under_the_folder_only() {
        let (root, _) = open("http://127.0.0.1:9/city/a%20b/tileset.json").unwrap();
        assert_eq!(root, Path::new("/jingwei-http/tileset.json"));
        let (_, f) = open("http://127.0.0.1:9/city/a%20b/tileset.json").unwrap();
        let _ = f;
        let h = match open("https://example.org/x/tileset.json") {
            Ok(_) => Http {
                base: "https://example.org/x/".into(),
                root: PathBuf::from(ROOT),
                client: reqwest::blocking::Client::new(),
                sizes: Mutex::new((HashMap::new(), 0, 0)),
            },
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            h.url(Path::new("/jingwei-http/tiles/0 1.b3dm")).unwrap(),
            "https://example.org/x/tiles/0%201.b3dm"
        );
        assert_eq!(
            h.url(Path::new("/jingwei-http/a/../b.b3dm")).unwrap(),
            "https://example.org/x/b.b3dm"
        );
        for escape in [
            "/jingwei-http/../y/b.b3dm",
            "/etc/passwd",
            "/jingwei-http/https:/evil.example/b.b3dm",
        ] {
            let e = h.url(Path::new(escape)).unwrap_err().to_string();
            assert!(e.contains("outside the tileset's folder"), "{e}");
        }
        assert!(open("ftp://x/tileset.json").is_err());
        assert!(open("http://x/dir/").is_err());
    }
}
