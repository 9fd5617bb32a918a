//! CityJSON city models (GDAL does not read them): the real Delft model of `../shared/data/3d/`.

use jingwei_layers::{Crs, Transformer, Workspace, cityjson};
use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    std::env::var_os("JINGWEI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

#[test]
fn delft_opens_as_buildings_with_attributes_and_surfaces_in_the_workspace_crs() {
    let path = shared().join("3d/cityjson/delft.json");
    assert!(cityjson::is_cityjson(&path));
    let layers = cityjson::read(&path).unwrap();
    // Independently: the objects of each type that have geometry, from the JSON itself.
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let count = |ty: &str| {
        doc["CityObjects"]
            .as_object()
            .unwrap()
            .values()
            .filter(|o| o["type"] == ty && o["geometry"].as_array().is_some_and(|g| !g.is_empty()))
            .count()
    };
    let b = &layers[0];
    assert_eq!(b.layer.name, "delft Building", "buildings first");
    assert_eq!(b.layer.len(), count("Building"));
    assert_eq!(b.layer.len(), 160);
    assert_eq!(b.surfaces.rows.len(), b.layer.len());
    assert!(b.surfaces.rows.iter().all(|r| r.len() >= 4), "every building has walls and a roof");
    assert_eq!(b.layer.crs.as_ref().unwrap().epsg, Some(28992), "EPSG:7415's horizontal part");
    // Attributes kept, by the object's id.
    let (id, obj) = doc["CityObjects"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, o)| o["type"] == "Building")
        .unwrap();
    let f = b.layer.feature(0);
    assert_eq!(f.value_by_name("cityobject_id").unwrap().to_string(), *id);
    for (k, v) in obj["attributes"].as_object().unwrap() {
        let got = f.value_by_name(k).unwrap_or_else(|| panic!("attribute {k} missing"));
        match v {
            serde_json::Value::String(s) if !s.is_empty() => assert_eq!(got.to_string(), *s, "{k}"),
            serde_json::Value::Number(n) => assert_eq!(got.as_f64(), n.as_f64(), "{k}"),
            _ => {}
        }
    }
    let types: Vec<&str> = layers.iter().map(|l| l.layer.name.as_str()).collect();
    assert!(types.contains(&"delft Road") && types.contains(&"delft WaterBody"), "{types:?}");

    // Into a workspace: Delft is outside China, so UTM 31N; footprints and surfaces agree.
    let mut ws: Option<Workspace> = None;
    for l in layers {
        let w = match ws.as_mut() {
            Some(w) => w,
            None => ws.insert(Workspace::for_layer(&l.layer).unwrap()),
        };
        w.add_city_layer(l).unwrap();
    }
    let ws = ws.unwrap();
    assert_eq!(ws.crs.epsg, Some(32631));
    let wl = &ws.layers[0];
    let s = wl.surfaces.as_ref().unwrap();
    let p = s.rows[0][0][0][0];
    let to = Transformer::new(&ws.crs, &Crs::from_epsg(4326).unwrap()).unwrap();
    let (lon, lat) = to.transform(p[0], p[1]).unwrap();
    assert!(
        (4.30..4.40).contains(&lon) && (51.95..52.05).contains(&lat),
        "Delft is at {lon}, {lat}"
    );
    // The footprint (hull) holds the surfaces' points.
    use geo::Contains;
    let hull = &wl.layer.geometries.geometry(0).unwrap();
    let inside = s.rows[0]
        .iter()
        .flatten()
        .flatten()
        .filter(|p| hull.contains(&geo::Point::new(p[0], p[1])))
        .count();
    let all = s.rows[0].iter().flatten().flatten().count();
    assert!(inside as f64 >= 0.5 * all as f64, "{inside} of {all}");
    // Heights kept (NAP metres): roofs above the ground.
    let zs: Vec<f64> = s.rows[0].iter().flatten().flatten().map(|p| p[2]).collect();
    let (lo, hi) = zs.iter().fold((f64::MAX, f64::MIN), |(a, b), z| (a.min(*z), b.max(*z)));
    assert!(hi - lo > 2.0 && hi - lo < 200.0, "{lo}..{hi}");
}

#[test]
fn broken_city_models_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.city.json");
    std::fs::write(&p, r#"{"type": "CityJSON", "version": "2.0", "CityObjects": {}, "vertices": []}"#).unwrap();
    let e = cityjson::read(&p).unwrap_err().to_string();
    assert!(e.contains("bad.city.json") && e.contains("referenceSystem"), "{e}");
    std::fs::write(
        &p,
        r#"{"type": "CityJSON", "version": "2.0", "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/28992"},
            "CityObjects": {"b1": {"type": "Building", "geometry": [{"type": "MultiSurface", "lod": "1", "boundaries": [[[0, 1, 7]]]}]}},
            "vertices": [[0, 0, 0], [1, 0, 0], [1, 1, 0]]}"#,
    )
    .unwrap();
    let e = cityjson::read(&p).unwrap_err().to_string();
    assert!(e.contains("b1") && e.contains("out of range"), "{e}");
}

#[test]
fn the_highest_level_of_detail_with_surfaces_is_drawn() {
    // LoD 3 is only lines here: the LoD 1 solid is what can be drawn.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("lods.city.json");
    std::fs::write(
        &p,
        r#"{"type": "CityJSON", "version": "2.0", "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/28992"},
            "CityObjects": {"b1": {"type": "Building", "geometry": [
                {"type": "MultiLineString", "lod": "3", "boundaries": [[0, 1]]},
                {"type": "Solid", "lod": "1", "boundaries": [[[[0, 1, 2]], [[0, 2, 3]], [[0, 3, 1]], [[1, 3, 2]]]]}]}},
            "vertices": [[85000, 447000, 0], [85010, 447000, 0], [85000, 447010, 0], [85000, 447000, 10]]}"#,
    )
    .unwrap();
    let layers = cityjson::read(&p).unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0].surfaces.rows[0].len(), 4);
}

/// A saved workspace keeps a city model's 3D surfaces, not only its footprints: saved, opened,
/// saved again and opened again they are the same; a layer removed takes its surfaces along.
#[test]
fn a_saved_workspace_keeps_the_city_models_surfaces() {
    let mut ws = None;
    Workspace::load_file(&mut ws, &shared().join("3d/cityjson/delft.json"), None).unwrap();
    let ws = ws.unwrap();
    let with: Vec<usize> = (0..ws.layers.len()).filter(|&i| ws.layers[i].surfaces.is_some()).collect();
    assert!(!with.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("delft.gpkg");
    jingwei_layers::saved::save_workspace(&ws, &file, None).unwrap();
    let (back, _) = jingwei_layers::saved::open_workspace(&file).unwrap();
    assert_eq!(back.layers.len(), ws.layers.len());
    for (a, b) in ws.layers.iter().zip(&back.layers) {
        assert_eq!(a.surfaces, b.surfaces, "layer {}", a.id);
    }
    // Saved over itself (a table of the user's whose name differs only in case stays), and with
    // the buildings gone.
    rusqlite::Connection::open(&file)
        .unwrap()
        .execute_batch(
            "CREATE TABLE \"JINGWEI_SURFACES_mine\" (x); INSERT INTO \"JINGWEI_SURFACES_mine\" VALUES (1);
             CREATE TABLE \"LAYER_mine\" (x); INSERT INTO \"LAYER_mine\" VALUES (1);
             INSERT INTO gpkg_contents(table_name, data_type, identifier) VALUES ('LAYER_mine', 'attributes', 'LAYER_mine');",
        )
        .unwrap();
    jingwei_layers::saved::save_workspace(&back, &file, None).unwrap();
    let mine: i64 = rusqlite::Connection::open(&file)
        .unwrap()
        .query_row("SELECT count(*) FROM \"JINGWEI_SURFACES_mine\"", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mine, 1);
    let mine: i64 = rusqlite::Connection::open(&file)
        .unwrap()
        .query_row("SELECT count(*) FROM \"LAYER_mine\"", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mine, 1, "a user's table whose name differs from a layer table's only in case stays");
    let (mut again, _) = jingwei_layers::saved::open_workspace(&file).unwrap();
    assert_eq!(again.layers[with[0]].surfaces, ws.layers[with[0]].surfaces);
    let gone = again.layers.remove(with[0]);
    jingwei_layers::saved::save_workspace(&again, &file, None).unwrap();
    let conn = rusqlite::Connection::open(&file).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE name GLOB 'jingwei_surfaces_*'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tables.len(), with.len() - 1, "{tables:?}");
    assert!(tables.iter().all(|t| !t.ends_with(&format!("layer_{}", gone.id))), "{tables:?}");
    // Damaged bytes are refused, never read past.
    let faces = &ws.layers[with[0]].surfaces.as_ref().unwrap().rows[0];
    let packed = jingwei_layers::saved::pack_surfaces(faces);
    assert_eq!(jingwei_layers::saved::unpack_surfaces(&packed).as_ref(), Some(faces));
    assert!(jingwei_layers::saved::unpack_surfaces(&packed[..packed.len() - 3]).is_none());
    let mut huge = packed.clone();
    huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(jingwei_layers::saved::unpack_surfaces(&huge).is_none());
    // A damaged row names the file and the table.
    drop(conn);
    let (mut one, _) = jingwei_layers::saved::open_workspace(&file).unwrap();
    let k = (0..one.layers.len())
        .find(|&i| one.layers[i].surfaces.is_some())
        .expect("Delft has more than one layer with surfaces");
    {
        one.layers.truncate(k + 1);
        jingwei_layers::saved::save_workspace(&one, &file, None).unwrap();
        let conn = rusqlite::Connection::open(&file).unwrap();
        let t = format!(
            "jingwei_surfaces_layer_{}",
            one.layers[k].id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_")
        );
        conn.execute(&format!("UPDATE \"{t}\" SET surfaces = x'0102'"), []).unwrap();
        drop(conn);
        let err = jingwei_layers::saved::open_workspace(&file).unwrap_err().to_string();
        assert!(err.contains("delft.gpkg") && err.contains("damaged"), "{err}");
    }
}
