//! A small HTTP/1.1 server over TLS on the standard library and OpenSSL: a thread per
//! connection (at most [`MAX_CONNECTIONS`], [`MAX_PER_PEER`] from one address; more are closed
//! at once), keep-alive, request heads parsed by `httparse`, bodies by one Content-Length only,
//! bounded sizes, and deadlines for the handshake, for each request as a whole and for an idle
//! connection (a client that trickles bytes is cut off). The peer's certificate is verified
//! against the configured CA (and its revocation list, when given) during the handshake; its
//! CN is handed to the handler.

use openssl::nid::Nid;
use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod, SslStream, SslVerifyMode};
use openssl::x509::X509Name;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Connections served at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 256;
/// Connections served at once from one address.
pub const MAX_PER_PEER: usize = 16;
/// How long the TLS handshake may take.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// How long one request may take to arrive, head and body.
const REQUEST: Duration = Duration::from_secs(30);
/// The largest request head.
const MAX_HEAD: usize = 32 * 1024;
/// The largest request body.
pub const MAX_BODY: usize = 1024 * 1024;
/// How long a kept-alive connection may sit idle between requests.
const IDLE: Duration = Duration::from_secs(15);

/// TLS settings: the server's certificate chain and key, and the CA whose certificates the
/// clients must present.
#[derive(Debug, Clone)]
pub struct Tls {
    /// PEM certificate chain of the server.
    pub cert: PathBuf,
    /// PEM private key of the server.
    pub key: PathBuf,
    /// PEM CA certificate(s) that issue the clients' certificates.
    pub client_ca: PathBuf,
    /// PEM revocation list(s) of that CA: a revoked certificate ends the handshake.
    pub client_crl: Option<PathBuf>,
}

/// A request.
#[derive(Debug)]
pub struct Request {
    /// Method.
    pub method: String,
    /// Path, percent-decoded.
    pub path: String,
    /// Query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// The CN of the client's certificate.
    pub peer: String,
}

impl Request {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers (Content-Length, Date and Connection are added).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON body of a media type.
    pub fn json(status: u16, media: &str, v: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), media.into())],
            body: serde_json::to_vec(v).unwrap_or_default(),
        }
    }

    /// An error as OGC API's exception: `{"code", "description"}`.
    pub fn error(status: u16, code: &str, description: &str) -> Response {
        Response::json(
            status,
            "application/json",
            &serde_json::json!({"code": code, "description": description}),
        )
    }

    /// Add a header.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Listen on `addr` and serve each request with `handle`.
    pub fn start<H>(addr: SocketAddr, tls: &Tls, handle: H) -> Result<Server, String>
    where
        H: Fn(&Request) -> Response + Send + Sync + 'static,
    {
        let acceptor = acceptor(tls)?;
        let listener = TcpListener::bind(addr).map_err(|e| format!("{addr}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let handle = Arc::new(handle);
        let live = Arc::new(AtomicUsize::new(0));
        let stop2 = stop.clone();
        let peers: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>> = Default::default();
        let thread = std::thread::Builder::new()
            .name("jingwei-serve".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let stream = match stream {
                        Ok(s) => s,
                        // Out of descriptors, say: wait a little rather than spin.
                        Err(_) => {
                            std::thread::sleep(Duration::from_millis(50));
                            continue;
                        }
                    };
                    let Ok(ip) = stream.peer_addr().map(|a| a.ip()) else { continue };
                    let admitted = {
                        let mut p = peers.lock().unwrap_or_else(|e| e.into_inner());
                        let n = p.entry(ip).or_insert(0);
                        if *n >= MAX_PER_PEER || live.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                            false
                        } else {
                            *n += 1;
                            live.fetch_add(1, Ordering::SeqCst);
                            true
                        }
                    };
                    if !admitted {
                        drop(stream);
                        continue;
                    }
                    let release = {
                        let (live, peers) = (live.clone(), peers.clone());
                        move || {
                            live.fetch_sub(1, Ordering::SeqCst);
                            let mut p = peers.lock().unwrap_or_else(|e| e.into_inner());
                            if let Some(n) = p.get_mut(&ip) {
                                *n -= 1;
                                if *n == 0 {
                                    p.remove(&ip);
                                }
                            }
                        }
                    };
                    let (acceptor, handle) = (acceptor.clone(), handle.clone());
                    let release2 = release.clone();
                    let spawned = std::thread::Builder::new().name("jingwei-serve-conn".into()).spawn(move || {
                        serve_connection(&acceptor, stream, &*handle);
                        release2();
                    });
                    if spawned.is_err() {
                        // No thread: the connection was dropped with the closure; free its slot.
                        release();
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Server {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Block until the server stops (it stops only when stopped).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn acceptor(tls: &Tls) -> Result<Arc<SslAcceptor>, String> {
    let at = |p: &Path, e: openssl::error::ErrorStack| format!("{}: {e}", p.display());
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(|e| e.to_string())?;
    b.set_certificate_chain_file(&tls.cert).map_err(|e| at(&tls.cert, e))?;
    b.set_private_key_file(&tls.key, SslFiletype::PEM).map_err(|e| at(&tls.key, e))?;
    b.check_private_key()
        .map_err(|e| format!("{} does not match {}: {e}", tls.key.display(), tls.cert.display()))?;
    b.set_ca_file(&tls.client_ca).map_err(|e| at(&tls.client_ca, e))?;
    if let Some(crl) = &tls.client_crl {
        use openssl::x509::store::X509Lookup;
        use openssl::x509::verify::X509VerifyFlags;
        b.cert_store_mut()
            .add_lookup(X509Lookup::file())
            .and_then(|l| l.load_crl_file(crl, SslFiletype::PEM))
            .map_err(|e| at(crl, e))?;
        b.cert_store_mut().set_flags(X509VerifyFlags::CRL_CHECK).map_err(|e| at(crl, e))?;
    }
    b.set_client_ca_list(X509Name::load_client_ca_file(&tls.client_ca).map_err(|e| at(&tls.client_ca, e))?);
    // Every client shows a certificate of the CA: the first factor of every login.
    b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    Ok(Arc::new(b.build()))
}

fn common_name(s: &SslStream<TcpStream>) -> Option<String> {
    let cert = s.ssl().peer_certificate()?;
    let cn = cert.subject_name().entries_by_nid(Nid::COMMONNAME).next()?;
    // PrintableString or UTF8String: the bytes are UTF-8; a name with a NUL is nobody's.
    std::str::from_utf8(cn.data().as_slice())
        .ok()
        .filter(|s| !s.contains('\0'))
        .map(str::to_owned)
}

/// A stream whose reads stop at a deadline (each read waits at most until then).
struct Deadline<'a> {
    s: &'a mut SslStream<TcpStream>,
    until: std::time::Instant,
}

impl Read for Deadline<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let left = self.until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.s.get_ref().set_read_timeout(Some(left))?;
        self.s.read(out)
    }
}

fn serve_connection(acceptor: &SslAcceptor, tcp: TcpStream, handle: &(dyn Fn(&Request) -> Response + Send + Sync)) {
    let _ = tcp.set_read_timeout(Some(HANDSHAKE));
    let _ = tcp.set_write_timeout(Some(REQUEST));
    let _ = tcp.set_nodelay(true);
    let Ok(mut tls) = acceptor.accept(tcp) else {
        return;
    };
    let Some(peer) = common_name(&tls) else {
        return;
    };
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        // Idle until the next request begins, then the whole request within REQUEST.
        if buf.is_empty() {
            let _ = tls.get_ref().set_read_timeout(Some(IDLE));
            let mut first = [0u8; 8192];
            match tls.read(&mut first) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&first[..n]),
            }
        }
        let mut timed = Deadline {
            s: &mut tls,
            until: std::time::Instant::now() + REQUEST,
        };
        let (req, close) = match read_request(&mut timed, &mut buf, &peer) {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(resp) => {
                let _ = write_response(&mut tls, resp, true);
                return;
            }
        };
        let resp = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(&req)))
            .unwrap_or_else(|_| Response::error(500, "internal", "the server failed on this request; it is logged"));
        if write_response(&mut tls, resp, close).is_err() || close {
            let _ = tls.shutdown();
            return;
        }
    }
}

/// Read one request; `Ok(None)` when the peer closed between requests; `Err` a response that
/// ends the connection.
fn read_request(s: &mut impl Read, buf: &mut Vec<u8>, peer: &str) -> Result<Option<(Request, bool)>, Response> {
    let mut chunk = [0u8; 8192];
    let (head_len, method, path, version, headers) = loop {
        let mut hs = [httparse::EMPTY_HEADER; 64];
        let mut r = httparse::Request::new(&mut hs);
        match r.parse(buf) {
            Ok(httparse::Status::Complete(n)) => {
                let headers: Vec<(String, String)> = r
                    .headers
                    .iter()
                    .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).trim().to_owned()))
                    .collect();
                break (
                    n,
                    r.method.unwrap_or("").to_owned(),
                    r.path.unwrap_or("/").to_owned(),
                    r.version.unwrap_or(1),
                    headers,
                );
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => return Err(Response::error(431, "headers", "too many headers")),
            Err(e) => return Err(Response::error(400, "request", &format!("not an HTTP request: {e}"))),
        }
        if buf.len() > MAX_HEAD {
            return Err(Response::error(431, "headers", "the request head is too large"));
        }
        match s.read(&mut chunk) {
            Ok(0) => return Ok(None),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => return Ok(None),
        }
    };
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    if header("transfer-encoding").is_some() {
        return Err(Response::error(411, "length", "send the body with a Content-Length"));
    }
    // One Content-Length, of digits only (RFC 9112 §6.3): anything else could be read two ways.
    let lengths: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n == "content-length")
        .map(|(_, v)| v.as_str())
        .collect();
    let len: usize = match lengths.as_slice() {
        [] => 0,
        [v] if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => v.parse().unwrap_or(usize::MAX),
        _ => return Err(Response::error(400, "length", "one Content-Length, a number")),
    };
    if len > MAX_BODY {
        return Err(Response::error(413, "too_large", &format!("a body of at most {MAX_BODY} bytes")));
    }
    while buf.len() < head_len + len {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return Ok(None),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = buf[head_len..head_len + len].to_vec();
    buf.drain(..head_len + len);
    let close = version == 0 || header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
    let (p, q) = path.split_once('?').unwrap_or((&path, ""));
    let query = q
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k, true), decode(v, true))
        })
        .collect();
    Ok(Some((
        Request {
            method,
            path: decode(p, false),
            query,
            headers,
            body,
            peer: peer.to_owned(),
        },
        close,
    )))
}

/// Percent-decoding (and `+` as a space in a query).
pub fn decode(s: &str, plus: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit() => {
                let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
                i += 3;
                continue;
            }
            b'+' if plus => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn write_response(s: &mut impl Write, r: Response, close: bool) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
    for (n, v) in &r.headers {
        // Header values are ours; a line break in one would split the response.
        let v: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n", r.body.len()));
    head.push_str("Cache-Control: no-store\r\n");
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(&r.body)?;
    s.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_with_bodies_and_pipelining_and_bad_ones_get_a_status() {
        let raw = b"PATCH /collections/cases/items/7?a=%E5%9F%8E+%E4%B8%9C&b= HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n{\"a\"GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
        let mut src = &raw[..];
        let mut buf = Vec::new();
        let (r, close) = read_request(&mut src, &mut buf, "insp_east").unwrap().unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), close),
            ("PATCH", "/collections/cases/items/7", false)
        );
        assert_eq!(r.query, vec![("a".to_owned(), "城 东".to_owned()), ("b".to_owned(), String::new())]);
        assert_eq!(r.body, b"{\"a\"");
        let (r, close) = read_request(&mut src, &mut buf, "insp_east").unwrap().unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str(), close), ("GET", "/", true));
        assert!(read_request(&mut src, &mut buf, "x").unwrap().is_none());
        for (bad, status) in [
            (&b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"[..], 411),
            (b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
            (b"\x01\x02 / HTTP/1.1\r\n\r\n", 400),
        ] {
            let mut src = bad;
            let mut buf = Vec::new();
            assert_eq!(read_request(&mut src, &mut buf, "x").unwrap_err().status, status);
        }
        assert_eq!(decode("%zz%4", false), "%zz%4");
        assert_eq!(decode("%+F", false), "%+F");
        assert_eq!(decode("a%2Fb", false), "a/b");
    }
}
