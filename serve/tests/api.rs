//! The field-app API, served for real on 127.0.0.1 over TLS in front of a real PostgreSQL
//! store (scripts/pg-store.sh), spoken to by curl — a client of its own — and fuzzed by
//! schemathesis (PyPI, installed by scripts/setup.sh) against the server's OpenAPI document.

mod common;

use common::support::*;
use jingwei_cases::incidents::NewIncident;
use jingwei_store::{Change, Listener, Shared};
use serde_json::{Value as J, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

struct Served {
    server: jingwei_serve::Server,
    tls: PathBuf,
    db: String,
    _dir: tempfile::TempDir,
}

/// A response as curl saw it.
#[derive(Debug)]
struct Got {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Got {
    fn json(&self) -> J {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

fn serve(name: &str, data_key: Option<&Path>) -> Served {
    serve_with(name, data_key, None)
}

fn serve_with(name: &str, data_key: Option<&Path>, crl: Option<PathBuf>) -> Served {
    let (server, db, tls) = common::start_server(name, data_key, crl);
    Served {
        server,
        tls,
        db,
        _dir: tempfile::tempdir().unwrap(),
    }
}

impl Served {
    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.server.addr().port())
    }

    /// curl as `who` (certificate and Basic password of that user unless `pw` says otherwise).
    fn call(&self, who: &str, pw: Option<&str>, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Got {
        let dir = self._dir.path();
        let (hfile, bfile) = (dir.join("h"), dir.join("b"));
        let mut c = Command::new("curl");
        c.args(["-sS", "--max-time", "30", "-X", method, "--cacert"])
            .arg(self.tls.join("ca.crt"))
            .arg("--cert")
            .arg(self.tls.join(format!("{who}.crt")))
            .arg("--key")
            .arg(self.tls.join(format!("{who}.key")))
            .arg("-D")
            .arg(&hfile)
            .arg("-o")
            .arg(&bfile)
            .args(["-w", "%{http_code}"]);
        let pw = pw.map(str::to_owned).unwrap_or_else(|| password(who));
        if !pw.is_empty() {
            c.args(["-u", &format!("{who}:{pw}")]);
        }
        for (k, v) in headers {
            c.args(["-H", &format!("{k}: {v}")]);
        }
        if body.is_some() {
            c.args(["--data-binary", "@-"]);
        }
        c.arg(self.url(path))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("curl runs");
        if let Some(b) = body {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b.as_bytes()).unwrap();
        } else {
            drop(child.stdin.take());
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "curl {method} {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let headers = std::fs::read_to_string(&hfile)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let body = std::fs::read_to_string(&bfile).unwrap_or_default();
        let _ = std::fs::remove_file(&bfile);
        Got { status, headers, body }
    }

    fn get(&self, who: &str, path: &str) -> Got {
        self.call(who, None, "GET", path, &[], None)
    }
}

const GEO: (&str, &str) = ("Content-Type", "application/geo+json");
const MERGE: (&str, &str) = ("Content-Type", "application/merge-patch+json");

fn new_case(title: &str, lon: f64, lat: f64) -> String {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
           "properties": {"title": title, "priority": 60}})
    .to_string()
}

#[test]
fn field_apps_read_and_write_cases_as_their_user_with_etags_and_nothing_else() {
    let s = serve("serve_api", None);
    let mut su = Shared::open(&superuser(&s.db)).unwrap();

    // Both factors, always: no certificate ends the handshake; the certificate of another user
    // is refused; a wrong password is answered with a challenge.
    let no_cert = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(s.tls.join("ca.crt"))
        .args(["-u", &format!("insp_east:{}", password("insp_east")), &s.url("/")])
        .output()
        .unwrap();
    assert!(!no_cert.status.success(), "no client certificate, no connection");
    assert_eq!(s.call("insp_east", Some(""), "GET", "/", &[], None).status, 401);
    let wrong = s.call("insp_east", Some("nope-nope"), "GET", "/", &[], None);
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("www-authenticate").starts_with("Basic"));
    let mut other = s.call("insp_east", None, "GET", "/", &[], None);
    assert_eq!(other.status, 200);
    // insp_east's certificate with insp_west's password.
    other = {
        let dir = s._dir.path().join("o");
        let out = Command::new("curl")
            .args(["-sS", "-o"])
            .arg(&dir)
            .args(["-w", "%{http_code}", "--cacert"])
            .arg(s.tls.join("ca.crt"))
            .arg("--cert")
            .arg(s.tls.join("insp_east.crt"))
            .arg("--key")
            .arg(s.tls.join("insp_east.key"))
            .args(["-u", &format!("insp_west:{}", password("insp_west")), &s.url("/collections")])
            .output()
            .unwrap();
        Got {
            status: String::from_utf8_lossy(&out.stdout).parse().unwrap(),
            headers: HashMap::new(),
            body: std::fs::read_to_string(&dir).unwrap(),
        }
    };
    assert_eq!(other.status, 403, "{}", other.body);
    // Auditors and administrators are not field users, whatever their password.
    assert_eq!(s.get("auditor1", "/").status, 401);
    assert_eq!(s.get("admin1", "/").status, 401);
    // Five wrong passwords lock the name, even for the right one, for a while.
    for _ in 0..5 {
        assert_eq!(s.call("w5", Some("guess-guess"), "GET", "/", &[], None).status, 401);
    }
    let locked = s.get("w5", "/");
    assert_eq!(locked.status, 429);
    assert!(locked.header("retry-after").parse::<u64>().unwrap() > 0);

    // The documents of OGC API – Features.
    let landing = s.get("insp_east", "/").json();
    assert!(landing["links"].as_array().unwrap().iter().any(|l| l["rel"] == "service-desc"));
    let conf = s.get("insp_east", "/conformance").json();
    assert!(
        conf["conformsTo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().ends_with("ogcapi-features-4/1.0/conf/update"))
    );
    let api = s.get("insp_east", "/api");
    assert!(api.header("content-type").starts_with("application/vnd.oai.openapi+json"));
    assert_eq!(api.json()["openapi"], "3.0.3");
    assert_eq!(
        s.get("insp_east", "/collections").json()["collections"].as_array().unwrap().len(),
        2
    );
    assert_eq!(s.get("insp_east", "/collections/nope").status, 404);
    assert_eq!(s.get("insp_east", "/collections/cases/items?foo=1").status, 400);
    assert_eq!(s.get("insp_east", "/collections/cases/items?limit=0").status, 400);
    assert_eq!(s.get("insp_east", "/collections/cases/items?bbox=1,2,3").status, 400);

    // Flag: 201, where it is, its ETag; the store's number, department, author — and audit.
    let made = s.call(
        "insp_east",
        None,
        "POST",
        "/collections/cases/items",
        &[GEO],
        Some(&new_case("违建 东一", 121.50, 31.23)),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let f = made.json();
    let id = f["id"].as_i64().unwrap();
    assert!(made.header("location").ends_with(&format!("/collections/cases/items/{id}")));
    assert_eq!(made.header("etag"), format!("\"c{id}.v1\""));
    assert_eq!(f["properties"]["department"], "城东");
    assert_eq!(f["properties"]["created_by"], "insp_east");
    assert_eq!(f["properties"]["status"], "pending");
    assert_eq!(f["geometry"]["coordinates"], json!([121.5, 31.23]));
    assert_eq!(
        su.raw(&format!(
            "SELECT actor FROM jingwei.audit WHERE action = 'cases.insert' AND entity_id = {id}"
        ))
        .unwrap(),
        "insp_east"
    );
    for _ in 0..4 {
        assert_eq!(
            s.call(
                "insp_east",
                None,
                "POST",
                "/collections/cases/items",
                &[GEO],
                Some(&new_case("东", 121.6, 31.3))
            )
            .status,
            201
        );
    }
    let west = s.call(
        "insp_west",
        None,
        "POST",
        "/collections/cases/items",
        &[GEO],
        Some(&new_case("西", 121.40, 31.20)),
    );
    let west_id = west.json()["id"].as_i64().unwrap();

    // Reading: only one's department; pages with next links; bbox and status filters.
    let page = s.get("insp_east", "/collections/cases/items?limit=2");
    assert_eq!(page.header("content-type"), "application/geo+json");
    let page = page.json();
    assert_eq!(
        (page["numberMatched"].as_i64(), page["numberReturned"].as_i64()),
        (Some(5), Some(2))
    );
    let next = page["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next").unwrap()["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(next.contains("offset=2"));
    let last = s.get("insp_east", "/collections/cases/items?limit=2&offset=4").json();
    assert_eq!(last["numberReturned"], 1);
    assert!(!last["links"].as_array().unwrap().iter().any(|l| l["rel"] == "next"));
    let near = s.get("insp_east", "/collections/cases/items?bbox=121.45,31.2,121.55,31.25").json();
    assert_eq!(near["numberMatched"], 1);
    assert_eq!(near["features"][0]["id"], id);
    assert_eq!(
        s.get("insp_east", "/collections/cases/items?status=confirmed").json()["numberMatched"],
        0
    );
    assert_eq!(s.get("insp_west", "/collections/cases/items").json()["numberMatched"], 1);
    assert_eq!(s.get("insp_east", &format!("/collections/cases/items/{west_id}")).status, 404);
    let one = s.get("insp_east", &format!("/collections/cases/items/{id}"));
    assert_eq!(one.status, 200);
    let etag = one.header("etag").to_owned();
    assert_eq!(
        s.call(
            "insp_east",
            None,
            "GET",
            &format!("/collections/cases/items/{id}"),
            &[("If-None-Match", &etag)],
            None
        )
        .status,
        304
    );

    // Writing: If-Match or 428; the ETag read or 412 with the case as it is now.
    let item = format!("/collections/cases/items/{id}");
    let confirm = json!({"properties": {"status": "confirmed", "comment": "现场核实"}}).to_string();
    assert_eq!(s.call("insp_east", None, "PATCH", &item, &[MERGE], Some(&confirm)).status, 428);
    let mut listener = Listener::open(&user(&s.db, "insp_east")).unwrap();
    let ok = s.call("insp_east", None, "PATCH", &item, &[MERGE, ("If-Match", &etag)], Some(&confirm));
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["properties"]["status"], "confirmed");
    assert_eq!(ok.json()["properties"]["updated_by"], "insp_east");
    assert_eq!(ok.header("etag"), format!("\"c{id}.v2\""));
    // Announced to the desktop apps as any change is.
    let mut heard = false;
    for _ in 0..5 {
        if let Some(Change::Row { table, id: rid }) = listener.next(Duration::from_secs(2)).unwrap() {
            heard |= table == "cases" && rid == id;
        }
        if heard {
            break;
        }
    }
    assert!(heard, "the change through the API is announced");
    let assign = json!({"properties": {"assignee": "insp_east"}}).to_string();
    let stale = s.call("insp_east", None, "PATCH", &item, &[MERGE, ("If-Match", &etag)], Some(&assign));
    assert_eq!(stale.status, 412, "{}", stale.body);
    let st = stale.json();
    assert_eq!(
        (st["read_version"].as_i64(), st["current"]["properties"]["version"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(stale.header("etag"), format!("\"c{id}.v2\""));
    // The loop and who may close, as the store says.
    let v2 = format!("\"c{id}.v2\"");
    let back = json!({"properties": {"status": "pending"}}).to_string();
    assert_eq!(
        s.call("insp_east", None, "PATCH", &item, &[MERGE, ("If-Match", &v2)], Some(&back))
            .status,
        409
    );
    let close = json!({"type": "Feature", "properties": {"status": "closed", "assignee": "cmd_east"}}).to_string();
    assert_eq!(
        s.call("insp_east", None, "PUT", &item, &[GEO, ("If-Match", &v2)], Some(&close))
            .status,
        403
    );
    // PUT with what was read sent back (the store's properties unchanged) by a commander.
    let mut read = s.get("cmd_east", &item).json();
    read["properties"]["status"] = json!("closed");
    read["properties"]["assignee"] = json!("cmd_east");
    let closed = s.call("cmd_east", None, "PUT", &item, &[GEO, ("If-Match", &v2)], Some(&read.to_string()));
    assert_eq!(closed.status, 200, "{}", closed.body);
    assert_eq!(closed.json()["properties"]["status"], "closed");
    assert_eq!(closed.json()["properties"]["assignee"], "cmd_east");
    // The location is fixed; records are never deleted; incidents are read-only.
    let moved = json!({"geometry": {"type": "Point", "coordinates": [0, 0]}}).to_string();
    assert_eq!(
        s.call("cmd_east", None, "PATCH", &item, &[MERGE, ("If-Match", "*")], Some(&moved))
            .status,
        409
    );
    let del = s.call("cmd_east", None, "DELETE", &item, &[], None);
    assert_eq!((del.status, del.header("allow")), (405, "GET, PUT, PATCH"));
    assert_eq!(
        s.call("cmd_east", None, "POST", "/collections/incidents/items", &[GEO], Some("{}"))
            .status,
        405
    );
    assert_eq!(s.get("cmd_east", &item).json()["properties"]["version"], 3);
    let notes = su
        .raw(&format!(
            "SELECT string_agg(actor || ':' || text, ',') FROM jingwei.case_notes WHERE case_id = {id}"
        ))
        .unwrap();
    assert_eq!(notes, "insp_east:现场核实");

    // Bad bodies: one clear answer each, nothing written.
    let before = su.raw("SELECT count(*) FROM jingwei.cases").unwrap();
    for (ct, body, status) in [
        ("application/geo+json", "{not json", 400),
        ("text/plain", &new_case("x", 121.5, 31.2) as &str, 415),
        (
            "application/geo+json",
            r#"{"type":"Feature","properties":{"title":"x","case_no":"WJ1"}}"#,
            400,
        ),
        ("application/geo+json", r#"{"type":"Feature","properties":{"title":"  "}}"#, 400),
        (
            "application/geo+json",
            r#"{"type":"Feature","properties":{"title":"x","priority":101}}"#,
            400,
        ),
        (
            "application/geo+json",
            r#"{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[121,31],[122,31],[122,32]]]},"properties":{"title":"x"}}"#,
            400,
        ),
        (
            "application/geo+json",
            r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[200,31]},"properties":{"title":"x"}}"#,
            400,
        ),
        (
            "application/geo+json",
            r#"{"type":"Feature","properties":{"title":"x","phone":"13800138000"}}"#,
            422,
        ),
    ] {
        let got = s.call(
            "insp_east",
            None,
            "POST",
            "/collections/cases/items",
            &[("Content-Type", ct)],
            Some(body),
        );
        assert_eq!(got.status, status, "{body}: {}", got.body);
        assert!(got.json()["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    assert_eq!(su.raw("SELECT count(*) FROM jingwei.cases").unwrap(), before);

    // Incidents of one's department, read-only.
    let mut cmd = open(&s.db, "cmd_east");
    let at = geo::Geometry::Point(geo::Point::new(121.52, 31.24));
    let inc = cmd
        .open_incident(&NewIncident {
            kind: "fire",
            severity: Some("较大"),
            title: "仓库火情",
            source: "manual",
            event_id: None,
            rings_m: &[100.0, 300.0],
            occurred_at: None,
            geometry: &at,
        })
        .unwrap();
    let incidents = s.get("insp_east", "/collections/incidents/items").json();
    assert_eq!(incidents["numberMatched"], 1);
    assert_eq!(incidents["features"][0]["properties"]["kind"], "fire");
    assert_eq!(s.get("insp_west", "/collections/incidents/items").json()["numberMatched"], 0);
    let one = s.get("insp_east", &format!("/collections/incidents/items/{}", inc.id));
    assert_eq!((one.status, one.header("etag")), (200, format!("\"i{}.v1\"", inc.id).as_str()));
    assert_eq!(
        s.call(
            "insp_east",
            None,
            "PATCH",
            &format!("/collections/incidents/items/{}", inc.id),
            &[MERGE],
            Some("{}")
        )
        .status,
        405
    );
}

#[test]
fn personal_fields_go_in_sealed_and_come_out_only_with_the_data_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("data.key");
    std::fs::write(&key, "00112233445566778899aabbccddeeff\n").unwrap();
    let s = serve("serve_sealed", Some(&key));
    let body = json!({"type": "Feature", "geometry": null,
        "properties": {"title": "群租", "phone": "13800138000", "id_number": "110101199003074211"}})
    .to_string();
    let made = s.call("insp_east", None, "POST", "/collections/cases/items", &[GEO], Some(&body));
    assert_eq!(made.status, 201, "{}", made.body);
    let f = made.json();
    assert_eq!(f["properties"]["phone"], "13800138000");
    assert_eq!(f["properties"]["personal_sealed"], false);
    let mut su = Shared::open(&superuser(&s.db)).unwrap();
    let stored = su
        .raw(&format!("SELECT encode(phone, 'escape') FROM jingwei.cases WHERE id = {}", f["id"]))
        .unwrap();
    assert!(stored.starts_with("SM4G") && !stored.contains("13800138000"), "{stored}");
    // Without the key the same case reads as sealed, never in clear.
    let mut east = open(&s.db, "insp_east");
    let c = east.case(f["id"].as_i64().unwrap()).unwrap();
    assert_eq!((c.phone, c.personal_sealed), (None, true));
}

/// schemathesis, from its own virtualenv (scripts/setup.sh): every operation of the OpenAPI
/// document with generated valid and invalid input; no server error, and every status, media
/// type, header and body as the document says.
#[test]
fn schemathesis_finds_the_server_true_to_its_openapi_document() {
    let st = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/jingwei/schemathesis-venv/bin/schemathesis"))
        .filter(|p| p.exists())
        .expect("schemathesis is installed by scripts/setup.sh into ~/.cache/jingwei/schemathesis-venv");
    let s = serve("serve_fuzz", None);
    // Something to find: cases of the user's department.
    for i in 0..3 {
        let got = s.call(
            "w1",
            None,
            "POST",
            "/collections/cases/items",
            &[GEO],
            Some(&new_case(&format!("样例{i}"), 121.5, 31.2)),
        );
        assert_eq!(got.status, 201);
    }
    let at = geo::Geometry::Point(geo::Point::new(121.5, 31.2));
    open(&s.db, "w8")
        .open_incident(&NewIncident {
            kind: "flood",
            severity: None,
            title: "积水",
            source: "manual",
            event_id: None,
            rings_m: &[200.0],
            occurred_at: None,
            geometry: &at,
        })
        .unwrap();
    let report = s._dir.path().join("report.xml");
    let out = Command::new(st)
        .arg("run")
        .arg(s.url("/api"))
        .args([
            "--checks",
            // Not missing_required_header: it wants 400 or 422 for a write without If-Match,
            // where RFC 6585 has 428 Precondition Required for exactly that (and we answer it).
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection,unsupported_method,use_after_free,ensure_resource_availability",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-time",
            "100",
            "--max-examples",
            "40",
            "--seed",
            "20261206",
            // One worker: CPython 3.11's compiler is not safe to call from two threads at once
            // (hypothesis parses lambdas; "AST constructor recursion depth mismatch").
            "--workers",
            "1",
            "--no-color",
            "--generation-database",
            "none",
            // The credentials are given (-a); mutating them is the curl test's business.
            "--generation-with-security-parameters",
            "false",
            "--suppress-health-check",
            "all",
            "--report",
            "junit",
            "--report-junit-path",
        ])
        .arg(&report)
        .arg("--request-cert")
        .arg(s.tls.join("w1.crt"))
        .arg("--request-cert-key")
        .arg(s.tls.join("w1.key"))
        .arg("--tls-verify")
        .arg(s.tls.join("ca.crt"))
        .args(["-a", &format!("w1:{}", password("w1"))])
        .env("SCHEMATHESIS_HOOKS", "")
        // Its caches go to the test's folder, not the checkout.
        .current_dir(s._dir.path())
        .output()
        .expect("schemathesis runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "schemathesis found problems:\n{text}");
    // It did test the operations, and the writes among them.
    let junit = std::fs::read_to_string(&report).unwrap();
    for op in [
        "POST /collections/cases/items",
        "PATCH /collections/cases/items/{featureId}",
        "GET /collections/incidents/items",
    ] {
        assert!(junit.contains(op), "{op} not tested:\n{text}");
    }
}

/// A lost phone's certificate, revoked by the bureau's CA, ends the handshake; the others work.
#[test]
fn a_revoked_certificate_is_refused_at_the_handshake() {
    let tls = PathBuf::from(&cluster()["PG_TLS"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("index.txt"), "").unwrap();
    std::fs::write(d.join("crlnumber"), "01\n").unwrap();
    std::fs::write(
        d.join("ca.cnf"),
        format!(
            "[ca]\ndefault_ca = the_ca\n[the_ca]\ndatabase = {0}/index.txt\ncrlnumber = {0}/crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n",
            d.display()
        ),
    )
    .unwrap();
    let ca = |args: &[&str]| {
        let out = Command::new("openssl")
            .arg("ca")
            .arg("-config")
            .arg(d.join("ca.cnf"))
            .arg("-keyfile")
            .arg(tls.join("ca.key"))
            .arg("-cert")
            .arg(tls.join("ca.crt"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl ca {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ca(&["-revoke", tls.join("insp_west.crt").to_str().unwrap()]);
    let crl = d.join("crl.pem");
    ca(&["-gencrl", "-out", crl.to_str().unwrap()]);
    let s = serve_with("serve_crl", None, Some(crl));
    assert_eq!(s.get("insp_east", "/").status, 200);
    let revoked = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(tls.join("ca.crt"))
        .arg("--cert")
        .arg(tls.join("insp_west.crt"))
        .arg("--key")
        .arg(tls.join("insp_west.key"))
        .args(["-u", &format!("insp_west:{}", password("insp_west")), &s.url("/")])
        .output()
        .unwrap();
    assert!(
        !revoked.status.success(),
        "a revoked certificate got an answer: {}",
        String::from_utf8_lossy(&revoked.stdout)
    );
}
