//! The field-app API under load (a benchmark, not a timed test: `scripts/bench-store.sh` runs
//! it): 8 field users, each on a keep-alive TLS connection of its own with its own certificate
//! and password, change their cases with PATCH and If-Match as fast as the server answers for
//! JINGWEI_SERVE_BENCH_SECS (default 20), and read pages of cases in between. Prints requests per
//! second and latency percentiles; every change must be in the store and the audit afterwards.

mod common;

use common::support::*;
use jingwei_store::Shared;
use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslStream};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

struct Client {
    s: SslStream<TcpStream>,
    auth: String,
    host: String,
}

impl Client {
    fn new(addr: std::net::SocketAddr, tls: &Path, who: &str) -> Client {
        let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
        b.set_ca_file(tls.join("ca.crt")).unwrap();
        b.set_certificate_file(tls.join(format!("{who}.crt")), SslFiletype::PEM).unwrap();
        b.set_private_key_file(tls.join(format!("{who}.key")), SslFiletype::PEM).unwrap();
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_nodelay(true).unwrap();
        let s = b.build().connect("localhost", tcp).unwrap();
        use base64::Engine;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{who}:{}", password(who)));
        Client {
            s,
            auth,
            host: format!("localhost:{}", addr.port()),
        }
    }

    /// One request on the kept-alive connection: status, ETag, body.
    fn call(&mut self, method: &str, path: &str, extra: &[(&str, &str)], body: &str) -> (u16, String, String) {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {}\r\nContent-Length: {}\r\n",
            self.host,
            self.auth,
            body.len()
        );
        for (k, v) in extra {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.s.write_all(req.as_bytes()).unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16384];
        let (head_end, len) = loop {
            let n = self.s.read(&mut chunk).unwrap();
            assert!(n > 0, "the server closed the connection");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..p]).to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                break (p + 4, len);
            }
        };
        while buf.len() < head_end + len {
            let n = self.s.read(&mut chunk).unwrap();
            assert!(n > 0);
            buf.extend_from_slice(&chunk[..n]);
        }
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let status = head[9..12].parse().unwrap();
        let etag = head.lines().find_map(|l| l.strip_prefix("ETag: ")).unwrap_or("").trim().to_owned();
        (status, etag, String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned())
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[test]
#[ignore = "benchmark: scripts/bench-store.sh"]
fn bench_serve_under_load() {
    let secs: u64 = std::env::var("JINGWEI_SERVE_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let (server, db, tls) = common::start_server("serve_bench", None, None);
    let addr = server.addr();
    let until = Instant::now() + Duration::from_secs(secs);
    let threads: Vec<_> = (1..=8)
        .map(|i| {
            let tls = tls.clone();
            std::thread::spawn(move || {
                let who = format!("w{i}");
                let mut c = Client::new(addr, &tls, &who);
                let body = format!(
                    r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[121.5,31.2]}},"properties":{{"title":"压测 {who}"}}}}"#
                );
                let (st, mut etag, made) = c.call(
                    "POST",
                    "/collections/cases/items",
                    &[("Content-Type", "application/geo+json")],
                    &body,
                );
                assert_eq!(st, 201, "{made}");
                let id = serde_json::from_str::<serde_json::Value>(&made).unwrap()["id"].as_i64().unwrap();
                let (mut patch, mut list) = (Vec::new(), Vec::new());
                let mut n = 0u64;
                while Instant::now() < until {
                    let assignee = if n.is_multiple_of(2) { "w1" } else { "w2" };
                    let t = Instant::now();
                    let (st, e, b) = c.call(
                        "PATCH",
                        &format!("/collections/cases/items/{id}"),
                        &[("Content-Type", "application/merge-patch+json"), ("If-Match", &etag)],
                        &format!(r#"{{"properties":{{"assignee":"{assignee}"}}}}"#),
                    );
                    patch.push(t.elapsed().as_secs_f64() * 1e3);
                    assert_eq!(st, 200, "{b}");
                    etag = e;
                    n += 1;
                    if n.is_multiple_of(10) {
                        let t = Instant::now();
                        let (st, _, _) = c.call("GET", "/collections/cases/items?limit=50", &[], "");
                        list.push(t.elapsed().as_secs_f64() * 1e3);
                        assert_eq!(st, 200);
                    }
                }
                (id, n, patch, list)
            })
        })
        .collect();
    let mut patch = Vec::new();
    let mut list = Vec::new();
    let mut expected = Vec::new();
    for t in threads {
        let (id, n, p, l) = t.join().unwrap();
        expected.push((id, n));
        patch.extend(p);
        list.extend(l);
    }
    // Every acknowledged change is there, and audited.
    let mut su = Shared::open(&superuser(&db)).unwrap();
    for (id, n) in &expected {
        let v = su.raw(&format!("SELECT version FROM jingwei.cases WHERE id = {id}")).unwrap();
        assert_eq!(v.parse::<u64>().unwrap(), 1 + n);
    }
    let audited: u64 = su
        .raw("SELECT count(*) FROM jingwei.audit WHERE action = 'cases.update'")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(audited, expected.iter().map(|(_, n)| n).sum::<u64>());
    let total = patch.len() + list.len();
    println!(
        "serve bench: 8 users × {secs} s over TLS with keep-alive: {:.0} requests/s; PATCH n={} p50 {:.1} ms p95 {:.1} ms p99 {:.1} ms; GET 50 cases n={} p50 {:.1} ms p95 {:.1} ms; every change stored and audited",
        total as f64 / secs as f64,
        patch.len(),
        pct(&mut patch, 0.5),
        pct(&mut patch, 0.95),
        pct(&mut patch, 0.99),
        list.len(),
        pct(&mut list, 0.5),
        pct(&mut list, 0.95),
    );
}
