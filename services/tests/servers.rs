//! Against real servers started on 127.0.0.1 by `scripts/map-services.sh`: MapServer 8 (WMS
//! 1.1.1 and 1.3.0) and MapProxy (WMTS KVP and REST on an EPSG:4490 grid, Web Mercator and a
//! Gauss-Krüger zone whose corner it writes northing first; TMS), and — in front of MapProxy —
//! a capabilities document with 天地图's own `c` and `w` matrix sets, served with a `tk` key
//! that every request must carry. A ground mark (a red square burned into the orthophoto)
//! must land where PROJ puts it; WMS must draw what the file holds; failing servers must be
//! reported, not hang.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use jingwei_layers::imagery::TileSource;
use jingwei_layers::imagery::cache::TileCache;
use jingwei_layers::imagery::raster::RasterImage;
use jingwei_layers::imagery::warp::{Composite, Plan, Target};
use jingwei_layers::{Crs, Transformer};
use jingwei_services::{ServiceSpec, open};

#[path = "support/map_services.rs"]
mod map_services;
use map_services::servers;

fn ws() -> Crs {
    Crs::from_epsg(4550).unwrap() // the demo city's zone: CGCS2000 / 3-degree Gauss-Kruger CM 123E
}

/// The mark in the workspace, and a `px` m/pixel view of 400 × 400 around it (off-centre).
fn view_at_mark(px: f64) -> ([f64; 2], Target) {
    let s = servers();
    let (lon, lat): (f64, f64) = (s["MARK_LON"].parse().unwrap(), s["MARK_LAT"].parse().unwrap());
    let (x, y) = Transformer::new(&Crs::cgcs2000().unwrap(), &ws())
        .unwrap()
        .transform(lon, lat)
        .unwrap();
    let extent = [x - 170.0 * px, y - 230.0 * px, x + 230.0 * px, y + 170.0 * px];
    (
        [x, y],
        Target {
            crs: ws(),
            extent,
            width: 400,
            height: 400,
        },
    )
}

/// Centroid (in workspace coordinates) of the red pixels of a composite.
fn red_centroid(c: &Composite, t: &Target) -> Option<[f64; 2]> {
    let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
    for (i, p) in c.rgba.chunks_exact(4).enumerate() {
        if p[0] > 180 && p[1] < 70 && p[2] < 70 && p[3] > 200 {
            sx += (i % c.width as usize) as f64 + 0.5;
            sy += (i / c.width as usize) as f64 + 0.5;
            n += 1.0;
        }
    }
    let e = t.extent;
    let (px, py) = ((e[2] - e[0]) / f64::from(t.width), (e[3] - e[1]) / f64::from(t.height));
    (n > 0.0).then(|| [e[0] + sx / n * px, e[3] - sy / n * py])
}

fn draw(source: &dyn TileSource, t: &Target) -> (Composite, usize) {
    let plan = Plan::new(source.grid(), t, 256).unwrap().expect("the view overlaps the layer");
    let cache = TileCache::new(128 << 20);
    (plan.compose_now(source, &cache).expect("tiles come"), plan.level)
}

fn wmts(set: &str, kvp: bool) -> ServiceSpec {
    let mp = &servers()["MAPPROXY_URL"];
    ServiceSpec {
        kind: "wmts".into(),
        // The REST document, or the KVP endpoint's.
        url: if kvp {
            format!("{mp}/service?SERVICE=WMTS&REQUEST=GetCapabilities")
        } else {
            format!("{mp}/wmts/1.0.0/WMTSCapabilities.xml")
        },
        layer: Some("ortho".into()),
        matrix_set: Some(set.into()),
        kvp,
        ..Default::default()
    }
}

/// The mark lands within one pixel of the level drawn (at least one metre) of where PROJ
/// puts it.
fn assert_mark(what: &str, source: &dyn TileSource, px: f64) {
    let (mark, t) = view_at_mark(px);
    let (c, level) = draw(source, &t);
    assert_eq!(c.missing, 0, "{what}: every tile came");
    let got = red_centroid(&c, &t).unwrap_or_else(|| panic!("{what}: no mark drawn"));
    let g = source.grid();
    // The level's pixel in metres (degrees through the local scale).
    let lvl = &g.levels[level];
    let metres = if g.crs.is_geographic() {
        lvl.res[0] * 111_319.49 * (31.23f64.to_radians().cos()).max(0.5)
    } else {
        lvl.res[0]
    };
    let tol = metres.max(px).max(1.0);
    let d = (got[0] - mark[0]).hypot(got[1] - mark[1]);
    eprintln!("{what}: level {level} ({metres:.2} m pixels): mark {d:.2} m from PROJ's position");
    assert!(d <= tol, "{what}: the mark is {d:.2} m off (allowed {tol:.2} m)");
}

#[test]
fn mapproxy_wmts_kvp_and_rest_on_three_matrix_sets() {
    for set in ["tdt_c", "webmerc", "gk"] {
        for kvp in [false, true] {
            let o = open(&wmts(set, kvp), &ws(), None).unwrap_or_else(|e| panic!("{set}: {e}"));
            assert!(o.detail.contains(if kvp { "KVP" } else { "REST" }), "{}", o.detail);
            if set == "gk" {
                // MapProxy writes EPSG:4550's corner northing first, as EPSG orders its axes.
                assert!(
                    !o.detail.contains("fixed"),
                    "read as the standard says, nothing to fix: {}",
                    o.detail
                );
            }
            assert_mark(&format!("WMTS {} {set}", if kvp { "KVP" } else { "REST" }), o.source.as_ref(), 2.0);
        }
    }
}

#[test]
fn an_xyz_template_on_mapproxy() {
    // MapProxy's REST tiles of its Web Mercator grid are Google's XYZ scheme (at the levels
    // drawn here its two-digit level names are plain numbers).
    let spec = ServiceSpec {
        kind: "xyz".into(),
        url: format!("{}/wmts/ortho/webmerc/{{z}}/{{x}}/{{y}}.png", servers()["MAPPROXY_URL"]),
        ..Default::default()
    };
    let o = open(&spec, &ws(), None).unwrap();
    assert_mark("XYZ", o.source.as_ref(), 2.0);
}

fn ortho_file() -> RasterImage {
    let p = Path::new(&servers()["SERVICES_RUN"]).join("ortho.tif");
    RasterImage::open(&p, "ortho-file", None).unwrap()
}

#[test]
fn mapserver_wms_draws_what_the_file_holds_in_both_versions() {
    let file = ortho_file();
    let (_, t) = view_at_mark(12.0);
    let (from_file, _) = draw(&file, &t);
    for (version, crs) in [("1.3.0", "EPSG:4490"), ("1.1.1", "EPSG:4490"), ("1.3.0", "EPSG:4550")] {
        let spec = ServiceSpec {
            kind: "wms".into(),
            url: format!("{}?VERSION={version}", servers()["MAPSERVER_URL"]),
            layer: Some("ortho".into()),
            crs: Some(crs.into()),
            ..Default::default()
        };
        let o = open(&spec, &ws(), None).unwrap_or_else(|e| panic!("WMS {version} {crs}: {e}"));
        assert!(o.detail.contains(version), "{}", o.detail);
        let (c, _) = draw(o.source.as_ref(), &t);
        let (mut sum, mut n, mut big) = (0u64, 0u64, 0u64);
        for (a, b) in c.rgba.chunks_exact(4).zip(from_file.rgba.chunks_exact(4)) {
            if a[3] < 255 || b[3] < 255 {
                continue;
            }
            for k in 0..3 {
                let d = u64::from(a[k].abs_diff(b[k]));
                sum += d;
                big += u64::from(d > 24);
            }
            n += 1;
        }
        let mean = sum as f64 / (3 * n.max(1)) as f64;
        let share_big = big as f64 / (3 * n.max(1)) as f64;
        eprintln!(
            "WMS {version} {crs} vs the file: {n} pixels, mean |Δ| {mean:.2}, {:.2} % over 24",
            share_big * 100.0
        );
        assert!(n > 400 * 400 / 2, "WMS {version} {crs}: most of the view drawn ({n})");
        assert!(mean < 6.0, "WMS {version} {crs}: mean difference {mean}");
        assert!(share_big < 0.03, "WMS {version} {crs}: {share_big}");
        assert_mark(&format!("WMS {version} {crs}"), o.source.as_ref(), 2.0);
    }
}

type Answer = (&'static str, &'static str, Vec<u8>);

/// A small HTTP server on 127.0.0.1 in front of MapProxy: `answer` maps each request target
/// to a status, a content type and a body; every target is remembered.
fn front(answer: impl Fn(&str) -> Answer + Send + 'static) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).map_or(true, |n| n == 0) || h == "\r\n" {
                    break;
                }
            }
            let target = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            log.lock().unwrap().push(target.clone());
            let (status, ctype, body) = answer(&target);
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(&body);
        }
    });
    (base, seen)
}

/// A tile of MapProxy's, passed on.
fn upstream_tile(http: &reqwest::blocking::Client, url: &str) -> Answer {
    match http.get(url).send() {
        Ok(resp) => {
            let ok = resp.status().is_success();
            let b = resp.bytes().map(|b| b.to_vec()).unwrap_or_default();
            if ok {
                ("200 OK", "image/png", b)
            } else {
                ("404 Not Found", "text/xml", b)
            }
        }
        Err(_) => ("502 Bad Gateway", "text/plain", b"upstream".to_vec()),
    }
}

/// A server in front of MapProxy with 天地图's capabilities: answers only requests with the
/// key, maps the 1-based `c`/`w` identifiers to MapProxy's grids, and remembers every request.
fn tianditu_front(key: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tianditu_capabilities.xml")).unwrap();
    let upstream = servers()["MAPPROXY_URL"].clone();
    let http = reqwest::blocking::Client::new();
    let base = Arc::new(OnceLock::<String>::new());
    let b2 = base.clone();
    let (url, seen) = front(move |target| {
        let q: HashMap<String, String> = target
            .split_once('?')
            .map(|(_, q)| {
                q.split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_ascii_uppercase(), v.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        if q.get("TK").map(String::as_str) != Some(key) {
            ("403 Forbidden", "text/xml", b"<ows:ExceptionReport xmlns:ows=\"http://www.opengis.net/ows/1.1\"><ows:Exception exceptionCode=\"NoApplicationOrKey\"><ows:ExceptionText>tk missing or wrong</ows:ExceptionText></ows:Exception></ows:ExceptionReport>".to_vec())
        } else if q.get("REQUEST").is_some_and(|r| r.eq_ignore_ascii_case("GetCapabilities")) {
            ("200 OK", "text/xml", doc.replace("{MAPPROXY}", b2.get().unwrap()).into_bytes())
        } else {
            let grid = if q.get("TILEMATRIXSET").map(String::as_str) == Some("w") {
                "webmerc"
            } else {
                "tdt_c"
            };
            let url = format!(
                "{upstream}/wmts/ortho/{grid}/{:02}/{}/{}.png",
                q["TILEMATRIX"].parse::<u32>().unwrap(),
                q["TILECOL"],
                q["TILEROW"]
            );
            upstream_tile(&http, &url)
        }
    });
    base.set(url.clone()).unwrap();
    (url, seen)
}

#[test]
fn tianditu_matrix_sets_in_front_of_mapproxy() {
    let key = "0123456789abcdef";
    let (base, seen) = tianditu_front(key);
    for set in ["c", "w"] {
        let spec = ServiceSpec {
            kind: "wmts".into(),
            url: format!("{base}/tdt/img_c/wmts"),
            layer: Some("img".into()),
            matrix_set: Some(set.into()),
            params: vec![("tk".into(), key.into())],
            ..Default::default()
        };
        let o = open(&spec, &ws(), None).unwrap_or_else(|e| panic!("{set}: {e}"));
        assert!(o.detail.contains("96-dpi"), "{}", o.detail);
        assert_mark(&format!("天地图 set {set}"), o.source.as_ref(), 2.0);
        // MapProxy's level numbers are not 天地图's: the identifiers were used as published.
        assert!(
            format!("{:?}", spec).contains("tk=***") && !format!("{spec:?}").contains(key),
            "keys never in Debug output"
        );
    }
    let requests = seen.lock().unwrap().clone();
    assert!(requests.iter().any(|r| r.contains("REQUEST=GetTile")), "{requests:?}");
    assert!(
        requests.iter().all(|r| r.contains(&format!("tk={key}"))),
        "the key rides on every request: {requests:?}"
    );

    // Without the key: one line, the service's own words, no key in it.
    let spec = ServiceSpec {
        kind: "wmts".into(),
        url: format!("{base}/tdt/img_c/wmts"),
        params: vec![("tk".into(), "wrong-key".into())],
        ..Default::default()
    };
    let e = open(&spec, &ws(), None).err().expect("refused").to_string();
    assert!(
        e.contains("tk missing or wrong") && e.contains("tk=***") && !e.contains("wrong-key"),
        "{e}"
    );
}

#[test]
fn failing_servers_are_reported_not_waited_for() {
    // Nothing listens.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let spec = ServiceSpec {
        kind: "wmts".into(),
        url: format!("http://127.0.0.1:{port}/wmts"),
        ..Default::default()
    };
    let e = open(&spec, &ws(), None).err().expect("nothing there").to_string();
    assert!(e.contains("cannot connect") && e.contains(&port.to_string()), "{e}");
    // A layer MapServer does not have: the layers it has are named.
    let spec = ServiceSpec {
        kind: "wms".into(),
        url: servers()["MAPSERVER_URL"].clone(),
        layer: Some("nope".into()),
        ..Default::default()
    };
    let e = open(&spec, &ws(), None).err().expect("no such layer").to_string();
    assert!(e.contains("no layer 'nope'") && e.contains("ortho"), "{e}");
    // Tiles MapProxy refuses with an exception: failures with its words, counted in the health.
    let o = open(&wmts("tdt_c", true), &ws(), None).unwrap();
    let err = o.source.fetch(0, 99, 99).map(|t| t.is_none());
    assert_eq!(err, Ok(true), "outside the matrix: no tile, no error");
}

#[test]
fn offline_packages_resume_and_open_as_layers() {
    let dir = tempfile::tempdir().unwrap();
    let bbox = [121.495, 31.222, 121.515, 31.238];
    for (set, out, levels) in [("tdt_c", "area.gpkg", (13, 16)), ("webmerc", "area.mbtiles", (14, 17))] {
        let path = dir.path().join(out);
        let o = open(
            &wmts(set, false),
            &ws(),
            Some(&jingwei_services::DiskCache {
                dir: dir.path().join("cache"),
                limit_bytes: 1 << 30,
            }),
        )
        .unwrap();
        let mut calls = 0;
        let r = jingwei_layers::imagery::package::package(o.source.as_ref(), bbox, levels, &path, &mut |done, total| {
            calls += 1;
            assert!(done <= total);
            true
        })
        .unwrap();
        assert!(r.written > 10 && r.failed == 0 && calls > 0, "{set}: {r:?}");
        // Again: everything is there already.
        let again = jingwei_layers::imagery::package::package(o.source.as_ref(), bbox, levels, &path, &mut |_, _| true).unwrap();
        assert_eq!((again.written, again.kept), (0, r.written), "{set}: resumed, nothing fetched twice");
        // The package is a layer like any file, and the mark is where it was.
        let img = RasterImage::open(&path, out, None).unwrap_or_else(|e| panic!("{out}: {e}"));
        assert_mark(&format!("package {out}"), &img, 2.0);
    }
    // MBTiles cannot hold a 4490 grid: said, not written wrong.
    let o = open(&wmts("tdt_c", false), &ws(), None).unwrap();
    let e = jingwei_layers::imagery::package::package(o.source.as_ref(), bbox, (13, 14), &dir.path().join("x.mbtiles"), &mut |_, _| true)
        .unwrap_err();
    assert!(e.to_string().contains("write a .gpkg"), "{e}");
}

#[test]
fn wms_get_feature_info_names_the_building_under_the_point() {
    use geo::InteriorPoint;
    let path = Path::new(&servers()["SERVICES_RUN"]).join("buildings.geojson");
    let src = jingwei_layers::Source::open(&path, &Default::default()).unwrap();
    let layer = src.read_layer(None).unwrap();
    let idf = layer.field_index("id").unwrap();
    // Three buildings; the point inside each, in EPSG:4490 (the layer's CRS here).
    for row in [0usize, 10, 100] {
        let p = &layer.geometries.geometry(row).unwrap().interior_point().unwrap();
        let want = layer.feature(row).value(idf);
        let want = want
            .as_f64()
            .map_or_else(|| want.as_str().unwrap_or("").to_owned(), |v| format!("{v}"));
        for version in ["1.3.0", "1.1.1"] {
            let spec = ServiceSpec {
                kind: "wms".into(),
                url: format!("{}?VERSION={version}", servers()["MAPSERVER_URL"]),
                layer: Some("buildings".into()),
                crs: Some("EPSG:4490".into()),
                ..Default::default()
            };
            let o = open(&spec, &ws(), None).unwrap();
            let found = o.source.feature_info(p.x(), p.y(), 0.000_002).unwrap();
            let ids: Vec<String> = found
                .iter()
                .filter_map(|m| m.get("id").and_then(|v| v.as_str()).map(str::to_owned))
                .collect();
            assert!(
                ids.contains(&want),
                "WMS {version}: building {want} at {:?}: {found:?}",
                (p.x(), p.y())
            );
        }
    }
}

/// An ArcGIS Server façade in front of MapProxy: each service's JSON (written as ArcGIS
/// Server 10.x writes it) describes one of MapProxy's grids, and `…/tile/{level}/{row}/{col}`
/// passes the tile on. Web Mercator is spelled 102100; the CGCS2000 scheme starts at level 3;
/// the Gauss-Krüger scheme gives its extent in EPSG:4490. `secured` answers a JSON error with
/// HTTP 200, `dynamic` has no cache.
fn arcgis_front() -> (String, Arc<Mutex<Vec<String>>>) {
    use serde_json::json;
    let s = servers();
    let mp = s["MAPPROXY_URL"].clone();
    // The Gauss-Krüger grid's resolutions as MapProxy publishes them, and its top left.
    let tilemap = reqwest::blocking::get(format!("{mp}/tms/1.0.0/ortho/EPSG4550"))
        .unwrap()
        .text()
        .unwrap();
    let gk_res: Vec<f64> = tilemap
        .split("units-per-pixel=\"")
        .skip(1)
        .map(|t| t.split('"').next().unwrap().parse().unwrap())
        .collect();
    let gk_origin: Vec<f64> = s["GK_ORIGIN"].split(',').map(|v| v.parse().unwrap()).collect();
    let merc = |lon: f64, lat: f64| {
        let r = 6_378_137.0;
        (
            r * lon.to_radians(),
            r * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0).tan().ln(),
        )
    };
    let (x0, y0) = merc(121.48, 31.21);
    let (x1, y1) = merc(121.53, 31.25);
    let doc = |wkid: u64, latest: u64, origin: [f64; 2], lods: Vec<(u32, f64)>, extent: serde_json::Value| {
        let sr = json!({ "wkid": wkid, "latestWkid": latest });
        json!({
            "currentVersion": 10.81,
            "serviceDescription": "",
            "mapName": "Layers",
            "description": "",
            "copyrightText": "Landsat 7 ETM+ (r-cran-stars test data)",
            "supportsDynamicLayers": false,
            "layers": [ { "id": 0, "name": "ortho", "parentLayerId": -1, "defaultVisibility": true,
                          "subLayerIds": null, "minScale": 0, "maxScale": 0 } ],
            "spatialReference": sr,
            "singleFusedMapCache": true,
            "tileInfo": {
                "rows": 256, "cols": 256, "dpi": 96, "format": "PNG32", "compressionQuality": 0,
                "origin": { "x": origin[0], "y": origin[1] },
                "spatialReference": sr,
                "lods": lods.iter().map(|&(l, r)| json!({
                    "level": l, "resolution": r, "scale": r * 96.0 / 0.0254
                })).collect::<Vec<_>>()
            },
            "initialExtent": extent.clone(),
            "fullExtent": extent,
            "units": if wkid == 4490 { "esriDecimalDegrees" } else { "esriMeters" },
            "supportedImageFormatTypes": "PNG32,PNG24,PNG,JPG,DIB,TIFF,EMF,PS,PDF,GIF,SVG,SVGZ,BMP",
            "documentInfo": { "Title": "", "Author": "", "Comments": "", "Subject": "", "Keywords": "" },
            "capabilities": "Map,Query,Data",
            "exportTilesAllowed": false,
            "maxImageHeight": 4096,
            "maxImageWidth": 4096
        })
    };
    let services: HashMap<&'static str, (&'static str, serde_json::Value)> = HashMap::from([
        (
            "ortho_webmerc",
            (
                "webmerc",
                doc(
                    102_100,
                    3857,
                    [-20_037_508.342_787, 20_037_508.342_787],
                    (0..19).map(|z| (z, 156_543.033_928_000_14 / f64::from(1u32 << z))).collect(),
                    json!({ "xmin": x0, "ymin": y0, "xmax": x1, "ymax": y1,
                            "spatialReference": { "wkid": 102_100, "latestWkid": 3857 } }),
                ),
            ),
        ),
        (
            "ortho_cgcs",
            (
                "tdt_c",
                doc(
                    4490,
                    4490,
                    [-180.0, 90.0],
                    (3..19).map(|z| (z, 1.40625 / f64::from(1u32 << z))).collect(),
                    json!({ "xmin": 121.48, "ymin": 31.21, "xmax": 121.53, "ymax": 31.25,
                            "spatialReference": { "wkid": 4490, "latestWkid": 4490 } }),
                ),
            ),
        ),
        (
            "ortho_gk",
            (
                "gk",
                doc(
                    4550,
                    4550,
                    [gk_origin[0], gk_origin[1]],
                    gk_res.iter().enumerate().map(|(z, &r)| (z as u32, r)).collect(),
                    json!({ "xmin": 121.48, "ymin": 31.21, "xmax": 121.53, "ymax": 31.25,
                            "spatialReference": { "wkid": 4490 } }),
                ),
            ),
        ),
    ]);
    // Its legend: MapServer's picture of the buildings' class, as ArcGIS sends symbols.
    let symbol = reqwest::blocking::get(format!(
        "{}?SERVICE=WMS&REQUEST=GetLegendGraphic&VERSION=1.3.0&LAYER=buildings&FORMAT=image/png&SLD_VERSION=1.1.0",
        s["MAPSERVER_URL"]
    ))
    .unwrap()
    .bytes()
    .unwrap()
    .to_vec();
    let legend = json!({ "layers": [ { "layerId": 0, "layerName": "buildings", "layerType": "Feature Layer",
        "minScale": 0, "maxScale": 0, "legend": [ { "label": "", "url": "0a1b2c", "imageData": jingwei_layers::encoding::base64_encode(&symbol),
        "contentType": "image/png", "height": 20, "width": 20 } ] } ] });
    let http = reqwest::blocking::Client::new();
    front(move |target| {
        let path = target.split('?').next().unwrap_or("");
        let Some(rest) = path.strip_prefix("/arcgis/rest/services/") else {
            return ("404 Not Found", "text/plain", b"no".to_vec());
        };
        let (name, tail) = rest.split_once("/MapServer").unwrap_or((rest, ""));
        match (name, tail.trim_start_matches('/')) {
            ("secured", _) => (
                "200 OK",
                "application/json",
                br#"{"error":{"code":499,"message":"Token Required","details":[]}}"#.to_vec(),
            ),
            ("dynamic", "") => {
                let mut d = services["ortho_cgcs"].1.clone();
                d["singleFusedMapCache"] = json!(false);
                d.as_object_mut().unwrap().remove("tileInfo");
                ("200 OK", "application/json", d.to_string().into_bytes())
            }
            (name, "legend") if services.contains_key(name) => ("200 OK", "application/json", legend.to_string().into_bytes()),
            (name, "") if services.contains_key(name) => ("200 OK", "text/plain;charset=utf-8", services[name].1.to_string().into_bytes()),
            (name, tile) if services.contains_key(name) && tile.starts_with("tile/") => {
                let v: Vec<&str> = tile.split('/').collect();
                let (z, row, col) = (v[1].parse::<u32>().unwrap(), v[2], v[3]);
                upstream_tile(&http, &format!("{mp}/wmts/ortho/{}/{z:02}/{col}/{row}.png", services[name].0))
            }
            _ => (
                "200 OK",
                "application/json",
                br#"{"error":{"code":404,"message":"Service not found","details":[]}}"#.to_vec(),
            ),
        }
    })
}

#[test]
fn arcgis_rest_cached_services_in_front_of_mapproxy() {
    let (base, seen) = arcgis_front();
    for name in ["ortho_webmerc", "ortho_cgcs", "ortho_gk"] {
        let spec = ServiceSpec {
            kind: "arcgis".into(),
            url: format!("{base}/arcgis/rest/services/{name}/MapServer"),
            ..Default::default()
        };
        let o = open(&spec, &ws(), None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(o.detail.starts_with("ArcGIS REST"), "{}", o.detail);
        assert_mark(&format!("ArcGIS REST {name}"), o.source.as_ref(), 2.0);
    }
    assert!(
        seen.lock().unwrap().iter().any(|t| t.contains("/ortho_cgcs/MapServer/tile/")),
        "tiles came through the REST tile path"
    );
    for (name, words) in [("secured", "Token Required"), ("dynamic", "without a tile cache")] {
        let spec = ServiceSpec {
            kind: "arcgis".into(),
            url: format!("{base}/arcgis/rest/services/{name}/MapServer"),
            ..Default::default()
        };
        let e = open(&spec, &ws(), None).err().expect("refused").to_string();
        assert!(e.contains(words) && !e.contains('\n'), "{name}: {e}");
    }
}

#[test]
fn tms_templates_flip_the_rows_as_mapproxy_serves_them() {
    // MapProxy's tile service counts rows from the south with ?origin=sw: a TMS.
    let mp = &servers()["MAPPROXY_URL"];
    for (kind, y) in [("xyz", "{-y}"), ("tms", "{y}")] {
        let spec = ServiceSpec {
            kind: kind.into(),
            url: format!("{mp}/tiles/1.0.0/ortho/EPSG3857/{{z}}/{{x}}/{y}.png?origin=sw"),
            ..Default::default()
        };
        let o = open(&spec, &ws(), None).unwrap();
        assert_mark(&format!("{kind} {y}"), o.source.as_ref(), 2.0);
    }
}

#[test]
fn mapproxy_mbtiles_and_geopackage_caches() {
    for (layer, set, file) in [
        ("ortho_mbtiles", "GLOBAL_MERCATOR", "ortho.mbtiles"),
        ("ortho_gpkg", "tdt_c", "ortho.gpkg"),
    ] {
        let spec = ServiceSpec {
            layer: Some(layer.into()),
            ..wmts(set, false)
        };
        let o = open(&spec, &ws(), None).unwrap_or_else(|e| panic!("{layer}: {e}"));
        assert_mark(&format!("WMTS from MapProxy's {file}"), o.source.as_ref(), 2.0);
        // The cache MapProxy wrote is a file GDAL reads: the tiles it holds show the mark.
        let path = Path::new(&servers()["SERVICES_RUN"]).join("cache").join(file);
        let img = RasterImage::open(&path, file, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_mark(&format!("MapProxy's {file} opened as a file"), &img, 2.0);
    }
}

/// A WMTS in front of nothing: its capabilities (天地图's document) come at once, its tiles
/// never (each request is held `hold`).
fn stalling_tiles(hold: std::time::Duration) -> (String, Arc<Mutex<Vec<String>>>) {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tianditu_capabilities.xml")).unwrap();
    let base = Arc::new(OnceLock::<String>::new());
    let b2 = base.clone();
    let (url, seen) = front(move |target| {
        if target.contains("GetCapabilities") {
            ("200 OK", "text/xml", doc.replace("{MAPPROXY}", b2.get().unwrap()).into_bytes())
        } else {
            std::thread::sleep(hold);
            ("504 Gateway Timeout", "text/plain", b"late".to_vec())
        }
    });
    base.set(url.clone()).unwrap();
    (url, seen)
}

/// The `c` set of [`stalling_tiles`]' WMTS, with a time limit of `timeout_s`.
fn stalling_wmts(base: &str, timeout_s: u32) -> ServiceSpec {
    ServiceSpec {
        kind: "wmts".into(),
        url: format!("{base}/tdt/img_c/wmts"),
        layer: Some("img".into()),
        matrix_set: Some("c".into()),
        timeout_s: Some(timeout_s),
        ..Default::default()
    }
}

#[test]
fn a_stalling_server_is_reported_not_waited_for() {
    use jingwei_layers::imagery::loader::{Loader, TRIES};
    use std::time::{Duration, Instant};
    // Capabilities never answered: the user's time limit, then one line that says so.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s); // accepted, never answered
        }
    });
    let spec = ServiceSpec {
        kind: "wmts".into(),
        url: format!("http://127.0.0.1:{port}/wmts"),
        timeout_s: Some(2),
        ..Default::default()
    };
    let t0 = Instant::now();
    let e = open(&spec, &ws(), None).err().expect("no answer").to_string();
    assert!(e.contains("timed out") && !e.contains('\n'), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());

    // Capabilities answered, tiles stall: after its tries the tile is a failure that says
    // why, counted in the layer's health; the loader is idle again.
    let (base, _) = stalling_tiles(Duration::from_secs(30));
    let o = open(&stalling_wmts(&base, 1), &ws(), None).unwrap();
    let loader = Loader::new(2, Arc::new(TileCache::new(8 << 20)), Duration::from_millis(10));
    loader.want("view", vec![(o.source.clone(), vec![(3, 6, 1)])]);
    assert!(loader.wait_idle(Duration::from_secs(30)), "the loader gave up");
    let h = loader.health(o.source.key());
    assert_eq!((h.failed, h.retries), (1, u64::from(TRIES - 1)), "{h:?}");
    assert!(h.last_error.as_deref().is_some_and(|e| e.contains("timed out")), "{h:?}");
}

#[test]
fn a_tile_request_that_left_the_view_is_dropped_mid_way() {
    use jingwei_layers::imagery::loader::Loader;
    use std::time::{Duration, Instant};
    // Tiles take 30 s; the limit is 60 s: only cancelling ends the request early.
    let (base, seen) = stalling_tiles(Duration::from_secs(30));
    let o = open(&stalling_wmts(&base, 60), &ws(), None).unwrap();
    let loader = Loader::new(2, Arc::new(TileCache::new(8 << 20)), Duration::from_millis(10));
    loader.want("view", vec![(o.source.clone(), vec![(3, 6, 1)])]);
    // Wait until the request is at the server.
    let t0 = Instant::now();
    while !seen.lock().unwrap().iter().any(|t| t.contains("GetTile")) {
        assert!(t0.elapsed() < Duration::from_secs(10), "the tile was never asked");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Another consumer wanting the same tile keeps it alive; when the view moves on and
    // the other no longer wants it either, it is cancelled.
    loader.want("other", vec![(o.source.clone(), vec![(3, 6, 1)])]);
    loader.want("view", Vec::new());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(loader.pending(), 1, "still wanted by the other consumer");
    let t1 = Instant::now();
    loader.want("other", Vec::new());
    assert!(loader.wait_idle(Duration::from_secs(10)), "the request was dropped");
    assert!(t1.elapsed() < Duration::from_secs(5), "{:?}", t1.elapsed());
    let h = loader.health(o.source.key());
    assert_eq!((h.cancelled, h.failed, h.tiles), (1, 0, 0), "{h:?}");
}

/// Whether a legend picture shows the buildings' class colour (200, 80, 60).
fn shows_class_colour(bytes: &[u8]) -> bool {
    let img = image::load_from_memory(bytes).expect("a legend picture").to_rgba8();
    img.pixels()
        .any(|p| p[0].abs_diff(200) < 8 && p[1].abs_diff(80) < 8 && p[2].abs_diff(60) < 8)
}

#[test]
fn legends_of_wms_wmts_and_arcgis_layers() {
    // WMS: MapServer's LegendURL.
    let wms = ServiceSpec {
        kind: "wms".into(),
        url: servers()["MAPSERVER_URL"].clone(),
        layer: Some("buildings".into()),
        ..Default::default()
    };
    let l = open(&wms, &ws(), None).unwrap().source.legend().unwrap();
    assert!(shows_class_colour(l.image.as_deref().expect("a picture")), "WMS legend");
    // WMTS: MapProxy's LegendURL in the style, answered from MapServer's.
    let wmts_spec = ServiceSpec {
        layer: Some("buildings".into()),
        ..wmts("webmerc", false)
    };
    let l = open(&wmts_spec, &ws(), None).unwrap().source.legend().unwrap();
    assert!(shows_class_colour(l.image.as_deref().expect("a picture")), "WMTS legend");
    // A WMTS layer without a LegendURL has no legend, and that is not an error.
    let l = open(&wmts("webmerc", false), &ws(), None).unwrap().source.legend().unwrap();
    assert!(l.image.is_none() && l.items.is_empty());
    // ArcGIS: labelled symbols.
    let (base, _) = arcgis_front();
    let spec = ServiceSpec {
        kind: "arcgis".into(),
        url: format!("{base}/arcgis/rest/services/ortho_webmerc/MapServer"),
        ..Default::default()
    };
    let l = open(&spec, &ws(), None).unwrap().source.legend().unwrap();
    assert_eq!(l.items.len(), 1, "{l:?}");
    assert_eq!(l.items[0].label, "buildings");
    assert!(shows_class_colour(l.items[0].icon.as_deref().expect("an icon")), "ArcGIS legend");
}
