//! The HTTP side: one client per source, its requests run on a small shared runtime and
//! awaited on the caller's thread (callable from plain threads and from an app's async
//! handlers alike); a request for a tile that left the view is dropped mid-way when the
//! loader raises the tile's cancel flag; extra parameters and headers on every
//! request, a time limit of the user's, answers sorted into tiles, "no tile here", failures
//! that may pass and failures that will not; a disk cache of raw tiles with a size limit; and
//! [`redact`], which blanks keys out of every URL a message shows.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use jingwei_layers::imagery::{Legend, Tile, TileError};

use crate::{DiskCache, Result, ServiceError, ServiceSpec};

/// Query parameters whose values are secrets.
const SECRET_PARAMS: [&str; 8] = ["tk", "key", "apikey", "api_key", "token", "access_token", "ak", "password"];

/// `url` with the values of key-like parameters blanked out (`tk=***`).
pub fn redact(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()) => format!("{k}=***"),
            _ => p.to_owned(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

/// `base` with `params` appended (`?` or `&` as needed; a base ending in `?` or `&` is fine).
pub fn with_params(base: &str, params: &[(String, String)]) -> String {
    let mut url = base.to_owned();
    for (k, v) in params {
        if !(url.ends_with('?') || url.ends_with('&')) {
            url.push(if url.contains('?') { '&' } else { '?' });
        }
        url.push_str(&encode(k));
        url.push('=');
        url.push_str(&encode(v));
    }
    url
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' | b',' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A client for one service: its parameters and headers go on every request.
pub struct Client {
    http: reqwest::Client,
    params: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

/// What came back for a tile.
pub enum Answer {
    /// Image bytes.
    Bytes(Vec<u8>),
    /// The service has no tile there (404, 204, an exception saying so).
    Empty,
}

impl Client {
    /// A client for `spec`'s service.
    pub fn new(spec: &ServiceSpec) -> Result<Client> {
        let limit = Duration::from_secs(u64::from(spec.timeout_s.unwrap_or(DEFAULT_TIMEOUT_S).clamp(1, 600)));
        let connect = limit.min(Duration::from_secs(5));
        let agent = concat!("Jingwei/", env!("CARGO_PKG_VERSION"));
        // (Made anywhere; its requests run on `runtime()`.)
        let http = reqwest::Client::builder()
            .user_agent(agent)
            .connect_timeout(connect)
            .timeout(limit)
            .build()
            .map_err(|e| ServiceError::Invalid(format!("cannot make an HTTP client: {e}")))?;
        Ok(Client {
            http,
            params: spec.params.clone(),
            headers: spec.headers.clone(),
        })
    }

    /// `url` with this service's parameters.
    pub fn url(&self, url: &str) -> String {
        with_params(url, &self.params)
    }

    fn request(&self, url: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.get(url);
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        req
    }

    /// A document (capabilities): its text, or why not.
    pub fn text(&self, url: &str) -> Result<String> {
        let full = self.url(url);
        let err = |detail: String| ServiceError::Request {
            url: redact(&full),
            detail,
        };
        let req = self.request(&full);
        let (status, text) = block(async move {
            let resp = req.send().await?;
            let status = resp.status();
            Ok::<_, reqwest::Error>((status, resp.text().await?))
        })
        .map_err(|e| err(describe(&e)))?;
        if !status.is_success() {
            let why = exception_text(&text).unwrap_or_else(|| first_line(&text));
            return Err(err(format!("HTTP {status}: {why}")));
        }
        Ok(text)
    }

    /// A tile, sorted: bytes, nothing there, or an error that may or may not pass. The
    /// request is dropped (the connection closed) as soon as the calling loader worker's
    /// cancel flag rises: [`TileError::Cancelled`].
    pub fn tile(&self, url: &str) -> std::result::Result<Answer, TileError> {
        let full = self.url(url);
        let shown = redact(&full);
        let flag = jingwei_layers::imagery::cancel::token();
        let req = self.request(&full);
        let work = async move {
            let mut resp = req.send().await?;
            let status = resp.status();
            let ctype = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase();
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await? {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_TILE_BYTES {
                    break;
                }
            }
            Ok::<_, reqwest::Error>((status, ctype, body))
        };
        let outcome = block(async {
            tokio::select! {
                r = work => Some(r),
                () = cancelled(flag) => None,
            }
        });
        let (status, ctype, body) = match outcome {
            None => return Err(TileError::Cancelled),
            Some(Err(e)) => {
                let d = format!("{shown}: {}", describe(&e));
                return Err(if e.is_timeout() || e.is_connect() || e.is_request() || e.is_body() {
                    TileError::Transient(d)
                } else {
                    TileError::Failed(d)
                });
            }
            Some(Ok(answer)) => answer,
        };
        if status.as_u16() == 404 || status.as_u16() == 204 || (status.is_success() && body.is_empty()) {
            return Ok(Answer::Empty);
        }
        let xml = ctype.contains("xml") || body.first() == Some(&b'<');
        if xml {
            let text = String::from_utf8_lossy(&body);
            // OGC's "no tile here" codes are not failures.
            if text.contains("TileOutOfRange") || text.contains("TileOutOfBounds") {
                return Ok(Answer::Empty);
            }
            let d = match exception_text(&text) {
                Some(why) => format!("{shown}: the service answered an exception: {why}"),
                None => format!("{shown}: the service answered a document, not an image ({})", first_line(&text)),
            };
            return Err(if status.is_server_error() {
                TileError::Transient(d)
            } else {
                TileError::Failed(d)
            });
        }
        if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            return Err(TileError::Transient(format!("{shown}: HTTP {status}")));
        }
        if !status.is_success() {
            return Err(TileError::Failed(format!("{shown}: HTTP {status}")));
        }
        Ok(Answer::Bytes(body))
    }
}

/// Seconds a request may take when the service's settings give none.
pub const DEFAULT_TIMEOUT_S: u32 = 20;
/// A tile larger than this is cut off (and will not decode).
const MAX_TILE_BYTES: usize = 64 << 20;

/// The runtime tile requests run on: one thread driving the connections; each request is
/// awaited on its caller's thread.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("jingwei-http")
            .enable_all()
            .build()
            .expect("a tokio runtime for tile requests")
    })
}

/// Run a request to its end on [`runtime()`], waiting on the calling thread — or, called
/// from a thread of some async runtime (an app's command handler), on a thread of its own,
/// since blocking a runtime's thread is not allowed.
fn block<F>(work: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| {
            s.spawn(|| runtime().block_on(work))
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    } else {
        runtime().block_on(work)
    }
}

/// Resolves when `flag` rises (never without one).
async fn cancelled(flag: Option<Arc<AtomicBool>>) {
    let Some(f) = flag else { return std::future::pending().await };
    while !f.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&redact(&inner.to_string()));
        src = inner.source();
    }
    s
}

fn first_line(text: &str) -> String {
    let t: String = text.trim().lines().next().unwrap_or("").chars().take(200).collect();
    if t.is_empty() { "(empty answer)".into() } else { t }
}

/// The text of an OGC exception report (`ExceptionText`, `ServiceException`), if it is one.
pub fn exception_text(xml: &str) -> Option<String> {
    let doc = parse_xml(xml).ok()?;
    let mut texts = Vec::new();
    for n in doc.descendants().filter(|n| n.is_element()) {
        let name = n.tag_name().name();
        if name == "ExceptionText" || name == "ServiceException" {
            let t = n.text().unwrap_or("").trim();
            let code = n
                .attribute("code")
                .or_else(|| n.parent().and_then(|p| p.attribute("exceptionCode")));
            texts.push(match code {
                Some(c) if !t.is_empty() => format!("{c}: {t}"),
                Some(c) => c.to_owned(),
                None => t.to_owned(),
            });
        } else if name == "Exception"
            && n.children().all(|c| !c.is_element() || c.tag_name().name() != "ExceptionText")
            && let Some(c) = n.attribute("exceptionCode")
        {
            texts.push(c.to_owned());
        }
    }
    (!texts.is_empty()).then(|| texts.join("; "))
}

/// The first child element of `n` named `name` (any namespace).
pub fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

/// An element's text, trimmed; empty when there is none.
pub fn text(n: Option<roxmltree::Node<'_, '_>>) -> String {
    n.and_then(|n| n.text()).unwrap_or("").trim().to_owned()
}

/// Parse XML, DTDs allowed (MapServer's WMS 1.1.1 capabilities carry one; nothing is fetched).
pub fn parse_xml(xml: &str) -> std::result::Result<roxmltree::Document<'_>, roxmltree::Error> {
    roxmltree::Document::parse_with_options(
        xml,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
}

/// Decode image bytes into a tile of straight RGBA.
pub fn decode(bytes: &[u8], what: &str) -> std::result::Result<Tile, TileError> {
    let img = image::load_from_memory(bytes).map_err(|e| TileError::Failed(format!("{what}: not an image: {e}")))?;
    let rgba = img.to_rgba8();
    Ok(Tile {
        width: rgba.width(),
        height: rgba.height(),
        rgba: rgba.into_raw(),
    })
}

/// A tile through the disk store: the stored bytes when there, else fetched from `url` and
/// stored ("no tile here" too, when `remember_empty`).
pub fn tile_through(
    client: &Client,
    store: Option<&TileStore>,
    id: &str,
    (col, row): (u32, u32),
    url: &str,
    remember_empty: bool,
) -> std::result::Result<Option<Tile>, TileError> {
    if let Some(bytes) = store.and_then(|s| s.get(id, col, row)) {
        if bytes.is_empty() {
            return Ok(None);
        }
        if let Ok(t) = decode(&bytes, "cached tile") {
            return Ok(Some(t));
        }
    }
    match client.tile(url)? {
        Answer::Empty => {
            if let Some(s) = store.filter(|_| remember_empty) {
                s.put(id, col, row, &[]);
            }
            Ok(None)
        }
        Answer::Bytes(b) => {
            let t = decode(&b, &redact(&client.url(url)))?;
            if let Some(s) = store {
                s.put(id, col, row, &b);
            }
            Ok(Some(t))
        }
    }
}

/// A fetched tile as an image file's bytes for a package: the service's own (JPEG stays JPEG)
/// from the store, else written as PNG.
pub fn encoded_through(
    tile: Option<Tile>,
    store: Option<&TileStore>,
    id: &str,
    (col, row): (u32, u32),
) -> std::result::Result<Option<Vec<u8>>, TileError> {
    let Some(t) = tile else { return Ok(None) };
    match store.and_then(|s| s.get(id, col, row)) {
        Some(b) if !b.is_empty() => Ok(Some(b)),
        _ => jingwei_layers::imagery::encode_png(&t).map(Some),
    }
}

/// Raw tiles of one source on disk: `<dir>/<source hash>/<level>/<col>/<row>`, an empty file
/// for "no tile here". The whole cache folder is kept under its limit, oldest files first.
pub struct TileStore {
    root: PathBuf,
    dir: PathBuf,
    limit: u64,
    written: AtomicU64,
}

impl TileStore {
    /// The store of the source named by `identity` (a hash of it names the folder; the key is
    /// not part of it, so a new key keeps the tiles).
    pub fn new(cache: &DiskCache, identity: &str) -> TileStore {
        TileStore {
            root: cache.dir.clone(),
            dir: cache.dir.join(format!("{:016x}", fnv(identity))),
            limit: cache.limit_bytes,
            written: AtomicU64::new(0),
        }
    }

    fn path(&self, level: &str, col: u32, row: u32) -> PathBuf {
        let clean: String = level
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(clean).join(col.to_string()).join(row.to_string())
    }

    /// A stored tile: `Some(bytes)` (empty: no tile there), `None` when not stored.
    pub fn get(&self, level: &str, col: u32, row: u32) -> Option<Vec<u8>> {
        std::fs::read(self.path(level, col, row)).ok()
    }

    /// Store a tile (written to a temporary name, then renamed: a crash leaves no half tile).
    pub fn put(&self, level: &str, col: u32, row: u32, bytes: &[u8]) {
        let p = self.path(level, col, row);
        if let Some(parent) = p.parent()
            && std::fs::create_dir_all(parent).is_ok()
        {
            let tmp = p.with_extension("part");
            if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, &p).is_ok() {
                let w = self.written.fetch_add(bytes.len() as u64 + 512, Ordering::Relaxed);
                // Every 64 MB written, the folder is measured and trimmed.
                if (w % (64 << 20)) + bytes.len() as u64 + 512 >= 64 << 20 {
                    trim(&self.root, self.limit);
                }
            }
        }
    }
}

/// Delete the oldest files under `root` until it holds at most 90 % of `limit` bytes.
pub fn trim(root: &Path, limit: u64) {
    let mut files = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else {
                files.push((m.modified().unwrap_or(std::time::UNIX_EPOCH), m.len() + 512, e.path()));
            }
        }
    }
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    if total <= limit {
        return;
    }
    files.sort();
    for (_, len, p) in files {
        if total <= limit / 10 * 9 {
            break;
        }
        if std::fs::remove_file(&p).is_ok() {
            total -= len;
        }
    }
}

/// FNV-1a, 64 bits: a stable folder name for a source.
fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// `xml` with every element name whose prefix is not declared (`<name:en>`) written with `_`.
pub fn undeclared_prefixes_renamed(xml: &str) -> String {
    let mut declared: Vec<&str> = vec!["xml"];
    let mut rest = xml;
    while let Some(i) = rest.find("xmlns:") {
        let tail = &rest[i + 6..];
        let end = tail.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(tail.len());
        declared.push(&tail[..end]);
        rest = &tail[end..];
    }
    let mut out = String::with_capacity(xml.len());
    let mut chars = xml.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        out.push(c);
        if c != '<' {
            continue;
        }
        // The element name after `<` or `</`.
        let start = if xml[i + 1..].starts_with('/') { i + 2 } else { i + 1 };
        let name_end = xml[start..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .map_or(xml.len(), |e| start + e);
        let name = &xml[start..name_end];
        if let Some((prefix, local)) = name.split_once(':')
            && !declared.contains(&prefix)
            && !prefix.starts_with(['!', '?'])
        {
            if start == i + 2 {
                out.push('/');
            }
            out.push_str(prefix);
            out.push('_');
            out.push_str(local);
            while chars.peek().is_some_and(|(j, _)| *j < name_end) {
                chars.next();
            }
        }
    }
    out
}

/// The legend URL of an OGC `Style` element: its `LegendURL`'s `xlink:href` (WMTS) or that of
/// the `OnlineResource` inside (WMS).
pub fn legend_url(style: roxmltree::Node<'_, '_>) -> Option<String> {
    let l = child(style, "LegendURL")?;
    let href = |n: roxmltree::Node<'_, '_>| n.attributes().find(|a| a.name() == "href").map(|a| a.value().to_owned());
    href(l)
        .or_else(|| child(l, "OnlineResource").and_then(href))
        .filter(|u| !u.is_empty())
}

/// A legend picture from `url`: its bytes, checked to be an image.
pub fn legend_image(client: &Client, url: &str) -> std::result::Result<Legend, TileError> {
    match client.tile(url)? {
        Answer::Empty => Ok(Legend::default()),
        Answer::Bytes(b) => {
            image::guess_format(&b)
                .map_err(|e| TileError::Failed(format!("{}: the legend is not an image: {e}", redact(&client.url(url)))))?;
            Ok(Legend {
                items: Vec::new(),
                image: Some(b),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_blanked_out_of_urls() {
        assert_eq!(
            redact("http://t0.tianditu.gov.cn/img_c/wmts?SERVICE=WMTS&tk=abc123&x=1"),
            "http://t0.tianditu.gov.cn/img_c/wmts?SERVICE=WMTS&tk=***&x=1"
        );
        assert_eq!(redact("http://h/x?TOKEN=s"), "http://h/x?TOKEN=***");
        assert_eq!(redact("http://h/x"), "http://h/x");
        assert_eq!(with_params("http://h/wmts?", &[("tk".into(), "k".into())]), "http://h/wmts?tk=k");
        assert_eq!(
            with_params("http://h/wmts?a=1", &[("tk".into(), "k k".into())]),
            "http://h/wmts?a=1&tk=k%20k"
        );
    }

    #[test]
    fn exception_reports_are_read() {
        let x = r#"<?xml version="1.0"?><ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="1.1.0"><ows:Exception exceptionCode="InvalidParameterValue" locator="LAYER"><ows:ExceptionText>unknown layer</ows:ExceptionText></ows:Exception></ows:ExceptionReport>"#;
        assert_eq!(exception_text(x).unwrap(), "InvalidParameterValue: unknown layer");
        let wms = r#"<ServiceExceptionReport version="1.1.1"><ServiceException code="LayerNotDefined">no such layer</ServiceException></ServiceExceptionReport>"#;
        assert_eq!(exception_text(wms).unwrap(), "LayerNotDefined: no such layer");
    }

    #[test]
    fn the_disk_cache_stays_under_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache {
            dir: dir.path().to_owned(),
            limit_bytes: 100_000,
        };
        let s = TileStore::new(&cache, "svc");
        for i in 0..50 {
            s.put("3", i, 0, &[7u8; 10_000]);
        }
        trim(dir.path(), cache.limit_bytes);
        let total: u64 = walk(dir.path());
        assert!(total <= 100_000, "{total}");
        assert_eq!(s.get("3", 49, 0).map(|b| b.len()), Some(10_000), "the newest stays");
    }

    fn walk(p: &Path) -> u64 {
        std::fs::read_dir(p)
            .unwrap()
            .flatten()
            .map(|e| {
                if e.path().is_dir() {
                    walk(&e.path())
                } else {
                    e.metadata().unwrap().len()
                }
            })
            .sum()
    }
}
