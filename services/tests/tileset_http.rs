//! 3D Tiles over HTTP from a real server (Python's `http.server` on 127.0.0.1): an external
//! tileset and an implicit one with subtrees read the same as from their folders, every content
//! byte for byte; a workspace takes the URL as it takes a file; and URIs leaving the tileset's
//! folder are refused without a request (the server's log shows none).

use jingwei_layers::tiles3d::{self, implicit};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

struct Server {
    child: Child,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new("python3")
        .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "--directory"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 -m http.server");
    let log = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Server { child, port, log };
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the HTTP server did not start");
}

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/3d/tiles3d").join(rel)
}

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/foreign/tiles3d").join(rel)
}

/// Open a tileset from its folder and over HTTP; expand implicit tiling; compare the trees and
/// every content's bytes.
fn same_over_http(folder: &Path, served: &Path, url_path: &str) -> usize {
    jingwei_services::tileset::register();
    let server = serve(served);
    let url = format!("http://127.0.0.1:{}/{url_path}", server.port);
    let mut local = tiles3d::open(&folder.join("tileset.json")).unwrap();
    let mut remote = tiles3d::open(Path::new(&url)).unwrap_or_else(|e| panic!("{url}: {e}"));
    implicit::expand_all(&mut local).unwrap();
    implicit::expand_all(&mut remote).unwrap();
    assert_eq!(remote.tiles.len(), local.tiles.len(), "{url}");
    assert!(remote.broken.is_empty(), "{:?}", remote.broken);
    let mut contents = 0;
    for (a, b) in local.tiles.iter().zip(&remote.tiles) {
        assert_eq!(a.contents.len(), b.contents.len());
        assert_eq!(a.geometric_error, b.geometric_error);
        for (ca, cb) in a.contents.iter().zip(&b.contents) {
            assert_eq!(ca.uri, cb.uri);
            let want = local.fetch.fetch(&ca.path).unwrap();
            let got = remote.fetch.fetch(&cb.path).unwrap_or_else(|e| panic!("{}: {e}", cb.uri));
            assert_eq!(got, want, "{}", cb.uri);
            contents += 1;
        }
    }
    // Every request went to this server's tileset folder.
    let log = server.log.lock().unwrap().join("\n");
    assert!(log.contains("GET /"), "{log}");
    contents
}

#[test]
fn an_external_tileset_reads_the_same_over_http() {
    let folder = shared("1.0/TilesetWithRequestVolume");
    let n = same_over_http(&folder, folder.parent().unwrap(), "TilesetWithRequestVolume/tileset.json");
    assert!(n >= 6, "{n}");
}

#[test]
fn implicit_tiling_reads_the_same_over_http() {
    let folder = testdata("1.1/SparseImplicitQuadtree");
    let n = same_over_http(&folder, &folder, "tileset.json");
    assert!(n >= 30, "{n}");
}

#[test]
fn a_workspace_takes_a_tileset_url_as_it_takes_a_file() {
    jingwei_services::tileset::register();
    let folder = shared("1.0/TilesetWithRequestVolume");
    let server = serve(folder.parent().unwrap());
    let url = format!("http://127.0.0.1:{}/TilesetWithRequestVolume/tileset.json", server.port);
    let mut ws = None;
    assert_eq!(jingwei_layers::Workspace::load_file(&mut ws, Path::new(&url), None).unwrap(), 1);
    let ws = ws.unwrap();
    assert_eq!(ws.tilesets[0].title, "TilesetWithRequestVolume");
    assert_eq!(ws.tilesets[0].path, Path::new(&url));
}

#[test]
fn uris_leaving_the_folder_are_refused_without_a_request() {
    jingwei_services::tileset::register();
    let dir = tempfile::tempdir().unwrap();
    let src = shared("1.0/TilesetWithRequestVolume");
    let set = dir.path().join("set");
    std::fs::create_dir(&set).unwrap();
    std::fs::copy(src.join("building.b3dm"), set.join("building.b3dm")).unwrap();
    // Beside the folder, on the same server: reachable by `..`, and not to be fetched.
    std::fs::copy(src.join("building.b3dm"), dir.path().join("outside.b3dm")).unwrap();
    let server = serve(dir.path());
    let tileset = serde_json::json!({
        "asset": {"version": "1.0"},
        "geometricError": 100,
        "root": {
            "boundingVolume": {"region": [-1.3197, 0.6988, -1.3196, 0.6989, 0, 100]},
            "geometricError": 10,
            "refine": "ADD",
            "content": {"uri": "building.b3dm"},
            "children": [
                {"boundingVolume": {"region": [-1.3197, 0.6988, -1.3196, 0.6989, 0, 100]}, "geometricError": 0, "content": {"uri": "../outside.b3dm"}},
                {"boundingVolume": {"region": [-1.3197, 0.6988, -1.3196, 0.6989, 0, 100]}, "geometricError": 0, "content": {"uri": "https://elsewhere.example/x.b3dm"}},
                {"boundingVolume": {"region": [-1.3197, 0.6988, -1.3196, 0.6989, 0, 100]}, "geometricError": 0, "content": {"uri": "missing.b3dm"}}
            ]
        }
    });
    std::fs::write(set.join("tileset.json"), tileset.to_string()).unwrap();
    let url = format!("http://127.0.0.1:{}/set/tileset.json", server.port);
    let ts = tiles3d::open(Path::new(&url)).unwrap();
    let mut errors = Vec::new();
    for t in &ts.tiles {
        for c in &t.contents {
            match ts.fetch.fetch(&c.path) {
                Ok(b) => assert_eq!(c.uri, "building.b3dm", "{} fetched {} bytes", c.uri, b.len()),
                Err(e) => errors.push((c.uri.clone(), e.to_string())),
            }
        }
    }
    assert_eq!(errors.len(), 3, "{errors:?}");
    for (uri, e) in &errors {
        match uri.as_str() {
            "missing.b3dm" => assert!(e.contains("404") && e.contains("missing.b3dm"), "{e}"),
            _ => assert!(e.contains("outside the tileset's folder"), "{uri}: {e}"),
        }
    }
    // The server logs a request as it answers it, so its line may come a moment after the
    // answer: wait for the requests made, then see that none other was.
    let t0 = std::time::Instant::now();
    let log = loop {
        let log = server.log.lock().unwrap().join("\n");
        let both = log.contains("/set/building.b3dm") && log.contains("/set/missing.b3dm");
        if both || t0.elapsed() > std::time::Duration::from_secs(10) {
            break log;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(log.contains("/set/building.b3dm") && log.contains("/set/missing.b3dm"), "{log}");
    assert!(!log.contains("outside.b3dm") && !log.contains("x.b3dm"), "{log}");
}
