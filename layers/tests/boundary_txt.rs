//! 界址点坐标 files (the land-approval exchange format): read in GBK and UTF-8, X as the
//! northing, the zone from 带号 and the prefixed eastings, holes from ring numbers; each
//! parcel's computed area equals the area the file states; the zone table agrees with PROJ's
//! names; bad files are one line naming the file and the line.

use std::path::Path;

use geo::Area;
use jingwei_layers::boundary_txt::{read, zone_epsg};
use jingwei_layers::{Crs, Transformer};

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

#[test]
fn a_gbk_file_of_two_parcels_one_with_a_hole() {
    let l = read(&data("jiezhidian_gbk.txt")).unwrap();
    assert_eq!(l.len(), 2);
    assert_eq!(l.crs.as_ref().unwrap().label(), "EPSG:4529", "3-degree zone 41, eastings prefixed");
    let name = l.field_index("地块名称").unwrap();
    assert_eq!(l.feature(0).value(name).to_string(), "陆家嘴滨江项目用地");
    let stated = l.field_index("面积公顷").unwrap();
    for r in 0..l.len() {
        let g = &l.geometries.geometry(r).unwrap();
        let ha = l.feature(r).value(stated).as_f64().unwrap();
        assert!(
            (g.unsigned_area() - ha * 1e4).abs() < 0.01,
            "parcel {r}: {} m² vs stated {ha} 公顷",
            g.unsigned_area()
        );
    }
    let geo::Geometry::Polygon(p) = &l.geometries.geometry(1).unwrap() else {
        panic!("a polygon")
    };
    assert_eq!(p.interiors().len(), 1, "ring 2 is a hole");
    // X is the northing: the first point lands in Lujiazui.
    let c = p.exterior().0[0];
    let (lon, lat) = Transformer::new(l.crs.as_ref().unwrap(), &Crs::cgcs2000().unwrap())
        .unwrap()
        .transform(c.x, c.y)
        .unwrap();
    assert!((121.4..121.6).contains(&lon) && (31.1..31.3).contains(&lat), "{lon} {lat}");
    // The same file in UTF-8 reads the same.
    let dir = tempfile::tempdir().unwrap();
    let utf8 = dir.path().join("utf8.txt");
    let bytes = std::fs::read(data("jiezhidian_gbk.txt")).unwrap();
    std::fs::write(&utf8, encoding_rs::GB18030.decode(&bytes).0.as_bytes()).unwrap();
    let u = read(&utf8).unwrap();
    assert_eq!(u.geometries, l.geometries);
    assert_eq!(u.feature(0).value(name).to_string(), "陆家嘴滨江项目用地");
}

#[test]
fn the_zone_table_agrees_with_proj() {
    for (width, zones) in [(3u32, 25u32..=45), (6, 13..=23)] {
        for n in zones {
            let cm = if width == 3 { 3 * n } else { 6 * n - 3 };
            let with = Crs::from_epsg(zone_epsg(width, n, true).unwrap()).unwrap().wkt().unwrap();
            let without = Crs::from_epsg(zone_epsg(width, n, false).unwrap()).unwrap().wkt().unwrap();
            let w = if width == 3 { "3-degree " } else { "" };
            assert!(
                with.contains(&format!("CGCS2000 / {w}Gauss-Kruger zone {n}\"")),
                "{width}° zone {n}: {}",
                &with[..80]
            );
            assert!(
                without.contains(&format!("CGCS2000 / {w}Gauss-Kruger CM {cm}E\"")),
                "{width}° zone {n}: {}",
                &without[..80]
            );
        }
    }
    assert_eq!(zone_epsg(3, 24, true), None);
    assert_eq!(zone_epsg(6, 24, false), None);
}

#[test]
fn bad_files_are_one_line_naming_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let head = "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n带号=41\n[地块坐标]\n4,0.1,DK,名称,面,,,,@\n";
    for (name, body, words) in [
        ("xian80.txt", head.replace("2000国家大地坐标系", "80西安坐标系"), "only CGCS2000"),
        ("badx.txt", format!("{head}J1,1,3458200.0,41356600.0\nJ2,1,abc,41356700.0\nJ3,1,3458300.0,41356700.0\n"), "line 8"),
        ("nozone.txt", "[属性描述]\n坐标系=2000国家大地坐标系\n[地块坐标]\n3,0.1,DK,名称,面,,,,@\nJ1,1,3458200.0,356600.0\nJ2,1,3458200.0,356700.0\nJ3,1,3458300.0,356700.0\n".into(), "which zone"),
        ("empty.txt", "hello\n".into(), "not a 界址点 file"),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains(name) && e.contains(words) && !e.contains('\n'), "{name}: {e}");
    }
}
