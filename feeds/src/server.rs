//! `jingwei feeds serve DIR`: recorded feeds on 127.0.0.1 for drills, demos and tests — with
//! ETag/Last-Modified and 304s like a real feed server, an Atom index generated for a folder of
//! CAP messages, optional replay (events revealed as time runs, faster than real time if asked)
//! and injected faults (delays, 500s, bodies cut short, malformed documents).
//!
//! A small HTTP/1.1 server on the standard library: one thread per connection, `Connection:
//! close`. It only ever listens on loopback.

use crate::time::http_date;
use serde::Serialize;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Answer 500 Internal Server Error.
    Status500,
    /// Announce the whole length, send half the body, close.
    Truncate,
    /// Send a well-framed but broken document (cut in half, garbage appended).
    Malformed,
    /// Wait this many milliseconds before answering.
    Delay(u64),
}

impl Fault {
    /// Parse `500`, `truncate`, `malformed`, `delay=MS`.
    pub fn parse(s: &str) -> Result<Fault, crate::FeedError> {
        match s {
            "500" | "status500" => Ok(Fault::Status500),
            "truncate" => Ok(Fault::Truncate),
            "malformed" => Ok(Fault::Malformed),
            d if d.starts_with("delay=") => d[6..]
                .parse()
                .map(Fault::Delay)
                .map_err(|_| crate::FeedError::Invalid(format!("fault '{s}': delay=MILLISECONDS"))),
            _ => Err(crate::FeedError::Invalid(format!(
                "unknown fault '{s}' (500, truncate, malformed, delay=MS)"
            ))),
        }
    }
}

/// Which requests get which faults. Requests are counted from 1 over every feed request.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    /// `(fault, n)`: every n-th request gets the fault.
    pub every: Vec<(Fault, u64)>,
    /// Request i (0-based) gets `script[i]` when given; scripted faults come first.
    pub script: Vec<Option<Fault>>,
}

impl FaultPlan {
    fn for_request(&self, n: u64) -> Vec<Fault> {
        let mut out: Vec<Fault> = self.script.get(n as usize - 1).copied().flatten().into_iter().collect();
        out.extend(self.every.iter().filter(|(_, k)| *k > 0 && n.is_multiple_of(*k)).map(|(f, _)| *f));
        out
    }
}

/// Server options.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Replay: reveal events as time runs, this many data seconds per real second.
    pub replay_speed: Option<f64>,
    /// Faults.
    pub faults: FaultPlan,
}

/// What the server has done, for tests and the console.
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    /// Requests received.
    pub requests: AtomicU64,
    /// 304 answers.
    pub not_modified: AtomicU64,
    /// Faults injected.
    pub faults: AtomicU64,
}

/// A running server.
pub struct ServerHandle {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its counters.
    pub stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerHandle {
    /// The base URL, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Serve until the process ends.
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Shared {
    dir: PathBuf,
    opts: ServeOptions,
    started: Instant,
    stats: Arc<Stats>,
    counter: Mutex<u64>,
}

/// Serve `dir` on 127.0.0.1 (`port` 0: any free port).
pub fn serve(dir: &Path, port: u16, opts: ServeOptions) -> std::io::Result<ServerHandle> {
    if !dir.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{}: not a folder", dir.display()),
        ));
    }
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let addr = listener.local_addr()?;
    let stats = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Shared {
        dir: dir.to_path_buf(),
        opts,
        started: Instant::now(),
        stats: stats.clone(),
        counter: Mutex::new(0),
    });
    let stop2 = stop.clone();
    let thread = std::thread::Builder::new().name("jingwei-feeds-serve".into()).spawn(move || {
        for conn in listener.incoming() {
            if stop2.load(Ordering::SeqCst) {
                break;
            }
            let Ok(conn) = conn else { continue };
            let shared = shared.clone();
            std::thread::spawn(move || {
                let _ = handle(conn, &shared);
            });
        }
    })?;
    Ok(ServerHandle {
        addr,
        stats,
        stop,
        thread: Some(thread),
    })
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "geojson" => "application/geo+json",
        "json" => "application/json",
        "xml" | "cap" => "application/cap+xml",
        "atom" => "application/atom+xml",
        "rss" => "application/rss+xml",
        _ => "application/octet-stream",
    }
}

fn handle(conn: TcpStream, s: &Shared) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let mut if_none_match = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.trim().eq_ignore_ascii_case("if-none-match")
        {
            if_none_match = Some(v.trim().to_string());
        }
    }
    let mut out = conn;
    if method != "GET" && method != "HEAD" {
        return respond(&mut out, 405, "text/plain", b"GET only\n", &[]);
    }
    let path = target.split('?').next().unwrap_or("/").trim_start_matches('/');
    let n = {
        let mut c = s.counter.lock().unwrap_or_else(|e| e.into_inner());
        *c += 1;
        *c
    };
    s.stats.requests.fetch_add(1, Ordering::SeqCst);
    let faults = s.opts.faults.for_request(n);
    for f in &faults {
        if let Fault::Delay(ms) = f {
            s.stats.faults.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(*ms));
        }
    }
    if faults.contains(&Fault::Status500) {
        s.stats.faults.fetch_add(1, Ordering::SeqCst);
        return respond(&mut out, 500, "text/plain", b"injected fault\n", &[]);
    }
    let Some((body, modified_s)) = document(s, path)? else {
        return respond(&mut out, 404, "text/plain", format!("no {path}\n").as_bytes(), &[]);
    };
    let etag = format!("\"{:016x}\"", fnv(&body));
    let last_modified = http_date(modified_s);
    if if_none_match.as_deref() == Some(etag.as_str()) && !faults.iter().any(|f| matches!(f, Fault::Truncate | Fault::Malformed)) {
        s.stats.not_modified.fetch_add(1, Ordering::SeqCst);
        return respond(
            &mut out,
            304,
            content_type(path),
            b"",
            &[("ETag", &etag), ("Last-Modified", &last_modified)],
        );
    }
    if faults.contains(&Fault::Truncate) {
        s.stats.faults.fetch_add(1, Ordering::SeqCst);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            content_type(path),
            body.len()
        );
        out.write_all(head.as_bytes())?;
        out.write_all(&body[..body.len() / 2])?;
        out.flush()?;
        return out.shutdown(std::net::Shutdown::Both);
    }
    if faults.contains(&Fault::Malformed) {
        s.stats.faults.fetch_add(1, Ordering::SeqCst);
        let mut broken = body[..body.len() / 2].to_vec();
        broken.extend_from_slice(b"<<<\xff garbage");
        // Another ETag, so that the broken copy is never taken for the real one.
        let etag = format!("\"{:016x}\"", fnv(&broken));
        return respond(&mut out, 200, content_type(path), &broken, &[("ETag", &etag)]);
    }
    let body = if method == "HEAD" { Vec::new() } else { body };
    respond(
        &mut out,
        200,
        content_type(path),
        &body,
        &[("ETag", &etag), ("Last-Modified", &last_modified)],
    )
}

fn respond(out: &mut TcpStream, code: u16, ctype: &str, body: &[u8], headers: &[(&str, &str)]) -> std::io::Result<()> {
    let reason = match code {
        200 => "OK",
        304 => "Not Modified",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    };
    let mut head = format!("HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nConnection: close\r\n");
    if code != 304 {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.write_all(body)?;
    out.flush()
}

/// The data time now (ms) in replay mode, given the data's first time.
fn replay_now(s: &Shared, first_ms: i64) -> Option<i64> {
    let speed = s.opts.replay_speed?;
    Some(first_ms + (s.started.elapsed().as_secs_f64() * 1000.0 * speed) as i64)
}

/// The document at `path` (as the replay clock shows it) and its modification time (s).
fn document(s: &Shared, path: &str) -> std::io::Result<Option<(Vec<u8>, i64)>> {
    if path.split('/').any(|p| p == ".." || p.starts_with('.')) {
        return Ok(None);
    }
    let full = s.dir.join(path);
    let (dir_of, name) = match path.rsplit_once('/') {
        Some((d, n)) => (s.dir.join(d), n),
        None => (s.dir.clone(), path),
    };
    if (name == "index.atom" || path.is_empty()) && !full.is_file() {
        if name == "index.atom" {
            return Ok(Some(atom_index(s, &dir_of, path)?));
        }
        // The root: what is served.
        let mut names: Vec<String> = std::fs::read_dir(&s.dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        return Ok(Some((names.join("\n").into_bytes(), 0)));
    }
    if !full.is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(&full)?;
    let mtime = std::fs::metadata(&full)?
        .modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    // Replay a GeoJSON event feed: only the events that have happened by the replay clock.
    if s.opts.replay_speed.is_some()
        && (path.ends_with(".geojson") || path.ends_with(".json"))
        && let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&bytes)
        && v["type"] == "FeatureCollection"
        && let Some(features) = v["features"].as_array()
    {
        let first = features.iter().filter_map(|f| f["properties"]["time"].as_i64()).min().unwrap_or(0);
        let now = replay_now(s, first).unwrap_or(i64::MAX);
        let kept: Vec<serde_json::Value> = features
            .iter()
            .filter(|f| f["properties"]["time"].as_i64().is_none_or(|t| t <= now))
            .cloned()
            .collect();
        v["features"] = serde_json::Value::Array(kept);
        return Ok(Some((serde_json::to_vec(&v).unwrap_or(bytes), now / 1000)));
    }
    Ok(Some((bytes, mtime)))
}

/// An Atom index of the CAP messages in a folder (in replay, only those sent by now).
fn atom_index(s: &Shared, dir: &Path, path: &str) -> std::io::Result<(Vec<u8>, i64)> {
    let mut alerts: Vec<(i64, String, String)> = Vec::new();
    for e in std::fs::read_dir(dir)?.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".xml") {
            continue;
        }
        let Ok(bytes) = std::fs::read(e.path()) else { continue };
        // Only messages that parse are listed (a recorded feed may hold other XML).
        if let Ok(ev) = crate::cap::parse(&bytes) {
            alerts.push((ev.version_ms.unwrap_or(0), name, ev.id));
        }
    }
    alerts.sort();
    let first = alerts.first().map_or(0, |a| a.0);
    let now = replay_now(s, first).unwrap_or(i64::MAX);
    let base = path.rsplit_once('/').map_or(String::new(), |(d, _)| format!("/{d}"));
    let esc = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;");
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<title>Jingwei replay</title>\n",
    );
    let mut newest = 0;
    for (sent, name, id) in alerts.iter().filter(|a| a.0 <= now) {
        newest = newest.max(*sent);
        xml.push_str(&format!(
            "<entry><id>{}</id><updated>{}</updated><link rel=\"alternate\" type=\"application/cap+xml\" href=\"{base}/{}\"/></entry>\n",
            esc(id),
            crate::time::iso8601(*sent),
            esc(name)
        ));
    }
    xml.push_str("</feed>\n");
    Ok((xml.into_bytes(), newest / 1000))
}
