//! IFC models held to IfcOpenShell (0.9, from PyPI, installed by `scripts/setup.sh`): the spatial
//! tree, every product's class and container, its property sets, and the box of its body as
//! IfcOpenShell triangulates it — on the IFC files of `../shared/data/3d/ifc/`.

use jingwei_layers::ifc::{self, Georef};
use jingwei_layers::{Crs, Transformer, Workspace};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/3d/ifc").join(name)
}

/// IfcOpenShell's reading of a file (scripts/ifc-reference.py).
fn reference(file: &Path) -> J {
    let python = dirs_home().join(".cache/jingwei/ifcopenshell-venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/setup.sh", python.display());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ifc-reference.py");
    let out = std::process::Command::new(&python)
        .arg(script)
        .arg(file)
        .output()
        .expect("run IfcOpenShell");
    assert!(
        out.status.success(),
        "IfcOpenShell failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("its JSON")
}

fn dirs_home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").expect("HOME"))
}

/// The volume planar faces close (divergence theorem over each ring's fan; holes run the other
/// way and subtract; faces met twice back to back cancel).
fn volume(faces: &[ifc::geom::Face]) -> f64 {
    let mut v = 0.0;
    for f in faces {
        for r in f {
            for i in 1..r.len().saturating_sub(1) {
                let (a, b, c) = (r[0], r[i], r[i + 1]);
                v += (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0])) / 6.0;
            }
        }
    }
    v
}

fn bbox(faces: &[ifc::geom::Face]) -> Option<[f64; 6]> {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for p in faces.iter().flatten().flatten() {
        for k in 0..3 {
            b[k] = b[k].min(p[k]);
            b[k + 3] = b[k + 3].max(p[k]);
        }
    }
    b[0].is_finite().then_some(b)
}

/// Compare one file with IfcOpenShell; returns (products compared, boxes compared, worst box
/// difference in metres).
fn compare(name: &str) -> (usize, usize, f64) {
    compare_file(&data(name))
}

fn compare_file(path: &Path) -> (usize, usize, f64) {
    let path = path.to_path_buf();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let name = name.as_str();
    let want = reference(&path);
    let model = ifc::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        model.schema,
        want["schema"].as_str().unwrap().to_ascii_uppercase(),
        "{name}: schema"
    );

    // The spatial tree: the same sites, buildings and storeys, with their elevations.
    let mut ours: Vec<(String, String)> = model
        .spatial
        .iter()
        .filter(|s| s.class != "IfcSpace")
        .map(|s| (s.class.clone(), s.name.clone()))
        .collect();
    let mut theirs: Vec<(String, String)> = want["spatial"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["class"].as_str().unwrap().to_owned(), s["name"].as_str().unwrap().to_owned()))
        .collect();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs, "{name}: spatial tree");
    for s in want["spatial"].as_array().unwrap() {
        if let Some(z) = s["elevation"].as_f64() {
            let mine = model.spatial.iter().find(|m| m.name == s["name"].as_str().unwrap()).unwrap();
            assert!(
                (mine.elevation.unwrap() - z * model.length_unit).abs() < 1e-6,
                "{name}: {} elevation",
                mine.name
            );
        }
    }
    let products = want["products"].as_object().unwrap();
    let by_gid: BTreeMap<&str, &ifc::Product> = model.products.iter().map(|p| (p.global_id.as_str(), p)).collect();
    let mut boxes = 0;
    let mut worst = 0.0f64;
    let mut colours = (0usize, 0usize);
    let mut volumes = (0usize, 0usize);
    let mut volume_misses: Vec<String> = Vec::new();
    let mut colour_misses: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    for (g, w) in products {
        let class = w["class"].as_str().unwrap();
        if class == "IfcSpace" {
            continue;
        }
        let Some(p) = by_gid.get(g.as_str()) else {
            problems.push(format!("{g} ({class}) not read"));
            continue;
        };
        if p.class != class {
            problems.push(format!("{g}: class {} against {class}", p.class));
        }
        // Containers by GlobalId: ours are instance ids of spatial elements.
        let container = p
            .container
            .and_then(|c| model.spatial.iter().find(|s| s.id == c))
            .map(|s| s.global_id.clone());
        // Ports are not IfcElements, so IfcOpenShell finds no ContainedInStructure on them;
        // the file's IfcRelContainedInSpatialStructure names them, and we follow the file.
        let port = class.ends_with("Port") && w["container"].is_null();
        if container.as_deref() != w["container"].as_str() && !port {
            problems.push(format!("{g} ({class}): container {container:?} against {:?}", w["container"]));
        }
        let psets: BTreeMap<String, Vec<String>> = p
            .psets
            .iter()
            .map(|(s, props)| {
                let mut k: Vec<String> = props.iter().map(|(k, _)| k.clone()).collect();
                k.sort();
                k.dedup();
                (s.clone(), k)
            })
            .collect();
        let theirs: BTreeMap<String, Vec<String>> = serde_json::from_value(w["psets"].clone()).unwrap();
        if psets != theirs {
            problems.push(format!("{g} ({class}): property sets {psets:?} against {theirs:?}"));
        }
        // Colours from the file's styles: the one most faces have, as IfcOpenShell sees it.
        if let (Some(mine), Some(theirs)) = (p.colour, w["colour"].as_array()) {
            let theirs: Vec<i64> = theirs.iter().map(|v| v.as_i64().unwrap()).collect();
            colours.0 += 1;
            if (0..4).all(|k| (i64::from(mine[k]) - theirs[k]).abs() <= 1) {
                colours.1 += 1;
            } else {
                colour_misses.push(format!("{g} ({class}): {mine:?} against {theirs:?}"));
            }
        }
        // The volume the faces close, openings subtracted, as IfcOpenShell's triangles close it.
        if let (Some(v), false) = (w["volume"].as_f64(), p.faces.is_empty()) {
            let mine = volume(&p.faces);
            if v.abs() > 0.01 && !matches!(class, "IfcOpeningElement" | "IfcAnnotation" | "IfcVirtualElement" | "IfcSpace") {
                volumes.0 += 1;
                if (mine - v).abs() <= 0.01 * v.abs() + 1e-4 {
                    volumes.1 += 1;
                } else {
                    volume_misses.push(format!("{g} ({class} {:?}): {mine:.4} m³ against {v:.4}", p.name));
                }
            }
        }
        if let Some(b) = w["bbox"].as_array() {
            if matches!(class, "IfcOpeningElement" | "IfcAnnotation" | "IfcVirtualElement") {
                continue;
            }
            let b: Vec<f64> = b.iter().map(|v| v.as_f64().unwrap()).collect();
            match bbox(&p.faces) {
                Some(m) => {
                    let d = (0..6).map(|k| (m[k] - b[k]).abs()).fold(0.0, f64::max);
                    if d > 0.02 {
                        problems.push(format!("{g} ({class} {:?}): box off by {d:.3} m: {m:?} against {b:?}", p.name));
                    }
                    worst = worst.max(d);
                    boxes += 1;
                }
                None => problems.push(format!("{g} ({class}): no geometry read; IfcOpenShell has {b:?}")),
            }
        }
    }
    eprintln!("{name}: volumes within 1 % of IfcOpenShell's: {} of {}", volumes.1, volumes.0);
    for m in volume_misses.iter().take(8) {
        eprintln!("  {m}");
    }
    // Openings cut, clipping and extrusions close the volumes IfcOpenShell's triangles close, for
    // nine in ten elements at least (open surface models, furniture among them, close none).
    assert!(volumes.1 * 10 >= volumes.0 * 9, "{name}: volumes {volumes:?}: {volume_misses:?}");
    eprintln!("{name}: styled colours agreeing with IfcOpenShell: {} of {}", colours.1, colours.0);
    for m in colour_misses.iter().take(5) {
        eprintln!("  {m}");
    }
    // Most products whose faces the file styles directly agree (IfcOpenShell also reads styles
    // given through materials, which take over where both are given).
    assert!(
        colours.0 == 0 || colours.1 * 10 >= colours.0 * 8,
        "{name}: colours {colours:?}: {colour_misses:?}"
    );
    let shown: Vec<String> = problems.iter().take(25).map(|p| p.chars().take(400).collect()).collect();
    assert!(problems.is_empty(), "{name}: {} problems:\n{}", problems.len(), shown.join("\n"));
    (products.len(), boxes, worst)
}

#[test]
fn fzk_haus_matches_ifcopenshell() {
    let (n, boxes, worst) = compare("AC20-FZK-Haus.ifc");
    eprintln!("FZK-Haus: {n} products, {boxes} boxes, worst {worst:.4} m");
    assert!(boxes >= 80, "{boxes}");
    // Both storeys hold elements, in the counts per class IfcOpenShell gives (checked above one
    // by one); here the totals a planner sees in the tree.
    let model = ifc::read(&data("AC20-FZK-Haus.ifc")).unwrap();
    let mut per: BTreeMap<(String, String), usize> = BTreeMap::new();
    for p in &model.products {
        if let Some(s) = p.container.and_then(|c| model.spatial.iter().find(|s| s.id == c)) {
            *per.entry((s.name.clone(), p.class.clone())).or_default() += 1;
        }
    }
    let ground = per.iter().filter(|((s, _), _)| s == "Erdgeschoss").map(|(_, n)| n).sum::<usize>();
    let roof = per.iter().filter(|((s, _), _)| s == "Dachgeschoss").map(|(_, n)| n).sum::<usize>();
    assert!(ground > 10 && roof > 10, "{per:?}");
}

#[test]
fn other_models_match_ifcopenshell() {
    for name in ["IfcOpenHouse_IFC4.ifc", "duplex.ifc", "example.ifc", "Sample_entities.ifc"] {
        let (n, boxes, worst) = compare(name);
        eprintln!("{name}: {n} products, {boxes} boxes, worst {worst:.4} m");
        assert!(boxes > 0, "{name}");
    }
}

/// A file written for this test (`tests/data/shapes.ifc`), held to IfcOpenShell and to volumes
/// worked out by hand: pipes (IfcSweptDiskSolid along a polyline with two right-angle bends,
/// hollow; and along a line, a quarter circle and a line); turned solids (IfcRevolvedAreaSolid: a
/// hollow column a whole turn, an L-shaped kerb a quarter turn); openings that are not convex (an
/// L-shaped one through a wall, a T-shaped one through a slab); solids subtracted
/// (IfcBooleanResult: a round hole through a column, an L-shaped pocket in a beam); and members
/// of every parametric section (L, T, U, C, Z, asymmetric I, trapezium, ellipse, a composite);
/// and a box coloured face by face (IfcIndexedColourMap).
#[test]
fn sweeps_turns_cuts_and_sections_match_ifcopenshell_and_hand_worked_volumes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/shapes.ifc");
    let (n, boxes, worst) = compare_file(&path);
    eprintln!("shapes.ifc: {n} products, {boxes} boxes, worst {worst:.4} m");
    assert_eq!(boxes, 18);
    let model = ifc::read(&path).unwrap();
    assert!(model.skipped.is_empty(), "{:?}", model.skipped);
    // IFC4's IfcIndexedColourMap colours a face set face by face: 8 of the box's 12 triangles
    // red (0.8, 0.1, 0.1), 4 blue; the element takes the colour most of its faces have.
    // (IfcOpenShell 0.8 does not apply these maps, so this one is checked by hand.)
    let bx = model.products.iter().find(|p| p.name == "Box coloured face by face").unwrap();
    assert_eq!(bx.colour, Some([204, 26, 26, 255]));
    let by_name = |name: &str| {
        let p = model.products.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("{name}"));
        volume(&p.faces)
    };
    use std::f64::consts::PI;
    // By hand: a pipe's volume is its section times its centre line's length (mitred bends keep
    // that exactly); a turned solid's is its profile's area times the path of its centroid
    // (Pappus). Ours are polygons of a segment every 10°: within 1 %.
    let l_area = 1.0 * 0.4 + 0.4 * 0.8;
    let l_cx = (0.4 * 2.5 + 0.32 * 2.2) / l_area;
    for (name, want) in [
        ("Pipe with two right-angle bends", PI * (0.3f64.powi(2) - 0.25f64.powi(2)) * 9.0),
        ("Rod with a bend", PI * 0.2f64.powi(2) * (2.0 + 1.5 * PI / 2.0 + 2.5)),
        ("Hollow round column", PI * (0.5f64.powi(2) - 0.2f64.powi(2)) * 3.0),
        ("Quarter ring kerb", l_area * l_cx * PI / 2.0),
        ("Wall with an L-shaped opening", 6.0 * 0.3 * 3.0 - 3.0 * 0.3),
        ("Slab with a T-shaped opening", 8.0 * 6.0 * 0.2 - 5.0 * 0.2),
        ("Column with a round hole", 3.0 - PI * 0.3f64.powi(2) * 1.0),
        ("Beam with an L-shaped pocket", 4.0 * 0.4 * 0.6 - (1.0 * 0.15 + 0.5 * 0.15) * 0.3),
        ("Box coloured face by face", 1.0),
        // Members 3 m long of each parametric section (flanges, webs and lips by hand).
        ("Member L 200x150x20", (0.2 * 0.02 + 0.13 * 0.02) * 3.0),
        ("Member T 300x200", (0.2 * 0.03 + 0.27 * 0.02) * 3.0),
        ("Member U 300x100", (2.0 * 0.1 * 0.015 + 0.27 * 0.01) * 3.0),
        (
            "Member C 200x80x20x3",
            (0.003 * (0.2 + 2.0 * 0.08 + 2.0 * 0.02) - 4.0 * 0.003f64.powi(2)) * 3.0,
        ),
        ("Member Z 200x75", (2.0 * (0.075 + 0.003) * 0.01 + 0.18 * 0.006) * 3.0),
        ("Member Asymmetric I 500", (0.3 * 0.025 + 0.2 * 0.02 + 0.455 * 0.012) * 3.0),
        ("Member Trapezium 400/200x300", (0.4 + 0.2) / 2.0 * 0.3 * 3.0),
        ("Member Ellipse 300x150", PI * 0.3 * 0.15 * 3.0),
        ("Member twin web", 2.0 * 0.1 * 0.5 * 3.0),
    ] {
        let v = by_name(name);
        eprintln!("{name}: {v:.4} m³ against {want:.4} by hand");
        assert!((v - want).abs() <= 0.01 * want, "{name}: {v} against {want}");
    }
}

#[test]
fn ifc4x3_is_refused_by_name() {
    let path = data("KIT-Simple-Road-Test-Web-IFC4x3_RC2.ifc");
    let e = ifc::read(&path).unwrap_err().to_string();
    assert!(
        e.contains("KIT-Simple-Road-Test") && e.contains("IFC4X3_RC2") && e.contains("not supported"),
        "{e}"
    );
    let mut ws = None;
    let e = Workspace::load_file(&mut ws, &path, None).unwrap_err().to_string();
    assert!(e.contains("IFC4X3_RC2"), "{e}");
    assert!(ws.is_none());
}

#[test]
fn damaged_files_are_errors_naming_the_file() {
    let text = std::fs::read(data("AC20-FZK-Haus.ifc")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for cut in [10, 1000, text.len() / 2, text.len() - 30] {
        let p = dir.path().join(format!("cut{cut}.ifc"));
        std::fs::write(&p, &text[..cut]).unwrap();
        let e = ifc::read(&p).unwrap_err().to_string();
        assert!(e.contains(&format!("cut{cut}.ifc")), "{e}");
    }
}

#[test]
fn fzk_haus_stands_at_its_site_in_a_gauss_kruger_workspace() {
    let path = data("AC20-FZK-Haus.ifc");
    let model = ifc::read(&path).unwrap();
    let Georef::Site { lat, lon, elevation, .. } = model.georef else {
        panic!("{:?}", model.georef)
    };
    // IfcSite: (49,6,1,566000) and (8,26,11,540400), 110 m.
    assert!((lat - (49.0 + 6.0 / 60.0 + 1.566 / 3600.0)).abs() < 1e-12);
    assert!((lon - (8.0 + 26.0 / 60.0 + 11.5404 / 3600.0)).abs() < 1e-12);
    assert_eq!(elevation, 110.0);
    let mut ws = None;
    let added = Workspace::load_file(&mut ws, &path, None).unwrap();
    let ws = ws.unwrap();
    // A layer per storey, and the storeys' rooms hidden.
    let titles: Vec<&str> = ws.layers.iter().map(|l| l.title.as_str()).collect();
    assert_eq!(added, ws.layers.len());
    assert!(
        titles.contains(&"AC20-FZK-Haus › Erdgeschoss") && titles.contains(&"AC20-FZK-Haus › Dachgeschoss"),
        "{titles:?}"
    );
    for l in &ws.layers {
        assert_eq!(l.visible, !l.title.ends_with("IfcSpace"), "{}", l.title);
    }
    // The model's origin is the site's point: back through PROJ to longitude and latitude.
    let placed = model.placement(None, &ws.crs).unwrap();
    let o = placed.apply([0.0, 0.0, 0.0]).unwrap();
    let (blon, blat) = Transformer::new(&ws.crs, &Crs::cgcs2000().unwrap())
        .unwrap()
        .transform(o[0], o[1])
        .unwrap();
    assert!((blon - lon).abs() < 1e-8 && (blat - lat).abs() < 1e-8, "{blon} {blat}");
    assert_eq!(o[2], 110.0);
    // A wall 12 m long stays 12 m long in the projected workspace (to a millimetre).
    let a = placed.apply([0.0, 0.0, 0.0]).unwrap();
    let b = placed.apply([12.0, 0.0, 0.0]).unwrap();
    let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
    assert!((len - 12.0).abs() < 0.005, "{len}");
    // Every storey's layer shares the model's ground height: the upper storey is drawn high.
    let bases: Vec<f64> = ws.layers.iter().filter_map(|l| l.surfaces.as_ref()?.base_z).collect();
    assert!(bases.len() >= 2 && bases.iter().all(|b| *b == bases[0]), "{bases:?}");
    // Identify-style attributes: a wall's common property set is in its row.
    let eg = ws.layers.iter().find(|l| l.title == "AC20-FZK-Haus › Erdgeschoss").unwrap();
    let col = eg
        .layer
        .fields
        .iter()
        .position(|f| f.name == "Pset_WallCommon.ThermalTransmittance")
        .expect("the wall set");
    let class = eg.layer.fields.iter().position(|f| f.name == "ifc_class").unwrap();
    let walls: Vec<usize> = (0..eg.layer.fids.len())
        .filter(|r| eg.layer.columns[class].get(*r, jingwei_layers::FieldKind::Text).to_string() == "IfcWallStandardCase")
        .collect();
    assert!(!walls.is_empty());
    assert!(
        walls
            .iter()
            .any(|r| eg.layer.columns[col].get(*r, jingwei_layers::FieldKind::Real) == jingwei_layers::Value::Real(1.5))
    );
}

#[test]
fn a_map_conversion_places_the_model_through_proj() {
    // IfcOpenHouse with an IfcMapConversion into CGCS2000 / 3-degree Gauss-Kruger CM 120E
    // (EPSG:4549), the model's x axis 30° north of east.
    let text = std::fs::read_to_string(data("IfcOpenHouse_IFC4.ifc")).unwrap();
    let ctx = text
        .lines()
        .find(|l| l.contains("IFCGEOMETRICREPRESENTATIONCONTEXT("))
        .and_then(|l| l.split('=').next())
        .unwrap()
        .trim()
        .to_owned();
    let (a, b) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
    let extra = format!(
        "#900001=IFCPROJECTEDCRS('EPSG:4549',$,$,$,$,$,$);\n#900002=IFCMAPCONVERSION({ctx},#900001,500123.5,3456789.25,12.,{a},{b},$);\n"
    );
    let text = text.replacen("ENDSEC;\nEND-ISO", &format!("{extra}ENDSEC;\nEND-ISO"), 1);
    assert!(text.contains("#900002"), "no DATA end found");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("house.ifc");
    std::fs::write(&p, text).unwrap();
    let model = ifc::read(&p).unwrap();
    assert!(matches!(model.georef, Georef::Map { .. }), "{:?}", model.georef);
    let ws_crs = Crs::parse("EPSG:4528").unwrap();
    let placed = model.placement(None, &ws_crs).unwrap();
    let to = Transformer::new(&Crs::parse("EPSG:4549").unwrap(), &ws_crs).unwrap();
    for p in [[0.0, 0.0, 0.0], [10.0, 0.0, 3.0], [-4.0, 7.5, 1.0]] {
        let got = placed.apply(p).unwrap();
        let (e, n) = (500123.5 + a * p[0] - b * p[1], 3456789.25 + b * p[0] + a * p[1]);
        let (x, y) = to.transform(e, n).unwrap();
        assert!((got[0] - x).abs() < 1e-6 && (got[1] - y).abs() < 1e-6, "{got:?} against {x} {y}");
        assert_eq!(got[2], 12.0 + p[2]);
    }
    let mut ws = None;
    Workspace::add_ifc(&mut ws, &p, None).unwrap();
    let ws = ws.unwrap();
    // A workspace made for the model is in the Gauss-Krüger zone of its place.
    assert!(
        ws.crs.label().contains("4549") || ws.crs.label().contains("120"),
        "{}",
        ws.crs.label()
    );
}

#[test]
fn a_small_house_in_millimetres_at_shanghai() {
    // The fuzz seed: units in millimetres, a site in Shanghai named 场地 (\X2\ escapes), a
    // 6 m wall whose left half a roof plane bounded by a polygon cuts down from 3 m.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ifc/seed-house.ifc");
    let model = ifc::read(&path).unwrap();
    assert_eq!(model.length_unit, 0.001);
    assert_eq!(
        model.spatial.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["场地", "B", "1F"]
    );
    let wall = model.products.iter().find(|p| p.class == "IfcWall").unwrap();
    let top = |left: bool| {
        wall.faces
            .iter()
            .flatten()
            .flatten()
            .filter(|p| (p[0] < -1e-9) == left && p[0].abs() > 1e-9)
            .map(|p| p[2])
            .fold(f64::MIN, f64::max)
    };
    // Right half whole; left half under the plane z = 2.5 + 0.577·x (x ≤ 0).
    assert!((top(false) - 3.0).abs() < 1e-9, "{}", top(false));
    assert!(top(true) < 2.5 + 1e-6, "{}", top(true));
    assert_eq!(
        wall.psets,
        vec![("Pset_WallCommon".to_owned(), vec![("IsExternal".to_owned(), "true".to_owned())])]
    );
    let mut ws = None;
    Workspace::add_ifc(&mut ws, &path, None).unwrap();
    let ws = ws.unwrap();
    // A workspace made for it: the CGCS2000 Gauss-Krüger zone of Shanghai (CM 120° or 121.5°).
    let label = ws.crs.label();
    assert!(label.contains("EPSG:45"), "{label}");
}
