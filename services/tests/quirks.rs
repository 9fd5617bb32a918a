//! The tile matrix sets of 天地图 as published — 96-dpi scale denominators, identifiers from 1,
//! the `w` set's corner at the world's bottom right, EPSG:4490 latitude first, CRS names
//! spelled several ways — made usable, each quirk named.

use jingwei_services::wmts::{Capabilities, grid_of};

fn caps() -> Capabilities {
    let xml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tianditu_capabilities.xml")).unwrap();
    Capabilities::parse(&xml).unwrap()
}

const HALF: f64 = 20_037_508.342_789_244;

#[test]
fn the_c_set_is_latitude_first_with_96_dpi_scales() {
    let caps = caps();
    assert_eq!(caps.layers[0].identifier, "img");
    assert_eq!(caps.layers[0].formats, vec!["tiles"], "天地图 names no MIME type");
    assert!(caps.get_tile_kvp.as_deref().unwrap().ends_with("/tdt/img_c/wmts?"));
    let c = caps.sets.iter().find(|s| s.identifier == "c").unwrap();
    assert_eq!(c.matrices[0].top_left, [90.0, -180.0], "as written: latitude first");
    let g = grid_of(c, caps.layers[0].wgs84_bbox).unwrap();
    assert_eq!(g.grid.crs.epsg, Some(4490));
    assert_eq!(g.ids.first().map(String::as_str), Some("1"));
    assert_eq!(g.ids.last().map(String::as_str), Some("18"));
    let l1 = &g.grid.levels[0];
    assert_eq!(l1.origin, [-180.0, 90.0], "east/north order");
    assert_eq!(l1.res[0], 360.0 / 512.0, "snapped to exactly the world across two tiles");
    assert_eq!(g.grid.levels[17].res[0], 360.0 / 512.0 / 131_072.0);
    // The standard 0.28 mm pixel would have given 5.8 % larger pixels: tiles misplaced by
    // thousands of kilometres at level 1.
    let standard = 2.958293554545656e8 * 0.00028 / (2.0 * std::f64::consts::PI * 6_378_137.0 / 360.0);
    assert!((standard / l1.res[0] - 1.0584).abs() < 0.001, "{standard}");
    assert!(g.fixes.iter().any(|f| f.contains("96-dpi")), "{:?}", g.fixes);
}

#[test]
fn the_w_set_corner_and_scales_are_fixed() {
    let caps = caps();
    let w = caps.sets.iter().find(|s| s.identifier == "w").unwrap();
    let g = grid_of(w, caps.layers[0].wgs84_bbox).unwrap();
    assert_eq!(g.grid.crs.epsg, Some(3857), "900913 is Web Mercator");
    let l1 = &g.grid.levels[0];
    assert_eq!(l1.origin, [-HALF, HALF], "the world's top left, not the published corner");
    assert_eq!(l1.res[0], 2.0 * HALF / 512.0);
    assert!(g.fixes.iter().any(|f| f.contains("not the world's top left")), "{:?}", g.fixes);
    assert!(g.fixes.iter().any(|f| f.contains("96-dpi")), "{:?}", g.fixes);
}

#[test]
fn a_longitude_first_corner_and_a_standard_set_are_left_alone_or_fixed() {
    // A GeoServer-style EPSG:4326 set written longitude first, standard 0.28 mm scales.
    let xml = r#"<Capabilities xmlns="http://www.opengis.net/wmts/1.0" xmlns:ows="http://www.opengis.net/ows/1.1">
      <Contents><Layer><ows:Identifier>a</ows:Identifier><Format>image/png</Format>
        <TileMatrixSetLink><TileMatrixSet>EPSG:4326</TileMatrixSet></TileMatrixSetLink></Layer>
      <TileMatrixSet><ows:Identifier>EPSG:4326</ows:Identifier><ows:SupportedCRS>EPSG:4326</ows:SupportedCRS>
        <TileMatrix><ows:Identifier>EPSG:4326:0</ows:Identifier><ScaleDenominator>279541132.01435894</ScaleDenominator>
          <TopLeftCorner>-180.0 90.0</TopLeftCorner><TileWidth>256</TileWidth><TileHeight>256</TileHeight>
          <MatrixWidth>2</MatrixWidth><MatrixHeight>1</MatrixHeight></TileMatrix></TileMatrixSet></Contents></Capabilities>"#;
    let caps = Capabilities::parse(xml).unwrap();
    let g = grid_of(&caps.sets[0], None).unwrap();
    assert_eq!(g.grid.levels[0].origin, [-180.0, 90.0]);
    assert!(g.fixes.iter().any(|f| f.contains("longitude first")), "{:?}", g.fixes);
    assert!(!g.fixes.iter().any(|f| f.contains("96-dpi")), "standard scales stay: {:?}", g.fixes);
    assert_eq!(g.ids[0], "EPSG:4326:0", "identifiers verbatim");
    assert!((g.grid.levels[0].res[0] - 0.703125).abs() < 1e-12);
}

#[test]
fn an_exception_instead_of_capabilities_is_said_plainly() {
    let e = Capabilities::parse(r#"<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1"><ows:Exception exceptionCode="InvalidParameterValue"><ows:ExceptionText>tk is wrong</ows:ExceptionText></ows:Exception></ows:ExceptionReport>"#).unwrap_err();
    assert!(e.contains("tk is wrong"), "{e}");
    assert!(Capabilities::parse("<html>nginx</html>").unwrap_err().contains("not WMTS"));
}
